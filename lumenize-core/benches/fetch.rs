//! Fetch coordination benchmark: per-fetch latency and overhead of the three designs against
//! the local `/uuid` endpoint with no injected latency, time for 10,000 concurrent fetches
//! through one origin, and memory per in-flight fetch. Prints markdown tables.
//!
//! `cargo bench -p lumenize-core --bench fetch` (add `-- --quick` for a short run, `--rounds N`
//! for more or fewer interleaved rounds, `--only <label>` to measure one design,
//! `--concurrent-only` for the 10,000-fetch table alone: what a before/after comparison of
//! two builds runs, alternating the binaries).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lumenize_core::fetch::{
    self, Design, EndpointServer, FetchOptions, FetchPolicy, FetchRequest, Fetching, HttpClient,
    HttpLimits,
};
use lumenize_core::prelude::*;

/// The benchmark origin: its continuation reports completion on a channel.
struct BenchOrigin {
    done: Arc<Mutex<mpsc::Sender<bool>>>,
}

fn design_of(name: &str) -> Design {
    match name {
        "direct" => Design::Direct,
        "orchestrated" => Design::Orchestrated,
        _ => Design::Simple,
    }
}

fn options(executor: &str) -> FetchOptions {
    let mut o = if executor == "rpc" {
        FetchOptions::with_rpc_target_executor()
    } else {
        FetchOptions::default()
    };
    // The endpoint server is on loopback (the direct design's own policy).
    o.policy = FetchPolicy::default().allow_loopback();
    o
}

impl BenchOrigin {
    fn start_many(
        &mut self,
        ctx: &Ctx<'_>,
        design: String,
        executor: String,
        url: String,
        n: u32,
    ) -> Result<(), String> {
        let cont = ctn().call("onResult", vec![result_marker()]);
        let opts = options(&executor);
        let req = Value::from(url);
        for _ in 0..n {
            fetch::start_fetch(design_of(&design), ctx, &req, &cont, &opts)
                .map_err(|e| e.to_string())?;
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

lumenize_core::handlers!(BenchOrigin {
    start_many as "startMany"(design: String, executor: String, url: String, n: u32),
    on_result as "onResult"(outcome: Value),
});

struct Bench {
    rt: Runtime,
    done: mpsc::Receiver<bool>,
    server: EndpointServer,
}

impl Bench {
    fn new() -> Bench {
        let server = EndpointServer::start_with_workers(2).unwrap();
        let (tx, done) = mpsc::channel();
        let tx = Arc::new(Mutex::new(tx));
        let rt =
            fetch::install_with_policy(Runtime::builder(), FetchPolicy::default().allow_loopback())
                .object("ORIGIN", move |_| {
                    Fetching(BenchOrigin { done: tx.clone() })
                })
                .build()
                .unwrap();
        Bench { rt, done, server }
    }

    /// Starts `n` fetches in one origin turn and waits for all continuations. Returns the
    /// total time and, when `wait_start` (the start is then a call, not a one-way send), the
    /// time until the starting turn committed.
    fn run(
        &self,
        origin: &str,
        design: &str,
        executor: &str,
        n: u32,
        wait_start: bool,
    ) -> (Duration, Duration) {
        let o = self.rt.object("ORIGIN", origin);
        let start = start_many(design, executor, &self.server.url("/uuid"), n);
        let t0 = Instant::now();
        if wait_start {
            o.call(&start).unwrap();
        } else {
            o.send(&start).unwrap();
        }
        let started = t0.elapsed();
        for _ in 0..n {
            let ok = self
                .done
                .recv_timeout(Duration::from_secs(120))
                .expect("a continuation did not run");
            assert!(ok, "a fetch did not end in a 200 response");
        }
        (t0.elapsed(), started)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

const DESIGNS: [(&str, &str, &str); 4] = [
    ("direct", "-", "direct"),
    ("orchestrated", "worker", "orchestrated (worker executor)"),
    ("simple", "worker", "simple (worker executor)"),
    ("simple", "rpc", "simple (RPC-target executor)"),
];

/// The origin call that starts `n` fetches of `url` in one turn.
fn start_many(design: &str, executor: &str, url: &str, n: u32) -> OperationChain {
    ctn().call(
        "startMany",
        vec![
            Value::from(design),
            Value::from(executor),
            Value::from(url),
            Value::from(n),
        ],
    )
}

/// One measured 10k-concurrent round of one design.
struct ConcurrentRound {
    total: Duration,
    started: Duration,
    origin_cpu_us: f64,
    orchestrator_cpu_us: f64,
    rows_per_fetch: f64,
    rss_growth_mib: f64,
}

impl Bench {
    /// `n` concurrent fetches through a fresh origin, with its accounting.
    fn concurrent_round(
        &self,
        design: &str,
        executor: &str,
        n: u32,
        round: usize,
    ) -> ConcurrentRound {
        let name = format!("conc-{design}-{executor}-{round}");
        let origin = Address::object("ORIGIN", name.as_str());
        let orch = Address::object(fetch::ORCHESTRATOR_BINDING, fetch::ORCHESTRATOR_NAME);
        let (o0, r0) = (self.rt.accounting(&origin), self.rt.accounting(&orch));
        let rss0 = rss_bytes();
        let (total, started) = self.run(&name, design, executor, n, true);
        let rss1 = rss_bytes();
        // Let the orchestrator finish its delivery reports before reading its accounting
        // (and before the next round starts).
        self.rt.settle(Duration::from_secs(60)).unwrap();
        let (o1, r1) = (self.rt.accounting(&origin), self.rt.accounting(&orch));
        let per = |a: Duration, b: Duration| (a - b).as_secs_f64() * 1e6 / n as f64;
        let rows = (o1.rows_written - o0.rows_written) + (r1.rows_written - r0.rows_written);
        ConcurrentRound {
            total,
            started,
            origin_cpu_us: per(o1.cpu, o0.cpu),
            orchestrator_cpu_us: per(r1.cpu, r0.cpu),
            rows_per_fetch: rows as f64 / n as f64,
            rss_growth_mib: rss1.saturating_sub(rss0) as f64 / (1 << 20) as f64,
        }
    }
}

/// The child process of the memory table: prints the RSS growth, in bytes, 500 ms after
/// starting `n` fetches to `/hang` (the executor holds them until its 30 s timeout), and exits
/// without waiting for them.
fn memory_child(design: &str, executor: &str, n: u32) -> ! {
    let bench = Bench::new();
    // One completed fetch first, so the baseline includes the runtime, the object and the
    // client pools, and the growth is what the in-flight fetches hold.
    bench.run("mem", design, executor, 1, false);
    let rss0 = rss_bytes();
    let start = start_many(design, executor, &bench.server.url("/hang"), n);
    bench.rt.object("ORIGIN", "mem").call(&start).unwrap();
    // Let every message reach its executor (and the slot-limited ones queue up).
    std::thread::sleep(Duration::from_millis(500));
    println!("{}", rss_bytes().saturating_sub(rss0));
    std::process::exit(0);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--memory-of") {
        let arg = |k: usize| args.get(i + k).cloned().unwrap_or_default();
        memory_child(&arg(1), &arg(2), arg(3).parse().unwrap_or(1_000));
    }
    let quick = args.iter().any(|a| a == "--quick");
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    // `--only <label substring>` restricts the designs (for profiling one of them).
    let only = value_of("--only");
    let designs: Vec<(&str, &str, &str)> = DESIGNS
        .into_iter()
        .filter(|(_, _, label)| only.as_deref().is_none_or(|o| label.contains(o)))
        .collect();
    // The designs take turns, round after round, so load changes on a shared machine reach
    // all of them alike; each table reports medians over the rounds.
    let rounds: usize = value_of("--rounds")
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 2 } else { 5 })
        .max(1);
    let (seq_ops, concurrent): (usize, u32) = if quick { (200, 1_000) } else { (2_000, 10_000) };
    let bench = Bench::new();

    // Raw HTTP: the same GET with the same client stack, no runtime, no objects.
    let client = HttpClient::with_policy(FetchPolicy::default().allow_loopback());
    let req = FetchRequest::get(bench.server.url("/uuid"));
    let raw_fetch = |n: usize| -> Vec<Duration> {
        bench.rt.tokio().block_on(async {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                client.execute(&req, HttpLimits::default()).await.unwrap();
                v.push(t.elapsed());
            }
            v
        })
    };
    let concurrent_only = args.iter().any(|a| a == "--concurrent-only");
    raw_fetch(100);
    for &(design, executor, _) in designs.iter().filter(|_| !concurrent_only) {
        for _ in 0..100 {
            bench.run(
                &format!("seq-{design}-{executor}"),
                design,
                executor,
                1,
                false,
            );
        }
    }
    let per_round = seq_ops.div_ceil(rounds * 10).max(1);
    let mut raw = Vec::new();
    let mut seq: Vec<Vec<Duration>> = vec![Vec::new(); designs.len()];
    let seq_batches = if concurrent_only { 0 } else { rounds * 10 };
    for _ in 0..seq_batches {
        raw.extend(raw_fetch(per_round));
        for (i, &(design, executor, _)) in designs.iter().enumerate() {
            let origin = format!("seq-{design}-{executor}");
            seq[i].extend((0..per_round).map(|_| bench.run(&origin, design, executor, 1, false).0));
        }
    }
    raw.sort();
    if raw.is_empty() {
        raw.extend(raw_fetch(100));
    }
    let raw_median = percentile(&raw, 0.5);

    println!(
        "## Sequential fetches of /uuid, no injected latency ({} ops per design, interleaved in batches of {per_round})\n",
        raw.len()
    );
    println!("| design | median µs | p99 µs | overhead over raw HTTP (median) µs |");
    println!("|---|---|---|---|");
    println!(
        "| raw HTTP (reqwest, no runtime) | {} | {} | 0 |",
        us(raw_median),
        us(percentile(&raw, 0.99))
    );
    for (i, &(_, _, label)) in designs.iter().enumerate().filter(|_| !concurrent_only) {
        let v = &mut seq[i];
        v.sort();
        let med = percentile(v, 0.5);
        println!(
            "| {label} | {} | {} | {} |",
            us(med),
            us(percentile(v, 0.99)),
            us(med.saturating_sub(raw_median))
        );
    }

    // A warm-up round opens the executors' pooled connections, so the first measured design
    // does not pay for them alone.
    for &(design, executor, _) in &designs {
        bench.concurrent_round(design, executor, concurrent / 10, usize::MAX);
    }
    let mut conc: Vec<Vec<ConcurrentRound>> = (0..designs.len()).map(|_| Vec::new()).collect();
    for round in 0..rounds {
        // Rotate the order, so no design always runs right after the same other one.
        for k in 0..designs.len() {
            let i = (k + round) % designs.len();
            let (design, executor, _) = designs[i];
            conc[i].push(bench.concurrent_round(design, executor, concurrent, round));
        }
    }
    println!("\n## {concurrent} concurrent fetches of /uuid through one origin (median of {rounds} rounds)\n");
    println!("| design | total ms | every round ms | starting turn ms | per fetch µs | origin CPU µs/fetch | orchestrator CPU µs/fetch | rows written/fetch | RSS growth at end MiB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, &(_, _, label)) in designs.iter().enumerate() {
        let r = &conc[i];
        let med = |f: &dyn Fn(&ConcurrentRound) -> f64| median(r.iter().map(f).collect());
        let total_ms = med(&|c| c.total.as_secs_f64() * 1e3);
        let every: Vec<String> = r
            .iter()
            .map(|c| format!("{:.0}", c.total.as_secs_f64() * 1e3))
            .collect();
        println!(
            "| {label} | {total_ms:.0} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} |",
            every.join(" / "),
            med(&|c| c.started.as_secs_f64() * 1e3),
            total_ms * 1e3 / concurrent as f64,
            med(&|c| c.origin_cpu_us),
            med(&|c| c.orchestrator_cpu_us),
            med(&|c| c.rows_per_fetch),
            med(&|c| c.rss_growth_mib),
        );
    }

    if concurrent_only {
        std::process::exit(0);
    }
    // Memory per in-flight fetch, each design in a fresh process of this binary: in this one,
    // memory the allocator kept from the rounds above would hide the growth.
    let inflight: u32 = if quick { 1_000 } else { 5_000 };
    println!("\n## Memory per in-flight fetch ({inflight} fetches to /hang, one fresh process per design)\n");
    println!("| design | RSS growth MiB | per in-flight fetch KiB |");
    println!("|---|---|---|");
    let exe = std::env::current_exe().unwrap();
    for &(design, executor, label) in &designs {
        let out = std::process::Command::new(&exe)
            .args(["--memory-of", design, executor, &inflight.to_string()])
            .output()
            .unwrap();
        let grew: u64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("memory child failed: {out:?}"));
        println!(
            "| {label} | {:.1} | {:.2} |",
            grew as f64 / (1 << 20) as f64,
            grew as f64 / 1024.0 / inflight as f64
        );
    }
    println!("\n(raw-HTTP median {} µs)", us(raw_median));
    // The /hang fetches time out after 30 s; dropping the runtime cancels them instead.
    std::process::exit(0);
}
