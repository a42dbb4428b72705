//! What an experiment run measures: fetch durations, runs × operations, latency profiles,
//! prices and the scalability levels. `full()` and `quick()` are the two presets.

use lumenize_core::fetch::MAX_DELAY_MS;

use crate::prices::PriceTable;
use crate::profile::LatencyProfile;
use crate::ExperimentError;

/// A run's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Fetch durations, ms (0 means the `/uuid` endpoint).
    pub durations_ms: Vec<u64>,
    /// Runs per (profile, duration, design).
    pub runs: u32,
    /// Sequential operations per run.
    pub ops: u32,
    /// Latency profiles; each gets its own latency and cost tables.
    pub profiles: Vec<LatencyProfile>,
    /// The price table.
    pub prices: PriceTable,
    /// Where the prices came from ("built-in prices.toml" or the file given).
    pub prices_source: String,
    /// Concurrent operations per burst of the scalability sweep (empty: no sweep).
    pub scale_levels: Vec<u32>,
    /// The fetch duration of the scalability sweep, ms.
    pub scale_fetch_ms: u64,
    /// Tokio threads of the runtime.
    pub threads: usize,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Whether this is the quick preset (noted in the report).
    pub quick: bool,
}

impl Config {
    /// The full experiment: 0/100/1000 ms, 5 runs × 10 operations, no injected latency,
    /// scalability 10 … 10,000.
    pub fn full() -> Config {
        Config {
            durations_ms: vec![0, 100, 1000],
            runs: 5,
            ops: 10,
            profiles: vec![LatencyProfile::None],
            prices: PriceTable::default(),
            prices_source: "built-in prices.toml".into(),
            scale_levels: vec![10, 100, 1_000, 10_000],
            scale_fetch_ms: 0,
            threads: 2,
            progress: true,
            quick: false,
        }
    }

    /// The smoke-test preset: 0/100 ms, 2 runs × 4 operations, scalability 10 and 100. Takes
    /// a few seconds (under a minute even in a debug build).
    pub fn quick() -> Config {
        Config {
            durations_ms: vec![0, 100],
            runs: 2,
            ops: 4,
            scale_levels: vec![10, 100],
            quick: true,
            ..Config::full()
        }
    }

    /// Checks the values make an experiment.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let bad = |m: String| Err(ExperimentError::Config(m));
        if self.durations_ms.is_empty() {
            return bad("at least one fetch duration is needed".into());
        }
        if let Some(d) = self.durations_ms.iter().find(|d| **d > MAX_DELAY_MS) {
            return bad(format!(
                "fetch duration {d} ms is above the endpoint's maximum of {MAX_DELAY_MS} ms"
            ));
        }
        if self.scale_fetch_ms > MAX_DELAY_MS {
            return bad(format!("scale fetch duration above {MAX_DELAY_MS} ms"));
        }
        if self.runs == 0 || self.ops == 0 {
            return bad("--runs and --ops must be at least 1".into());
        }
        if self.profiles.is_empty() {
            return bad("at least one latency profile is needed".into());
        }
        if self.scale_levels.contains(&0) {
            return bad("scalability levels must be at least 1".into());
        }
        Ok(())
    }

    /// Sequential operations the run will measure (for progress).
    pub fn total_ops(&self) -> u64 {
        let cells =
            self.profiles.len() * self.durations_ms.len() * crate::model::Variant::ALL.len();
        cells as u64 * u64::from(self.runs) * u64::from(self.ops)
            + self.scale_levels.iter().map(|n| u64::from(*n)).sum::<u64>()
                * crate::model::Variant::ALL.len() as u64
    }
}

/// Parses a comma-separated list of numbers, e.g. `"0,100,1000"`.
pub fn parse_list<T: std::str::FromStr>(s: &str, what: &str) -> Result<Vec<T>, ExperimentError> {
    let mut v: Vec<T> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        v.push(part.parse().map_err(|_| {
            ExperimentError::Config(format!("{what}: {part:?} is not a non-negative integer"))
        })?);
    }
    if v.is_empty() {
        return Err(ExperimentError::Config(format!("{what}: empty list")));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_bad_values_are_refused() {
        Config::full().validate().unwrap();
        Config::quick().validate().unwrap();
        let c = Config {
            durations_ms: vec![0, 70_000],
            ..Config::quick()
        };
        assert!(c.validate().unwrap_err().to_string().contains("70000"));
        let c = Config {
            runs: 0,
            ..Config::quick()
        };
        assert!(c.validate().is_err());
        assert_eq!(
            parse_list::<u64>("0, 100,1000", "d").unwrap(),
            vec![0, 100, 1000]
        );
        assert!(parse_list::<u64>("0,-1", "d").is_err());
        assert!(parse_list::<u64>(",", "d").is_err());
    }
}
