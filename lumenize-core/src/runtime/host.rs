//! One object's host: its SQLite storage, alarm slot, user instance and mailbox loop. Every
//! message is one or more *turns*; a turn is one transaction.

use super::accounting::thread_cpu;
use super::counters::Kind;
use super::shared::{Shared, Signal, OPEN_RETRY_MS};
use super::{Msg, NativeExt, RuntimeError};
use crate::alarms::{self, fire, SlotState, SqlAlarmSlot};
use crate::context::{Ctx, CtxParts};
use crate::ocan::{execute_chain, run_continuation, ChainError, Dispatch, OperationChain};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{SqlValue, Storage, StorageError, KV_SCHEMA};
use crate::structured_clone;
use crate::transport::{is_object_id, shown_id, Address, Delivery};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

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

/// The file of object `id` under `binding` in `dir`. Both become path components, so both are
/// checked here, whatever the caller checked before: a binding is 1 to 128 ASCII letters,
/// digits, `_` or `-`; an id is 64 lowercase hex digits. No separator, `..`, NUL or absolute
/// path can reach outside `dir`.
pub(crate) fn db_path(
    dir: &std::path::Path,
    binding: &str,
    id: &str,
) -> Result<std::path::PathBuf, StorageError> {
    if !super::valid_binding(binding) || !is_object_id(id) {
        return Err(StorageError::new(
            format!(
                "refused object path: binding {binding:?}, id {}",
                shown_id(id)
            ),
            "object path",
        ));
    }
    Ok(dir.join(binding).join(format!("{id}.sqlite")))
}

/// What an object's task does next.
enum Work {
    Msg(Msg),
    Alarm,
}

/// An open object: its host and the slot it holds (released when it closes).
struct Open {
    host: ObjectHost,
    _slot: Option<OwnedSemaphorePermit>,
    count: Arc<Shared>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.count.open_count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One object's task: takes its messages and alarms one at a time; opens the object for the
/// first one (and again after closing), closes it when idle long enough or when another
/// object needs its slot, and ends once closed with nothing to do. A failed open answers the
/// work with the error and is not remembered: the next message or alarm tries again.
pub(crate) async fn object_task(
    shared: Arc<Shared>,
    key: ObjKey,
    name: Option<String>,
    mut rx: mpsc::Receiver<Msg>,
    signal: Arc<Signal>,
) {
    let me = Address::object_by_id(key.0.clone(), key.1.clone());
    let mut open: Option<Open> = None;
    let mut last_active = shared.now_ms();
    loop {
        let work = match rx.try_recv() {
            Ok(m) => Work::Msg(m),
            // The runtime dropped the mailbox: it is shutting down.
            Err(mpsc::error::TryRecvError::Disconnected) => return,
            Err(mpsc::error::TryRecvError::Empty) => {
                if signal.alarm.swap(false, Ordering::SeqCst) {
                    Work::Alarm
                } else if signal.evict.swap(false, Ordering::SeqCst) && open.is_some() {
                    // Another object needs the slot (see `Shared::acquire_open`).
                    open = None;
                    continue;
                } else if open.is_none() {
                    if shared.retire(&key, &signal, &rx) {
                        return;
                    }
                    continue;
                } else {
                    match idle_wait(&shared, &me, &mut rx, &signal, last_active).await {
                        Idle::Msg(m) => Work::Msg(m),
                        Idle::Wake => continue,
                        Idle::Close => {
                            open = None;
                            continue;
                        }
                        Idle::Shutdown => return,
                    }
                }
            }
        };
        // Idle past the timeout by the runtime's clock: hibernate before this turn, so that
        // whether the instance is rebuilt depends on the clock, never on a race with the idle
        // timer.
        if open.is_some() && shared.idle_expired(last_active) && !shared.is_awake(&me) {
            open = None;
        }
        if open.is_none() {
            let slot = shared.acquire_open().await;
            match ObjectHost::open(shared.clone(), key.clone(), name.clone()) {
                Ok(host) => {
                    shared.open_count.fetch_add(1, Ordering::SeqCst);
                    open = Some(Open {
                        host,
                        _slot: slot,
                        count: shared.clone(),
                    });
                }
                Err(e) => {
                    drop(slot);
                    let err = RuntimeError::Storage(format!(
                        "cannot open object {}/{}: {e}",
                        key.0, key.1
                    ));
                    tracing::error!(binding = %key.0, id = %key.1, error = %err, "cannot open object");
                    shared.count(Kind::OpenFailure);
                    match work {
                        Work::Msg(m) => super::refuse(&shared, &me, m, err),
                        // The timer entry was consumed when it fired: try again later.
                        Work::Alarm => shared.timer_arm_by(&key, shared.now_ms() + OPEN_RETRY_MS),
                    }
                    shared.work_end();
                    continue;
                }
            }
        }
        // Idle time counts from when the last work was picked up: read before the work can
        // answer anyone, so a caller that moves a manual clock after its answer always moves
        // it past this point.
        last_active = shared.now_ms();
        if let Some(o) = open.as_mut() {
            match work {
                Work::Msg(m) => o.host.handle(m),
                Work::Alarm => o.host.handle(Msg::Alarm),
            }
        }
        shared.work_end();
    }
}

enum Idle {
    Msg(Msg),
    /// A signal arrived (an alarm, or a request to close): look again.
    Wake,
    /// Idle long enough, or asked to make room: close.
    Close,
    Shutdown,
}

/// Waits, with the object open and nothing to do, for a message, a signal or the idle
/// timeout. While it waits the object is in the idle set (the first to close when a slot is
/// needed); when tasks already wait for a slot it closes at once.
async fn idle_wait(
    shared: &Arc<Shared>,
    me: &Address,
    rx: &mut mpsc::Receiver<Msg>,
    signal: &Arc<Signal>,
    last_active: i64,
) -> Idle {
    // An object held awake (awaiting I/O) is not hibernateable.
    let hibernates = shared.hibernates() && !shared.is_awake(me);
    let seq = if hibernates {
        match shared.idle_enter(signal) {
            Some(seq) => Some(seq),
            None => return Idle::Close,
        }
    } else {
        None
    };
    let deadline = shared
        .limits
        .idle_ms
        .filter(|_| hibernates)
        .map(|ms| last_active.saturating_add(ms));
    let idle_timer = async {
        match deadline {
            Some(at) => shared.sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let out = tokio::select! {
        m = rx.recv() => match m {
            Some(m) => Idle::Msg(m),
            None => Idle::Shutdown,
        },
        _ = signal.notify.notified() => Idle::Wake,
        _ = idle_timer => Idle::Close,
    };
    if let Some(seq) = seq {
        shared.idle_leave(seq);
    }
    out
}

impl ObjectHost {
    fn open(
        shared: Arc<Shared>,
        key: ObjKey,
        name: Option<String>,
    ) -> Result<ObjectHost, StorageError> {
        let storage = match &shared.data_dir {
            Some(dir) => {
                let path = db_path(dir, &key.0, &key.1)?;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StorageError::new(e.to_string(), format!("mkdir {}", parent.display()))
                    })?;
                }
                SqliteStorage::open(&path)?
            }
            None => SqliteStorage::in_memory()?,
        };
        // One transaction for the whole setup: objects reopen often (hibernation), and one
        // commit costs far less than one per statement.
        storage.begin()?;
        let setup = (|| {
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
            Ok((stored_name, slot))
        })();
        let (stored_name, slot) = match setup.and_then(|out| storage.commit().map(|()| out)) {
            Ok(out) => out,
            Err(e) => {
                let _ = storage.rollback();
                return Err(e);
            }
        };
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

#[cfg(test)]
mod tests {
    use super::db_path;
    use std::path::Path;

    #[test]
    fn db_path_refuses_anything_that_could_leave_the_data_dir() {
        let dir = Path::new("/data");
        let good = crate::transport::id_from_name("P", "x");
        assert_eq!(
            db_path(dir, "P", &good).unwrap(),
            dir.join("P").join(format!("{good}.sqlite"))
        );
        let long = "a".repeat(129);
        for binding in ["", "..", ".", "a/b", "/abs", "a\0b", "é", long.as_str()] {
            assert!(db_path(dir, binding, &good).is_err(), "{binding:?}");
        }
        for id in [
            "",
            "..",
            "../../etc/passwd",
            "/etc/passwd",
            "a\0b",
            &good[..63],
            &format!("{good}0"),
            &good.to_uppercase(),
            &format!("{}/", &good[..63]),
        ] {
            let err = db_path(dir, "P", id).unwrap_err();
            assert!(err.to_string().contains("refused object path"), "{err}");
        }
    }
}
