//! `summary.json`, a fixed contract for tools that read the experiment's result:
//!
//! ```json
//! {"designs": {
//!   "direct":       {"rows_written_per_op": 0, "cost_per_million_usd": 0.15, "break_even_s": null},
//!   "simple":       {"rows_written_per_op": 2, "cost_per_million_usd": 2.6,  "break_even_s": 1.57},
//!   "orchestrated": {"rows_written_per_op": 4, "cost_per_million_usd": 4.9,  "break_even_s": 3.0}
//! }}
//! ```
//!
//! Taken from the first latency profile: `rows_written_per_op` is what the origin and the
//! orchestrator wrote per operation at the shortest fetch duration (as Cloudflare counts
//! rows, index entries included), `cost_per_million_usd` the design's cost line at a 0 ms fetch,
//! `break_even_s` the fetch duration above which the design is cheaper than direct (0 when
//! always cheaper; `null` for direct itself and for a design never cheaper). `simple` is `proxy_fetch_simple` with
//! the worker executor.

use serde_json::{json, Value};

use crate::analysis::Analysis;
use crate::model::{BreakEven, Variant};

/// The designs of the contract and the variant each is measured by.
const DESIGNS: [(&str, Variant); 3] = [
    ("direct", Variant::Direct),
    ("simple", Variant::SimpleWorker),
    ("orchestrated", Variant::Orchestrated),
];

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The summary of `analysis` (its first profile), as JSON.
///
/// ```
/// # use lumenize_experiment::{analysis::Analysis, config::Config, summary};
/// # fn demo(a: &Analysis) {
/// let json = summary::json(a);
/// assert!(json["designs"]["direct"]["break_even_s"].is_null());
/// # }
/// ```
pub fn json(analysis: &Analysis) -> Value {
    let mut designs = serde_json::Map::new();
    let Some(p) = analysis.profiles.first() else {
        return json!({ "designs": designs });
    };
    let shortest = p.durations_ms.first().copied().unwrap_or(0);
    for (name, v) in DESIGNS {
        let rows = p
            .cell(v, shortest)
            .map(|c| c.usage.origin.rows_written + c.usage.orchestrator.rows_written)
            .unwrap_or(0.0);
        let cost = p.line(v).map(|l| l.at(0.0)).unwrap_or(0.0);
        let break_even = match v {
            Variant::Direct => Value::Null,
            _ => match p.break_even_of(v) {
                Some(BreakEven::Above(ms)) => json!(round(ms / 1000.0, 3)),
                Some(BreakEven::Always) => json!(0.0),
                Some(BreakEven::Never) | None => Value::Null,
            },
        };
        designs.insert(
            name.to_string(),
            json!({
                "rows_written_per_op": round(rows, 3),
                "cost_per_million_usd": round(cost, 4),
                "break_even_s": break_even,
            }),
        );
    }
    json!({ "designs": designs })
}

/// [`json`] as the text of `summary.json` (pretty, with a final newline).
pub fn text(analysis: &Analysis) -> String {
    let mut s = serde_json::to_string_pretty(&json(analysis)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
