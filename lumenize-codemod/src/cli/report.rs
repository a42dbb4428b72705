//! Printing results: human text, JSON lines, GitHub workflow commands or a SARIF log; the
//! one-line summary; the exit code.
//!
//! Human format: the payload (the patch for `diff`, per-file lines for `check`/`apply`) goes
//! to stdout; diagnostics and the summary go to stderr, so `diff > x.patch` stays a clean
//! patch. JSON format: every object goes to stdout, one per line, the summary last. GitHub
//! format: one workflow command per finding on stdout, the human summary on stderr. SARIF: one
//! log on stdout at the end, the human summary on stderr. When stdout carries a migrated buffer
//! (`apply -`), the machine output goes to stderr instead. Write errors on stdout (a closed
//! pipe, `| head`) are ignored: the run's exit code still stands.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use lumenize_codemod::{Diagnostic, RuleInfo, Severity};

use super::args::Format;
use super::github;
use super::json::{Record, SCHEMA_VERSION};
use super::process::{Outcome, Skipped};
use super::sarif;
use super::span::Span;

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

    /// The JSON summary record.
    pub fn json(&self, mode: Mode, code: u8) -> String {
        Record::Summary {
            schema_version: SCHEMA_VERSION,
            command: mode.name(),
            files_scanned: self.files_scanned,
            files_changed: self.files_changed,
            edits: self.edits(),
            edits_by_rule: &self.edits_by_rule,
            needs_review: self.needs_review,
            errors: self.errors,
            crates_skipped: self.crates_skipped,
            exit_code: code,
        }
        .line()
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
            "{}: {} scanned, {} {verb}, {}{by_rule}, {}, {}",
            mode.name(),
            plural(self.files_scanned, "file", "files"),
            plural(self.files_changed, "file", "files"),
            plural(self.edits(), "edit", "edits"),
            plural(self.needs_review, "needs review", "need review"),
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

impl Summary {
    /// What to run next, after the summary line (`paths`: the PATH arguments as typed), or
    /// `None` when there is nothing left to do.
    pub fn next_steps(&self, mode: Mode, paths: &str) -> Option<String> {
        let mut steps: Vec<String> = Vec::new();
        if self.errors > 0 {
            steps.push("fix the errors above and run again".into());
        }
        match mode {
            Mode::Check | Mode::Diff if self.files_changed > 0 => {
                if mode == Mode::Check {
                    steps.push(format!(
                        "`lumenize-codemod diff {paths}` to review the edits"
                    ));
                }
                steps.push(format!(
                    "`lumenize-codemod apply --verify {paths}` to write them"
                ));
            }
            Mode::Apply if self.files_changed > 0 => {
                steps.push("`git diff` to review what was written".into());
                steps.push("`cargo test`, then commit".into());
            }
            _ => {}
        }
        if self.needs_review > 0 {
            steps.push(
                "migrate the needs-review sites by hand: `lumenize-codemod explain RULE` \
                 (RULE in brackets above) or MIGRATION.md says how"
                    .into(),
            );
        }
        (!steps.is_empty()).then(|| format!("next: {}", steps.join("; ")))
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Printing options, and the SARIF results collected until the end of the run.
#[derive(Debug)]
pub struct Printer {
    /// Human, JSON, GitHub or SARIF.
    pub format: Format,
    /// Only errors.
    pub quiet: bool,
    /// Skipped crates and edited-site notes too.
    pub verbose: bool,
    /// Machine output goes to stderr (stdout carries the migrated buffer of `apply -`).
    pub machine_to_stderr: bool,
    /// The SARIF log being built.
    sarif: Mutex<sarif::Log>,
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
    /// A printer for one run.
    pub fn new(format: Format, quiet: bool, verbose: bool) -> Printer {
        Printer {
            format,
            quiet,
            verbose,
            machine_to_stderr: false,
            sarif: Mutex::default(),
        }
    }

    /// Skipped crates: verbose human lines, JSON records always.
    pub fn skipped(&self, skipped: &[Skipped]) {
        for s in skipped {
            match self.format {
                Format::Json => self.machine(
                    &Record::SkippedCrate {
                        schema_version: SCHEMA_VERSION,
                        crate_dir: &s.crate_dir,
                        reason: &s.reason,
                    }
                    .line(),
                ),
                Format::Human if self.verbose => {
                    err_line(&format!("skipped crate {}: {}", s.crate_dir, s.reason))
                }
                Format::Human | Format::Github | Format::Sarif => {}
            }
        }
    }

    /// One file's edits, diagnostics and payload.
    pub fn file(&self, mode: Mode, o: &Outcome, extra: &FileExtra) {
        match self.format {
            Format::Json => self.file_json(mode, o, extra),
            Format::Human => self.file_human(mode, o, extra),
            Format::Github | Format::Sarif => self.file_annotations(o),
        }
    }

    fn file_json(&self, mode: Mode, o: &Outcome, extra: &FileExtra) {
        if o.changed() {
            for (i, e) in o.edits.iter().enumerate() {
                let original = o.original.get(e.start..e.end).unwrap_or("");
                self.machine(&Record::edit(&o.display, e, o.edit_span(i), original).line());
            }
        }
        for (i, d) in o.diagnostics.iter().enumerate() {
            self.machine(&Record::diagnostic(d, o.diagnostic_span(i)).line());
        }
        if o.changed() {
            self.machine(
                &Record::File {
                    schema_version: SCHEMA_VERSION,
                    file: &o.display,
                    edits: o.edits.len(),
                    written: extra.written,
                    diff: if mode == Mode::Diff {
                        extra.plain_diff
                    } else {
                        None
                    },
                }
                .line(),
            );
        }
    }

    /// GitHub and SARIF: one annotation per edit and per diagnostic (edited-site diagnostics
    /// are left out: the edits themselves are annotated, with their replacement).
    fn file_annotations(&self, o: &Outcome) {
        if o.changed() {
            for (i, e) in o.edits.iter().enumerate() {
                let original = o.original.get(e.start..e.end).unwrap_or("");
                let span = o.edit_span(i);
                match self.format {
                    Format::Sarif => self.sarif_log().edit(&o.display, e, span, original),
                    _ => {
                        let message = edit_message(original, &e.replacement);
                        let line =
                            github::command(Severity::Edited, &o.display, span, &e.rule, &message);
                        self.machine(&line);
                    }
                }
            }
        }
        for (i, d) in o.diagnostics.iter().enumerate() {
            if d.severity != Severity::Edited {
                self.annotate(d, o.diagnostic_span(i));
            }
        }
    }

    fn annotate(&self, d: &Diagnostic, span: Span) {
        match self.format {
            Format::Sarif => self.sarif_log().diagnostic(d, span),
            _ => {
                let file = d.file.to_string_lossy();
                let line = github::command(d.severity, &file, span, &d.rule, &d.message);
                self.machine(&line);
            }
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

    /// The summary (JSON: always; otherwise the human line unless quiet, and for the human
    /// format the next steps, `paths` being the PATH arguments). SARIF: the log, with `rules`
    /// in its driver.
    pub fn summary(&self, mode: Mode, s: &Summary, code: u8, rules: &[RuleInfo], paths: &str) {
        match self.format {
            Format::Json => self.machine(&s.json(mode, code)),
            Format::Sarif => {
                let log = self.sarif_log().render(rules);
                self.machine(&serde_json::to_string_pretty(&log).unwrap_or_default());
            }
            Format::Human | Format::Github => {}
        }
        if self.format != Format::Json && !self.quiet {
            err_line(&s.line(mode));
            let human = self.format == Format::Human && paths != "-";
            if let Some(next) = s.next_steps(mode, paths).filter(|_| human) {
                err_line(&next);
            }
        }
    }

    /// A diagnostic of `apply --verify`. Its fixes are edits no per-file line announced, so
    /// human output shows them unless quiet (other severities as [`Printer::shows`] says).
    pub fn verify_diagnostic(&self, d: &Diagnostic) {
        match self.format {
            Format::Json => self.machine(&Record::diagnostic(d, Span::of_diagnostic(d)).line()),
            Format::Github | Format::Sarif => self.annotate(d, Span::of_diagnostic(d)),
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
            Format::Json => self.machine(&Record::diagnostic(d, Span::of_diagnostic(d)).line()),
            Format::Github | Format::Sarif => self.annotate(d, Span::of_diagnostic(d)),
            Format::Human => err_line(&diagnostic_human(d)),
        }
    }

    fn sarif_log(&self) -> std::sync::MutexGuard<'_, sarif::Log> {
        // Only the main thread prints; a poisoned lock still holds every result so far.
        self.sarif.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A line of machine output (JSON record, workflow command, SARIF log).
    fn machine(&self, line: &str) {
        if self.machine_to_stderr {
            err_line(line);
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }
}

/// What an edit did, for an annotation.
fn edit_message(original: &str, replacement: &str) -> String {
    let show = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if replacement.is_empty() {
        format!("removed `{}`", show(original))
    } else {
        format!("replaced `{}` with `{}`", show(original), show(replacement))
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

fn out_raw(s: &str) {
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

/// A line on stderr.
pub fn err_line(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}
