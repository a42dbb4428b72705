//! The documentation commands of the real binary: `explain`, `completions`, `man`, and the
//! `cargo-lumenize-codemod` binary run by the real cargo.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_lumenize-codemod");
const CARGO_BIN: &str = env!("CARGO_BIN_EXE_cargo-lumenize-codemod");

fn run(bin: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn explain_prints_the_rules_guide_section_and_knows_user_rules() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(BIN, dir.path(), &["explain", "sync-structured-clone"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("## `sync-structured-clone`"), "{text}");
    for needle in ["Before:", "After:", "is passed options", "MIGRATION.md"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let o = run(BIN, dir.path(), &["explain", "no-such-rule"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sync-schedule"));

    std::fs::write(
        dir.path().join("lumenize-codemod.toml"),
        "[rules.db-sync]\nsummary = \"my_db became synchronous\"\n\n[[sync-fn]]\n\
         rule = \"db-sync\"\npaths = [\"my_db::fetch\"]\n",
    )
    .unwrap();
    let o = run(BIN, dir.path(), &["explain", "db-sync"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = stdout(&o);
    assert!(text.contains("my_db became synchronous"), "{text}");
    assert!(
        text.contains("whose body this tool does not rewrite"),
        "{text}"
    );
}

#[test]
fn completions_and_man_page_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(BIN, dir.path(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(
            stdout(&o).contains("allow-dirty"),
            "{shell} completes apply's flags"
        );
    }
    let o = run(BIN, dir.path(), &["man"]);
    assert_eq!(o.status.code(), Some(0));
    let man = stdout(&o);
    assert!(
        man.starts_with(".ie") || man.contains(".TH lumenize-codemod"),
        "{man}"
    );
    assert!(man.contains("explain"), "subcommands are listed");
}

#[test]
fn cargo_runs_the_cargo_subcommand_binary() {
    let dir = tempfile::tempdir().unwrap();
    // As cargo runs it: the subcommand name first.
    let direct = run(BIN, dir.path(), &["list-rules"]);
    let o = run(CARGO_BIN, dir.path(), &["lumenize-codemod", "list-rules"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), stdout(&direct));
    // Through the real cargo, which finds `cargo-lumenize-codemod` on PATH.
    let bin_dir = Path::new(CARGO_BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let o = Command::new(env!("CARGO"))
        .args(["lumenize-codemod", "check", "does-not-exist"])
        .current_dir(dir.path())
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .expect("cargo runs");
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("does-not-exist"));
}
