//! What turns hand back to their host: [`Turn`] (one turn), [`AlarmRun`] (the turns of an
//! alarm) and the committed [`Outputs`] they carry.

use crate::alarms::fire::FailureOutcome;
use crate::context::Effect;
use crate::ocan::ChainError;
use crate::storage::RowStats;
use crate::transport::Outgoing;

/// What committed turns leave for their host to do, plus counts about them.
///
/// Invariant: the outbox and the effects come from committed turns only, in the order they
/// were queued; `alarm` is `Some` only when a committed turn changed the slot, for an alarm run
/// (which always reports the alarm to re-arm), or when a rolled-back turn's re-read found a
/// committed value other than the one the host armed (a COMMIT that wrote, then failed).
/// Counts cover every turn, committed or not.
///
/// ```
/// use lumenize_core::turn::Outputs;
/// let mut out = Outputs::default();
/// assert!(out.take_outbox().is_empty());
/// assert_eq!((out.alarm_change(), out.turns(), out.failed_turns()), (None, 0, 0));
/// ```
#[derive(Debug, Default)]
#[must_use = "a turn's outbox and alarm change must be sent and applied by the host"]
pub struct Outputs {
    outbox: Vec<Outgoing>,
    effects: Vec<Effect>,
    alarm: Option<Option<i64>>,
    late_outcomes: u64,
    rows: RowStats,
    turns: u64,
    failed_turns: u64,
    alarm_faults: u64,
}

impl Outputs {
    /// The messages to send, in order (committed turns only).
    pub fn outbox(&self) -> &[Outgoing] {
        &self.outbox
    }

    /// Takes the messages to send.
    pub fn take_outbox(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outbox)
    }

    /// Takes the backend's own work queued by committed turns ([`Ctx::after_commit`]), to
    /// perform after the outbox is sent.
    ///
    /// [`Ctx::after_commit`]: crate::context::Ctx::after_commit
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Adds a committed turn's effects.
    pub(crate) fn add_effects(&mut self, effects: Vec<Effect>) {
        self.effects.extend(effects);
    }

    /// `Some(at)` when the platform alarm must be set to `at` (`None`: deleted); `None` when
    /// it stays as it is.
    pub fn alarm_change(&self) -> Option<Option<i64>> {
        self.alarm
    }

    /// Outcomes that arrived after the other path of a race had won (ignored by design).
    pub fn late_outcomes(&self) -> u64 {
        self.late_outcomes
    }

    /// Rows read and written by these turns (the growth of [`Storage::stats`](crate::storage::Storage::stats)).
    pub fn rows(&self) -> RowStats {
        self.rows
    }

    /// Turns run (transactions attempted).
    pub fn turns(&self) -> u64 {
        self.turns
    }

    /// Turns rolled back (error, panic or failed commit).
    pub fn failed_turns(&self) -> u64 {
        self.failed_turns
    }

    /// Times the alarm slot could not be re-read after a rollback (a storage fault).
    pub fn alarm_faults(&self) -> u64 {
        self.alarm_faults
    }

    /// One turn's outputs.
    pub(crate) fn of_turn(
        committed: Option<(Vec<Outgoing>, Option<Option<i64>>)>,
        late_outcomes: u64,
        rows: RowStats,
        alarm_fault: bool,
    ) -> Outputs {
        let failed = committed.is_none();
        let (outbox, alarm) = committed.unwrap_or_default();
        Outputs {
            outbox,
            effects: Vec::new(),
            alarm,
            late_outcomes,
            rows,
            turns: 1,
            failed_turns: u64::from(failed),
            alarm_faults: u64::from(alarm_fault),
        }
    }

    /// One message's outputs in a group: `kept` when its savepoint was kept and the group
    /// committed (the group's alarm change, rows and faults travel on its last message).
    pub(crate) fn of_member(
        ran: bool,
        kept: bool,
        outbox: Vec<Outgoing>,
        alarm: Option<Option<i64>>,
        late_outcomes: u64,
        rows: RowStats,
        alarm_fault: bool,
    ) -> Outputs {
        Outputs {
            outbox,
            effects: Vec::new(),
            alarm,
            late_outcomes,
            rows,
            turns: u64::from(ran),
            failed_turns: u64::from(ran && !kept),
            alarm_faults: u64::from(alarm_fault),
        }
    }

    /// Appends a later turn's outputs (its alarm change, if any, replaces this one's).
    pub(crate) fn absorb(&mut self, later: Outputs) {
        self.outbox.extend(later.outbox);
        self.effects.extend(later.effects);
        if later.alarm.is_some() {
            self.alarm = later.alarm;
        }
        self.late_outcomes += later.late_outcomes;
        self.rows.rows_read += later.rows.rows_read;
        self.rows.rows_written += later.rows.rows_written;
        self.turns += later.turns;
        self.failed_turns += later.failed_turns;
        self.alarm_faults += later.alarm_faults;
    }

    /// Reports the slot whatever changed (an alarm run: firing consumed the platform alarm).
    pub(crate) fn force_alarm(&mut self, armed: Option<i64>) {
        self.alarm = Some(armed);
    }

    /// The `outbox-before-commit` mutant: release a rolled-back turn's messages.
    pub(crate) fn leak_outbox(&mut self, outbox: Vec<Outgoing>) {
        self.outbox = outbox;
    }
}

/// One turn: the handler's result and the outputs, which are empty unless it committed.
///
/// ```
/// # fn demo(turn: lumenize_core::turn::Turn<String>) {
/// let (result, mut outputs) = turn.into_parts();
/// if result.is_err() {
///     assert!(outputs.take_outbox().is_empty()); // rolled back: nothing to send
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a turn's outbox and alarm change must be sent and applied by the host"]
pub struct Turn<R> {
    result: Result<R, ChainError>,
    outputs: Outputs,
    panicked: bool,
    /// The body succeeded and the COMMIT failed: whether it committed is unknown.
    commit_failed: bool,
}

impl<R> Turn<R> {
    pub(crate) fn new(result: Result<R, ChainError>, outputs: Outputs, panicked: bool) -> Self {
        Turn {
            result,
            outputs,
            panicked,
            commit_failed: false,
        }
    }

    /// This turn after `earlier` (what earlier runs of the same message counted, which
    /// released nothing): the counts add up, this turn's outputs come last.
    pub(crate) fn after(mut self, earlier: Outputs) -> Self {
        let mut outputs = earlier;
        outputs.absorb(self.outputs);
        self.outputs = outputs;
        self
    }

    /// Marks a turn whose COMMIT failed after its body succeeded: its writes may be durable.
    pub(crate) fn with_commit_failed(mut self, failed: bool) -> Self {
        self.commit_failed = failed;
        self
    }

    /// Whether the COMMIT failed after the body succeeded (so the turn may have committed).
    pub(crate) fn commit_failed(&self) -> bool {
        self.commit_failed
    }

    /// The handler's result (`Err` also when the commit failed).
    pub fn result(&self) -> &Result<R, ChainError> {
        &self.result
    }

    /// Whether the handler panicked (the instance was discarded).
    pub fn panicked(&self) -> bool {
        self.panicked
    }

    /// The outputs.
    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    /// The outputs, to take the outbox from.
    pub fn outputs_mut(&mut self) -> &mut Outputs {
        &mut self.outputs
    }

    /// The result and the outputs.
    pub fn into_parts(self) -> (Result<R, ChainError>, Outputs) {
        (self.result, self.outputs)
    }
}

/// A schedule whose continuation failed, and what recording the failure did.
#[derive(Debug)]
pub struct ScheduleFailure {
    id: String,
    error: String,
    recorded: Result<FailureOutcome, ChainError>,
}

impl ScheduleFailure {
    pub(crate) fn new(
        id: String,
        error: String,
        recorded: Result<FailureOutcome, ChainError>,
    ) -> Self {
        ScheduleFailure {
            id,
            error,
            recorded,
        }
    }

    /// The schedule id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Why its continuation failed.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// The retry (or give-up) recorded in a second turn; `Err` when that turn failed too (the
    /// schedule then stays pending as it was).
    pub fn recorded(&self) -> &Result<FailureOutcome, ChainError> {
        &self.recorded
    }
}

/// The turns of an alarm run: the schedules that ran, those that failed, and the outputs of
/// all of its committed turns.
///
/// Invariant: `outputs().alarm_change()` is `Some` after [`TurnEngine::alarm`](super::TurnEngine::alarm)
/// and [`TurnEngine::trigger`](super::TurnEngine::trigger): the host re-arms the platform
/// alarm with it, since firing consumed it (the slot, or [`AlarmRun::retry_at`] after a
/// fault: never a past-due time that would fire again at once while the fault lasts).
///
/// ```
/// # fn demo(run: lumenize_core::turn::AlarmRun) {
/// for f in run.failures() {
///     eprintln!("schedule {} failed: {}", f.id(), f.error());
/// }
/// let ran: &[String] = run.ran();
/// # }
/// ```
#[derive(Debug, Default)]
#[must_use = "an alarm run's outbox and alarm must be sent and applied by the host"]
pub struct AlarmRun {
    ran: Vec<String>,
    failures: Vec<ScheduleFailure>,
    fault: Option<ChainError>,
    exhausted: bool,
    retry: Option<i64>,
    outputs: Outputs,
}

impl AlarmRun {
    /// Ids of the schedules whose continuation ran and committed, in order.
    pub fn ran(&self) -> &[String] {
        &self.ran
    }

    /// Schedules whose continuation failed (each failure counts, retries included).
    pub fn failures(&self) -> &[ScheduleFailure] {
        &self.failures
    }

    /// Why the run stopped before it could claim a schedule (a storage fault), if it did.
    pub fn fault(&self) -> Option<&ChainError> {
        self.fault.as_ref()
    }

    /// `Some(at)` when the run stopped at a fault (a storage failure before the claim, or an
    /// alarm slot that could not be re-read): the alarm is retried at `at`, later than now
    /// (a backoff), and the outputs' alarm change says so. Re-arming the past-due slot
    /// instead would fire again at once, for as long as the fault lasts.
    pub fn retry_at(&self) -> Option<i64> {
        self.retry
    }

    /// True when the run stopped because nothing more was due (or a fault stopped it), rather
    /// than at its limit.
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// The outputs of its committed turns, and counts over all of them.
    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    /// The outputs, to take the outbox from.
    pub fn outputs_mut(&mut self) -> &mut Outputs {
        &mut self.outputs
    }

    /// Appends one step (see [`TurnEngine::fire_next`](super::TurnEngine::fire_next)).
    pub(crate) fn absorb(&mut self, step: AlarmRun) {
        self.ran.extend(step.ran);
        self.failures.extend(step.failures);
        if step.fault.is_some() {
            self.fault = step.fault;
        }
        self.exhausted |= step.exhausted;
        if step.retry.is_some() {
            self.retry = step.retry;
        }
        self.outputs.absorb(step.outputs);
    }

    pub(crate) fn ran_one(&mut self, id: String) {
        self.ran.push(id);
    }

    pub(crate) fn failed_one(&mut self, f: ScheduleFailure) {
        self.failures.push(f);
    }

    pub(crate) fn stop(&mut self, fault: Option<ChainError>) {
        self.exhausted = true;
        self.fault = fault;
    }

    /// Stops at a fault, retrying the alarm at `at`.
    pub(crate) fn retry_later(&mut self, at: i64) {
        self.exhausted = true;
        self.retry = Some(at);
        self.outputs.force_alarm(Some(at));
    }

    pub(crate) fn absorb_outputs(&mut self, out: Outputs) {
        self.outputs.absorb(out);
    }
}
