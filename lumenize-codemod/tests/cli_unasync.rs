//! The `unasync` rule through the real binary: it runs after the per-file rules on a whole
//! crate, its edits land in the same files (composed with the other rules' edits), public
//! items wait for `--unasync-public`, a file outside the selection keeps its callees async,
//! and crates that do not use lumenize never reach it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod support;
use support::*;

const MANIFEST: &str = "\
[package]
name = \"app\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
lumenize-core = \"0.9\"
";

/// `decode` awaits only a 0.9 call; `handle` awaits only `decode`; `pub api` awaits `handle`.
const LIB: &str = "\
use lumenize_core::structured_clone::{parse, Value};

async fn decode(s: &str) -> Option<Value> {
    parse(s, None).await.ok()
}

async fn handle(s: &str) -> bool {
    decode(s).await.is_some()
}

/// The crate's API.
pub async fn api(s: &str) -> bool {
    handle(s).await
}
";

const LIB_AFTER: &str = "\
use lumenize_core::structured_clone::{parse, Value};

fn decode(s: &str) -> Option<Value> {
    parse(s).ok()
}

fn handle(s: &str) -> bool {
    decode(s).is_some()
}

/// The crate's API.
pub async fn api(s: &str) -> bool {
    handle(s)
}
";

const TEST: &str = "\
#[tokio::test]
async fn api_works() {
    assert!(app::api(\"1\").await);
}
";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn summary(o: &Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let last = out.lines().last().expect("a summary line");
    serde_json::from_str(last).expect("JSON")
}

fn app(root: &Path, lib: &str) -> PathBuf {
    let app = root.join("app");
    write(&app.join("Cargo.toml"), MANIFEST);
    write(&app.join("src/lib.rs"), lib);
    write(&app.join("tests/api.rs"), TEST);
    app
}

#[test]
fn apply_converts_private_chains_reports_public_items_and_settles() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), LIB);
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        fs::read_to_string(app.join("src/lib.rs")).unwrap(),
        LIB_AFTER
    );
    assert_eq!(fs::read_to_string(app.join("tests/api.rs")).unwrap(), TEST);
    assert!(
        text(&o).contains("src/lib.rs:12:14: needs-review[unasync]: `api` awaits nothing"),
        "{}",
        text(&o)
    );
    // A second run finds nothing to change; the public item is still reported.
    let o = run(dir.path(), &["check", "--format", "json", "app"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let s = summary(&o);
    assert_eq!(s["edits"], 0, "{s}");
    assert_eq!(s["needs_review"], 1, "{s}");
}

#[test]
fn unasync_public_converts_public_items_and_their_callers_in_tests() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), LIB);
    let o = run(dir.path(), &["apply", "--unasync-public", "app"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        fs::read_to_string(app.join("src/lib.rs")).unwrap(),
        LIB_AFTER.replace("pub async fn", "pub fn")
    );
    assert_eq!(
        fs::read_to_string(app.join("tests/api.rs")).unwrap(),
        TEST.replace("(\"1\").await", "(\"1\")")
    );
    let o = run(
        dir.path(),
        &["check", "--strict", "--unasync-public", "app"],
    );
    assert_eq!(code(&o), 0, "nothing left: {}", text(&o));
}

#[test]
fn skip_rule_unasync_leaves_functions_async() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), LIB);
    let o = run(dir.path(), &["apply", "--skip-rule", "unasync", "app"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let lib = fs::read_to_string(app.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("async fn decode(s: &str)") && lib.contains("decode(s).await"),
        "{lib}"
    );
    assert!(!text(&o).contains("unasync"), "{}", text(&o));
}

#[test]
fn a_caller_outside_the_selection_keeps_its_callee_async() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), LIB);
    let o = run(
        dir.path(),
        &[
            "apply",
            "--unasync-public",
            "--include",
            "src/**",
            "--include",
            "Cargo.toml",
            "app",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    // `api` is awaited in tests/api.rs, which this run may not edit: it stays async.
    assert_eq!(
        fs::read_to_string(app.join("src/lib.rs")).unwrap(),
        LIB_AFTER
    );
    assert_eq!(fs::read_to_string(app.join("tests/api.rs")).unwrap(), TEST);
    assert!(
        text(&o).contains("which this run does not edit"),
        "{}",
        text(&o)
    );
}

#[test]
fn crlf_files_keep_their_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), &LIB.replace('\n', "\r\n"));
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        fs::read_to_string(app.join("src/lib.rs")).unwrap(),
        LIB_AFTER.replace('\n', "\r\n")
    );
}

#[test]
fn crates_that_do_not_use_lumenize_are_left_alone_even_forced() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other");
    write(
        &other.join("Cargo.toml"),
        "[package]\nname = \"other\"\nversion = \"0.1.0\"\n\n[dependencies]\ntokio = \"1\"\n",
    );
    let lib =
        "async fn idle() -> u8 {\n    1\n}\n\npub async fn run() -> u8 {\n    idle().await\n}\n";
    write(&other.join("src/lib.rs"), lib);
    for args in [&["check", "other"][..], &["check", "--force", "other"][..]] {
        let o = run(dir.path(), args);
        assert_eq!(code(&o), 0, "{args:?}: {}", text(&o));
        assert!(!text(&o).contains("unasync"), "{args:?}: {}", text(&o));
    }
}
