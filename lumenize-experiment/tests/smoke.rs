//! Smoke test of the whole experiment in a small configuration: it really runs every design
//! against the local endpoint server, then checks that the report is complete and that its
//! figures agree with each other (rows per operation match what each design writes, cost is
//! the price table applied to the counts, break-even points lie on the cost lines). No
//! assertion depends on wall-clock time.

use std::time::Duration;

use lumenize_core::alarms::When;
use lumenize_core::prelude::*;
use lumenize_experiment::analysis::Analysis;
use lumenize_experiment::config::Config;
use lumenize_experiment::model::{BreakEven, OpUsage, RoleUsage, Variant};
use lumenize_experiment::prices::PriceTable;
use lumenize_experiment::report::SECTIONS;
use lumenize_experiment::{run, write_outputs, Results};

fn small() -> Config {
    Config {
        durations_ms: vec![0, 50],
        runs: 2,
        ops: 3,
        scale_levels: vec![10, 40],
        progress: false,
        ..Config::quick()
    }
}

#[derive(Default)]
struct Idle;
impl Idle {
    fn noop(&mut self, _ctx: &Ctx<'_>) {}
}
lumenize_core::handlers!(Idle { noop() });

/// Rows one alarm schedule plus its cancel write, measured independently: the same public
/// alarms API, on a file-backed object of a separate runtime, through the same accounting.
fn rows_of_one_schedule_and_cancel() -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::builder()
        .object("IDLE", |_| Idle)
        .data_dir(dir.path())
        .build()
        .unwrap();
    let o = rt.object("IDLE", "x");
    o.run(|_, _| Ok(())).unwrap(); // open: schema and name rows are not part of the count
    let before = rt.accounting(o.address()).rows_written;
    o.run(|_, ctx| {
        let at = ctx.now_ms() + 3_600_000;
        ctx.alarms()
            .schedule_with_id("fetch-x", When::at_ms(at), ctn().call("noop", vec![]))
            .map_err(|e| ChainError::handler(e.to_string()))?;
        Ok(())
    })
    .unwrap();
    o.run(|_, ctx| {
        let s = ctx
            .alarms()
            .cancel_schedule("fetch-x")
            .map_err(|e| ChainError::handler(e.to_string()))?;
        assert!(s.is_some());
        Ok(())
    })
    .unwrap();
    rt.accounting(o.address()).rows_written - before
}

fn integral(x: f64) -> bool {
    (x - x.round()).abs() < 1e-9
}

/// The cost formula written out independently of `model`: objects pay requests, awake time at
/// 128 MB and rows; the executor pays requests and CPU.
fn expected_cost(u: &OpUsage, p: &PriceTable) -> f64 {
    let object = |r: &RoleUsage| {
        r.requests * p.do_requests_per_million
            + r.awake_ms / 1000.0 * p.do_memory_gb * p.do_gb_s_per_million
            + r.rows_written * p.sqlite_rows_written_per_million
            + r.rows_read * p.sqlite_rows_read_per_million
    };
    object(&u.origin)
        + object(&u.orchestrator)
        + u.executor.requests * p.worker_requests_per_million
        + u.executor.cpu_ms * p.worker_cpu_ms_per_million
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn small_run_writes_a_complete_self_consistent_report() {
    let config = small();
    let results = run(&config).expect("the experiment runs");
    let out = tempfile::tempdir().unwrap();
    let files = write_outputs(&results, out.path()).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "report.md",
        "samples.csv",
        "accounting.csv",
        "scale.csv",
        "cost-none.svg",
        "latency-overhead-none.svg",
    ] {
        assert!(
            names.contains(&want.to_string()),
            "{want} missing: {names:?}"
        );
    }
    let events = results.runtime_events;
    assert_eq!(
        (events.failures(), events.late_outcomes()),
        (0, 0),
        "{events:?}"
    );

    check_samples(
        &results,
        &std::fs::read_to_string(out.path().join("samples.csv")).unwrap(),
    );
    check_rows_and_requests(&results);
    let analysis = Analysis::of(&results);
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    check_report(&report, &analysis);
    check_costs(&results, &analysis);
    check_break_even(
        &analysis,
        &std::fs::read_to_string(out.path().join("cost-none.svg")).unwrap(),
    );
    check_scale(&results);
    // The workerd section beside the report is kept in it, at the end.
    let section = "## Latency in local workerd (the real runtime)\n\nmeasured elsewhere\n";
    std::fs::write(out.path().join("workerd.md"), section).unwrap();
    write_outputs(&results, out.path()).unwrap();
    let again = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert_eq!(
        again.strip_suffix(section),
        Some(format!("{report}\n").as_str())
    );
    let latency_svg =
        std::fs::read_to_string(out.path().join("latency-overhead-none.svg")).unwrap();
    assert_eq!(
        latency_svg.matches("class=\"bar\"").count(),
        (Variant::ALL.len() - 1) * config.durations_ms.len(),
        "one bar per proxy design and duration"
    );
    check_summary(
        &analysis,
        &std::fs::read_to_string(out.path().join("summary.json")).unwrap(),
        rows_of_one_schedule_and_cancel() as f64,
    );
    // One poll firing: the alarm request, the claimed poll schedule deleted.
    let poll = results.poll_firing.expect("the poll fired");
    assert_eq!((poll.requests, poll.rows_written), (1.0, 1.0), "{poll:?}");
    assert!(report.contains("## How the designs ran"));
    assert!(report.contains("## The original's cost theory"));
}

/// `summary.json` is the fixed contract: three designs, each with its rows per operation, its
/// cost at a 0 ms fetch and its break-even (null for direct), equal to the analysis.
fn check_summary(a: &Analysis, text: &str, sched_cancel: f64) {
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let designs = json["designs"].as_object().unwrap();
    let mut names: Vec<&str> = designs.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["direct", "orchestrated", "simple"]);
    let p = &a.profiles[0];
    for (name, v) in [
        ("direct", Variant::Direct),
        ("simple", Variant::SimpleWorker),
        ("orchestrated", Variant::Orchestrated),
    ] {
        let d = &designs[name];
        let cost = d["cost_per_million_usd"].as_f64().unwrap();
        assert!(
            (cost - p.line(v).unwrap().at(0.0)).abs() < 1e-4,
            "{name}: {d}"
        );
        let be = &d["break_even_s"];
        match p.break_even_of(v) {
            None => assert!(be.is_null(), "{name}: {d}"),
            Some(BreakEven::Above(ms)) => {
                assert!(
                    (be.as_f64().unwrap() - ms / 1000.0).abs() < 1e-3,
                    "{name}: {d}"
                )
            }
            Some(BreakEven::Always) => assert_eq!(be.as_f64(), Some(0.0), "{name}: {d}"),
            Some(BreakEven::Never) => assert!(be.is_null(), "{name}: {d}"),
        }
    }
    let rows = |n: &str| designs[n]["rows_written_per_op"].as_f64().unwrap();
    assert_eq!(rows("direct"), 0.0);
    assert_eq!(rows("simple"), sched_cancel);
    assert_eq!(rows("orchestrated"), sched_cancel + 2.0);
}

fn check_samples(r: &Results, csv: &str) {
    let c = &r.config;
    let expected = c.durations_ms.len() * Variant::ALL.len() * (c.runs * c.ops) as usize;
    assert_eq!(r.samples.len(), expected);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("profile,design,fetch_ms,run,op,latency_us")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), expected);
    for (row, s) in rows.iter().zip(&r.samples) {
        assert_eq!(row[1], s.variant.key());
        assert_eq!(row[2].parse::<u64>().unwrap(), s.fetch_ms);
        let us: f64 = row[5].parse().unwrap();
        assert!(
            (us - s.latency.as_secs_f64() * 1e6).abs() <= 0.051,
            "{us} vs {:?}",
            s.latency
        );
        // A fetch of d ms cannot complete in less than d ms.
        assert!(s.latency >= Duration::from_millis(s.fetch_ms), "{s:?}");
    }
}

fn check_rows_and_requests(r: &Results) {
    let sched_cancel = rows_of_one_schedule_and_cancel() as f64;
    assert!(
        sched_cancel >= 2.0,
        "a schedule and a cancel write at least two rows"
    );
    for b in &r.batches {
        let (o, q, e) = (b.usage.origin, b.usage.orchestrator, b.usage.executor);
        if b.variant == Variant::OrchestratedPolling {
            // Its poll schedule is armed by the first fetch of a busy period and fires 5 s
            // later, whichever batch is running then: not the same counts per operation.
            assert_eq!(o.rows_written, 0.0, "the origin stores nothing: {b:?}");
            assert!(
                (2.0..=3.0).contains(&q.rows_written),
                "queue insert + delete, and the poll schedule at most once per op: {b:?}"
            );
            assert_eq!((o.requests, e.requests), (2.0, 1.0), "{b:?}");
            assert!(q.requests >= 2.0, "{b:?}");
            continue;
        }
        for x in [
            o.requests,
            o.rows_written,
            q.requests,
            q.rows_written,
            e.requests,
        ] {
            assert!(
                integral(x),
                "sequential operations all cost the same counts: {b:?}"
            );
        }
        match b.variant {
            Variant::Direct => {
                assert_eq!(o.rows_written, 0.0, "direct writes nothing: {b:?}");
                // The continuation is part of the start request, as on Cloudflare.
                assert_eq!(
                    (o.requests, q.requests, e.requests),
                    (1.0, 0.0, 0.0),
                    "{b:?}"
                );
                // Awake for the whole fetch: at least its duration.
                assert!(o.awake_ms >= b.fetch_ms as f64, "{b:?}");
            }
            Variant::SimpleWorker | Variant::SimpleRpc => {
                assert_eq!(
                    o.rows_written, sched_cancel,
                    "one schedule + one cancel: {b:?}"
                );
                assert_eq!(
                    (o.requests, e.requests, q.requests),
                    (2.0, 1.0, 0.0),
                    "{b:?}"
                );
            }
            Variant::OrchestratedPolling => unreachable!("checked above"),
            Variant::Orchestrated => {
                assert_eq!(o.rows_written, 0.0, "the origin stores nothing: {b:?}");
                assert_eq!(
                    q.rows_written,
                    sched_cancel + 2.0,
                    "queue insert + delete on top of the orchestrator's own schedule: {b:?}"
                );
                assert_eq!(
                    (o.requests, q.requests, e.requests),
                    (2.0, 2.0, 1.0),
                    "{b:?}"
                );
            }
        }
    }
}

fn check_report(report: &str, a: &Analysis) {
    let mut at = 0;
    for s in SECTIONS {
        let i = report[at..]
            .find(s)
            .unwrap_or_else(|| panic!("section {s:?} missing or out of order"));
        at += i + s.len();
    }
    let p = &a.profiles[0];
    for c in &p.cells {
        let endpoint = if c.fetch_ms == 0 {
            "`/uuid` (~0 ms)".to_string()
        } else {
            format!("`/delay/{}`", c.fetch_ms)
        };
        let prefix = format!("| {endpoint} | {} |", c.variant.label());
        let rows: Vec<&str> = report.lines().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(rows.len(), 3, "latency, usage and cost rows for {prefix}");
        assert!(
            rows[2].contains(&format!("**{:.4}**", c.cost.total())),
            "cost row shows the computed total: {}",
            rows[2]
        );
        assert!(
            rows[0].contains(&format!("{:.2}", c.latency.mean_ms)),
            "{}",
            rows[0]
        );
    }
    assert!(report.contains("![cost per million operations](cost-none.svg)"));
}

fn check_costs(r: &Results, a: &Analysis) {
    let p = &a.profiles[0];
    for c in &p.cells {
        // The cell's usage is the op-weighted mean of its runs' accounting ...
        let parts: Vec<_> = r
            .batches
            .iter()
            .filter(|b| b.variant == c.variant && b.fetch_ms == c.fetch_ms)
            .collect();
        assert_eq!(parts.len() as u32, r.config.runs);
        let mean_rows = parts
            .iter()
            .map(|b| b.usage.origin.rows_written)
            .sum::<f64>()
            / parts.len() as f64;
        assert!(close(c.usage.origin.rows_written, mean_rows));
        // ... and its cost is the price table applied to that usage.
        assert!(
            close(c.cost.total(), expected_cost(&c.usage, &r.config.prices)),
            "{c:?}"
        );
    }
    // Overriding a price changes each cost by exactly that price times the count.
    let free_requests = PriceTable::default()
        .overridden_by_toml("worker_requests_per_million = 0", "test")
        .unwrap();
    let mut r2 = r.clone();
    r2.config.prices = free_requests;
    let a2 = Analysis::of(&r2);
    for (c, c2) in p.cells.iter().zip(&a2.profiles[0].cells) {
        let diff = c.cost.total() - c2.cost.total();
        assert!(
            close(diff, c.usage.executor.requests * 0.30),
            "{diff} for {:?}",
            c.variant
        );
    }
}

fn check_break_even(a: &Analysis, svg: &str) {
    let p = &a.profiles[0];
    let direct = p.line(Variant::Direct).unwrap();
    // Two durations: each line passes through its two measured costs.
    for c in &p.cells {
        let l = p.line(c.variant).unwrap();
        assert!(close(l.at(c.fetch_ms as f64), c.cost.total()), "{c:?}");
    }
    assert!(direct.slope > 0.0, "direct pays for the wait: {direct:?}");
    let mut marked = 0;
    for (v, be) in &p.break_even {
        let l = p.line(*v).unwrap();
        match be {
            BreakEven::Above(ms) => {
                assert!(
                    close(l.at(*ms), direct.at(*ms)),
                    "{v:?} crosses direct at {ms}"
                );
                assert!(l.at(ms * 2.0) < direct.at(ms * 2.0), "{v:?} cheaper above");
                assert!(l.at(ms / 2.0) > direct.at(ms / 2.0), "{v:?} dearer below");
                assert!(
                    svg.contains(&format!("data-design=\"{}\" data-ms=\"{ms:.1}\"", v.key())),
                    "{v:?} break-even marked on the chart"
                );
                marked += 1;
            }
            BreakEven::Always => assert!(l.at(0.0) <= direct.at(0.0)),
            BreakEven::Never => assert!(l.at(0.0) >= direct.at(0.0)),
        }
    }
    assert_eq!(svg.matches("class=\"break-even\"").count(), marked);
    assert_eq!(
        svg.matches("class=\"cost-line\"").count(),
        Variant::ALL.len()
    );
}

fn check_scale(r: &Results) {
    assert_eq!(
        r.scale.len(),
        r.config.scale_levels.len() * Variant::ALL.len()
    );
    for x in &r.scale {
        let n = f64::from(x.concurrent);
        // One start turn plus one result per operation; the direct design's continuations
        // are part of the start request.
        let requests = if x.variant == Variant::Direct {
            1.0
        } else {
            n + 1.0
        };
        assert!(close(x.usage.origin.requests * n, requests), "{x:?}");
        assert!(x.rss_peak_kib >= x.rss_before_kib, "{x:?}");
        assert!(x.rss_before_kib > 0, "VmRSS is readable on Linux");
        if x.variant != Variant::Direct {
            assert!(close(x.usage.executor.requests, 1.0), "{x:?}");
        }
    }
}
