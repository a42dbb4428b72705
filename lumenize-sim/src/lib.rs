//! Deterministic simulation of the lumenize runtime, with fault injection.
//!
//! `lumenize-sim` runs the real `lumenize-core` code — objects with `handlers!`, their SQLite
//! storage (rusqlite, in memory), alarms (`alarms::fire`), `proxy_fetch_simple` through both
//! executor forms, the orchestrated `proxy_fetch` with the real `FetchOrchestrator`, the
//! direct fetch as a turn effect ([`direct`]), `call_raw` continuations, cron and one-shot
//! schedules raced by cancels — on a host of its
//! own: one seeded, single-threaded event queue with a virtual clock. The network, the
//! executor's HTTP exchange, the endpoint, crashes and storage are simulated, each with fault
//! rates the seed picks ([`faults::Faults`]). An oracle checks invariants after every step
//! and at quiescence; a failing seed replays exactly, with a readable trace.
//!
//! # Why our own scheduler, not turmoil or madsim
//!
//! lumenize's hosts are message-based and synchronous: a turn is a plain function call over
//! a `Ctx`, and everything between turns is a message, an alarm or an HTTP exchange. There
//! is no async code to schedule (the core's turn never awaits), so what turmoil and madsim
//! offer — a deterministic tokio, simulated sockets — would only wrap code we do not run.
//! What we need instead is control at the host's own seams (deliver this message now, later,
//! twice or never; crash between commit and send; fail statement k), which a queue of host
//! events gives directly, with no async runtime in the way and ~microseconds per event.
//!
//! # Determinism
//!
//! All randomness comes from the seed ([`rng::Rng`], PCG streams, integer ranges); the queue
//! is ordered by (virtual time, sequence number); maps are `BTreeMap`s; request and schedule
//! ids are chosen by the workload (never `new_uuid` or `fresh_id`, which are random per
//! process); no wall clock or thread timing reaches the trace. Seeds run on several threads,
//! but each seed alone on one, and the run's digest combines the seeds' digests in seed order.
//!
//! # Running it
//!
//! `cargo run --release -p lumenize-sim -- --seeds N [--start-seed S] [--mutant NAME]`. The
//! last stdout line is `sim: seeds=N fetches=F ... violations=V ... trace=HEX`; exit 0 when
//! V is 0, 1 otherwise (after the first failing seed and the command that replays it with
//! `--trace`), 2 for usage errors. Wall time and fetches/s go to stderr, so stdout is the
//! same on every machine.
//!
//! # The world of one seed
//!
//! 1 to 3 origin objects, 2 peers and the orchestrator, each on its own in-memory SQLite
//! database (its "disk") behind [`storage::FaultyStorage`], run by lumenize-core's
//! `TurnEngine`; the executor in both forms (worker and RPC target) reading its jobs with the
//! real `ExecutorJob` protocol; a simulated endpoint. `--ops` client operations (default 120)
//! arrive over the first virtual minute: 40% `proxy_fetch_simple` through the worker, 20%
//! through the RPC target, 25% orchestrated `proxy_fetch`, 8% `call_raw` with a continuation,
//! 6% one-shot schedules each raced by a cancel, 1% cron schedules (every 5 s, stopped after
//! the minute); a fifth of the fetches, drawn from a stream of their own, are direct fetches
//! instead ([`direct`]: an effect of the starting turn, `Ctx::after_commit`; the host takes
//! the committed turns' effects from their `Outputs` after the outbox, runs the exchange on
//! the endpoint and resumes the continuation on the object as `Message::Resume`, which may
//! join a group), a quarter of them started by a one-shot schedule (the effect then comes
//! from an alarm run). Then faults heal and the seed runs to quiescence.
//!
//! # Faults (rates per seed; each kind is off for a quarter of the seeds)
//!
//! Messages: base latency 1..=jitter ms (jitter 1..50: reordering), extra delay up to
//! 0.1..10 s (rate up to 10%), loss (up to 5%), duplication (up to 5%, only on hops the
//! design deduplicates: client requests, origin to executor, simple-design results).
//! Executor: fails (up to 5%), slow past the deadline (up to 5%), hangs (up to 3%), answers
//! twice (up to 5%, simple design). Endpoint (executor and direct exchanges alike): timeout,
//! refused, body over the cap, status 500 (up to 10%, 10%, 5%, 10%), else 200. Crashes: up
//! to 2% of turns, at one of three points (before COMMIT; after COMMIT before sending and
//! starting effects; after sending and starting effects, before re-arming), then a restart
//! from the disk after 0..2 s or at the next message. A crash also kills the process's
//! direct fetches in flight: their continuations never run (the direct design's trade-off). Storage: statement k of a
//! turn fails (up to 3% of turns), COMMIT fails (up to 2%), COMMIT lies (up to 2%: it
//! commits, then reports failure, as an fsync error reported after the write or a remote
//! storage's lost reply), open fails (up to 20% of opens), disk full for up to 3 s (writes
//! fail; up to 0.5% of turns). Clock: up to 3 forward jumps of up to 60 s (the whole world
//! pauses: everything queued is late), and up to 3 backward jumps of up to 0.1..10 s (the
//! clock the objects read goes back; platform alarms already armed count down as monotonic
//! timers, so they fire before their time by the clock). Continuations that fail the first
//! time they run (up to 10% of tags). The lying commits and the backward jumps are drawn
//! after everything else (their own random stream, the workload's last draws), so the
//! other kinds' rates and decisions are what they were before these existed; traces and
//! digests changed all the same (the header line, and what the new faults do).
//!
//! # What a lying COMMIT must leave true
//!
//! The engine cannot tell a COMMIT that failed from one that committed and then reported
//! failure: both are an unknown outcome. It reports the turn as failed, drops its outbox,
//! keeps the instance unless it was fresh or panicked, and re-reads the alarm slot from
//! storage (`reload_after_rollback`). So a lying COMMIT is a crash after COMMIT before
//! sending, without the restart: the state committed, that turn's messages (and a call's
//! result: the caller gets an error) are lost. Everything that does not depend on those
//! messages still holds, and the oracle checks it exactly: the disk reports the truth
//! ([`storage::TxReport`]), so the oracle applies the observations of every transaction that
//! committed (a lying one's included) and marks the tags whose messages were lost (the
//! incoming message's, and for an alarm step the claimed schedule's: e.g. the orchestrator's
//! NoReply); the accounting counts a lying commit as committed *and* as a failed turn
//! ([`storage::DiskWork::lied`]), and leaves its no-ops out of the late-outcome equality (the
//! engine reported them failed). A continuation still runs at most once; the slot equals the
//! earliest pending schedule after the re-read; a schedule whose claim turn lied is not
//! recorded as failed (it may have run; finding 4); when the re-read itself fails, the slot
//! is unknown ([`lumenize_core::turn::TurnEngine::armed_is_known`]) and a platform alarm must
//! be armed until a turn re-reads it (finding 5); every pending schedule eventually fires.
//! New checks: the engine never reports a commit (of a turn, or of a group's message) the
//! disk did not keep.
//!
//! # What a clock going back must leave true
//!
//! No panic (a panicking seed is a failure of the run); nothing runs twice; no schedule is
//! lost: a platform alarm that fires early by the clock finds nothing due and is re-armed at
//! the slot, so the schedule fires once the clock passes its time again (checked at
//! quiescence: nothing pending); no hot loop (the run stops with a violation after
//! `max_events` events or four virtual hours); nothing fires before its time by the clock at
//! the time it fires. The last is checked for one-shot schedules (the turn's clock against
//! the time the schedule was made for) and for crons: a tick at `at` must not precede the
//! next cron time after the previous tick. That check still means "not before its stored
//! time" with a clock that goes back: the next time is computed by the tick's own turn
//! (`complete`), and every other writer of a cron's time (a failure's backoff, giving up)
//! computes it from a clock reading taken when the cron was already due. The `trusted-alarm`
//! mutant (run the earliest schedule when the platform alarm fires, without asking the clock)
//! is caught by both checks.
//!
//! # Invariants
//!
//! After every step: a continuation runs at most once (simple and direct fetch, `call_raw`,
//! one-shot schedule; an orchestrated fetch may get a second outcome only in the documented way, its
//! NoReply plus the result, counted as `orch_double`); a cron schedule never fires before its
//! next time, a one-shot schedule never before its time (by the clock when it fires); the
//! engine reports no commit the disk did not see; the endpoint sees a direct fetch's exchange
//! only if its start committed and the engine reported it (never for a turn or group message
//! that rolled back, a failed or lying COMMIT, or the spoiled first run of a group a hostile
//! message rolled back), and only once; in a group with a hostile message and no
//! injected fault, the hostile message fails and no other fails with a storage error (it
//! would have failed because of the hostile one: mutant `statement-rollback-fails-group`);
//! the alarm slot in memory and the platform
//! alarm equal the earliest pending schedule in storage (unless the platform alarm is a retry
//! after a fault; while the slot is unknown after a failed re-read, a platform alarm is
//! armed); the pending `fetch-*` alarms equal the open simple fetches;
//! each object's accounting (the host's sums of its turns' `Outputs`, [`accounting`]) equals
//! what its disk saw: a turn per transaction attempted, a failed turn per transaction that did
//! not commit (an error, a storage fault, a crash before COMMIT) or whose COMMIT lied, the
//! rows written in them, an alarm fault per statement that failed outside a transaction; an
//! origin's late outcomes of turns reported committed equal its no-op results committed by
//! them (the losers of exactly-once races).
//! At quiescence: no schedule pending, no platform alarm armed, the orchestrator's queue
//! empty; every simple fetch ended in exactly one outcome (or was given up after every
//! retry); every orchestrated fetch and call whose messages were not lost has an outcome;
//! every direct fetch nothing prevented (a crash between its commit and the end of its
//! exchange, its start's outputs lost to a crash or a lying COMMIT, its resumed turn rolled
//! back: nothing retries it) ran its continuation, so exactly once with the rule above;
//! every one-shot schedule fired or was cancelled, exactly once; `no_op_count` equals the
//! no-ops that committed; the durable `sim_log` equals the committed observations; the
//! endpoint saw only requests whose start committed (the output gate); each executor ran a
//! turn per call delivered to it, and their requests equal the exchanges the endpoint
//! finished plus those that hung.
//!
//! # What it found
//!
//! 1. (Fixed.) An alarm run that fails before it claims a schedule (a storage fault on the
//!    claim) re-armed the past-due slot, so the platform alarm fired again at once: a hot
//!    loop for as long as the fault lasted (forever with a manual clock). Found at seed 27
//!    while the simulator's host still re-armed as the native host did. The engine now
//!    reports a retry after a backoff (`AlarmRun::retry_at`: 2 s doubling to 64 s) to every
//!    host. Tests `an_alarm_fault_is_retried_later_not_at_once` (here) and
//!    `an_alarm_fault_before_any_claim_is_retried_after_a_backoff_not_at_once` (lumenize-core).
//! 2. (Fixed.) When the engine's re-read of the alarm slot after a rollback failed, the
//!    rolled-back arming stayed in memory and the next committed turn flushed it: the then
//!    mirror row of a pending schedule was deleted and the platform alarm disarmed, so that schedule
//!    (e.g. a simple fetch's timeout) never fired. Seed 119 with `--reload-faults` (statement
//!    faults then also hit statements outside transactions). The slot now holds the value
//!    from before the turn, is marked stale, and is re-read inside the next turn's
//!    transaction before the handler runs. Tests
//!    `a_failed_slot_reread_after_rollback_does_not_lose_the_alarm` (here) and
//!    `a_failed_slot_reread_after_a_rollback_does_not_lose_the_alarm` (lumenize-core).
//! 3. The orchestrated baseline's double outcome happens in both orders: a result after the
//!    NoReply (documented), and a NoReply after the result when the delivery report is lost
//!    or late (not documented). Both are counted in `orch_double`, not violations.
//! 4. (Fixed.) An alarm step whose claim turn's COMMIT lied: the engine recorded the claimed
//!    schedule as failed (`record_failure`, a 2 s backoff), although its continuation and a
//!    cron's move to its next time had committed, so the cron fired again 2 s after its tick,
//!    before its next time. Seed 19 (before backward clocks existed), the first seed with
//!    lying commits on. A failed COMMIT's outcome is unknown: the step now records nothing
//!    and stops with a retry after the backoff, as after a fault before the claim; the retry
//!    finds what committed. (A real failed COMMIT no longer counts toward giving a schedule
//!    up, as no other storage fault does.) Test
//!    `a_fired_schedule_whose_commit_reports_failure_is_not_recorded_as_failed`
//!    (lumenize-core); mutant `failure-after-unknown-commit` puts it back.
//! 5. (Fixed.) A lying COMMIT whose slot re-read then failed (`--reload-faults`, seed 956
//!    then): the slot kept its value from before the turn and the host was told no change,
//!    so a schedule the COMMIT wrote had no platform alarm and fired only if another message
//!    reached the object (never, for a simple fetch whose executor call was in the lost
//!    outbox). The engine now tells the host to arm a retry (2 s, or the old value if
//!    sooner), and `TurnEngine::alarm` runs one step on an unknown slot even when nothing is
//!    due, which re-reads it. Test
//!    `a_schedule_committed_by_a_lying_commit_fires_even_if_the_slot_cannot_be_reread`
//!    (lumenize-core).
//!
//! Clocks going back found nothing: every invariant above held over 20,000 seeds (with and
//! without `--reload-faults`). Nor did the direct fetch and the turn effects it rides on:
//! 10,000 seeds at the default size, 10,000 with `--reload-faults` and 10,000 at 24
//! operations, about 230,000 direct fetches (about 2,500 lost to a crash mid-fetch, as
//! documented), without a violation.
//!
//! # Not simulated (yet)
//!
//! Hibernation and the open-object limit (so not the direct fetch keeping its object awake);
//! bounded mailboxes (overload refusals); real HTTP (the endpoint is a model); several processes sharing a database
//! file; torn writes; a clock that goes back while a turn runs (a turn reads it once).
#![warn(missing_docs)]

pub mod accounting;
pub mod direct;
pub mod faults;
pub mod host;
pub mod objects;
pub mod oracle;
pub mod rng;
pub mod storage;
pub mod trace;

use sha2::{Digest, Sha256};

/// A deliberately broken rule, to prove the simulator catches it. After `None`, nine are the
/// turn engine's own (`lumenize-core` feature `sim-mutants`, selected per thread); the others
/// break the simulator's host and the result path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mutant {
    /// No mutant: the real rules.
    None,
    /// Engine: a fired one-shot schedule is put back after its continuation committed, so
    /// it can run again.
    DoubleContinuation,
    /// Engine: a turn that rolled back still releases its outbox (the output gate broken).
    OutboxBeforeCommit,
    /// Engine: after a rollback the alarm slot is not re-read.
    StaleAlarmSlot,
    /// Engine: when a group's shared commit fails, the messages whose savepoints were kept
    /// still release their outboxes (group commit without the output gate).
    GroupOutputsBeforeCommit,
    /// Engine: a failed COMMIT is taken for a clean rollback (the slot is rewound in memory,
    /// not re-read): only a lying commit shows it.
    FailedCommitRewinds,
    /// Engine: an alarm step whose claim turn's COMMIT failed records the schedule as failed
    /// (finding 4 put back): only a lying commit shows it.
    FailureAfterUnknownCommit,
    /// Engine: a message whose statement makes SQLite roll back the whole transaction fails
    /// its whole group (the fix of a hostile message failing its group put back): only a
    /// hostile message shows it.
    StatementRollbackFailsGroup,
    /// Engine: a turn or a group's message that rolled back still releases the effects it
    /// queued (`Ctx::after_commit`): a direct fetch starts for a start that never committed.
    EffectsOfRolledBackTurn,
    /// Engine: the effects the messages of a group's spoiled first run queued (the run a
    /// hostile message rolled back) are released besides those of their rerun: a direct
    /// fetch starts twice.
    RerunReleasesSpoiledEffects,
    /// Host: a committed turn's alarm change is never pushed to the platform alarm.
    LostAlarmChange,
    /// Result path: the executor's result reads the timeout alarm instead of claiming it
    /// (`get_schedule` for `cancel_schedule`), so the alarm can run the continuation again.
    UnclaimedResult,
    /// Host: the outputs of the first turn that rolled back are left out of the accounting.
    LostAccounting,
    /// Host: the first direct fetch a committed turn released is never started (the
    /// exactly-once rule of a direct fetch nothing prevented).
    LostEffect,
    /// Host: when the platform alarm fires, the earliest schedule runs even if the clock says
    /// it is not due yet (the timer is trusted to fire on time, which a clock that went back
    /// makes false).
    TrustedAlarm,
}

impl Mutant {
    /// The engine's mutant, if it is one.
    fn engine(self) -> Option<lumenize_core::turn::Mutant> {
        use lumenize_core::turn::Mutant as M;
        match self {
            Mutant::DoubleContinuation => Some(M::DoubleContinuation),
            Mutant::OutboxBeforeCommit => Some(M::OutboxBeforeCommit),
            Mutant::StaleAlarmSlot => Some(M::StaleAlarmSlot),
            Mutant::GroupOutputsBeforeCommit => Some(M::GroupOutputsBeforeCommit),
            Mutant::FailedCommitRewinds => Some(M::FailedCommitRewinds),
            Mutant::FailureAfterUnknownCommit => Some(M::FailureAfterUnknownCommit),
            Mutant::StatementRollbackFailsGroup => Some(M::StatementRollbackFailsGroup),
            Mutant::EffectsOfRolledBackTurn => Some(M::EffectsOfRolledBackTurn),
            Mutant::RerunReleasesSpoiledEffects => Some(M::RerunReleasesSpoiledEffects),
            Mutant::None
            | Mutant::LostAlarmChange
            | Mutant::UnclaimedResult
            | Mutant::LostAccounting
            | Mutant::LostEffect
            | Mutant::TrustedAlarm => None,
        }
    }
}

/// What one run is.
#[derive(Clone, Debug)]
pub struct Options {
    /// Client operations per seed (about 85% of them fetches).
    pub ops: u32,
    /// The mutant.
    pub mutant: Mutant,
    /// Faults on (the seed picks the rates) or off.
    pub faults: bool,
    /// Keep the readable trace.
    pub trace: bool,
    /// Most events per seed before it counts as not reaching quiescence.
    pub max_events: u64,
    /// Let statement faults hit statements outside transactions too, such as the engine's
    /// re-read of the alarm slot after a rollback (finding 2, fixed: the slot is then
    /// re-read inside the next turn).
    pub reload_faults: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ops: 120,
            mutant: Mutant::None,
            faults: true,
            trace: false,
            max_events: 200_000,
            reload_faults: false,
        }
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// Fetches started (committed), all designs.
    pub fetches: u64,
    /// `call_raw` calls started.
    pub calls: u64,
    /// Schedules started (one-shot and cron).
    pub schedules: u64,
    /// Orchestrated fetches with a late result after their NoReply (documented).
    pub orch_late: u64,
    /// Direct fetches started (committed).
    pub direct: u64,
    /// Direct fetches whose continuation was lost to a crash mid-fetch (documented).
    pub direct_lost: u64,
    /// Host counters.
    pub stats: host::Stats,
    /// The host's accounting of the turns' outputs, summed over objects and executors.
    pub accounted: accounting::Account,
    /// Violations found.
    pub violations: Vec<String>,
    /// The digest of the seed's trace.
    pub digest: [u8; 32],
    /// The readable trace (when asked for).
    pub trace: Vec<String>,
}

/// Simulates one seed.
pub fn run_seed(seed: u64, opts: &Options) -> SeedReport {
    let mut sim = host::Sim::new(seed, opts.ops, opts.mutant, opts.faults, opts.trace);
    sim.set_reload_faults(opts.reload_faults);
    objects::set_mutant(opts.mutant);
    lumenize_core::turn::select_mutant(opts.mutant.engine());
    sim.run(opts.max_events);
    lumenize_core::turn::select_mutant(None);
    let count = |f: &dyn Fn(objects::Kind) -> bool| {
        sim.oracle
            .tags
            .values()
            .filter(|r| r.kind.is_some_and(f))
            .count() as u64
    };
    use objects::Kind::*;
    SeedReport {
        seed,
        fetches: count(&|k| matches!(k, Simple | SimpleRpc | Orchestrated | Direct)),
        direct: count(&|k| k == Direct),
        direct_lost: sim.oracle.direct_lost,
        calls: count(&|k| k == Call),
        schedules: count(&|k| matches!(k, Once | Cron)),
        orch_late: sim.oracle.orch_late + sim.oracle.orch_timeout_after_result,
        stats: sim.stats.clone(),
        accounted: {
            let mut total = sim.ledger.total();
            total += sim.executors.total();
            total
        },
        violations: sim.oracle.violations.clone(),
        digest: sim.trace.digest(),
        trace: sim.trace.lines().to_vec(),
    }
}

/// The totals of a run of consecutive seeds.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Fetches started.
    pub fetches: u64,
    /// Calls started.
    pub calls: u64,
    /// Schedules started.
    pub schedules: u64,
    /// Turns run.
    pub turns: u64,
    /// Crashes.
    pub crashes: u64,
    /// Messages lost.
    pub lost: u64,
    /// Messages duplicated.
    pub duplicated: u64,
    /// Storage faults injected.
    pub storage_faults: u64,
    /// Hostile messages that joined a group (their `INSERT OR ROLLBACK` rolled it back).
    pub hostile: u64,
    /// Late orchestrated results (documented weakness).
    pub orch_late: u64,
    /// Direct fetches started (also counted in `fetches`).
    pub direct: u64,
    /// Direct continuations lost to a crash mid-fetch (the design's trade-off).
    pub direct_lost: u64,
    /// Turns rolled back, as the host accounted them.
    pub failed_turns: u64,
    /// Rows written, as the host accounted them.
    pub rows_written: u64,
    /// Late outcomes (the losers of exactly-once races), as the host accounted them.
    pub late_outcomes: u64,
    /// Executor requests, as the host accounted them.
    pub requests: u64,
    /// Events.
    pub events: u64,
    /// Seeds with violations.
    pub failed_seeds: Vec<u64>,
    /// Violations.
    pub violations: u64,
    /// The first failing seed's first violation.
    pub first_violation: Option<String>,
    /// Digest of the seeds' digests, in seed order.
    pub digest: [u8; 32],
}

impl Summary {
    /// The contract's last line: `sim: seeds=N fetches=F ... violations=V ... trace=HEX`.
    pub fn line(&self) -> String {
        let hex: String = self.digest.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "sim: seeds={} fetches={} calls={} schedules={} turns={} events={} crashes={} \
             lost={} duplicated={} storage_faults={} hostile={} orch_double={} direct={} \
             direct_lost={} failed_turns={} \
             rows_written={} late_outcomes={} requests={} violations={} trace={hex}",
            self.seeds,
            self.fetches,
            self.calls,
            self.schedules,
            self.turns,
            self.events,
            self.crashes,
            self.lost,
            self.duplicated,
            self.storage_faults,
            self.hostile,
            self.orch_late,
            self.direct,
            self.direct_lost,
            self.failed_turns,
            self.rows_written,
            self.late_outcomes,
            self.requests,
            self.violations
        )
    }
}

/// Runs seeds `start..start + n` on `jobs` threads (each seed on one thread) and sums them.
/// The result does not depend on `jobs`.
pub fn run_seeds(start: u64, n: u64, jobs: usize, opts: &Options) -> Summary {
    let jobs = jobs.max(1) as u64;
    let mut reports: Vec<(u64, [u8; 32], SeedReport)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|j| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    let mut i = j;
                    while i < n {
                        let mut r = run_seed(start + i, opts);
                        r.trace.clear();
                        out.push((start + i, r.digest, r));
                        i += jobs;
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    reports.sort_by_key(|r| r.0);
    let mut sum = Summary {
        seeds: n,
        ..Summary::default()
    };
    let mut h = Sha256::new();
    for (seed, digest, r) in &reports {
        h.update(seed.to_le_bytes());
        h.update(digest);
        sum.fetches += r.fetches;
        sum.calls += r.calls;
        sum.schedules += r.schedules;
        sum.turns += r.stats.turns;
        sum.events += r.stats.events;
        sum.crashes += r.stats.crashes;
        sum.lost += r.stats.lost;
        sum.duplicated += r.stats.duplicated;
        sum.storage_faults += r.stats.storage_faults;
        sum.hostile += r.stats.hostile;
        sum.orch_late += r.orch_late;
        sum.direct += r.direct;
        sum.direct_lost += r.direct_lost;
        sum.failed_turns += r.accounted.failed_turns;
        sum.rows_written += r.accounted.rows_written;
        sum.late_outcomes += r.accounted.late_outcomes;
        sum.requests += r.accounted.requests;
        if !r.violations.is_empty() {
            sum.violations += r.violations.len() as u64;
            sum.failed_seeds.push(*seed);
            if sum.first_violation.is_none() {
                sum.first_violation = r.violations.first().cloned();
            }
        }
    }
    if reports.len() as u64 != n {
        // A seed's thread panicked: that is a failure too.
        sum.violations += 1;
        sum.first_violation
            .get_or_insert_with(|| "a simulation thread panicked".into());
    }
    sum.digest = h.finalize().into();
    sum
}
