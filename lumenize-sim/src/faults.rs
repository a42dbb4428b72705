//! Fault rates, picked per seed: each fault kind is off for a quarter of the seeds and
//! otherwise gets a rate drawn up to its maximum (FoundationDB's "buggify" idea: seeds that
//! stress one thing hard find more than seeds that stress everything a little).

use crate::rng::Rng;
use std::fmt;

/// The fault rates of one seed, in parts per million (per message, per turn, per job...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Largest base latency of a hop, ms (random latency per message reorders them).
    pub jitter_ms: i64,
    /// Per message: an extra delay of up to `max_delay_ms`.
    pub delay_ppm: u32,
    /// The longest extra delay, ms (longer than fetch timeouts, so late results happen).
    pub max_delay_ms: i64,
    /// Per message: lost.
    pub loss_ppm: u32,
    /// Per message on a hop that tolerates it: delivered twice.
    pub dup_ppm: u32,
    /// Per executor call: the executor fails (the call is refused, nothing is fetched).
    pub exec_fail_ppm: u32,
    /// Per job: the executor answers only after the origin's deadline.
    pub exec_slow_ppm: u32,
    /// Per job: the executor never answers.
    pub exec_hang_ppm: u32,
    /// Per simple-design job: the executor delivers its outcome twice.
    pub exec_twice_ppm: u32,
    /// Per job: the endpoint times out (the executor aborts at its timeout).
    pub ep_timeout_ppm: u32,
    /// Per job: the endpoint refuses the connection.
    pub ep_refused_ppm: u32,
    /// Per job: the endpoint answers a body over the cap.
    pub ep_huge_ppm: u32,
    /// Per job: the endpoint answers 500.
    pub ep_status_ppm: u32,
    /// Per turn: the object crashes at one of the crash points.
    pub crash_ppm: u32,
    /// Per turn: one of its first statements fails.
    pub stmt_fail_ppm: u32,
    /// Per turn: its COMMIT fails.
    pub commit_fail_ppm: u32,
    /// Per turn: its COMMIT commits, then reports failure (a lying commit).
    pub commit_lie_ppm: u32,
    /// Per open: the open (schema setup) fails.
    pub open_fail_ppm: u32,
    /// Per turn: the disk becomes full (writes fail) for up to `disk_full_ms`.
    pub disk_full_ppm: u32,
    /// How long a full disk lasts at most, ms.
    pub disk_full_ms: i64,
    /// Clock jumps forward during the run.
    pub clock_jumps: u32,
    /// The largest jump, ms.
    pub max_jump_ms: i64,
    /// Clock jumps backward during the run.
    pub back_jumps: u32,
    /// The largest backward jump, ms.
    pub max_back_ms: i64,
    /// Per continuation tag: the continuation fails the first time it runs.
    pub flaky_ppm: u32,
    /// Messages to one object arriving within this many ms of the first are run as one
    /// group (one transaction, a savepoint each), as a host drains its mailbox.
    pub group_ms: i64,
    /// Per group of an origin's messages: a hostile co-tenant's message joins it, whose
    /// statement makes SQLite roll back the whole transaction (`INSERT OR ROLLBACK`).
    pub hostile_ppm: u32,
}

impl Faults {
    /// No faults at all.
    pub fn none() -> Faults {
        Faults {
            jitter_ms: 1,
            ..Faults::default()
        }
    }

    /// The rates of one seed.
    pub fn pick(rng: &mut Rng) -> Faults {
        let mut f = Faults {
            delay_ppm: rate(rng, 100_000),
            loss_ppm: rate(rng, 50_000),
            dup_ppm: rate(rng, 50_000),
            exec_fail_ppm: rate(rng, 50_000),
            exec_slow_ppm: rate(rng, 50_000),
            exec_hang_ppm: rate(rng, 30_000),
            exec_twice_ppm: rate(rng, 50_000),
            ep_timeout_ppm: rate(rng, 100_000),
            ep_refused_ppm: rate(rng, 100_000),
            ep_huge_ppm: rate(rng, 50_000),
            ep_status_ppm: rate(rng, 100_000),
            crash_ppm: rate(rng, 20_000),
            stmt_fail_ppm: rate(rng, 30_000),
            commit_fail_ppm: rate(rng, 20_000),
            open_fail_ppm: rate(rng, 200_000),
            disk_full_ppm: rate(rng, 5_000),
            flaky_ppm: rate(rng, 100_000),
            clock_jumps: rate(rng, 3),
            ..Faults::default()
        };
        f.jitter_ms = rng.range(1, 50);
        f.max_delay_ms = rng.range(100, 10_000);
        f.disk_full_ms = rng.range(10, 3_000);
        f.max_jump_ms = rng.range(1_000, 60_000);
        f.group_ms = rng.range(0, 20);
        // Drawn last, so the older kinds keep the rates they had before these existed.
        f.commit_lie_ppm = rate(rng, 20_000);
        f.back_jumps = rate(rng, 3);
        f.max_back_ms = rng.range(100, 10_000);
        f.hostile_ppm = rate(rng, 500_000);
        f
    }
}

/// Off for a quarter of the seeds, else a rate up to `max`.
fn rate(rng: &mut Rng, max: u32) -> u32 {
    if rng.below(4) == 0 {
        0
    } else {
        rng.below(u64::from(max) + 1) as u32
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "jitter={}ms delay={}ppm/{}ms loss={} dup={} exec[fail={} slow={} hang={} twice={}] \
             endpoint[timeout={} refused={} huge={} 500={}] crash={} storage[stmt={} commit={} \
             lie={} open={} full={}/{}ms] jumps={}x{}ms back={}x{}ms flaky={} group={}ms \
             hostile={}",
            self.jitter_ms,
            self.delay_ppm,
            self.max_delay_ms,
            self.loss_ppm,
            self.dup_ppm,
            self.exec_fail_ppm,
            self.exec_slow_ppm,
            self.exec_hang_ppm,
            self.exec_twice_ppm,
            self.ep_timeout_ppm,
            self.ep_refused_ppm,
            self.ep_huge_ppm,
            self.ep_status_ppm,
            self.crash_ppm,
            self.stmt_fail_ppm,
            self.commit_fail_ppm,
            self.commit_lie_ppm,
            self.open_fail_ppm,
            self.disk_full_ppm,
            self.disk_full_ms,
            self.clock_jumps,
            self.max_jump_ms,
            self.back_jumps,
            self.max_back_ms,
            self.flaky_ppm,
            self.group_ms,
            self.hostile_ppm
        )
    }
}
