//! Options shared by the three fetch designs, the well-known bindings and method names, and the
//! synchronous errors that refuse to start a fetch.

use std::time::Duration;

use super::error::FetchError;
use super::limits::DEFAULT_MAX_BODY_BYTES;
use super::policy::FetchPolicy;
use crate::alarms::AlarmError;
use crate::context::{CallError, Ctx};
use crate::ocan::Continuation;
use crate::transport::Address;

/// Binding of the worker executor registered by [`install`](super::install).
pub const EXECUTOR_BINDING: &str = "FETCH_EXECUTOR";
/// Binding of the RPC-target executor registered by [`install`](super::install).
pub const EXECUTOR_RPC_BINDING: &str = "FETCH_EXECUTOR_RPC";
/// Binding of the orchestrator object (baseline design).
pub const ORCHESTRATOR_BINDING: &str = "FETCH_ORCHESTRATOR";
/// Name of the one orchestrator instance used by default.
pub const ORCHESTRATOR_NAME: &str = "singleton";
/// The origin-side method both the executor's result and the timeout alarm call. Every
/// object answers it without any setup: the turn engine routes it to
/// [`handle_result`](super::handle_result) unless the object answers it itself.
pub const RESULT_METHOD: &str = crate::alarms::FETCH_RESULT_METHOD;
/// The executor's method.
pub const EXECUTE_METHOD: &str = "executeFetch";

/// Test-only behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestMode {
    /// The executor performs the fetch but never delivers the result (a lost delivery or a
    /// dead executor, as the origin sees it).
    pub simulate_delivery_failure: bool,
}

/// Which design runs a fetch (so experiments can call all three the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Design {
    /// The object fetches itself and stays awake until the body is read.
    Direct,
    /// Origin → orchestrator object → executor → origin.
    Orchestrated,
    /// Origin → executor → origin, with the timeout alarm holding the continuation.
    Simple,
}

/// Options of a fetch. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchOptions {
    /// How long the executor lets the HTTP exchange take (body included) before it aborts
    /// with [`FetchError::ExecutorTimeout`]. Default 30 s.
    pub timeout: Duration,
    /// Extra time the origin waits after `timeout` before giving up with the ambiguous
    /// [`FetchError::NoReply`], so a result the executor produced right at its timeout still
    /// arrives in time. Default 5 s.
    pub grace_period: Duration,
    /// The executor: a worker (default [`EXECUTOR_BINDING`]) or an RPC target.
    pub executor: Address,
    /// The orchestrator object (orchestrated design only).
    pub orchestrator: Address,
    /// The request id (default: a fresh UUID). The timeout alarm is `fetch-{id}`.
    pub request_id: Option<String>,
    /// Largest response body accepted. Default [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: u64,
    /// Test-only behaviour.
    pub test_mode: TestMode,
    /// Direct design only: which addresses the object itself may fetch. Default: public
    /// addresses only. The proxy designs obey the executor's own policy, set where it is
    /// registered ([`install_with_policy`](super::install_with_policy), or the Cloudflare
    /// `Workers::fetch_executor_with_policy`): the executor, not the caller, decides where it
    /// connects.
    pub policy: FetchPolicy,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            grace_period: Duration::from_secs(5),
            executor: Address::worker(EXECUTOR_BINDING),
            orchestrator: Address::object(ORCHESTRATOR_BINDING, ORCHESTRATOR_NAME),
            request_id: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            test_mode: TestMode::default(),
            policy: FetchPolicy::default(),
        }
    }
}

impl FetchOptions {
    /// The defaults with the RPC-target executor.
    pub fn with_rpc_target_executor() -> FetchOptions {
        FetchOptions {
            executor: Address::rpc_target(EXECUTOR_RPC_BINDING),
            ..FetchOptions::default()
        }
    }
}

/// Why a fetch could not be started. Nothing was scheduled or sent when one is returned, and
/// the continuation will never run for it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProxyFetchError {
    /// The request value is not a URL string, a `URL` or a `RequestSync`.
    #[error("invalid fetch request: {0}")]
    InvalidRequest(FetchError),
    /// No executor (or orchestrator) is registered at that address. The message says how to
    /// register them, the step a new user misses.
    #[error(
        "no fetch executor or orchestrator registered as {0}: register them with \
         `lumenize_core::fetch::install(builder)` (or `install_with_policy`) natively, \
         `Workers::new().fetch_executor(..)` on Cloudflare"
    )]
    UnknownTarget(Address),
    /// A fetch with this id is still pending on this object.
    #[error("a fetch with request id {0:?} is already pending")]
    DuplicateRequestId(String),
    /// The call could not be queued.
    #[error("cannot send the fetch: {0}")]
    Call(CallError),
    /// The timeout alarm could not be written.
    #[error("cannot schedule the fetch timeout: {0}")]
    Alarm(AlarmError),
    /// This direct fetch needs the native runtime's async support (on Cloudflare, use
    /// `lumenize_cloudflare::direct_fetch`, which the object's host awaits).
    #[error(
        "this context cannot run async work (not the native runtime; on Cloudflare use \
         lumenize_cloudflare::direct_fetch)"
    )]
    NoAsyncSupport,
}

impl From<CallError> for ProxyFetchError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::UnknownTarget(a) => ProxyFetchError::UnknownTarget(a),
            other => ProxyFetchError::Call(other),
        }
    }
}

/// A fetch's continuation as the wire text its outcome will fill in, checked as every design
/// checks it when the fetch starts: it names a method this object has, and it can be read back.
/// For backends that add a design of their own (`lumenize_cloudflare::direct_fetch`).
///
/// ```
/// use lumenize_core::fetch::{encode_continuation, ProxyFetchError};
/// use lumenize_core::prelude::*;
/// fn start(ctx: &Ctx<'_>) -> Result<String, ProxyFetchError> {
///     // Refused if this object has no `onFetched` method.
///     encode_continuation(ctx, &ctn().call("onFetched", vec![result_marker()]))
/// }
/// ```
pub fn encode_continuation(
    ctx: &Ctx<'_>,
    continuation: &Continuation,
) -> Result<String, ProxyFetchError> {
    // A misnamed method would fail only when the outcome arrives, long after the caller could
    // have fixed it.
    if let Some(why) = ctx.unknown_own_method(continuation) {
        return Err(ProxyFetchError::Alarm(AlarmError::InvalidContinuation(why)));
    }
    continuation
        .stringify_continuation()
        .map_err(|e| ProxyFetchError::Alarm(AlarmError::from_chain(e)))
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
