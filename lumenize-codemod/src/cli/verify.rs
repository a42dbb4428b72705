//! `apply --verify`: after writing, run the library's [`verify`] in every crate that had a
//! file written, and turn its reports into diagnostics (paths as displayed) for the printer
//! and the summary.
//!
//! Invariants: a crate is checked once, after all of its files are written; every way
//! verification can fail (cargo missing, a crate that does not build, a file outside any
//! package) becomes a diagnostic, so the exit status follows from the summary's counts alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lumenize_codemod::verify::{self as check, Touched, VerifyReport, COMPILER_RULE};
use lumenize_codemod::{Diagnostic, Severity};

use super::config::ActiveRules;
use super::process::{Display, Outcome};
use super::report;
use super::walk::CrateUnit;

/// What verification added to a run.
#[derive(Debug, Default)]
pub struct Verified {
    /// Fixes (edited, rule `verify-await`), compiler findings and failures, in crate order.
    pub diagnostics: Vec<Diagnostic>,
    /// Files a fix changed that `apply` itself had not written.
    pub extra_files_changed: usize,
}

/// Verifies the crates of the `written` outcomes; `quiet` hides the progress lines. With
/// `workspace` (`--unasync-public`), each check covers the crate's whole workspace, whose other
/// members may await what became synchronous.
pub fn run(
    crates: &[(CrateUnit, Arc<ActiveRules>)],
    outcomes: &[Outcome],
    written: &[bool],
    display: &Display,
    quiet: bool,
    workspace: bool,
) -> Verified {
    let owner: HashMap<&Path, &Path> = crates
        .iter()
        .filter_map(|(u, _)| Some((u, u.dir.as_deref()?)))
        .flat_map(|(u, dir)| u.files.iter().map(move |f| (f.path.as_path(), dir)))
        .collect();
    let mut out = Verified::default();
    // Crate dir -> touched lines (checked in path order).
    let mut todo: BTreeMap<&Path, Touched> = BTreeMap::new();
    for (o, _) in outcomes.iter().zip(written).filter(|(_, w)| **w) {
        match owner.get(o.path.as_path()) {
            Some(dir) => {
                todo.entry(dir).or_default();
            }
            None => out.diagnostics.push(Diagnostic {
                file: PathBuf::from(&o.display),
                line: 0,
                column: 0,
                rule: COMPILER_RULE.to_string(),
                message: "not part of a cargo package, so --verify cannot compile it".to_string(),
                severity: Severity::NeedsReview,
            }),
        }
    }
    if todo.is_empty() {
        if !quiet {
            report::err_line("verify: no crate had a file written; nothing to check");
        }
        return out;
    }
    // Touched lines: everything written, and the review sites of files left as they were.
    for (o, w) in outcomes.iter().zip(written) {
        let Some(touched) = owner.get(o.path.as_path()).and_then(|d| todo.get_mut(d)) else {
            continue;
        };
        if *w {
            touched.add_file(&o.path, &o.original, &o.output, &o.edits, &o.diagnostics);
        } else if o.diagnostics.iter().any(|d| d.severity != Severity::Edited) {
            // Not written, so the file on disk is the text the diagnostics point into.
            if let Ok(text) = std::fs::read_to_string(&o.path) {
                touched.add_file(&o.path, &text, &text, &[], &o.diagnostics);
            }
        }
    }
    let written_files: BTreeSet<&Path> = outcomes
        .iter()
        .zip(written)
        .filter(|(_, w)| **w)
        .map(|(o, _)| o.path.as_path())
        .collect();
    let mut fixed_elsewhere = BTreeSet::new();
    for (dir, touched) in &todo {
        let name = crate_name(dir, display);
        if !quiet {
            report::err_line(&format!("verifying {name} with cargo check…"));
        }
        match check::verify(dir, touched, workspace) {
            Ok(r) => {
                for d in &r.fixed {
                    if !written_files.contains(d.file.as_path()) {
                        fixed_elsewhere.insert(d.file.clone());
                    }
                }
                if !quiet {
                    report::err_line(&outcome_line(&name, &r));
                }
                out.diagnostics
                    .extend(crate_diagnostics(dir, &r).into_iter().map(|mut d| {
                        d.file = PathBuf::from(display.show(&d.file));
                        d
                    }));
            }
            Err(e) => out.diagnostics.push(Diagnostic {
                file: PathBuf::from(display.show(&dir.join("Cargo.toml"))),
                line: 0,
                column: 0,
                rule: COMPILER_RULE.to_string(),
                message: e.to_string(),
                severity: Severity::Error,
            }),
        }
    }
    out.extra_files_changed = fixed_elsewhere.len();
    out
}

/// The report's diagnostics, plus one crate-level error when the crate does not build and no
/// error on a migrated line explains it (so the exit status is 2 either way).
fn crate_diagnostics(dir: &Path, r: &VerifyReport) -> Vec<Diagnostic> {
    let mut diags = r.diagnostics();
    if !r.build_ok && !diags.iter().any(|d| d.severity == Severity::Error) {
        let cargo = r.cargo_error.as_deref().unwrap_or("`cargo check` failed");
        let message = if r.other_errors > 0 {
            format!(
                "the crate does not build after the migration: {} compiler error(s) on lines \
                 the migration did not touch ({cargo}); run `cargo check` in {} to see them",
                r.other_errors,
                dir.display()
            )
        } else {
            format!("the crate could not be checked: {cargo}")
        };
        diags.push(Diagnostic {
            file: dir.join("Cargo.toml"),
            line: 0,
            column: 0,
            rule: COMPILER_RULE.to_string(),
            message,
            severity: Severity::Error,
        });
    }
    diags
}

/// The crate's directory as displayed; `.` when it is the current directory.
fn crate_name(dir: &Path, display: &Display) -> String {
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    if cwd.as_deref() == Some(dir) {
        ".".to_string()
    } else {
        display.show(dir)
    }
}

/// The one-line result for the progress output.
fn outcome_line(name: &str, r: &VerifyReport) -> String {
    let fixed = match r.fixed.len() {
        0 => String::new(),
        1 => ", after removing 1 `.await` on a non-future".to_string(),
        n => format!(", after removing {n} `.await`s on non-futures"),
    };
    if r.build_ok {
        format!("verified {name}: cargo check passes{fixed}")
    } else {
        format!("verified {name}: cargo check FAILS{fixed}")
    }
}
