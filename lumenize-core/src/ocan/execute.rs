//! Running a chain against an object: [`execute_chain`], the API-CONTRACT entry point
//! [`ExecuteChain::__execute_chain`], and [`run_continuation`] for delivered results.

use super::dispatch::Dispatch;
use super::graph::{run_ops, Analysis, Run};
use super::{ChainError, OperationChain};
use crate::context::{with_current, Ctx};
use crate::structured_clone::Value;

/// Runs an operation chain against `target` (API-CONTRACT: the 1.0 replacement of
/// `execute_operation_chain`). In `lumenize_core::prelude`; implemented for every
/// [`Dispatch`] type.
pub trait ExecuteChain {
    /// Runs `chain` against `self` in the current handler's context.
    ///
    /// Returns [`ChainError::NoContext`] when called outside a handler (there is no storage,
    /// clock or outbox to run with); inside one, use it freely, also re-entrantly.
    fn __execute_chain(&mut self, chain: &OperationChain) -> Result<Value, ChainError>;
}

impl<T: Dispatch + ?Sized> ExecuteChain for T {
    fn __execute_chain(&mut self, chain: &OperationChain) -> Result<Value, ChainError> {
        with_current(|ctx| execute_chain(self, ctx, chain)).unwrap_or(Err(ChainError::NoContext))
    }
}

/// Runs `chain` against `target` with an explicit context.
///
/// Semantics (lumenize-ts-notes E.3, adapted to Rust where objects have methods, not
/// arbitrary properties):
/// - consecutive `get`s before an `apply` name a method path (`["svc","fetch","handle"]` is
///   `"svc.fetch.handle"`), which the `apply` calls through [`Dispatch::dispatch`];
/// - a `get` after a call reads a property of the returned plain object;
/// - nested-operation markers among the author's arguments (top level, or inside arrays and
///   plain objects) are first run against the same target and replaced by their results;
///   substituted data ([`OperationChain::with_result`]) and the results themselves are never
///   searched for markers;
/// - a chain that is only `get $result` evaluates to `undefined` (an unfilled placeholder).
///
/// The argument graph is first checked as [`OperationChain::validate`] does. Each object of it
/// is resolved once, by handle identity: a marker reachable twice runs once, and an array
/// shared twice in the input is one rebuilt array shared twice in the arguments the handler
/// receives (the original walked arguments as trees, running a shared marker once per path).
/// The whole run, markers included, is limited to [`MAX_WORK`](super::MAX_WORK) steps
/// ([`ChainError::TooMuchWork`]).
pub fn execute_chain<T: Dispatch + ?Sized>(
    target: &mut T,
    ctx: &Ctx<'_>,
    chain: &OperationChain,
) -> Result<Value, ChainError> {
    let mut run = Run::new(Analysis::of(chain)?);
    run_ops(&mut run, target, ctx, chain, 0)
}

/// Runs a delivered continuation on `target`: parses it, fills its `$result` marker with the
/// outcome (the result, or the `Error` value of a failed call; both wire text) and executes it.
/// Every host runs deliveries through this, so `$result` means the same thing everywhere.
///
/// The outcome is data: it reaches the handler as it is, and nothing inside it runs, even a
/// value shaped like a nested-operation marker (see [`OperationChain::with_result`]).
pub fn run_continuation<T: Dispatch + ?Sized>(
    target: &mut T,
    ctx: &Ctx<'_>,
    continuation: &str,
    outcome: &Result<String, String>,
) -> Result<(), ChainError> {
    let chain = OperationChain::parse(continuation)?;
    let value = match outcome {
        Ok(text) | Err(text) => crate::structured_clone::parse(text).map_err(ChainError::Codec)?,
    };
    execute_chain(target, ctx, &chain.with_result(value))?;
    Ok(())
}
