//! The turn engine's routing of [`RESULT_METHOD`]: every object answers it, whatever its own
//! [`Dispatch`], so a user never has to wire the simple design's convergence point (the
//! executor's reply and the backstop alarm both call it).

use super::options::RESULT_METHOD;
use super::simple::handle_result;
use crate::context::Ctx;
use crate::ocan::{ChainError, Dispatch};
use crate::structured_clone::Value;

/// An object's [`Dispatch`] as a turn sees it: a [`RESULT_METHOD`] call the object does not
/// answer itself goes to [`handle_result`] (which runs the stored continuation on the object);
/// everything else is the object's. The turn engine wraps every instance in it, on every host.
///
/// The object is asked first so that one which routes the method itself keeps doing so (the
/// [`Fetching`](super::Fetching) wrapper, or a wrapper that observes each outcome, as the
/// simulator's does). Only its refusal of that very method falls through: an unknown method
/// *inside* a continuation it ran is that continuation's error, never retried here.
pub(crate) struct Routed<'a>(pub(crate) &'a mut dyn Dispatch);

impl Dispatch for Routed<'_> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn method_names(&self) -> Option<&'static [&'static str]> {
        self.0.method_names()
    }

    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        if method != RESULT_METHOD {
            return self.0.dispatch(ctx, method, args);
        }
        // Values are handles: the copy shares the arguments' objects, it does not copy them.
        match self.0.dispatch(ctx, method, args.clone()) {
            Err(ChainError::UnknownMethod { method: m, .. }) if m == RESULT_METHOD => {
                handle_result(self.0, ctx, args)
            }
            other => other,
        }
    }
}
