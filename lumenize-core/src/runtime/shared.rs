//! The state every task of a runtime shares: registrations, live mailboxes, the alarm timer,
//! open-object slots and the idle set (hibernation), in-flight tracking, latency injection,
//! accounting. Also the [`Transport`] implementation.

use super::accounting::Accounting;
use super::counters::{CounterCells, Kind};
use super::host::{self, ObjKey};
use super::worker;
use super::{Msg, ObjectFactory, RuntimeError, WorkerFactory};
use crate::clock::{Clock, ManualClock};
use crate::transport::{is_object_id, shown_id, Address, Delivery, Outgoing, Transport};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

/// The pseudo-binding of callers outside the runtime (stubs).
pub(crate) const OUTSIDE: &str = "__outside";

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

/// How long an alarm whose object could not be opened waits before it is tried again.
pub(crate) const OPEN_RETRY_MS: i64 = 1_000;

/// A message the runtime did not take, with the reason (the caller answers it).
pub(crate) struct Refused {
    pub msg: Msg,
    pub err: RuntimeError,
}

impl Refused {
    /// Boxed: refusals are rare, and the happy path should not carry their size.
    pub fn new(msg: Msg, err: RuntimeError) -> Box<Refused> {
        Box::new(Refused { msg, err })
    }
}

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
    tx: mpsc::Sender<Msg>,
    signal: Arc<Signal>,
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

/// Awake-time bookkeeping of one address: the union of overlapping awake intervals.
#[derive(Default)]
pub(crate) struct AwakeState {
    depth: u32,
    since: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct Account {
    pub totals: Accounting,
    pub awake: AwakeState,
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
    pub accounts: Mutex<HashMap<Address, Account>>,
    pub counters: CounterCells,
    pub closing: AtomicBool,
}

/// The accounting key of an address: objects by binding and id (the name is dropped).
pub(crate) fn account_key(a: &Address) -> Address {
    match a {
        Address::Object { binding, id, .. } => Address::object_by_id(binding.clone(), id.clone()),
        other => other.clone(),
    }
}

impl Shared {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Counts one diagnostic event (the caller emits its `tracing` event).
    pub fn count(&self, kind: Kind) {
        self.counters.add(kind, 1);
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
        if let Ok(mut map) = self.accounts.lock() {
            f(map.entry(account_key(who)).or_default());
        }
    }

    pub fn awake_enter(&self, who: &Address) {
        self.account(who, |a| {
            if a.awake.depth == 0 {
                a.awake.since = Some(Instant::now());
            }
            a.awake.depth += 1;
        });
    }

    pub fn awake_exit(&self, who: &Address) {
        self.account(who, |a| {
            a.awake.depth = a.awake.depth.saturating_sub(1);
            if a.awake.depth == 0 {
                if let Some(since) = a.awake.since.take() {
                    a.totals.awake += since.elapsed();
                }
            }
        });
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

    /// Pops every due entry and sends each object an alarm. Returns how many fired and the
    /// next pending time.
    pub fn fire_due(self: &Arc<Self>) -> (usize, Option<i64>) {
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
                    due.push(key);
                }
                t.by_time.first().map(|(at, _)| *at)
            }
            Err(_) => None,
        };
        let n = due.len();
        for key in due {
            // Never refused for a full mailbox; only at shutdown (alarms are durable).
            let _ = self.send_object(&key, None, Msg::Alarm);
        }
        (n, next)
    }

    /// The timer task: fires due alarms, then sleeps until the next one or a change.
    pub async fn timer_loop(self: Arc<Self>) {
        loop {
            if self.closing.load(Ordering::SeqCst) {
                return;
            }
            let notified = self.timer_notify.notified();
            let (_, next) = self.fire_due();
            match (&self.manual, next) {
                // A manual clock wakes the timer through `timer_notify` when it moves.
                (Some(_), _) | (None, None) => notified.await,
                (None, Some(at)) => {
                    let wait = (at - self.now_ms()).max(0) as u64;
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                    }
                }
            }
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

    // ---- routing ----------------------------------------------------------------------------

    fn hop_latency(&self, from: &Address, to: &Address) -> Duration {
        match self.latency.read() {
            Ok(l) => l
                .pairs
                .get(&(from.binding().to_string(), to.binding().to_string()))
                .copied()
                .unwrap_or(l.default),
            Err(_) => Duration::ZERO,
        }
    }

    /// Sends a message produced by a committed turn (or by async work after one), applying
    /// the hop's injected latency. A message whose reply address is not a known address is
    /// dropped (its reply could never be delivered, and an unchecked address must not reach
    /// storage); one the target refuses is answered with the reason (see [`super::refuse`]).
    pub fn send_outgoing(self: &Arc<Self>, msg: Outgoing) {
        if let Err(r) = self.route_outgoing(msg) {
            super::refuse(self, &r.1, r.0.msg, r.0.err);
        }
    }

    /// [`Shared::send_outgoing`] that hands a refusal back to the caller (with the target).
    pub fn route_outgoing(self: &Arc<Self>, msg: Outgoing) -> Result<(), (Box<Refused>, Address)> {
        let from = msg.from.clone();
        let to = msg.to.clone();
        if let Some(r) = &msg.reply {
            if let Err(err) = self.check_address(&r.to) {
                tracing::warn!(
                    address = %from, to = %to, error = %err,
                    "message dropped: its reply address is unusable"
                );
                self.count(Kind::DroppedMessage);
                return Ok(());
            }
        }
        let m = Msg::Call {
            chain: msg.chain,
            reply: match msg.reply {
                Some(r) => super::Reply::Continuation(r),
                None => super::Reply::None,
            },
        };
        self.route(&from, &to, m).map_err(|r| (r, to))
    }

    /// Sends the outcome of a call back to the caller's continuation.
    pub fn send_delivery(self: &Arc<Self>, from: &Address, d: Delivery) {
        let to = d.to.clone();
        if let Err(r) = self.route_delivery(from, d) {
            super::refuse(self, &to, r.msg, r.err);
        }
    }

    /// [`Shared::send_delivery`] that hands a refusal back to the caller.
    pub fn route_delivery(
        self: &Arc<Self>,
        from: &Address,
        d: Delivery,
    ) -> Result<(), Box<Refused>> {
        let to = d.to.clone();
        let m = Msg::Deliver {
            continuation: d.continuation,
            outcome: d.outcome,
        };
        self.route(from, &to, m)
    }

    /// Routes `m` from `from` to `to`, through the latency delay when one is configured. The
    /// address is checked at once; a delayed message refused on arrival is answered then.
    pub fn route(
        self: &Arc<Self>,
        from: &Address,
        to: &Address,
        m: Msg,
    ) -> Result<(), Box<Refused>> {
        if let Err(err) = self.check_address(to) {
            return Err(Refused::new(m, err));
        }
        // Calls from outside the runtime (stubs) are not anyone's usage.
        let accounted = from.binding() != OUTSIDE;
        if accounted {
            self.account(from, |a| a.totals.messages_sent += 1);
        }
        let delay = self.hop_latency(from, to);
        if delay.is_zero() {
            return self.deliver_now(to, m);
        }
        if accounted {
            self.account(from, |a| a.totals.injected_latency += delay);
        }
        self.work_begin();
        // A manual clock counts whole ms (a partial ms rounds up); the system clock waits the
        // exact Duration from now (tokio's timer then fires on its next 1 ms tick).
        let at_ms = self.now_ms() + delay.as_nanos().div_ceil(1_000_000) as i64;
        let deadline = tokio::time::Instant::now() + delay;
        let me = self.clone();
        let to = to.clone();
        self.handle.spawn(async move {
            match me.manual {
                Some(_) => me.sleep_until(at_ms).await,
                None => tokio::time::sleep_until(deadline).await,
            }
            if let Err(r) = me.deliver_now(&to, m) {
                super::refuse(&me, &to, r.msg, r.err);
            }
            me.work_end();
        });
        Ok(())
    }

    /// Hands `m` to `to` now: an object's mailbox, or a new worker turn.
    pub fn deliver_now(self: &Arc<Self>, to: &Address, m: Msg) -> Result<(), Box<Refused>> {
        if let Err(err) = self.check_address(to) {
            return Err(Refused::new(m, err));
        }
        match to {
            Address::Object { binding, id, name } => {
                self.send_object(&(binding.clone(), id.clone()), name.clone(), m)
            }
            Address::Worker { .. } | Address::RpcTarget { .. } => {
                worker::spawn_turn(self.clone(), to.clone(), m)
            }
        }
    }

    /// Puts `m` in an object's mailbox, starting the object's task if it is not live.
    /// Refuses when the mailbox is full ([`RuntimeError::Overloaded`]); an alarm is a flag
    /// and is never refused.
    pub fn send_object(
        self: &Arc<Self>,
        key: &ObjKey,
        name: Option<String>,
        m: Msg,
    ) -> Result<(), Box<Refused>> {
        let address = || Address::Object {
            binding: key.0.clone(),
            id: key.1.clone(),
            name: name.clone(),
        };
        if let Err(err) = self.check_address(&address()) {
            return Err(Refused::new(m, err));
        }
        if self.closing.load(Ordering::SeqCst) {
            // Shutting down: messages are lost, as in a crash (alarms are durable).
            return Err(Refused::new(m, RuntimeError::Closed));
        }
        let mut live = match self.live.lock() {
            Ok(l) => l,
            Err(_) => return Err(Refused::new(m, RuntimeError::Closed)),
        };
        // Counted before the task can see the message, so its `work_end` never comes first.
        self.work_begin();
        let m = match live.get(key) {
            Some(mb) => {
                if let Msg::Alarm = m {
                    if mb.signal.alarm.swap(true, Ordering::SeqCst) {
                        self.work_end(); // already pending: one alarm run covers both
                    }
                    mb.signal.notify.notify_one();
                    return Ok(());
                }
                // Requests fill the mailbox up to its capacity; replies may use a reserve of
                // as much again, so a flood of requests cannot make an object lose the
                // answers to its own calls.
                let queued = self.limits.channel().saturating_sub(mb.tx.capacity());
                let bound = self.limits.bound_for(&m);
                if queued >= bound {
                    self.work_end();
                    return Err(Refused::new(
                        m,
                        RuntimeError::Overloaded {
                            to: address(),
                            capacity: bound,
                        },
                    ));
                }
                match mb.tx.try_send(m) {
                    Ok(()) => return Ok(()),
                    Err(mpsc::error::TrySendError::Full(m)) => {
                        self.work_end();
                        return Err(Refused::new(
                            m,
                            RuntimeError::Overloaded {
                                to: address(),
                                capacity: self.limits.channel(),
                            },
                        ));
                    }
                    // The task ended without retiring (it panicked): start a new one.
                    Err(mpsc::error::TrySendError::Closed(m)) => m,
                }
            }
            None => m,
        };
        let (tx, rx) = mpsc::channel(self.limits.channel());
        let signal = Arc::new(Signal::default());
        match m {
            Msg::Alarm => signal.alarm.store(true, Ordering::SeqCst),
            m => {
                // A new channel has room for one message.
                let _ = tx.try_send(m);
            }
        }
        live.insert(
            key.clone(),
            Mailbox {
                tx,
                signal: signal.clone(),
            },
        );
        drop(live);
        let me = self.clone();
        let key = key.clone();
        self.handle
            .spawn(async move { host::object_task(me, key, name, rx, signal).await });
        Ok(())
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
        self.accounts
            .lock()
            .ok()
            .and_then(|m| m.get(&account_key(who)).map(|a| a.awake.depth > 0))
            .unwrap_or(false)
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
