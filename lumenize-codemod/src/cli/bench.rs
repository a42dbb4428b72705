//! The hidden `bench-parse-only` command: the benchmark's baseline, built only with the
//! `bench-parse-only` cargo feature (`scripts/bench-codemod.sh` builds it that way).
//!
//! It walks and reads exactly the files `check` would migrate (same walker, same crate
//! filter, same thread pool) and only runs `syn::parse_file` on them, so
//! `check` time / `bench-parse-only` time is the cost of the rules over a bare parse.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use lumenize_codemod::may_need_migration;
use rayon::prelude::*;

use super::args::BenchArgs;
use super::walk::{self, Kind};

/// Runs the parse-only pass and prints one line of counts (and each parse failure with its
/// reason on stderr); exit code 0 (2 on bad PATHs).
pub fn run(b: &BenchArgs) -> u8 {
    let started = Instant::now();
    let workset = walk::discover(&b.paths, &walk::Globs::default());
    for (p, e) in &workset.errors {
        eprintln!("error: {}: {e}", p.display());
    }
    let files: Vec<_> = workset
        .crates
        .iter()
        .filter(|c| c.targeted || b.force)
        .flat_map(|c| c.files.iter())
        .filter(|f| f.selected && f.kind == Kind::Rust)
        .collect();
    let parsed = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    files.par_iter().for_each(|f| {
        let Ok(data) = std::fs::read(&f.path) else {
            failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        bytes.fetch_add(data.len(), Ordering::Relaxed);
        if b.prefiltered && !may_need_migration(&data) {
            return;
        }
        let result = match std::str::from_utf8(&data) {
            Ok(t) => syn::parse_file(t).map(drop).map_err(|e| {
                let at = e.span().start();
                format!("{}:{}: {e}", at.line, at.column + 1)
            }),
            Err(e) => Err(format!("not UTF-8: {e}")),
        };
        match result {
            Ok(()) => {
                parsed.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => {
                failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut list) = failures.lock() {
                    list.push(format!("{}:{reason}", f.path.display()));
                }
            }
        }
        // span-locations keeps every file's spans in a thread-local table; drop them like the
        // engine does, or memory grows with the corpus.
        proc_macro2::extra::invalidate_current_thread_spans();
    });
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort();
    for f in &failures {
        eprintln!("parse failure: {f}");
    }
    println!(
        "bench-parse-only: {} files read ({:.1} MB), {} parsed, {} failed, {:.2?}",
        files.len(),
        bytes.load(Ordering::Relaxed) as f64 / 1_048_576.0,
        parsed.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        started.elapsed()
    );
    if workset.errors.is_empty() {
        0
    } else {
        2
    }
}
