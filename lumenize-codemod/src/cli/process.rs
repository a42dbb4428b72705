//! The parallel pipeline: read each crate's files once, build its `CrateContext`, run the byte
//! prefilter, migrate what passes. Nothing here writes files or prints.
//!
//! Invariants: every selected file that passes the prefilter reaches the engine exactly once;
//! every problem becomes a `Diagnostic` (never a panic, never a silent skip); a panic inside
//! the engine is caught and reported as an error for that file, and the run goes on.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::ProgressBar;
use lumenize_codemod::{
    migrate_manifest, migrate_source, CrateContext, Diagnostic, Edit, FileMigration, RuleSet,
    Severity, UnasyncOptions,
};
use rayon::prelude::*;

use super::config::ActiveRules;
use super::eol;
use super::span::{Lines, Span};
use super::unasync;
use super::walk::{CrateUnit, Kind, SourceFile};

/// What happened to one file that has something to say (edits or diagnostics).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Absolute path (for writing).
    pub path: PathBuf,
    /// Path as shown to the user and in diffs.
    pub display: String,
    /// The file as read (empty when nothing changes, or when the run needs no text).
    pub original: String,
    /// The migrated text with the file's line endings (empty when nothing changes, or when
    /// the run needs no text).
    pub output: String,
    /// The output differs from the original (decided before the texts are let go).
    pub differs: bool,
    /// Edits, in source order.
    pub edits: Vec<Edit>,
    /// Diagnostics, in source order, with `file` set to `display`.
    pub diagnostics: Vec<Diagnostic>,
    /// The spans of `edits` (empty unless a machine format asked for them).
    pub edit_spans: Vec<Span>,
    /// The spans of the first diagnostics (later ones, such as write errors, have none).
    pub diagnostic_spans: Vec<Span>,
}

impl Outcome {
    /// The file would change.
    pub fn changed(&self) -> bool {
        !self.edits.is_empty() && self.differs
    }

    /// The span of edit `i` (a point at its start when none was computed).
    pub fn edit_span(&self, i: usize) -> Span {
        self.edit_spans
            .get(i)
            .copied()
            .unwrap_or_else(|| Span::point(self.edits[i].line, self.edits[i].column))
    }

    /// The span of diagnostic `i` (a point when none was computed).
    pub fn diagnostic_span(&self, i: usize) -> Span {
        self.diagnostic_spans
            .get(i)
            .copied()
            .unwrap_or_else(|| Span::of_diagnostic(&self.diagnostics[i]))
    }

    /// Computes the spans of the edits and diagnostics against `text` (the original).
    pub fn measure(&mut self, text: &str) {
        let lines = Lines::new(text);
        self.edit_spans = self.edits.iter().map(|e| lines.edit(e)).collect();
        self.diagnostic_spans = self
            .diagnostics
            .iter()
            .map(|d| lines.diagnostic(d))
            .collect();
    }
}

/// A crate left alone because it does not use lumenize.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// Its directory, as displayed.
    pub crate_dir: String,
    /// Why.
    pub reason: String,
}

/// Everything a run found, in display order.
#[derive(Debug, Default)]
pub struct Report {
    /// Files with edits or diagnostics, sorted by display path.
    pub outcomes: Vec<Outcome>,
    /// Selected files that were read (and prefiltered or migrated).
    pub files_scanned: usize,
    /// Crates not read.
    pub skipped: Vec<Skipped>,
}

/// How paths are shown: relative to the current directory when below it.
#[derive(Debug, Clone)]
pub struct Display {
    cwd: Option<PathBuf>,
}

impl Display {
    /// Uses the (canonical) current directory.
    pub fn from_cwd() -> Display {
        Display {
            cwd: std::env::current_dir()
                .ok()
                .and_then(|d| std::fs::canonicalize(d).ok()),
        }
    }

    /// The user-facing form of an absolute path.
    pub fn show(&self, path: &Path) -> String {
        let rel = self
            .cwd
            .as_deref()
            .and_then(|c| path.strip_prefix(c).ok())
            .filter(|r| !r.as_os_str().is_empty());
        rel.unwrap_or(path).to_string_lossy().into_owned()
    }
}

/// How files are selected for the engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Migrate crates that do not depend on a target package too.
    pub force: bool,
    /// Send every selected file to the engine, not only prefilter hits (stress testing).
    pub no_prefilter: bool,
    /// Keep each changed file's original and migrated text in its outcome (diffs, writes,
    /// JSON edits, verification need them; a human `check` only needs to know it changed).
    pub keep_text: bool,
    /// Compute end positions (the machine formats show them).
    pub spans: bool,
    /// Keep `Edited` diagnostics (JSON and verbose output show them; the summary does not
    /// count them). A human `check` of a large tree otherwise holds one per edit until the end.
    pub keep_edited: bool,
    /// `--unasync-public`: the `unasync` rule converts public items too.
    pub unasync_public: bool,
}

/// Processes the crates that should be processed, each with its rule set.
pub fn run(
    crates: &[(CrateUnit, Arc<ActiveRules>)],
    opts: Options,
    display: &Display,
    progress: &ProgressBar,
) -> Report {
    let mut report = Report::default();
    let mut work = Vec::new();
    for (unit, rules) in crates {
        if unit.targeted || opts.force {
            work.push((unit, rules));
        } else if let Some(dir) = &unit.dir {
            report.skipped.push(Skipped {
                crate_dir: display.show(dir),
                reason: "its Cargo.toml depends on no package the rules migrate (lumenize-core)"
                    .to_string(),
            });
        }
    }
    let total: usize = work
        .iter()
        .map(|(u, _)| u.files.iter().filter(|f| f.selected).count())
        .sum();
    progress.set_length(total as u64);
    let results: Vec<(usize, Vec<Outcome>)> = work
        .par_iter()
        .map(|(unit, rules)| process_crate(unit, rules, opts, display, progress))
        .collect();
    for (scanned, outcomes) in results {
        report.files_scanned += scanned;
        report.outcomes.extend(outcomes);
    }
    report.outcomes.sort_by(|a, b| a.display.cmp(&b.display));
    report
}

/// One file's bytes, read once.
struct Loaded<'a> {
    file: &'a SourceFile,
    /// The path given to the engine (crate-relative when the file is in a crate).
    engine_path: PathBuf,
    text: Result<String, Diagnostic>,
}

fn process_crate(
    unit: &CrateUnit,
    rules: &ActiveRules,
    opts: Options,
    display: &Display,
    progress: &ProgressBar,
) -> (usize, Vec<Outcome>) {
    // The context needs every file of the crate (the manifest for renamed dependencies), so
    // all are read; only selected ones are migrated.
    let loaded: Vec<Loaded> = unit
        .files
        .par_iter()
        .map(|f| load(f, unit.dir.as_deref(), display))
        .collect();
    let texts = loaded.iter().filter_map(|l| match &l.text {
        Ok(t) => Some((l.engine_path.as_path(), t.as_str())),
        Err(_) => None,
    });
    let ctx = CrateContext::scan_linked(texts, &rules.set, &unit.links);
    // The prefilter knows this crate's renames and re-exports and the config's rules.
    // Manifests always go to the engine: one per crate, cheap, and the byte prefilter is
    // written for Rust sources (it looks for `lumenize_core`, not `lumenize-core`).
    let prefilter = ctx.prefilter(&rules.set);
    let candidate = |l: &Loaded, text: &str| {
        opts.no_prefilter
            || l.file.kind == Kind::Manifest
            || prefilter.may_need_migration(text.as_bytes())
    };
    let mut outcomes: Vec<Outcome> = loaded
        .par_iter()
        .filter(|l| l.file.selected)
        .filter_map(|l| {
            let out = migrate_one(l, &candidate, &ctx, &rules.set, display, opts);
            progress.inc(1);
            out
        })
        .collect();
    // The crate-wide rule (`unasync`), on what the per-file rules left.
    let sources: Vec<unasync::Source> = loaded
        .iter()
        .filter(|l| l.file.kind == Kind::Rust)
        .filter_map(|l| {
            Some(unasync::Source {
                path: &l.file.path,
                engine_path: &l.engine_path,
                text: l.text.as_deref().ok()?,
                selected: l.file.selected,
            })
        })
        .collect();
    // Only where lumenize is in use: a crate depending on it, or (with `--force`) one whose
    // files the per-file rules had something to say about. Elsewhere it costs nothing.
    if (unit.targeted || !outcomes.is_empty()) && unasync::wanted(&sources) {
        let at: Vec<Option<usize>> = sources
            .iter()
            .map(|s| outcomes.iter().position(|o| o.path == s.path))
            .collect();
        let firsts: Vec<&[Edit]> = at
            .iter()
            .map(|i| i.map_or(&[][..], |i| &outcomes[i].edits[..]))
            .collect();
        let options = UnasyncOptions {
            public: opts.unasync_public,
        };
        let show = |p: &Path| display.show(p);
        let changes = unasync::run(
            &sources,
            &firsts,
            &ctx,
            &rules.set,
            options,
            opts.keep_edited,
            &show,
        );
        for c in changes {
            let s = &sources[c.source];
            let i = at[c.source].unwrap_or_else(|| {
                outcomes.push(empty_outcome(s.path, display));
                outcomes.len() - 1
            });
            let o = &mut outcomes[i];
            if let Some(edits) = c.edits {
                if opts.keep_text {
                    o.original = s.text.to_string();
                    o.output = c.output;
                }
                o.edits = edits;
                o.differs = c.differs;
            }
            o.diagnostics.extend(c.diagnostics);
            o.diagnostics.sort_by_key(|d| (d.line, d.column));
            if opts.spans {
                // The composed edits and the rule's diagnostics need their end positions too.
                o.measure(s.text);
            }
        }
    }
    if let (Some(err), Some(dir)) = (&unit.manifest_error, &unit.dir) {
        let path = dir.join("Cargo.toml");
        outcomes.push(error_outcome(
            &path,
            display,
            "manifest",
            format!("cannot parse Cargo.toml: {err}"),
        ));
    }
    if let Some(dir) = &unit.dir {
        for err in &unit.link_errors {
            outcomes.push(error_outcome(
                &dir.join("Cargo.toml"),
                display,
                "manifest",
                err.clone(),
            ));
        }
    }
    let scanned = loaded.iter().filter(|l| l.file.selected).count();
    (scanned, outcomes)
}

fn load<'a>(file: &'a SourceFile, crate_dir: Option<&Path>, display: &Display) -> Loaded<'a> {
    let shown = display.show(&file.path);
    // The engine places a file in the module tree from its path (`src/a/b.rs` is
    // `crate::a::b`); crate-relative paths keep directories above the crate out of that.
    let engine_path = crate_dir
        .and_then(|d| file.path.strip_prefix(d).ok())
        .unwrap_or(&file.path)
        .to_path_buf();
    match std::fs::read(&file.path) {
        Err(e) => Loaded {
            file,
            engine_path,
            text: Err(diag(&shown, "io", format!("cannot read: {e}"))),
        },
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| {
                diag(
                    &shown,
                    "encoding",
                    format!(
                        "not valid UTF-8 (first bad byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                )
            });
            Loaded {
                file,
                engine_path,
                text,
            }
        }
    }
}

fn migrate_one(
    l: &Loaded,
    candidate: &(dyn Fn(&Loaded, &str) -> bool + Sync),
    ctx: &CrateContext,
    rules: &RuleSet,
    display: &Display,
    opts: Options,
) -> Option<Outcome> {
    let shown = display.show(&l.file.path);
    let text = match &l.text {
        Ok(t) => t,
        Err(d) => {
            return Some(Outcome {
                path: l.file.path.clone(),
                display: shown,
                original: String::new(),
                output: String::new(),
                differs: false,
                edits: Vec::new(),
                diagnostics: vec![d.clone()],
                edit_spans: Vec::new(),
                diagnostic_spans: Vec::new(),
            })
        }
    };
    if !candidate(l, text) {
        return None;
    }
    let path = l.file.path.as_path();
    let engine_path = l.engine_path.as_path();
    IN_ENGINE.with(|f| f.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| match l.file.kind {
        Kind::Rust => migrate_source(engine_path, text, ctx, rules),
        Kind::Manifest => migrate_manifest(engine_path, text, rules),
    }));
    IN_ENGINE.with(|f| f.set(false));
    let m: FileMigration = match result {
        Ok(m) => m,
        Err(_) => {
            let msg = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            return Some(error_outcome(
                path,
                display,
                "internal",
                format!("the engine panicked on this file (please report it): {msg}"),
            ));
        }
    };
    if m.edits.is_empty() && m.diagnostics.is_empty() {
        return None;
    }
    let diagnostics = m
        .diagnostics
        .into_iter()
        .filter(|d| opts.keep_edited || d.severity != Severity::Edited)
        .map(|mut d| {
            d.file = PathBuf::from(&shown);
            d
        })
        .collect();
    let (original, output, differs) = if m.edits.is_empty() {
        (String::new(), String::new(), false)
    } else {
        let out = eol::with_line_endings(text, m.output, &m.edits);
        let differs = *text != out;
        if opts.keep_text {
            (text.clone(), out, differs)
        } else {
            (String::new(), String::new(), differs)
        }
    };
    let mut outcome = Outcome {
        path: path.to_path_buf(),
        display: shown,
        original,
        output,
        differs,
        edits: m.edits,
        diagnostics,
        edit_spans: Vec::new(),
        diagnostic_spans: Vec::new(),
    };
    if opts.spans {
        outcome.measure(text);
    }
    Some(outcome)
}

/// An outcome with nothing in it yet.
fn empty_outcome(path: &Path, display: &Display) -> Outcome {
    Outcome {
        path: path.to_path_buf(),
        display: display.show(path),
        original: String::new(),
        output: String::new(),
        differs: false,
        edits: Vec::new(),
        diagnostics: Vec::new(),
        edit_spans: Vec::new(),
        diagnostic_spans: Vec::new(),
    }
}

/// An outcome that is just one file-level error.
pub fn error_outcome(path: &Path, display: &Display, rule: &str, message: String) -> Outcome {
    let shown = display.show(path);
    Outcome {
        path: path.to_path_buf(),
        diagnostics: vec![diag(&shown, rule, message)],
        display: shown,
        original: String::new(),
        output: String::new(),
        differs: false,
        edits: Vec::new(),
        edit_spans: Vec::new(),
        diagnostic_spans: Vec::new(),
    }
}

fn diag(file: &str, rule: &str, message: String) -> Diagnostic {
    Diagnostic {
        file: PathBuf::from(file),
        line: 0,
        column: 0,
        rule: rule.to_string(),
        message,
        severity: Severity::Error,
    }
}

thread_local! {
    /// The message of the last panic on this thread, for the error diagnostic.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set while the engine runs on this thread: its panics are caught and reported per file.
    static IN_ENGINE: Cell<bool> = const { Cell::new(false) };
}

/// Wraps the panic hook: a panic inside the engine is recorded (it becomes a diagnostic on its
/// file, shown once); any other panic goes to the default hook.
pub fn capture_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_ENGINE.with(Cell::get) {
            return default(info);
        }
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{payload}{at}")));
    }));
}
