//! Objects: opening one (the engine's open, the platform alarm re-armed), a turn through the
//! engine with the seed's crash points, what a committed turn emits, and crashes.

use super::{outgoing, tags_in, Crash, Engine, Ev, Factory, Known, Msg, ObjKind, Sim, Turned};
use crate::direct::SimDirect;
use crate::objects::{
    is_executor, take_observations, Counted, Obs, Origin, Peer, ORIGIN, ORIGIN_SCHEMA,
};
use crate::storage::{Disk, TxReport};
use crate::Mutant;
use lumenize_core::context::Ctx;
use lumenize_core::fetch::{FetchOrchestrator, Fetching};
use lumenize_core::ocan::{ChainError, Dispatch};
use lumenize_core::transport::Address;
use lumenize_core::turn::{Turn as EngineTurn, TurnEngine, TurnEnv};

impl Sim {
    /// Opens the object if it is not (first use, or after a crash): the engine's open (one
    /// transaction: schema, name, the schedules' order), then the platform alarm re-armed at the
    /// committed slot (what a restarted host does).
    pub(super) fn ensure_open(&mut self, oi: usize) -> bool {
        if self.objs[oi].engine.is_some() {
            return true;
        }
        self.touched.push(oi);
        let fail = self.fault(self.faults.open_fail_ppm);
        let flaky = self.faults.flaky_ppm;
        let obj = &mut self.objs[oi];
        let disk = obj.disk.clone();
        disk.set_dead(false);
        disk.disarm();
        if fail {
            disk.arm(Some(0), false, false);
        }
        let kind = obj.kind;
        let factory: Factory = Box::new(move |ctx: &Ctx<'_>| -> Box<dyn Dispatch> {
            match kind {
                ObjKind::Origin => {
                    // The workload's tables; if this fails, the turn's own statements fail
                    // and the instance is built again by the next turn.
                    let _ = ctx.sql().exec_batch(ORIGIN_SCHEMA);
                    Box::new(Counted(Fetching(Origin::new(flaky))))
                }
                ObjKind::Peer => Box::new(Peer),
                ObjKind::Orchestrator => Box::new(FetchOrchestrator),
            }
        });
        let id = obj.addr.id().unwrap_or("").to_string();
        disk.set_opening(true);
        let opened = TurnEngine::open(
            Disk(disk.clone()),
            obj.addr.binding(),
            &id,
            obj.addr.name(),
            factory,
        );
        disk.set_opening(false);
        disk.disarm();
        match opened {
            Ok(engine) => {
                let armed = engine.armed();
                obj.engine = Some(engine);
                obj.crashed = false;
                self.timer_set(oi, armed);
                true
            }
            Err(e) => {
                self.stats.open_failures += 1;
                let label = obj.label.clone();
                self.trace
                    .line(format_args!("{} open {label} failed: {e}", self.now));
                false
            }
        }
    }

    /// Draws the faults of the next turn(s) on `oi` and arms its disk with them.
    pub(super) fn arm_turn(&mut self, oi: usize) -> Option<Crash> {
        let crash = if self.fault(self.faults.crash_ppm) {
            Some(match self.flt.below(3) {
                0 => Crash::BeforeCommit,
                1 => Crash::AfterCommit,
                _ => Crash::AfterSend,
            })
        } else {
            None
        };
        let fail_at = if self.fault(self.faults.stmt_fail_ppm) {
            Some(self.flt.below(8) as u32)
        } else {
            None
        };
        let fail_commit = self.fault(self.faults.commit_fail_ppm);
        if self.fault(self.faults.disk_full_ppm) {
            let until = self.now + self.flt.range(1, self.faults.disk_full_ms);
            self.objs[oi].disk_full_until = until;
        }
        let disk_full = !self.healed && self.now < self.objs[oi].disk_full_until;
        let lie = !self.healed && self.lie.ppm(self.faults.commit_lie_ppm);
        let disk = &self.objs[oi].disk;
        disk.arm(fail_at, fail_commit, disk_full);
        if crash == Some(Crash::BeforeCommit) {
            disk.crash_at_commit();
        }
        if lie {
            disk.lie_at_commit();
        }
        take_observations();
        crash
    }

    /// One turn through the engine (`f` picks the entry point), with the seed's faults.
    pub(super) fn turn<R>(
        &mut self,
        oi: usize,
        f: impl FnOnce(&mut Engine, &TurnEnv<'_>) -> EngineTurn<R>,
    ) -> Turned<R> {
        self.stats.turns += 1;
        self.touched.push(oi);
        let crash = self.arm_turn(oi);
        let now = self.clock();
        let clock = move || now;
        let env = TurnEnv::new(&Known, &clock);
        let Some(engine) = self.objs[oi].engine.as_mut() else {
            return Turned {
                result: Err(ChainError::NoContext),
                out: Vec::new(),
                effects: Vec::new(),
                change: None,
                crash: None,
                crashed: false,
                retry: false,
            };
        };
        let turn = f(engine, &env);
        self.account(oi, turn.outputs());
        self.objs[oi].disk.disarm();
        let obs = take_observations();
        let (result, mut outputs) = turn.into_parts();
        let outbox = outputs.take_outbox();
        let effects = self.effects_of(oi, &mut outputs);
        let change = outputs.alarm_change();
        let retry = outputs.alarm_faults() > 0;
        let out: Vec<(Address, Address, Msg)> = outbox.into_iter().map(outgoing).collect();
        if self.objs[oi].disk.is_dead() {
            // Died before COMMIT: nothing happened, except what a broken engine released.
            for (from, to, msg) in out {
                self.send(from, to, msg, false);
            }
            self.start_directs(oi, effects);
            self.crash(oi, "before commit");
            return Turned {
                result,
                out: Vec::new(),
                effects: Vec::new(),
                change: None,
                crash: None,
                crashed: true,
                retry: false,
            };
        }
        // What the disk saw, not what the engine reported: a lying COMMIT committed.
        let tx = self.objs[oi].disk.first_tx().unwrap_or_default();
        if result.is_err() {
            self.stats.failed_turns += 1;
        }
        self.committed(oi, now, &tx, result.is_ok(), obs);
        Turned {
            result,
            out,
            effects,
            change,
            crash: crash.filter(|c| *c != Crash::BeforeCommit),
            crashed: false,
            retry,
        }
    }

    /// Hands the oracle the observations of a turn whose transaction `tx` committed (even if
    /// its COMMIT lied); `reported`: the engine reported success, which it may only do for a
    /// transaction that committed.
    pub(super) fn committed(
        &mut self,
        oi: usize,
        now: i64,
        tx: &TxReport,
        reported: bool,
        obs: Vec<Obs>,
    ) {
        if reported && !tx.committed {
            let label = self.objs[oi].label.clone();
            self.oracle.fail(
                now,
                format!("{label}: the engine reported a commit the disk did not see"),
            );
        }
        if !tx.committed {
            return;
        }
        if !obs.is_empty() {
            let lied = if tx.lied { " (COMMIT lied)" } else { "" };
            self.trace
                .line(format_args!("{} commit{lied} {obs:?}", self.now));
        }
        self.oracle.apply(now, oi, obs, reported);
    }

    /// After a committed turn: sends its messages, starts its direct fetches (its effects,
    /// after the outbox as the real hosts do), then pushes its alarm change, unless the object
    /// crashes between those steps. Returns false when it crashed.
    pub(super) fn emit(
        &mut self,
        oi: usize,
        out: Vec<(Address, Address, Msg)>,
        effects: Vec<SimDirect>,
        change: Option<Option<i64>>,
        crash: Option<Crash>,
    ) -> bool {
        if crash == Some(Crash::AfterCommit) {
            let mut tags: Vec<String> = out
                .iter()
                .flat_map(|(_, _, m)| {
                    let (a, b) = m.text();
                    tags_in(a).chain(tags_in(b)).collect::<Vec<_>>()
                })
                .collect();
            tags.extend(effects.iter().map(|d| d.tag().to_string()));
            self.oracle.disturb(tags);
            self.crash(oi, "after commit, before sending");
            return false;
        }
        for (from, to, msg) in out {
            let dup_ok = matches!(&from, Address::Object { binding, .. } if binding == ORIGIN)
                && is_executor(&to);
            self.send(from, to, msg, dup_ok);
        }
        self.start_directs(oi, effects);
        if crash == Some(Crash::AfterSend) {
            self.crash(oi, "after sending, before re-arming");
            return false;
        }
        if let Some(at) = change {
            if self.mutant != Mutant::LostAlarmChange {
                self.timer_set(oi, at);
            }
        }
        true
    }

    /// The object's process dies: the engine (instance, slot, outputs) is gone; the disk
    /// keeps what committed; it restarts a little later (or at its next message).
    pub(super) fn crash(&mut self, oi: usize, point: &str) {
        self.stats.crashes += 1;
        let obj = &mut self.objs[oi];
        let _ = obj.disk.rollback();
        obj.disk.set_dead(true);
        obj.engine = None;
        obj.crashed = true;
        obj.life += 1;
        let label = obj.label.clone();
        self.trace
            .line(format_args!("{} CRASH {label} {point}", self.now));
        let at = self.now + self.flt.range(0, 2_000);
        self.push(at, Ev::Restart { obj: oi });
    }
}
