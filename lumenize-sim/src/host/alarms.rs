//! The platform alarm of each object: its timer, the alarm run (due schedules, each one turn),
//! the accounting of each turn, and schedules given up.

use super::{outgoing, tags_in, Ev, Known, Msg, Sim, OPEN_RETRY_MS};
use crate::objects::take_observations;
use crate::Mutant;
use lumenize_core::alarms::fire::{self, FailureOutcome};
use lumenize_core::transport::Address;
use lumenize_core::turn::{Outputs, TurnEnv};

impl Sim {
    pub(super) fn timer_set(&mut self, oi: usize, at: Option<i64>) {
        let obj = &mut self.objs[oi];
        obj.backoff = false;
        if obj.timer == at {
            return;
        }
        obj.timer = at;
        obj.gen += 1;
        let gen = obj.gen;
        if let Some(t) = at {
            // Armed by the clock, counted in the queue's time (as a monotonic timer): a clock
            // that goes back later makes it fire before its time by the clock.
            let when = t.saturating_sub(self.skew).max(self.now);
            self.push(when, Ev::Timer { obj: oi, gen });
        }
    }

    pub(super) fn on_timer(&mut self, oi: usize) {
        self.objs[oi].timer = None;
        self.touched.push(oi);
        if !self.ensure_open(oi) {
            let at = self.clock() + OPEN_RETRY_MS;
            self.timer_set(oi, Some(at));
            return;
        }
        // By the clock, which may have gone back since the alarm was armed: then nothing
        // is due yet, and the slot is re-armed.
        // Unknown (a storage fault): one step, as `TurnEngine::alarm` takes.
        let due = fire::due_count(&*self.objs[oi].disk, self.clock()).unwrap_or(1);
        // As `TurnEngine::alarm`: a slot that could not be re-read gets one step, which
        // re-reads it.
        let known = self.objs[oi]
            .engine
            .as_ref()
            .is_some_and(|e| e.armed_is_known());
        let due = if known { due } else { due.max(1) };
        // The `trusted-alarm` mutant: the alarm fired, so its schedule "must" be due.
        let trusted = self.mutant == Mutant::TrustedAlarm;
        let due = if trusted { due.max(1) } else { due };
        self.trace.line(format_args!(
            "{} alarm {} due {due}",
            self.now, self.objs[oi].label
        ));
        self.run_alarms(oi, due as usize, trusted);
    }

    /// Runs up to `limit` due schedules one engine step at a time (`TurnEngine::fire_next`),
    /// so the seed can crash the object between any two of them (`ignore_time`: the earliest
    /// schedules whatever their time, only for the `trusted-alarm` mutant).
    pub(super) fn run_alarms(&mut self, oi: usize, limit: usize, ignore_time: bool) {
        for _ in 0..limit {
            self.stats.turns += 1;
            self.touched.push(oi);
            let crash = self.arm_turn(oi);
            let now = self.clock();
            // A lying claim turn loses its outbox: remember what it was about.
            let claims = if self.objs[oi].disk.will_lie() {
                self.objs[oi].disk.first_due(now)
            } else {
                None
            };
            let clock = move || now;
            let env = TurnEnv::new(&Known, &clock);
            let Some(engine) = self.objs[oi].engine.as_mut() else {
                return;
            };
            let mut step = engine.fire_next(&env, ignore_time);
            self.account(oi, step.outputs());
            self.objs[oi].disk.disarm();
            let obs = take_observations();
            let out: Vec<(Address, Address, Msg)> = step
                .outputs_mut()
                .take_outbox()
                .into_iter()
                .map(outgoing)
                .collect();
            let effects = self.effects_of(oi, step.outputs_mut());
            let change = step.outputs().alarm_change();
            self.trace.line(format_args!(
                "{} fire {}: ran {:?} failed {:?}{}",
                self.now,
                self.objs[oi].label,
                step.ran(),
                step.failures()
                    .iter()
                    .map(|f| format!("{} ({}) -> {:?}", f.id(), f.error(), f.recorded()))
                    .collect::<Vec<_>>(),
                step.fault()
                    .map_or(String::new(), |e| format!(" fault {e}"))
            ));
            if self.objs[oi].disk.is_dead() {
                for (from, to, msg) in out {
                    self.send(from, to, msg, false);
                }
                self.start_directs(oi, effects);
                self.crash(oi, "before commit");
                return;
            }
            // The observations are the claim turn's (the step's first transaction); they count
            // only if it committed, whether or not its COMMIT said so.
            let tx = self.objs[oi].disk.first_tx().unwrap_or_default();
            let reported = !step.ran().is_empty();
            self.committed(oi, now, &tx, reported, obs);
            if tx.lied {
                // E.g. the orchestrator's timeout: its NoReply was in the lost outbox.
                self.oracle
                    .disturb(claims.iter().flat_map(|id| tags_in(id)).collect::<Vec<_>>());
            }
            let gave_up: Vec<String> = step
                .failures()
                .iter()
                .filter(|f| matches!(f.recorded(), Ok(FailureOutcome::GaveUp { .. })))
                .map(|f| f.id().to_string())
                .collect();
            for id in gave_up {
                self.gave_up(&id);
            }
            let retry = step.retry_at().is_some();
            let exhausted = step.exhausted();
            if !self.emit(oi, out, effects, change, crash) {
                return;
            }
            if retry {
                // A fault before the claim (or a slot that could not be re-read): the
                // engine's alarm change is a retry after a backoff, not the past-due slot
                // (which would fire again at once while the fault lasts: finding 1).
                self.objs[oi].backoff = true;
                return;
            }
            if exhausted {
                break;
            }
        }
        // The platform alarm was consumed when it fired: re-sync it with the slot.
        let armed = self.objs[oi].engine.as_ref().and_then(|e| e.armed());
        self.timer_set(oi, armed);
    }

    /// Adds a turn's (or alarm step's) outputs to the object's account, as a real host feeds
    /// its counters. The `lost-accounting` mutant skips the first turn that rolled back.
    pub(super) fn account(&mut self, oi: usize, out: &Outputs) {
        if self.mutant == Mutant::LostAccounting && !self.lost_one && out.failed_turns() > 0 {
            self.lost_one = true;
            return;
        }
        self.ledger.add(&self.objs[oi].label, out);
    }

    pub(super) fn gave_up(&mut self, id: &str) {
        let Some((prefix, tag)) = id.split_once('-') else {
            return;
        };
        match prefix {
            "fetch" | "once" => self.oracle.rec(tag).gave_up = true,
            // A direct fetch's start given up: it never started, or its effect is lost.
            "direct" => self.oracle.rec(tag).disturbed = true,
            // The orchestrator gave up its timeout: the NoReply is never sent.
            "orch" => self.oracle.rec(tag).disturbed = true,
            _ => {}
        }
    }
}
