//! Engine speed, as a table (not a timed test: it asserts nothing about time).
//!
//! ```sh
//! cargo test --release -p lumenize-codemod --test engine_bench -- --ignored --nocapture
//! ```
//!
//! Compares `migrate_source` with a bare `syn::parse_file` (the floor: the engine must parse
//! once) on files that really use the 0.9 API — `LUMENIZE_09_CORPUS` (default
//! `/tmp/lumenize-09-corpus`, made by the CLI's corpus script) when present, else the fixture
//! inputs — and measures the byte prefilter over `LUMENIZE_CORPUS` (default `/tmp/rust-corpus`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lumenize_codemod::{may_need_migration, migrate_source, CrateContext, RuleSet};

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn load(dir: &Path, name: Option<&str>) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rs_files(dir, &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|p| name.is_none_or(|n| p.file_name().is_some_and(|f| f == n)))
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect()
}

/// On-CPU time of this thread (Linux `schedstat`, ns), so other processes competing for the
/// cores do not skew the ratios; wall time where it is unavailable.
fn cpu_now() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

fn best_of<F: FnMut()>(rounds: usize, mut f: F) -> Duration {
    (0..rounds)
        .map(|_| {
            let (t, c) = (Instant::now(), cpu_now());
            f();
            match (c, cpu_now()) {
                (Some(a), Some(b)) => b - a,
                _ => t.elapsed(),
            }
        })
        .min()
        .unwrap_or_default()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture in release"]
fn engine_vs_syn_parse() {
    let corpus09 = std::env::var_os("LUMENIZE_09_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/lumenize-09-corpus"));
    let (label, files) = if corpus09.is_dir() {
        (corpus09.display().to_string(), load(&corpus09, None))
    } else {
        let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        ("fixture inputs".to_string(), load(&fx, Some("input.rs")))
    };
    let rules = RuleSet::builtin();
    let ctx = CrateContext::scan(files.iter().map(|(p, t)| (p.as_path(), t.as_str())));
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let rounds = 5;
    let parse = best_of(rounds, || {
        for (_, t) in &files {
            let _ = syn::parse_file(t);
            proc_macro2::extra::invalidate_current_thread_spans();
        }
    });
    let mut edits = 0;
    let engine = best_of(rounds, || {
        edits = 0;
        for (p, t) in &files {
            edits += migrate_source(p, t, &ctx, &rules).edits.len();
        }
    });
    let scan = best_of(rounds, || {
        let _ = CrateContext::scan(files.iter().map(|(p, t)| (p.as_path(), t.as_str())));
    });
    println!(
        "\nengine on {label}: {} files, {:.1} MB, {edits} edits",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("| step | CPU time (best of {rounds}) | vs syn::parse_file |");
    println!("|---|---:|---:|");
    println!(
        "| syn::parse_file (span-locations) | {:.1} ms | 1.00x |",
        parse.as_secs_f64() * 1e3
    );
    println!(
        "| migrate_source (parse + plan + safety net) | {:.1} ms | {:.2}x |",
        engine.as_secs_f64() * 1e3,
        engine.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "| CrateContext::scan | {:.1} ms | {:.2}x |",
        scan.as_secs_f64() * 1e3,
        scan.as_secs_f64() / parse.as_secs_f64()
    );

    let corpus = std::env::var_os("LUMENIZE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/rust-corpus"));
    if corpus.is_dir() {
        let all = load(&corpus, None);
        let bytes: usize = all.iter().map(|(_, t)| t.len()).sum();
        let mut hits = 0;
        let pre = best_of(rounds, || {
            hits = all
                .iter()
                .filter(|(_, t)| may_need_migration(t.as_bytes()))
                .count();
        });
        println!(
            "\nprefilter on {}: {} files, {:.1} MB, {hits} pass, {:.1} ms ({:.2} GB/s)",
            corpus.display(),
            all.len(),
            bytes as f64 / 1e6,
            pre.as_secs_f64() * 1e3,
            bytes as f64 / pre.as_secs_f64() / 1e9
        );
    } else {
        println!("\nprefilter: skipped (no corpus at {})", corpus.display());
    }
}
