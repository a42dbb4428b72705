//! Group commit in the simulator: messages to one object that arrive within the seed's group
//! window are run as one group (one transaction, a savepoint each), as the native host runs
//! what its mailbox already holds. The rules checked are the engine's: a failing message
//! rolls back alone, nothing is released before the shared commit, a failed commit fails all.
//!
//! A hostile co-tenant's message may join an origin's group (`Faults::hostile_ppm`): its
//! `INSERT OR ROLLBACK` makes SQLite roll back the whole transaction. The engine fails it
//! alone and runs the others again in a fresh transaction (one per message after a second
//! such rollback), so what each message committed is read from the transaction and savepoint
//! it last ran in ([`FaultyStorage::position`](crate::storage::FaultyStorage::position)). The
//! rule checked: in a group with a hostile message and no injected fault, no other message
//! fails with a storage error (it would have failed because of the hostile one), and the
//! hostile one never succeeds.

use super::{outgoing, tags_in, Crash, Entry, Ev, Known, Msg, ObjKind, Sim};
use crate::objects::{take_observations, Obs};
use lumenize_core::context::Ctx;
use lumenize_core::ocan::{ctn, ChainError, Dispatch};
use lumenize_core::transport::Address;
use lumenize_core::turn::{Message, TurnEnv};
use std::cell::RefCell;

/// Where a message ran: its transaction and savepoint ([`FaultyStorage::position`]).
///
/// [`FaultyStorage::position`]: crate::storage::FaultyStorage::position
type Position = (usize, Option<usize>);

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
    pub(super) fn on_group(&mut self, oi: usize, to: &Address, mut group: Vec<(Address, Msg)>) {
        let hostile = self.hostile_joins(oi, &mut group);
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
                Msg::Resume { chain } => Message::Resume(chain),
            })
            .collect();
        // Each message's observations, taken at the end of its last run (a message runs again
        // when another rolled back the transaction): the oracle sees only the kept ones.
        let seen: RefCell<Vec<Vec<Obs>>> = RefCell::new((0..n).map(|_| Vec::new()).collect());
        // Where each message last ran: its transaction and savepoint.
        let ran_at: RefCell<Vec<Option<Position>>> = RefCell::new(vec![None; n]);
        let disk = self.objs[oi].disk.clone();
        let injected = disk.injected();
        let bodies: Vec<_> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (seen, ran_at, disk) = (&seen, &ran_at, &disk);
                move |obj: &mut dyn Dispatch, ctx: &Ctx<'_>| {
                    // What a message before it left behind when it panicked.
                    drop(take_observations());
                    ran_at.borrow_mut()[i] = Some(disk.position());
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
        let ran_at = ran_at.into_inner();
        let label = self.objs[oi].label.clone();
        let dead = self.objs[oi].disk.is_dead();
        let clean = !dead && disk.injected() == injected;
        // What the disk saw: a lying COMMIT committed the kept messages.
        let txs = disk.txs();
        let durable = |i: usize| -> Option<usize> {
            let (t, sp) = ran_at[i]?;
            txs.get(t).filter(|r| r.kept_at(sp)).map(|_| t)
        };
        let mut reported = Vec::new();
        let mut out = Vec::new();
        let mut effects = Vec::new();
        let mut change = None;
        let mut retry = false;
        // The observations each transaction committed, in message order.
        let mut kept: std::collections::BTreeMap<usize, Vec<Obs>> = Default::default();
        for (i, ((t, (from, msg)), obs)) in turns.into_iter().zip(group).zip(seen).enumerate() {
            let (result, mut outputs) = t.into_parts();
            if let (Some(h), true) = (hostile, clean) {
                let storage_err = matches!(result, Err(ChainError::Storage(_)));
                if i == h && result.is_ok() {
                    let msg = format!("{label}: the hostile message of a group succeeded");
                    self.oracle.fail(now, msg);
                } else if i != h && storage_err {
                    let msg = format!(
                        "{label}: message {i} of a group failed because another rolled the \
                         transaction back: {result:?}"
                    );
                    self.oracle.fail(now, msg);
                }
            }
            let mine: Vec<_> = outputs.take_outbox().into_iter().map(outgoing).collect();
            let my_effects = self.effects_of(oi, &mut outputs);
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
                self.start_directs(oi, my_effects);
            } else {
                out.extend(mine);
                effects.extend(my_effects);
            }
            if result.is_ok() {
                reported.push(i);
            } else {
                self.stats.failed_turns += 1;
            }
            if let Some(t) = durable(i) {
                kept.entry(t).or_default().extend(obs);
            }
            self.member_done(&label, to, from, msg, result, line, dead, &mut out);
        }
        if dead {
            self.crash(oi, "before commit");
            return;
        }
        if let Some(i) = reported.iter().find(|i| durable(**i).is_none()) {
            let msg = format!("{label}: the engine reported message {i} of a group committed, the disk did not keep it");
            self.oracle.fail(now, msg);
        }
        for (t, kept) in kept {
            let lied = txs[t].lied;
            if !kept.is_empty() {
                let note = if lied { " (COMMIT lied)" } else { "" };
                self.trace
                    .line(format_args!("{} commit{note} {kept:?}", self.now));
            }
            // The engine reports every message of a transaction whose COMMIT lied as failed.
            self.oracle.apply(now, oi, kept, !lied);
        }
        let crash = crash.filter(|c| *c != Crash::BeforeCommit);
        if self.emit(oi, out, effects, change, crash) && retry {
            // The change is a retry (the slot could not be re-read), not the slot.
            self.objs[oi].backoff = true;
        }
    }

    /// Draws whether a hostile co-tenant's message joins this group of an origin's messages,
    /// and where; returns its position.
    fn hostile_joins(&mut self, oi: usize, group: &mut Vec<(Address, Msg)>) -> Option<usize> {
        if self.healed
            || self.objs[oi].kind != ObjKind::Origin
            || !self.hostile.ppm(self.faults.hostile_ppm)
        {
            return None;
        }
        let at = self.hostile.below(group.len() as u64 + 1) as usize;
        let swallow = self.hostile.below(2) == 0;
        let chain = ctn()
            .call("hostile", vec![swallow.into()])
            .stringify()
            .ok()?;
        let msg = Msg::Call { chain, reply: None };
        group.insert(at, (Address::worker("HOSTILE"), msg));
        self.stats.hostile += 1;
        Some(at)
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
            Msg::Resume { chain } => {
                self.trace.line(format_args!(
                    "{} resume {label}.{} (group): {line}",
                    self.now,
                    super::method_of(&chain)
                ));
                if dead || result.is_err() {
                    self.oracle.disturb(tags_in(&chain).collect::<Vec<_>>());
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
