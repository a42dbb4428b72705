//! Drives the real `lumenize-codemod` binary on crates written into temporary directories.
//!
//! Two kinds of tests live here: the ones about the command line itself (exit codes, formats,
//! walking, atomic writes, stdin), which hold whatever the rules do, and the ones that need the
//! engine to rewrite a small 0.9 crate. The latter assert the exact 1.0 text from the API
//! contract, never "whatever the tool printed".

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

mod support;
use support::*;

/// The 0.9 source of the test crate and what 1.0 must look like (API contract, rule table).
const LIB_09: &str = "\
use lumenize_core::structured_clone::parse;

/// Loads a value.
pub async fn load(s: String) -> Result<(), Box<dyn std::error::Error>> {
    // keep this comment
    let _v = parse(&s, None).await?;
    Ok(())
}
";
const LIB_10: &str = "\
use lumenize_core::structured_clone::parse;

/// Loads a value.
pub async fn load(s: String) -> Result<(), Box<dyn std::error::Error>> {
    // keep this comment
    let _v = parse(&s)?;
    Ok(())
}
";
const MANIFEST_09: &str = "\
[package]
name = \"app\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
lumenize-core = \"0.9\" # the old async API
";
const MANIFEST_10: &str = "\
[package]
name = \"app\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
lumenize-core = \"1\" # the old async API
";
/// A file with nothing for the rules (it mentions neither lumenize nor `.await`).
const UNTOUCHED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

fn summary(o: &Output) -> Value {
    let lines = json_lines(o);
    let last = lines.last().expect("at least the summary").clone();
    assert_eq!(last["type"], "summary", "summary is the last line");
    last
}

/// A workspace-less 0.9 crate `app/` with one file to migrate and one to leave alone.
fn legacy_crate(root: &Path) -> PathBuf {
    let app = root.join("app");
    write(&app.join("Cargo.toml"), MANIFEST_09);
    write(&app.join("src/lib.rs"), LIB_09);
    write(&app.join("src/util.rs"), UNTOUCHED);
    app
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs")
}

fn set_old_mtime(path: &Path) -> SystemTime {
    let old = SystemTime::now() - Duration::from_secs(3600 * 24);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    fs::metadata(path).unwrap().modified().unwrap()
}

// ---------------------------------------------------------------- command line, no rewrite

#[test]
fn every_command_has_help_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["apply", "diff", "check", "list-rules"] {
        let o = run(dir.path(), &[cmd, "--help"]);
        assert_eq!(code(&o), 0, "{cmd} --help");
        let text = stdout(&o);
        assert!(text.contains("EXAMPLES:"), "{cmd} --help has examples");
        assert!(text.contains("lumenize-codemod"), "{cmd} --help");
    }
    let o = run(dir.path(), &["check", "--help"]);
    let text = stdout(&o);
    for field in [
        "files_scanned",
        "edits_by_rule",
        "needs-review",
        "\"type\":\"edit\"",
    ] {
        assert!(
            text.contains(field),
            "the JSON schema in --help mentions {field}"
        );
    }
    assert!(text.contains("EXIT STATUS"));
}

#[test]
fn bad_arguments_and_bad_paths_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["check", "--no-such-flag", "."]);
    assert_eq!(code(&o), 2);

    let o = run(dir.path(), &["check", "does-not-exist"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("does-not-exist"), "{}", stderr(&o));

    // The other PATH is still processed and counted.
    legacy_crate(dir.path());
    let o = run(dir.path(), &["check", "--format", "json", "missing", "app"]);
    assert_eq!(code(&o), 2);
    let s = summary(&o);
    assert_eq!(s["errors"], 1);
    assert_eq!(
        s["files_scanned"], 3,
        "app's two .rs files and its Cargo.toml"
    );
    assert!(json_lines(&o)
        .iter()
        .any(|v| v["type"] == "diagnostic" && v["file"] == "missing" && v["severity"] == "error"));

    let o = run(dir.path(), &["check", "-", "app"]);
    assert_eq!(code(&o), 2, "`-` must be the only PATH");
}

#[test]
fn missing_config_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    legacy_crate(dir.path());
    let o = run(dir.path(), &["check", "--config", "nope.toml", "app"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope.toml"), "{}", stderr(&o));
    let o = run(dir.path(), &["list-rules", "--config", "nope.toml"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn clean_crate_checks_clean_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(&app.join("Cargo.toml"), MANIFEST_10);
    write(&app.join("src/lib.rs"), UNTOUCHED);

    let o = run(dir.path(), &["check", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("check: 2 files scanned, 0 files would change, 0 edits"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());

    let o = run(dir.path(), &["check", "--format", "json", "app"]);
    assert_eq!(code(&o), 0);
    let s = summary(&o);
    for key in [
        "command",
        "files_scanned",
        "files_changed",
        "edits",
        "edits_by_rule",
        "needs_review",
        "errors",
        "crates_skipped",
        "exit_code",
    ] {
        assert!(s.get(key).is_some(), "summary has {key}: {s}");
    }
    assert_eq!(s["command"], "check");
    assert_eq!(s["files_changed"], 0);
    assert_eq!(s["exit_code"], 0);

    let o = run(dir.path(), &["check", "--quiet", "app"]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).is_empty() && stderr(&o).is_empty(),
        "quiet is quiet"
    );

    let o = run(dir.path(), &["diff", "app"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).is_empty(), "no diff for a clean crate");
}

#[test]
fn crates_without_lumenize_are_skipped_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    legacy_crate(dir.path());
    let other = dir.path().join("other");
    write(
        &other.join("Cargo.toml"),
        "[package]\nname = \"other\"\nversion = \"0.1.0\"\n[dependencies]\nserde = \"1\"\n",
    );
    write(&other.join("src/lib.rs"), "async fn f() { g().await }\n");
    // Renamed dependency on the legacy package counts as lumenize.
    let renamed = dir.path().join("renamed");
    write(
        &renamed.join("Cargo.toml"),
        "[package]\nname = \"renamed\"\nversion = \"0.1.0\"\n[dependencies]\nlc = { package = \"lumenize-core-legacy\", path = \"../x\" }\n",
    );
    write(&renamed.join("src/lib.rs"), UNTOUCHED);

    let o = run(dir.path(), &["check", "--format", "json", "."]);
    let lines = json_lines(&o);
    let skipped: Vec<_> = lines
        .iter()
        .filter(|v| v["type"] == "skipped-crate")
        .collect();
    assert_eq!(skipped.len(), 1, "{lines:?}");
    assert_eq!(skipped[0]["crate_dir"], "other");
    let s = summary(&o);
    assert_eq!(s["crates_skipped"], 1);
    assert_eq!(s["files_scanned"], 5, "app: 3 files, renamed: 2 files");

    let o = run(dir.path(), &["check", "--verbose", "."]);
    assert!(
        stderr(&o).contains("skipped crate other"),
        "verbose says so: {}",
        stderr(&o)
    );

    let o = run(dir.path(), &["check", "--force", "--format", "json", "."]);
    let s = summary(&o);
    assert_eq!(s["crates_skipped"], 0);
    assert_eq!(s["files_scanned"], 7);
}

#[test]
fn walking_honours_gitignore_hidden_target_and_globs() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    assert!(git(dir.path(), &["init", "-q"]).status.success());
    write(&dir.path().join(".gitignore"), "generated/\n");
    write(&app.join("generated/gen.rs"), UNTOUCHED);
    write(&app.join(".hidden/h.rs"), UNTOUCHED);
    write(&app.join("target/debug/build/out.rs"), UNTOUCHED);
    // A source module called `target` below src/ is not cargo's target dir.
    write(&app.join("src/target/mod.rs"), UNTOUCHED);
    write(&app.join("benches/b.rs"), UNTOUCHED);

    let scanned = |args: &[&str]| {
        let mut all = vec!["check", "--format", "json"];
        all.extend_from_slice(args);
        summary(&run(dir.path(), &all))["files_scanned"]
            .as_u64()
            .unwrap()
    };
    // Cargo.toml, src/lib.rs, src/util.rs, src/target/mod.rs, benches/b.rs
    assert_eq!(scanned(&["app"]), 5);
    assert_eq!(scanned(&["--exclude", "benches", "app"]), 4);
    assert_eq!(scanned(&["--exclude", "*.toml", "app"]), 4);
    assert_eq!(scanned(&["--include", "src/**", "app"]), 3);
    assert_eq!(scanned(&["--include", "util.rs", "app"]), 1);
    // A file named explicitly is taken even when ignored.
    assert_eq!(scanned(&["app/generated/gen.rs"]), 1);
    // A directory inside the crate selects only what is below it.
    assert_eq!(scanned(&["app/src"]), 3);
}

#[test]
fn apply_without_changes_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(&app.join("Cargo.toml"), MANIFEST_10);
    write(&app.join("src/lib.rs"), UNTOUCHED);
    // Candidates for the prefilter that are not lumenize calls: must stay byte-identical.
    let not_ours = "async fn f(s: &str) -> i32 { other::parse(s).await; s.parse().unwrap() }\n";
    write(&app.join("src/other.rs"), not_ours);
    let files = ["Cargo.toml", "src/lib.rs", "src/other.rs"];
    let before: Vec<SystemTime> = files.iter().map(|f| set_old_mtime(&app.join(f))).collect();

    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for (f, t) in files.iter().zip(&before) {
        let meta = fs::metadata(app.join(f)).unwrap();
        assert_eq!(meta.modified().unwrap(), *t, "{f} was not rewritten");
    }
    assert_eq!(
        fs::read_to_string(app.join("src/other.rs")).unwrap(),
        not_ours
    );
    let leftovers: Vec<_> = fs::read_dir(app.join("src"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("lumenize-codemod"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left behind");
}

#[test]
fn stdin_without_changes_is_echoed_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let input = "fn main() {\r\n    println!(\"hi\");\r\n}";
    let o = run_stdin(dir.path(), &["apply", "-"], input);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), input);

    let o = run_stdin(dir.path(), &["apply", "--format", "json", "-"], input);
    assert_eq!(stdout(&o), input, "stdout is the file, even in JSON mode");
    let last: Value = serde_json::from_str(stderr(&o).lines().last().unwrap()).unwrap();
    assert_eq!(
        last["type"],
        "summary",
        "JSON objects go to stderr: {}",
        stderr(&o)
    );

    let o = run_stdin(dir.path(), &["check", "--format", "json", "-"], input);
    assert_eq!(code(&o), 0);
    assert_eq!(summary(&o)["files_scanned"], 1);

    let o = run_stdin(dir.path(), &["check", "-"], "\u{0}\u{ff}");
    assert_eq!(
        code(&o),
        0,
        "NUL and ÿ are valid UTF-8 text without candidates"
    );
    let mut bad = Command::new(BIN)
        .args(["apply", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        bad.stdin
            .take()
            .unwrap()
            .write_all(&[0x66, 0xff, 0xfe])
            .unwrap();
    }
    let o = bad.wait_with_output().unwrap();
    assert_eq!(code(&o), 2, "invalid UTF-8 on stdin is an error");
    assert!(stderr(&o).contains("UTF-8"));
}

#[test]
fn invalid_utf8_file_is_reported_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    fs::write(app.join("src/latin1.rs"), b"// caf\xe9 .await\n").unwrap();
    let o = run(dir.path(), &["check", "--format", "json", "app"]);
    assert_eq!(code(&o), 2);
    let lines = json_lines(&o);
    assert!(lines.iter().any(|v| v["type"] == "diagnostic"
        && v["rule"] == "encoding"
        && v["file"] == "app/src/latin1.rs"));
    assert_eq!(
        summary(&o)["files_scanned"],
        4,
        "the other files were still read"
    );
}

#[test]
fn deeply_nested_code_is_migrated_not_aborted() {
    // syn parses nesting recursively: at this depth a 2 MiB thread stack overflowed and the
    // whole process aborted (found with `check --force --no-prefilter` on real crates). Both
    // the worker threads and the standard-input path must take it.
    let depth = 3000;
    let deep = format!(
        "{LIB_09}\npub fn deep() -> u32 {{\n    {}1{}\n}}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    write(&app.join("src/lib.rs"), &deep);
    let o = run(dir.path(), &["check", "--format", "json", "app"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(summary(&o)["files_changed"], 2, "lib.rs and Cargo.toml");
    let o = run_stdin(dir.path(), &["apply", "-"], &deep);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("let _v = parse(&s)?;"));
}

#[test]
fn dirty_files_apply_does_not_change_are_no_reason_to_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    assert!(git(dir.path(), &["init", "-q"]).status.success());
    assert!(git(dir.path(), &["add", "."]).status.success());
    assert!(git(dir.path(), &["commit", "-q", "-m", "init"])
        .status
        .success());

    let o = run(dir.path(), &["apply", "app"]);
    assert!(!stderr(&o).contains("uncommitted"), "{}", stderr(&o));

    // Refusing dirty files apply would change is tests/cli_safety.rs's job.
    write(&app.join("src/util.rs"), "pub fn changed() {}\n");
    write(&app.join("src/lib.rs"), LIB_09);
    write(&app.join("Cargo.toml"), MANIFEST_09);
    assert!(git(dir.path(), &["commit", "-q", "-am", "back to 0.9"])
        .status
        .success());
    write(&app.join("src/util.rs"), "pub fn changed_again() {}\n");
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 0, "apply is not refused: {}", stderr(&o));
    assert_eq!(fs::read_to_string(app.join("src/lib.rs")).unwrap(), LIB_10);
}

// ---------------------------------------------------------------- rewrites (need the engine)

#[test]
fn check_diff_apply_migrate_a_09_crate() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    assert!(git(dir.path(), &["init", "-q"]).status.success());
    assert!(git(dir.path(), &["add", "."]).status.success());
    assert!(git(dir.path(), &["commit", "-q", "-m", "0.9"])
        .status
        .success());
    let util_mtime = set_old_mtime(&app.join("src/util.rs"));

    let o = run(dir.path(), &["check", "app"]);
    assert_eq!(code(&o), 1, "changes pending: {}", stderr(&o));
    assert!(
        stdout(&o).contains("would change: app/src/lib.rs"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("would change: app/Cargo.toml"),
        "{}",
        stdout(&o)
    );

    let o = run(dir.path(), &["check", "--format", "json", "app"]);
    assert_eq!(code(&o), 1);
    let lines = json_lines(&o);
    let edit = lines
        .iter()
        .find(|v| v["type"] == "edit" && v["file"] == "app/src/lib.rs")
        .expect("an edit object for lib.rs");
    assert_eq!(edit["rule"], "sync-structured-clone");
    let (start, end) = (
        edit["start"].as_u64().unwrap() as usize,
        edit["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(edit["original"].as_str().unwrap(), &LIB_09[start..end]);
    let s = summary(&o);
    assert_eq!(s["files_changed"], 2);
    assert!(
        s["edits_by_rule"]["sync-structured-clone"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(s["edits_by_rule"]["bump-dependency"], 1);

    // The diff is a patch git accepts from the current directory; piped, so no colour.
    let o = run(dir.path(), &["diff", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let patch = stdout(&o);
    assert!(
        patch.contains("--- a/app/src/lib.rs\n+++ b/app/src/lib.rs\n"),
        "{patch}"
    );
    assert!(patch.contains("-    let _v = parse(&s, None).await?;\n+    let _v = parse(&s)?;\n"));
    assert!(!patch.contains('\x1b'), "no colour when piped");
    fs::write(dir.path().join("m.patch"), &patch).unwrap();
    let g = git(dir.path(), &["apply", "--check", "m.patch"]);
    assert!(g.status.success(), "git apply --check: {}", stderr(&g));
    let o = run(dir.path(), &["diff", "--color", "always", "app"]);
    assert!(stdout(&o).contains("\x1b[32m+"), "--color always colours");
    let o = run(dir.path(), &["diff", "--format", "json", "app"]);
    let file = json_lines(&o)
        .into_iter()
        .find(|v| v["type"] == "file" && v["file"] == "app/src/lib.rs")
        .expect("a file object");
    assert!(file["diff"]
        .as_str()
        .unwrap()
        .contains("+    let _v = parse(&s)?;"));

    // Apply: exactly the 1.0 text; the untouched file keeps its mtime.
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fs::read_to_string(app.join("src/lib.rs")).unwrap(), LIB_10);
    assert_eq!(
        fs::read_to_string(app.join("Cargo.toml")).unwrap(),
        MANIFEST_10
    );
    assert_eq!(
        fs::metadata(app.join("src/util.rs"))
            .unwrap()
            .modified()
            .unwrap(),
        util_mtime
    );

    // Idempotent: nothing is pending afterwards.
    let o = run(dir.path(), &["check", "app"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn apply_keeps_crlf_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    let lib = app.join("src/lib.rs");
    fs::write(&lib, LIB_09.replace('\n', "\r\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&lib, fs::Permissions::from_mode(0o640)).unwrap();
    }
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&lib).unwrap(),
        LIB_10.replace('\n', "\r\n")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&lib).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }
}

#[test]
fn stdin_apply_migrates_one_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_stdin(
        dir.path(),
        &["apply", "-", "--stdin-filename", "src/lib.rs"],
        LIB_09,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), LIB_10);

    let o = run_stdin(
        dir.path(),
        &["diff", "-", "--stdin-filename", "src/lib.rs"],
        LIB_09,
    );
    assert!(stdout(&o).contains("+++ b/src/lib.rs"), "{}", stdout(&o));

    let o = run_stdin(
        dir.path(),
        &["apply", "-", "--stdin-filename", "Cargo.toml"],
        MANIFEST_09,
    );
    assert_eq!(stdout(&o), MANIFEST_10);
}

#[test]
fn unparsable_file_is_reported_and_the_others_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());
    // A real migration candidate (so no prefilter may skip it) that does not parse.
    write(
        &app.join("src/broken.rs"),
        "use lumenize_core::structured_clone::parse;\nasync fn f(s: &str) { parse(s, None).await \n",
    );
    let o = run(dir.path(), &["apply", "--format", "json", "app"]);
    assert_eq!(code(&o), 2, "a parse failure is an error");
    let lines = json_lines(&o);
    let parse = lines
        .iter()
        .find(|v| v["type"] == "diagnostic" && v["file"] == "app/src/broken.rs")
        .expect("the broken file is reported");
    assert_eq!(parse["severity"], "error");
    assert!(
        !parse["message"].as_str().unwrap().is_empty(),
        "with a reason"
    );
    assert_eq!(fs::read_to_string(app.join("src/lib.rs")).unwrap(), LIB_10);
}

#[test]
fn rule_selection_and_config_discovery() {
    let dir = tempfile::tempdir().unwrap();
    let app = legacy_crate(dir.path());

    let o = run(dir.path(), &["list-rules", "--format", "json"]);
    assert_eq!(code(&o), 0);
    let rules = json_lines(&o);
    assert!(rules
        .iter()
        .all(|v| v["type"] == "rule" && v["source"] == "built-in"));
    let ids: Vec<String> = rules
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    for id in [
        "sync-structured-clone",
        "bump-dependency",
        "execute-chain-method",
    ] {
        assert!(ids.contains(&id.to_string()), "{ids:?}");
    }

    let o = run(dir.path(), &["check", "--rule", "no-such-rule", "app"]);
    assert_eq!(code(&o), 2, "unknown rule ids are an error");
    assert!(stderr(&o).contains("no-such-rule"));

    // Only the manifest rule: lib.rs is not touched.
    let o = run(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--rule",
            "bump-dependency",
            "app",
        ],
    );
    let s = summary(&o);
    assert_eq!(s["files_changed"], 1, "{s}");
    let o = run(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--skip-rule",
            "bump-dependency",
            "app",
        ],
    );
    assert!(summary(&o)["edits_by_rule"]
        .get("bump-dependency")
        .is_none());

    // A config file in the crate is discovered; a broken one is an error naming it.
    write(
        &app.join("lumenize-codemod.toml"),
        "[rules.my-sync]\nsummary = \"mylib::fetch is sync\"\n\n[[sync-fn]]\nrule = \"my-sync\"\npaths = [\"mylib::fetch\"]\n",
    );
    let o = run(&app, &["list-rules"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("my-sync"), "{}", stdout(&o));
    let o = run(&app, &["list-rules", "--format", "json"]);
    let mine = json_lines(&o)
        .into_iter()
        .find(|v| v["id"] == "my-sync")
        .expect("the config's rule is listed");
    assert!(
        mine["source"]
            .as_str()
            .unwrap()
            .ends_with("lumenize-codemod.toml"),
        "{mine}"
    );
    write(&app.join("lumenize-codemod.toml"), "[rules.x\n");
    let o = run(dir.path(), &["check", "app"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("lumenize-codemod.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_rules_reach_crates_that_use_the_configured_package() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("dbapp");
    write(
        &app.join("Cargo.toml"),
        "[package]\nname = \"dbapp\"\nversion = \"0.1.0\"\n\n[dependencies]\nmy-db = \"0.4\"\n",
    );
    write(
        &app.join("lumenize-codemod.toml"),
        "[rules.db-sync]\nsummary = \"my_db's fetch_all became synchronous\"\n\n[[sync-fn]]\nrule = \"db-sync\"\npaths = [\"my_db::query::fetch_all\"]\n",
    );
    let before = "async fn rows() -> Result<usize, my_db::Error> {\n    let r = my_db::query::fetch_all(\"select 1\").await?;\n    Ok(r.len())\n}\n";
    write(&app.join("src/lib.rs"), before);

    let o = run(dir.path(), &["apply", "--format", "json", "dbapp"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let s = summary(&o);
    assert_eq!(
        s["crates_skipped"], 0,
        "a crate using my-db is not skipped: {s}"
    );
    assert_eq!(s["edits_by_rule"]["db-sync"], 1, "{s}");
    assert_eq!(
        fs::read_to_string(app.join("src/lib.rs")).unwrap(),
        // `rows` then awaits nothing: the `unasync` rule makes it synchronous too.
        before.replace(".await?", "?").replace("async fn", "fn")
    );
}

#[test]
fn renamed_dependency_is_followed_into_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(
        &app.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nlc = { package = \"lumenize-core\", version = \"0.9\" }\n",
    );
    let renamed = LIB_09.replace("lumenize_core::", "lc::");
    write(&app.join("src/lib.rs"), &renamed);
    let o = run(dir.path(), &["apply", "app"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(app.join("src/lib.rs")).unwrap(),
        LIB_10.replace("lumenize_core::", "lc::")
    );
}

#[test]
fn workspace_members_inherit_the_dependency() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"a\", \"b\"]\n\n[workspace.dependencies]\nlumenize-core = \"0.9\"\n",
    );
    write(
        &root.join("a/Cargo.toml"),
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\n\n[dependencies]\nlumenize-core.workspace = true\n",
    );
    write(&root.join("a/src/lib.rs"), LIB_09);
    write(
        &root.join("b/Cargo.toml"),
        "[package]\nname = \"b\"\nversion = \"0.1.0\"\n",
    );
    write(&root.join("b/src/lib.rs"), "async fn f() { g().await }\n");

    let o = run(root, &["apply", "--format", "json", "."]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines = json_lines(&o);
    let skipped: Vec<_> = lines
        .iter()
        .filter(|v| v["type"] == "skipped-crate")
        .map(|v| v["crate_dir"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(skipped, vec!["b".to_string()]);
    assert_eq!(
        fs::read_to_string(root.join("a/src/lib.rs")).unwrap(),
        LIB_10
    );
    assert_eq!(
        fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        "[workspace]\nmembers = [\"a\", \"b\"]\n\n[workspace.dependencies]\nlumenize-core = \"1\"\n",
        "the version lives in the workspace root"
    );
}

/// The benchmark's parse-only baseline is not part of the users' binary (it is built only
/// with the `bench-parse-only` feature, see scripts/bench-codemod.sh).
#[cfg(not(feature = "bench-parse-only"))]
#[test]
fn the_bench_command_is_not_in_the_users_binary() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["bench-parse-only", "."]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unrecognized subcommand"),
        "{}",
        stderr(&o)
    );
}
