//! The three-way comparison of external-fetch designs for Durable-Object-style objects:
//! **direct** (the object fetches and stays awake), **orchestrated** `proxy_fetch` (origin →
//! orchestrator object → executor → origin) and **`proxy_fetch_simple`** (origin → executor →
//! origin, the timeout alarm holding the continuation) with a worker and an RPC-target executor.
//!
//! Everything is measured on the real implementation in `lumenize-core` against its local
//! endpoint server: latency per operation, and the runtime's own accounting (origin wall time
//! awake, executor CPU, requests, SQLite rows), priced with [`prices::PriceTable`].
//!
//! ```no_run
//! use lumenize_experiment::{config::Config, run, write_outputs};
//! let results = run(&Config::quick()).unwrap();
//! write_outputs(&results, std::path::Path::new("experiment-out")).unwrap();
//! ```
//!
//! Modules, one job each: [`config`] (what to run), [`prices`] (the price table as data),
//! [`profile`] (the hop-latency model), [`original`] (the TypeScript original's numbers),
//! [`harness`] (the runtime and how it is driven), [`model`] (usage, cost, break-even),
//! [`analysis`] (samples → tables), [`report`] (markdown and CSV), [`summary`] (the JSON
//! contract), [`svg`] (charts),
//! [`machine`] (where it ran).
#![warn(missing_docs)]

pub mod analysis;
pub mod config;
pub mod harness;
pub mod machine;
pub mod model;
pub mod original;
pub mod prices;
pub mod profile;
pub mod report;
pub mod summary;
pub mod svg;

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use config::Config;
use harness::Harness;
use model::{OpUsage, Variant};
use profile::LatencyProfile;

/// Why an experiment could not run or write its output.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The runtime or the endpoint server could not start.
    #[error("setup failed: {0}")]
    Setup(String),
    /// A measurement failed (a fetch failed, a continuation never ran...).
    #[error("measurement failed: {0}")]
    Run(String),
    /// Writing the output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// One operation's latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The latency profile.
    pub profile: LatencyProfile,
    /// The design.
    pub variant: Variant,
    /// The fetch duration, ms.
    pub fetch_ms: u64,
    /// Run number (from 1).
    pub run: u32,
    /// Operation number within the run (from 1).
    pub op: u32,
    /// Start sent → continuation ran.
    pub latency: Duration,
}

/// The accounting of one run (its operations, sequential), per operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batch {
    /// The latency profile.
    pub profile: LatencyProfile,
    /// The design.
    pub variant: Variant,
    /// The fetch duration, ms.
    pub fetch_ms: u64,
    /// Run number (from 1).
    pub run: u32,
    /// Operations in the run.
    pub ops: u32,
    /// Usage per operation.
    pub usage: OpUsage,
}

/// One burst of the scalability sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleResult {
    /// The design.
    pub variant: Variant,
    /// Concurrent operations started in one origin turn.
    pub concurrent: u32,
    /// Start → last continuation.
    pub total: Duration,
    /// Resident memory before, KiB.
    pub rss_before_kib: u64,
    /// Peak resident memory sampled during the burst, KiB.
    pub rss_peak_kib: u64,
    /// Resident memory after settling, KiB.
    pub rss_after_kib: u64,
    /// Usage per operation.
    pub usage: OpUsage,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Results {
    /// The configuration.
    pub config: Config,
    /// Where and when it ran.
    pub machine: machine::MachineInfo,
    /// Every operation's latency.
    pub samples: Vec<Sample>,
    /// Every run's accounting.
    pub batches: Vec<Batch>,
    /// The scalability sweep (run with the first profile).
    pub scale: Vec<ScaleResult>,
    /// What one firing of the polling orchestrator's poll cost it (measured after the
    /// sweeps; `None` when it could not be measured). Its batches do not include it.
    pub poll_firing: Option<model::RoleUsage>,
    /// Load average (1, 5, 15 min) when the run ended.
    pub load_after: Option<[f64; 3]>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// What the runtime counted (failures and late outcomes; expected all zero). The events
    /// themselves are `tracing` events: install a subscriber to see them.
    pub runtime_events: lumenize_core::runtime::Counters,
    /// The command line that produced it (set by the binary; a library call says so).
    pub command: String,
}

fn progress_bar(config: &Config) -> indicatif::ProgressBar {
    if !config.progress || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(config.total_ops());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} ops  {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs the experiment described by `config`.
pub fn run(config: &Config) -> Result<Results, ExperimentError> {
    config.validate()?;
    let started = std::time::Instant::now();
    let machine = machine::MachineInfo::collect();
    let data = tempfile::Builder::new()
        .prefix("lumenize-experiment-")
        .tempdir()
        .map_err(|e| ExperimentError::Setup(format!("temporary data directory: {e}")))?;
    let harness = Harness::new(config.threads, data.path())?;
    let bar = progress_bar(config);
    let tick = || bar.inc(1);
    let mut samples = Vec::new();
    let mut batches = Vec::new();
    for &profile in &config.profiles {
        harness.set_profile(profile);
        // Warm up each design's origin, executor and connection pool; not recorded.
        for v in Variant::ALL {
            harness.sequential(&origin_name(profile, v), v, 0, 2, &|| {})?;
        }
        for &fetch_ms in &config.durations_ms {
            for run in 1..=config.runs {
                // Designs interleaved within a run, so load changes touch them alike.
                for v in Variant::ALL {
                    bar.set_message(format!(
                        "profile {} · {fetch_ms} ms · run {run} · {}",
                        profile.name(),
                        v.label()
                    ));
                    let (lat, usage) = harness.sequential(
                        &origin_name(profile, v),
                        v,
                        fetch_ms,
                        config.ops,
                        &tick,
                    )?;
                    for (i, latency) in lat.into_iter().enumerate() {
                        samples.push(Sample {
                            profile,
                            variant: v,
                            fetch_ms,
                            run,
                            op: i as u32 + 1,
                            latency,
                        });
                    }
                    batches.push(Batch {
                        profile,
                        variant: v,
                        fetch_ms,
                        run,
                        ops: config.ops,
                        usage,
                    });
                }
            }
        }
    }
    let mut scale = Vec::new();
    harness.set_profile(config.profiles[0]);
    for &n in &config.scale_levels {
        for v in Variant::ALL {
            bar.set_message(format!("scalability · {n} concurrent · {}", v.label()));
            let b = harness.burst(
                &format!("scale-{}-{n}", v.key()),
                v,
                config.scale_fetch_ms,
                n,
            )?;
            bar.inc(u64::from(n));
            scale.push(ScaleResult {
                variant: v,
                concurrent: n,
                total: b.total,
                rss_before_kib: b.rss_before_kib,
                rss_peak_kib: b.rss_peak_kib,
                rss_after_kib: b.rss_after_kib,
                usage: b.usage,
            });
        }
    }
    let poll_firing = harness.poll_firing("poll-firing").ok();
    bar.finish_and_clear();
    Ok(Results {
        config: config.clone(),
        machine,
        samples,
        batches,
        scale,
        poll_firing,
        load_after: machine::load_average(),
        elapsed: started.elapsed(),
        runtime_events: harness.counters(),
        command: "(library call: lumenize_experiment::run)".into(),
    })
}

fn origin_name(profile: LatencyProfile, v: Variant) -> String {
    format!("latency-{}-{}", profile.name(), v.key())
}

/// Largest `workerd.md` that [`write_outputs`] appends to the report.
const MAX_WORKERD_SECTION: u64 = 256 * 1024;

/// The section measured in local workerd, kept in the report across runs: `dir/workerd.md`
/// as the workspace tests' driver wrote it (`measure_the_designs_in_workerd`, which needs the
/// built worker and workerd, so it is not part of this experiment's run). Empty when there is
/// none; a note when it is larger than [`MAX_WORKERD_SECTION`].
fn workerd_section(dir: &Path) -> String {
    let path = dir.join("workerd.md");
    match std::fs::metadata(&path) {
        Ok(m) if m.len() > MAX_WORKERD_SECTION => {
            format!("\n(`workerd.md` is above {MAX_WORKERD_SECTION} bytes: not included.)\n")
        }
        Ok(_) => std::fs::read_to_string(&path)
            .map(|t| format!("\n{t}"))
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Writes `report.md`, `summary.json` (see [`summary`]), `samples.csv`, `accounting.csv`,
/// `scale.csv` and the SVG charts into
/// `dir` (created if missing). Returns the files written. A `workerd.md` already in `dir`
/// (the latency comparison in local workerd) is appended to `report.md`.
pub fn write_outputs(
    results: &Results,
    dir: &Path,
) -> Result<Vec<std::path::PathBuf>, ExperimentError> {
    let werr = |path: &Path| {
        let path = path.display().to_string();
        move |source| ExperimentError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(werr(dir))?;
    let analysis = analysis::Analysis::of(results);
    let mut report = report::markdown(results, &analysis);
    report.push_str(&workerd_section(dir));
    let mut files: Vec<(String, String)> = vec![
        ("report.md".into(), report),
        ("samples.csv".into(), report::samples_csv(results)),
        ("accounting.csv".into(), report::accounting_csv(results)),
        ("scale.csv".into(), report::scale_csv(results)),
        ("summary.json".into(), summary::text(&analysis)),
    ];
    for p in &analysis.profiles {
        files.push((svg::cost_file(p.profile), svg::cost_chart(p)));
        files.push((svg::latency_file(p.profile), svg::latency_chart(p)));
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(werr(&path))?;
        written.push(path);
    }
    Ok(written)
}
