//! What the command-line tests share: running the binary and reading what it printed.
//!
//! Each test binary uses a part of it (hence `dead_code` allowed).
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The `lumenize-codemod` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_lumenize-codemod");

/// Runs the binary in `dir` with no standard input (and colors left to the binary's default).
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// Runs the binary in `dir` with `input` on its standard input.
pub fn run_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // The binary may refuse before reading everything: a closed pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

/// The exit status; a signal (an abort, a stack overflow) fails the test.
pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .expect("exited normally (no signal, no abort)")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as JSON records, one per line.
pub fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// Writes `text` at `path`, creating its directories.
pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Runs `run_case` on every case directory under `root` (a directory holding `marker`), in
/// name order, and fails listing every failing case. There must be at least `at_least` cases;
/// `FIXTURE=name` runs only the case whose directory ends with `name`.
pub fn run_cases(
    root: &Path,
    marker: &str,
    at_least: usize,
    run_case: impl Fn(&Path) -> Result<(), String>,
) {
    let mut dirs: Vec<std::path::PathBuf> = fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(marker).exists())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= at_least,
        "expected at least {at_least} fixtures, found {}",
        dirs.len()
    );
    let only = std::env::var("FIXTURE").ok();
    let failures: Vec<String> = dirs
        .iter()
        .filter(|d| only.as_deref().is_none_or(|o| d.ends_with(o)))
        .filter_map(|d| run_case(d).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Diagnostics as the fixture snapshots show them: `file:line:col severity [rule] message`.
pub fn render_diagnostics(ds: &[lumenize_codemod::Diagnostic]) -> String {
    use lumenize_codemod::Severity;
    let mut s = String::new();
    for d in ds {
        let sev = match d.severity {
            Severity::Edited => "edited",
            Severity::NeedsReview => "needs-review",
            Severity::Error => "error",
        };
        s.push_str(&format!(
            "{}:{}:{} {sev} [{}] {}\n",
            d.file.display(),
            d.line,
            d.column,
            d.rule,
            d.message
        ));
    }
    if s.is_empty() {
        s.push_str("(no diagnostics)\n");
    }
    s
}
