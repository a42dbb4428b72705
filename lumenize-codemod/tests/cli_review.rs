//! What a reviewer and a new user read from the real binary: strict config files (errors with
//! file, line and column), the summary's wording and its next steps, and standard-input mode.

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

#[test]
fn a_typo_in_the_config_file_is_an_error_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("app/Cargo.toml"), MANIFEST_09);
    write(&dir.path().join("app/src/lib.rs"), "pub fn f() {}\n");
    let config = "\
[rules.db-sync]
summary = \"my_db became synchronous\"

[[sync-fn]]
rule = \"db-sync\"
paths = [\"my_db::fetch\"]
drop-none-args = 2
";
    write(&dir.path().join("app/lumenize-codemod.toml"), config);
    let o = run(dir.path(), &["check", "app"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("lumenize-codemod.toml:7:1:"), "{err}");
    assert!(err.contains("drop-none-args"), "{err}");

    // A wrong type, through --config and list-rules too.
    write(&dir.path().join("bad.toml"), "[rules.x]\nsummary = 3\n");
    let o = run(dir.path(), &["list-rules", "--config", "bad.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.toml:2:11:"), "{}", stderr(&o));
}

#[test]
fn the_summary_counts_in_the_singular_and_ends_with_the_next_commands() {
    let dir = tempfile::tempdir().unwrap();
    let lib = format!(
        "{LIB_09}\npub async fn later(s: String) {{\n    let f = parse(&s, None);\n    let _ = f.await;\n}}\n"
    );
    write(&dir.path().join("app/src/lib.rs"), &lib);
    // A loose file (no manifest): one file scanned, one changed. (`unasync` is skipped: it
    // would also report the public `load`, which awaits nothing once migrated.)
    let o = run(
        dir.path(),
        &["check", "--skip-rule", "unasync", "app/src/lib.rs"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let summary = lines[lines.len() - 2];
    assert!(
        summary.starts_with("check: 1 file scanned, 1 file would change, 2 edits"),
        "{err}"
    );
    assert!(summary.contains(", 2 need review, 0 errors"), "{err}");
    let next = lines[lines.len() - 1];
    assert!(next.starts_with("next: "), "{err}");
    assert!(
        next.contains("`lumenize-codemod diff app/src/lib.rs`"),
        "{next}"
    );
    assert!(
        next.contains("`lumenize-codemod apply --verify app/src/lib.rs`"),
        "{next}"
    );
    assert!(next.contains("explain RULE"), "{next}");

    write(
        &dir.path().join("app/src/lib.rs"),
        &format!("{LIB_09}\n/// `parse(s, None).await`\npub fn doc() {{}}\n"),
    );
    let o = run(
        dir.path(),
        &["apply", "--skip-rule", "unasync", "app/src/lib.rs"],
    );
    let err = stderr(&o);
    assert!(err.contains(", 1 needs review, 0 errors"), "{err}");
    assert!(err.lines().last().unwrap().contains("`git diff`"), "{err}");
}

#[test]
fn stdin_mode_reads_the_crate_around_the_file_or_says_results_may_be_partial() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(&app.join("Cargo.toml"), MANIFEST_09);
    write(
        &app.join("src/lib.rs"),
        "pub mod compat;\npub mod handlers;\n",
    );
    write(
        &app.join("src/compat.rs"),
        "pub use lumenize_core::structured_clone::parse as decode;\n",
    );
    // Only the crate's other file says what `decode` is.
    let buffer = "use crate::compat::decode;\n\npub async fn h(s: &str) {\n    let _ = decode(s, None).await;\n}\n";
    write(&app.join("src/handlers.rs"), buffer);
    let o = run_stdin(
        dir.path(),
        &["apply", "-", "--stdin-filename", "app/src/handlers.rs"],
        buffer,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("let _ = decode(s);"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!stderr(&o).contains("partial"), "{}", stderr(&o));

    // Outside any package: said.
    let o = run_stdin(
        dir.path(),
        &["check", "-", "--stdin-filename", "loose.rs"],
        LIB_09,
    );
    assert!(
        stderr(&o).contains("results may be partial"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_call_through_a_renamed_crate_inside_an_unknown_macro_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(
        &app.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n\
         other_crate = { package = \"my-db\", version = \"1\" }\n",
    );
    write(
        &app.join("lumenize-codemod.toml"),
        "[rules.db-sync]\nsummary = \"my_db's sleep became synchronous\"\n\n[[sync-fn]]\n\
         rule = \"db-sync\"\npaths = [\"my_db::time::sleep\"]\n",
    );
    let src = "\
pub async fn ticks() {
    let _s = stream! { other_crate::time::sleep(1).await; };
    other_crate::time::sleep(2).await;
}
";
    write(&app.join("src/lib.rs"), src);
    let o = run(dir.path(), &["check", "--format", "json", "app"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let review = records
        .iter()
        .find(|r| r["severity"] == "needs-review")
        .unwrap_or_else(|| panic!("the call inside stream! is reported: {out}"));
    assert_eq!(
        (review["line"].as_u64(), review["rule"].as_str()),
        (Some(2), Some("db-sync"))
    );
    assert!(
        review["message"].as_str().unwrap().contains("stream!"),
        "{review}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["type"] == "edit" && r["line"] == 3),
        "the call outside the macro is edited: {out}"
    );
}
