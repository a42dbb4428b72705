//! The `lumenize-codemod` command line: argument parsing, walking, the parallel pipeline,
//! writing and reporting. Binary-only; the library (`lumenize_codemod`) does the rewriting.
//!
//! Flow of a run: `walk::discover` turns PATHs into crates → `config::Rules` gives each crate
//! its `RuleSet` → `process::run` reads, prefilters and migrates in parallel → `apply` writes
//! (atomically) / `diff` renders patches → `apply --verify` runs `cargo check` in the written
//! crates (`verify`) → `report` prints and computes the exit code.

mod args;
#[cfg(feature = "bench-parse-only")]
mod bench;
mod config;
mod deps;
mod diff;
mod eol;
mod error;
mod explain;
mod git;
mod github;
mod json;
mod manifest;
mod process;
mod report;
mod sarif;
mod span;
mod stdin;
mod unasync;
mod verify;
mod walk;
mod write;

use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::error::ErrorKind;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lumenize_codemod::{Diagnostic, Severity};

use args::{Cli, ColorChoice, Command, Format, ListFormat, RuleArgs, RunArgs};
use config::{ActiveRules, RuleChoice, Rules};
use process::{Display, Outcome};
use report::{FileExtra, Mode, Printer, Summary};

/// Below this many files the progress bar would only flicker.
const PROGRESS_MIN_FILES: usize = 500;

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_error(e),
    };
    process::capture_panics();
    let code = match cli.command {
        Command::Apply(a) => run_files(Mode::Apply, a.run, a.verify, a.allow_dirty),
        Command::Diff(a) => run_files(Mode::Diff, a, false, false),
        Command::Check(a) => run_files(Mode::Check, a, false, false),
        Command::ListRules(r) => list_rules(r),
        Command::Explain(e) => explain::run(&e),
        Command::Completions(c) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(
                c.shell,
                &mut cmd,
                "lumenize-codemod",
                &mut std::io::stdout(),
            );
            0
        }
        Command::Man => man_page(),
        #[cfg(feature = "bench-parse-only")]
        Command::BenchParseOnly(b) => {
            set_threads(b.threads);
            bench::run(&b)
        }
    };
    ExitCode::from(code)
}

/// clap's own message and exit status, plus a hint when `--verify` was given to a command
/// other than `apply` (it only exists there: it compiles what `apply` wrote).
fn parse_error(e: clap::Error) -> ExitCode {
    let verify_elsewhere =
        e.kind() == ErrorKind::UnknownArgument && std::env::args().any(|a| a == "--verify");
    if !verify_elsewhere {
        e.exit();
    }
    let _ = e.print();
    report::err_line(
        "note: --verify is an option of `apply` only: it runs `cargo check` on the files apply \
         wrote (try `lumenize-codemod apply --verify PATH`)",
    );
    ExitCode::from(2)
}

/// Stack of each worker thread. syn parses nested expressions and types recursively, and a
/// deeply nested file (generated code, long builder chains) can need more than the 2 MiB a
/// thread gets by default; running out aborts the whole run. It is address space: pages a
/// thread never touches cost no memory.
const WORKER_STACK: usize = 256 << 20;

fn set_threads(n: Option<usize>) {
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK);
    if let Some(n) = n {
        pool = pool.num_threads(n);
    }
    // Only fails when a pool already exists, which cannot happen this early.
    let _ = pool.build_global();
}

fn fatal(msg: impl std::fmt::Display) -> u8 {
    report::err_line(&format!("error: {msg}"));
    2
}

fn rule_choice(rules: &[String], skip: &[String], config: &Option<PathBuf>) -> RuleChoice {
    RuleChoice {
        config: config.clone(),
        only: rules.to_vec(),
        skip: skip.to_vec(),
    }
}

fn run_files(mode: Mode, a: RunArgs, verify: bool, allow_dirty: bool) -> u8 {
    set_threads(a.threads);
    let started = Instant::now();
    let choice = rule_choice(&a.rules, &a.skip_rules, &a.config);
    let mut printer = Printer::new(a.format, a.quiet, a.verbose);
    if a.paths.iter().any(|p| p.as_os_str() == "-") {
        if a.paths.len() != 1 {
            return fatal("`-` (standard input) must be the only PATH");
        }
        if verify {
            return fatal(
                "--verify compiles the files apply writes; with `-` nothing is written \
                 (run `apply --verify` on the crate instead)",
            );
        }
        // stdout carries the migrated buffer.
        printer.machine_to_stderr = mode == Mode::Apply;
        // On a thread with a worker's stack, for the same reason as the pool's.
        return std::thread::scope(|s| {
            let run = || stdin::run(mode, &a, &choice, &printer);
            match std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, run)
            {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|_| fatal("internal error while migrating standard input")),
                Err(_) => stdin::run(mode, &a, &choice, &printer),
            }
        });
    }

    let globs = walk::Globs {
        include: a.include.clone(),
        exclude: a.exclude.clone(),
    };
    let workset = walk::discover(&a.paths, &globs);
    let walked = started.elapsed();
    let mut rules = Rules::new(choice);
    let mut linker = deps::Linker::default();
    let mut crates = Vec::with_capacity(workset.crates.len());
    for mut unit in workset.crates {
        let dir = unit.dir.clone().or_else(|| {
            unit.files
                .first()
                .and_then(|f| f.path.parent().map(Path::to_path_buf))
        });
        match rules.for_dir(dir.as_deref()) {
            Ok(set) => {
                unit.retarget(&set.packages);
                // What its other crates re-export (libraries read once per run).
                linker.link(&mut unit, &set.set, Arc::as_ptr(&set) as usize);
                crates.push((unit, set));
            }
            Err(e) => return fatal(&e),
        }
    }

    let display = Display::from_cwd();
    let progress = progress_bar(&a, &crates);
    let before_run = started.elapsed();
    let opts = process::Options {
        force: a.force,
        no_prefilter: a.no_prefilter,
        keep_text: mode != Mode::Check || a.format != Format::Human || verify,
        keep_edited: a.format == Format::Json || a.verbose || verify,
        unasync_public: a.unasync_public,
        spans: a.format != Format::Human,
    };
    let mut report = process::run(&crates, opts, &display, &progress);
    progress.finish_and_clear();
    let processed = started.elapsed();

    let color = use_color(a.color);
    let mut written = vec![false; report.outcomes.len()];
    if mode == Mode::Apply {
        if let Some(refusal) = dirty_refusal(&a.paths, &report.outcomes, allow_dirty, a.quiet) {
            return fatal(refusal);
        }
        let crate_of: HashMap<&Path, &Path> = crates
            .iter()
            .filter_map(|(u, _)| Some((u, u.dir.as_deref()?)))
            .flat_map(|(u, dir)| u.files.iter().map(move |f| (f.path.as_path(), dir)))
            .collect();
        written = write::write_groups(&mut report.outcomes, &crate_of);
    }

    printer.skipped(&report.skipped);
    for (o, w) in report.outcomes.iter().zip(&written) {
        let plain = (mode == Mode::Diff && o.changed())
            .then(|| diff::unified(&o.display, &o.original, &o.output));
        let coloured = plain.as_deref().map(|d| {
            if color {
                diff::colorize(d)
            } else {
                d.to_string()
            }
        });
        let extra = FileExtra {
            written: *w,
            diff: coloured.as_deref(),
            plain_diff: plain.as_deref(),
        };
        printer.file(mode, o, &extra);
    }
    let mut summary = Summary::count(&report.outcomes, report.files_scanned, report.skipped.len());
    let before_verify = started.elapsed();
    if verify {
        let v = verify::run(
            &crates,
            &report.outcomes,
            &written,
            &display,
            a.quiet,
            a.unasync_public,
        );
        for d in &v.diagnostics {
            printer.verify_diagnostic(d);
        }
        summary.add_verify(&v.diagnostics, v.extra_files_changed);
    }
    let verified = started.elapsed() - before_verify;
    for (path, reason) in &workset.errors {
        summary.errors += 1;
        printer.diagnostic(&Diagnostic {
            file: path.clone(),
            line: 0,
            column: 0,
            rule: "io".to_string(),
            message: reason.clone(),
            severity: Severity::Error,
        });
    }
    let code = summary.exit_code(mode, a.strict);
    printer.summary(
        mode,
        &summary,
        code,
        &active_rules(&crates),
        &shell_words(&a.paths),
    );
    if a.verbose && a.format == Format::Human {
        report::err_line(&format!(
            "timings: walk {walked:.2?}, rules and git {:.2?}, read+migrate {:.2?}, verify \
             {verified:.2?}, total {:.2?}",
            before_run - walked,
            processed - before_run,
            started.elapsed()
        ));
    }
    code
}

/// `apply` does not overwrite files with uncommitted changes (as `cargo fix`): the refusal
/// message naming them, or `None` to go on (none dirty, or `--allow-dirty`, which warns).
fn dirty_refusal(
    paths: &[PathBuf],
    outcomes: &[Outcome],
    allow_dirty: bool,
    quiet: bool,
) -> Option<String> {
    if !outcomes.iter().any(Outcome::changed) {
        return None;
    }
    let dirs: BTreeSet<PathBuf> = paths
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .map(|p| {
            if p.is_dir() {
                p
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or(p)
            }
        })
        .collect();
    let mut checkouts: Vec<git::Checkout> = Vec::new();
    for dir in dirs {
        if checkouts.iter().any(|c| dir.starts_with(&c.root)) {
            continue;
        }
        checkouts.extend(git::checkout(&dir));
    }
    let dirty: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.changed())
        .filter(|o| checkouts.iter().any(|c| c.dirty.contains(&o.path)))
        .map(|o| o.display.as_str())
        .collect();
    if dirty.is_empty() {
        return None;
    }
    let list = dirty.join(", ");
    let files = if dirty.len() == 1 { "file" } else { "files" };
    if allow_dirty {
        if !quiet {
            report::err_line(&format!(
                "warning: migrating {} {files} with uncommitted changes (--allow-dirty): {list}; \
                 `git diff` will mix them with the migration",
                dirty.len()
            ));
        }
        return None;
    }
    Some(format!(
        "{} {files} that apply would change {} uncommitted changes: {list}\n\
         nothing was written; commit or stash them first so the migration can be reviewed and \
         undone on its own, or pass --allow-dirty to go on",
        dirty.len(),
        if dirty.len() == 1 { "has" } else { "have" },
    ))
}

/// The PATH arguments as a user would type them again (quoted when needed).
fn shell_words(paths: &[PathBuf]) -> String {
    let words: Vec<String> = paths
        .iter()
        .map(|p| {
            let s = p.to_string_lossy();
            let plain = s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./~+:@".contains(c));
            if plain && !s.is_empty() {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        })
        .collect();
    words.join(" ")
}

/// The rules of every crate's rule set, each id once (SARIF lists them in its driver).
fn active_rules(crates: &[(walk::CrateUnit, Arc<ActiveRules>)]) -> Vec<lumenize_codemod::RuleInfo> {
    let mut seen = BTreeSet::new();
    let mut rules: Vec<_> = crates
        .iter()
        .flat_map(|(_, r)| r.set.rules())
        .filter(|r| seen.insert(r.id.clone()))
        .collect();
    if rules.is_empty() {
        rules = lumenize_codemod::RuleSet::builtin().rules();
    }
    rules
}

fn progress_bar(a: &RunArgs, crates: &[(walk::CrateUnit, Arc<ActiveRules>)]) -> ProgressBar {
    let files: usize = crates
        .iter()
        .filter(|(u, _)| u.targeted || a.force)
        .map(|(u, _)| u.files.len())
        .sum();
    if a.quiet || files < PROGRESS_MIN_FILES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}") {
        bar.set_style(style);
    }
    bar
}

/// Colour only on a terminal, unless NO_COLOR (non-empty) or --color says otherwise.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// The man page, rendered from the same clap definitions as `--help`.
fn man_page() -> u8 {
    let cmd = <Cli as clap::CommandFactory>::command();
    match clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock()) {
        Ok(()) => 0,
        Err(e) => fatal(format!("cannot write the man page: {e}")),
    }
}

fn list_rules(r: RuleArgs) -> u8 {
    let choice = rule_choice(&r.rules, &r.skip_rules, &r.config);
    let config = match &r.config {
        Some(c) => Some(c.clone()),
        None => {
            let start = r.path.clone().unwrap_or_else(|| PathBuf::from("."));
            std::fs::canonicalize(&start)
                .ok()
                .and_then(|d| config::discover(&d))
        }
    };
    let set = match config::build(config.as_deref(), &choice) {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let rules = set.rules();
    match r.format {
        ListFormat::Json => {
            for rule in &rules {
                let record = json::Record::Rule {
                    schema_version: json::SCHEMA_VERSION,
                    id: &rule.id,
                    summary: &rule.summary,
                    source: &rule.source,
                };
                println!("{}", record.line());
            }
        }
        ListFormat::Human => {
            let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for rule in &rules {
                println!("{:width$}  {}  [{}]", rule.id, rule.summary, rule.source);
            }
            if rules.is_empty() {
                eprintln!("no rules are active");
            }
        }
    }
    0
}
