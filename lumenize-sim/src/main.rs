//! `lumenize-sim`: runs seeds of the deterministic simulation.
//!
//! `cargo run --release -p lumenize-sim -- --seeds N [--start-seed S] [--mutant NAME]`;
//! the last stdout line is `sim: seeds=N fetches=F ... violations=V ... trace=HEX`. Exit 0
//! when there is no violation, 1 otherwise (with the first failing seed and the command that
//! replays it), 2 for usage errors.

use clap::Parser;
use lumenize_sim::{run_seed, run_seeds, Mutant, Options};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "lumenize-sim",
    about = "Deterministic simulation of the lumenize runtime with fault injection"
)]
struct Args {
    /// How many seeds to run.
    #[arg(long)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    start_seed: u64,
    /// Run a deliberately broken rule (the run must then fail).
    #[arg(long, value_enum, default_value_t = Mutant::None)]
    mutant: Mutant,
    /// Client operations per seed (about 85% fetches).
    #[arg(long, default_value_t = 120)]
    ops: u32,
    /// No faults (the workload alone).
    #[arg(long)]
    no_faults: bool,
    /// Print each seed's readable trace (use with a few seeds).
    #[arg(long)]
    trace: bool,
    /// Let statement faults hit statements outside transactions too, such as the engine's
    /// re-read of the alarm slot after a rollback (found finding 2, now fixed).
    #[arg(long)]
    reload_faults: bool,
    /// Threads (each seed runs on one; the result does not depend on this).
    #[arg(long)]
    jobs: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = Options {
        ops: args.ops,
        mutant: args.mutant,
        faults: !args.no_faults,
        trace: args.trace,
        reload_faults: args.reload_faults,
        ..Options::default()
    };
    if args.trace {
        for seed in args.start_seed..args.start_seed.saturating_add(args.seeds) {
            for line in run_seed(seed, &opts).trace {
                println!("{line}");
            }
        }
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = Instant::now();
    let sum = run_seeds(args.start_seed, args.seeds, jobs, &opts);
    // Wall time goes to stderr: stdout is the same on every machine.
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{:.1} s, {:.0} fetches/s, {:.0} events/s on {jobs} threads",
        secs,
        sum.fetches as f64 / secs.max(1e-9),
        sum.events as f64 / secs.max(1e-9)
    );
    // How often a mutant is caught (seeds, not violations: a seed may report several).
    let some: Vec<String> = sum
        .failed_seeds
        .iter()
        .take(20)
        .map(u64::to_string)
        .collect();
    eprintln!(
        "{} failing seeds{}{}",
        sum.failed_seeds.len(),
        if some.is_empty() { "" } else { ": " },
        some.join(" ")
    );
    if let (Some(seed), Some(v)) = (sum.failed_seeds.first(), &sum.first_violation) {
        println!("first failing seed: {seed}: {v}");
        let mutant = match args.mutant {
            Mutant::None => String::new(),
            m => format!(
                " --mutant {}",
                clap::ValueEnum::to_possible_value(&m)
                    .map_or(String::new(), |p| p.get_name().to_string())
            ),
        };
        let mut flags = mutant;
        for (on, flag) in [
            (args.no_faults, " --no-faults"),
            (args.reload_faults, " --reload-faults"),
        ] {
            if on {
                flags.push_str(flag);
            }
        }
        println!(
            "replay: cargo run --release -p lumenize-sim -- --seeds 1 --start-seed {seed} --ops {}{flags} --trace",
            args.ops
        );
    }
    println!("{}", sum.line());
    if sum.violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
