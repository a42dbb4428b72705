//! The real binary must never lose or half-write a user's file, never skip a file silently and
//! never abort: dirty trees, files edited during a run, failing writes, read-only files,
//! symlinks and special files, and nesting too deep for the parser.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod support;
use support::*;

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

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs")
}

/// `dir` as a git repository with everything committed.
fn commit_all(dir: &Path) {
    assert!(git(dir, &["init", "-q"]).status.success());
    assert!(git(dir, &["add", "."]).status.success());
    assert!(git(dir, &["commit", "-q", "-m", "init"]).status.success());
}

#[test]
fn apply_refuses_to_overwrite_uncommitted_changes_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    write(&app.join("src/util.rs"), "pub fn util() {}\n");
    commit_all(dir.path());
    // A dirty file apply does not change is fine.
    write(&app.join("src/util.rs"), "pub fn util2() {}\n");
    // The user's unfinished work in a file apply would change.
    let dirty = format!("{LIB_09}// work in progress\n");
    write(&app.join("src/lib.rs"), &dirty);
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("app/src/lib.rs"), "{err}");
    assert!(err.contains("--allow-dirty"), "{err}");
    assert!(!err.contains("util.rs"), "{err}");
    assert_eq!(fs::read_to_string(app.join("src/lib.rs")).unwrap(), dirty);
    assert_eq!(
        fs::read_to_string(app.join("Cargo.toml")).unwrap(),
        MANIFEST_09,
        "nothing written"
    );

    let o = run(dir.path(), &["apply", "--allow-dirty", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(fs::read_to_string(app.join("src/lib.rs"))
        .unwrap()
        .contains("parse(&s)?"));

    // An untracked file counts as uncommitted too (git cannot restore it).
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("README"), "x\n");
    commit_all(dir.path());
    let app = legacy_crate(dir.path());
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(fs::read_to_string(app.join("src/lib.rs")).unwrap(), LIB_09);
}

#[cfg(unix)]
#[test]
fn git_runs_without_the_inspected_repository_fsmonitor_or_filters() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let app = legacy_crate(&repo);
    write(&repo.join(".gitattributes"), "*.rs filter=evil\n");
    commit_all(&repo);
    let marker = dir.path().join("ran");
    let hook = dir.path().join("hook.sh");
    write(
        &hook,
        &format!("#!/bin/sh\necho \"$0\" >> '{}'\ncat\n", marker.display()),
    );
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let hook = hook.to_str().unwrap();
    assert!(git(&repo, &["config", "core.fsmonitor", hook])
        .status
        .success());
    assert!(git(&repo, &["config", "filter.evil.clean", hook])
        .status
        .success());
    // Touch the file so git's stat data is stale and it would run the clean filter.
    write(&app.join("src/lib.rs"), LIB_09);
    let o = run(&repo, &["apply", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        !marker.exists(),
        "the repository's fsmonitor or filter ran: {}",
        fs::read_to_string(&marker).unwrap_or_default()
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_file_leaves_its_whole_crate_unwritten_with_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    let lib = app.join("src/lib.rs");
    fs::set_permissions(&lib, fs::Permissions::from_mode(0o444)).unwrap();
    let other = legacy_crate(&dir.path().join("other"));
    let o = run(dir.path(), &["apply", "--format", "json", "app", "other"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let lines = json_lines(&o);
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "diagnostic" && l["severity"] == "error")
        .collect();
    assert!(
        errors.iter().any(|e| e["file"] == "app/src/lib.rs"
            && e["message"].as_str().unwrap().contains("read-only")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e["file"] == "app/Cargo.toml"),
        "{errors:?}"
    );
    assert_eq!(fs::read_to_string(&lib).unwrap(), LIB_09);
    let mode = fs::metadata(&lib).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444, "no chmod");
    assert_eq!(
        fs::read_to_string(app.join("Cargo.toml")).unwrap(),
        MANIFEST_09,
        "the crate is not half-migrated"
    );
    // Another crate is still migrated.
    assert!(fs::read_to_string(other.join("src/lib.rs"))
        .unwrap()
        .contains("parse(&s)?"));
    let summary = lines.last().unwrap();
    assert_eq!(summary["files_changed"], 2, "{summary}");
}

#[cfg(unix)]
#[test]
fn symlinked_sources_and_special_files_are_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    // A file outside the crate, reached through a link inside it.
    let outside = dir.path().join("outside.rs");
    write(&outside, LIB_09);
    std::os::unix::fs::symlink(&outside, app.join("src/linked.rs")).unwrap();
    let fifo = app.join("src/pipe.rs");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());

    let o = run(dir.path(), &["apply", "--format", "json", "app"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let lines = json_lines(&o);
    let error_on = |name: &str, what: &str| {
        lines.iter().any(|l| {
            l["severity"] == "error"
                && l["file"].as_str().unwrap().ends_with(name)
                && l["message"].as_str().unwrap().contains(what)
        })
    };
    assert!(error_on("src/linked.rs", "symbolic link"), "{lines:?}");
    assert!(error_on("src/pipe.rs", "not a regular file"), "{lines:?}");
    assert_eq!(
        fs::read_to_string(&outside).unwrap(),
        LIB_09,
        "not followed"
    );
    // The rest of the crate is migrated.
    assert!(fs::read_to_string(app.join("src/lib.rs"))
        .unwrap()
        .contains("parse(&s)?"));

    // Named explicitly, a FIFO is an error too (reading it would block forever).
    let o = run(dir.path(), &["check", "app/src/pipe.rs"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn an_unreadable_directory_is_reported_not_skipped() {
    // A directory whose path is longer than the system allows cannot be opened, even by root
    // (for whom permission bits do not apply).
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    let name = "d".repeat(200);
    let script = format!(
        "for i in $(seq 1 25); do mkdir {name} && cd {name}; done; echo 'pub fn x() {{}}' > f.rs"
    );
    let made = Command::new("sh")
        .args(["-c", &script])
        .current_dir(app.join("src"))
        .status()
        .expect("sh runs");
    assert!(made.success());
    let o = run(dir.path(), &["check", "app"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot be read, so its files were not migrated"),
        "{}",
        stderr(&o)
    );
}
