//! Fetch coordination benchmark: per-fetch latency and overhead of the three designs against
//! the local `/uuid` endpoint with no injected latency, time for 10,000 concurrent fetches
//! through one origin, and memory per in-flight fetch. Prints markdown tables.
//!
//! `cargo bench -p lumenize-core --bench fetch` (add `-- --quick` for a short run).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lumenize_core::fetch::{
    self, Design, EndpointServer, FetchOptions, FetchRequest, Fetching, HttpClient, HttpLimits,
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
    if executor == "rpc" {
        FetchOptions::with_rpc_target_executor()
    } else {
        FetchOptions::default()
    }
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
        let rt = fetch::install(Runtime::builder())
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
        let start = ctn().call(
            "startMany",
            vec![
                Value::from(design),
                Value::from(executor),
                Value::from(self.server.url("/uuid")),
                Value::from(n),
            ],
        );
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only <label substring>` restricts the designs (for profiling one of them).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let designs: Vec<(&str, &str, &str)> = DESIGNS
        .into_iter()
        .filter(|(_, _, label)| only.as_deref().is_none_or(|o| label.contains(o)))
        .collect();
    let (seq_ops, concurrent) = if quick { (200, 1_000) } else { (2_000, 10_000) };
    let bench = Bench::new();

    // Raw HTTP: the same GET with the same client stack, no runtime, no objects.
    let client = HttpClient::new();
    let req = FetchRequest::get(bench.server.url("/uuid"));
    let raw: Vec<Duration> = bench.rt.tokio().block_on(async {
        for _ in 0..100 {
            client.execute(&req, HttpLimits::default()).await.unwrap();
        }
        let mut v = Vec::with_capacity(seq_ops);
        for _ in 0..seq_ops {
            let t = Instant::now();
            client.execute(&req, HttpLimits::default()).await.unwrap();
            v.push(t.elapsed());
        }
        v.sort();
        v
    });
    let raw_median = percentile(&raw, 0.5);

    println!("## Sequential fetches of /uuid, no injected latency ({seq_ops} ops per design)\n");
    println!("| design | median µs | p99 µs | overhead over raw HTTP (median) µs |");
    println!("|---|---|---|---|");
    println!(
        "| raw HTTP (reqwest, no runtime) | {} | {} | 0 |",
        us(raw_median),
        us(percentile(&raw, 0.99))
    );
    for &(design, executor, label) in &designs {
        let origin = format!("seq-{design}-{executor}");
        for _ in 0..100 {
            bench.run(&origin, design, executor, 1, false);
        }
        let mut v: Vec<Duration> = (0..seq_ops)
            .map(|_| bench.run(&origin, design, executor, 1, false).0)
            .collect();
        v.sort();
        let med = percentile(&v, 0.5);
        println!(
            "| {label} | {} | {} | {} |",
            us(med),
            us(percentile(&v, 0.99)),
            us(med.saturating_sub(raw_median))
        );
    }

    println!("\n## {concurrent} concurrent fetches of /uuid through one origin\n");
    println!("| design | total ms | starting turn ms | per fetch µs | origin CPU µs/fetch | orchestrator CPU µs/fetch | rows written/fetch | RSS growth at end MiB |");
    println!("|---|---|---|---|---|---|---|---|");
    for &(design, executor, label) in &designs {
        let name = format!("conc-{design}-{executor}");
        let origin = Address::object("ORIGIN", name.as_str());
        let orch = Address::object(fetch::ORCHESTRATOR_BINDING, fetch::ORCHESTRATOR_NAME);
        let (o0, r0) = (bench.rt.accounting(&origin), bench.rt.accounting(&orch));
        let rss0 = rss_bytes();
        let (t, started) = bench.run(&name, design, executor, concurrent, true);
        let rss1 = rss_bytes();
        // Let the orchestrator finish its delivery reports before reading its accounting.
        bench.rt.settle(Duration::from_secs(60)).unwrap();
        let (o1, r1) = (bench.rt.accounting(&origin), bench.rt.accounting(&orch));
        let per = |a: Duration, b: Duration| (a - b).as_secs_f64() * 1e6 / concurrent as f64;
        let rows = (o1.rows_written - o0.rows_written) + (r1.rows_written - r0.rows_written);
        println!(
            "| {label} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} |",
            t.as_secs_f64() * 1e3,
            started.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e6 / concurrent as f64,
            per(o1.cpu, o0.cpu),
            per(r1.cpu, r0.cpu),
            rows as f64 / concurrent as f64,
            rss1.saturating_sub(rss0) as f64 / (1 << 20) as f64
        );
    }

    // Memory per in-flight fetch: start fetches to /hang (the executor waits out its timeout,
    // so they stay in flight), sample RSS once they are all started, then let them time out.
    let inflight = if quick { 1_000 } else { 5_000 };
    println!("\n## Memory per in-flight fetch ({inflight} fetches to /hang)\n");
    println!("| design | RSS growth MiB | per in-flight fetch KiB |");
    println!("|---|---|---|");
    for &(design, executor, label) in &designs {
        let o = bench
            .rt
            .object("ORIGIN", &format!("mem-{design}-{executor}"));
        let rss0 = rss_bytes();
        o.call_method(
            "startMany",
            vec![
                Value::from(design),
                Value::from(executor),
                Value::from(bench.server.url("/hang")),
                Value::from(inflight),
            ],
        )
        .unwrap();
        // Let every message reach its executor (and the slot-limited ones queue up).
        std::thread::sleep(Duration::from_millis(500));
        let rss1 = rss_bytes();
        let grew = rss1.saturating_sub(rss0);
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
