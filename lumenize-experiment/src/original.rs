//! The TypeScript original's production measurements (its `RESULTS.md`, 2025-11-21, the
//! alarm-based "simple" design against a direct fetch from the object; 5 runs × 6 sequential
//! operations, Cloudflare production, measured from Raleigh NC). Used to calibrate the
//! `production` latency profile and to compare findings.

/// One row of the original's table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OriginalRow {
    /// Nominal fetch duration of the endpoint, in ms (`/uuid` ≈ 0).
    pub fetch_ms: u64,
    /// Direct latency per operation, ms.
    pub direct_ms: f64,
    /// Proxy-fetch latency per operation, ms.
    pub proxy_ms: f64,
    /// Direct origin wall time billed, ms.
    pub direct_wall_ms: f64,
    /// Proxy-fetch origin wall time billed, ms.
    pub proxy_wall_ms: f64,
    /// Proxy-fetch Worker CPU, ms.
    pub worker_cpu_ms: f64,
}

impl OriginalRow {
    /// Proxy latency minus direct latency, ms.
    pub fn overhead_ms(&self) -> f64 {
        self.proxy_ms - self.direct_ms
    }
}

/// The three rows: `/uuid`, `/delay/100`, `/delay/1000`.
pub const ORIGINAL: [OriginalRow; 3] = [
    OriginalRow {
        fetch_ms: 0,
        direct_ms: 74.03,
        proxy_ms: 108.47,
        direct_wall_ms: 47.0,
        proxy_wall_ms: 32.0,
        worker_cpu_ms: 13.0,
    },
    OriginalRow {
        fetch_ms: 100,
        direct_ms: 162.17,
        proxy_ms: 181.44,
        direct_wall_ms: 98.0,
        proxy_wall_ms: 29.0,
        worker_cpu_ms: 14.0,
    },
    OriginalRow {
        fetch_ms: 1000,
        direct_ms: 1083.40,
        proxy_ms: 1089.87,
        direct_wall_ms: 777.0,
        proxy_wall_ms: 30.0,
        worker_cpu_ms: 12.0,
    },
];

/// The original's break-even estimate (RESULTS.md), ms; its docs said about 1.6 s.
pub const ORIGINAL_BREAK_EVEN_MS: f64 = 1400.0;

/// The original's row for a fetch duration, if it measured one.
pub fn row_for(fetch_ms: u64) -> Option<&'static OriginalRow> {
    ORIGINAL.iter().find(|r| r.fetch_ms == fetch_ms)
}
