//! Per-object and per-worker accounting, measured by the runtime itself, and Cloudflare's
//! published prices to turn it into dollars.
//!
//! Every figure is counted where the work happens:
//!
//! | field | counted | Cloudflare equivalent |
//! |---|---|---|
//! | `requests` | +1 per message an object/worker handles: a `call_raw` (or stub call), a delivered continuation, an alarm invocation (one per firing of the object's alarm, however many schedules it runs; `trigger_alarms` also counts 1). Not a resumed invocation ([`MessageSender::resume_wire`](super::MessageSender::resume_wire), e.g. a direct fetch's continuation): on Cloudflare the code after an awaited `fetch()` is part of the same request | DO requests ($0.15/M; alarm invocations count) or Worker requests ($0.30/M) |
//! | `awake` | wall time during which the object was awake: the union of its turns (from message pickup to commit) and of any [`AwakeGuard`](super::AwakeGuard) it holds (e.g. while it awaits a direct fetch, until the continuation's turn has run). Between messages an object has nothing pending, so it would be hibernateable and is not billed | DO duration, billed at 128 MB: GB-s = seconds × 0.125 ($12.50/M GB-s). Workers are not billed for duration |
//! | `cpu` | thread CPU time (`CLOCK_THREAD_CPUTIME_ID`) spent in turns (decoding, the handler, SQLite, encoding, commit) plus every poll of the async work the address spawned with [`NativeExt::spawn`](super::NativeExt::spawn) (e.g. the executor's HTTP exchange, body read and result encoding; see `CpuCharged`). Not attributed: work the HTTP client runs in its own background tasks (hyper's connection driver) | Worker CPU ($0.02/M CPU-ms); for DOs informative only |
//! | `rows_read` | per statement, max(rows returned, rows stepped by full scans) — see `storage::sqlite` | SQLite rows read ($0.001/M) |
//! | `rows_written` | per statement, as workerd's `rowsWritten` counts it: each row inserted or updated plus each index entry it writes, one per row deleted (its index entries are not counted), so DDL and no-op statements count 0; see `storage::sqlite`. Nothing for the alarm: the slot is derived from the schedules, not mirrored in a row | SQLite rows written ($1.00/M): "every row update of an index counts as an additional row written". `setAlarm`/`deleteAlarm` are not SQL rows and not counted |
//! | `messages_sent` | messages this address sent (calls and continuation deliveries) | subrequests (not billed) |
//! | `injected_latency` | total latency the runtime added to this address's outgoing hops (exact `Duration`s; with the system clock the wait itself fires on tokio's next 1 ms timer tick) | — |
//! | `failed_turns` | turns rolled back (error or panic) | — |

use crate::transport::Address;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What one object or worker has consumed so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Messages handled.
    pub requests: u64,
    /// Wall time awake (billed for objects).
    pub awake: Duration,
    /// Thread CPU time in turns.
    pub cpu: Duration,
    /// SQLite rows read.
    pub rows_read: u64,
    /// SQLite rows written.
    pub rows_written: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// Latency injected on this address's outgoing hops.
    pub injected_latency: Duration,
    /// Turns rolled back.
    pub failed_turns: u64,
}

/// Cloudflare's published prices (USD), kept in one place as data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prices {
    /// Per Worker request.
    pub worker_request: f64,
    /// Per Worker CPU millisecond.
    pub worker_cpu_ms: f64,
    /// Per Durable Object request.
    pub do_request: f64,
    /// Per GB-second of Durable Object duration.
    pub do_gb_s: f64,
    /// Memory a Durable Object is billed at, in GB.
    pub do_memory_gb: f64,
    /// Per SQLite row written.
    pub row_written: f64,
    /// Per SQLite row read.
    pub row_read: f64,
}

/// Cloudflare's list prices (Workers Paid, Nov 2026), beyond the included allowances.
pub const CLOUDFLARE_PRICES: Prices = Prices {
    worker_request: 0.30 / 1e6,
    worker_cpu_ms: 0.02 / 1e6,
    do_request: 0.15 / 1e6,
    do_gb_s: 12.50 / 1e6,
    do_memory_gb: 0.125,
    row_written: 1.00 / 1e6,
    row_read: 0.001 / 1e6,
};

impl Accounting {
    /// The marginal cost of this usage as a Durable Object: requests, duration at 128 MB,
    /// rows read and written (no free allowance applied).
    pub fn object_cost(&self, p: &Prices) -> f64 {
        self.requests as f64 * p.do_request
            + self.awake.as_secs_f64() * p.do_memory_gb * p.do_gb_s
            + self.rows_read as f64 * p.row_read
            + self.rows_written as f64 * p.row_written
    }

    /// The marginal cost of this usage as a Worker: requests and CPU time.
    pub fn worker_cost(&self, p: &Prices) -> f64 {
        self.requests as f64 * p.worker_request + self.cpu.as_secs_f64() * 1000.0 * p.worker_cpu_ms
    }

    /// The usage between two snapshots of one address: `self - before`, field by field
    /// (saturating, so a snapshot from another address cannot underflow). Accounting is never
    /// reset; measure a phase by snapshotting before and after it.
    ///
    /// ```
    /// use lumenize_core::runtime::Accounting;
    /// let before = Accounting { requests: 3, rows_written: 10, ..Accounting::default() };
    /// let after = Accounting { requests: 5, rows_written: 16, ..Accounting::default() };
    /// let d = after.since(&before);
    /// assert_eq!((d.requests, d.rows_written), (2, 6));
    /// ```
    pub fn since(&self, before: &Accounting) -> Accounting {
        Accounting {
            requests: self.requests.saturating_sub(before.requests),
            awake: self.awake.saturating_sub(before.awake),
            cpu: self.cpu.saturating_sub(before.cpu),
            rows_read: self.rows_read.saturating_sub(before.rows_read),
            rows_written: self.rows_written.saturating_sub(before.rows_written),
            messages_sent: self.messages_sent.saturating_sub(before.messages_sent),
            injected_latency: self
                .injected_latency
                .saturating_sub(before.injected_latency),
            failed_turns: self.failed_turns.saturating_sub(before.failed_turns),
        }
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Accounting) {
        self.requests += other.requests;
        self.awake += other.awake;
        self.cpu += other.cpu;
        self.rows_read += other.rows_read;
        self.rows_written += other.rows_written;
        self.messages_sent += other.messages_sent;
        self.injected_latency += other.injected_latency;
        self.failed_turns += other.failed_turns;
    }
}

/// CPU time of the calling thread.
pub(crate) fn thread_cpu() -> Duration {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is
        // supported on Linux and macOS.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
        Duration::ZERO
    }
    #[cfg(not(unix))]
    {
        Duration::ZERO
    }
}

/// A spawned future whose polls are charged, as thread CPU time, to the address that spawned
/// it (through `charge`). A future runs on one thread per poll, so the thread CPU clock read
/// around `poll` is exactly that poll's cost (time the task waits between polls costs nothing,
/// as on Cloudflare, where an awaited `fetch()` bills no CPU).
pub(crate) struct CpuCharged<F, C> {
    pub fut: Pin<Box<F>>,
    pub charge: C,
}

impl<F: Future, C: Fn(Duration) + Unpin> Future for CpuCharged<F, C> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Every field is Unpin (the inner future is boxed), so no projection is needed.
        let this = self.get_mut();
        let cpu0 = thread_cpu();
        let out = this.fut.as_mut().poll(cx);
        (this.charge)(thread_cpu().saturating_sub(cpu0));
        out
    }
}

/// Awake-time bookkeeping of one address: the union of overlapping awake intervals.
#[derive(Default)]
struct AwakeState {
    depth: u32,
    since: Option<Instant>,
}

/// One address's totals and awake state.
#[derive(Default)]
pub(crate) struct Account {
    pub totals: Accounting,
    awake: AwakeState,
}

/// The bookkeeping of every address: what each consumed and whether it is awake now (in a
/// turn, or held by an [`AwakeGuard`](super::AwakeGuard)). Keyed by [`account_key`].
#[derive(Default)]
pub(crate) struct Accounts(Mutex<HashMap<Address, Account>>);

/// The accounting key of an address: objects by binding and id (the name is dropped).
pub(crate) fn account_key(a: &Address) -> Address {
    match a {
        Address::Object { binding, id, .. } => Address::object_by_id(binding.clone(), id.clone()),
        other => other.clone(),
    }
}

impl Accounts {
    /// Updates the account of `who`.
    pub fn charge(&self, who: &Address, f: impl FnOnce(&mut Account)) {
        if let Ok(mut map) = self.0.lock() {
            f(map.entry(account_key(who)).or_default());
        }
    }

    /// `who` starts being awake (nested: it stays awake until the matching exit).
    pub fn awake_enter(&self, who: &Address) {
        self.charge(who, |a| {
            if a.awake.depth == 0 {
                a.awake.since = Some(Instant::now());
            }
            a.awake.depth += 1;
        });
    }

    /// The matching end of [`Accounts::awake_enter`].
    pub fn awake_exit(&self, who: &Address) {
        self.charge(who, |a| {
            a.awake.depth = a.awake.depth.saturating_sub(1);
            if a.awake.depth == 0 {
                if let Some(since) = a.awake.since.take() {
                    a.totals.awake += since.elapsed();
                }
            }
        });
    }

    /// Whether `who` is awake now.
    pub fn is_awake(&self, who: &Address) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(&account_key(who)).map(|a| a.awake.depth > 0))
            .unwrap_or(false)
    }

    /// The totals of `who`.
    pub fn totals(&self, who: &Address) -> Accounting {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(&account_key(who)).map(|a| a.totals))
            .unwrap_or_default()
    }

    /// The totals of every address that did anything.
    pub fn all(&self) -> Vec<(Address, Accounting)> {
        self.0
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.totals)).collect())
            .unwrap_or_default()
    }
}
