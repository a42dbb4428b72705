//! Fixed-size counts of what the runtime reports. The reports themselves are `tracing` events
//! (see the [runtime docs](super#diagnostics)); these counters are what stays in memory: one
//! integer per kind, however long the runtime lives and however often things fail.

use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of event the runtime counts (one `tracing` event each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A call whose sender asked for no reply failed.
    UnansweredFailure,
    /// A continuation (the reply to a call, delivered back) failed.
    FailedContinuation,
    /// The rest of an invocation resumed after async work failed.
    FailedResume,
    /// A fired schedule failed (and was recorded for a retry, or as failed).
    FailedSchedule,
    /// An alarm run failed before it could claim a schedule, or the alarm slot could not be
    /// re-read after a rollback.
    AlarmFault,
    /// An object's database could not be opened.
    OpenFailure,
    /// A worker or RPC target handler panicked.
    Panic,
    /// A message went to a worker or RPC target binding that does not exist.
    UnknownTarget,
    /// A message nobody waits for (a fire-and-forget call, a continuation delivery, resumed
    /// work, a call whose reply address is unusable) was dropped: its target refused it
    /// (overloaded, unknown, cannot be opened).
    DroppedMessage,
    /// An outcome arrived after the other path of a race had won, and was ignored.
    LateOutcome,
}

const KINDS: usize = 10;

/// The live counters, shared by the runtime's threads.
#[derive(Default)]
pub(crate) struct CounterCells([AtomicU64; KINDS]);

impl CounterCells {
    pub fn add(&self, kind: Kind, n: u64) {
        self.0[kind as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Counters {
        Counters(std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed)))
    }
}

/// How many times each kind of diagnostic event happened since the runtime started: a
/// snapshot from [`Runtime::counters`](super::Runtime::counters).
///
/// The events themselves go to `tracing` (with the address, schedule id and error as fields);
/// these counts let a program or a test check for them without keeping any of them.
///
/// ```
/// use lumenize_core::prelude::*;
/// let rt = Runtime::builder().build().unwrap();
/// assert_eq!(rt.counters().failures(), 0);
/// assert_eq!(rt.counters().late_outcomes(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters([u64; KINDS]);

impl Counters {
    fn get(&self, kind: Kind) -> u64 {
        self.0[kind as usize]
    }

    /// Calls that failed when their sender asked for no reply (so nobody else saw it).
    pub fn unanswered_failures(&self) -> u64 {
        self.get(Kind::UnansweredFailure)
    }

    /// Continuations that failed when their reply was delivered.
    pub fn failed_continuations(&self) -> u64 {
        self.get(Kind::FailedContinuation)
    }

    /// Invocations resumed after async work (`NativeExt::spawn`) that then failed.
    pub fn failed_resumes(&self) -> u64 {
        self.get(Kind::FailedResume)
    }

    /// Fired schedules whose callback failed (each failure counts, retries included).
    pub fn failed_schedules(&self) -> u64 {
        self.get(Kind::FailedSchedule)
    }

    /// Alarm runs that failed before claiming a schedule, and alarm slots that could not be
    /// re-read after a rollback.
    pub fn alarm_faults(&self) -> u64 {
        self.get(Kind::AlarmFault)
    }

    /// Objects whose database could not be opened.
    pub fn open_failures(&self) -> u64 {
        self.get(Kind::OpenFailure)
    }

    /// Worker and RPC target handlers that panicked. (An object's panic is the failure of its
    /// turn, answered to its caller or counted as unanswered.)
    pub fn panics(&self) -> u64 {
        self.get(Kind::Panic)
    }

    /// Messages to worker or RPC target bindings that do not exist.
    pub fn unknown_targets(&self) -> u64 {
        self.get(Kind::UnknownTarget)
    }

    /// Messages nobody waited for (fire-and-forget calls, continuation deliveries, resumed
    /// work) that were dropped because their target refused them: a full mailbox, an
    /// unknown or unusable address, an object that could not be opened.
    pub fn dropped_messages(&self) -> u64 {
        self.get(Kind::DroppedMessage)
    }

    /// Outcomes that arrived after the other path of a race had already won (a fetch result
    /// after its timeout fired, an orchestrator's late delivery report): ignored, as designed,
    /// and not failures.
    pub fn late_outcomes(&self) -> u64 {
        self.get(Kind::LateOutcome)
    }

    /// Every failure counted above (everything but [`late_outcomes`](Self::late_outcomes)).
    pub fn failures(&self) -> u64 {
        self.0.iter().sum::<u64>() - self.late_outcomes()
    }
}
