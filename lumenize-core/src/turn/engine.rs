//! [`TurnEngine`]: one object's storage, alarm slot and instance, and its turns.

use super::mutant::{active, Mutant};
use super::outputs::{Outputs, Turn};
use super::{panic_message, Factory, Instance, TurnEnv};
use crate::alarms::{self, SlotMark, SlotState, SqlAlarmSlot};
use crate::context::{Ctx, CtxParts};
use crate::ocan::{execute_chain, run_continuation, ChainError, Dispatch, OperationChain};
use crate::storage::{RowStats, SqlValue, Storage, StorageError, TxStorage, KV_SCHEMA};
use crate::structured_clone;
use crate::transport::Address;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One object's turns, for any host. See the [module docs](super) for the rules, what a host
/// does with the outputs, and an example.
///
/// Invariants (between turns): `slot` holds the committed schedules' earliest time (re-read after every
/// rollback); `instance` is `None` or an instance whose constructor's writes committed and
/// that never panicked; `me` is the object's address with its stored name.
pub struct TurnEngine<S, F: Factory> {
    pub(super) storage: S,
    pub(super) slot: SlotState,
    pub(super) me: Address,
    pub(super) factory: F,
    pub(super) instance: Option<F::Instance>,
    /// Alarm runs in a row that stopped at a fault: picks the retry delay.
    pub(super) alarm_fault_streak: u32,
}

impl<S: TxStorage, F: Factory> TurnEngine<S, F> {
    /// Opens the object `binding`/`id` on `storage`: creates lumenize's tables, records `name`
    /// (first write wins), reads the stored name and the schedules' order, in one transaction. The
    /// instance is built by `factory` in the first turn.
    ///
    /// After opening, a host that lost its timers (a restart) arms the platform alarm at
    /// [`armed`](Self::armed).
    pub fn open(
        storage: S,
        binding: &str,
        id: &str,
        name: Option<&str>,
        factory: F,
    ) -> Result<TurnEngine<S, F>, StorageError> {
        let mut setup = None;
        let tx = storage.transaction(&mut || {
            let out = setup_schema(&storage, name);
            let ok = out.is_ok();
            setup = Some(out);
            ok
        });
        let (stored_name, slot) = match (tx, setup) {
            (Ok(true), Some(Ok(out))) => out,
            (_, Some(Err(e))) | (Err(e), _) => return Err(e),
            _ => return Err(StorageError::new("the transaction did not run", "open")),
        };
        Ok(TurnEngine {
            storage,
            slot,
            me: Address::Object {
                binding: binding.to_string(),
                id: id.to_string(),
                name: stored_name.or(name.map(str::to_string)),
            },
            factory,
            instance: None,
            alarm_fault_streak: 0,
        })
    }

    /// The object's address (with its stored name, when it has one).
    pub fn me(&self) -> &Address {
        &self.me
    }

    /// The storage (reads between turns: checks, accounting, `due_count`).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The committed alarm time: what the platform alarm must be armed at. After a failed
    /// re-read of the slot (a storage fault) it is the last value known, checked at the next
    /// turn (which reports a change if it was wrong).
    pub fn armed(&self) -> Option<i64> {
        self.slot.armed()
    }

    /// Whether [`armed`](Self::armed) is the committed alarm time; `false` after a re-read
    /// of the slot failed, until a turn re-reads it (the value is then the last one known,
    /// and the platform alarm was given a retry instead).
    pub fn armed_is_known(&self) -> bool {
        !self.slot.is_stale()
    }

    /// Whether the slot's last re-read failed (see [`armed`](Self::armed)).
    pub(super) fn slot_stale(&self) -> bool {
        self.slot.is_stale()
    }

    /// Gives the storage back, dropping everything else: the instance, the in-memory slot.
    /// This is a crash as the host sees it (no transaction is open between turns, so only
    /// what committed survives); reopen with [`open`](Self::open). It lets a host crash an
    /// object whose database lives in memory.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Whether an instance is live (it is built by the next turn otherwise).
    pub fn has_instance(&self) -> bool {
        self.instance.is_some()
    }

    /// Runs a call: parses `chain` (wire text), runs it, and returns the encoded result.
    pub fn call(&mut self, env: &TurnEnv<'_>, chain: &str) -> Turn<String> {
        self.turn(env, |obj, ctx| {
            let chain = OperationChain::parse(chain)?;
            let value = execute_chain(obj, ctx, &chain)?;
            structured_clone::stringify(&value).map_err(ChainError::Codec)
        })
    }

    /// Runs a delivered `continuation` with the `outcome` of the call it waited for.
    pub fn deliver(
        &mut self,
        env: &TurnEnv<'_>,
        continuation: &str,
        outcome: &Result<String, String>,
    ) -> Turn<()> {
        self.turn(env, |obj, ctx| {
            run_continuation(obj, ctx, continuation, outcome)
        })
    }

    /// Runs `chain` (wire text) as the rest of an invocation that awaited async work; its
    /// value is dropped.
    pub fn resume(&mut self, env: &TurnEnv<'_>, chain: &str) -> Turn<()> {
        self.turn(env, |obj, ctx| {
            let chain = OperationChain::parse(chain)?;
            execute_chain(obj, ctx, &chain).map(drop)
        })
    }

    /// One turn: `body` in one transaction with the instance (built first when there is
    /// none) and a fresh [`Ctx`]. On success the slot is checked (it writes nothing) and the transaction
    /// commits; the outputs carry the outbox and the alarm change. On error, panic or a failed
    /// commit everything rolls back, the outbox is dropped, the slot re-reads the committed
    /// time, and the instance is discarded if it panicked or was built in this turn.
    pub fn turn<R>(
        &mut self,
        env: &TurnEnv<'_>,
        body: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
    ) -> Turn<R> {
        let rows0 = self.storage.stats();
        let fresh = self.instance.is_none();
        let TurnEngine {
            storage,
            slot,
            me,
            factory,
            instance,
            ..
        } = self;
        let sql_slot = SqlAlarmSlot {
            state: slot,
            storage,
        };
        let ctx = Ctx::new(CtxParts {
            storage,
            slot: &sql_slot,
            transport: env.transport,
            now_ms: env.now_ms(),
            me: me.clone(),
            ext: env.ext,
        });
        let mut body = Some(body);
        let mut outcome = None;
        let mut panicked = false;
        // What the slot held before the turn: what a rollback restores.
        let before = slot.armed();
        let start = slot.mark();
        let tx = storage.transaction(&mut || {
            let Some(body) = body.take() else {
                return false;
            };
            // A slot whose re-read failed is re-read here, in this turn's transaction, before
            // the handler can change it or the flush below write it from a guess.
            if let Err(e) = slot.ensure_fresh(storage) {
                outcome = Some(Err(storage_err(e)));
                return false;
            }
            let run = catch_unwind(AssertUnwindSafe(|| {
                ctx.enter(|| {
                    let obj = instance
                        .get_or_insert_with(|| factory.construct(&ctx))
                        .dispatch();
                    handler_view(obj, &ctx, body)
                })
            }));
            let result = match run {
                Ok(r) => r,
                Err(p) => {
                    panicked = true;
                    Err(ChainError::Panicked {
                        message: panic_message(&p),
                    })
                }
            };
            // A stale slot cannot commit (the check writes nothing).
            let result = result.and_then(|r| slot.flush(storage).map(|()| r).map_err(storage_err));
            let ok = result.is_ok();
            outcome = Some(result);
            ok
        });
        // A statement of the body made SQLite roll the whole transaction back: nothing stays,
        // whether the handler then failed or went on (its COMMIT then finds no transaction).
        let by_statement = !matches!(tx, Ok(true)) && storage.rolled_back_by_statement();
        // SQLite rolled the turn back itself: what it undid is known, nothing need be re-read.
        let clean_rollback =
            matches!(tx, Ok(false)) || by_statement || active(Mutant::FailedCommitRewinds);
        // The body asked to commit and the COMMIT failed: the outcome is unknown (the write
        // may be durable, as after an fsync error reported late or a lost storage reply).
        let commit_failed = tx.is_err() && matches!(outcome, Some(Ok(_))) && !by_statement;
        let result = match (tx, outcome) {
            (Ok(true), Some(Ok(r))) => Ok(r),
            (_, outcome) if by_statement => Err(rolled_back_by_statement(
                outcome.and_then(Result::err).as_ref(),
                false,
            )),
            (_, Some(Err(e))) => Err(e),
            (Err(e), _) => Err(storage_err(e)),
            _ => Err(ChainError::Storage("the transaction did not run".into())),
        };
        let late = ctx.take_late_outcomes();
        let mut alarm_fault = false;
        let mut reread = None;
        let committed = match &result {
            Ok(_) => Some((ctx.take_outbox(), slot.take_change())),
            Err(_) => {
                if panicked || fresh {
                    // A panicked instance may be inconsistent; a fresh one's constructor
                    // writes rolled back: build again next turn.
                    *instance = None;
                }
                (reread, alarm_fault) = if clean_rollback && rewind_after_rollback(slot, start) {
                    (None, false)
                } else {
                    reload_after_rollback(slot, storage, me, before, env.now_ms())
                };
                None
            }
        };
        let leaked =
            (result.is_err() && active(Mutant::OutboxBeforeCommit)).then(|| ctx.take_outbox());
        let effects = if committed.is_some() || active(Mutant::EffectsOfRolledBackTurn) {
            ctx.take_effects()
        } else {
            Vec::new()
        };
        drop(ctx);
        // Free the cycles of what the turn decoded (structured_clone/cycles.rs).
        structured_clone::collect_cycles();
        let mut outputs =
            Outputs::of_turn(committed, late, rows_since(storage, rows0), alarm_fault);
        outputs.add_effects(effects);
        if let Some(outbox) = leaked {
            outputs.leak_outbox(outbox);
        }
        if let Some(at) = reread {
            outputs.force_alarm(at);
        }
        Turn::new(result, outputs, panicked).with_commit_failed(commit_failed)
    }
}

/// The schema, the name and the schedules' order, inside `open`'s transaction.
fn setup_schema(
    storage: &dyn Storage,
    name: Option<&str>,
) -> Result<(Option<String>, SlotState), StorageError> {
    crate::storage::runtime_tables::runtime(storage).exec_batch(KV_SCHEMA)?;
    alarms::init_schema(storage)?;
    // The name is first-write-wins, like the original's `__lmz_do_instance_name`.
    if let Some(n) = name {
        crate::storage::runtime_tables::runtime(storage).exec(
            "INSERT OR IGNORE INTO __lmz_meta (key, value) VALUES ('name', ?1)",
            &[SqlValue::from(n)],
        )?;
    }
    let stored = storage
        .exec("SELECT value FROM __lmz_meta WHERE key = 'name'", &[])?
        .scalar()
        .and_then(|v| v.as_str().map(str::to_string));
    Ok((stored, SlotState::load(storage)?))
}

pub(super) fn rows_since(storage: &dyn Storage, before: RowStats) -> RowStats {
    let now = storage.stats();
    RowStats {
        rows_read: now.rows_read.saturating_sub(before.rows_read),
        rows_written: now.rows_written.saturating_sub(before.rows_written),
    }
}

/// The error of a message one of whose statements made SQLite roll the whole transaction back
/// (with its handler's own error, if it returned one); `in_group`: the other messages of its
/// group ran again without it.
pub(super) fn rolled_back_by_statement(own: Option<&ChainError>, in_group: bool) -> ChainError {
    let own = own.map(|e| format!(" ({e})")).unwrap_or_default();
    let rest = if in_group {
        "it failed alone, and the other messages of its group ran again without it"
    } else {
        "nothing of the turn stays"
    };
    ChainError::Storage(format!(
        "a statement of this message rolled back the whole transaction (a conflict resolved \
         with ROLLBACK: INSERT OR ROLLBACK, a column's ON CONFLICT ROLLBACK; or RAISE(ROLLBACK) \
         in a trigger){own}: {rest}"
    ))
}

pub(super) fn storage_err(e: StorageError) -> ChainError {
    ChainError::Storage(e.to_string())
}

/// Runs `body` on `obj` as every handler sees it, in a single turn and in a group alike: the
/// context knows the object's methods (so continuations naming a missing one are refused when
/// written), and the object answers the fetch result method (`fetch/route.rs`).
pub(super) fn handler_view<R>(
    obj: &mut dyn Dispatch,
    ctx: &Ctx<'_>,
    body: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
) -> Result<R, ChainError> {
    ctx.set_object_methods(obj.type_name(), obj.method_names());
    body(&mut crate::fetch::route::Routed(obj), ctx)
}

/// After a turn or group that SQLite rolled back cleanly (to where `start` was taken): undoes
/// the slot's changes in memory, reading nothing. `false` when only a re-read can tell
/// ([`reload_after_rollback`]): the slot was or became stale.
pub(super) fn rewind_after_rollback(slot: &SlotState, start: SlotMark) -> bool {
    if active(Mutant::StaleAlarmSlot) {
        return true;
    }
    slot.rewind(start)
}

/// After a turn or group whose rollback's outcome is not known (a failed COMMIT, a failed
/// savepoint or a stale slot): re-reads the committed alarm slot. Returns the value to
/// tell the host when it is not the one the host armed (`before`: a COMMIT that wrote and then
/// failed, or a stale slot's guess), and whether the re-read failed; then the slot holds what
/// the rollback restored and is stale, never the rolled-back change, and the host is told to
/// arm a retry (at `before` or 2 s after `now`, whichever is sooner): the COMMIT may have
/// written an earlier schedule than `before`, and without an alarm only a message would
/// bring the object back to re-read it.
pub(super) fn reload_after_rollback(
    slot: &SlotState,
    storage: &dyn Storage,
    me: &Address,
    before: Option<i64>,
    now: i64,
) -> (Option<Option<i64>>, bool) {
    if active(Mutant::StaleAlarmSlot) {
        return (None, false);
    }
    match slot.reload(storage) {
        Ok(()) if slot.armed() != before => (Some(slot.armed()), false),
        Ok(()) => (None, false),
        Err(e) => {
            tracing::error!(address = %me, error = %e, "cannot reload the alarm slot");
            slot.mark_stale(before);
            let retry = now.saturating_add(crate::alarms::fire::BACKOFF_SECS[0] * 1_000);
            let at = before.map_or(retry, |b| b.min(retry));
            (Some(Some(at)), true)
        }
    }
}
