//! The latency comparison of the three fetch designs inside a local workerd (the real
//! runtime): the desk's `fetchVia` with `direct`, `simple` and `orchestrated` against the
//! suite's endpoint server (`/delay/{ms}` on 127.0.0.1), sequentially and in concurrent
//! bursts, designs interleaved. A measurement, not a test: run it on demand with
//!
//! ```text
//! LUMENIZE_CF_TOOLS=<tools dir> cargo test -p lumenize-tests --test backend_workerd \
//!     -- --ignored --nocapture measure_the_designs_in_workerd
//! ```
//!
//! It writes `docs/experiment/workerd.json` (every cell) and `docs/experiment/workerd.md`
//! (the section the experiment appends to `report.md`), or into `$LUMENIZE_WORKERD_OUT`.
//! Environment knobs:
//! `LUMENIZE_WORKERD_OPS` (sequential operations per design at 0 ms, default 200; 100 ms runs
//! half as many, 1 s a tenth), `LUMENIZE_WORKERD_BURST` (concurrent operations per burst,
//! default 100), `LUMENIZE_WORKERD_ROUNDS` (bursts per design and delay, default 5).
//!
//! Latency is from just before the driver posts `fetchVia` until the continuation ran, as
//! the object's own clock (`Date.now()`, whole milliseconds, advancing across I/O) recorded
//! it in the continuation's turn: the driver's polling for completion is not in it.

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lumenize_core::ocan::FromValue;
use lumenize_core::structured_clone::Value;

use crate::suite::Backend;
use crate::workerd::Workerd;

const DESIGNS: [&str; 3] = ["direct", "simple", "orchestrated"];

/// One measured cell: a design at a delay, sequential or in bursts.
struct Cell {
    mode: &'static str,
    delay_ms: u64,
    design: &'static str,
    /// Per-operation latencies, ms.
    ms: Vec<f64>,
    /// Bursts only: from the first post to the last continuation, ms, per round.
    makespans: Vec<f64>,
    /// Operations whose outcome was not `200`.
    failed: usize,
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_else(|_| "unknown".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu} · {cpus} logical CPUs")
}

/// The nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn call(w: &Workerd, desk: &str, method: &str, args: Vec<Value>) -> Value {
    w.call(desk, method, args)
        .unwrap_or_else(|e| panic!("{desk}.{method}: {e}"))
}

fn strings(w: &Workerd, desk: &str, method: &str, args: Vec<Value>) -> Vec<String> {
    let v = call(w, desk, method, args);
    Vec::<String>::from_value(v.clone()).unwrap_or_else(|| panic!("{method}: {v:?}"))
}

/// Posts `fetchVia` and returns when the post was answered (direct: after its
/// continuation), with the driver's clock just before the post.
fn start(w: &Workerd, desk: &str, design: &str, tag: &str, url: &str) -> f64 {
    let t0 = now_ms();
    call(
        w,
        desk,
        "fetchVia",
        vec![
            design.into(),
            tag.into(),
            url.into(),
            Value::Number(30_000.0),
        ],
    );
    t0
}

/// Waits until `desk` recorded `count` continuations with tags starting with `prefix`;
/// returns `tag -> at` (the object's clock). Polls no earlier than `not_before` (the fetch
/// cannot end sooner), then every few ms.
fn finished(
    w: &Workerd,
    desk: &str,
    prefix: &str,
    count: usize,
    not_before: Instant,
) -> Vec<(String, f64)> {
    if let Some(wait) = not_before.checked_duration_since(Instant::now()) {
        std::thread::park_timeout(wait);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pause = Duration::from_millis(1);
    loop {
        let done = strings(w, desk, "doneTimes", vec![prefix.into()]);
        if done.len() >= count {
            return done
                .iter()
                .filter_map(|d| {
                    let (tag, at) = d.rsplit_once('=')?;
                    Some((tag.to_string(), at.parse().ok()?))
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "{desk}: {}/{count} continuations of {prefix} after 120 s:\n{}",
            done.len(),
            w.logs()
        );
        std::thread::park_timeout(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Outcomes on `desk` (tags starting with `prefix`) that are not `200`.
fn failures(w: &Workerd, desk: &str, prefix: &str) -> usize {
    strings(w, desk, "outcomes", vec![])
        .iter()
        .filter(|o| o.starts_with(prefix) && !o.ends_with("=200"))
        .count()
}

fn sequential(w: &Workerd, delay_ms: u64, ops: usize, cells: &mut Vec<Cell>) {
    let url = format!("{}/delay/{delay_ms}", w.endpoint());
    let mut ms = [Vec::new(), Vec::new(), Vec::new()];
    for i in 0..ops {
        // Interleaved, the order rotating, so drift and load hit every design alike.
        for k in 0..DESIGNS.len() {
            let d = (i + k) % DESIGNS.len();
            let desk = format!("seq-{delay_ms}-{}", DESIGNS[d]);
            let tag = format!("s{i}.");
            let posted = Instant::now();
            let t0 = start(w, &desk, DESIGNS[d], &tag, &url);
            let done = finished(w, &desk, &tag, 1, posted + Duration::from_millis(delay_ms));
            ms[d].push(done[0].1 - t0);
        }
    }
    for (d, ms) in ms.into_iter().enumerate() {
        let desk = format!("seq-{delay_ms}-{}", DESIGNS[d]);
        cells.push(Cell {
            mode: "sequential",
            delay_ms,
            design: DESIGNS[d],
            failed: failures(w, &desk, "s"),
            ms,
            makespans: Vec::new(),
        });
    }
}

fn bursts(w: &Workerd, delay_ms: u64, size: usize, rounds: usize, cells: &mut Vec<Cell>) {
    let url = format!("{}/delay/{delay_ms}", w.endpoint());
    let mut ms = [Vec::new(), Vec::new(), Vec::new()];
    let mut spans = [Vec::new(), Vec::new(), Vec::new()];
    for r in 0..rounds {
        for k in 0..DESIGNS.len() {
            let d = (r + k) % DESIGNS.len();
            // One origin per burst: every operation of it goes through the same object.
            let desk = format!("burst-{delay_ms}-{}-{r}", DESIGNS[d]);
            let starts: Vec<(String, f64)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..size)
                    .map(|i| {
                        let (desk, url) = (&desk, &url);
                        s.spawn(move || {
                            let tag = format!("b{i}.");
                            let t0 = start(w, desk, DESIGNS[d], &tag, url);
                            (tag, t0)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a burst thread"))
                    .collect()
            });
            let done = finished(w, &desk, "b", size, Instant::now());
            let first = starts.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
            let last = done.iter().map(|d| d.1).fold(0.0, f64::max);
            spans[d].push(last - first);
            for (tag, t0) in &starts {
                let at = done
                    .iter()
                    .find(|(t, _)| t == tag)
                    .map(|d| d.1)
                    .unwrap_or_else(|| panic!("{desk}: no continuation for {tag}"));
                ms[d].push(at - t0);
            }
            let failed = failures(w, &desk, "b");
            assert_eq!(failed, 0, "{desk}: {failed} outcomes not 200");
        }
    }
    for (d, (ms, spans)) in ms.into_iter().zip(spans).enumerate() {
        cells.push(Cell {
            mode: "burst",
            delay_ms,
            design: DESIGNS[d],
            ms,
            makespans: spans,
            failed: 0,
        });
    }
}

/// Runs the whole comparison and writes its files into `out`.
pub fn measure(out: &std::path::Path) {
    let ops = env_num("LUMENIZE_WORKERD_OPS", 200);
    let burst = env_num("LUMENIZE_WORKERD_BURST", 100);
    let rounds = env_num("LUMENIZE_WORKERD_ROUNDS", 5);
    let load_before = load();
    let started = Instant::now();
    let w = Workerd::start();
    // Warm-up: the first operation of each design instantiates the module and the objects.
    for d in DESIGNS {
        let url = format!("{}/delay/0", w.endpoint());
        for i in 0..5 {
            let tag = format!("w{i}.");
            start(&w, "warm", d, &format!("{d}-{tag}"), &url);
            finished(&w, "warm", &format!("{d}-{tag}"), 1, Instant::now());
        }
    }
    let mut cells = Vec::new();
    for (delay, n) in [(0, ops), (100, ops / 2), (1000, (ops / 10).max(1))] {
        eprintln!("[latency] sequential, {delay} ms, {n} per design");
        sequential(&w, delay, n, &mut cells);
    }
    for delay in [0, 100] {
        eprintln!("[latency] bursts of {burst}, {delay} ms, {rounds} rounds");
        bursts(&w, delay, burst, rounds, &mut cells);
    }
    let elapsed = started.elapsed();
    let load_after = load();
    std::fs::create_dir_all(out).expect("the output directory");
    let json = json(
        &cells,
        &load_before,
        &load_after,
        elapsed,
        ops,
        burst,
        rounds,
    );
    std::fs::write(out.join("workerd.json"), json).expect("write workerd.json");
    let md = markdown(
        &cells,
        &load_before,
        &load_after,
        elapsed,
        ops,
        burst,
        rounds,
    );
    std::fs::write(out.join("workerd.md"), &md).expect("write workerd.md");
    eprintln!("{md}");
}

fn stats(c: &Cell) -> (Vec<f64>, f64) {
    let mut s = c.ms.clone();
    s.sort_by(f64::total_cmp);
    let mean = s.iter().sum::<f64>() / s.len().max(1) as f64;
    (s, mean)
}

fn json(
    cells: &[Cell],
    before: &str,
    after: &str,
    elapsed: Duration,
    ops: usize,
    burst: usize,
    rounds: usize,
) -> String {
    let cells: Vec<serde_json::Value> = cells
        .iter()
        .map(|c| {
            let (s, mean) = stats(c);
            let mut spans = c.makespans.clone();
            spans.sort_by(f64::total_cmp);
            serde_json::json!({
                "mode": c.mode,
                "delay_ms": c.delay_ms,
                "design": c.design,
                "n": s.len(),
                "failed": c.failed,
                "mean_ms": mean,
                "p50_ms": pct(&s, 0.50),
                "p90_ms": pct(&s, 0.90),
                "p99_ms": pct(&s, 0.99),
                "max_ms": pct(&s, 1.0),
                "burst_makespans_ms": spans,
            })
        })
        .collect();
    let v = serde_json::json!({
        "runtime": "workerd 1.20261117.1 (local), examples/reminders-worker built by worker-build 0.8.7 --release",
        "machine": machine(),
        "load_before": before,
        "load_after": after,
        "elapsed_s": elapsed.as_secs_f64(),
        "sequential_ops_at_0ms": ops,
        "burst_size": burst,
        "burst_rounds": rounds,
        "cells": cells,
    });
    serde_json::to_string_pretty(&v).expect("json") + "\n"
}

fn markdown(
    cells: &[Cell],
    before: &str,
    after: &str,
    elapsed: Duration,
    ops: usize,
    burst: usize,
    rounds: usize,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Latency in local workerd (the real runtime)\n");
    let _ = writeln!(
        s,
        "The three designs run by the real Workers runtime: `examples/reminders-worker` \
         (built with worker-build 0.8.7, release) in a local workerd 1.20261117.1, Durable Object \
         storage on disk; the desk's `fetchVia` starts the fetch with each design against the \
         suite's endpoint server (`/delay/{{ms}}` on 127.0.0.1). Direct: the desk fetches itself \
         and its request stays open until the continuation ran; simple: `proxy_fetch_simple` \
         through the fetch executor worker; orchestrated: `proxy_fetch` through the \
         `OrchestratorObject` Durable Object (an alarm per request) and the executor.\n"
    );
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| command | `LUMENIZE_CF_TOOLS=<tools> cargo test -p lumenize-tests --test backend_workerd -- --ignored --nocapture measure_the_designs_in_workerd` |"
    );
    let _ = writeln!(s, "| machine | {} |", machine());
    let _ = writeln!(
        s,
        "| load average (1/5/15 min) | before {before} · after {after} |"
    );
    let _ = writeln!(
        s,
        "| operations | sequential: {ops} per design at 0 ms, {} at 100 ms, {} at 1 s, designs interleaved one operation at a time; bursts: {burst} concurrent on one origin, {rounds} rounds per design and delay, designs interleaved |",
        ops / 2,
        (ops / 10).max(1)
    );
    let _ = writeln!(s, "| total wall time | {:.0} s |\n", elapsed.as_secs_f64());
    let _ = writeln!(
        s,
        "Latency is from just before the driver posts `fetchVia` until the continuation ran, as \
         the object's clock recorded it in the continuation's turn (`Date.now()`: whole \
         milliseconds, and in workerd it advances only across I/O, so each value is good to \
         about 1 ms); the driver's polling for completion is not in it. A burst's makespan is \
         from its first post to its last continuation.\n"
    );
    let _ = writeln!(
        s,
        "| mode | fetch | design | n | mean ms | p50 ms | p90 ms | p99 ms | max ms | burst makespan, median (min–max) ms | not 200 |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for c in cells {
        let (sorted, mean) = stats(c);
        let mut spans = c.makespans.clone();
        spans.sort_by(f64::total_cmp);
        let span = if spans.is_empty() {
            "".to_string()
        } else {
            format!(
                "{:.0} ({:.0}–{:.0})",
                pct(&spans, 0.5),
                spans[0],
                spans[spans.len() - 1]
            )
        };
        let _ = writeln!(
            s,
            "| {} | {} ms | {} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {span} | {} |",
            c.mode,
            c.delay_ms,
            c.design,
            sorted.len(),
            mean,
            pct(&sorted, 0.5),
            pct(&sorted, 0.9),
            pct(&sorted, 0.99),
            pct(&sorted, 1.0),
            c.failed
        );
    }
    let _ = writeln!(s);
    for line in overheads(cells) {
        let _ = writeln!(s, "- {line}");
    }
    let _ = writeln!(
        s,
        "\nHow to read them: sequentially, the difference to direct is each proxy design's own \
         work per fetch (simple: the origin's second turn, the executor worker's invocation and \
         two more requests between them, the schedule's rows and `setAlarm`; orchestrated: the \
         same through one more object, the orchestrator with its queue row and alarm), the \
         same whatever the fetch's duration. In a burst on one origin those extra turns \
         queue on the origin's single thread (and, orchestrated, on the one orchestrator every \
         origin shares), so the proxy designs finish later than direct, whose object only \
         waits. The driver's 100 posting threads and the endpoint server share the machine's \
         CPUs with workerd, which inflates burst latencies for every design alike."
    );
    let _ = writeln!(
        s,
        "\nWhat these numbers show and do not show: local workerd has no network between the \
         parts (every hop is a loopback HTTP exchange inside one process) and no billing, so \
         they measure the runtime's own overhead of each design (the extra Durable Object \
         requests, SQLite transactions, alarm writes and the executor's invocation) on this \
         machine, next to each other. They are not Cloudflare's production latencies (hops \
         between colos, storage replication, cold starts), and they say nothing about cost: \
         the cost comparison is the native experiment's above, from the rows and the accounted \
         duration. The machine is shared (2 CPUs, see its load): compare the designs within a \
         row group, not against other runs."
    );
    s
}

/// One line per mode and delay: each proxy design's p50 and p90 over direct's.
fn overheads(cells: &[Cell]) -> Vec<String> {
    let mut out = Vec::new();
    for c in cells.iter().filter(|c| c.design == "direct") {
        let (direct, _) = stats(c);
        let mut parts = Vec::new();
        for other in cells
            .iter()
            .filter(|o| o.mode == c.mode && o.delay_ms == c.delay_ms && o.design != "direct")
        {
            let (s, _) = stats(other);
            parts.push(format!(
                "{} {:+.0} ms (p50), {:+.0} ms (p90)",
                other.design,
                pct(&s, 0.5) - pct(&direct, 0.5),
                pct(&s, 0.9) - pct(&direct, 0.9)
            ));
        }
        let mut line = format!(
            "{} at {} ms, over direct: {}",
            c.mode,
            c.delay_ms,
            parts.join("; ")
        );
        if !c.makespans.is_empty() {
            let span = |x: &Cell| {
                let mut v = x.makespans.clone();
                v.sort_by(f64::total_cmp);
                pct(&v, 0.5)
            };
            let ratios: Vec<String> = cells
                .iter()
                .filter(|o| o.mode == c.mode && o.delay_ms == c.delay_ms && o.design != "direct")
                .map(|o| format!("{} {:.2}x", o.design, span(o) / span(c)))
                .collect();
            line.push_str(&format!(
                "; burst makespan against direct's: {}",
                ratios.join(", ")
            ));
        }
        out.push(line + ".");
    }
    out
}
