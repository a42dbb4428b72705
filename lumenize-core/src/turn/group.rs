//! Group commit: several queued messages of one object in one transaction, a savepoint each.
//!
//! The rules (see the [module docs](super)): each message runs in its own savepoint, so one
//! that fails (error or panic) rolls back alone: its reply is the error and its outbox is
//! dropped, the others go on. A message rolled back to its savepoint also undoes its schedule
//! changes in memory (reading nothing), and everything commits together. Nothing is released
//! before that commit (Cloudflare's output gate holds a message's outputs the same way): a
//! failed shared commit fails every message of the group and releases nothing.
//!
//! A message whose statement makes SQLite roll back the whole transaction, not just its
//! savepoint (`INSERT OR ROLLBACK`, a column's `ON CONFLICT ROLLBACK`, `RAISE(ROLLBACK)` in a
//! trigger), also fails alone, although SQLite undid every message of the group with it: the
//! storage says the transaction ended by a statement, not a fault
//! ([`TxStorage::rolled_back_by_statement`](crate::storage::TxStorage::rolled_back_by_statement));
//! the engine answers that message with the reason, drops what the run collected (outboxes,
//! effects: nothing of it is released), undoes the slot's changes in memory, drops the
//! instance (it saw writes that were undone, and the messages before the culprit run again:
//! their changes to its memory must not be made twice), and runs the other messages again,
//! in order, in a fresh transaction. Bounded: if a message of that second run rolls it back
//! too, it is left out as well and the rest run one transaction each (at most `n + 2`
//! transactions for `n` messages). Counting: every run of a message is a turn, and the
//! culprit is charged the run it spoiled: its outputs count a failed turn for each message
//! that ran in it (itself included) and the rows it read and wrote, so each other message's
//! outputs count only its last run (a failed turn only if that failed). A host counts
//! requests per message, not per run, so none is billed twice.

use super::engine::storage_err;
use super::mutant::{active, Mutant};
use super::outputs::{Outputs, Turn};
use super::{panic_message, Factory, Instance, TurnEngine, TurnEnv};
use crate::alarms::SqlAlarmSlot;
use crate::context::{Ctx, CtxParts, Effect};
use crate::ocan::{execute_chain, run_continuation, ChainError, Dispatch, OperationChain};
use crate::storage::TxStorage;
use crate::structured_clone;
use crate::transport::Outgoing;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A queued message that can join a group: what [`TurnEngine::call`],
/// [`TurnEngine::deliver`] and [`TurnEngine::resume`] run, as data.
///
/// ```
/// use lumenize_core::turn::Message;
/// let m = Message::Resume("[]");
/// assert!(matches!(m, Message::Resume(_)));
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// A call (wire text of the chain): its result is the encoded value.
    Call(&'a str),
    /// A delivered continuation with the outcome of the call it waited for.
    Deliver {
        /// The continuation (wire text).
        continuation: &'a str,
        /// The outcome.
        outcome: &'a Result<String, String>,
    },
    /// The rest of an invocation that awaited async work (its value is dropped).
    Resume(&'a str),
}

impl Message<'_> {
    /// Runs the message on `obj`: `Some(encoded result)` for a call, `None` otherwise.
    pub fn run(&self, obj: &mut dyn Dispatch, ctx: &Ctx<'_>) -> Result<Option<String>, ChainError> {
        match *self {
            Message::Call(chain) => {
                let chain = OperationChain::parse(chain)?;
                let value = execute_chain(obj, ctx, &chain)?;
                structured_clone::stringify(&value)
                    .map(Some)
                    .map_err(ChainError::Codec)
            }
            Message::Deliver {
                continuation,
                outcome,
            } => run_continuation(obj, ctx, continuation, outcome).map(|()| None),
            Message::Resume(chain) => {
                let chain = OperationChain::parse(chain)?;
                execute_chain(obj, ctx, &chain).map(|_| None)
            }
        }
    }
}

/// One message of a group while it runs: its result, outbox and counts.
struct Member<R> {
    result: Option<Result<R, ChainError>>,
    outbox: Vec<Outgoing>,
    effects: Vec<Effect>,
    late: u64,
    panicked: bool,
}

/// How one run of (what is left of) a group ended.
enum Attempt<R> {
    /// It ran to its end: one turn per message it was given, in order, committed or not.
    Ran(Vec<Turn<R>>),
    /// The message at `culprit` (a position among those given) ran a statement that made
    /// SQLite roll the whole transaction back: nothing of the run stays. `turn` is the
    /// culprit's (its error, charged the whole run's work); `spent[k]` what position `k`'s
    /// turn carries from the run (only the run's alarm re-read, if any, on position 0).
    RolledBack {
        culprit: usize,
        turn: Box<Turn<R>>,
        spent: Vec<Outputs>,
    },
}

impl<S: TxStorage, F: Factory> TurnEngine<S, F> {
    /// Runs `messages` (already queued, in order) as one group: one transaction, a savepoint
    /// per message, one commit. Returns one [`Turn`] per message, in
    /// order; a host releases them in that order (each: reply, outbox), the alarm change
    /// travelling on the last. A message that failed has an `Err` and an empty outbox; when
    /// the shared commit fails every message has an `Err` and nothing is to be released.
    ///
    /// A message whose statement makes SQLite roll the whole transaction back (`INSERT OR
    /// ROLLBACK`, a column's `ON CONFLICT ROLLBACK`, `RAISE(ROLLBACK)` in a trigger) fails
    /// alone: the others run again without it in a fresh transaction (see
    /// [`group_with`](Self::group_with)).
    ///
    /// When the storage has no savepoints (the Cloudflare backend), or for one message, each
    /// message is its own turn ([`turn`](Self::turn)): the same results, more commits.
    pub fn group(
        &mut self,
        env: &TurnEnv<'_>,
        messages: &[Message<'_>],
    ) -> Vec<Turn<Option<String>>> {
        let bodies = messages
            .iter()
            .map(|m| move |obj: &mut dyn Dispatch, ctx: &Ctx<'_>| m.run(obj, ctx))
            .collect();
        self.group_with(env, bodies)
    }

    /// [`group`](Self::group) for any bodies (each as [`turn`](Self::turn)'s `body`).
    ///
    /// A body may run more than once: when a message's statement rolls the transaction back,
    /// SQLite undid every message of the run, so the others run again. Their first runs
    /// release nothing (outbox, effects) and count as failed turns on the culprit's outputs
    /// (with that run's rows); the instance, which saw writes that were undone, is built
    /// afresh for the second run; work a handler starts outside the turn's rules
    /// (`NativeExt::spawn`) is not undone, and happens again. Bounded: the second run
    /// leaves out the culprit; if another message rolls it back too, that one is left out
    /// and the rest run one transaction each, so a group of `n` messages costs at most
    /// `n + 2` transactions and `3n` runs.
    pub fn group_with<R, B>(&mut self, env: &TurnEnv<'_>, bodies: Vec<B>) -> Vec<Turn<R>>
    where
        B: FnMut(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
    {
        if bodies.len() <= 1 || !self.storage().has_savepoints() {
            return bodies.into_iter().map(|b| self.turn(env, b)).collect();
        }
        let mut bodies = bodies;
        let n = bodies.len();
        let mut done: Vec<Option<Turn<R>>> = (0..n).map(|_| None).collect();
        let mut spent: Vec<Outputs> = (0..n).map(|_| Outputs::default()).collect();
        let mut left: Vec<usize> = (0..n).collect();
        for _ in 0..2 {
            if left.is_empty() {
                break;
            }
            match self.attempt(env, &mut bodies, &left) {
                Attempt::Ran(turns) => {
                    for (&i, t) in left.iter().zip(turns) {
                        done[i] = Some(t);
                    }
                    left.clear();
                }
                Attempt::RolledBack {
                    culprit,
                    turn,
                    spent: run,
                } => {
                    for (&i, o) in left.iter().zip(run) {
                        spent[i].absorb(o);
                    }
                    done[left.remove(culprit)] = Some(*turn);
                }
            }
        }
        // A second culprit: what is left runs one message per transaction.
        for i in left {
            done[i] = Some(self.turn(env, &mut bodies[i]));
        }
        done.into_iter()
            .zip(spent)
            .map(|(t, s)| match t {
                Some(t) => t.after(s),
                // Unreachable: every message ends in `done`.
                None => Turn::new(
                    Err(ChainError::Storage("the message did not run".into())),
                    s,
                    false,
                ),
            })
            .collect()
    }

    /// One run of the messages `left` (indexes into `bodies`, in order) as one transaction,
    /// a savepoint each.
    fn attempt<R, B>(&mut self, env: &TurnEnv<'_>, bodies: &mut [B], left: &[usize]) -> Attempt<R>
    where
        B: FnMut(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
    {
        let rows0 = self.storage().stats();
        let TurnEngine {
            storage,
            slot,
            me,
            factory,
            instance,
            ..
        } = self;
        // An instance built inside the group: its constructor's writes commit with the group.
        let mut built = instance.is_none();
        let before = slot.armed();
        let start = slot.mark();
        let mut members: Vec<Member<R>> = Vec::with_capacity(left.len());
        let mut group_err: Option<ChainError> = None;
        // The position of a message whose statement rolled the transaction back.
        let mut culprit: Option<usize> = None;
        let sql_slot = SqlAlarmSlot {
            state: slot,
            storage,
        };
        let mut ran = false;
        let tx = storage.transaction(&mut || {
            if std::mem::replace(&mut ran, true) {
                return false;
            }
            members.clear();
            if let Err(e) = slot.ensure_fresh(storage) {
                group_err = Some(storage_err(e));
                return false;
            }
            for (pos, &i) in left.iter().enumerate() {
                let body = &mut bodies[i];
                let mark = slot.mark();
                let had_instance = instance.is_some();
                let ctx = Ctx::new(CtxParts {
                    storage,
                    slot: &sql_slot,
                    transport: env.transport,
                    now_ms: env.now_ms(),
                    me: me.clone(),
                    ext: env.ext,
                });
                let mut outcome = None;
                let mut panicked = false;
                let sp = storage.savepoint(&mut || {
                    if outcome.is_some() {
                        return false;
                    }
                    let run = catch_unwind(AssertUnwindSafe(|| {
                        ctx.enter(|| {
                            let obj = instance.get_or_insert_with(|| factory.construct(&ctx));
                            // As in a single turn: the same view of the object.
                            super::engine::handler_view(obj.dispatch(), &ctx, &mut *body)
                        })
                    }));
                    let result = run.unwrap_or_else(|p| {
                        panicked = true;
                        Err(ChainError::Panicked {
                            message: panic_message(&p),
                        })
                    });
                    let ok = result.is_ok();
                    outcome = Some(result);
                    ok
                });
                let late = ctx.take_late_outcomes();
                let (result, outbox, effects) = match (sp, outcome) {
                    (Ok(true), Some(Ok(r))) => (Ok(r), ctx.take_outbox(), ctx.take_effects()),
                    (Ok(_), Some(Err(e))) => (Err(e), Vec::new(), leaked_effects(&ctx)),
                    (Err(_), outcome)
                        if storage.rolled_back_by_statement()
                            && !active(Mutant::StatementRollbackFailsGroup) =>
                    {
                        // One of its statements made SQLite roll the whole transaction back:
                        // it is to blame, not the storage, and the others can run again.
                        if panicked {
                            *instance = None;
                        }
                        let own = outcome.and_then(Result::err);
                        members.push(Member {
                            result: Some(Err(super::engine::rolled_back_by_statement(
                                own.as_ref(),
                                true,
                            ))),
                            outbox: Vec::new(),
                            effects: Vec::new(),
                            late,
                            panicked,
                        });
                        culprit = Some(pos);
                        return false;
                    }
                    (Err(e), _) => {
                        // The savepoint itself failed: the transaction's state is unknown.
                        if panicked {
                            *instance = None;
                        }
                        members.push(Member {
                            result: Some(Err(storage_err(e.clone()))),
                            outbox: Vec::new(),
                            effects: Vec::new(),
                            late,
                            panicked,
                        });
                        group_err = Some(storage_err(e));
                        return false;
                    }
                    // The handler succeeded, the storage rolled its savepoint back anyway:
                    // SQLite's storage does so only for a deferred foreign key left
                    // unresolved, which the group's COMMIT would refuse for every message.
                    (Ok(false), Some(Ok(_))) => (
                        Err(ChainError::Storage(
                            "the storage rolled the message back after its handler succeeded: \
                             it left a deferred foreign key unresolved (PRAGMA \
                             defer_foreign_keys, or a DEFERRABLE INITIALLY DEFERRED key), which \
                             the commit would refuse"
                                .into(),
                        )),
                        Vec::new(),
                        Vec::new(),
                    ),
                    _ => (
                        Err(ChainError::Storage("the savepoint did not run".into())),
                        Vec::new(),
                        Vec::new(),
                    ),
                };
                if result.is_err() {
                    // Rolled back to its savepoint: so is its arming, and an instance that
                    // panicked or whose constructor's writes were just undone.
                    if panicked || !had_instance {
                        *instance = None;
                    }
                    // Its savepoint rolled back cleanly: undo its schedule changes in
                    // memory. A slot gone stale cannot tell: fail the group, whose rollback
                    // re-reads it.
                    if !super::engine::rewind_after_rollback(slot, mark) {
                        members.push(Member {
                            result: Some(result),
                            outbox: Vec::new(),
                            effects: Vec::new(),
                            late,
                            panicked,
                        });
                        group_err = Some(ChainError::Storage(
                            "the alarm slot went stale inside the group".into(),
                        ));
                        return false;
                    }
                } else if !had_instance {
                    built = true;
                }
                members.push(Member {
                    result: Some(result),
                    outbox,
                    effects,
                    late,
                    panicked,
                });
            }
            // A stale slot cannot commit (the check writes nothing: the time is derived from
            // the schedules the transaction holds).
            if let Err(e) = slot.flush(storage) {
                group_err = Some(storage_err(e));
                return false;
            }
            true
        });
        let committed = matches!(tx, Ok(true)) && group_err.is_none() && culprit.is_none();
        let failure = match (&tx, &group_err) {
            (_, Some(e)) => e.clone(),
            (Err(e), None) => storage_err(e.clone()),
            _ => ChainError::Storage("the transaction did not run".into()),
        };
        let panicked_any = members.iter().any(|m| m.panicked);
        let mut change = None;
        let mut alarm_fault = false;
        let mut reread = None;
        if committed {
            change = slot.take_change();
        } else {
            // After a culprit the instance saw writes SQLite undid, and the messages before
            // it run again: their changes to its memory must not be made twice.
            if built || panicked_any || culprit.is_some() {
                *instance = None;
            }
            // Rolled back cleanly by SQLite (a message failed the group, or its savepoint
            // could not be released): undone in memory; otherwise re-read.
            let clean = matches!(tx, Ok(false)) || active(Mutant::FailedCommitRewinds);
            (reread, alarm_fault) = if clean && super::engine::rewind_after_rollback(slot, start) {
                (None, false)
            } else {
                super::engine::reload_after_rollback(slot, &*storage, me, before, env.now_ms())
            };
        }
        // Free the cycles of what the group decoded (structured_clone/cycles.rs).
        structured_clone::collect_cycles();
        let rows = super::engine::rows_since(storage, rows0);
        if let Some(c) = culprit {
            return rolled_back(members, c, left.len(), rows, reread, alarm_fault);
        }
        let n = left.len();
        let mut turns = Vec::with_capacity(n);
        // A turn is a message that ran (in its savepoint); the messages a failed group never
        // reached get its error but are no turn, except that a group stopped before its first
        // message still was one transaction.
        let ran = members.len().max(1);
        let mut members = members.into_iter();
        for i in 0..n {
            let last = i + 1 == n;
            let m = members.next().unwrap_or(Member {
                result: None,
                outbox: Vec::new(),
                effects: Vec::new(),
                late: 0,
                panicked: false,
            });
            let ok = committed && matches!(m.result, Some(Ok(_)));
            let result = match m.result {
                Some(Ok(r)) if committed => Ok(r),
                Some(Err(e)) => Err(e),
                _ => Err(failure.clone()),
            };
            let leak = !committed && active(Mutant::GroupOutputsBeforeCommit);
            let outbox = if ok || leak { m.outbox } else { Vec::new() };
            let mut outputs = Outputs::of_member(
                i < ran,
                ok,
                outbox,
                if last { change } else { None },
                m.late,
                if last { rows } else { Default::default() },
                last && alarm_fault,
            );
            if ok || active(Mutant::EffectsOfRolledBackTurn) {
                outputs.add_effects(m.effects);
            }
            if let (true, Some(at)) = (last, reread) {
                outputs.force_alarm(at);
            }
            turns.push(Turn::new(result, outputs, m.panicked));
        }
        Attempt::Ran(turns)
    }
}

/// What a message that rolled back to its savepoint leaves to release: nothing, unless the
/// `effects-of-rolled-back-turn` mutant is selected.
fn leaked_effects(ctx: &Ctx<'_>) -> Vec<Effect> {
    if active(Mutant::EffectsOfRolledBackTurn) {
        ctx.take_effects()
    } else {
        Vec::new()
    }
}

/// The outcome of a run that the message at `culprit` rolled back (of `n` messages given):
/// the culprit's turn, charged the run's work (a failed turn for each message that ran in it,
/// its rows), so that each other message's turn counts only its own last run. The run's alarm
/// re-read, if any, goes on position 0 (in `spent`), released before anything a later run
/// reports.
fn rolled_back<R>(
    mut members: Vec<Member<R>>,
    culprit: usize,
    n: usize,
    rows: crate::storage::RowStats,
    reread: Option<Option<i64>>,
    alarm_fault: bool,
) -> Attempt<R> {
    let mut spent: Vec<Outputs> = (0..n).map(|_| Outputs::default()).collect();
    if let Some(first) = spent.first_mut() {
        first.absorb(Outputs::of_member(
            false,
            false,
            Vec::new(),
            None,
            0,
            Default::default(),
            alarm_fault,
        ));
        if let Some(at) = reread {
            first.force_alarm(at);
        }
    }
    let ran = members.len();
    if active(Mutant::RerunReleasesSpoiledEffects) {
        for (k, m) in members.iter_mut().enumerate() {
            if let (Some(s), false) = (spent.get_mut(k), k == culprit) {
                s.add_effects(std::mem::take(&mut m.effects));
            }
        }
    }
    let mut charged = Outputs::default();
    for i in 0..ran {
        charged.absorb(Outputs::of_member(
            true,
            false,
            Vec::new(),
            None,
            0,
            if i == 0 { rows } else { Default::default() },
            false,
        ));
    }
    let (result, late, panicked) = match members.into_iter().nth(culprit) {
        Some(m) => (m.result, m.late, m.panicked),
        None => (None, 0, false),
    };
    charged.absorb(Outputs::of_member(
        false,
        false,
        Vec::new(),
        None,
        late,
        Default::default(),
        false,
    ));
    let result = result.unwrap_or_else(|| Err(super::engine::rolled_back_by_statement(None, true)));
    Attempt::RolledBack {
        culprit,
        turn: Box::new(Turn::new(result, charged, panicked)),
        spent,
    }
}
