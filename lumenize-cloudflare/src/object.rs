//! [`ObjectHost`]: one lumenize object inside a Durable Object. It turns each message (and
//! each alarm) into *turns*: one `transactionSync` around the synchronous handler, the alarm
//! mirror row flushed inside it, then, after commit, the real alarm re-armed and the outbox
//! sent. The same rules as the native host (`lumenize_core::runtime`), on Cloudflare's parts.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lumenize_core::alarms::{self, fire, SlotState, SqlAlarmSlot};
use lumenize_core::context::{Ctx, CtxParts};
use lumenize_core::ocan::{execute_chain, run_continuation, ChainError, Dispatch, OperationChain};
use lumenize_core::storage::{SqlValue, Storage, KV_SCHEMA};
use lumenize_core::structured_clone;
use lumenize_core::transport::{Address, Outgoing};
use worker::{Env, Request, Response, State};

use crate::envelope::{Answer, Envelope, Outcome, Target};
use crate::guard::trigger_limit;
use crate::sql::{transaction_sync, CfStorage};
use crate::transport::CfTransport;
use crate::{console_line, now_ms, read_envelope, send_all, wire_answer};

type Factory = Box<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch>>;

/// Hosts one object of a registered type inside a `#[durable_object]` struct: forward its
/// `fetch` and `alarm` here.
///
/// ```ignore
/// #[durable_object]
/// pub struct DeskObject(ObjectHost);
///
/// impl DurableObject for DeskObject {
///     fn new(state: State, env: Env) -> Self {
///         DeskObject(ObjectHost::new(state, env, "DESK", |_ctx| Fetching(Desk)))
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
    inner: Rc<Inner>,
}

struct Inner {
    binding: String,
    state: State,
    transport: CfTransport,
    storage: CfStorage,
    slot: SlotState,
    factory: Factory,
    instance: RefCell<Option<Box<dyn Dispatch>>>,
    me: RefCell<Option<Address>>,
    opened: Cell<bool>,
}

/// What a turn left behind.
struct Turn<R> {
    result: Result<R, ChainError>,
    outbox: Vec<Outgoing>,
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
        let storage = CfStorage::new(state.storage().sql());
        ObjectHost {
            inner: Rc::new(Inner {
                binding: binding.to_string(),
                transport: CfTransport::new(env),
                storage,
                slot: SlotState::default(),
                factory: Box::new(move |ctx| Box::new(factory(ctx))),
                instance: RefCell::new(None),
                me: RefCell::new(None),
                opened: Cell::new(false),
                state,
            }),
        }
    }

    /// Handles a message posted by another host (or a tool holding the token).
    pub async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let envelope = match read_envelope(req, &self.inner.transport).await {
            Ok(e) => e,
            Err(resp) => return resp,
        };
        if let Err(e) = self.open(envelope.to()) {
            return Response::error(format!("cannot open the object: {e}"), 500);
        }
        let answer = match envelope {
            Envelope::Call { chain, reply, .. } => {
                let turn = self.turn(move |obj, ctx| {
                    let chain = OperationChain::parse(&chain)?;
                    let value = execute_chain(obj, ctx, &chain)?;
                    structured_clone::stringify(&value).map_err(ChainError::Codec)
                });
                let outcome: Outcome = turn.result.map_err(|e| e.to_wire()).into();
                let mut messages: Vec<Envelope> =
                    turn.outbox.iter().map(crate::call_envelope).collect();
                if let Some(reply) = reply {
                    messages.push(Envelope::Deliver {
                        to: reply.to,
                        continuation: reply.continuation,
                        outcome: outcome.clone(),
                    });
                }
                self.send_and_sync_alarm(messages, false).await;
                Answer { outcome }
            }
            Envelope::Deliver {
                continuation,
                outcome,
                ..
            } => {
                let turn = self.turn(move |obj, ctx| {
                    run_continuation(obj, ctx, &continuation, &outcome.into())
                });
                let answer = Answer {
                    outcome: match &turn.result {
                        Ok(()) => Outcome::Ok(String::new()),
                        Err(e) => Outcome::Err(e.to_wire()),
                    },
                };
                let messages = turn.outbox.iter().map(crate::call_envelope).collect();
                self.send_and_sync_alarm(messages, false).await;
                answer
            }
            Envelope::Trigger { limit, .. } => {
                if !self.inner.transport.test_hooks() {
                    return crate::trigger_refused();
                }
                let ran = self.run_alarms(trigger_limit(limit), true).await;
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
            binding: self.inner.binding.clone(),
            id: None,
            name: None,
        };
        if let Err(e) = self.open(&to) {
            let message = format!("alarm: cannot open the object: {e}");
            console_line(&message);
            return Err(worker::Error::RustError(message));
        }
        let due = fire::due_count(&self.inner.storage, now_ms()).unwrap_or(0);
        self.run_alarms(due as usize, false).await;
        Response::ok("")
    }

    /// Creates the schema and loads the name and the alarm mirror, once per instance.
    fn open(&self, to: &Target) -> Result<(), String> {
        let inner = &self.inner;
        if inner.opened.get() {
            return Ok(());
        }
        let st = &inner.storage;
        let e = |e: lumenize_core::storage::StorageError| e.to_string();
        st.exec_batch(KV_SCHEMA).map_err(e)?;
        alarms::init_schema(st).map_err(e)?;
        // The platform knows the name when the object was reached by name; a message may
        // carry it too. First write wins, as natively.
        let hint = inner.state.id().name().or_else(|| match to {
            Target::Object { name, .. } => name.clone(),
            _ => None,
        });
        if let Some(n) = &hint {
            st.exec(
                "INSERT OR IGNORE INTO __lmz_meta (key, value) VALUES ('name', ?1)",
                &[SqlValue::from(n.as_str())],
            )
            .map_err(e)?;
        }
        let name = st
            .exec("SELECT value FROM __lmz_meta WHERE key = 'name'", &[])
            .map_err(e)?
            .scalar()
            .and_then(|v| v.as_str().map(str::to_string));
        inner.slot.reload(st).map_err(e)?;
        *inner.me.borrow_mut() = Some(Address::Object {
            binding: inner.binding.clone(),
            id: inner.state.id().to_string(),
            name,
        });
        inner.opened.set(true);
        Ok(())
    }

    /// Runs up to `limit` schedules, each in its own turn, then re-arms the platform alarm
    /// (firing consumed it). Returns the ids that ran.
    async fn run_alarms(&self, limit: usize, ignore_time: bool) -> Vec<String> {
        let mut ran = Vec::new();
        let mut messages = Vec::new();
        for _ in 0..limit {
            let claimed: Rc<RefCell<Option<String>>> = Rc::default();
            let slot = claimed.clone();
            let turn = self.turn(move |obj, ctx| {
                let Some(s) = fire::claim_next(ctx, ignore_time).map_err(alarm_err)? else {
                    return Ok(None);
                };
                *slot.borrow_mut() = Some(s.id.clone());
                execute_chain(obj, ctx, &s.callback)?;
                fire::complete(ctx).map_err(alarm_err)?;
                Ok(Some(s.id))
            });
            messages.extend(turn.outbox.iter().map(crate::call_envelope));
            match turn.result {
                Ok(Some(id)) => ran.push(id),
                Ok(None) => break,
                Err(e) => {
                    let Some(id) = claimed.borrow_mut().take() else {
                        console_line(&format!("alarm run failed: {e}"));
                        break;
                    };
                    let why = e.to_string();
                    let (id2, why2) = (id.clone(), why.clone());
                    let recorded = self.turn(move |_, ctx| {
                        fire::record_failure(ctx, &id2, &why2).map_err(alarm_err)
                    });
                    console_line(&format!(
                        "schedule {id} failed: {why}; {:?}",
                        recorded.result
                    ));
                }
            }
        }
        self.send_and_sync_alarm(messages, true).await;
        ran
    }

    /// After committed turns: push the alarm to the platform (its change, or with `force` its
    /// current value, since firing consumed it), then send the messages in order.
    async fn send_and_sync_alarm(&self, messages: Vec<Envelope>, force: bool) {
        let change = self.inner.slot.take_change();
        let target = if force {
            Some(self.inner.slot.armed())
        } else {
            change
        };
        if let Some(at) = target {
            let storage = self.inner.state.storage();
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
        send_all(&self.inner.transport, messages).await;
    }

    /// One turn: `body` inside one `transactionSync`. On success the writes and the alarm
    /// mirror commit together and the outbox is returned for sending; on failure everything
    /// rolls back, the outbox is dropped and the slot re-reads the committed alarm time.
    fn turn<R: 'static>(
        &self,
        body: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError> + 'static,
    ) -> Turn<R> {
        let inner = self.inner.clone();
        let out: Rc<RefCell<Option<Turn<R>>>> = Rc::default();
        let out_in = out.clone();
        let fresh = self.inner.instance.borrow().is_none();
        let tx = transaction_sync(&self.inner.state.storage(), move || {
            let turn = inner.run_body(body);
            let ok = turn.result.is_ok();
            *out_in.borrow_mut() = Some(turn);
            ok
        });
        // Free the cycles of what the turn decoded (issue 14 item 3; structured_clone/cycles.rs).
        structured_clone::collect_cycles();
        let mut turn = out.borrow_mut().take().unwrap_or(Turn {
            result: Err(ChainError::Storage("the transaction did not run".into())),
            outbox: Vec::new(),
        });
        if let Err(js) = tx {
            if turn.result.is_ok() {
                turn.result = Err(ChainError::Storage(format!("commit failed: {js}")));
            }
        }
        if turn.result.is_err() {
            turn.outbox.clear();
            if fresh {
                // The constructor's writes rolled back with the turn: construct again.
                *self.inner.instance.borrow_mut() = None;
            }
            if let Err(e) = self.inner.slot.reload(&self.inner.storage) {
                console_line(&format!("cannot reload the alarm slot: {e}"));
            }
        }
        turn
    }
}

impl Inner {
    fn run_body<R>(
        &self,
        body: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
    ) -> Turn<R> {
        let slot = SqlAlarmSlot {
            state: &self.slot,
            storage: &self.storage,
        };
        let me = self.me.borrow().clone();
        let Some(me) = me else {
            return Turn {
                result: Err(ChainError::NoContext),
                outbox: Vec::new(),
            };
        };
        let ctx = Ctx::new(CtxParts {
            storage: &self.storage,
            slot: &slot,
            transport: &self.transport,
            now_ms: now_ms(),
            me,
            ext: None,
        });
        let mut instance = self.instance.borrow_mut();
        let result = ctx.enter(|| {
            let obj = instance.get_or_insert_with(|| (self.factory)(&ctx));
            body(obj.as_mut(), &ctx)
        });
        let result = result.and_then(|r| {
            self.slot
                .flush(&self.storage)
                .map(|()| r)
                .map_err(|e| ChainError::Storage(e.to_string()))
        });
        let outbox = if result.is_ok() {
            ctx.take_outbox()
        } else {
            Vec::new()
        };
        Turn { result, outbox }
    }
}

fn alarm_err(e: lumenize_core::alarms::AlarmError) -> ChainError {
    match e {
        lumenize_core::alarms::AlarmError::Storage(s) => ChainError::Storage(s.to_string()),
        other => ChainError::handler(other.to_string()),
    }
}
