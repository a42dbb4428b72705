//! Alarm runs: each due schedule is one turn (claim, continuation, complete), and a failed one
//! is recorded in a second turn. See [`crate::alarms::fire`] for the steps.

use super::engine::storage_err;
use super::mutant::{active, Mutant};
use super::outputs::{AlarmRun, ScheduleFailure};
use super::{Factory, TurnEngine, TurnEnv};
use crate::alarms::{fire, AlarmError, ScheduleKind};
use crate::ocan::{execute_chain, ChainError};
use crate::storage::TxStorage;

impl<S: TxStorage, F: Factory> TurnEngine<S, F> {
    /// The platform alarm fired: runs every schedule due now (counted once, before the first
    /// turn), each in its own turn. The outputs always report the slot (re-arm with it).
    pub fn alarm(&mut self, env: &TurnEnv<'_>) -> AlarmRun {
        let due = fire::due_count(self.storage(), env.now_ms()).unwrap_or(0);
        self.run(env, usize::try_from(due).unwrap_or(usize::MAX), false)
    }

    /// Test hook (`trigger_alarms`): runs the next `limit` schedules whatever their time.
    /// The outputs always report the slot.
    pub fn trigger(&mut self, env: &TurnEnv<'_>, limit: usize) -> AlarmRun {
        self.run(env, limit, true)
    }

    /// One step of an alarm run: claims the earliest schedule (due now, or any with
    /// `ignore_time`) and runs it in one turn; if that turn fails, records the failure in a
    /// second. The outputs report the slot only if it changed: a host driving the steps
    /// itself re-arms at [`armed`](Self::armed) when it is done.
    pub fn fire_next(&mut self, env: &TurnEnv<'_>, ignore_time: bool) -> AlarmRun {
        let mut step = AlarmRun::default();
        let mut claimed = None;
        let turn = self.turn(env, |obj, ctx| {
            let Some(s) = fire::claim_next(ctx, ignore_time).map_err(alarm_err)? else {
                return Ok(None);
            };
            claimed = Some(s.id.clone());
            let row = ctx.fired().borrow().clone();
            execute_chain(obj, ctx, &s.callback)?;
            fire::complete(ctx).map_err(alarm_err)?;
            if let Some(row) = row.filter(|_| active(Mutant::DoubleContinuation)) {
                // Deliberately wrong: the claim is undone, so the schedule fires again.
                if !matches!(row.kind, ScheduleKind::Cron { .. }) && row.attempts == 0 {
                    let again = crate::alarms::ScheduleRow { attempts: 1, ..row };
                    ctx.sql()
                        .exec(
                            "INSERT OR IGNORE INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
                            &again.params(),
                        )
                        .map_err(storage_err)?;
                    crate::alarms::rearm(ctx.sql(), ctx.slot()).map_err(alarm_err)?;
                }
            }
            Ok(Some(s.id))
        });
        let (result, outputs) = turn.into_parts();
        step.absorb_outputs(outputs);
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
                }
            },
        }
        step
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
        let armed = self.armed();
        run.outputs_mut().force_alarm(armed);
        run
    }
}

fn alarm_err(e: AlarmError) -> ChainError {
    match e {
        AlarmError::Storage(s) => ChainError::Storage(s.to_string()),
        other => ChainError::handler(other.to_string()),
    }
}
