//! The hop-latency model: extra latency the runtime adds to messages between the origin, the
//! orchestrator and the executors. Off by default (`none`: pure runtime overhead). The
//! `production` profile adds one constant per hop, calibrated to the original's production
//! overheads (see [`production_hop_ms`]).
//!
//! Only hops *between* the parts of a design get latency; the client → origin hop and the direct
//! design's continuation (a resumed turn on the origin, not a message) get none, so the direct
//! design is the zero of every overhead.

use std::time::Duration;

use crate::original::ORIGINAL;

/// A named latency profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LatencyProfile {
    /// No injected latency: what is measured is the runtime's own overhead.
    None,
    /// One constant per hop, calibrated to the original's production measurements.
    Production,
}

impl LatencyProfile {
    /// Its name on the command line and in reports.
    pub fn name(&self) -> &'static str {
        match self {
            LatencyProfile::None => "none",
            LatencyProfile::Production => "production",
        }
    }

    /// Parses `none` or `production`.
    pub fn parse(s: &str) -> Result<LatencyProfile, String> {
        match s.trim() {
            "none" => Ok(LatencyProfile::None),
            "production" => Ok(LatencyProfile::Production),
            other => Err(format!(
                "unknown latency profile {other:?} (expected none or production)"
            )),
        }
    }

    /// The latency of every hop between two different parts of a design.
    pub fn hop(&self) -> Duration {
        match self {
            LatencyProfile::None => Duration::ZERO,
            LatencyProfile::Production => {
                Duration::from_micros((production_hop_ms() * 1000.0).round() as u64)
            }
        }
    }
}

/// Hops on the critical path of the simple design: origin → executor, executor → origin.
pub const SIMPLE_HOPS: u32 = 2;
/// Hops on the critical path of the orchestrated design: origin → orchestrator →
/// executor → origin (the executor's delivery report to the orchestrator is off the path).
pub const ORCHESTRATED_HOPS: u32 = 3;

/// The calibrated per-hop latency, ms: the mean of the original's three measured overheads of
/// the simple design over direct (+34.44, +19.27, +6.47 ms, mean 20.06 ms), spread over the
/// design's [`SIMPLE_HOPS`] hops: about 10 ms per hop.
///
/// Why the mean: a constant per hop cannot reproduce the original's decline of the overhead
/// with the fetch duration (that decline is not explained by its authors, and with 30 samples
/// per point much of it may be noise or connection warmth); the mean minimizes the squared
/// error over the three points.
pub fn production_hop_ms() -> f64 {
    let sum: f64 = ORIGINAL.iter().map(|r| r.overhead_ms()).sum();
    sum / ORIGINAL.len() as f64 / SIMPLE_HOPS as f64
}

/// The (from binding, to binding) pairs that get the hop latency, for an origin binding.
pub fn hop_pairs(origin: &str) -> Vec<(String, String)> {
    use lumenize_core::fetch::{
        EXECUTOR_BINDING, EXECUTOR_RPC_BINDING, ORCHESTRATOR_BINDING, ORCHESTRATOR_POLLING_BINDING,
    };
    let mut v = Vec::new();
    for exec in [EXECUTOR_BINDING, EXECUTOR_RPC_BINDING] {
        v.push((origin.to_string(), exec.to_string()));
        v.push((exec.to_string(), origin.to_string()));
    }
    // Both orchestrators (per-request alarm, and the original's polling) get the same hops.
    for orch in [ORCHESTRATOR_BINDING, ORCHESTRATOR_POLLING_BINDING] {
        for exec in [EXECUTOR_BINDING, EXECUTOR_RPC_BINDING] {
            v.push((orch.to_string(), exec.to_string()));
            v.push((exec.to_string(), orch.to_string()));
        }
        v.push((origin.to_string(), orch.to_string()));
        v.push((orch.to_string(), origin.to_string()));
    }
    v
}

/// Applies `profile` to a runtime: the default hop latency stays 0, the design hops get
/// [`LatencyProfile::hop`].
pub fn apply(rt: &lumenize_core::runtime::Runtime, profile: LatencyProfile, origin: &str) {
    rt.set_latency(Duration::ZERO);
    for (from, to) in hop_pairs(origin) {
        rt.set_hop_latency(&from, &to, profile.hop());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_the_mean_overhead_per_hop() {
        let h = production_hop_ms();
        assert!((h - (34.44 + 19.27 + 6.47) / 3.0 / 2.0).abs() < 1e-9, "{h}");
        assert_eq!(
            LatencyProfile::Production.hop(),
            Duration::from_micros(10_030)
        );
        assert_eq!(LatencyProfile::None.hop(), Duration::ZERO);
    }

    #[test]
    fn both_orchestrators_get_the_same_hops() {
        use lumenize_core::fetch::{ORCHESTRATOR_BINDING, ORCHESTRATOR_POLLING_BINDING};
        let pairs = hop_pairs("O");
        let touching = |b: &str| pairs.iter().filter(|(f, t)| f == b || t == b).count();
        assert_eq!(touching(ORCHESTRATOR_POLLING_BINDING), 6);
        assert_eq!(touching(ORCHESTRATOR_BINDING), 6);
    }

    #[test]
    fn names_round_trip_and_bad_names_are_errors() {
        for p in [LatencyProfile::None, LatencyProfile::Production] {
            assert_eq!(LatencyProfile::parse(p.name()), Ok(p));
        }
        assert!(LatencyProfile::parse("fast").unwrap_err().contains("fast"));
    }
}
