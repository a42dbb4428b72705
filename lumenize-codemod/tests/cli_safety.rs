//! The real binary must never lose or half-write a user's file, never skip a file silently and
//! never abort: dirty trees, files edited during a run, failing writes, read-only files,
//! symlinks and special files, and nesting too deep for the parser.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_lumenize-codemod");

const LIB_09: &str = "\
use lumenize_core::structured_clone::parse;

pub async fn load(s: String) -> Result<(), Box<dyn std::error::Error>> {
    let _v = parse(&s, None).await?;
    Ok(())
}
";
const MANIFEST_09: &str = "\
[package]
name = \"app\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
lumenize-core = \"0.9\"
";

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn run_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
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

fn code(o: &Output) -> i32 {
    o.status
        .code()
        .expect("exited normally (no signal, no abort)")
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

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A 0.9 crate `app/` with one file to migrate.
fn legacy_crate(root: &Path) -> PathBuf {
    let app = root.join("app");
    write(&app.join("Cargo.toml"), MANIFEST_09);
    write(&app.join("src/lib.rs"), LIB_09);
    app
}

#[test]
fn nesting_of_any_depth_is_a_diagnostic_not_an_abort() {
    let n = 20_000;
    let shapes = [
        format!(
            "pub fn p() -> u32 {{ {}1{} }}",
            "(".repeat(n),
            ")".repeat(n)
        ),
        format!("pub type T = {}u8{};", "Vec<".repeat(n), ">".repeat(n)),
        format!("pub fn c() {{ let _ = {}1; }}", "|| ".repeat(n)),
    ];
    for deep in shapes {
        let dir = tempfile::tempdir().unwrap();
        let app = legacy_crate(dir.path());
        let text = format!("{LIB_09}\n{deep}\n");
        write(&app.join("src/deep.rs"), &text);
        let o = run(dir.path(), &["check", "--format", "json", "app"]);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        let lines = json_lines(&o);
        let err = lines
            .iter()
            .find(|l| l["type"] == "diagnostic" && l["severity"] == "error")
            .expect("an error diagnostic");
        assert_eq!(err["file"], "app/src/deep.rs");
        assert!(err["message"].as_str().unwrap().contains("nests more than"));
        // The other file is still migrated.
        assert!(lines
            .iter()
            .any(|l| l["type"] == "file" && l["file"] == "app/src/lib.rs"));
        let o = run_stdin(dir.path(), &["apply", "-"], &text);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            text,
            "the buffer comes back"
        );
        assert!(stderr(&o).contains("nests more than"), "{}", stderr(&o));
    }
}
