//! Whole workspaces on disk, run through the real binary: what a crate reaches through its
//! *other* crates (path dependencies that re-export lumenize-core, registry dependencies that
//! depend on it). Each case under `tests/workspaces/` is copied to a temporary directory,
//! applied, snapshotted (diagnostics, then every changed file), and checked again: the second
//! run must change nothing.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{code, json_lines, run, stderr, write};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workspaces")
}

/// Every file under `dir`, relative to `base`, sorted.
fn files(dir: &Path, base: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            out.push((rel, fs::read_to_string(&p).unwrap()));
        }
    }
}

/// The diagnostics of a JSON run as `file:line:col severity [rule] message` lines.
fn diagnostics(records: &[Value]) -> String {
    let mut s = String::new();
    for v in records.iter().filter(|v| v["type"] == "diagnostic") {
        s.push_str(&format!(
            "{}:{}:{} {} [{}] {}\n",
            v["file"].as_str().unwrap(),
            v["line"],
            v["column"],
            v["severity"].as_str().unwrap(),
            v["rule"].as_str().unwrap(),
            v["message"].as_str().unwrap()
        ));
    }
    s
}

fn run_case(case: &Path) -> Result<(), String> {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let mut before = Vec::new();
    files(case, case, &mut before);
    for (rel, text) in &before {
        write(&tmp.path().join(rel), text);
    }
    let o = run(tmp.path(), &["apply", "--format", "json", "."]);
    if !matches!(code(&o), 0 | 1) {
        return Err(format!("{name}: exit {}: {}", code(&o), stderr(&o)));
    }
    let mut snap = diagnostics(&json_lines(&o));
    let mut after = Vec::new();
    files(tmp.path(), tmp.path(), &mut after);
    for ((rel, old), (_, new)) in before.iter().zip(&after) {
        if old != new {
            snap.push_str(&format!("\n==> {} <==\n{new}", rel.display()));
        }
    }
    insta::with_settings!({ description => format!("tests/workspaces/{name}"), omit_expression => true }, {
        insta::assert_snapshot!(name.clone(), snap);
    });
    // Idempotent: a second run edits nothing.
    let again = run(tmp.path(), &["check", "--format", "json", "."]);
    let records = json_lines(&again);
    let edits = records.iter().filter(|v| v["type"] == "edit").count();
    if edits != 0 {
        return Err(format!(
            "{name}: the second run still edits:\n{}",
            diagnostics(&records)
        ));
    }
    Ok(())
}

#[test]
fn workspaces() {
    support::run_cases(&cases_dir(), "Cargo.toml", 1, run_case);
}

/// Other crates that cannot be read are reported on the dependent's manifest (exit 2), and
/// the crate is still migrated; nothing panics.
#[test]
fn unreadable_dependencies_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\n\
         lumenize-core = \"0.9\"\nmissing = { path = \"../missing\" }\nbroken = { path = \"../broken\" }\nhelper = \"1\"\n",
    );
    write(
        &root.join("app/src/lib.rs"),
        "pub async fn f(s: &str) { lumenize_core::structured_clone::stringify(s).await; }\n",
    );
    write(
        &root.join("broken/Cargo.toml"),
        "[package\nname = \"broken\"\n",
    );
    write(
        &root.join("app/Cargo.lock"),
        "[[package]\nname = \"lumenize-core\"\n",
    );
    let o = run(root, &["check", "--format", "json", "app"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let records = json_lines(&o);
    let text = diagnostics(&records);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(" error ")).collect();
    assert_eq!(errors.len(), 3, "{text}");
    for (needle, what) in [
        (
            "missing/Cargo.toml",
            "a path dependency that does not exist",
        ),
        ("broken/Cargo.toml", "a malformed manifest"),
        ("Cargo.lock", "a malformed lock file"),
    ] {
        assert!(
            errors
                .iter()
                .any(|l| l.starts_with("app/Cargo.toml:") && l.contains(needle)),
            "{what}: {text}"
        );
    }
    assert!(
        text.contains(
            "edited [sync-structured-clone] `lumenize_core::structured_clone::stringify`"
        ),
        "the crate is still migrated: {text}"
    );
}

/// `--stdin-filename` loads the crate around the buffer with its other crates too.
#[test]
fn stdin_mode_follows_the_crates_dependencies() {
    let case = cases_dir().join("reexports_through_dependencies");
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    files(&case, &case, &mut all);
    for (rel, text) in &all {
        write(&tmp.path().join(rel), text);
    }
    let input = fs::read_to_string(case.join("app/src/lib.rs")).unwrap();
    let args = [
        "check",
        "--format",
        "json",
        "--stdin-filename",
        "app/src/lib.rs",
        "-",
    ];
    let o = support::run_stdin(tmp.path(), &args, &input);
    let text = diagnostics(&json_lines(&o));
    assert!(
        text.contains("edited [sync-structured-clone] `a::via_c::parse`"),
        "{text}"
    );
    assert!(text.contains("re-exported by `reg_helper`"), "{text}");
}
