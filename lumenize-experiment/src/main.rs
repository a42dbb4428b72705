//! `lumenize-experiment`: runs the three-way fetch comparison and writes its report.
//!
//! ```text
//! cargo run --release -p lumenize-experiment -- [--quick] [--out DIR] [--durations 0,100,1000]
//!     [--runs N] [--ops N] [--latency-profile none|production[,..]] [--prices FILE]
//!     [--scale 10,100,1000,10000]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lumenize_experiment::config::{parse_list, Config};
use lumenize_experiment::prices::PriceTable;
use lumenize_experiment::profile::LatencyProfile;
use lumenize_experiment::{run, write_outputs, ExperimentError};

/// Compares direct, orchestrated and simple proxy fetch on latency, cost and scale.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Smoke-test preset: 0,100 ms, 2 runs × 4 ops, scale 10,100 (under a minute). Other
    /// flags still override it.
    #[arg(long)]
    quick: bool,
    /// Output directory for report.md, the CSV files and the SVG charts.
    #[arg(long, default_value = "experiment-out")]
    out: PathBuf,
    /// Fetch durations in ms, comma-separated (0 = the /uuid endpoint).
    #[arg(long)]
    durations: Option<String>,
    /// Runs per design and duration.
    #[arg(long)]
    runs: Option<u32>,
    /// Sequential operations per run.
    #[arg(long)]
    ops: Option<u32>,
    /// Hop-latency profile(s): none, production, or both comma-separated.
    #[arg(long, default_value = "none")]
    latency_profile: String,
    /// Price file (TOML or JSON) overriding keys of the built-in price table.
    #[arg(long)]
    prices: Option<PathBuf>,
    /// Concurrency levels of the scalability sweep, comma-separated ("none" to skip).
    #[arg(long)]
    scale: Option<String>,
    /// Fetch duration of the scalability sweep, ms.
    #[arg(long)]
    scale_fetch_ms: Option<u64>,
    /// Tokio threads of the runtime.
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn config(a: &Args) -> Result<Config, ExperimentError> {
    let mut c = if a.quick {
        Config::quick()
    } else {
        Config::full()
    };
    if let Some(d) = &a.durations {
        c.durations_ms = parse_list(d, "--durations")?;
    }
    if let Some(r) = a.runs {
        c.runs = r;
    }
    if let Some(o) = a.ops {
        c.ops = o;
    }
    c.profiles = a
        .latency_profile
        .split(',')
        .map(LatencyProfile::parse)
        .collect::<Result<_, _>>()
        .map_err(ExperimentError::Config)?;
    if let Some(p) = &a.prices {
        c.prices = PriceTable::load(p).map_err(|e| ExperimentError::Config(e.to_string()))?;
        c.prices_source = p.display().to_string();
    }
    if let Some(s) = &a.scale {
        c.scale_levels = if s.trim() == "none" {
            Vec::new()
        } else {
            parse_list(s, "--scale")?
        };
    }
    if let Some(ms) = a.scale_fetch_ms {
        c.scale_fetch_ms = ms;
    }
    if let Some(t) = a.threads {
        c.threads = t.max(1);
    }
    c.progress = !a.no_progress;
    c.validate()?;
    Ok(c)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = config(&args).and_then(|c| {
        let mut results = run(&c)?;
        results.command = std::iter::once("lumenize-experiment".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" ");
        let files = write_outputs(&results, &args.out)?;
        Ok((results, files))
    });
    match result {
        Ok((results, files)) => {
            eprintln!("done in {:.1} s; wrote:", results.elapsed.as_secs_f64());
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lumenize-experiment: {e}");
            ExitCode::FAILURE
        }
    }
}
