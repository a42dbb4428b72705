//! From raw results to the numbers reports and charts show: latency statistics and overhead
//! over direct per (profile, design, fetch duration), usage and cost per operation, the cost
//! lines against fetch duration and their break-even points.

use std::time::Duration;

use crate::model::{BreakEven, Cost, Line, OpUsage, Variant};
use crate::prices::PriceTable;
use crate::profile::LatencyProfile;
use crate::Results;

/// Latency statistics of a set of operations, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyStats {
    /// Number of operations.
    pub n: usize,
    /// Mean.
    pub mean_ms: f64,
    /// Median (nearest rank).
    pub p50_ms: f64,
    /// 99th percentile (nearest rank: with fewer than 100 samples, the maximum).
    pub p99_ms: f64,
}

impl LatencyStats {
    /// Statistics of `samples` (empty: all zero).
    ///
    /// ```
    /// use std::time::Duration;
    /// use lumenize_experiment::analysis::LatencyStats;
    /// let s = LatencyStats::of(&[1, 2, 3, 10].map(Duration::from_millis));
    /// assert_eq!((s.mean_ms, s.p50_ms, s.p99_ms), (4.0, 2.0, 10.0));
    /// ```
    pub fn of(samples: &[Duration]) -> LatencyStats {
        if samples.is_empty() {
            return LatencyStats::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        LatencyStats {
            n: ms.len(),
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
            p50_ms: nearest_rank(&ms, 0.50),
            p99_ms: nearest_rank(&ms, 0.99),
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One (design, fetch duration) cell of a profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// The design.
    pub variant: Variant,
    /// The fetch duration, ms.
    pub fetch_ms: u64,
    /// Latency statistics.
    pub latency: LatencyStats,
    /// Mean latency minus direct's at the same duration, ms.
    pub overhead_mean_ms: f64,
    /// Median latency minus direct's median, ms.
    pub overhead_p50_ms: f64,
    /// Usage per operation (weighted over the runs).
    pub usage: OpUsage,
    /// USD per million operations.
    pub cost: Cost,
}

/// Everything derived for one latency profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileAnalysis {
    /// The profile.
    pub profile: LatencyProfile,
    /// The price table used.
    pub prices: PriceTable,
    /// The fetch durations, ascending.
    pub durations_ms: Vec<u64>,
    /// Cells, by design then duration.
    pub cells: Vec<Cell>,
    /// Cost per million operations against fetch ms, per design (least squares over the cells).
    pub lines: Vec<(Variant, Line)>,
    /// Break-even of each proxy design against direct.
    pub break_even: Vec<(Variant, BreakEven)>,
}

impl ProfileAnalysis {
    /// The cell of `v` at `fetch_ms`.
    pub fn cell(&self, v: Variant, fetch_ms: u64) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.variant == v && c.fetch_ms == fetch_ms)
    }

    /// The cost line of `v`.
    pub fn line(&self, v: Variant) -> Option<Line> {
        self.lines.iter().find(|(w, _)| *w == v).map(|(_, l)| *l)
    }

    /// The break-even of proxy design `v`.
    pub fn break_even_of(&self, v: Variant) -> Option<BreakEven> {
        self.break_even
            .iter()
            .find(|(w, _)| *w == v)
            .map(|(_, b)| *b)
    }
}

/// The analysis of a whole run, one entry per latency profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Per profile, in the configured order.
    pub profiles: Vec<ProfileAnalysis>,
}

impl Analysis {
    /// Derives everything from `results`, priced with its configured table.
    pub fn of(results: &Results) -> Analysis {
        Analysis::with_prices(results, results.config.prices)
    }

    /// Derives everything from `results`, priced with `prices` (for price sensitivity).
    pub fn with_prices(results: &Results, prices: PriceTable) -> Analysis {
        let mut durations = results.config.durations_ms.clone();
        durations.sort_unstable();
        durations.dedup();
        let profiles = results
            .config
            .profiles
            .iter()
            .map(|&profile| profile_analysis(results, profile, &durations, prices))
            .collect();
        Analysis { profiles }
    }
}

fn profile_analysis(
    results: &Results,
    profile: LatencyProfile,
    durations: &[u64],
    prices: PriceTable,
) -> ProfileAnalysis {
    let latency = |v: Variant, d: u64| {
        let lat: Vec<Duration> = results
            .samples
            .iter()
            .filter(|s| s.profile == profile && s.variant == v && s.fetch_ms == d)
            .map(|s| s.latency)
            .collect();
        LatencyStats::of(&lat)
    };
    let mut cells = Vec::new();
    for v in Variant::ALL {
        for &d in durations {
            let parts: Vec<(OpUsage, u64)> = results
                .batches
                .iter()
                .filter(|b| b.profile == profile && b.variant == v && b.fetch_ms == d)
                .map(|b| (b.usage, u64::from(b.ops)))
                .collect();
            let usage = OpUsage::weighted_mean(&parts);
            let (mine, direct) = (latency(v, d), latency(Variant::Direct, d));
            cells.push(Cell {
                variant: v,
                fetch_ms: d,
                latency: mine,
                overhead_mean_ms: mine.mean_ms - direct.mean_ms,
                overhead_p50_ms: mine.p50_ms - direct.p50_ms,
                usage,
                cost: usage.cost(&prices),
            });
        }
    }
    let lines: Vec<(Variant, Line)> = Variant::ALL
        .into_iter()
        .map(|v| {
            let pts: Vec<(f64, f64)> = cells
                .iter()
                .filter(|c| c.variant == v)
                .map(|c| (c.fetch_ms as f64, c.cost.total()))
                .collect();
            (v, Line::fit(&pts))
        })
        .collect();
    let direct = lines[0].1;
    let break_even = lines[1..]
        .iter()
        .map(|(v, l)| (*v, BreakEven::of(l, &direct)))
        .collect();
    ProfileAnalysis {
        profile,
        prices,
        durations_ms: durations.to_vec(),
        cells,
        lines,
        break_even,
    }
}
