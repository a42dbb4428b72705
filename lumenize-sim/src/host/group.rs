//! Group commit in the simulator: messages to one object that arrive within the seed's group
//! window are run as one group (one transaction, a savepoint each), as the native host runs
//! what its mailbox already holds. The rules checked are the engine's: a failing message
//! rolls back alone, nothing is released before the shared commit, a failed commit fails all.

use super::{outgoing, tags_in, Crash, Entry, Ev, Known, Msg, Sim};
use crate::objects::{take_observations, Obs};
use lumenize_core::context::Ctx;
use lumenize_core::ocan::{ChainError, Dispatch};
use lumenize_core::transport::Address;
use lumenize_core::turn::{Message, TurnEnv};
use std::cell::RefCell;

/// Most messages in one group (the native host's bound is larger; small groups suffice to
/// reach every rule).
const MAX_GROUP: usize = 8;

fn same_object(a: &Address, b: &Address) -> bool {
    match (a, b) {
        (
            Address::Object {
                binding: b1,
                id: i1,
                ..
            },
            Address::Object {
                binding: b2,
                id: i2,
                ..
            },
        ) => b1 == b2 && i1 == i2,
        _ => false,
    }
}

impl Sim {
    /// Takes from the queue the messages to `to` due within the group window (in their
    /// order), to run with `first`. Taking one early is only a shorter network latency.
    pub(super) fn take_group(
        &mut self,
        to: &Address,
        first: (Address, Msg),
    ) -> Vec<(Address, Msg)> {
        let limit = self.now + self.faults.group_ms;
        let mut group = vec![first];
        let mut keep = Vec::new();
        while group.len() < MAX_GROUP && self.queue.peek().is_some_and(|e| e.at <= limit) {
            let Some(e) = self.queue.pop() else { break };
            match e.ev {
                Ev::Msg { from, to: t, msg } if same_object(&t, to) => group.push((from, msg)),
                ev => keep.push(Entry { ev, ..e }),
            }
        }
        for e in keep {
            self.queue.push(e);
        }
        group
    }

    /// Runs `group` (two or more messages) on object `oi` as one group, with the seed's
    /// faults drawn once for its transaction; then answers and sends in order.
    pub(super) fn on_group(&mut self, oi: usize, to: &Address, group: Vec<(Address, Msg)>) {
        let n = group.len();
        self.stats.turns += n as u64;
        self.touched.push(oi);
        let crash = self.arm_turn(oi);
        let now = self.now;
        let clock = move || now;
        let env = TurnEnv::new(&Known, &clock);
        let messages: Vec<Message<'_>> = group
            .iter()
            .map(|(_, m)| match m {
                Msg::Call { chain, .. } => Message::Call(chain),
                Msg::Deliver {
                    continuation,
                    outcome,
                } => Message::Deliver {
                    continuation,
                    outcome,
                },
            })
            .collect();
        // Each message's observations, taken at its end: the oracle sees only the kept ones.
        let seen: RefCell<Vec<Vec<Obs>>> = RefCell::new((0..n).map(|_| Vec::new()).collect());
        let bodies: Vec<_> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let seen = &seen;
                move |obj: &mut dyn Dispatch, ctx: &Ctx<'_>| {
                    // What a message before it left behind when it panicked.
                    drop(take_observations());
                    let r = m.run(obj, ctx);
                    seen.borrow_mut()[i] = take_observations();
                    r
                }
            })
            .collect();
        let Some(engine) = self.objs[oi].engine.as_mut() else {
            return;
        };
        let turns = engine.group_with(&env, bodies);
        drop(take_observations());
        drop(messages);
        for t in &turns {
            self.account(oi, t.outputs());
        }
        self.objs[oi].disk.disarm();
        let seen = seen.into_inner();
        let label = self.objs[oi].label.clone();
        let dead = self.objs[oi].disk.is_dead();
        // What the disk saw: a lying COMMIT committed the kept messages.
        let tx = self.objs[oi].disk.first_tx().unwrap_or_default();
        let mut reported = Vec::new();
        let mut out = Vec::new();
        let mut change = None;
        let mut retry = false;
        let mut kept = Vec::new();
        let mut any_ok = false;
        for (i, ((t, (from, msg)), obs)) in turns.into_iter().zip(group).zip(seen).enumerate() {
            let (result, mut outputs) = t.into_parts();
            let mine: Vec<_> = outputs.take_outbox().into_iter().map(outgoing).collect();
            if let Some(c) = outputs.alarm_change() {
                change = Some(c);
            }
            retry |= outputs.alarm_faults() > 0;
            let line = if dead {
                "CRASH before commit".to_string()
            } else {
                match &result {
                    Ok(_) => "committed".to_string(),
                    Err(e) => format!("rolled back: {e}"),
                }
            };
            if dead {
                // Nothing happened, except what a broken engine released.
                for (f, t, m) in mine {
                    self.send(f, t, m, false);
                }
            } else {
                out.extend(mine);
            }
            if result.is_ok() {
                reported.push(i);
            } else {
                self.stats.failed_turns += 1;
            }
            if tx.kept(i) {
                any_ok = true;
                kept.extend(obs);
            }
            self.member_done(&label, to, from, msg, result, line, dead, &mut out);
        }
        if dead {
            self.crash(oi, "before commit");
            return;
        }
        if let Some(i) = reported.iter().find(|i| !tx.kept(**i)) {
            let msg = format!("{label}: the engine reported message {i} of a group committed, the disk did not keep it");
            self.oracle.fail(now, msg);
        }
        if any_ok {
            let lied = if tx.lied { " (COMMIT lied)" } else { "" };
            if !kept.is_empty() {
                self.trace
                    .line(format_args!("{} commit{lied} {kept:?}", self.now));
            }
            // The engine reports every message of a group whose COMMIT lied as failed.
            self.oracle.apply(now, oi, kept, !tx.lied);
        }
        if self.emit(oi, out, change, crash.filter(|c| *c != Crash::BeforeCommit)) && retry {
            // The change is a retry (the slot could not be re-read), not the slot.
            self.objs[oi].backoff = true;
        }
    }

    /// One message of a group after the group ran: its trace line, the reply it owes (queued
    /// after its own outbox), and the tags its failure disturbs.
    #[allow(clippy::too_many_arguments)]
    fn member_done(
        &mut self,
        label: &str,
        to: &Address,
        from: Address,
        msg: Msg,
        result: Result<Option<String>, ChainError>,
        line: String,
        dead: bool,
        out: &mut Vec<(Address, Address, Msg)>,
    ) {
        match msg {
            Msg::Call { chain, reply } => {
                let method = super::method_of(&chain);
                self.trace.line(format_args!(
                    "{} call {label}.{method} from {from} (group): {line}",
                    self.now
                ));
                if dead || (result.is_err() && reply.is_none()) {
                    self.oracle.disturb(
                        tags_in(&chain)
                            .chain(reply.iter().flat_map(|r| tags_in(&r.continuation)))
                            .collect::<Vec<_>>(),
                    );
                }
                if let (Some(r), false) = (reply, dead) {
                    let outcome = result
                        .map(Option::unwrap_or_default)
                        .map_err(|e| e.to_wire());
                    out.push((
                        to.clone(),
                        r.to,
                        Msg::Deliver {
                            continuation: r.continuation,
                            outcome,
                        },
                    ));
                }
            }
            Msg::Deliver { continuation, .. } => {
                self.trace.line(format_args!(
                    "{} deliver {label}.{} from {from} (group): {line}",
                    self.now,
                    super::method_of(&continuation)
                ));
                if dead || result.is_err() {
                    self.oracle
                        .disturb(tags_in(&continuation).collect::<Vec<_>>());
                }
            }
        }
    }
}
