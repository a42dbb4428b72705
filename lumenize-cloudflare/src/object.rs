//! [`ObjectHost`]: one lumenize object inside a Durable Object. The rules of a turn (one
//! `transactionSync` around the synchronous handler, the alarm time derived from the schedules,
//! rollback on failure, alarm runs with retries) are `lumenize_core::turn::TurnEngine`'s, the
//! same as the native host's; this file adds Cloudflare's parts: after commit it re-arms the
//! real alarm (`setAlarm`/`deleteAlarm`), sends the outbox and awaits the direct fetches the
//! turn queued (then runs their continuations) before answering.

use std::cell::RefCell;
use std::rc::Rc;

use lumenize_core::context::Ctx;
use lumenize_core::ocan::Dispatch;
use lumenize_core::turn::{AlarmRun, Outputs, TurnEngine, TurnEnv};
use worker::{Env, Request, Response, State};

use crate::direct_job::DirectFetch;
use crate::envelope::{Answer, Envelope, Outcome, Target};
use crate::ext::CfExt;
use crate::guard::trigger_limit;
use crate::sql::CfStorage;
use crate::transport::CfTransport;
use crate::{console_line, now_ms, read_envelope, send_all, wire_answer};

type Factory = Rc<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch>>;
type EngineFactory = Box<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch>>;
type Engine = TurnEngine<CfStorage, EngineFactory>;

/// Hosts one object of a registered type inside a `#[durable_object]` struct: forward its
/// `fetch` and `alarm` here. Its handlers reach the Worker's `Env` through
/// [`CfExt::of`](crate::CfExt::of).
///
/// ```ignore
/// #[durable_object]
/// pub struct DeskObject(ObjectHost);
///
/// impl DurableObject for DeskObject {
///     fn new(state: State, env: Env) -> Self {
///         DeskObject(ObjectHost::new(state, env, "DESK", |_ctx| Desk))
///     }
///     async fn fetch(&self, req: Request) -> Result<Response> {
///         self.0.fetch(req).await
///     }
///     async fn alarm(&self) -> Result<Response> {
///         self.0.alarm().await
///     }
/// }
/// ```
pub struct ObjectHost {
    binding: String,
    state: State,
    transport: CfTransport,
    /// What handlers reach through `CfExt::of(ctx)`: the Worker's environment.
    ext: CfExt,
    factory: Factory,
    /// `None` until the first message or alarm opens the object (and again when that failed).
    engine: RefCell<Option<Engine>>,
}

impl ObjectHost {
    /// The host of the object behind `state`, of the type registered as `binding` (the
    /// namespace binding other objects reach it by), built by `factory` on its first turn
    /// (and again after a turn that failed while constructing it).
    pub fn new<T: Dispatch + 'static>(
        state: State,
        env: Env,
        binding: &str,
        factory: impl Fn(&Ctx<'_>) -> T + 'static,
    ) -> ObjectHost {
        ObjectHost {
            binding: binding.to_string(),
            ext: CfExt::for_object(env.clone()),
            transport: CfTransport::new(env),
            factory: Rc::new(move |ctx| Box::new(factory(ctx))),
            engine: RefCell::new(None),
            state,
        }
    }

    /// Handles a message posted by another host (or a tool holding the token).
    pub async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let envelope = match read_envelope(req, &self.transport).await {
            Ok(e) => e,
            Err(resp) => return resp,
        };
        let to = envelope.to().clone();
        let cannot_open = |e: String| Response::error(format!("cannot open the object: {e}"), 500);
        let answer = match envelope {
            Envelope::Call { chain, reply, .. } => {
                let turn = self.with_engine(&to, |e, env| e.call(env, &chain).into_parts());
                let (result, mut outputs) = match turn {
                    Ok(t) => t,
                    Err(e) => return cannot_open(e),
                };
                let outcome: Outcome = result.map_err(|e| e.to_wire()).into();
                let mut messages: Vec<Envelope> = outputs
                    .take_outbox()
                    .iter()
                    .map(crate::call_envelope)
                    .collect();
                if let Some(reply) = reply {
                    messages.push(Envelope::Deliver {
                        to: reply.to,
                        continuation: reply.continuation,
                        outcome: outcome.clone(),
                    });
                }
                self.release(&mut outputs, messages).await;
                Answer { outcome }
            }
            Envelope::Deliver {
                continuation,
                outcome,
                ..
            } => {
                let outcome = outcome.into();
                let turn = self.with_engine(&to, |e, env| {
                    e.deliver(env, &continuation, &outcome).into_parts()
                });
                let (result, mut outputs) = match turn {
                    Ok(t) => t,
                    Err(e) => return cannot_open(e),
                };
                let answer = Answer {
                    outcome: match &result {
                        Ok(()) => Outcome::Ok(String::new()),
                        Err(e) => Outcome::Err(e.to_wire()),
                    },
                };
                let messages = outputs
                    .take_outbox()
                    .iter()
                    .map(crate::call_envelope)
                    .collect();
                self.release(&mut outputs, messages).await;
                answer
            }
            Envelope::Trigger { limit, .. } => {
                if !self.transport.test_hooks() {
                    return crate::trigger_refused();
                }
                let run = self.with_engine(&to, |e, env| e.trigger(env, trigger_limit(limit)));
                let run = match run {
                    Ok(r) => r,
                    Err(e) => return cannot_open(e),
                };
                let ran = self.finish_alarm_run(run).await;
                Answer {
                    outcome: Outcome::Ok(serde_json::to_string(&ran).unwrap_or_default()),
                }
            }
        };
        wire_answer(&answer)
    }

    /// Handles the Durable Object's alarm: runs every due schedule (each in its own turn),
    /// then arms the alarm for the next one. A failing schedule is retried by lumenize's own
    /// backoff; but when the object cannot even be opened, nothing was run or re-armed, so
    /// this returns the error and the platform retries the alarm (with its own backoff).
    pub async fn alarm(&self) -> worker::Result<Response> {
        let to = Target::Object {
            binding: self.binding.clone(),
            id: None,
            name: None,
        };
        let run = match self.with_engine(&to, |e, env| e.alarm(env)) {
            Ok(run) => run,
            Err(e) => {
                let message = format!("alarm: cannot open the object: {e}");
                console_line(&message);
                return Err(worker::Error::RustError(message));
            }
        };
        self.finish_alarm_run(run).await;
        Response::ok("")
    }

    /// Opens the engine (schema, name, the schedules' order), once per instance.
    fn open(&self, to: &Target) -> Result<(), String> {
        if self.engine.borrow().is_some() {
            return Ok(());
        }
        // The platform knows the name when the object was reached by name; a message may
        // carry it too. First write wins, as natively.
        let hint = self.state.id().name().or_else(|| match to {
            Target::Object { name, .. } => name.clone(),
            _ => None,
        });
        let factory = self.factory.clone();
        let engine = TurnEngine::open(
            CfStorage::for_object(self.state.storage()),
            &self.binding,
            &self.state.id().to_string(),
            hint.as_deref(),
            Box::new(move |ctx: &Ctx<'_>| factory(ctx)) as EngineFactory,
        )
        .map_err(|e| e.to_string())?;
        *self.engine.borrow_mut() = Some(engine);
        Ok(())
    }

    /// Runs `f` with the engine (opened first if needed) and Cloudflare's clock and
    /// transport; `Err` when the object cannot be opened. Synchronous: the engine is never
    /// borrowed across an `await`.
    fn with_engine<T>(
        &self,
        to: &Target,
        f: impl FnOnce(&mut Engine, &TurnEnv<'_>) -> T,
    ) -> Result<T, String> {
        self.open(to)?;
        let mut engine = self.engine.borrow_mut();
        let engine = engine.as_mut().ok_or("the object is not open")?;
        let env = TurnEnv::new(&self.transport, &now_ms).with_ext(&self.ext);
        Ok(f(engine, &env))
    }

    /// After an alarm run: logs its failures, re-arms the platform alarm (firing consumed it)
    /// and sends the outbox. Returns the ids that ran.
    async fn finish_alarm_run(&self, mut run: AlarmRun) -> Vec<String> {
        for f in run.failures() {
            console_line(&format!(
                "schedule {} failed: {}; {:?}",
                f.id(),
                f.error(),
                f.recorded()
            ));
        }
        if let Some(e) = run.fault() {
            // The engine's alarm change is then a retry after a backoff, not the past-due slot.
            console_line(&format!(
                "alarm run failed: {e}; retrying at {:?}",
                run.retry_at()
            ));
        }
        let messages = run
            .outputs_mut()
            .take_outbox()
            .iter()
            .map(crate::call_envelope)
            .collect();
        self.release(run.outputs_mut(), messages).await;
        run.ran().to_vec()
    }

    /// After committed turns: push the alarm change to the platform, send the messages in
    /// order, then perform the direct fetches the turns queued and run their continuations
    /// (each one more turn, whose outputs are released the same way). The fetches are the
    /// committed turns' effects: a turn that rolled back queued none.
    async fn release(&self, outputs: &mut Outputs, messages: Vec<Envelope>) {
        self.apply(outputs, messages).await;
        let mut pending = direct_fetches(outputs);
        let me = Target::Object {
            binding: self.binding.clone(),
            id: None,
            name: None,
        };
        while !pending.is_empty() {
            // Concurrently, as awaited fetches of one request would be.
            let outcomes =
                futures_util::future::join_all(pending.iter().map(DirectFetch::perform)).await;
            let mut next = Vec::new();
            for (job, outcome) in pending.iter().zip(outcomes) {
                let chain = match job.resumed(&outcome) {
                    Ok(c) => c,
                    Err(e) => {
                        console_line(&format!("direct fetch {}: cannot resume: {e}", job.id()));
                        continue;
                    }
                };
                let turn = self.with_engine(&me, |e, env| e.resume(env, &chain).into_parts());
                let (result, mut out) = match turn {
                    Ok(t) => t,
                    Err(e) => {
                        console_line(&format!("direct fetch {}: cannot open: {e}", job.id()));
                        continue;
                    }
                };
                if let Err(e) = result {
                    console_line(&format!(
                        "direct fetch {}: continuation failed: {e}",
                        job.id()
                    ));
                }
                let messages = out.take_outbox().iter().map(crate::call_envelope).collect();
                self.apply(&mut out, messages).await;
                next.extend(direct_fetches(&mut out));
            }
            pending = next;
        }
    }

    /// Pushes the alarm change to the platform, then sends the messages in order.
    async fn apply(&self, outputs: &mut Outputs, messages: Vec<Envelope>) {
        if outputs.alarm_faults() > 0 {
            console_line("cannot reload the alarm slot after a rollback");
        }
        if let Some(at) = outputs.alarm_change() {
            let storage = self.state.storage();
            let set = match at {
                Some(t) => {
                    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t as f64));
                    storage.set_alarm(worker::ScheduledTime::new(date)).await
                }
                None => storage.delete_alarm().await,
            };
            if let Err(e) = set {
                console_line(&format!("cannot set the alarm to {at:?}: {e}"));
            }
        }
        send_all(&self.transport, messages).await;
    }
}

/// The direct fetches committed turns queued (the only effects this backend queues).
fn direct_fetches(outputs: &mut Outputs) -> Vec<DirectFetch> {
    outputs
        .take_effects()
        .into_iter()
        .filter_map(|e| match e.downcast::<DirectFetch>() {
            Ok(job) => Some(job),
            Err(_) => {
                console_line("an effect this backend does not know was dropped");
                None
            }
        })
        .collect()
}
