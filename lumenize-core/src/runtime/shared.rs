//! The state every task of a runtime shares: registrations, live mailboxes, the alarm timer,
//! in-flight tracking, latency injection, accounting. Also the [`Transport`] implementation.

use super::accounting::Accounting;
use super::counters::{CounterCells, Kind};
use super::host::{self, ObjKey};
use super::worker;
use super::{Msg, ObjectFactory, WorkerFactory};
use crate::clock::{Clock, ManualClock};
use crate::transport::{Address, Delivery, Outgoing, Transport};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// The pseudo-binding of callers outside the runtime (stubs).
pub(crate) const OUTSIDE: &str = "__outside";

pub(crate) struct ObjectType {
    pub factory: ObjectFactory,
}

pub(crate) struct WorkerType {
    pub factory: WorkerFactory,
    pub rpc_only: bool,
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
    pub live: Mutex<HashMap<ObjKey, mpsc::UnboundedSender<Msg>>>,
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
            self.send_object(&key, None, Msg::Alarm);
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
    /// the hop's injected latency.
    pub fn send_outgoing(self: &Arc<Self>, msg: Outgoing) {
        let from = msg.from.clone();
        let to = msg.to.clone();
        let m = Msg::Call {
            chain: msg.chain,
            reply: match msg.reply {
                Some(r) => super::Reply::Continuation(r),
                None => super::Reply::None,
            },
        };
        self.route(&from, &to, m);
    }

    /// Sends the outcome of a call back to the caller's continuation.
    pub fn send_delivery(self: &Arc<Self>, from: &Address, d: Delivery) {
        let to = d.to.clone();
        let m = Msg::Deliver {
            continuation: d.continuation,
            outcome: d.outcome,
        };
        self.route(from, &to, m);
    }

    /// Routes `m` from `from` to `to`, through the latency delay when one is configured.
    pub fn route(self: &Arc<Self>, from: &Address, to: &Address, m: Msg) {
        // Calls from outside the runtime (stubs) are not anyone's usage.
        let accounted = from.binding() != OUTSIDE;
        if accounted {
            self.account(from, |a| a.totals.messages_sent += 1);
        }
        let delay = self.hop_latency(from, to);
        if delay.is_zero() {
            self.deliver_now(to, m);
            return;
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
            me.deliver_now(&to, m);
            me.work_end();
        });
    }

    pub fn deliver_now(self: &Arc<Self>, to: &Address, m: Msg) {
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
    pub fn send_object(self: &Arc<Self>, key: &ObjKey, name: Option<String>, m: Msg) {
        if self.closing.load(Ordering::SeqCst) {
            // Shutting down: messages are lost, as in a crash (alarms are durable).
            return;
        }
        self.work_begin();
        let mut live = match self.live.lock() {
            Ok(l) => l,
            Err(_) => {
                self.work_end();
                return;
            }
        };
        let m = match live.get(key) {
            Some(tx) => match tx.send(m) {
                Ok(()) => return,
                Err(mpsc::error::SendError(m)) => m, // the task ended; start a new one
            },
            None => m,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(m);
        live.insert(key.clone(), tx);
        drop(live);
        let me = self.clone();
        let key = key.clone();
        self.handle
            .spawn(async move { host::object_task(me, key, name, rx).await });
    }

    pub fn knows_address(&self, to: &Address) -> bool {
        match to {
            Address::Object { binding, id, .. } => {
                self.objects.contains_key(binding) && crate::transport::is_object_id(id)
            }
            Address::Worker { binding } => self.workers.get(binding).is_some_and(|w| !w.rpc_only),
            Address::RpcTarget { binding } => self.workers.get(binding).is_some_and(|w| w.rpc_only),
        }
    }
}

impl Transport for Arc<Shared> {
    fn knows(&self, to: &Address) -> bool {
        self.knows_address(to)
    }
}
