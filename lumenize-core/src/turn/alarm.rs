//! Alarm runs: each due schedule is one turn (claim, continuation, complete), and a failed one
//! is recorded in a second turn. See [`crate::alarms::fire`] for the steps.

use super::engine::storage_err;
use super::mutant::{active, Mutant};
use super::outputs::{AlarmRun, ScheduleFailure};
use super::{Factory, TurnEngine, TurnEnv};
use crate::alarms::fire::BACKOFF_SECS;
use crate::alarms::{fire, AlarmError, ScheduleKind};
use crate::ocan::{ChainError, ExecuteChain};
use crate::storage::TxStorage;

impl<S: TxStorage, F: Factory> TurnEngine<S, F> {
    /// The platform alarm fired: runs every schedule due now (counted once, before the first
    /// turn), each in its own turn. The outputs always report the alarm to re-arm: the slot,
    /// or after a fault a later retry ([`AlarmRun::retry_at`]).
    pub fn alarm(&mut self, env: &TurnEnv<'_>) -> AlarmRun {
        let limit = match fire::due_count(self.storage(), env.now_ms()) {
            Ok(due) => usize::try_from(due).unwrap_or(usize::MAX),
            Err(e) => {
                // Unknown: one step. A fault there is retried later; otherwise the slot is
                // re-armed and the rest runs at the next firing.
                tracing::warn!(address = %self.me(), error = %e, "cannot count the due schedules");
                1
            }
        };
        // A slot whose re-read failed is a guess: one step re-reads it (inside its claim
        // turn) even when nothing is due, rather than re-arming the guess.
        let limit = if self.slot_stale() {
            limit.max(1)
        } else {
            limit
        };
        self.run(env, limit, false)
    }

    /// Test hook (`trigger_alarms`): runs the next `limit` schedules whatever their time.
    /// The outputs always report the alarm to re-arm, as [`alarm`](Self::alarm)'s do.
    pub fn trigger(&mut self, env: &TurnEnv<'_>, limit: usize) -> AlarmRun {
        self.run(env, limit, true)
    }

    /// One step of an alarm run: claims the earliest schedule (due now, or any with
    /// `ignore_time`) and runs it in one turn; if that turn fails, records the failure in a
    /// second. The outputs report the slot only if it changed: a host driving the steps
    /// itself re-arms at [`armed`](Self::armed) when it is done, unless the step ends with
    /// [`AlarmRun::retry_at`] set (a storage fault before the claim, a failed COMMIT of the
    /// claim turn, whose outcome is unknown, or a slot that could not be re-read): then the
    /// outputs carry that later time; arm it and stop.
    pub fn fire_next(&mut self, env: &TurnEnv<'_>, ignore_time: bool) -> AlarmRun {
        let mut step = AlarmRun::default();
        let mut claimed = None;
        let turn = self.turn(env, |obj, ctx| {
            let Some(s) = fire::claim_next(ctx, ignore_time).map_err(alarm_err)? else {
                return Ok(None);
            };
            claimed = Some(s.id.clone());
            let row = ctx.fired().borrow().clone();
            // Through `__execute_chain` (the turn's context is the thread's current one), as
            // the original's phase 0.5 asks: a fired continuation runs exactly like a chain a
            // handler executes itself.
            obj.__execute_chain(&s.callback)?;
            fire::complete(ctx).map_err(alarm_err)?;
            if let Some(row) = row.filter(|_| active(Mutant::DoubleContinuation)) {
                // Deliberately wrong: the claim is undone, so the schedule fires again.
                if !matches!(row.kind, ScheduleKind::Cron { .. }) && row.attempts == 0 {
                    let again = crate::alarms::ScheduleRow { attempts: 1, ..row };
                    crate::storage::runtime_tables::runtime(ctx.sql())
                        .exec(
                            "INSERT OR IGNORE INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
                            &again.params(),
                        )
                        .map_err(storage_err)?;
                    if let Some(order) = ctx.slot().order() {
                        order.put(&again.id, again.time);
                    }
                    crate::alarms::rearm(ctx.sql(), ctx.slot()).map_err(alarm_err)?;
                }
            }
            Ok(Some(s.id))
        });
        // A failed COMMIT may have committed the claim, the continuation and a cron's next
        // time: recording a failure would back off a schedule that ran (a cron then fired
        // before its next time). Its outcome is unknown, so it is a fault like one before the
        // claim: retry later, when the claim finds what committed.
        let claimed =
            claimed.filter(|_| !turn.commit_failed() || active(Mutant::FailureAfterUnknownCommit));
        let (result, outputs) = turn.into_parts();
        step.absorb_outputs(outputs);
        let now = env.now_ms();
        match result {
            Ok(Some(id)) => step.ran_one(id),
            Ok(None) => step.stop(None),
            Err(e) => match claimed {
                Some(id) => {
                    let why = e.to_string();
                    let rec = self.turn(env, |_, ctx| {
                        fire::record_failure(ctx, &id, &why).map_err(alarm_err)
                    });
                    let (recorded, outputs) = rec.into_parts();
                    tracing::warn!(
                        address = %self.me(),
                        schedule_id = %id,
                        error = %why,
                        recorded = ?recorded,
                        "schedule failed"
                    );
                    step.absorb_outputs(outputs);
                    step.failed_one(ScheduleFailure::new(id, why, recorded));
                }
                None => {
                    tracing::error!(address = %self.me(), error = %e, "alarm run failed");
                    step.stop(Some(e));
                    // Nothing was claimed (or whether it was is unknown): re-arming a past-due
                    // slot would fire again at once, a hot loop for as long as the fault
                    // lasts. Retry later.
                    let at = self.retry_after_fault(now);
                    step.retry_later(at);
                    return step;
                }
            },
        }
        if self.slot_stale() {
            // The slot is unknown (its re-read failed): do not arm from a guess; the next
            // turn re-reads it.
            step.stop(None);
            let at = self.retry_after_fault(now);
            step.retry_later(at);
        } else {
            self.alarm_fault_streak = 0;
        }
        step
    }

    /// When to retry after an alarm step that stopped at a fault: after
    /// [`BACKOFF_SECS`](crate::alarms::fire::BACKOFF_SECS) (2 s, then 4, 8... for faults in a
    /// row, 64 s at most), or at the slot's time if that is sooner and still to come.
    fn retry_after_fault(&mut self, now: i64) -> i64 {
        let i = usize::try_from(self.alarm_fault_streak)
            .unwrap_or(usize::MAX)
            .min(BACKOFF_SECS.len() - 1);
        self.alarm_fault_streak = self.alarm_fault_streak.saturating_add(1);
        let retry = now.saturating_add(BACKOFF_SECS[i] * 1_000);
        match self.armed() {
            Some(t) if t > now && !self.slot_stale() => t.min(retry),
            _ => retry,
        }
    }

    /// Up to `limit` steps, stopping when nothing is left or at a fault.
    fn run(&mut self, env: &TurnEnv<'_>, limit: usize, ignore_time: bool) -> AlarmRun {
        let mut run = AlarmRun::default();
        for _ in 0..limit {
            let step = self.fire_next(env, ignore_time);
            let done = step.exhausted();
            run.absorb(step);
            if done {
                break;
            }
        }
        if run.retry_at().is_none() {
            let armed = self.armed();
            run.outputs_mut().force_alarm(armed);
        }
        run
    }
}

fn alarm_err(e: AlarmError) -> ChainError {
    match e {
        AlarmError::Storage(s) => ChainError::Storage(s.to_string()),
        other => ChainError::handler(other.to_string()),
    }
}
