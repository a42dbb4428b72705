//! One object's host: its SQLite storage, alarm slot, user instance and mailbox loop. Every
//! message is one or more *turns*. Calls, continuations and resumed work already queued
//! when the task picks one up run together as a group (one transaction, a savepoint each:
//! see [`TurnEngine::group`]); alarms, triggers and `run` closures are one turn each.

use super::accounting::thread_cpu;
use super::counters::Kind;
use super::ext::NativeExt;
use super::failures::FailureKind;
use super::protocol::{KeepAwake, Msg, ObjKey, Reply, Router, RuntimeError};
use super::shared::{valid_binding, Shared, Signal, OPEN_RETRY_MS};
use crate::context::Ctx;
use crate::ocan::{ChainError, Dispatch};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::StorageError;
use crate::transport::{is_object_id, shown_id, Address};
use crate::turn::{AlarmRun, Message, Outputs, Turn, TurnEngine, TurnEnv};
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

/// The factory of a native object, as the engine sees it.
pub(crate) type NativeFactory = Box<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch + Send> + Send>;

/// One open object: its turn engine (storage, alarm slot, instance) and the runtime.
pub(crate) struct ObjectHost {
    shared: Arc<Shared>,
    key: ObjKey,
    engine: TurnEngine<SqliteStorage, NativeFactory>,
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
    if !valid_binding(binding) || !is_object_id(id) {
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
    // A message taken while draining a group that could not join it: the next work.
    let mut pending: Option<Msg> = None;
    loop {
        let next = match pending.take() {
            Some(m) => Ok(m),
            None => rx.try_recv(),
        };
        let work = match next {
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
                        Work::Msg(m) => shared.refuse(&me, m, err),
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
        let Some(o) = open.as_mut() else {
            shared.work_end();
            continue;
        };
        match work {
            Work::Msg(m) if groupable(&m) => {
                // Group commit: what is already queued joins this message's transaction.
                let mut group = vec![m];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(m) if groupable(&m) => group.push(m),
                        Ok(m) => {
                            pending = Some(m);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let n = group.len();
                o.host.handle_group(group);
                for _ in 0..n {
                    shared.work_end();
                }
            }
            Work::Msg(m) => {
                o.host.handle(m);
                shared.work_end();
            }
            Work::Alarm => {
                o.host.handle(Msg::Alarm);
                shared.work_end();
            }
        }
    }
}

/// The most messages one transaction takes (group commit): bounds the time a group holds
/// its replies back, and what a failed commit fails.
const MAX_GROUP: usize = 64;

/// Messages that can share a transaction: calls, continuations and resumed work. Alarms,
/// test triggers and `Runtime::run` closures run alone.
fn groupable(m: &Msg) -> bool {
    matches!(
        m,
        Msg::Call { .. } | Msg::Deliver { .. } | Msg::Resume { .. }
    )
}

/// A grouped message's text (what the engine runs) and what to do with its result.
enum Member {
    Call(String, Reply),
    Deliver(String, Result<String, String>),
    Resume(String, Option<KeepAwake>),
}

impl Member {
    fn of(m: Msg) -> Result<Member, Msg> {
        match m {
            Msg::Call { chain, reply } => Ok(Member::Call(chain, reply)),
            Msg::Deliver {
                continuation,
                outcome,
            } => Ok(Member::Deliver(continuation, outcome)),
            Msg::Resume { chain, awake } => Ok(Member::Resume(chain, awake)),
            other => Err(other),
        }
    }

    fn into_msg(self) -> Msg {
        match self {
            Member::Call(chain, reply) => Msg::Call { chain, reply },
            Member::Deliver(continuation, outcome) => Msg::Deliver {
                continuation,
                outcome,
            },
            Member::Resume(chain, awake) => Msg::Resume { chain, awake },
        }
    }

    fn message(&self) -> Message<'_> {
        match self {
            Member::Call(chain, _) => Message::Call(chain),
            Member::Deliver(continuation, outcome) => Message::Deliver {
                continuation,
                outcome,
            },
            Member::Resume(chain, _) => Message::Resume(chain),
        }
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
        let factory = shared.objects.get(&key.0).map(|t| t.factory.clone());
        let factory = factory
            .ok_or_else(|| StorageError::new(format!("no object type {:?}", key.0), "open"))?;
        let factory: NativeFactory = Box::new(move |ctx| factory(ctx));
        // No timer update here: stored alarms were armed when the runtime started
        // (`rearm_stored`), and every later change goes through a committed turn.
        let engine = TurnEngine::open(storage, &key.0, &key.1, name.as_deref(), factory)?;
        Ok(ObjectHost {
            shared,
            key,
            engine,
        })
    }

    fn me(&self) -> &Address {
        self.engine.me()
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Call { chain, reply } => {
                self.count_request();
                let result = self.turn(|e, env| e.call(env, &chain));
                self.shared.reply(self.me(), reply, result);
            }
            Msg::Deliver {
                continuation,
                outcome,
            } => {
                self.count_request();
                let result = self.turn(|e, env| e.deliver(env, &continuation, &outcome));
                if let Err(e) = result {
                    tracing::warn!(address = %self.me(), error = %e, "continuation failed");
                    self.shared
                        .fail(FailureKind::Continuation, self.me(), e.to_string());
                }
            }
            Msg::Resume { chain, awake } => {
                // Not a request: the rest of the invocation that started the async work.
                let result = self.turn(|e, env| e.resume(env, &chain));
                if let Err(e) = result {
                    tracing::warn!(address = %self.me(), error = %e, "resumed work failed");
                    self.shared
                        .fail(FailureKind::ResumedWork, self.me(), e.to_string());
                }
                drop(awake);
            }
            Msg::Alarm => {
                self.count_request();
                self.run_alarms(|e, env| e.alarm(env));
            }
            Msg::Trigger { n, done } => {
                self.count_request();
                let fired = self.run_alarms(|e, env| e.trigger(env, n));
                let _ = done.send(Ok(fired));
            }
            Msg::Run { f, done } => {
                let out = RefCell::new(None);
                let result = self.turn(|e, env| {
                    e.turn(env, |obj, ctx| {
                        *out.borrow_mut() = Some(f(obj, ctx)?);
                        Ok(())
                    })
                });
                let _ = done.send(result.map_err(RuntimeError::Chain).and_then(|()| {
                    out.into_inner()
                        .ok_or(RuntimeError::Chain(ChainError::NoContext))
                }));
            }
        }
    }

    /// Several queued messages as one group (one transaction, a savepoint each); each
    /// message's outputs are released and its caller answered, in order, after the commit.
    fn handle_group(&mut self, group: Vec<Msg>) {
        let mut members = Vec::with_capacity(group.len());
        for m in group {
            match Member::of(m) {
                Ok(member) => members.push(member),
                Err(other) => self.handle(other),
            }
        }
        if members.len() == 1 {
            if let Some(m) = members.pop() {
                self.handle(m.into_msg());
            }
            return;
        }
        for m in &members {
            if !matches!(m, Member::Resume(..)) {
                self.count_request();
            }
        }
        let messages: Vec<Message<'_>> = members.iter().map(Member::message).collect();
        let turns = self.with_engine(|e, env| e.group(env, &messages));
        drop(messages);
        for (member, turn) in members.into_iter().zip(turns) {
            let (result, mut outputs) = turn.into_parts();
            self.release(&mut outputs);
            match member {
                Member::Call(_, reply) => {
                    let result = result.map(Option::unwrap_or_default);
                    self.shared.reply(self.me(), reply, result);
                }
                Member::Deliver(..) => {
                    if let Err(e) = result {
                        tracing::warn!(address = %self.me(), error = %e, "continuation failed");
                        self.shared
                            .fail(FailureKind::Continuation, self.me(), e.to_string());
                    }
                }
                Member::Resume(_, awake) => {
                    if let Err(e) = result {
                        tracing::warn!(address = %self.me(), error = %e, "resumed work failed");
                        self.shared
                            .fail(FailureKind::ResumedWork, self.me(), e.to_string());
                    }
                    drop(awake);
                }
            }
        }
    }

    fn count_request(&self) {
        self.shared.account(self.me(), |a| a.totals.requests += 1);
    }

    /// Runs the engine's alarm run `run` (one turn per schedule), counts its failures, sends
    /// its outbox and re-arms the timer entry (consumed when the alarm fired) with the run's
    /// alarm change: the slot, or after a storage fault a retry after a backoff.
    /// Returns the ids that ran.
    fn run_alarms(
        &mut self,
        run: impl FnOnce(&mut TurnEngine<SqliteStorage, NativeFactory>, &TurnEnv<'_>) -> AlarmRun,
    ) -> Vec<String> {
        let mut alarm_run = self.with_engine(run);
        for f in alarm_run.failures() {
            let recorded = f.recorded().as_ref().ok();
            self.shared
                .fail_schedule(self.me(), f.id(), f.error(), recorded);
        }
        if alarm_run.fault().is_some() {
            self.shared.count(Kind::AlarmFault);
        }
        self.release(alarm_run.outputs_mut());
        alarm_run.ran().to_vec()
    }

    /// One turn through the engine, with the accounting around it and its outputs released.
    fn turn<R>(
        &mut self,
        f: impl FnOnce(&mut TurnEngine<SqliteStorage, NativeFactory>, &TurnEnv<'_>) -> Turn<R>,
    ) -> Result<R, ChainError> {
        let mut turn = self.with_engine(f);
        self.release(turn.outputs_mut());
        turn.into_parts().0
    }

    /// Runs `f` with the engine and this runtime's environment, charging the CPU, awake time
    /// and rows of its turns.
    fn with_engine<T: EngineOutput>(
        &mut self,
        f: impl FnOnce(&mut TurnEngine<SqliteStorage, NativeFactory>, &TurnEnv<'_>) -> T,
    ) -> T {
        let shared = self.shared.clone();
        let me = self.engine.me().clone();
        shared.awake_enter(&me);
        let cpu0 = thread_cpu();
        let ext = NativeExt::new(shared.clone(), me.clone());
        let transport = shared.clone();
        let now = || shared.now_ms();
        let env = TurnEnv::new(&transport, &now).with_ext(&ext);
        let out = f(&mut self.engine, &env);
        let cpu = thread_cpu().saturating_sub(cpu0);
        shared.account(&me, |a| {
            a.totals.cpu += cpu;
            out.each(&mut |o| {
                a.totals.rows_read += o.rows().rows_read;
                a.totals.rows_written += o.rows().rows_written;
                a.totals.failed_turns += o.failed_turns();
            });
        });
        shared.awake_exit(&me);
        out
    }

    /// After commit: the timer takes the alarm change, the outbox is sent (the output gate).
    fn release(&self, out: &mut Outputs) {
        self.shared
            .counters
            .add(Kind::LateOutcome, out.late_outcomes());
        for _ in 0..out.alarm_faults() {
            self.shared.count(Kind::AlarmFault);
        }
        if let Some(change) = out.alarm_change() {
            self.shared.timer_set(&self.key, change);
        }
        for msg in out.take_outbox() {
            self.shared.send_outgoing(msg);
        }
        super::ext::start_effects(out.take_effects());
    }
}

/// What the engine returns: one turn, a group's turns or an alarm run, all carrying
/// [`Outputs`].
trait EngineOutput {
    fn each(&self, f: &mut dyn FnMut(&Outputs));
}

impl<R> EngineOutput for Turn<R> {
    fn each(&self, f: &mut dyn FnMut(&Outputs)) {
        f(self.outputs())
    }
}

impl<R> EngineOutput for Vec<Turn<R>> {
    fn each(&self, f: &mut dyn FnMut(&Outputs)) {
        for t in self {
            f(t.outputs())
        }
    }
}

impl EngineOutput for AlarmRun {
    fn each(&self, f: &mut dyn FnMut(&Outputs)) {
        f(self.outputs())
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
