//! Codec speed side by side with Node, in one run: our `parse`/`stringify` against Node's own
//! `JSON.parse`/`JSON.stringify` and the TypeScript codec (`@lumenize/structured-clone`
//! 0.26.0, copied with its MIT license in `benches/codec_node/ts`) on the very same texts,
//! plain data of about 100 KB and 10 MB. Rounds are interleaved (ours, then Node's, per size)
//! and the table shows medians; MB/s are counted on the plain JSON text's length for every
//! column, so ratios are time ratios. When `node` is not installed the Node columns say so.
//! A Rust yardstick runs in the same rounds: `serde_json::from_str::<serde_json::Value>` on the
//! plain text (a general-purpose tree parse: one `String` per key and string, a map per object).
//!
//! Run: `cargo bench -p lumenize-core --bench codec_vs_node` (`-- --rounds N`, default 5;
//! `-- --quick` for 1 round of short batches; `-- --cpu-time` times batches by CPU time, on
//! both sides, instead of wall time, which a shared machine's load distorts). Results: docs/benchmarks/codec.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lumenize_core::structured_clone::{parse, stringify};

#[path = "support/codec_data.rs"]
#[allow(dead_code)]
mod codec_data;
use codec_data::{plain_data, to_value};

/// Which clock batches are timed with.
#[derive(Clone, Copy, PartialEq)]
enum Clock {
    /// Wall time (what a caller waits).
    Wall,
    /// This thread's CPU time (`--cpu-time`): on a shared machine, time spent descheduled
    /// while other processes run is not counted.
    Cpu,
}

impl Clock {
    /// Nanoseconds since an arbitrary origin.
    fn now_ns(self, origin: Instant) -> f64 {
        match self {
            Clock::Wall => origin.elapsed().as_nanos() as f64,
            Clock::Cpu => {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
                unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
            }
        }
    }
}

/// Nanoseconds per call of `f`: the median of 5 batches of at least `min / 5` each, after a
/// warm-up of `min / 2`, timed with `clock`.
fn ns_per_op(clock: Clock, min: Duration, mut f: impl FnMut()) -> f64 {
    let origin = Instant::now();
    let warm = clock.now_ns(origin);
    while clock.now_ns(origin) - warm < min.as_nanos() as f64 / 2.0 {
        f();
    }
    let batch = min.as_nanos() as f64 / 5.0;
    let mut batches: Vec<f64> = (0..5)
        .map(|_| {
            let start = clock.now_ns(origin);
            let mut k = 0u32;
            let mut now = start;
            while k == 0 || now - start < batch {
                f();
                k += 1;
                now = clock.now_ns(origin);
            }
            (now - start) / f64::from(k)
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[2]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One Node measurement: ns per op for `JSON.parse`, codec `parse`, `JSON.stringify`, codec
/// `stringify`, and whether the codec wrote our wire text byte for byte.
struct NodeRun {
    json_parse: f64,
    ts_parse: f64,
    json_stringify: f64,
    ts_stringify: f64,
    same_text: bool,
}

fn node_version() -> Option<String> {
    let out = Command::new("node").arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn run_node(
    script: &Path,
    plain: &Path,
    wire: &Path,
    min: Duration,
    clock: Clock,
) -> Result<NodeRun, String> {
    let out = Command::new("node")
        .arg(script)
        .arg(plain)
        .arg(wire)
        .arg(min.as_millis().to_string())
        .arg(if clock == Clock::Cpu { "cpu" } else { "wall" })
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("node output: {e}"))?;
    let f = |k: &str| v[k].as_f64().ok_or(format!("node output lacks {k}"));
    Ok(NodeRun {
        json_parse: f("json_parse")?,
        ts_parse: f("ts_parse")?,
        json_stringify: f("json_stringify")?,
        ts_stringify: f("ts_stringify")?,
        same_text: v["same_text"].as_bool() == Some(true),
    })
}

/// Per size: the texts and the samples of every round.
struct Size {
    label: &'static str,
    plain_len: usize,
    plain: PathBuf,
    wire: PathBuf,
    plain_text: String,
    ours_parse: Vec<f64>,
    serde_parse: Vec<f64>,
    ours_stringify: Vec<f64>,
    node: Vec<NodeRun>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 1 } else { 5 });
    let min = Duration::from_millis(if quick { 200 } else { 1_000 });
    let clock = if args.iter().any(|a| a == "--cpu-time") {
        Clock::Cpu
    } else {
        Clock::Wall
    };
    // `--parse-loop SECS`: parse the 100 KB text in a loop and stop (for a profiler).
    if let Some(secs) = args
        .iter()
        .position(|a| a == "--parse-loop")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<u64>().ok())
    {
        let wire = stringify(&to_value(&plain_data(100_000))).unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            drop(black_box(parse(black_box(&wire)).unwrap()));
        }
        return;
    }
    // `--parse-count N [--10mb] [--stringify]`: parse the 100 KB (or 10 MB) text N times, or
    // stringify its value, and stop (for `perf stat` or callgrind, whose counts a loaded
    // machine disturbs less than wall time).
    if let Some(n) = args
        .iter()
        .position(|a| a == "--parse-count")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<u64>().ok())
    {
        let bytes = if args.iter().any(|a| a == "--10mb") {
            10_000_000
        } else {
            100_000
        };
        let value = to_value(&plain_data(bytes));
        let wire = stringify(&value).unwrap();
        let stringify_only = args.iter().any(|a| a == "--stringify");
        for _ in 0..n {
            if stringify_only {
                drop(black_box(stringify(black_box(&value)).unwrap()));
            } else {
                drop(black_box(parse(black_box(&wire)).unwrap()));
            }
        }
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/codec_node/bench.mjs");
    let node = node_version();
    let dir = std::env::temp_dir().join(format!("lumenize-codec-vs-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    let mut sizes = Vec::new();
    let mut values = Vec::new();
    for (label, bytes) in [("100KB", 100_000), ("10MB", 10_000_000)] {
        let json = plain_data(bytes);
        let plain_text = serde_json::to_string(&json).unwrap();
        let value = to_value(&json);
        let wire = stringify(&value).unwrap();
        assert_eq!(&wire[8..wire.len() - 11], plain_text, "same data");
        let (plain, wire_path) = (
            dir.join(format!("{label}.json")),
            dir.join(format!("{label}.w4")),
        );
        std::fs::write(&plain, &plain_text).unwrap();
        std::fs::write(&wire_path, &wire).unwrap();
        sizes.push(Size {
            label,
            plain_len: plain_text.len(),
            plain,
            wire: wire_path,
            plain_text,
            ours_parse: Vec::new(),
            serde_parse: Vec::new(),
            ours_stringify: Vec::new(),
            node: Vec::new(),
        });
        values.push((value, wire));
    }

    let mut node_error = None;
    for round in 0..rounds {
        for (s, (value, wire)) in sizes.iter_mut().zip(&values) {
            s.ours_parse.push(ns_per_op(clock, min, || {
                drop(black_box(parse(black_box(wire)).unwrap()))
            }));
            let plain = s.plain_text.as_str();
            s.serde_parse.push(ns_per_op(clock, min, || {
                let v: serde_json::Value = serde_json::from_str(black_box(plain)).unwrap();
                drop(black_box(v))
            }));
            s.ours_stringify.push(ns_per_op(clock, min, || {
                drop(black_box(stringify(black_box(value)).unwrap()))
            }));
            if node.is_some() && node_error.is_none() {
                match run_node(&script, &s.plain, &s.wire, min, clock) {
                    Ok(r) => s.node.push(r),
                    Err(e) => node_error = Some(e),
                }
            }
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }
    let _ = std::fs::remove_dir_all(&dir);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("## Codec side by side with Node ({rounds} interleaved rounds, medians)\n");
    match (&node, &node_error) {
        (Some(v), None) => {
            println!("Node {v}; TypeScript codec @lumenize/structured-clone 0.26.0.")
        }
        (Some(v), Some(e)) => println!("Node {v} failed, Node columns empty: {e}"),
        (None, _) => println!("`node` is not installed: the Node columns are empty."),
    }
    println!(
        "Timed by {}. Load average at the end: {}\n",
        if clock == Clock::Cpu {
            "CPU time (ours: this thread's; Node: its whole process, GC threads included)"
        } else {
            "wall time"
        },
        load.trim()
    );
    println!("| size | parse: ours | TS codec | Node JSON.parse | serde_json Value | ours / TS | ours / JSON.parse | ours / serde_json | stringify: ours | TS codec | Node JSON.stringify | ours / TS | same text |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for s in &mut sizes {
        let mbps = |ns: f64| s.plain_len as f64 / ns * 1e3;
        let ours_p = mbps(median(&mut s.ours_parse));
        let ours_s = mbps(median(&mut s.ours_stringify));
        let serde_p = mbps(median(&mut s.serde_parse));
        let pick = |f: fn(&NodeRun) -> f64| {
            let mut v: Vec<f64> = s.node.iter().map(f).collect();
            (!v.is_empty()).then(|| mbps(median(&mut v)))
        };
        let show = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.0} MB/s"));
        let ratio = |a: f64, b: Option<f64>| b.map_or("n/a".into(), |b| format!("{:.2}x", a / b));
        let (tsp, jp) = (pick(|r| r.ts_parse), pick(|r| r.json_parse));
        let (tss, js) = (pick(|r| r.ts_stringify), pick(|r| r.json_stringify));
        let same = if s.node.is_empty() {
            "n/a"
        } else if s.node.iter().all(|r| r.same_text) {
            "yes"
        } else {
            "NO"
        };
        println!(
            "| {} | {ours_p:.0} MB/s | {} | {} | {serde_p:.0} MB/s | {} | {} | {:.2}x | {ours_s:.0} MB/s | {} | {} | {} | {same} |",
            s.label,
            show(tsp),
            show(jp),
            ratio(ours_p, tsp),
            ratio(ours_p, jp),
            ours_p / serde_p,
            show(tss),
            show(js),
            ratio(ours_s, tss),
        );
    }
}
