//! The native runtime: objects, workers and RPC targets on tokio, each object with its own
//! rusqlite database, one message at a time.
//!
//! ```
//! use lumenize_core::prelude::*;
//!
//! #[derive(Default)]
//! struct Counter;
//! impl Counter {
//!     fn add(&mut self, ctx: &Ctx<'_>, by: f64) -> Result<f64, lumenize_core::Error> {
//!         let n = ctx.kv().get_as::<f64>("n")?.unwrap_or(0.0) + by;
//!         ctx.kv().put_as("n", &n)?;
//!         Ok(n)
//!     }
//! }
//! lumenize_core::handlers!(Counter { add(by: f64) });
//!
//! // In memory: nothing survives the runtime (`.data_dir(dir)` keeps one SQLite file per object).
//! let rt = Runtime::builder().in_memory().object("COUNTER", |_ctx| Counter).build().unwrap();
//! let v = rt.object("COUNTER", "alice").call(&ctn().call("add", vec![Value::from(2.0)])).unwrap();
//! assert_eq!(v.as_f64(), Some(2.0));
//! ```
//!
//! Model:
//! - **Objects** are registered by binding; `object(binding, name)` addresses one by name
//!   (id = SHA-256 of binding and name; `object_by_id` takes only such ids, 64 lowercase hex
//!   digits, so an id can never name a path outside the data directory). An object's task
//!   starts on its first message, opens `<data_dir>/<binding>/<id>.sqlite` (WAL) with
//!   [`data_dir`](RuntimeBuilder::data_dir), or **an in-memory database without it** (the
//!   default; lost when the runtime is dropped), and handles its mailbox one message at a time. Every message is one
//!   *turn* (alarms: one turn per schedule), and a turn is one SQLite transaction: commit on
//!   success; on error or panic rollback, drop the turn's outgoing messages, report the
//!   error, keep going.
//! - **Hibernation** (with a data directory): an object closes — task, connection, WAL and
//!   shared-memory files — after [`idle_timeout`](RuntimeBuilder::idle_timeout) without
//!   messages, or when another object needs its slot under
//!   [`max_open_objects`](RuntimeBuilder::max_open_objects) (least recently used idle object
//!   first). Its next message or alarm reopens it: SQLite state intact, instance rebuilt by
//!   the factory (in-memory fields do not survive, as on Cloudflare). An object that cannot
//!   be opened answers that message with [`RuntimeError::Storage`]; nothing is remembered, the
//!   next message tries again, and an alarm is retried a second later.
//! - **Mailboxes are bounded** ([`mailbox_capacity`](RuntimeBuilder::mailbox_capacity)): a
//!   message beyond the bound is refused with [`RuntimeError::Overloaded`], never queued.
//! - **Workers** and **RPC targets** are stateless: a fresh instance per message, many at once.
//! - **Messages** cross as structured-clone wire text. Outgoing calls are sent after commit.
//! - **Alarms**: each object's armed time is its earliest stored schedule, held in one
//!   runtime-wide timer; reopening a data directory re-arms every object that has a schedule
//!   (past-due ones fire at once).
//! - **Time** comes from the builder's clock: the system clock, or a [`ManualClock`].
//!
//! # Diagnostics
//!
//! What goes wrong outside a caller's view (a call nobody waits for fails, a continuation or a
//! schedule fails, an object cannot open, a late outcome is ignored) is reported as a
//! [`tracing`](https://docs.rs/tracing) event, target `lumenize_core::...`, with the
//! `address` (and `schedule_id`, `error`...) as fields: `ERROR` for faults of the runtime
//! itself (an object that cannot open, a panicking worker, an alarm that cannot run), `WARN`
//! for failed handlers, `INFO` for late outcomes. Install any subscriber to see them. The
//! runtime keeps fixed-size counts ([`Runtime::counters`]) and the last
//! [`FAILURE_LOG_CAPACITY`] failures of work nobody waits for ([`Runtime::failures`]; each
//! [`Runtime::settle`] returns those that happened while it waited). Schedules given up after
//! their last retry stay in the object's database: [`Stub::alarm_failures`].

pub mod accounting;
mod counters;
mod ext;
mod failures;
mod host;
mod protocol;
mod routing;
mod shared;
mod worker;

pub use accounting::{Accounting, Prices, CLOUDFLARE_PRICES};
pub use counters::Counters;
pub use ext::{AwakeGuard, MessageSender, NativeExt};
pub use failures::{Failure, FailureKind, ScheduleFate, Settled, FAILURE_LOG_CAPACITY};
pub use protocol::RuntimeError;
pub use shared::{ObjectFactory, WorkerFactory};

use crate::alarms::fire::FailureRecord;
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::context::Ctx;
use crate::ocan::{ChainError, Dispatch, OperationChain};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::Storage;
use crate::structured_clone::{self, Value};
use crate::transport::{id_from_name, Address};
use protocol::{Msg, Reply, RunFn};
use shared::{valid_binding, Latency, ObjectType, Shared, WorkerType};
use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Configures a [`Runtime`]. Storage is in memory unless [`data_dir`](Self::data_dir) is set
/// (say it with [`in_memory`](Self::in_memory) to make the choice visible).
pub struct RuntimeBuilder {
    objects: HashMap<String, ObjectType>,
    workers: HashMap<String, WorkerType>,
    data_dir: Option<PathBuf>,
    manual: Option<Arc<ManualClock>>,
    threads: usize,
    mailbox: usize,
    max_open: Option<usize>,
    idle: Duration,
}

/// Messages a mailbox holds by default (see [`RuntimeBuilder::mailbox_capacity`]).
const DEFAULT_MAILBOX: usize = 16_384;
/// The largest mailbox capacity (tokio's channels take at most `usize::MAX >> 3`).
const MAX_MAILBOX: usize = 1 << 24;
/// How long an object stays open without messages by default.
const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// Longest binding name (it becomes a directory name).
const MAX_BINDING_LEN: usize = 128;

/// The default cap on open objects: an eighth of the process's open-file limit (an open
/// object holds three descriptors: its database, WAL and shared-memory files), between 16 and
/// 1,024.
fn default_max_open() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1_024
    };
    (soft / 8).clamp(16, 1_024)
}

fn check_binding(binding: &str) -> Result<(), RuntimeError> {
    if !valid_binding(binding) {
        return Err(RuntimeError::Config(format!(
            "binding {binding:?} must be 1 to {MAX_BINDING_LEN} ASCII letters, digits, '_' or '-'"
        )));
    }
    Ok(())
}

impl RuntimeBuilder {
    /// Registers an object type under `binding`. `factory` builds the instance in the
    /// object's first turn.
    pub fn object<T: Dispatch + Send + 'static>(
        mut self,
        binding: &str,
        factory: impl Fn(&Ctx<'_>) -> T + Send + Sync + 'static,
    ) -> Self {
        self.objects.insert(
            binding.to_string(),
            ObjectType {
                factory: Arc::new(move |ctx| Box::new(factory(ctx))),
            },
        );
        self
    }

    /// Registers a stateless worker under `binding` (HTTP-style requests and RPC).
    pub fn worker<T: Dispatch + Send + 'static>(
        mut self,
        binding: &str,
        factory: impl Fn(&Ctx<'_>) -> T + Send + Sync + 'static,
    ) -> Self {
        self.workers.insert(
            binding.to_string(),
            WorkerType {
                factory: Arc::new(move |ctx| Box::new(factory(ctx))),
                rpc_only: false,
                inflight: Default::default(),
            },
        );
        self
    }

    /// Registers a stateless RPC target under `binding` (RPC only).
    pub fn rpc_target<T: Dispatch + Send + 'static>(
        mut self,
        binding: &str,
        factory: impl Fn(&Ctx<'_>) -> T + Send + Sync + 'static,
    ) -> Self {
        self.workers.insert(
            binding.to_string(),
            WorkerType {
                factory: Arc::new(move |ctx| Box::new(factory(ctx))),
                rpc_only: true,
                inflight: Default::default(),
            },
        );
        self
    }

    /// Stores objects on disk, one SQLite file per object under `dir` (created if missing):
    /// data and schedules survive a restart, and idle objects hibernate. **Without it, objects
    /// live in memory** ([`in_memory`](Self::in_memory), the default): everything is lost when
    /// the runtime is dropped.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Keeps every object's database in memory (the default, said explicitly): nothing
    /// survives the runtime, and objects never hibernate. For tests and throwaway runs; use
    /// [`data_dir`](Self::data_dir) to keep data. [`Runtime::data_dir`] tells which was chosen.
    ///
    /// ```
    /// use lumenize_core::prelude::*;
    /// let rt = Runtime::builder().in_memory().build().unwrap();
    /// assert_eq!(rt.data_dir(), None);
    /// ```
    pub fn in_memory(mut self) -> Self {
        self.data_dir = None;
        self
    }

    /// Uses a manual clock instead of the system clock.
    pub fn manual_clock(mut self, clock: Arc<ManualClock>) -> Self {
        self.manual = Some(clock);
        self
    }

    /// Tokio worker threads (default 2).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// Bounds every mailbox (default 16,384; between 1 and 2^24): an object queues at most
    /// `n` messages, and a worker or RPC target binding has at most `n` messages in flight.
    /// Replies — continuation deliveries and resumed invocations, which answer calls the
    /// target made itself — have a reserve of another `n`, so a flood of requests cannot
    /// make an object lose its answers.
    /// Beyond that a message is refused, never queued: a stub or a
    /// [`MessageSender`] gets [`RuntimeError::Overloaded`] at once; a call queued by a
    /// handler has its continuation run with that error (as a `RuntimeError` `Error` value),
    /// or is logged when it has none; a continuation delivery that finds its caller full is
    /// logged and dropped, as on Cloudflare an overloaded object refuses the callee's reply.
    /// Alarms are not messages and are never refused.
    ///
    /// ```
    /// use lumenize_core::prelude::*;
    /// # #[derive(Default)] struct Counter;
    /// # lumenize_core::handlers!(Counter {});
    /// let rt = Runtime::builder().object("COUNTER", |_| Counter).mailbox_capacity(100).build().unwrap();
    /// ```
    pub fn mailbox_capacity(mut self, n: usize) -> Self {
        self.mailbox = n.clamp(1, MAX_MAILBOX);
        self
    }

    /// At most `n` objects keep their database open at once (at least 1; only with a
    /// [`data_dir`](Self::data_dir)). Default: an eighth of the process's open-file limit
    /// (an open object holds three descriptors), between 16 and 1,024. An object that needs
    /// to open while the cap is reached asks the least recently used idle object to close and
    /// waits for it; objects busy with messages are never closed mid-way.
    pub fn max_open_objects(mut self, n: usize) -> Self {
        self.max_open = Some(n.max(1));
        self
    }

    /// Closes (hibernates) an object after `idle` of the runtime's clock without a message
    /// (default 60 s; `Duration::MAX` never closes for idleness; only with a
    /// [`data_dir`](Self::data_dir): objects in memory never close). A closed object costs
    /// no task, connection or file; its next message or alarm reopens it. Its SQLite state
    /// is intact, but its instance is rebuilt by the factory, as after a restart: in-memory
    /// fields do not survive hibernation, as on Cloudflare. An object held awake (see
    /// [`NativeExt::hold_awake`]) is not closed.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Starts the runtime: its tokio threads, its alarm timer, and — with a data directory —
    /// re-arms every stored object that has a pending alarm.
    pub fn build(self) -> Result<Runtime, RuntimeError> {
        for b in self.objects.keys().chain(self.workers.keys()) {
            check_binding(b)?;
        }
        if let Some(b) = self.objects.keys().find(|b| self.workers.contains_key(*b)) {
            return Err(RuntimeError::Config(format!(
                "binding {b:?} is registered twice"
            )));
        }
        if let Some(dir) = &self.data_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| RuntimeError::Storage(format!("{}: {e}", dir.display())))?;
        }
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.threads)
            .enable_all()
            .thread_name("lumenize")
            .build()
            .map_err(|e| RuntimeError::Config(e.to_string()))?;
        let clock: Arc<dyn Clock> = match &self.manual {
            Some(m) => m.clone(),
            None => Arc::new(SystemClock),
        };
        let limits = shared::Limits {
            mailbox: self.mailbox,
            max_open: self.max_open.unwrap_or_else(default_max_open),
            idle_ms: i64::try_from(self.idle.as_millis()).ok(),
        };
        // Only objects with files are limited: in memory, closing would lose their state.
        let open_slots = self
            .data_dir
            .as_ref()
            .map(|_| Arc::new(tokio::sync::Semaphore::new(limits.max_open)));
        let shared = Arc::new(Shared {
            objects: self.objects,
            workers: self.workers,
            data_dir: self.data_dir,
            clock,
            manual: self.manual.clone(),
            handle: tokio.handle().clone(),
            live: Mutex::new(HashMap::new()),
            limits,
            open_slots,
            idle_set: Mutex::new(Default::default()),
            open_count: Default::default(),
            timer: Mutex::new(Default::default()),
            timer_notify: tokio::sync::Notify::new(),
            clock_notify: tokio::sync::Notify::new(),
            inflight: Mutex::new(0),
            idle: std::sync::Condvar::new(),
            latency: RwLock::new(Latency::default()),
            accounts: Default::default(),
            counters: Default::default(),
            failures: Default::default(),
            closing: Default::default(),
        });
        if let Some(m) = &self.manual {
            let weak = Arc::downgrade(&shared);
            m.on_change(move |_| {
                if let Some(s) = weak.upgrade() {
                    s.timer_notify.notify_one();
                    s.clock_notify.notify_waiters();
                }
            });
        }
        rearm_stored(&shared)?;
        tokio.spawn(shared.clone().timer_loop());
        Ok(Runtime {
            shared,
            tokio: Some(tokio),
            reported: AtomicU64::new(0),
        })
    }
}

/// Reads every stored object's armed alarm into the timer.
fn rearm_stored(shared: &Arc<Shared>) -> Result<(), RuntimeError> {
    let Some(dir) = &shared.data_dir else {
        return Ok(());
    };
    for binding in shared.objects.keys() {
        let Ok(entries) = std::fs::read_dir(dir.join(binding)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".sqlite"))
            else {
                continue;
            };
            if !crate::transport::is_object_id(id) {
                continue;
            }
            let storage =
                SqliteStorage::open(&path).map_err(|e| RuntimeError::Storage(e.to_string()))?;
            // The earliest schedule is the armed time (a scan: there is no time index).
            let armed = storage
                .exec("SELECT min(time) FROM __lmz_alarms", &[])
                .ok()
                .and_then(|r| r.scalar().and_then(|v| v.as_i64()));
            if let Some(at) = armed {
                shared.timer_set(&(binding.clone(), id.to_string()), Some(at));
            }
        }
    }
    Ok(())
}

/// A running set of objects, workers and RPC targets. Dropping it stops everything: messages
/// in flight are lost (as in a crash), committed data and schedules stay on disk.
pub struct Runtime {
    shared: Arc<Shared>,
    tokio: Option<tokio::runtime::Runtime>,
    /// Failures before this sequence number were reported by a `settle`.
    reported: AtomicU64,
}

impl Runtime {
    /// A builder.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            objects: HashMap::new(),
            workers: HashMap::new(),
            data_dir: None,
            manual: None,
            threads: 2,
            mailbox: DEFAULT_MAILBOX,
            max_open: None,
            idle: DEFAULT_IDLE,
        }
    }

    /// The object named `name` of type `binding`.
    pub fn object(&self, binding: &str, name: &str) -> Stub {
        self.stub(Address::object(binding, name))
    }

    /// The object with id `id` of type `binding`. Ids are 64 lowercase hex digits (see
    /// [`object_id`]); calls through a stub with any other id fail with
    /// [`RuntimeError::InvalidObjectId`], so an id taken from user input can never reach a
    /// file outside the data directory.
    pub fn object_by_id(&self, binding: &str, id: &str) -> Stub {
        self.stub(Address::object_by_id(binding, id))
    }

    /// The worker registered as `binding`.
    pub fn worker(&self, binding: &str) -> Stub {
        self.stub(Address::worker(binding))
    }

    /// The RPC target registered as `binding`.
    pub fn rpc_target(&self, binding: &str) -> Stub {
        self.stub(Address::rpc_target(binding))
    }

    /// A stub for any address.
    pub fn stub(&self, to: Address) -> Stub {
        Stub {
            shared: self.shared.clone(),
            to,
        }
    }

    /// Where objects are stored: `Some(dir)` with [`RuntimeBuilder::data_dir`], `None` when
    /// they live in memory ([`RuntimeBuilder::in_memory`], the default).
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.shared.data_dir.as_deref()
    }

    /// The runtime's current time, in ms.
    pub fn now_ms(&self) -> i64 {
        self.shared.now_ms()
    }

    /// Adds `latency` to every hop between objects, workers and RPC targets (0 turns it off).
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.shared.latency.write() {
            l.default = latency;
        }
    }

    /// Adds `latency` to hops from binding `from` to binding `to` (overrides the default).
    pub fn set_hop_latency(&self, from: &str, to: &str, latency: Duration) {
        if let Ok(mut l) = self.shared.latency.write() {
            l.pairs.insert((from.to_string(), to.to_string()), latency);
        }
    }

    /// The accounting of one address so far (objects by binding and id).
    pub fn accounting(&self, who: &Address) -> Accounting {
        self.shared.accounts.totals(who)
    }

    /// The accounting of every address that did anything.
    pub fn accounting_all(&self) -> Vec<(Address, Accounting)> {
        self.shared.accounts.all()
    }

    /// How often each kind of diagnostic event (failed continuations, failed schedules, late
    /// outcomes...) happened so far; the events themselves go to `tracing` (see
    /// [Diagnostics](self#diagnostics)).
    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }

    /// The last failures nobody was waiting for (at most [`FAILURE_LOG_CAPACITY`], oldest
    /// first): failed continuations, fired schedules whose continuation failed (with their
    /// retry or give-up), calls sent without a reply, resumed work. Each is also a `tracing`
    /// event and a count in [`counters`](Self::counters).
    pub fn failures(&self) -> Vec<Failure> {
        self.shared.failures.between(0, u64::MAX).0
    }

    /// Waits until nothing is in flight and no alarm is due: every queued message handled,
    /// every due alarm fired (including those a manual clock just made due), every spawned
    /// task done. Work waiting on a manual clock that does not move counts as in flight.
    ///
    /// Returns what failed since the previous `settle` returned, or since the runtime started
    /// ([`Settled`]; each failure is in one report): `Ok` means the runtime is quiet, not
    /// that everything worked. A schedule whose continuation failed is retried 2, 4 ... 64 s
    /// later; it is not due yet when `settle` returns, and its [`Failure`] says when it runs
    /// again.
    ///
    /// Schedules wait for their time. To run them in a test, either move a
    /// [`ManualClock`] (given to [`RuntimeBuilder::manual_clock`]) past their time and settle
    /// again, or run an object's next schedules at once, whatever their time, with
    /// [`Stub::trigger_alarms`]:
    ///
    /// ```
    /// use lumenize_core::clock::ManualClock;
    /// use lumenize_core::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[derive(Default)]
    /// struct Desk;
    /// impl Desk {
    ///     fn later(&mut self, ctx: &Ctx<'_>) -> Result<String, lumenize_core::Error> {
    ///         Ok(ctx.alarms().schedule(When::delay_secs(3600.0), ctn().call("ring", vec![]))?.id)
    ///     }
    ///     fn ring(&mut self, _ctx: &Ctx<'_>) -> Result<(), String> {
    ///         Err("the bell is broken".into())
    ///     }
    /// }
    /// lumenize_core::handlers!(Desk { later(), ring() });
    ///
    /// let clock = ManualClock::new(1_700_000_000_000);
    /// let rt = Runtime::builder().object("DESK", |_| Desk).manual_clock(clock.clone()).build().unwrap();
    /// rt.object("DESK", "d").call_method("later", vec![]).unwrap();
    /// assert!(rt.settle(Duration::from_secs(5)).unwrap().is_clean()); // not due yet
    /// clock.advance(3_600_000); // an hour later: due
    /// let settled = rt.settle(Duration::from_secs(5)).unwrap();
    /// let failure = &settled.failures()[0];
    /// assert_eq!(failure.kind, FailureKind::Schedule);
    /// assert!(failure.error.contains("the bell is broken"));
    /// # use lumenize_core::runtime::FailureKind;
    /// ```
    pub fn settle(&self, timeout: Duration) -> Result<Settled, RuntimeError> {
        self.wait_quiet(timeout)?;
        let to = self.shared.failures.mark();
        let from = self.reported.swap(to, Ordering::SeqCst);
        let (failures, dropped) = self.shared.failures.between(from, to);
        Ok(Settled::new(failures, dropped))
    }

    fn wait_quiet(&self, timeout: Duration) -> Result<(), RuntimeError> {
        let deadline = Instant::now() + timeout;
        loop {
            let (fired, _) = self.shared.fire_due();
            let mut n = self
                .shared
                .inflight
                .lock()
                .map_err(|_| RuntimeError::Closed)?;
            while *n > 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(RuntimeError::Timeout(timeout));
                }
                n = self
                    .shared
                    .idle
                    .wait_timeout(n, left)
                    .map_err(|_| RuntimeError::Closed)?
                    .0;
            }
            drop(n);
            if fired == 0 && self.shared.fire_due().0 == 0 {
                // Nothing was due before or after waiting; but the last wait may have armed
                // something due: check the in-flight count once more.
                if *self
                    .shared
                    .inflight
                    .lock()
                    .map_err(|_| RuntimeError::Closed)?
                    == 0
                {
                    return Ok(());
                }
            }
        }
    }

    /// The tokio runtime handle (to run servers or clients next to the objects).
    pub fn tokio(&self) -> tokio::runtime::Handle {
        self.shared.handle.clone()
    }

    /// How many objects have their database open now (never more than
    /// [`RuntimeBuilder::max_open_objects`] with a data directory).
    pub fn open_objects(&self) -> usize {
        self.shared.open_count.load(Ordering::SeqCst)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.timer_notify.notify_one();
        if let Ok(mut live) = self.shared.live.lock() {
            live.clear();
        }
        if let Some(rt) = self.tokio.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// Talks to one address from outside the runtime (tests, `main`, servers).
#[derive(Clone)]
pub struct Stub {
    shared: Arc<Shared>,
    to: Address,
}

impl Stub {
    /// The address.
    pub fn address(&self) -> &Address {
        &self.to
    }

    fn check(&self) -> Result<(), RuntimeError> {
        self.shared.check_address(&self.to)
    }

    fn outside(&self) -> Address {
        Address::worker(shared::OUTSIDE)
    }

    /// Runs `chain` and waits for its result. Blocks the calling thread: do not call it from
    /// inside the runtime's own tasks (use [`Stub::call_async`] there).
    pub fn call(&self, chain: &OperationChain) -> Result<Value, RuntimeError> {
        self.check()?;
        let text = chain.stringify()?;
        let (tx, rx) = std::sync::mpsc::channel();
        self.shared
            .route(
                &self.outside(),
                &self.to,
                Msg::Call {
                    chain: text,
                    reply: Reply::Sync(tx),
                },
            )
            .map_err(|r| r.err)?;
        let wire = rx.recv().map_err(|_| RuntimeError::Closed)??;
        Ok(structured_clone::parse(&wire).map_err(ChainError::Codec)?)
    }

    /// Shorthand for `call(&ctn().call(method, args))`.
    pub fn call_method(&self, method: &str, args: Vec<Value>) -> Result<Value, RuntimeError> {
        self.call(&crate::ocan::ctn().call(method, args))
    }

    /// Sends an HTTP-style request — a `RequestSync` value — to a worker's `fetch` handler
    /// and returns its answer (by convention a `ResponseSync`). Only workers take these;
    /// RPC targets and objects are RPC-only here.
    pub fn fetch(&self, request: Value) -> Result<Value, RuntimeError> {
        if !matches!(self.to, Address::Worker { .. }) {
            return Err(RuntimeError::Config(format!(
                "{} does not take HTTP-style requests (only workers do)",
                self.to
            )));
        }
        self.call(&crate::ocan::ctn().call("fetch", vec![request]))
    }

    /// Runs an encoded chain and returns the encoded result (async, `Send`). A full mailbox
    /// fails at once with [`RuntimeError::Overloaded`] (no waiting for room: the caller
    /// decides when to retry).
    pub async fn call_async(&self, chain: String) -> Result<String, RuntimeError> {
        self.check()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.shared
            .route(
                &self.outside(),
                &self.to,
                Msg::Call {
                    chain,
                    reply: Reply::Async(tx),
                },
            )
            .map_err(|r| r.err)?;
        rx.await.map_err(|_| RuntimeError::Closed)?
    }

    /// Sends `chain` without waiting (fire-and-forget; a failure is a `tracing` event and
    /// counts in [`Counters::unanswered_failures`]). An unknown address or a full mailbox
    /// ([`RuntimeError::Overloaded`]) fails at once.
    pub fn send(&self, chain: &OperationChain) -> Result<(), RuntimeError> {
        self.check()?;
        let text = chain.stringify()?;
        self.shared
            .route(
                &self.outside(),
                &self.to,
                Msg::Call {
                    chain: text,
                    reply: Reply::None,
                },
            )
            .map_err(|r| r.err)
    }

    /// Test hook: runs the next `n` schedules of this object now, whatever their time, each in
    /// its own turn. Returns the ids that ran successfully; those that failed are in
    /// [`Runtime::failures`] (and the next [`Runtime::settle`]'s report).
    pub fn trigger_alarms(&self, n: usize) -> Result<Vec<String>, RuntimeError> {
        self.object_key()?;
        let (tx, rx) = std::sync::mpsc::channel();
        self.send_object(Msg::Trigger { n, done: tx })?;
        rx.recv().map_err(|_| RuntimeError::Closed)?
    }

    /// Runs `f` as one turn of this object (one transaction, committed if `f` returns `Ok`),
    /// with the object instance and its context. For tests, benchmarks and administration.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError> + Send + 'static,
    ) -> Result<R, RuntimeError> {
        self.object_key()?;
        let (tx, rx) = std::sync::mpsc::channel();
        let f: RunFn =
            Box::new(move |obj, ctx| f(obj, ctx).map(|r| Box::new(r) as Box<dyn Any + Send>));
        self.send_object(Msg::Run { f, done: tx })?;
        let any = rx.recv().map_err(|_| RuntimeError::Closed)??;
        any.downcast::<R>()
            .map(|b| *b)
            .map_err(|_| RuntimeError::Closed)
    }

    /// The schedules of this object that were given up after their last retry (or could not
    /// be read back), oldest first: the object's `__lmz_alarm_failures` table. Failures still
    /// being retried are in [`Runtime::failures`].
    pub fn alarm_failures(&self) -> Result<Vec<FailureRecord>, RuntimeError> {
        self.run(|_, ctx| {
            crate::alarms::fire::failures(ctx.sql()).map_err(|e| ChainError::handler(e.to_string()))
        })
    }

    fn object_key(&self) -> Result<(String, String), RuntimeError> {
        self.check()?;
        match &self.to {
            Address::Object { binding, id, .. } => Ok((binding.clone(), id.clone())),
            other => Err(RuntimeError::Config(format!("{other} is not an object"))),
        }
    }

    fn send_object(&self, m: Msg) -> Result<(), RuntimeError> {
        let key = self.object_key()?;
        self.shared
            .send_object(&key, self.to.name().map(str::to_string), m)
            .map_err(|r| r.err)
    }
}

/// The id of the object named `name` under `binding` (re-exported for convenience).
pub fn object_id(binding: &str, name: &str) -> String {
    id_from_name(binding, name)
}
