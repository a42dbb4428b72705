//! The executor, in its two forms: [`FetchExecutor`] (a worker) and [`FetchExecutorRpcTarget`]
//! (an RPC target). Both expose `executeFetch(job)`, return at once, run the HTTP exchange as
//! async work (Cloudflare's `ctx.waitUntil`), and deliver the outcome to the origin by the very
//! address the origin put in the job (`ctx.me()` there: binding, id *and* name), so a reply
//! never addresses the origin differently from how it was reached.
//!
//! The runtime's [`Ctx`] is the one `lmz` API for workers and RPC targets alike (`call_raw`,
//! continuations, `NativeExt::spawn`), so both forms share one implementation and there is no
//! separate `LumenizeRpcTarget` base type.

use super::http::HttpClient;
use super::job::ExecutorJob;
use super::policy::FetchPolicy;
use super::FetchError;
use crate::context::Ctx;
use crate::ocan::{ChainError, Dispatch};
use crate::runtime::{MessageSender, NativeExt};
use crate::structured_clone::Value;

/// The pooled HTTP client of the current runtime for `policy` (one pool per runtime: see
/// `http::pooled`).
pub(crate) fn client(policy: &FetchPolicy) -> HttpClient {
    super::http::pooled(policy)
}

/// The worker form of the executor. Register it with [`install`](super::install) (public
/// addresses only), [`install_with_policy`](super::install_with_policy), or
/// `RuntimeBuilder::worker(EXECUTOR_BINDING, |_| FetchExecutor::default())`.
///
/// ```
/// use lumenize_core::fetch::{FetchExecutor, FetchPolicy};
/// let for_local_tests = FetchExecutor::with_policy(FetchPolicy::default().allow_loopback());
/// # drop(for_local_tests);
/// ```
#[derive(Debug, Default, Clone)]
pub struct FetchExecutor {
    policy: FetchPolicy,
}

/// The RPC-target form of the executor, same behaviour. Register it with
/// [`install`](super::install) or `RuntimeBuilder::rpc_target(EXECUTOR_RPC_BINDING, ..)`.
#[derive(Debug, Default, Clone)]
pub struct FetchExecutorRpcTarget {
    policy: FetchPolicy,
}

impl FetchExecutor {
    /// An executor that reaches what `policy` allows (the default: public addresses only).
    pub fn with_policy(policy: FetchPolicy) -> FetchExecutor {
        FetchExecutor { policy }
    }
}

impl FetchExecutorRpcTarget {
    /// An executor that reaches what `policy` allows (the default: public addresses only).
    pub fn with_policy(policy: FetchPolicy) -> FetchExecutorRpcTarget {
        FetchExecutorRpcTarget { policy }
    }
}

impl Dispatch for FetchExecutor {
    fn type_name(&self) -> &'static str {
        "FetchExecutor"
    }
    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        dispatch_execute(self.type_name(), &self.policy, ctx, method, args)
    }
}

impl Dispatch for FetchExecutorRpcTarget {
    fn type_name(&self) -> &'static str {
        "FetchExecutorRpcTarget"
    }
    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        dispatch_execute(self.type_name(), &self.policy, ctx, method, args)
    }
}

fn dispatch_execute(
    target: &str,
    policy: &FetchPolicy,
    ctx: &Ctx<'_>,
    method: &str,
    args: Vec<Value>,
) -> Result<Value, ChainError> {
    let job = ExecutorJob::from_call(target, method, &args)?;
    execute_fetch(ctx, policy, job)?;
    Ok(Value::Undefined)
}

/// Starts the job's fetch as async work. Errors only when this is not the native runtime.
fn execute_fetch(ctx: &Ctx<'_>, policy: &FetchPolicy, job: ExecutorJob) -> Result<(), ChainError> {
    let ext = NativeExt::of(ctx)
        .ok_or_else(|| ChainError::handler("executeFetch needs the native runtime"))?;
    let sender = ext.sender();
    let client = client(policy);
    ext.spawn(async move {
        let outcome = match &job.request {
            Ok(req) => client.execute(req, job.limits).await,
            Err(e) => Err(e.clone()),
        };
        deliver(&sender, &job, outcome);
    });
    Ok(())
}

/// Sends the outcome where the job says. Runs outside any turn (the executor's own turn has
/// long committed), so a failure can only be logged: the origin's timeout is the backstop.
fn deliver(
    sender: &MessageSender,
    job: &ExecutorJob,
    outcome: Result<super::FetchResponse, FetchError>,
) {
    let sent = job.deliveries(&outcome).and_then(|messages| {
        messages.into_iter().try_for_each(|(to, text)| {
            sender
                .call_raw_wire(&to, text, None)
                .map_err(|e| e.to_string())
        })
    });
    if let Err(e) = sent {
        eprintln!(
            "lumenize fetch executor: delivering fetch {} to {} failed: {e}",
            job.request_id, job.origin
        );
    }
}
