//! The [`Dispatch`] trait (method name + arguments → a user method) and the limits every chain
//! obeys. The lowest layer of running chains: `graph` resolves and runs on top of it, `execute`
//! holds the public entry points.

use super::ChainError;
use crate::context::Ctx;
use crate::structured_clone::Value;

/// Longest chain accepted (the original's `maxDepth`).
pub const MAX_DEPTH: usize = 50;
/// Most arguments accepted in one `apply` (the original's `maxArgs`).
pub const MAX_ARGS: usize = 100;

/// Maps a method path and arguments to a user method. Implement it with
/// [`#[dispatch]`](crate::dispatch) on the type's `impl` block (which also generates typed
/// continuation builders, see [`typed`](super::typed)) or the [`handlers!`](crate::handlers)
/// list, rather than by hand; by hand is for wrappers that route some methods themselves.
pub trait Dispatch {
    /// The type's name, for error messages.
    fn type_name(&self) -> &'static str;

    /// Calls the handler named `method` (a dotted path for chains like `svc.fetch.handle`)
    /// with `args`. Returns [`ChainError::UnknownMethod`] when there is none.
    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError>;

    /// Every method name [`dispatch`](Self::dispatch) answers, when the type knows them
    /// statically ([`handlers!`](crate::handlers) lists them). With a list, a continuation
    /// this object would run later (`schedule`, `call_raw`'s continuation, a fetch's) that
    /// names another method is refused when it is written, not when it fires. `None` (the
    /// default, for hand-written and wrapping types) skips that check.
    fn method_names(&self) -> Option<&'static [&'static str]> {
        None
    }
}
