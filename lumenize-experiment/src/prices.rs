//! The price table: Cloudflare's published prices, kept as data in `prices.toml` (compiled in
//! as the default) and overridable, key by key, by a TOML or JSON file.

use std::path::Path;

/// The default price table, as shipped in `lumenize-experiment/prices.toml`.
pub const DEFAULT_PRICES_TOML: &str = include_str!("../prices.toml");

/// The keys a price file may set, in the order reports list them.
pub const KEYS: [&str; 7] = [
    "worker_requests_per_million",
    "worker_cpu_ms_per_million",
    "do_requests_per_million",
    "do_gb_s_per_million",
    "do_memory_gb",
    "sqlite_rows_written_per_million",
    "sqlite_rows_read_per_million",
];

/// Prices in USD per million units (except `do_memory_gb`, the billed memory of an object).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceTable {
    /// Per million Worker requests (the executor, worker or RPC-target form).
    pub worker_requests_per_million: f64,
    /// Per million Worker CPU milliseconds.
    pub worker_cpu_ms_per_million: f64,
    /// Per million Durable Object requests (alarm invocations included).
    pub do_requests_per_million: f64,
    /// Per million GB-seconds of Durable Object duration.
    pub do_gb_s_per_million: f64,
    /// Memory an awake Durable Object is billed at, in GB (128 MB).
    pub do_memory_gb: f64,
    /// Per million SQLite rows written.
    pub sqlite_rows_written_per_million: f64,
    /// Per million SQLite rows read.
    pub sqlite_rows_read_per_million: f64,
}

/// Why a price file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// The file could not be read.
    #[error("cannot read price file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not valid TOML or JSON.
    #[error("price file {path} is not valid {format}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// "TOML" or "JSON".
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A key is unknown or its value is not a finite, non-negative number.
    #[error("price file {path}: {message}")]
    Value {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Default for PriceTable {
    /// The shipped table ([`DEFAULT_PRICES_TOML`]).
    fn default() -> Self {
        let zero = PriceTable::zero();
        // The shipped file is checked by a unit test; a failure here is a build defect.
        zero.overridden_by_toml(DEFAULT_PRICES_TOML, "prices.toml")
            .unwrap_or(zero)
    }
}

impl PriceTable {
    fn zero() -> PriceTable {
        PriceTable {
            worker_requests_per_million: 0.0,
            worker_cpu_ms_per_million: 0.0,
            do_requests_per_million: 0.0,
            do_gb_s_per_million: 0.0,
            do_memory_gb: 0.0,
            sqlite_rows_written_per_million: 0.0,
            sqlite_rows_read_per_million: 0.0,
        }
    }

    fn slot(&mut self, key: &str) -> Option<&mut f64> {
        Some(match key {
            "worker_requests_per_million" => &mut self.worker_requests_per_million,
            "worker_cpu_ms_per_million" => &mut self.worker_cpu_ms_per_million,
            "do_requests_per_million" => &mut self.do_requests_per_million,
            "do_gb_s_per_million" => &mut self.do_gb_s_per_million,
            "do_memory_gb" => &mut self.do_memory_gb,
            "sqlite_rows_written_per_million" => &mut self.sqlite_rows_written_per_million,
            "sqlite_rows_read_per_million" => &mut self.sqlite_rows_read_per_million,
            _ => return None,
        })
    }

    /// The value of `key` (one of [`KEYS`]).
    pub fn get(&self, key: &str) -> Option<f64> {
        let mut copy = *self;
        copy.slot(key).map(|v| *v)
    }

    fn set(&mut self, path: &str, key: &str, value: Option<f64>) -> Result<(), PriceError> {
        let bad = |message: String| PriceError::Value {
            path: path.to_string(),
            message,
        };
        let slot = self
            .slot(key)
            .ok_or_else(|| bad(format!("unknown key {key:?} (known: {})", KEYS.join(", "))))?;
        match value {
            Some(v) if v.is_finite() && v >= 0.0 => {
                *slot = v;
                Ok(())
            }
            _ => Err(bad(format!("{key} must be a finite, non-negative number"))),
        }
    }

    /// This table with the keys set in TOML `text` replaced. `path` names the source in errors.
    ///
    /// ```
    /// use lumenize_experiment::prices::PriceTable;
    /// let p = PriceTable::default()
    ///     .overridden_by_toml("worker_requests_per_million = 0", "inline")
    ///     .unwrap();
    /// assert_eq!(p.worker_requests_per_million, 0.0);
    /// assert_eq!(p.do_requests_per_million, 0.15);
    /// ```
    pub fn overridden_by_toml(&self, text: &str, path: &str) -> Result<PriceTable, PriceError> {
        let doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| PriceError::Syntax {
                    path: path.to_string(),
                    format: "TOML",
                    message: e.to_string(),
                })?;
        let mut out = *self;
        for (key, item) in doc.iter() {
            let v = item
                .as_float()
                .or_else(|| item.as_integer().map(|i| i as f64));
            out.set(path, key, v)?;
        }
        Ok(out)
    }

    /// This table with the keys set in a JSON object replaced.
    pub fn overridden_by_json(&self, text: &str, path: &str) -> Result<PriceTable, PriceError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| PriceError::Syntax {
            path: path.to_string(),
            format: "JSON",
            message: e.to_string(),
        })?;
        let obj = v.as_object().ok_or_else(|| PriceError::Value {
            path: path.to_string(),
            message: "expected a JSON object of prices".into(),
        })?;
        let mut out = *self;
        for (key, value) in obj {
            out.set(path, key, value.as_f64())?;
        }
        Ok(out)
    }

    /// The default table overridden by the file at `path`: JSON when it ends in `.json` or
    /// starts with `{`, TOML otherwise.
    pub fn load(path: &Path) -> Result<PriceTable, PriceError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PriceError::Io {
            path: name.clone(),
            source,
        })?;
        let json =
            path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
        if json {
            PriceTable::default().overridden_by_json(&text, &name)
        } else {
            PriceTable::default().overridden_by_toml(&text, &name)
        }
    }

    /// USD per GB-second of object duration billed per awake millisecond (at 128 MB:
    /// $0.0015625 per million ms).
    pub fn do_awake_ms_per_million(&self) -> f64 {
        self.do_gb_s_per_million * self.do_memory_gb / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_table_matches_the_runtime_constants() {
        let core = lumenize_core::runtime::CLOUDFLARE_PRICES;
        let p = PriceTable::zero()
            .overridden_by_toml(DEFAULT_PRICES_TOML, "prices.toml")
            .unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        assert!(close(
            p.worker_requests_per_million / 1e6,
            core.worker_request
        ));
        assert!(close(p.worker_cpu_ms_per_million / 1e6, core.worker_cpu_ms));
        assert!(close(p.do_requests_per_million / 1e6, core.do_request));
        assert!(close(p.do_gb_s_per_million / 1e6, core.do_gb_s));
        assert!(close(p.do_memory_gb, core.do_memory_gb));
        assert!(close(
            p.sqlite_rows_written_per_million / 1e6,
            core.row_written
        ));
        assert!(close(p.sqlite_rows_read_per_million / 1e6, core.row_read));
        assert_eq!(PriceTable::default(), p);
    }

    #[test]
    fn json_and_toml_overrides_and_their_errors() {
        let p = PriceTable::default()
            .overridden_by_json(r#"{"sqlite_rows_written_per_million": 2}"#, "x.json")
            .unwrap();
        assert_eq!(p.sqlite_rows_written_per_million, 2.0);
        assert_eq!(p.do_memory_gb, 0.125);
        let e = PriceTable::default()
            .overridden_by_toml("nope = 1", "x.toml")
            .unwrap_err();
        assert!(e.to_string().contains("unknown key \"nope\""), "{e}");
        let e = PriceTable::default()
            .overridden_by_toml("do_memory_gb = -1", "x.toml")
            .unwrap_err();
        assert!(e.to_string().contains("non-negative"), "{e}");
        let e = PriceTable::default()
            .overridden_by_toml("do_memory_gb = \"a\"", "x.toml")
            .unwrap_err();
        assert!(e.to_string().contains("do_memory_gb"), "{e}");
        let e = PriceTable::default()
            .overridden_by_json("[1]", "x.json")
            .unwrap_err();
        assert!(e.to_string().contains("JSON object"), "{e}");
        assert!(PriceTable::default()
            .overridden_by_toml("= =", "x.toml")
            .is_err());
        let e = PriceTable::load(Path::new("/nonexistent/prices.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/prices.toml"), "{e}");
    }

    #[test]
    fn awake_ms_price_is_the_documented_figure() {
        let p = PriceTable::default();
        assert!((p.do_awake_ms_per_million() - 0.0015625).abs() < 1e-12);
    }
}
