//! `apply --verify` through the real binary: it runs the real `cargo check` on a tiny crate
//! written into a temporary directory.
//!
//! The crate has no dependencies, so it builds in about a second. The "library that became
//! synchronous" is the crate's own `api::load`, which its code reaches through
//! `extern crate self as store;`: the codemod sees `store::…` as an external crate, so a
//! custom rule file (`[[sync-fn]]` for `store::api::load`) and `--force` (the crate depends on
//! nothing the rules name) make it migrate the calls. One call is awaited later
//! (`let pending = load(..); pending.await`): the engine only reports that site, and it is
//! rustc's "is not a future" suggestion, applied by `--verify`, that removes the `.await`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_lumenize-codemod");

const MANIFEST: &str = "\
[package]
name = \"store\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
";

const RULES: &str = "\
[rules.store-sync]
summary = \"store::api::load became synchronous\"

[[sync-fn]]
rule = \"store-sync\"
paths = [\"store::api::load\"]
";

/// The crate before the migration; `{TAIL}` is what the deferred await is part of.
const LIB: &str = "\
//! A crate whose storage API became synchronous.
extern crate self as store;

/// The storage API.
pub mod api {
    /// Loads a number (it used to be async).
    pub fn load(n: u32) -> u32 {
        n + 1
    }
}

/// Awaited directly: the codemod edits it.
pub async fn direct() -> u32 {
    store::api::load(1).await
}

/// Awaited later: the codemod only reports it.
pub async fn deferred() -> u32 {
    let pending = store::api::load(2);
    {TAIL}
}
";

fn lib(tail: &str) -> String {
    LIB.replace("{TAIL}", tail)
}

/// A crate in a fresh temporary directory, with the rule file next to it.
fn crate_dir(tail: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("Cargo.toml"), MANIFEST).unwrap();
    fs::write(dir.join("src/lib.rs"), lib(tail)).unwrap();
    fs::write(tmp.path().join("rules.toml"), RULES).unwrap();
    (tmp, dir)
}

/// Where the nested cargo builds: a subdirectory of the outer build's target directory (so
/// it never waits on the outer cargo's lock, and is reused between runs), one per test.
///
/// One per test because every test's crate is called `store` and is a root package: cargo
/// gives all of them the same fingerprint directory, so with a shared target directory a test
/// whose source is older than another test's build would see that build as fresh and replay
/// its (clean) messages instead of checking its own code.
fn nested_target_dir() -> PathBuf {
    let test = std::thread::current()
        .name()
        .unwrap_or("main")
        .replace("::", "-");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
        .join("cli-verify")
        .join(test)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn apply_verify(dir: &Path, format: &str) -> Output {
    run(
        dir,
        &[
            "apply",
            "--verify",
            "--force",
            "--config",
            "../rules.toml",
            "--format",
            format,
            ".",
        ],
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn cargo_check(dir: &Path) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(["check", "--all-targets", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .output()
        .expect("cargo runs")
}

#[test]
fn verify_removes_a_leftover_await_and_the_crate_builds() {
    let (_tmp, dir) = crate_dir("pending.await");
    let o = apply_verify(&dir, "json");
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "stderr:\n{err}");
    assert!(err.contains("verifying . with cargo check"), "{err}");

    let lines = json_lines(&o);
    let fixes: Vec<&Value> = lines
        .iter()
        .filter(|v| v["type"] == "diagnostic" && v["rule"] == "verify-await")
        .collect();
    assert_eq!(fixes.len(), 1, "{lines:#?}");
    assert_eq!(fixes[0]["severity"], "edited");
    assert_eq!(fixes[0]["file"], "src/lib.rs");
    assert_eq!(fixes[0]["line"], 20, "the line of `pending.await`");
    // The engine's own report of that site came first, and no compiler finding remains.
    assert!(lines
        .iter()
        .any(|v| v["severity"] == "needs-review" && v["rule"] == "store-sync" && v["line"] == 20));
    assert!(!lines.iter().any(|v| v["rule"] == "verify"), "{lines:#?}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["edits_by_rule"]["verify-await"], 1);
    assert_eq!(summary["edits_by_rule"]["store-sync"], 1);
    assert_eq!(
        (summary["errors"].as_u64(), summary["exit_code"].as_u64()),
        (Some(0), Some(0))
    );

    let expected = lib("pending").replace("store::api::load(1).await", "store::api::load(1)");
    assert_eq!(
        fs::read_to_string(dir.join("src/lib.rs")).unwrap(),
        expected
    );
    let check = cargo_check(&dir);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn verify_reports_an_error_left_on_a_migrated_line_and_exits_2() {
    // After the `.await` goes, the line still does not compile (adding a `&str` to a `u32`).
    let (_tmp, dir) = crate_dir("pending.await + \"one\"");
    let o = apply_verify(&dir, "human");
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "stderr:\n{err}");
    assert!(err.contains("src/lib.rs:20:"), "{err}");
    assert!(
        err.contains("edited[verify-await]"),
        "the fix is still applied:\n{err}"
    );
    let finding = err
        .lines()
        .find(|l| l.contains("error[verify]"))
        .unwrap_or_else(|| panic!("a compiler finding:\n{err}"));
    assert!(finding.starts_with("src/lib.rs:20:"), "{finding}");
    assert!(
        finding.contains("E0277") && finding.contains("cannot add"),
        "{finding}"
    );
    assert!(err.contains("cargo check FAILS"), "{err}");
    assert!(
        err.contains("verify-await: 1") && err.contains("1 error"),
        "{err}"
    );
    let text = fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(text.contains("    pending + \"one\"\n"), "{text}");
}

#[test]
fn a_crate_broken_elsewhere_fails_verification_with_a_crate_level_error() {
    let (_tmp, dir) = crate_dir("pending.await");
    fs::write(
        dir.join("src/lib.rs"),
        lib("pending.await")
            + "\n/// Broken before the migration.\npub fn broken() -> u32 {\n    \"no\"\n}\n",
    )
    .unwrap();
    let o = apply_verify(&dir, "json");
    assert_eq!(code(&o), 2, "stderr:\n{}", stderr(&o));
    let lines = json_lines(&o);
    let crate_error = lines
        .iter()
        .find(|v| v["rule"] == "verify" && v["severity"] == "error")
        .unwrap_or_else(|| panic!("a crate-level error: {lines:#?}"));
    assert_eq!(crate_error["file"], "Cargo.toml");
    let msg = crate_error["message"].as_str().unwrap();
    assert!(
        msg.contains("does not build") && msg.contains("1 compiler error"),
        "{msg}"
    );
    // The error on the untouched line is not reported as the migration's.
    assert!(!lines
        .iter()
        .any(|v| v["rule"] == "verify" && v["line"] != 0));
    assert!(lines.iter().any(|v| v["rule"] == "verify-await"));
}

#[test]
fn verify_is_an_apply_option_only() {
    let (_tmp, dir) = crate_dir("pending.await");
    for cmd in ["check", "diff"] {
        let o = run(&dir, &[cmd, "--verify", "."]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{cmd}: {err}");
        assert!(
            err.contains("--verify") && err.contains("`apply`"),
            "{cmd}: {err}"
        );
    }
    let o = run(&dir, &["apply", "--verify", "-"]);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(err.contains("--verify") && err.contains("`-`"), "{err}");
    // Nothing was written or built.
    assert_eq!(
        fs::read_to_string(dir.join("src/lib.rs")).unwrap(),
        lib("pending.await")
    );
    assert!(!dir.join("Cargo.lock").exists());
}
