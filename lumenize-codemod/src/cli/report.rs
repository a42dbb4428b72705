//! Printing results: human text or JSON lines, the one-line summary, the exit code.
//!
//! Human format: the payload (the patch for `diff`, per-file lines for `check`/`apply`) goes
//! to stdout; diagnostics and the summary go to stderr, so `diff > x.patch` stays a clean
//! patch. JSON format: every object goes to stdout, one per line, the summary last. Write
//! errors on stdout (a closed pipe, `| head`) are ignored: the run's exit code still stands.

use std::collections::BTreeMap;
use std::io::Write;

use lumenize_codemod::{Diagnostic, Severity};
use serde_json::json;

use super::args::Format;
use super::process::{Outcome, Skipped};

/// Which command ran (it changes wording and the exit code rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `apply`.
    Apply,
    /// `diff`.
    Diff,
    /// `check`.
    Check,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Apply => "apply",
            Mode::Diff => "diff",
            Mode::Check => "check",
        }
    }
}

/// The counts behind the one-line summary and the exit code.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Selected files read.
    pub files_scanned: usize,
    /// Files that change (apply: were written).
    pub files_changed: usize,
    /// Edits per rule id.
    pub edits_by_rule: BTreeMap<String, usize>,
    /// Needs-review diagnostics.
    pub needs_review: usize,
    /// Error diagnostics.
    pub errors: usize,
    /// Crates not read.
    pub crates_skipped: usize,
}

impl Summary {
    /// Counts over the outcomes; `written` says which changed files apply managed to write.
    pub fn count(outcomes: &[Outcome], files_scanned: usize, skipped: usize) -> Summary {
        let mut s = Summary {
            files_scanned,
            crates_skipped: skipped,
            ..Summary::default()
        };
        for o in outcomes {
            if o.changed() {
                s.files_changed += 1;
                for e in &o.edits {
                    *s.edits_by_rule.entry(e.rule.clone()).or_default() += 1;
                }
            }
            for d in &o.diagnostics {
                match d.severity {
                    Severity::NeedsReview => s.needs_review += 1,
                    Severity::Error => s.errors += 1,
                    Severity::Edited => {}
                }
            }
        }
        s
    }

    /// Adds the diagnostics of `apply --verify`: its fixes count as edits of their rule, its
    /// findings as needs-review or errors; `extra_files` are files only its fixes changed.
    pub fn add_verify(&mut self, diagnostics: &[Diagnostic], extra_files: usize) {
        self.files_changed += extra_files;
        for d in diagnostics {
            match d.severity {
                Severity::Edited => *self.edits_by_rule.entry(d.rule.clone()).or_default() += 1,
                Severity::NeedsReview => self.needs_review += 1,
                Severity::Error => self.errors += 1,
            }
        }
    }

    /// Total edits.
    pub fn edits(&self) -> usize {
        self.edits_by_rule.values().sum()
    }

    /// 2 on errors; for `check` 1 when changes (or, strict, reviews) are pending; else 0.
    pub fn exit_code(&self, mode: Mode, strict: bool) -> u8 {
        if self.errors > 0 {
            2
        } else if mode == Mode::Check
            && (self.files_changed > 0 || (strict && self.needs_review > 0))
        {
            1
        } else {
            0
        }
    }

    /// The JSON summary object.
    pub fn json(&self, mode: Mode, code: u8) -> serde_json::Value {
        json!({
            "type": "summary",
            "command": mode.name(),
            "files_scanned": self.files_scanned,
            "files_changed": self.files_changed,
            "edits": self.edits(),
            "edits_by_rule": self.edits_by_rule,
            "needs_review": self.needs_review,
            "errors": self.errors,
            "crates_skipped": self.crates_skipped,
            "exit_code": code,
        })
    }

    /// The one-line human summary.
    pub fn line(&self, mode: Mode) -> String {
        let verb = match mode {
            Mode::Apply => "changed",
            Mode::Diff | Mode::Check => "would change",
        };
        let by_rule = if self.edits_by_rule.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = self
                .edits_by_rule
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            format!(" ({})", parts.join(", "))
        };
        let mut line = format!(
            "{}: {} scanned, {} {verb}, {}{by_rule}, {} need review, {}",
            mode.name(),
            plural(self.files_scanned, "file", "files"),
            plural(self.files_changed, "file", "files"),
            plural(self.edits(), "edit", "edits"),
            self.needs_review,
            plural(self.errors, "error", "errors"),
        );
        if self.crates_skipped > 0 {
            line.push_str(&format!(
                ", {} skipped (no lumenize-core dependency; --force to include)",
                plural(self.crates_skipped, "crate", "crates")
            ));
        }
        line
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Printing options.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Human or JSON.
    pub format: Format,
    /// Only errors.
    pub quiet: bool,
    /// Skipped crates and edited-site notes too.
    pub verbose: bool,
}

/// What to print for one file beyond its diagnostics.
pub struct FileExtra<'a> {
    /// Apply wrote it.
    pub written: bool,
    /// The (possibly coloured, for human output) diff, for the diff command.
    pub diff: Option<&'a str>,
    /// The plain diff for JSON.
    pub plain_diff: Option<&'a str>,
}

impl Printer {
    /// Skipped crates: verbose human lines, JSON objects always.
    pub fn skipped(&self, skipped: &[Skipped]) {
        for s in skipped {
            match self.format {
                Format::Json => out(&json!({
                    "type": "skipped-crate",
                    "crate_dir": s.crate_dir,
                    "reason": s.reason,
                })),
                Format::Human if self.verbose => {
                    err_line(&format!("skipped crate {}: {}", s.crate_dir, s.reason))
                }
                Format::Human => {}
            }
        }
    }

    /// One file's edits, diagnostics and payload.
    pub fn file(&self, mode: Mode, o: &Outcome, extra: &FileExtra) {
        match self.format {
            Format::Json => self.file_json(mode, o, extra),
            Format::Human => self.file_human(mode, o, extra),
        }
    }

    fn file_json(&self, mode: Mode, o: &Outcome, extra: &FileExtra) {
        if o.changed() {
            for e in &o.edits {
                out(&json!({
                    "type": "edit",
                    "file": o.display,
                    "rule": e.rule,
                    "line": e.line,
                    "column": e.column,
                    "start": e.start,
                    "end": e.end,
                    "original": o.original.get(e.start..e.end).unwrap_or(""),
                    "replacement": e.replacement,
                }));
            }
        }
        for d in &o.diagnostics {
            out(&diagnostic_json(d));
        }
        if o.changed() {
            out(&json!({
                "type": "file",
                "file": o.display,
                "edits": o.edits.len(),
                "written": extra.written,
                "diff": if mode == Mode::Diff { extra.plain_diff } else { None },
            }));
        }
    }

    fn file_human(&self, mode: Mode, o: &Outcome, extra: &FileExtra) {
        if o.changed() {
            match mode {
                Mode::Diff => {
                    if let Some(d) = extra.diff {
                        out_raw(d);
                    }
                }
                Mode::Check if !self.quiet => out_raw(&format!(
                    "would change: {} ({})\n",
                    o.display,
                    plural(o.edits.len(), "edit", "edits")
                )),
                Mode::Apply if !self.quiet && extra.written => out_raw(&format!(
                    "migrated: {} ({})\n",
                    o.display,
                    plural(o.edits.len(), "edit", "edits")
                )),
                _ => {}
            }
        }
        for d in o.diagnostics.iter().filter(|d| self.shows(d)) {
            err_line(&diagnostic_human(d));
        }
    }

    /// Human output shows errors always, needs-review unless quiet, edited sites if verbose.
    pub fn shows(&self, d: &Diagnostic) -> bool {
        match d.severity {
            Severity::Error => true,
            Severity::NeedsReview => !self.quiet,
            Severity::Edited => self.verbose,
        }
    }

    /// The summary (JSON: always; human: unless quiet).
    pub fn summary(&self, mode: Mode, s: &Summary, code: u8) {
        match self.format {
            Format::Json => out(&s.json(mode, code)),
            Format::Human if !self.quiet => err_line(&s.line(mode)),
            Format::Human => {}
        }
    }

    /// A diagnostic of `apply --verify`. Its fixes are edits no per-file line announced, so
    /// human output shows them unless quiet (other severities as [`Printer::shows`] says).
    pub fn verify_diagnostic(&self, d: &Diagnostic) {
        match self.format {
            Format::Json => out(&diagnostic_json(d)),
            Format::Human if d.severity == Severity::Edited && !self.quiet => {
                err_line(&diagnostic_human(d))
            }
            Format::Human if self.shows(d) => err_line(&diagnostic_human(d)),
            Format::Human => {}
        }
    }

    /// A diagnostic that belongs to no outcome (bad PATH argument).
    pub fn diagnostic(&self, d: &Diagnostic) {
        match self.format {
            Format::Json => out(&diagnostic_json(d)),
            Format::Human => err_line(&diagnostic_human(d)),
        }
    }
}

/// `path:line:col: severity[rule]: message`; line/column left out when 0 (file-level).
pub fn diagnostic_human(d: &Diagnostic) -> String {
    let sev = match d.severity {
        Severity::Edited => "edited",
        Severity::NeedsReview => "needs-review",
        Severity::Error => "error",
    };
    let at = if d.line > 0 {
        format!("{}:{}:{}", d.file.display(), d.line, d.column)
    } else {
        d.file.display().to_string()
    };
    format!("{at}: {sev}[{}]: {}", d.rule, d.message)
}

fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    json!({
        "type": "diagnostic",
        "file": d.file.to_string_lossy(),
        "line": d.line,
        "column": d.column,
        "rule": d.rule,
        "severity": d.severity,
        "message": d.message,
    })
}

fn out(v: &serde_json::Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{v}");
}

fn out_raw(s: &str) {
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

/// A line on stderr.
pub fn err_line(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}
