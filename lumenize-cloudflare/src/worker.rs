//! [`Workers`]: the stateless side of a Cloudflare deployment. It answers the messages posted
//! to the worker's [`MESSAGE_PATH`](crate::envelope::MESSAGE_PATH): calls to the workers
//! registered here (the fetch executor among them), and messages for objects, which it
//! forwards to their Durable Object (so a tool outside Cloudflare can reach any object).

use std::cell::RefCell;
use std::rc::Rc;

use lumenize_core::context::Ctx;
use lumenize_core::fetch::{ExecutorJob, FetchPolicy};
use lumenize_core::ocan::{execute_chain, ChainError, Dispatch, OperationChain};
use lumenize_core::structured_clone::{self, Value};
use lumenize_core::transport::Address;
use lumenize_core::turn::{stateless_turn, TurnEnv};
use worker::{Context, Env, Request, Response};

use crate::envelope::{Answer, Envelope, Outcome, Target, MESSAGE_PATH};
use crate::ext::CfExt;
use crate::transport::CfTransport;
use crate::{call_envelope, console_line, now_ms, read_envelope, send_all, wire_answer};

type Factory = Box<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch>>;

enum Kind {
    Executor(FetchPolicy),
    Dispatch(Factory),
}

/// The workers of this script, by service binding.
///
/// ```ignore
/// #[event(fetch)]
/// async fn main(req: Request, env: Env, ctx: Context) -> Result<Response> {
///     let workers = Workers::new().fetch_executor(EXECUTOR_BINDING);
///     if let Some(resp) = workers.serve(req, env, ctx).await? {
///         return Ok(resp);
///     }
///     Response::error("not found", 404)
/// }
/// ```
#[derive(Default)]
pub struct Workers {
    kinds: Vec<(String, Kind)>,
}

impl Workers {
    /// No workers yet.
    pub fn new() -> Workers {
        Workers::default()
    }

    /// Serves the fetch executor under `binding` (usually
    /// [`EXECUTOR_BINDING`](lumenize_core::fetch::EXECUTOR_BINDING)): `executeFetch(job)`
    /// answers at once and runs the HTTP exchange in `ctx.waitUntil`, then sends the outcome
    /// to the origin exactly as the native executor does. It reaches public addresses only
    /// ([`FetchPolicy::default`]); see [`Workers::fetch_executor_with_policy`].
    pub fn fetch_executor(self, binding: &str) -> Workers {
        self.fetch_executor_with_policy(binding, FetchPolicy::default())
    }

    /// [`Workers::fetch_executor`] reaching what `policy` allows (e.g. loopback for a local
    /// test server in `workerd`). Every URL and redirect hop is checked; names are not
    /// resolved first (see the crate docs).
    pub fn fetch_executor_with_policy(mut self, binding: &str, policy: FetchPolicy) -> Workers {
        self.kinds
            .push((binding.to_string(), Kind::Executor(policy)));
        self
    }

    /// Serves a worker type under `binding`: each call runs its handler synchronously (no
    /// storage, no alarm), then sends its outbox. Handlers reach the Worker's `Env` through
    /// [`CfExt::of`](crate::CfExt::of).
    pub fn worker<T: Dispatch + 'static>(
        mut self,
        binding: &str,
        factory: impl Fn(&Ctx<'_>) -> T + 'static,
    ) -> Workers {
        let f: Factory = Box::new(move |ctx| Box::new(factory(ctx)));
        self.kinds.push((binding.to_string(), Kind::Dispatch(f)));
        self
    }

    /// Answers `req` if it is a lumenize message (`Some`), else gives it back (`None`) for the
    /// script's own routes.
    pub async fn serve(
        &self,
        req: Request,
        env: Env,
        ctx: Context,
    ) -> worker::Result<Result<Response, Request>> {
        if req.path() != MESSAGE_PATH {
            return Ok(Err(req));
        }
        let ext = CfExt::new(env.clone());
        let transport = CfTransport::new(env);
        let envelope = match read_envelope(req, &transport).await {
            Ok(e) => e,
            Err(resp) => return resp.map(Ok),
        };
        // Refused here too, so the caller sees the 403 rather than a failed forward.
        if matches!(envelope, Envelope::Trigger { .. }) && !transport.test_hooks() {
            return crate::trigger_refused().map(Ok);
        }
        let answer = match envelope.to().clone() {
            Target::Object { .. } => match transport.send(&envelope).await {
                Ok(a) => a,
                Err(e) => return Response::error(e, 502).map(Ok),
            },
            Target::Worker { binding } => match self.kinds.iter().find(|(b, _)| *b == binding) {
                Some((_, kind)) => {
                    self.call(kind, &binding, envelope, transport, &ext, &ctx)
                        .await
                }
                None => {
                    return Response::error(format!("no worker is served as {binding}"), 404)
                        .map(Ok)
                }
            },
            Target::RpcTarget { binding } => {
                return Response::error(
                    format!("rpc-target {binding}: RPC targets are not offered on Cloudflare"),
                    404,
                )
                .map(Ok)
            }
        };
        wire_answer(&answer).map(Ok)
    }

    async fn call(
        &self,
        kind: &Kind,
        binding: &str,
        envelope: Envelope,
        transport: CfTransport,
        ext: &CfExt,
        ctx: &Context,
    ) -> Answer {
        let Envelope::Call { chain, reply, .. } = envelope else {
            return Answer {
                outcome: Outcome::Err(
                    ChainError::handler("workers only take calls (no deliveries, no alarms)")
                        .to_wire(),
                ),
            };
        };
        let jobs: Rc<RefCell<Vec<ExecutorJob>>> = Rc::default();
        let now = now_ms;
        let env = TurnEnv::new(&transport, &now).with_ext(ext);
        let me = Address::worker(binding);
        let run = |obj: &mut dyn Dispatch, c: &Ctx<'_>| {
            let chain = OperationChain::parse(&chain)?;
            let value = execute_chain(obj, c, &chain)?;
            structured_clone::stringify(&value).map_err(ChainError::Codec)
        };
        let turn = match kind {
            Kind::Executor(_) => {
                let taker = |_: &Ctx<'_>| -> Box<dyn Dispatch> { Box::new(JobTaker(jobs.clone())) };
                stateless_turn(&env, me, &taker, run)
            }
            Kind::Dispatch(factory) => stateless_turn(&env, me, factory, run),
        };
        let (result, mut outputs) = turn.into_parts();
        let outbox = outputs.take_outbox();
        let outcome: Outcome = result.map_err(|e| e.to_wire()).into();
        let mut messages: Vec<Envelope> = outbox.iter().map(call_envelope).collect();
        if let Some(reply) = reply {
            messages.push(Envelope::Deliver {
                to: reply.to,
                continuation: reply.continuation,
                outcome: outcome.clone(),
            });
        }
        send_all(&transport, messages).await;
        // The exchange runs after the answer: the origin is not kept waiting (or billed).
        let policy = match kind {
            Kind::Executor(p) => p.clone(),
            Kind::Dispatch(_) => FetchPolicy::default(),
        };
        for job in jobs.take() {
            let transport = transport.clone();
            let policy = policy.clone();
            ctx.wait_until(async move {
                let outcome = crate::executor::perform_job(&job, &policy).await;
                match job.deliveries(&outcome) {
                    Ok(messages) => {
                        let envelopes = messages
                            .into_iter()
                            .map(|(to, chain)| Envelope::Call {
                                to: Target::from(&to),
                                chain,
                                reply: None,
                            })
                            .collect();
                        send_all(&transport, envelopes).await;
                    }
                    Err(e) => console_line(&format!(
                        "fetch {}: cannot encode the outcome: {e}",
                        job.request_id
                    )),
                }
            });
        }
        Answer { outcome }
    }
}

/// Collects `executeFetch(job)` calls so their exchanges start after the answer.
struct JobTaker(Rc<RefCell<Vec<ExecutorJob>>>);

impl Dispatch for JobTaker {
    fn type_name(&self) -> &'static str {
        "FetchExecutor"
    }

    fn dispatch(
        &mut self,
        _ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        let job = ExecutorJob::from_call(self.type_name(), method, &args)?;
        self.0.borrow_mut().push(job);
        Ok(Value::Undefined)
    }
}
