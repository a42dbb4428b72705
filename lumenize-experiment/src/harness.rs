//! The live set-up: a native runtime with the fetch bindings and an origin object, the local
//! endpoint server, and the two ways of driving them (sequential operations for latency,
//! bursts of concurrent operations for scale), with accounting snapshots around each batch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lumenize_core::fetch::{
    self, EndpointServer, FetchOptions, FetchPolicy, Fetching, EXECUTOR_BINDING,
    EXECUTOR_RPC_BINDING, ORCHESTRATOR_NAME, ORCHESTRATOR_POLLING_BINDING,
};
use lumenize_core::prelude::*;
use lumenize_core::runtime::{Accounting, Stub};

use crate::model::{OpUsage, RoleUsage, Variant};
use crate::profile::{self, LatencyProfile};
use crate::ExperimentError;

/// The origin object's binding.
pub const ORIGIN_BINDING: &str = "EXPERIMENT_ORIGIN";

/// The experiment's origin object: `start(variant, url, n, timeoutMs)` begins `n` fetches in
/// one turn, each with the continuation `onResult($result)`, which reports to the driver
/// whether the fetch ended in a 200 response. It writes nothing itself, so every row the
/// accounting counts on it is the design's.
struct Origin {
    done: Arc<Mutex<mpsc::Sender<bool>>>,
}

impl Origin {
    fn start(
        &mut self,
        ctx: &Ctx<'_>,
        variant: String,
        url: String,
        n: u32,
        timeout_ms: u64,
    ) -> Result<(), String> {
        let v = Variant::from_key(&variant).ok_or_else(|| format!("unknown variant {variant}"))?;
        let mut opts = if v.rpc_executor() {
            FetchOptions::with_rpc_target_executor()
        } else {
            FetchOptions::default()
        };
        opts.timeout = Duration::from_millis(timeout_ms);
        if let Some(binding) = v.orchestrator_binding() {
            opts.orchestrator = Address::object(binding, ORCHESTRATOR_NAME);
        }
        // The endpoint server is on loopback: the direct design opts in like the executors.
        opts.policy = FetchPolicy::default().allow_loopback();
        let cont = ctn().call("onResult", vec![result_marker()]);
        let req = Value::from(url);
        for _ in 0..n {
            fetch::start_fetch(v.design(), ctx, &req, &cont, &opts).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn on_result(&mut self, _ctx: &Ctx<'_>, outcome: Value) {
        let ok = fetch::outcome_from_value(&outcome).is_ok_and(|r| r.status == 200);
        if let Ok(tx) = self.done.lock() {
            let _ = tx.send(ok);
        }
    }
}

lumenize_core::handlers!(Origin {
    start(variant: String, url: String, n: u32, timeout_ms: u64),
    on_result as "onResult"(outcome: Value),
});

/// Accounting of the three parts of a design at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    origin: Accounting,
    orchestrator: Accounting,
    executor: Accounting,
}

/// The result of a burst of concurrent operations.
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    /// From sending the start until the last continuation ran.
    pub total: Duration,
    /// Resident memory before the burst, KiB.
    pub rss_before_kib: u64,
    /// Highest resident memory sampled during the burst, KiB.
    pub rss_peak_kib: u64,
    /// Resident memory after everything settled, KiB.
    pub rss_after_kib: u64,
    /// Accounting per operation.
    pub usage: OpUsage,
}

/// The runtime, the endpoint server and the completion channel.
pub struct Harness {
    rt: Runtime,
    server: EndpointServer,
    done: mpsc::Receiver<bool>,
}

/// How long one operation may take beyond its fetch before the experiment gives up.
const SLACK: Duration = Duration::from_secs(60);

impl Harness {
    /// Starts the endpoint server and a runtime with `threads` tokio threads whose objects keep
    /// their SQLite files under `data_dir` (file-backed like a Durable Object's storage, so
    /// commits cost what they cost).
    pub fn new(threads: usize, data_dir: &std::path::Path) -> Result<Harness, ExperimentError> {
        let server = EndpointServer::start_with_workers(2)
            .map_err(|e| ExperimentError::Setup(format!("endpoint server: {e}")))?;
        let (tx, done) = mpsc::channel();
        let tx = Arc::new(Mutex::new(tx));
        // The endpoint server listens on loopback, which executors refuse unless told.
        let rt =
            fetch::install_with_policy(Runtime::builder(), FetchPolicy::default().allow_loopback())
                .object(ORIGIN_BINDING, move |_| {
                    Fetching(Origin { done: tx.clone() })
                })
                .threads(threads)
                .data_dir(data_dir)
                .build()
                .map_err(|e| ExperimentError::Setup(format!("runtime: {e}")))?;
        Ok(Harness { rt, server, done })
    }

    /// The runtime the designs run on (for tests that shape its hops).
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// Switches the hop-latency profile.
    pub fn set_profile(&self, p: LatencyProfile) {
        profile::apply(&self.rt, p, ORIGIN_BINDING);
    }

    /// The endpoint for a fetch of about `fetch_ms`: `/uuid` for 0, `/delay/{ms}` otherwise.
    pub fn url(&self, fetch_ms: u64) -> String {
        if fetch_ms == 0 {
            self.server.url("/uuid")
        } else {
            self.server.url(&format!("/delay/{fetch_ms}"))
        }
    }

    fn origin(&self, name: &str) -> Stub {
        self.rt.object(ORIGIN_BINDING, name)
    }

    fn executor_address(v: Variant) -> Option<Address> {
        match v {
            Variant::Direct => None,
            Variant::SimpleRpc => Some(Address::rpc_target(EXECUTOR_RPC_BINDING)),
            Variant::Orchestrated | Variant::OrchestratedPolling | Variant::SimpleWorker => {
                Some(Address::worker(EXECUTOR_BINDING))
            }
        }
    }

    /// The accounting of `origin` and of the parts `v` uses.
    pub fn snapshot(&self, origin: &str, v: Variant) -> Snapshot {
        let zero = Accounting::default();
        Snapshot {
            origin: self.rt.accounting(self.origin(origin).address()),
            orchestrator: match v.orchestrator_binding() {
                Some(b) => self.rt.accounting(&Address::object(b, ORCHESTRATOR_NAME)),
                None => zero,
            },
            executor: Self::executor_address(v)
                .map(|a| self.rt.accounting(&a))
                .unwrap_or(zero),
        }
    }

    /// Per-operation usage between two snapshots.
    pub fn usage(before: &Snapshot, after: &Snapshot, ops: u64) -> OpUsage {
        OpUsage {
            origin: RoleUsage::per_op(&before.origin, &after.origin, ops),
            orchestrator: RoleUsage::per_op(&before.orchestrator, &after.orchestrator, ops),
            executor: RoleUsage::per_op(&before.executor, &after.executor, ops),
        }
    }

    fn send_start(
        &self,
        origin: &str,
        v: Variant,
        fetch_ms: u64,
        n: u32,
    ) -> Result<(), ExperimentError> {
        let timeout = fetch_ms + 30_000;
        self.origin(origin)
            .send(&ctn().call(
                "start",
                vec![
                    Value::from(v.key()),
                    Value::from(self.url(fetch_ms)),
                    Value::from(n),
                    Value::Number(timeout as f64),
                ],
            ))
            .map_err(|e| ExperimentError::Run(format!("{}: cannot start: {e}", v.label())))
    }

    fn wait_one(&self, v: Variant, fetch_ms: u64) -> Result<(), ExperimentError> {
        let limit = Duration::from_millis(fetch_ms) + SLACK;
        match self.done.recv_timeout(limit) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ExperimentError::Run(format!(
                "{}: a {fetch_ms} ms fetch did not end in a 200 response",
                v.label()
            ))),
            Err(_) => Err(ExperimentError::Run(format!(
                "{}: no continuation ran within {limit:?} (runtime counters: {:?})",
                v.label(),
                self.rt.counters()
            ))),
        }
    }

    /// Waits until nothing is in flight (late messages such as delivery reports are counted).
    pub fn settle(&self) -> Result<(), ExperimentError> {
        self.rt
            .settle(Duration::from_secs(120))
            .map(drop)
            .map_err(|e| ExperimentError::Run(format!("runtime did not settle: {e}")))
    }

    /// Runs `ops` operations one after the other on origin `origin` (each starts once the
    /// previous one has settled), returning each one's latency (start sent → continuation
    /// ran) and the usage per operation. `tick` is called
    /// after each operation.
    pub fn sequential(
        &self,
        origin: &str,
        v: Variant,
        fetch_ms: u64,
        ops: u32,
        tick: &dyn Fn(),
    ) -> Result<(Vec<Duration>, OpUsage), ExperimentError> {
        self.settle()?;
        let before = self.snapshot(origin, v);
        let mut lat = Vec::with_capacity(ops as usize);
        for _ in 0..ops {
            let t0 = Instant::now();
            self.send_start(origin, v, fetch_ms, 1)?;
            self.wait_one(v, fetch_ms)?;
            lat.push(t0.elapsed());
            // One at a time: the next operation starts only once this one's late messages
            // (the orchestrator's delivery report) are handled, so operations never overlap
            // and each costs the same counts.
            self.settle()?;
            tick();
        }
        let after = self.snapshot(origin, v);
        Ok((lat, Self::usage(&before, &after, u64::from(ops))))
    }

    /// Starts `n` operations in one turn of a fresh origin and waits for all of them, sampling
    /// resident memory meanwhile.
    pub fn burst(
        &self,
        origin: &str,
        v: Variant,
        fetch_ms: u64,
        n: u32,
    ) -> Result<Burst, ExperimentError> {
        // Open the origin (schema, name) before measuring, so its first turn is not counted.
        self.sequential(origin, v, 0, 1, &|| {})?;
        let before = self.snapshot(origin, v);
        let rss_before_kib = rss_kib();
        let peak = Arc::new(AtomicU64::new(rss_before_kib));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let t0 = Instant::now();
        let mut result = self.send_start(origin, v, fetch_ms, n);
        for _ in 0..n {
            if result.is_err() {
                break;
            }
            result = self.wait_one(v, fetch_ms);
        }
        let total = t0.elapsed();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        result?;
        self.settle()?;
        let after = self.snapshot(origin, v);
        Ok(Burst {
            total,
            rss_before_kib,
            rss_peak_kib: peak.load(Ordering::Relaxed).max(rss_kib()),
            rss_after_kib: rss_kib(),
            usage: Self::usage(&before, &after, u64::from(n)),
        })
    }

    /// What one firing of the polling orchestrator's poll costs it (a request, its rows), as
    /// the per-operation batches do not see it: it fires 5 s after the first fetch of a busy
    /// period, usually after the batch ended. Runs one polling fetch, then waits (up to 8 s)
    /// for the poll it armed to fire.
    pub fn poll_firing(&self, origin: &str) -> Result<RoleUsage, ExperimentError> {
        let v = Variant::OrchestratedPolling;
        let who = Address::object(ORCHESTRATOR_POLLING_BINDING, ORCHESTRATOR_NAME);
        // A poll armed by earlier batches fires first (at most 5 s), then one for this fetch.
        let deadline = Instant::now() + Duration::from_secs(12);
        let fired_since = |a: &Accounting, before: u64| a.requests > before;
        self.sequential(origin, v, 0, 1, &|| {})?;
        let before = self.rt.accounting(&who);
        while !fired_since(&self.rt.accounting(&who), before.requests) {
            if Instant::now() > deadline {
                return Err(ExperimentError::Run(
                    "the polling orchestrator's poll did not fire within 12 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.settle()?;
        Ok(RoleUsage::per_op(&before, &self.rt.accounting(&who), 1))
    }

    /// What the runtime counted so far (failed continuations, late outcomes...).
    pub fn counters(&self) -> lumenize_core::runtime::Counters {
        self.rt.counters()
    }
}

/// Resident memory of this process (`VmRSS` in `/proc/self/status`), KiB; 0 where unavailable.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
