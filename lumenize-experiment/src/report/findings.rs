//! The "Findings" bullets, generated from the analysis so they always match the tables.

use crate::analysis::{Analysis, ProfileAnalysis};
use crate::model::{BreakEven, Variant};
use crate::original::{ORIGINAL, ORIGINAL_BREAK_EVEN_MS};
use crate::Results;

fn list(p: &ProfileAnalysis, f: impl Fn(u64) -> Option<String>) -> String {
    p.durations_ms
        .iter()
        .filter_map(|&d| f(d).map(|x| format!("{x} at {d} ms")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn overhead(c: &crate::analysis::Cell) -> String {
    format!("{:+.2} ms ({:+.2})", c.overhead_mean_ms, c.overhead_p50_ms)
}

/// One bullet per finding, in markdown.
pub fn lines(r: &Results, a: &Analysis) -> Vec<String> {
    let mut out = Vec::new();
    for p in &a.profiles {
        let tag = format!("[profile `{}`]", p.profile.name());
        // Simple vs orchestrated: cost and latency at every duration.
        let diffs: Vec<f64> = p
            .durations_ms
            .iter()
            .filter_map(|&d| {
                let s = p.cell(Variant::SimpleWorker, d)?.cost.total();
                let o = p.cell(Variant::Orchestrated, d)?.cost.total();
                Some(o - s)
            })
            .collect();
        if let (Some(lo), Some(hi)) = (
            diffs.iter().copied().reduce(f64::min),
            diffs.iter().copied().reduce(f64::max),
        ) {
            let verdict = if lo > 0.0 {
                "cheaper than orchestrated at every measured duration"
            } else if hi < 0.0 {
                "more expensive than orchestrated at every measured duration"
            } else {
                "neither always cheaper nor always dearer than orchestrated"
            };
            out.push(format!(
                "{tag} `proxy_fetch_simple` (worker) is {verdict}: orchestrated minus simple = ${lo:.3} to ${hi:.3} per million operations."
            ));
        }
        let faster = p
            .durations_ms
            .iter()
            .filter(|&&d| {
                match (
                    p.cell(Variant::SimpleWorker, d),
                    p.cell(Variant::Orchestrated, d),
                ) {
                    (Some(s), Some(o)) => s.latency.mean_ms < o.latency.mean_ms,
                    _ => false,
                }
            })
            .count();
        out.push(format!(
            "{tag} `proxy_fetch_simple` (worker) has the lower mean latency than orchestrated at {faster} of {} measured durations.",
            p.durations_ms.len()
        ));
        out.push(format!(
            "{tag} Latency overhead over direct, mean (median): simple (worker) {}; simple (RPC target) {}; orchestrated {}; orchestrated with 5 s polling {}.",
            list(p, |d| p.cell(Variant::SimpleWorker, d).map(overhead)),
            list(p, |d| p.cell(Variant::SimpleRpc, d).map(overhead)),
            list(p, |d| p.cell(Variant::Orchestrated, d).map(overhead)),
            list(p, |d| p.cell(Variant::OrchestratedPolling, d).map(overhead)),
        ));
        let be = |v| p.break_even_of(v).unwrap_or(BreakEven::Never);
        out.push(format!(
            "{tag} Break-even against direct (cheaper for fetches longer than): simple (worker) {}, simple (RPC target) {}, orchestrated {}, orchestrated with 5 s polling {} (without its polls' own cost, see below). The original estimated ~{:.1} s.",
            be(Variant::SimpleWorker).describe(),
            be(Variant::SimpleRpc).describe(),
            be(Variant::Orchestrated).describe(),
            be(Variant::OrchestratedPolling).describe(),
            ORIGINAL_BREAK_EVEN_MS / 1000.0
        ));
        if let Some(&d) = p.durations_ms.first() {
            let rows = |v: Variant| {
                p.cell(v, d).map_or(0.0, |c| {
                    c.usage.origin.rows_written + c.usage.orchestrator.rows_written
                })
            };
            out.push(format!(
                "{tag} SQLite rows written per operation (origin + orchestrator, as Cloudflare counts them: index entries included): direct {}, simple {}, orchestrated {}, orchestrated with 5 s polling {}; at $1 per million rows, rows are the largest part of a proxy design's cost.",
                rows(Variant::Direct),
                rows(Variant::SimpleWorker),
                rows(Variant::Orchestrated),
                rows(Variant::OrchestratedPolling)
            ));
        }
        let orig: Vec<String> = ORIGINAL
            .iter()
            .map(|o| format!("{:+.1} ms at {} ms", o.overhead_ms(), o.fetch_ms))
            .collect();
        out.push(format!(
            "{tag} For comparison, the original's production overhead of its simple design: {}.",
            orig.join(", ")
        ));
    }
    if let Some(max) = r.scale.iter().map(|x| x.concurrent).max() {
        let at_max: Vec<String> = r
            .scale
            .iter()
            .filter(|x| x.concurrent == max)
            .map(|x| {
                format!(
                    "{} {:.0} ms ({:.1} µs/op)",
                    x.variant.label(),
                    x.total.as_secs_f64() * 1000.0,
                    x.total.as_secs_f64() * 1e6 / f64::from(x.concurrent)
                )
            })
            .collect();
        out.push(format!(
            "{max} concurrent operations through one origin: {}.",
            at_max.join("; ")
        ));
    }
    out
}
