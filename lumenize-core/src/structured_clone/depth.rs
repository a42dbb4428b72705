//! The nesting guard every recursive conversion shares: [`open`] one more level, or fail past
//! [`MAX_DEPTH`] with the same error everywhere (the encoder, raw bodies, the serde bridge).

use super::error::{CloneError, Res};
use super::MAX_DEPTH;

/// The depth after opening one more container, or an error past [`MAX_DEPTH`].
#[inline]
pub(crate) fn open(depth: usize) -> Res<usize> {
    if depth >= MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(depth + 1)
}

#[cold]
fn too_deep() -> CloneError {
    CloneError::here(format!(
        "nesting deeper than the limit of {MAX_DEPTH} levels"
    ))
}
