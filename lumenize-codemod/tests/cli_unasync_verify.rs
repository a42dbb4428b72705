//! `apply --verify` after `unasync`: the real `cargo check` compiles what the rule wrote.
//!
//! The crate has no dependencies (as in `cli_verify.rs`): its own `api::load` is "the library
//! that became synchronous", reached through `extern crate self as store;` and named by a
//! custom rule file, with `--force`. After that rule drops `load(..).await`, `direct` awaits
//! nothing, `twice` awaits only `direct`: both become plain `fn`s, and the async block
//! handed to the crate's tiny executor stops awaiting. The compiler then finds nothing left.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

const LIB: &str = "\
//! A crate whose storage API became synchronous.
extern crate self as store;

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// The storage API.
pub mod api {
    /// Loads a number (it used to be async).
    pub fn load(n: u32) -> u32 {
        n + 1
    }
}

async fn direct() -> u32 {
    store::api::load(1).await
}

async fn twice() -> u32 {
    direct().await + direct().await
}

/// Runs the async API to completion.
pub fn run() -> u32 {
    block(async { twice().await })
}

fn block<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
";

fn nested_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
        .join("cli-verify")
        .join("unasync")
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

#[test]
fn unasync_output_compiles_and_verify_finds_nothing_left() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("Cargo.toml"), MANIFEST).unwrap();
    fs::write(dir.join("src/lib.rs"), LIB).unwrap();
    fs::write(tmp.path().join("rules.toml"), RULES).unwrap();
    let o = run(
        &dir,
        &[
            "apply",
            "--verify",
            "--force",
            "--config",
            "../rules.toml",
            ".",
        ],
    );
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("cargo check passes"), "{out}");
    let lib = fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    let expected = LIB
        .replace("store::api::load(1).await", "store::api::load(1)")
        .replace("async fn direct", "fn direct")
        .replace("async fn twice", "fn twice")
        .replace("direct().await + direct().await", "direct() + direct()")
        .replace("async { twice().await }", "async { twice() }");
    assert_eq!(lib, expected);
}

/// A workspace: `store` (the crate migrated) makes its public `direct` synchronous under
/// `--unasync-public`, and `app`, another member that is not part of the run, awaits it.
#[test]
fn with_unasync_public_verify_fixes_the_awaits_of_other_workspace_members() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"store\", \"app\"]\n",
    )
    .unwrap();
    let store = root.join("store");
    fs::create_dir_all(store.join("src")).unwrap();
    fs::write(store.join("Cargo.toml"), MANIFEST).unwrap();
    let lib = LIB.replace("async fn direct", "pub async fn direct");
    fs::write(store.join("src/lib.rs"), &lib).unwrap();
    let app = root.join("app");
    fs::create_dir_all(app.join("src")).unwrap();
    fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nstore = { path = \"../store\" }\n",
    )
    .unwrap();
    let app_lib =
        "/// Uses the store.\npub async fn two() -> u32 {\n    store::direct().await + 1\n}\n";
    fs::write(app.join("src/lib.rs"), app_lib).unwrap();
    fs::write(root.join("rules.toml"), RULES).unwrap();
    let o = run(
        &store,
        &[
            "apply",
            "--verify",
            "--force",
            "--unasync-public",
            "--config",
            "../rules.toml",
            ".",
        ],
    );
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        fs::read_to_string(store.join("src/lib.rs"))
            .unwrap()
            .contains("pub fn direct"),
        "{out}"
    );
    // The compiler found the other member's `.await` on what is no longer a future.
    assert_eq!(
        fs::read_to_string(app.join("src/lib.rs")).unwrap(),
        app_lib.replace("store::direct().await", "store::direct()"),
        "{out}"
    );
}
