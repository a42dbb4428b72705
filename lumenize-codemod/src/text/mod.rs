//! Layer 1, source text and positions: byte offsets, lines and columns, and the splices
//! planned on a text. Knows nothing of tokens or syntax beyond proc-macro2's line/column
//! spans.
//!
//! Invariants: every offset here is a byte offset into the file's original text (the whole
//! file, BOM and shebang included); a [`Splice`] replaces `start..end` of that text and lies
//! inside its [`Unit`].

mod lines;
mod nesting;
mod splice;

pub(crate) use lines::*;
pub(crate) use nesting::{too_deep, MAX_NESTING};
pub(crate) use splice::{apply, landings, Landing, Note, OffsetMap, Splice, Unit, UnitKind};

/// Where the parsed part of `source` starts: after a BOM and a shebang line (as syn does).
pub(crate) fn parse_base(source: &str) -> usize {
    let mut base = 0;
    if source.starts_with('\u{feff}') {
        base = 3;
    }
    let rest = &source[base..];
    if let Some(after) = rest.strip_prefix("#!") {
        if !after.trim_start().starts_with('[') {
            base += rest.find('\n').unwrap_or(rest.len());
        }
    }
    base
}
