//! "The original's cost theory": its price of an awake Durable Object and the savings it
//! expected, against Cloudflare's duration pricing (GB-s) and this run's cost lines.

use std::fmt::Write;

use crate::analysis::Analysis;
use crate::model::{Line, Variant};
use crate::prices::PriceTable;

/// What the original's docs charged per million wall-clock ms of an awake object, USD.
pub const ORIGINAL_DO_MS_PER_MILLION: f64 = 12.50;
/// The ratio it stated against a Worker CPU-ms.
pub const ORIGINAL_RATIO_TO_CPU_MS: f64 = 625.0;
/// The savings it expected from the proxy design: (fetch ms, times cheaper than direct).
pub const ORIGINAL_SAVINGS: [(u64, f64); 2] = [(100, 9.0), (1000, 32.0)];

/// The fetch duration (ms) at which `direct` costs `k` times `proxy`, if any at x ≥ 0.
fn duration_for_ratio(direct: &Line, proxy: &Line, k: f64) -> Option<f64> {
    // direct.at(x) = k · proxy.at(x)
    let denom = direct.slope - k * proxy.slope;
    if denom <= 0.0 {
        return None;
    }
    let x = (k * proxy.intercept - direct.intercept) / denom;
    (x >= 0.0).then_some(x)
}

fn seconds(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// The section, from the first profile of `a`.
pub fn section(s: &mut String, a: &Analysis, prices: &PriceTable) {
    let _ = writeln!(
        s,
        "## The original's cost theory against Cloudflare's prices and these measurements\n"
    );
    let awake_ms = prices.do_awake_ms_per_million();
    let cpu_ms = prices.worker_cpu_ms_per_million;
    let _ = writeln!(
        s,
        "The original priced an awake Durable Object at \"${ORIGINAL_DO_MS_PER_MILLION:.2} per 1M wall-clock-ms ({ORIGINAL_RATIO_TO_CPU_MS:.0}x a Worker CPU-ms)\" \
         and expected the proxy design to save ~{:.0}x at 100 ms and ~{:.0}x at 1 s fetches. Cloudflare prices duration in GB-s: \
         ${:.2} per million GB-s, always at {} GB while awake, so an awake millisecond costs {:.2} × {} / 1000 = **${awake_ms:.7} per million ms**: \
         {:.0}x less than the original's figure, and {:.3}x a Worker CPU-ms (${cpu_ms} per million), not {ORIGINAL_RATIO_TO_CPU_MS:.0}x. \
         Its $12.50 is the price of a million GB-s, read as a million ms.\n",
        ORIGINAL_SAVINGS[0].1,
        ORIGINAL_SAVINGS[1].1,
        prices.do_gb_s_per_million,
        prices.do_memory_gb,
        prices.do_gb_s_per_million,
        prices.do_memory_gb,
        ORIGINAL_DO_MS_PER_MILLION / awake_ms,
        awake_ms / cpu_ms,
    );
    let Some(p) = a.profiles.first() else {
        return;
    };
    let (Some(direct), Some(simple)) = (p.line(Variant::Direct), p.line(Variant::SimpleWorker))
    else {
        return;
    };
    let _ = writeln!(
        s,
        "| fetch | original: proxy saves | this run: direct $/M | this run: simple (worker) $/M | this run: direct ÷ simple |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for (ms, k) in ORIGINAL_SAVINGS {
        let (d, sm) = (direct.at(ms as f64), simple.at(ms as f64));
        let _ = writeln!(
            s,
            "| {ms} ms | ~{k:.0}x | {d:.4} | {sm:.4} | {:.2}x |",
            d / sm
        );
    }
    let needed: Vec<String> = ORIGINAL_SAVINGS
        .iter()
        .map(|(_, k)| match duration_for_ratio(&direct, &simple, *k) {
            Some(x) => format!("{k:.0}x needs a {} fetch", seconds(x)),
            None => format!("{k:.0}x is never reached"),
        })
        .collect();
    let _ = writeln!(
        s,
        "\nWhat holds: the direct design is billed for every millisecond it waits (its origin's awake time follows the fetch, see the usage tables), \
         while a proxy design's origin is awake for two short turns whatever the fetch takes, so the proxy's cost does not grow with the fetch. \
         What does not: the size of that cost. Waiting costs direct ${:.4} per million fetches per second of fetch; a proxy design pays a fixed \
         ${:.4} (simple) per million for its requests and rows. So at 100 ms and 1 s the proxy is the *dearer* design here, it breaks even only \
         above the break-even in the cost tables, and the original's savings come much later: {}. \
         With the original's price the same second of waiting would have cost ${:.0} per million fetches.\n",
        direct.slope * 1000.0,
        simple.intercept,
        needed.join(", "),
        ORIGINAL_DO_MS_PER_MILLION * 1000.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_duration_solves_the_lines() {
        let direct = Line {
            intercept: 0.15,
            slope: 0.0015625,
        };
        let proxy = Line {
            intercept: 2.6,
            slope: 0.0,
        };
        let x = duration_for_ratio(&direct, &proxy, 9.0).unwrap();
        assert!((direct.at(x) - 9.0 * proxy.at(x)).abs() < 1e-9);
        assert_eq!(duration_for_ratio(&proxy, &direct, 9.0), None);
    }
}
