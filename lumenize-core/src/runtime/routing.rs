//! The router: moves messages between the runtime's tasks. Routes calls and deliveries
//! (through the injected hop latency), hands them to an object's mailbox (starting its task)
//! or to a new worker turn, answers refusals, and fires the alarm timer. Hosts, workers and
//! the native extras reach it through [`Router`] (protocol.rs), so nothing below depends on
//! this file.

use super::counters::Kind;
use super::failures::FailureKind;
use super::protocol::{delivery, Msg, ObjKey, Refused, Reply, Router, RuntimeError};
use super::shared::{Mailbox, Shared, Signal, OUTSIDE};
use super::{host, worker};
use crate::ocan::ChainError;
use crate::transport::{Address, Delivery, Outgoing};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

impl Router for Arc<Shared> {
    /// Sends a message produced by a committed turn (or by async work after one), applying
    /// the hop's injected latency. A message whose reply address is not a known address is
    /// dropped (its reply could never be delivered, and an unchecked address must not reach
    /// storage); one the target refuses is answered with the reason (see [`super::refuse`]).
    fn send_outgoing(&self, msg: Outgoing) {
        if let Err(r) = self.route_outgoing(msg) {
            self.refuse(&r.1, r.0.msg, r.0.err);
        }
    }

    /// [`Shared::send_outgoing`] that hands a refusal back to the caller (with the target).
    fn route_outgoing(&self, msg: Outgoing) -> Result<(), (Box<Refused>, Address)> {
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
                Some(r) => Reply::Continuation(r),
                None => Reply::None,
            },
        };
        self.route(&from, &to, m).map_err(|r| (r, to))
    }

    /// [`Shared::send_delivery`] that hands a refusal back to the caller.
    fn route_delivery(&self, from: &Address, d: Delivery) -> Result<(), Box<Refused>> {
        let to = d.to.clone();
        let m = Msg::Deliver {
            continuation: d.continuation,
            outcome: d.outcome,
        };
        self.route(from, &to, m)
    }

    /// Hands `m` to `to` now: an object's mailbox, or a new worker turn.
    fn deliver_now(&self, to: &Address, m: Msg) -> Result<(), Box<Refused>> {
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

    fn reply(&self, me: &Address, reply: Reply, result: Result<String, ChainError>) {
        let shared = self;
        match reply {
            Reply::None => {
                if let Err(e) = result {
                    tracing::warn!(address = %me, error = %e, "call failed (no reply requested)");
                    shared.fail(FailureKind::UnansweredCall, me, e.to_string());
                }
            }
            Reply::Continuation(r) => {
                let d = delivery(r.to, r.continuation, result);
                shared.send_delivery(me, d);
            }
            Reply::Sync(tx) => {
                let _ = tx.send(result.map_err(RuntimeError::Chain));
            }
            Reply::Async(tx) => {
                let _ = tx.send(result.map_err(RuntimeError::Chain));
            }
        }
    }

    fn refuse(&self, target: &Address, msg: Msg, err: RuntimeError) {
        let shared = self;
        match msg {
            Msg::Call { reply, .. } => match reply {
                Reply::None => dropped(shared, target, "call", &err),
                Reply::Continuation(r) => {
                    let d = delivery(r.to, r.continuation, Err(err.into_chain()));
                    shared.send_delivery(target, d);
                }
                Reply::Sync(tx) => {
                    let _ = tx.send(Err(err));
                }
                Reply::Async(tx) => {
                    let _ = tx.send(Err(err));
                }
            },
            Msg::Deliver { .. } => dropped(shared, target, "continuation", &err),
            Msg::Resume { .. } => dropped(shared, target, "resumed work", &err),
            Msg::Alarm => {}
            Msg::Trigger { done, .. } => {
                let _ = done.send(Err(err));
            }
            Msg::Run { done, .. } => {
                let _ = done.send(Err(err));
            }
        }
    }
}

/// Reports a message nobody waits for that `target` refused: a `tracing` event and a count.
fn dropped(shared: &Shared, target: &Address, what: &str, err: &RuntimeError) {
    tracing::warn!(address = %target, message = what, error = %err, "message dropped");
    shared.count(Kind::DroppedMessage);
}

impl Shared {
    /// Sends the outcome of a call back to the caller's continuation.
    pub fn send_delivery(self: &Arc<Self>, from: &Address, d: Delivery) {
        let to = d.to.clone();
        if let Err(r) = self.route_delivery(from, d) {
            self.refuse(&to, r.msg, r.err);
        }
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
                me.refuse(&to, r.msg, r.err);
            }
            me.work_end();
        });
        Ok(())
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

    /// Pops every due entry and sends each object an alarm. Returns how many fired and the
    /// next pending time.
    pub fn fire_due(self: &Arc<Self>) -> (usize, Option<i64>) {
        let (due, next) = self.pop_due();
        let n = due.len();
        for key in due {
            // Never refused for a full mailbox; only at shutdown (alarms are durable).
            let _ = self.send_object(&key, None, Msg::Alarm);
            self.work_end();
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
}
