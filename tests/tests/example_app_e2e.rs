//! Compile-verified migration of `fixtures/example-app` (a user crate written against
//! lumenize-core 0.9, through the `fixtures/lumenize-core-legacy` shim) to lumenize-core 1.0.
//!
//! - `library_migration_matches_expected_tree`: the codemod as a library call (the per-file
//!   rules, then `unasync` with public items converted, as `--unasync-public`), compared with
//!   the committed `fixtures/example-app-expected/` (fast: no cargo). `LUMENIZE_BLESS=1`
//!   rewrites the expected tree from the current output.
//! - `example_app_migrates_to_1_0_and_passes_its_tests`: the whole story with real cargo runs
//!   in a temporary copy: tests pass on 0.9, `lumenize-codemod apply --unasync-public` (the
//!   binary) writes what
//!   the library computes, the dependency is pointed at the real 1.0 crate, compiling it shows
//!   no warning or error in the app, its tests pass, `check` exits 0 and a second `apply`
//!   changes nothing. Nested builds share `<target>/e2e` (see `nested_target_dir`).

mod e2e_support;

use std::path::{Path, PathBuf};

use e2e_support::*;
use lumenize_codemod::Severity;

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("fixtures").join(name)
}

/// The relative path dependency on the legacy crate, as the fixture writes it.
const LEGACY_DEP: &str =
    r#"lumenize-core = { package = "lumenize-core-legacy", path = "../lumenize-core-legacy" }"#;

#[test]
fn library_migration_matches_expected_tree() {
    let app = read_tree(&fixture("example-app"));
    let run = migrate_tree_with_library(&app, true);
    let expected_dir = fixture("example-app-expected");
    if std::env::var_os("LUMENIZE_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        write_tree(&expected_dir, &run.tree);
    }
    let expected = read_tree(&expected_dir);
    let review: Vec<String> = run
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Edited)
        .map(|d| {
            format!(
                "{}:{}:{} {:?} [{}] {}",
                d.file.display(),
                d.line,
                d.column,
                d.severity,
                d.rule,
                d.message
            )
        })
        .collect();
    let diff = tree_diff(&expected, &run.tree);
    assert!(
        diff.is_empty(),
        "migrated app differs from fixtures/example-app-expected:\n{diff}\nnot edited by the codemod:\n{}",
        review.join("\n")
    );
    // Left for review: only the path dependency (reported, not edited, by contract). Every
    // function that awaits nothing became synchronous, `encode`/`decode` and `on_message`
    // included: the `tokio::join!`s of `tests/flow.rs` became tuples of plain calls.
    let expected_review = [("Cargo.toml:", "bump-dependency", "path dependency")];
    assert_eq!(
        review.len(),
        expected_review.len(),
        "unexpected review items:\n{}",
        review.join("\n")
    );
    for (line, (file, rule, text)) in review.iter().zip(expected_review) {
        assert!(
            line.starts_with(file) && line.contains(&format!("[{rule}]")) && line.contains(text),
            "{line}"
        );
    }
    // No `async fn` is left but the test entry points the rule leaves as they are.
    for (path, text) in &run.tree {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("async fn ") {
                let attr = i.checked_sub(1).map(|j| lines[j].trim());
                assert!(
                    attr.is_some_and(|a| a.starts_with("#[tokio::test") || a == "#[tokio::main]"),
                    "{}:{}: `async fn` left after migration: {line}",
                    path.display(),
                    i + 1
                );
            }
        }
    }
    // Every rule of the table fired at least once on this realistic crate.
    for rule in [
        "sync-structured-clone",
        "sync-schedule",
        "cancel-returns-schedule",
        "execute-chain-method",
        "remove-dead-imports",
        "unasync",
    ] {
        assert!(
            run.diagnostics
                .iter()
                .any(|d| d.rule == rule && d.severity == Severity::Edited),
            "rule {rule} never applied"
        );
    }
}

/// Copies the fixture app into `dir`, with its legacy dependency made absolute (the copy no
/// longer sits next to the legacy crate) and the workspace lockfile, so the nested builds
/// resolve the same dependency versions as the workspace and reuse its cached artifacts.
fn copy_app(dir: &Path) {
    let mut tree = read_tree(&fixture("example-app"));
    let manifest = tree
        .get_mut(Path::new("Cargo.toml"))
        .expect("fixture manifest");
    assert!(
        manifest.contains(LEGACY_DEP),
        "fixture manifest changed shape"
    );
    let legacy = fixture("lumenize-core-legacy");
    *manifest = manifest.replace(
        LEGACY_DEP,
        &format!(
            r#"lumenize-core = {{ package = "lumenize-core-legacy", path = {:?} }}"#,
            legacy.display().to_string()
        ),
    );
    write_tree(dir, &tree);
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("lockfile");
}

/// The explicit step the contract leaves to the user: a path dependency is reported by the
/// codemod, not edited, so the test points it at the real 1.0 crate itself.
fn point_at_1_0(dir: &Path) {
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).expect("manifest");
    let start = text
        .find("lumenize-core = {")
        .expect("lumenize-core dependency line");
    let end = start + text[start..].find('\n').expect("line end");
    let core = workspace_root().join("lumenize-core");
    let line = format!(
        "lumenize-core = {{ path = {:?} }}",
        core.display().to_string()
    );
    std::fs::write(&path, format!("{}{line}{}", &text[..start], &text[end..]))
        .expect("write manifest");
}

#[test]
fn example_app_migrates_to_1_0_and_passes_its_tests() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let app = tmp.path().join("reminder-desk");
    copy_app(&app);

    // 1. The app's own tests pass on 0.9.
    let before = cargo(&app, &["test", "--quiet"]);
    before.assert_ok("cargo test on 0.9");
    eprintln!("[e2e] cargo test on 0.9: {:.1}s", before.secs);

    // 2. The codemod binary rewrites the copy; its result equals the library's.
    let exe = codemod_binary();
    let library = migrate_tree_with_library(&read_tree(&app), true);
    let apply = run(std::process::Command::new(&exe)
        .args(["apply", "--unasync-public"])
        .arg(&app));
    apply.assert_ok("lumenize-codemod apply");
    eprintln!("[e2e] apply: {:.2}s\n{}", apply.secs, apply.stdout());
    let on_disk = read_tree(&app);
    let diff = tree_diff(&library.tree, &on_disk);
    assert!(diff.is_empty(), "binary and library disagree:\n{diff}");

    // 3. Point the dependency at 1.0 and compile everything (lib, unit tests, integration
    //    tests): no warning or error in the app's own files. `cargo test --no-run` rather
    //    than `cargo check`: it type-checks the same code and reuses the dependency
    //    artifacts of step 1, where `check` would build the whole tree again as metadata.
    point_at_1_0(&app);
    let build = cargo(&app, &["test", "--no-run", "--message-format=json"]);
    let messages = own_compiler_messages(&build.stdout(), &app);
    eprintln!("[e2e] compile on 1.0: {:.1}s", build.secs);
    assert!(
        build.output.status.success() && messages.is_empty(),
        "migrated app does not build cleanly on 1.0:\n{}\n{}",
        messages.join("\n"),
        build.stderr()
    );
    let after = cargo(&app, &["test", "--quiet"]);
    after.assert_ok("cargo test on 1.0");
    eprintln!("[e2e] cargo test on 1.0: {:.1}s", after.secs);

    // 4. Nothing left: `check` exits 0 and a second `apply` changes nothing.
    let check = run(std::process::Command::new(&exe)
        .args(["check", "--unasync-public"])
        .arg(&app));
    check.assert_ok("lumenize-codemod check after apply");
    let settled = read_tree(&app);
    run(std::process::Command::new(&exe)
        .args(["apply", "--unasync-public"])
        .arg(&app))
    .assert_ok("second apply");
    let diff = tree_diff(&settled, &read_tree(&app));
    assert!(diff.is_empty(), "second apply changed files:\n{diff}");
}
