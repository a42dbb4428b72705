//! The network: sending messages between addresses (loss, duplication, delay), delivering them
//! to objects and workers, and refusing what a target does not accept.

use super::{method_of, outcome_line, tags_in, Ev, Msg, Sim};
use lumenize_core::ocan::ChainError;
use lumenize_core::transport::Address;

impl Sim {
    pub(super) fn send(&mut self, from: Address, to: Address, msg: Msg, dup_ok: bool) {
        self.stats.messages += 1;
        let jitter = self.faults.jitter_ms;
        if self.fault(self.faults.loss_ppm) {
            self.stats.lost += 1;
            let (a, b) = msg.text();
            let tags: Vec<String> = tags_in(a).chain(tags_in(b)).collect();
            self.trace
                .line(format_args!("{} lost {from} -> {to} {tags:?}", self.now));
            self.oracle.disturb(tags);
            return;
        }
        let mut latency = self.net.range(1, jitter);
        if self.fault(self.faults.delay_ppm) {
            latency += self.net.range(0, self.faults.max_delay_ms);
        }
        if dup_ok && self.fault(self.faults.dup_ppm) {
            self.stats.duplicated += 1;
            let again = self.now + latency + self.net.range(0, jitter);
            self.push(
                again,
                Ev::Msg {
                    from: from.clone(),
                    to: to.clone(),
                    msg: msg.clone(),
                },
            );
        }
        let at = self.now + latency;
        self.push(at, Ev::Msg { from, to, msg });
    }

    pub(super) fn on_msg(&mut self, from: Address, to: Address, msg: Msg) {
        let oi = match &to {
            Address::Object { binding, id, .. } => {
                self.index.get(&(binding.clone(), id.clone())).copied()
            }
            _ => {
                if matches!(msg, Msg::Call { .. }) {
                    self.oracle.work.call_delivered(&to.to_string());
                }
                self.worker_turn(from, to, msg);
                return;
            }
        };
        let Some(oi) = oi else {
            self.oracle
                .fail(self.now, format!("message to unknown object {to}"));
            return;
        };
        if !self.ensure_open(oi) {
            self.refuse(&to, msg, "cannot open the object (simulated open failure)");
            return;
        }
        let group = self.take_group(&to, (from, msg));
        if group.len() > 1 {
            self.on_group(oi, &to, group);
            return;
        }
        let Some((from, msg)) = group.into_iter().next() else {
            return;
        };
        let label = self.objs[oi].label.clone();
        match msg {
            Msg::Call { chain, reply } => {
                let method = method_of(&chain);
                let t = self.turn(oi, |e, env| e.call(env, &chain));
                self.trace.line(format_args!(
                    "{} call {label}.{method} from {from}: {}",
                    self.now,
                    outcome_line(&t)
                ));
                let failed = t.result.is_err();
                if t.crashed || (failed && reply.is_none()) {
                    self.oracle.disturb(
                        tags_in(&chain)
                            .chain(reply.iter().flat_map(|r| tags_in(&r.continuation)))
                            .collect::<Vec<_>>(),
                    );
                }
                if t.crashed {
                    return;
                }
                let mut out = t.out;
                if let Some(r) = reply {
                    let outcome = t.result.map_err(|e| e.to_wire());
                    out.push((
                        to.clone(),
                        r.to,
                        Msg::Deliver {
                            continuation: r.continuation,
                            outcome,
                        },
                    ));
                }
                if self.emit(oi, out, t.effects, t.change, t.crash) && t.retry {
                    self.objs[oi].backoff = true;
                }
            }
            Msg::Deliver {
                continuation,
                outcome,
            } => {
                let t = self.turn(oi, |e, env| e.deliver(env, &continuation, &outcome));
                self.trace.line(format_args!(
                    "{} deliver {label}.{} from {from}: {}",
                    self.now,
                    method_of(&continuation),
                    outcome_line(&t)
                ));
                if t.result.is_err() {
                    self.oracle
                        .disturb(tags_in(&continuation).collect::<Vec<_>>());
                }
                if !t.crashed && self.emit(oi, t.out, t.effects, t.change, t.crash) && t.retry {
                    self.objs[oi].backoff = true;
                }
            }
            Msg::Resume { chain } => {
                let t = self.turn(oi, |e, env| e.resume(env, &chain));
                self.trace.line(format_args!(
                    "{} resume {label}.{}: {}",
                    self.now,
                    method_of(&chain),
                    outcome_line(&t)
                ));
                // Nothing runs the continuation again (no alarm, no row): it is lost.
                if t.result.is_err() {
                    self.oracle.disturb(tags_in(&chain).collect::<Vec<_>>());
                }
                if !t.crashed && self.emit(oi, t.out, t.effects, t.change, t.crash) && t.retry {
                    self.objs[oi].backoff = true;
                }
            }
        }
    }

    /// Answers a message the target will not run: a waiting continuation gets the error.
    pub(super) fn refuse(&mut self, target: &Address, msg: Msg, why: &str) {
        self.trace
            .line(format_args!("{} refused at {target}: {why}", self.now));
        match msg {
            Msg::Call {
                reply: Some(r),
                chain,
            } => {
                let _ = chain;
                let err = ChainError::Storage(why.to_string()).to_wire();
                self.send(
                    target.clone(),
                    r.to,
                    Msg::Deliver {
                        continuation: r.continuation,
                        outcome: Err(err),
                    },
                    false,
                );
            }
            other => {
                let (a, b) = other.text();
                let tags: Vec<String> = tags_in(a).chain(tags_in(b)).collect();
                self.oracle.disturb(tags);
            }
        }
    }
}
