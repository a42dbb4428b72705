//! One object's host: its SQLite storage, alarm slot, user instance and mailbox loop. Every
//! message is one or more *turns*; a turn is one transaction.

use super::accounting::thread_cpu;
use super::counters::Kind;
use super::shared::Shared;
use super::{Msg, NativeExt, Reply, RuntimeError};
use crate::alarms::{self, fire, SlotState, SqlAlarmSlot};
use crate::context::{Ctx, CtxParts};
use crate::ocan::{execute_chain, run_continuation, ChainError, Dispatch, OperationChain};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{SqlValue, Storage, StorageError, KV_SCHEMA};
use crate::structured_clone;
use crate::transport::{Address, Delivery};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use tokio::sync::mpsc;

/// (binding, id): how the runtime keys a live object.
pub(crate) type ObjKey = (String, String);

pub(crate) struct ObjectHost {
    shared: Arc<Shared>,
    key: ObjKey,
    me: Address,
    storage: SqliteStorage,
    slot: SlotState,
    instance: Option<Box<dyn Dispatch + Send>>,
}

/// The file of object `id` under `binding` in `dir`.
pub(crate) fn db_path(dir: &std::path::Path, binding: &str, id: &str) -> std::path::PathBuf {
    dir.join(binding).join(format!("{id}.sqlite"))
}

pub(crate) async fn object_task(
    shared: Arc<Shared>,
    key: ObjKey,
    name: Option<String>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    let mut host = match ObjectHost::open(shared.clone(), key.clone(), name) {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!(binding = %key.0, id = %key.1, error = %e, "cannot open object");
            shared.count(Kind::OpenFailure);
            None
        }
    };
    while let Some(msg) = rx.recv().await {
        match host.as_mut() {
            Some(h) => h.handle(msg),
            None => fail_message(
                msg,
                ChainError::Storage(format!("object {}/{} could not be opened", key.0, key.1)),
            ),
        }
        shared.work_end();
    }
}

/// Answers a message that cannot be processed.
fn fail_message(msg: Msg, err: ChainError) {
    match msg {
        Msg::Call {
            reply: Reply::Sync(tx),
            ..
        } => {
            let _ = tx.send(Err(err));
        }
        Msg::Trigger { done, .. } => {
            let _ = done.send(Err(RuntimeError::Chain(err)));
        }
        Msg::Run { done, .. } => {
            let _ = done.send(Err(RuntimeError::Chain(err)));
        }
        _ => {}
    }
}

impl ObjectHost {
    fn open(
        shared: Arc<Shared>,
        key: ObjKey,
        name: Option<String>,
    ) -> Result<ObjectHost, StorageError> {
        let storage = match &shared.data_dir {
            Some(dir) => {
                let path = db_path(dir, &key.0, &key.1);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StorageError::new(e.to_string(), format!("mkdir {}", parent.display()))
                    })?;
                }
                SqliteStorage::open(&path)?
            }
            None => SqliteStorage::in_memory()?,
        };
        storage.exec_batch(KV_SCHEMA)?;
        alarms::init_schema(&storage)?;
        // The name is first-write-wins, like the original's `__lmz_do_instance_name`.
        if let Some(n) = &name {
            storage.exec(
                "INSERT OR IGNORE INTO __lmz_meta (key, value) VALUES ('name', ?1)",
                &[SqlValue::from(n.as_str())],
            )?;
        }
        let stored_name = storage
            .exec("SELECT value FROM __lmz_meta WHERE key = 'name'", &[])?
            .scalar()
            .and_then(|v| v.as_str().map(str::to_string));
        let slot = SlotState::load(&storage)?;
        let me = Address::Object {
            binding: key.0.clone(),
            id: key.1.clone(),
            name: stored_name.or(name),
        };
        // No timer update here: stored alarms were armed when the runtime started
        // (`rearm_stored`), and every later change goes through a committed turn.
        Ok(ObjectHost {
            shared,
            key,
            me,
            storage,
            slot,
            instance: None,
        })
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Call { chain, reply } => {
                self.count_request();
                let result = self.turn(|obj, ctx| {
                    let chain = OperationChain::parse(&chain)?;
                    let value = execute_chain(obj, ctx, &chain)?;
                    structured_clone::stringify(&value).map_err(ChainError::Codec)
                });
                super::reply(&self.shared, &self.me, reply, result);
            }
            Msg::Deliver {
                continuation,
                outcome,
            } => {
                self.count_request();
                let result =
                    self.turn(|obj, ctx| run_continuation(obj, ctx, &continuation, &outcome));
                if let Err(e) = result {
                    tracing::warn!(address = %self.me, error = %e, "continuation failed");
                    self.shared.count(Kind::FailedContinuation);
                }
            }
            Msg::Resume { chain, awake } => {
                // Not a request: the rest of the invocation that started the async work.
                let result = self.turn(|obj, ctx| {
                    let chain = OperationChain::parse(&chain)?;
                    execute_chain(obj, ctx, &chain).map(drop)
                });
                if let Err(e) = result {
                    tracing::warn!(address = %self.me, error = %e, "resumed work failed");
                    self.shared.count(Kind::FailedResume);
                }
                drop(awake);
            }
            Msg::Alarm => {
                self.count_request();
                let due = alarms::fire::due_count(&self.storage, self.shared.now_ms()).unwrap_or(0);
                self.run_alarms(due as usize, false);
            }
            Msg::Trigger { n, done } => {
                self.count_request();
                let fired = self.run_alarms(n, true);
                let _ = done.send(Ok(fired));
            }
            Msg::Run { f, done } => {
                let out = RefCell::new(None);
                let result = self.turn(|obj, ctx| {
                    *out.borrow_mut() = Some(f(obj, ctx)?);
                    Ok(())
                });
                let _ = done.send(result.map_err(RuntimeError::Chain).and_then(|()| {
                    out.into_inner()
                        .ok_or(RuntimeError::Chain(ChainError::NoContext))
                }));
            }
        }
    }

    fn count_request(&self) {
        self.shared.account(&self.me, |a| a.totals.requests += 1);
    }

    /// Runs up to `limit` schedules, each in its own turn; returns the ids that ran.
    fn run_alarms(&mut self, limit: usize, ignore_time: bool) -> Vec<String> {
        let mut ran = Vec::new();
        for _ in 0..limit {
            let claimed: RefCell<Option<String>> = RefCell::new(None);
            let result = self.turn(|obj, ctx| {
                let Some(s) = fire::claim_next(ctx, ignore_time).map_err(alarm_err)? else {
                    return Ok(None);
                };
                *claimed.borrow_mut() = Some(s.id.clone());
                execute_chain(obj, ctx, &s.callback)?;
                fire::complete(ctx).map_err(alarm_err)?;
                Ok(Some(s.id))
            });
            match result {
                Ok(Some(id)) => ran.push(id),
                Ok(None) => break,
                Err(e) => match claimed.into_inner() {
                    Some(id) => {
                        let why = e.to_string();
                        let outcome = self
                            .turn(|_, ctx| fire::record_failure(ctx, &id, &why).map_err(alarm_err));
                        tracing::warn!(
                            address = %self.me,
                            schedule_id = %id,
                            error = %why,
                            recorded = ?outcome,
                            "schedule failed"
                        );
                        self.shared.count(Kind::FailedSchedule);
                    }
                    None => {
                        tracing::error!(address = %self.me, error = %e, "alarm run failed");
                        self.shared.count(Kind::AlarmFault);
                        break;
                    }
                },
            }
        }
        // The timer entry was consumed when the alarm fired: re-sync it with the slot.
        self.shared.timer_set(&self.key, self.slot.armed());
        ran
    }

    /// One turn: one transaction around `body`. On success commits, then pushes the alarm
    /// change to the timer and sends the outbox (the output gate). On error or panic rolls
    /// back, drops the outbox, and (on panic) discards the instance so the next turn starts
    /// from a fresh one, as Cloudflare resets an object after an uncaught exception.
    fn turn<R>(
        &mut self,
        body: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
    ) -> Result<R, ChainError> {
        let shared = self.shared.clone();
        shared.awake_enter(&self.me);
        let cpu0 = thread_cpu();
        let rows0 = self.storage.stats();
        let result = self.turn_inner(body);
        // Free the cycles of what the turn decoded (issue 14 item 3; structured_clone/cycles.rs).
        structured_clone::collect_cycles();
        let rows1 = self.storage.stats();
        let cpu = thread_cpu().saturating_sub(cpu0);
        shared.account(&self.me, |a| {
            a.totals.cpu += cpu;
            a.totals.rows_read += rows1.rows_read - rows0.rows_read;
            a.totals.rows_written += rows1.rows_written - rows0.rows_written;
            if result.is_err() {
                a.totals.failed_turns += 1;
            }
        });
        shared.awake_exit(&self.me);
        result
    }

    fn turn_inner<R>(
        &mut self,
        body: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
    ) -> Result<R, ChainError> {
        let storage_err = |e: StorageError| ChainError::Storage(e.to_string());
        self.storage.begin().map_err(storage_err)?;
        let ext = NativeExt {
            shared: self.shared.clone(),
            me: self.me.clone(),
        };
        let slot = SqlAlarmSlot {
            state: &self.slot,
            storage: &self.storage,
        };
        let transport = self.shared.clone();
        let ctx = Ctx::new(CtxParts {
            storage: &self.storage,
            slot: &slot,
            transport: &transport,
            now_ms: self.shared.now_ms(),
            me: self.me.clone(),
            ext: Some(&ext),
        });
        let factory = self
            .shared
            .objects
            .get(&self.key.0)
            .map(|t| t.factory.clone());
        let fresh = self.instance.is_none();
        let instance = &mut self.instance;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            ctx.enter(|| {
                if instance.is_none() {
                    let f = factory.ok_or_else(|| ChainError::UnknownMethod {
                        target: "runtime".into(),
                        method: "constructor".into(),
                    })?;
                    *instance = Some(f(&ctx));
                }
                match instance.as_deref_mut() {
                    Some(obj) => body(obj, &ctx),
                    None => Err(ChainError::NoContext),
                }
            })
        }));
        let result = match outcome {
            Ok(Ok(r)) => match self
                .slot
                .flush(&self.storage)
                .and_then(|()| self.storage.commit())
            {
                Ok(()) => Ok(r),
                Err(e) => Err(storage_err(e)),
            },
            Ok(Err(e)) => {
                if fresh {
                    // The constructor's writes rolled back with the turn: construct again.
                    self.instance = None;
                }
                Err(e)
            }
            Err(panic) => {
                self.instance = None;
                Err(ChainError::Panicked {
                    message: panic_message(&panic),
                })
            }
        };
        self.shared
            .counters
            .add(Kind::LateOutcome, ctx.take_late_outcomes());
        match &result {
            Ok(_) => {
                if let Some(change) = self.slot.take_change() {
                    self.shared.timer_set(&self.key, change);
                }
                for msg in ctx.take_outbox() {
                    self.shared.send_outgoing(msg);
                }
            }
            Err(_) => {
                ctx.discard_outbox();
                let _ = self.storage.rollback();
                if let Err(e) = self.slot.reload(&self.storage) {
                    tracing::error!(address = %self.me, error = %e, "cannot reload the alarm slot");
                    self.shared.count(Kind::AlarmFault);
                }
            }
        }
        result
    }
}

fn alarm_err(e: crate::alarms::AlarmError) -> ChainError {
    match e {
        crate::alarms::AlarmError::Storage(s) => ChainError::Storage(s.to_string()),
        other => ChainError::handler(other.to_string()),
    }
}

/// Builds the delivery of `result` to `reply`'s continuation.
pub(crate) fn delivery(
    to: Address,
    continuation: String,
    result: Result<String, ChainError>,
) -> Delivery {
    let outcome = result.map_err(|e| e.to_wire());
    Delivery {
        to,
        continuation,
        outcome,
    }
}

pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}
