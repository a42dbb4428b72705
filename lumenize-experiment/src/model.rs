//! The designs compared, what one operation consumes (from the runtime's accounting), its price,
//! and the cost-against-fetch-duration lines with their break-even points.

use lumenize_core::runtime::Accounting;

use crate::prices::PriceTable;

/// A design as the experiment runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// The origin fetches itself and stays awake until the body is read.
    Direct,
    /// Origin → orchestrator object → executor (worker) → origin; an alarm per request.
    Orchestrated,
    /// The same with the original's timing: the orchestrator polls its queue every 5 s.
    OrchestratedPolling,
    /// `proxy_fetch_simple` with the worker executor.
    SimpleWorker,
    /// `proxy_fetch_simple` with the RPC-target executor.
    SimpleRpc,
}

impl Variant {
    /// Every variant, direct first (it is the baseline of every comparison).
    pub const ALL: [Variant; 5] = [
        Variant::Direct,
        Variant::Orchestrated,
        Variant::OrchestratedPolling,
        Variant::SimpleWorker,
        Variant::SimpleRpc,
    ];

    /// A short key for files and CSV (`direct`, `orchestrated`, `orchestrated-polling`,
    /// `simple-worker`, `simple-rpc`).
    pub fn key(&self) -> &'static str {
        match self {
            Variant::Direct => "direct",
            Variant::Orchestrated => "orchestrated",
            Variant::OrchestratedPolling => "orchestrated-polling",
            Variant::SimpleWorker => "simple-worker",
            Variant::SimpleRpc => "simple-rpc",
        }
    }

    /// A label for tables and charts.
    pub fn label(&self) -> &'static str {
        match self {
            Variant::Direct => "direct",
            Variant::Orchestrated => "orchestrated proxy_fetch",
            Variant::OrchestratedPolling => "orchestrated proxy_fetch (5 s polling)",
            Variant::SimpleWorker => "proxy_fetch_simple (worker)",
            Variant::SimpleRpc => "proxy_fetch_simple (RPC target)",
        }
    }

    /// The chart colour.
    pub fn colour(&self) -> &'static str {
        match self {
            Variant::Direct => "#444444",
            Variant::Orchestrated => "#d62728",
            Variant::OrchestratedPolling => "#ff7f0e",
            Variant::SimpleWorker => "#1f77b4",
            Variant::SimpleRpc => "#2ca02c",
        }
    }

    /// The fetch design it uses.
    pub fn design(&self) -> lumenize_core::fetch::Design {
        use lumenize_core::fetch::Design;
        match self {
            Variant::Direct => Design::Direct,
            Variant::Orchestrated | Variant::OrchestratedPolling => Design::Orchestrated,
            Variant::SimpleWorker | Variant::SimpleRpc => Design::Simple,
        }
    }

    /// The orchestrator object's binding, for the orchestrated variants.
    pub fn orchestrator_binding(&self) -> Option<&'static str> {
        use lumenize_core::fetch::{ORCHESTRATOR_BINDING, ORCHESTRATOR_POLLING_BINDING};
        match self {
            Variant::Orchestrated => Some(ORCHESTRATOR_BINDING),
            Variant::OrchestratedPolling => Some(ORCHESTRATOR_POLLING_BINDING),
            _ => None,
        }
    }

    /// Whether it uses the RPC-target executor.
    pub fn rpc_executor(&self) -> bool {
        matches!(self, Variant::SimpleRpc)
    }

    /// Parses a [`Variant::key`].
    pub fn from_key(key: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.key() == key)
    }
}

/// What one part of a design (origin, orchestrator or executor) consumed, per operation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RoleUsage {
    /// Messages handled (requests).
    pub requests: f64,
    /// Wall time awake, ms (billed for objects).
    pub awake_ms: f64,
    /// Thread CPU time in turns, ms.
    pub cpu_ms: f64,
    /// SQLite rows read.
    pub rows_read: f64,
    /// SQLite rows written.
    pub rows_written: f64,
}

impl RoleUsage {
    /// The difference `after - before` of two accounting snapshots, divided by `ops`.
    pub fn per_op(before: &Accounting, after: &Accounting, ops: u64) -> RoleUsage {
        let n = ops.max(1) as f64;
        let ms = |a: std::time::Duration, b: std::time::Duration| {
            a.saturating_sub(b).as_secs_f64() * 1000.0 / n
        };
        RoleUsage {
            requests: after.requests.saturating_sub(before.requests) as f64 / n,
            awake_ms: ms(after.awake, before.awake),
            cpu_ms: ms(after.cpu, before.cpu),
            rows_read: after.rows_read.saturating_sub(before.rows_read) as f64 / n,
            rows_written: after.rows_written.saturating_sub(before.rows_written) as f64 / n,
        }
    }

    /// Weighted mean of several per-op usages (weights: their operation counts).
    pub fn weighted_mean(parts: &[(RoleUsage, u64)]) -> RoleUsage {
        let total: u64 = parts.iter().map(|(_, n)| *n).sum();
        let w = |f: fn(&RoleUsage) -> f64| {
            parts.iter().map(|(u, n)| f(u) * *n as f64).sum::<f64>() / total.max(1) as f64
        };
        RoleUsage {
            requests: w(|u| u.requests),
            awake_ms: w(|u| u.awake_ms),
            cpu_ms: w(|u| u.cpu_ms),
            rows_read: w(|u| u.rows_read),
            rows_written: w(|u| u.rows_written),
        }
    }

    /// USD per million operations when this part is a Durable Object: requests, awake time at
    /// the billed memory, rows read and written.
    pub fn object_cost_per_million(&self, p: &PriceTable) -> f64 {
        self.requests * p.do_requests_per_million
            + self.awake_ms * p.do_awake_ms_per_million()
            + self.rows_read * p.sqlite_rows_read_per_million
            + self.rows_written * p.sqlite_rows_written_per_million
    }

    /// USD per million operations when this part is a Worker (or RPC target): requests and CPU.
    pub fn worker_cost_per_million(&self, p: &PriceTable) -> f64 {
        self.requests * p.worker_requests_per_million + self.cpu_ms * p.worker_cpu_ms_per_million
    }
}

/// What one operation of a design consumed, by part.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OpUsage {
    /// The origin object.
    pub origin: RoleUsage,
    /// The orchestrator object (orchestrated design only).
    pub orchestrator: RoleUsage,
    /// The executor (worker or RPC target; not used by the direct design).
    pub executor: RoleUsage,
}

/// The dollar cost of one million operations, by part.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    /// The origin (object prices).
    pub origin: f64,
    /// The orchestrator (object prices).
    pub orchestrator: f64,
    /// The executor (worker prices).
    pub executor: f64,
}

impl Cost {
    /// The total, USD per million operations.
    pub fn total(&self) -> f64 {
        self.origin + self.orchestrator + self.executor
    }
}

impl OpUsage {
    /// The price table applied to this usage.
    pub fn cost(&self, p: &PriceTable) -> Cost {
        Cost {
            origin: self.origin.object_cost_per_million(p),
            orchestrator: self.orchestrator.object_cost_per_million(p),
            executor: self.executor.worker_cost_per_million(p),
        }
    }

    /// Weighted mean of several usages.
    pub fn weighted_mean(parts: &[(OpUsage, u64)]) -> OpUsage {
        let pick = |f: fn(&OpUsage) -> RoleUsage| {
            RoleUsage::weighted_mean(&parts.iter().map(|(u, n)| (f(u), *n)).collect::<Vec<_>>())
        };
        OpUsage {
            origin: pick(|u| u.origin),
            orchestrator: pick(|u| u.orchestrator),
            executor: pick(|u| u.executor),
        }
    }
}

/// A line `y = intercept + slope · x` (cost per million operations against fetch ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Value at x = 0.
    pub intercept: f64,
    /// Change per unit of x.
    pub slope: f64,
}

impl Line {
    /// Least-squares fit through `points` (x, y). One point (or all at one x) gives a flat line.
    pub fn fit(points: &[(f64, f64)]) -> Line {
        let n = points.len() as f64;
        if points.is_empty() {
            return Line {
                intercept: 0.0,
                slope: 0.0,
            };
        }
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        Line {
            intercept: my - slope * mx,
            slope,
        }
    }

    /// The value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Where a proxy design's cost line crosses direct's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakEven {
    /// Cheaper than direct for fetches longer than this many ms (more expensive below).
    Above(f64),
    /// Cheaper than direct at every fetch duration ≥ 0.
    Always,
    /// Never cheaper than direct (its line is not below direct's anywhere at x ≥ 0).
    Never,
}

impl BreakEven {
    /// The break-even of `proxy` against `direct`.
    ///
    /// ```
    /// use lumenize_experiment::model::{BreakEven, Line};
    /// let direct = Line { intercept: 0.3, slope: 0.0015625 };
    /// let proxy = Line { intercept: 4.0, slope: 0.0 };
    /// let BreakEven::Above(ms) = BreakEven::of(&proxy, &direct) else { panic!() };
    /// assert!((ms - 2368.0).abs() < 1.0);
    /// ```
    pub fn of(proxy: &Line, direct: &Line) -> BreakEven {
        let gap0 = proxy.intercept - direct.intercept; // proxy's extra cost at x = 0
        let closing = direct.slope - proxy.slope; // how fast direct catches up per ms
        if gap0 < 0.0 {
            return if closing >= 0.0 {
                BreakEven::Always
            } else {
                // Cheaper only up to a point: report it as never cheaper *above* a duration.
                BreakEven::Never
            };
        }
        if closing <= 0.0 {
            return BreakEven::Never;
        }
        BreakEven::Above(gap0 / closing)
    }

    /// The crossing point in ms, when there is one.
    pub fn ms(&self) -> Option<f64> {
        match self {
            BreakEven::Above(ms) => Some(*ms),
            _ => None,
        }
    }

    /// Human text: "1.42 s", "always cheaper", "never cheaper".
    pub fn describe(&self) -> String {
        match self {
            BreakEven::Above(ms) if *ms >= 1000.0 => format!("{:.2} s", ms / 1000.0),
            BreakEven::Above(ms) => format!("{ms:.0} ms"),
            BreakEven::Always => "always cheaper".into(),
            BreakEven::Never => "never cheaper".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn per_op_divides_the_difference() {
        let before = Accounting {
            requests: 10,
            awake: Duration::from_millis(100),
            rows_written: 4,
            ..Default::default()
        };
        let after = Accounting {
            requests: 30,
            awake: Duration::from_millis(300),
            rows_written: 44,
            ..Default::default()
        };
        let u = RoleUsage::per_op(&before, &after, 10);
        assert_eq!(u.requests, 2.0);
        assert!((u.awake_ms - 20.0).abs() < 1e-9);
        assert_eq!(u.rows_written, 4.0);
    }

    #[test]
    fn cost_is_the_price_table_applied() {
        let p = PriceTable::default();
        let u = OpUsage {
            origin: RoleUsage {
                requests: 2.0,
                awake_ms: 1000.0,
                rows_written: 3.0,
                rows_read: 10.0,
                cpu_ms: 5.0,
            },
            executor: RoleUsage {
                requests: 1.0,
                cpu_ms: 13.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let c = u.cost(&p);
        assert!(
            (c.origin - (0.30 + 1.5625 + 3.0 + 0.01)).abs() < 1e-9,
            "{c:?}"
        );
        assert!((c.executor - (0.30 + 0.26)).abs() < 1e-9, "{c:?}");
        assert_eq!(c.orchestrator, 0.0);
    }

    #[test]
    fn fit_and_break_even() {
        let l = Line::fit(&[(0.0, 1.0), (100.0, 2.0), (1000.0, 11.0)]);
        assert!((l.slope - 0.01).abs() < 1e-12 && (l.intercept - 1.0).abs() < 1e-9);
        let flat = Line::fit(&[(5.0, 3.0)]);
        assert_eq!((flat.slope, flat.intercept), (0.0, 3.0));
        let direct = Line {
            intercept: 1.0,
            slope: 0.01,
        };
        let be = BreakEven::of(&flat, &direct);
        assert_eq!(be, BreakEven::Above(200.0));
        assert!((flat.at(200.0) - direct.at(200.0)).abs() < 1e-9);
        let cheap = Line {
            intercept: 0.5,
            slope: 0.0,
        };
        assert_eq!(BreakEven::of(&cheap, &direct), BreakEven::Always);
        assert_eq!(BreakEven::of(&direct, &cheap), BreakEven::Never);
        assert_eq!(BreakEven::Above(1420.0).describe(), "1.42 s");
    }
}
