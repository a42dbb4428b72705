//! The state every task of a runtime shares: registrations, live mailboxes, the alarm timer's
//! table, open-object slots and the idle set (hibernation), in-flight tracking, latency
//! settings, accounting. Also the [`Transport`] implementation. Moving messages is the
//! router's (`routing.rs`); this holds only state and its bookkeeping.

use super::accounting::{Account, Accounts};
use super::counters::{CounterCells, Kind};
use super::failures::{FailureKind, FailureLog, ScheduleFate};
use super::protocol::{Msg, ObjKey, RuntimeError};
use crate::alarms::fire::FailureOutcome;
use crate::clock::{Clock, ManualClock};
use crate::context::Ctx;
use crate::ocan::Dispatch;
use crate::transport::{is_object_id, shown_id, Address, Transport};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

/// The pseudo-binding of callers outside the runtime (stubs).
pub(crate) const OUTSIDE: &str = "__outside";

/// Builds an object instance (runs inside the object's first turn, so it may read storage).
pub type ObjectFactory = Arc<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch + Send> + Send + Sync>;
/// Builds a worker or RPC-target instance (one per message).
pub type WorkerFactory = Arc<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch + Send> + Send + Sync>;

pub(crate) struct ObjectType {
    pub factory: ObjectFactory,
}

pub(crate) struct WorkerType {
    pub factory: WorkerFactory,
    pub rpc_only: bool,
    /// Messages of this binding accepted and not yet handled (bounded by `Limits::mailbox`).
    pub inflight: AtomicUsize,
}

/// The bounds of a runtime (see the builder's methods for their meaning and defaults).
pub(crate) struct Limits {
    /// Messages an object's mailbox holds, and messages a worker binding has in flight.
    pub mailbox: usize,
    /// Objects with an open database at once (only with a data directory).
    pub max_open: usize,
    /// Idle time after which an object closes, in runtime-clock ms (`None`: never).
    pub idle_ms: Option<i64>,
}

impl Limits {
    /// The size of an object's channel: the mailbox and the replies' reserve.
    pub fn channel(&self) -> usize {
        self.mailbox.saturating_mul(2)
    }

    /// How many messages may be waiting (or, for workers, in flight) for `m` to be taken:
    /// the capacity for requests, twice that for replies (continuation deliveries and
    /// resumed invocations, which answer calls the target itself made).
    pub fn bound_for(&self, m: &Msg) -> usize {
        match m {
            Msg::Deliver { .. } | Msg::Resume { .. } => self.channel(),
            _ => self.mailbox,
        }
    }
}

/// Whether `binding` may name a binding: it becomes a directory name, so 1 to 128 ASCII
/// letters, digits, `_` or `-` (no separator, dot, NUL or anything else).
pub(crate) fn valid_binding(binding: &str) -> bool {
    !binding.is_empty()
        && binding.len() <= super::MAX_BINDING_LEN
        && binding
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// How long an alarm whose object could not be opened waits before it is tried again.
pub(crate) const OPEN_RETRY_MS: i64 = 1_000;

/// What the runtime tells an object's task besides its mailbox. An alarm is a flag, not a
/// message, so a full mailbox can never refuse (and so lose) an alarm.
#[derive(Default)]
pub(crate) struct Signal {
    pub alarm: AtomicBool,
    pub evict: AtomicBool,
    pub notify: Notify,
}

/// The live task of an object: its bounded mailbox and its signal.
pub(crate) struct Mailbox {
    pub tx: mpsc::Sender<Msg>,
    pub signal: Arc<Signal>,
}

/// Open objects that are idle, least recently used first, and how many closes tasks waiting
/// for an open slot asked for when no object was idle. One lock for both, so that an object
/// going idle and a task starting to wait cannot miss each other.
#[derive(Default)]
pub(crate) struct IdleSet {
    next: u64,
    lru: BTreeMap<u64, Arc<Signal>>,
    wanted: usize,
}

/// Latency added to hops: a default, and overrides per (from binding, to binding).
#[derive(Default)]
pub(crate) struct Latency {
    pub default: Duration,
    pub pairs: HashMap<(String, String), Duration>,
}

#[derive(Default)]
pub(crate) struct TimerInner {
    by_time: BTreeSet<(i64, ObjKey)>,
    by_key: HashMap<ObjKey, i64>,
}

pub(crate) struct Shared {
    pub objects: HashMap<String, ObjectType>,
    pub workers: HashMap<String, WorkerType>,
    pub data_dir: Option<PathBuf>,
    pub clock: Arc<dyn Clock>,
    pub manual: Option<Arc<ManualClock>>,
    pub handle: tokio::runtime::Handle,
    pub live: Mutex<HashMap<ObjKey, Mailbox>>,
    pub limits: Limits,
    /// Permits to hold an object's database open (`None`: in memory, objects never close).
    pub open_slots: Option<Arc<Semaphore>>,
    pub idle_set: Mutex<IdleSet>,
    /// Objects whose database is open now.
    pub open_count: AtomicUsize,
    pub timer: Mutex<TimerInner>,
    pub timer_notify: Notify,
    pub clock_notify: Notify,
    pub inflight: Mutex<u64>,
    pub idle: Condvar,
    pub latency: RwLock<Latency>,
    pub accounts: Accounts,
    pub counters: CounterCells,
    pub failures: FailureLog,
    pub closing: AtomicBool,
}

impl Shared {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Counts one diagnostic event (the caller emits its `tracing` event).
    pub fn count(&self, kind: Kind) {
        self.counters.add(kind, 1);
    }

    /// Counts a failure nobody waits for and keeps it for [`super::Runtime::failures`] (the
    /// caller emits its `tracing` event).
    pub fn fail(&self, kind: FailureKind, address: &Address, error: String) {
        self.count(match kind {
            FailureKind::UnansweredCall => Kind::UnansweredFailure,
            FailureKind::Continuation => Kind::FailedContinuation,
            FailureKind::ResumedWork => Kind::FailedResume,
            FailureKind::Schedule => Kind::FailedSchedule,
        });
        self.failures
            .record(kind, address, None, error, self.now_ms());
    }

    /// [`fail`](Self::fail) for a fired schedule, with what recording its failure did.
    pub fn fail_schedule(
        &self,
        address: &Address,
        id: &str,
        error: &str,
        recorded: Option<&FailureOutcome>,
    ) {
        self.count(Kind::FailedSchedule);
        let schedule = Some((id.to_string(), ScheduleFate::of(recorded)));
        self.failures.record(
            FailureKind::Schedule,
            address,
            schedule,
            error.to_string(),
            self.now_ms(),
        );
    }

    // ---- in-flight work (for `settle`) ------------------------------------------------------

    pub fn work_begin(&self) {
        if let Ok(mut n) = self.inflight.lock() {
            *n += 1;
        }
    }

    pub fn work_end(&self) {
        if let Ok(mut n) = self.inflight.lock() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.idle.notify_all();
            }
        }
    }

    // ---- accounting -------------------------------------------------------------------------

    pub fn account(&self, who: &Address, f: impl FnOnce(&mut Account)) {
        self.accounts.charge(who, f);
    }

    pub fn awake_enter(&self, who: &Address) {
        self.accounts.awake_enter(who);
    }

    pub fn awake_exit(&self, who: &Address) {
        self.accounts.awake_exit(who);
    }

    // ---- the alarm timer --------------------------------------------------------------------

    /// Arms (or disarms) the timer entry of one object.
    pub fn timer_set(&self, key: &ObjKey, at: Option<i64>) {
        if let Ok(mut t) = self.timer.lock() {
            if let Some(old) = t.by_key.remove(key) {
                t.by_time.remove(&(old, key.clone()));
            }
            if let Some(at) = at {
                t.by_key.insert(key.clone(), at);
                t.by_time.insert((at, key.clone()));
            }
        }
        self.timer_notify.notify_one();
    }

    /// Arms the timer entry of one object at `at`, unless it is already armed earlier.
    pub fn timer_arm_by(&self, key: &ObjKey, at: i64) {
        let earlier = self
            .timer
            .lock()
            .ok()
            .and_then(|t| t.by_key.get(key).copied())
            .is_some_and(|old| old <= at);
        if !earlier {
            self.timer_set(key, Some(at));
        }
    }

    /// Waits until the runtime clock reaches `at` (used for injected latency).
    pub async fn sleep_until(&self, at: i64) {
        loop {
            let notified = self.clock_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.now_ms();
            if now >= at {
                return;
            }
            match self.manual {
                Some(_) => notified.await,
                None => tokio::time::sleep(Duration::from_millis((at - now) as u64)).await,
            }
        }
    }

    /// Pops every due timer entry. Returns their objects and the next pending time. Each
    /// popped entry counts as in-flight work from inside the timer's lock (the caller ends it
    /// once the alarm is handed over): otherwise `settle` could look between the pop and the
    /// hand-over, see no entry and no work, and return before the alarm ran.
    pub fn pop_due(&self) -> (Vec<ObjKey>, Option<i64>) {
        let now = self.now_ms();
        let mut due = Vec::new();
        let next = match self.timer.lock() {
            Ok(mut t) => {
                while let Some((at, key)) = t.by_time.first().cloned() {
                    if at > now {
                        break;
                    }
                    t.by_time.remove(&(at, key.clone()));
                    t.by_key.remove(&key);
                    self.work_begin();
                    due.push(key);
                }
                t.by_time.first().map(|(at, _)| *at)
            }
            Err(_) => None,
        };
        (due, next)
    }

    /// The latency of a hop from `from` to `to`.
    pub fn hop_latency(&self, from: &Address, to: &Address) -> Duration {
        match self.latency.read() {
            Ok(l) => l
                .pairs
                .get(&(from.binding().to_string(), to.binding().to_string()))
                .copied()
                .unwrap_or(l.default),
            Err(_) => Duration::ZERO,
        }
    }

    /// Ends the task of an object that is closed and has nothing to do: removes its mailbox
    /// unless a message or an alarm arrived meanwhile (checked under the lock senders take,
    /// so nothing can slip in between). Returns whether the task may end.
    pub fn retire(&self, key: &ObjKey, signal: &Arc<Signal>, rx: &mpsc::Receiver<Msg>) -> bool {
        let Ok(mut live) = self.live.lock() else {
            return true;
        };
        if !rx.is_empty() || signal.alarm.load(Ordering::SeqCst) {
            return false;
        }
        if live
            .get(key)
            .is_some_and(|mb| Arc::ptr_eq(&mb.signal, signal))
        {
            live.remove(key);
        }
        true
    }

    /// Why `to` cannot receive messages, if it cannot: an unregistered binding, or an object
    /// id that is not one this runtime issues (an id becomes a file name).
    pub fn check_address(&self, to: &Address) -> Result<(), RuntimeError> {
        match to {
            Address::Object { binding, id, .. } => {
                if !self.objects.contains_key(binding) {
                    Err(RuntimeError::UnknownTarget(to.clone()))
                } else if !is_object_id(id) {
                    Err(RuntimeError::InvalidObjectId {
                        binding: binding.clone(),
                        id: shown_id(id),
                    })
                } else {
                    Ok(())
                }
            }
            _ if self.knows_address(to) => Ok(()),
            _ => Err(RuntimeError::UnknownTarget(to.clone())),
        }
    }

    pub fn knows_address(&self, to: &Address) -> bool {
        match to {
            Address::Object { binding, id, .. } => {
                self.objects.contains_key(binding) && is_object_id(id)
            }
            Address::Worker { binding } => self.workers.get(binding).is_some_and(|w| !w.rpc_only),
            Address::RpcTarget { binding } => self.workers.get(binding).is_some_and(|w| w.rpc_only),
        }
    }

    // ---- open objects and hibernation -------------------------------------------------------

    /// Whether objects close when idle: only with a data directory (in memory, closing would
    /// lose the state).
    pub fn hibernates(&self) -> bool {
        self.data_dir.is_some()
    }

    /// Whether `who` is held awake (a turn, or an [`super::AwakeGuard`]): such an object is
    /// not hibernateable, as on Cloudflare while it awaits I/O.
    pub fn is_awake(&self, who: &Address) -> bool {
        self.accounts.is_awake(who)
    }

    /// Makes an object's task look at its state again (e.g. it was held awake and no longer
    /// is: now it may hibernate, or give its slot to a waiting object).
    pub fn wake_object(&self, who: &Address) {
        if let Address::Object { binding, id, .. } = who {
            if let Ok(live) = self.live.lock() {
                if let Some(mb) = live.get(&(binding.clone(), id.clone())) {
                    mb.signal.notify.notify_one();
                }
            }
        }
    }

    /// Whether an object last active at `last_active` has been idle long enough to close.
    pub fn idle_expired(&self, last_active: i64) -> bool {
        self.hibernates()
            && self
                .limits
                .idle_ms
                .is_some_and(|ms| self.now_ms().saturating_sub(last_active) >= ms)
    }

    /// Records an open object as idle. `None` when a task waiting for an open slot asked for
    /// a close: the object should close at once instead.
    pub fn idle_enter(&self, signal: &Arc<Signal>) -> Option<u64> {
        let mut set = self.idle_set.lock().ok()?;
        if set.wanted > 0 {
            set.wanted -= 1;
            return None;
        }
        let seq = set.next;
        set.next += 1;
        set.lru.insert(seq, signal.clone());
        Some(seq)
    }

    /// The object recorded as `seq` is no longer idle.
    pub fn idle_leave(&self, seq: u64) {
        if let Ok(mut set) = self.idle_set.lock() {
            set.lru.remove(&seq);
        }
    }

    /// A slot to hold a database open: at once when one is free; otherwise asks for one close
    /// — the least recently used idle object, or when none is idle the next object to go
    /// idle — and waits. Every waiter asks for one close and every close frees a slot, and
    /// tokio's semaphore hands freed slots to waiters first, so waiting always ends (once the
    /// busy objects finish their queued messages). `None` when objects are not limited (in
    /// memory).
    pub async fn acquire_open(&self) -> Option<OwnedSemaphorePermit> {
        let slots = self.open_slots.as_ref()?;
        if let Ok(p) = slots.clone().try_acquire_owned() {
            return Some(p);
        }
        if let Ok(mut set) = self.idle_set.lock() {
            match set.lru.pop_first() {
                Some((_, victim)) => {
                    victim.evict.store(true, Ordering::SeqCst);
                    victim.notify.notify_one();
                }
                None => set.wanted += 1,
            }
        }
        slots.clone().acquire_owned().await.ok()
    }
}

impl Transport for Arc<Shared> {
    fn knows(&self, to: &Address) -> bool {
        self.knows_address(to)
    }
}
