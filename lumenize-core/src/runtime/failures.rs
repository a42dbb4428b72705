//! What failed where nobody was waiting for the answer, kept for programs and tests to read:
//! [`Runtime::failures`](super::Runtime::failures), and what [`settle`](super::Runtime::settle)
//! returns ([`Settled`]: those since the previous settle). Each is also a `tracing` event and a count in
//! [`Counters`](super::Counters); this log keeps the last [`FAILURE_LOG_CAPACITY`] of them, so
//! its memory is bounded however long the runtime lives.

use crate::alarms::fire::FailureOutcome;
use crate::transport::Address;
use std::collections::VecDeque;
use std::sync::Mutex;

/// How many failures the runtime keeps (the oldest are dropped first).
pub const FAILURE_LOG_CAPACITY: usize = 256;

/// What kind of work failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// A call whose sender asked for no reply (`Stub::send`, a `call_raw` without
    /// continuation).
    UnansweredCall,
    /// A continuation, run when the reply to its call came back.
    Continuation,
    /// The rest of an invocation resumed after async work (`NativeExt::spawn`).
    ResumedWork,
    /// A fired schedule's continuation ([`Failure::schedule`] says what happens next).
    Schedule,
}

/// What became of a schedule after its continuation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleFate {
    /// It runs again at `at` (ms): retry number `attempt` of 6 (2, 4 ... 64 s later).
    Retry {
        /// Which retry.
        attempt: u32,
        /// When, in ms of the runtime's clock.
        at: i64,
    },
    /// Given up and recorded in the object's failures table (see
    /// [`Stub::alarm_failures`](super::Stub::alarm_failures)); a cron schedule moves on to its
    /// next time.
    GaveUp,
    /// The failure could not be recorded (a storage fault): the schedule stays as it was and
    /// fires again.
    Unrecorded,
}

/// One failure nobody was waiting for. A plain record: every field is what the runtime saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What failed.
    pub kind: FailureKind,
    /// Where it ran.
    pub address: Address,
    /// For [`FailureKind::Schedule`]: the schedule id and what happens to it next.
    pub schedule: Option<(String, ScheduleFate)>,
    /// The error's text.
    pub error: String,
    /// When, in ms of the runtime's clock.
    pub at_ms: i64,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} on {}", self.kind, self.address)?;
        if let Some((id, fate)) = &self.schedule {
            write!(f, " (schedule {id}, {fate:?})")?;
        }
        write!(f, ": {}", self.error)
    }
}

/// The bounded log, with a sequence number per failure so `settle` can take those that
/// happened while it waited.
#[derive(Default)]
pub(crate) struct FailureLog(Mutex<LogInner>);

#[derive(Default)]
struct LogInner {
    /// Sequence number of the next failure; `kept` holds the last ones before it.
    next: u64,
    kept: VecDeque<Failure>,
}

impl FailureLog {
    fn push(&self, failure: Failure) {
        if let Ok(mut log) = self.0.lock() {
            if log.kept.len() == FAILURE_LOG_CAPACITY {
                log.kept.pop_front();
            }
            log.kept.push_back(failure);
            log.next += 1;
        }
    }

    /// The sequence number the next failure will get.
    pub(crate) fn mark(&self) -> u64 {
        self.0.lock().map(|l| l.next).unwrap_or(0)
    }

    /// The failures numbered `from..to` that are still kept, and how many of them were
    /// dropped to stay within the capacity.
    pub(crate) fn between(&self, from: u64, to: u64) -> (Vec<Failure>, u64) {
        let Ok(log) = self.0.lock() else {
            return (Vec::new(), 0);
        };
        let first_kept = log.next - log.kept.len() as u64;
        let skip = from.saturating_sub(first_kept) as usize;
        let take = to.saturating_sub(from.max(first_kept)) as usize;
        let dropped = first_kept.min(to).saturating_sub(from);
        (
            log.kept.iter().skip(skip).take(take).cloned().collect(),
            dropped,
        )
    }
}

impl FailureLog {
    /// Keeps a failure (the caller counts it and emits its `tracing` event).
    pub(crate) fn record(
        &self,
        kind: FailureKind,
        address: &Address,
        schedule: Option<(String, ScheduleFate)>,
        error: String,
        at_ms: i64,
    ) {
        self.push(Failure {
            kind,
            address: address.clone(),
            schedule,
            error,
            at_ms,
        });
    }
}

impl ScheduleFate {
    /// What recording a schedule's failure did (`None`: the recording turn failed too).
    pub(crate) fn of(recorded: Option<&FailureOutcome>) -> ScheduleFate {
        match recorded {
            Some(FailureOutcome::Retry { attempt, at }) => ScheduleFate::Retry {
                attempt: *attempt,
                at: *at,
            },
            // Gone: cancelled meanwhile, so it will not fire again either.
            Some(FailureOutcome::GaveUp { .. } | FailureOutcome::Gone) => ScheduleFate::GaveUp,
            None => ScheduleFate::Unrecorded,
        }
    }
}

/// What [`Runtime::settle`](super::Runtime::settle) saw: the failures since the previous
/// settle (of work nobody waits for: continuations, schedules, unanswered calls, resumed
/// work).
///
/// ```
/// use lumenize_core::prelude::*;
/// use std::time::Duration;
/// # #[derive(Default)] struct Counter;
/// # lumenize_core::handlers!(Counter {});
/// let rt = Runtime::builder().object("COUNTER", |_| Counter).build().unwrap();
/// let settled = rt.settle(Duration::from_secs(5)).unwrap();
/// assert!(settled.is_clean(), "{settled}");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    failures: Vec<Failure>,
    dropped: u64,
}

impl Settled {
    pub(crate) fn new(failures: Vec<Failure>, dropped: u64) -> Settled {
        Settled { failures, dropped }
    }

    /// The failures, oldest first (at most [`FAILURE_LOG_CAPACITY`]).
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// Failures beyond those kept (more than [`FAILURE_LOG_CAPACITY`] happened).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// True when nothing failed.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty() && self.dropped == 0
    }

    /// `Ok` when nothing failed, else the report as an error (for `?` in tests and programs
    /// that treat any failure as fatal).
    pub fn check(self) -> Result<(), Settled> {
        if self.is_clean() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for Settled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_clean() {
            return write!(f, "settled, nothing failed");
        }
        write!(
            f,
            "settled with {} failure(s)",
            self.failures.len() as u64 + self.dropped
        )?;
        for failure in &self.failures {
            write!(f, "\n- {failure}")?;
        }
        if self.dropped > 0 {
            write!(f, "\n- and {} more not kept", self.dropped)?;
        }
        Ok(())
    }
}

impl std::error::Error for Settled {}
