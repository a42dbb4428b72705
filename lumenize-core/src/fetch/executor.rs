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
use super::job::{result_chain, Job, ReplyMode, SendJob};
use super::message::outcome_to_value;
use super::options::EXECUTE_METHOD;
use super::FetchError;
use crate::context::Ctx;
use crate::ocan::{ctn, ChainError, Dispatch, OperationChain};
use crate::runtime::{MessageSender, NativeExt};
use crate::structured_clone::Value;

thread_local! {
    // One pooled client per runtime thread: reqwest's pool lives on the runtime that made its
    // connections, and tokio worker threads belong to exactly one runtime.
    static CLIENT: HttpClient = HttpClient::new();
}

/// The pooled HTTP client of the current thread.
pub(crate) fn client() -> HttpClient {
    CLIENT.with(HttpClient::clone)
}

/// The worker form of the executor. Register it with [`install`](super::install) or
/// `RuntimeBuilder::worker(EXECUTOR_BINDING, |_| FetchExecutor)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchExecutor;

/// The RPC-target form of the executor, same behaviour. Register it with
/// [`install`](super::install) or `RuntimeBuilder::rpc_target(EXECUTOR_RPC_BINDING, ..)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchExecutorRpcTarget;

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
        dispatch_execute(self.type_name(), ctx, method, args)
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
        dispatch_execute(self.type_name(), ctx, method, args)
    }
}

fn dispatch_execute(
    target: &str,
    ctx: &Ctx<'_>,
    method: &str,
    args: Vec<Value>,
) -> Result<Value, ChainError> {
    if method != EXECUTE_METHOD {
        return Err(ChainError::UnknownMethod {
            target: target.to_string(),
            method: method.to_string(),
        });
    }
    if args.len() != 1 {
        return Err(ChainError::WrongArgCount {
            method: method.to_string(),
            expected: 1,
            got: args.len(),
        });
    }
    execute_fetch(ctx, &args[0])?;
    Ok(Value::Undefined)
}

/// Accepts a job and starts its fetch as async work. Errors only when the job itself is
/// malformed (then nobody can be told).
fn execute_fetch(ctx: &Ctx<'_>, job: &Value) -> Result<(), ChainError> {
    let job = Job::from_value(job)?.into_send();
    let ext = NativeExt::of(ctx)
        .ok_or_else(|| ChainError::handler("executeFetch needs the native runtime"))?;
    let sender = ext.sender();
    let client = client();
    ext.spawn(async move {
        let outcome = match &job.request {
            Ok(req) => client.execute(req, job.limits).await,
            Err(e) => Err(e.clone()),
        };
        if job.simulate_delivery_failure {
            return;
        }
        deliver(&sender, &job, outcome);
    });
    Ok(())
}

/// Sends the outcome where the job says. Runs outside any turn (the executor's own turn has
/// long committed), so a failure can only be logged: the origin's timeout is the backstop.
fn deliver(
    sender: &MessageSender,
    job: &SendJob,
    outcome: Result<super::FetchResponse, FetchError>,
) {
    let value = outcome_to_value(&outcome);
    let sent = match &job.reply {
        ReplyMode::Simple => result_chain(&job.request_id, value)
            .stringify()
            .map_err(|e| e.to_string())
            .and_then(|text| {
                sender
                    .call_raw_wire(&job.origin, text, None)
                    .map_err(|e| e.to_string())
            }),
        ReplyMode::Orchestrated {
            continuation,
            orchestrator,
        } => OperationChain::parse(continuation)
            .and_then(|c| c.with_result(value).stringify())
            .map_err(|e| e.to_string())
            .and_then(|text| {
                sender
                    .call_raw_wire(&job.origin, text, None)
                    .map_err(|e| e.to_string())
            })
            .and_then(|()| {
                ctn()
                    .call("reportDelivery", vec![Value::from(job.request_id.as_str())])
                    .stringify()
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        sender
                            .call_raw_wire(orchestrator, t, None)
                            .map_err(|e| e.to_string())
                    })
            }),
    };
    if let Err(e) = sent {
        eprintln!(
            "lumenize fetch executor: delivering fetch {} to {} failed: {e}",
            job.request_id, job.origin
        );
    }
}
