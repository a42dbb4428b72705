//! `-` as PATH: one file from standard input (editor integration).
//!
//! `apply -` writes the migrated text (or the input unchanged) to stdout and everything else to
//! stderr, so an editor can replace its buffer with stdout. `diff -` and `check -` behave like
//! their file versions. `--stdin-filename` names the file in messages and diffs, and picks the
//! manifest rules when it ends in `Cargo.toml`. When it names a file inside a cargo package,
//! the package's other files are read for the crate context (re-exports, renamed
//! dependencies), as in a run on the crate; otherwise a note says results may be partial.

use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use lumenize_codemod::{
    migrate_manifest, migrate_source, CrateContext, Dependencies, FileMigration, RuleSet,
};

use super::args::{Format, RunArgs};
use super::config::{self, RuleChoice};
use super::deps;
use super::diff;
use super::eol;
use super::json::Record;
use super::process::Outcome;
use super::report::{self, FileExtra, Mode, Printer, Summary};
use super::walk;

/// Runs one command on standard input; returns the exit code.
pub fn run(mode: Mode, a: &RunArgs, choice: &RuleChoice, printer: &Printer) -> u8 {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        report::err_line(&format!("error: cannot read standard input: {e}"));
        return 2;
    }
    let name = a
        .stdin_filename
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdin>"));
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            report::err_line(&format!(
                "error: {}: standard input is not valid UTF-8 (first bad byte at offset {})",
                name.display(),
                e.utf8_error().valid_up_to()
            ));
            return 2;
        }
    };
    let config = choice.config.clone().or_else(|| {
        let dir = name
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| config::discover(&d))
    });
    let rules = match config::build(config.as_deref(), choice) {
        Ok(r) => r,
        Err(e) => {
            report::err_line(&format!("error: {e}"));
            return 2;
        }
    };

    let is_manifest = name.file_name().is_some_and(|n| n == "Cargo.toml");
    // The crate around the buffer, so re-exports in its other files are followed.
    let around = if is_manifest || a.stdin_filename.is_none() {
        None
    } else {
        crate_around(&name, &rules)
    };
    let engine_path = around
        .as_ref()
        .map_or_else(|| name.clone(), |c| c.engine_path.clone());
    if around.is_none() && !is_manifest && !a.quiet {
        report::err_line(&format!(
            "note: {}: {}, so only this buffer was read: names it reaches through other files \
             of its crate are not followed, and results may be partial",
            name.display(),
            if a.stdin_filename.is_none() {
                "no --stdin-filename was given"
            } else {
                "it is not inside a cargo package"
            }
        ));
    }
    let mut files: Vec<(&Path, &str)> = around
        .as_ref()
        .map(|c| {
            c.others
                .iter()
                .map(|(p, t)| (p.as_path(), t.as_str()))
                .collect()
        })
        .unwrap_or_default();
    files.push((engine_path.as_path(), text.as_str()));
    let links = around.as_ref().map(|c| c.links.clone()).unwrap_or_default();
    let ctx = CrateContext::scan_linked(files, &rules, &links);
    let candidate =
        is_manifest || a.no_prefilter || ctx.prefilter(&rules).may_need_migration(text.as_bytes());
    let migration = if candidate {
        let result = catch_unwind(AssertUnwindSafe(|| {
            if is_manifest {
                migrate_manifest(&name, &text, &rules)
            } else {
                migrate_source(&engine_path, &text, &ctx, &rules)
            }
        }));
        match result {
            Ok(m) => m,
            Err(_) => {
                report::err_line(&format!(
                    "error: {}: the engine panicked on this input (please report it)",
                    name.display()
                ));
                if mode == Mode::Apply {
                    let _ = std::io::stdout().write_all(text.as_bytes());
                }
                return 2;
            }
        }
    } else {
        FileMigration {
            output: text.clone(),
            ..FileMigration::default()
        }
    };
    let display = name.to_string_lossy().into_owned();
    let output = eol::with_line_endings(&text, migration.output, &migration.edits);
    let mut outcome = Outcome {
        path: name.clone(),
        display: display.clone(),
        differs: text != output,
        original: text,
        output,
        edits: migration.edits,
        diagnostics: migration
            .diagnostics
            .into_iter()
            .map(|mut d| {
                d.file = name.clone();
                d
            })
            .collect(),
        edit_spans: Vec::new(),
        diagnostic_spans: Vec::new(),
    };
    if printer.format != Format::Human {
        let original = outcome.original.clone();
        outcome.measure(&original);
    }
    let summary = Summary::count(std::slice::from_ref(&outcome), 1, 0);
    let code = summary.exit_code(mode, a.strict);

    if mode == Mode::Apply {
        // stdout is the buffer; every report goes to stderr.
        let text = if outcome.changed() {
            &outcome.output
        } else {
            &outcome.original
        };
        let _ = std::io::stdout().write_all(text.as_bytes());
        match printer.format {
            Format::Human => {
                for d in outcome.diagnostics.iter().filter(|d| printer.shows(d)) {
                    report::err_line(&report::diagnostic_human(d));
                }
            }
            Format::Json => {
                for (i, d) in outcome.diagnostics.iter().enumerate() {
                    report::err_line(&Record::diagnostic(d, outcome.diagnostic_span(i)).line());
                }
                report::err_line(&summary.json(mode, code));
            }
            Format::Github | Format::Sarif => {
                let extra = FileExtra {
                    written: false,
                    diff: None,
                    plain_diff: None,
                };
                printer.file(mode, &outcome, &extra);
                printer.summary(mode, &summary, code, &rules.rules(), "-");
            }
        }
        return code;
    }

    let plain = (mode == Mode::Diff && outcome.changed())
        .then(|| diff::unified(&display, &outcome.original, &outcome.output));
    let extra = FileExtra {
        written: false,
        diff: plain.as_deref(),
        plain_diff: plain.as_deref(),
    };
    printer.file(mode, &outcome, &extra);
    printer.summary(mode, &summary, code, &rules.rules(), "-");
    code
}

/// The crate around a buffer: where the buffer sits in it, and its other files' texts.
struct Around {
    /// The buffer's path relative to the crate directory (the engine places it from that).
    engine_path: PathBuf,
    /// The crate's other `.rs` files and manifest, crate-relative, as read.
    others: Vec<(PathBuf, String)>,
    /// What its other crates re-export (see `deps`).
    links: Dependencies,
}

/// Reads the crate holding `name` (which need not exist yet: its directory must), walked like
/// a PATH argument; `None` outside any cargo package.
fn crate_around(name: &Path, rules: &RuleSet) -> Option<Around> {
    let parent = name.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
    let abs = dir.join(name.file_name()?);
    let workset = walk::discover(std::slice::from_ref(&dir), &walk::Globs::default());
    let mut unit = workset
        .crates
        .into_iter()
        .find(|u| u.dir.as_deref().is_some_and(|d| abs.starts_with(d)))?;
    // Its dependencies that cannot be read only lose their re-exports here (the buffer's
    // report has no place for the manifest's errors; `check` on the crate shows them).
    deps::Linker::default().link(&mut unit, rules, 0);
    let links = std::mem::take(&mut unit.links);
    let crate_dir = unit.dir?;
    let others = unit
        .files
        .iter()
        .filter(|f| f.path != abs)
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f.path).ok()?;
            Some((f.path.strip_prefix(&crate_dir).ok()?.to_path_buf(), text))
        })
        .collect();
    Some(Around {
        engine_path: abs.strip_prefix(&crate_dir).ok()?.to_path_buf(),
        others,
        links,
    })
}
