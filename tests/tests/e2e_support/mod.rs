//! Helpers for the example-app end-to-end test: locating the workspace, copying a crate tree,
//! running nested cargo commands in a shared target directory, the codemod as a library call,
//! and tree comparison with a readable diff.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use lumenize_codemod::{
    migrate_manifest, migrate_source, unasync_crate, CrateContext, CrateFile, Diagnostic, RuleSet,
    UnasyncOptions,
};

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent directory")
        .to_path_buf()
}

/// Where nested cargo invocations build: `<target>/e2e`, where `<target>` is the target
/// directory of the outer build (`CARGO_TARGET_DIR`, else `<root>/target`). One directory for
/// the app at 0.9, the app at 1.0 and the codemod binary, so the dependency tree is compiled
/// once and stays cached between runs; a subdirectory, so it never waits on the outer
/// build's lock.
pub fn nested_target_dir() -> PathBuf {
    let root = workspace_root();
    let outer = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    outer.join("e2e")
}

/// The text files of a crate tree (relative path → content), skipping `target/` and lockfiles.
pub fn read_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    read_into(dir, dir, &mut out);
    out
}

fn read_into(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                read_into(base, &path, out);
            }
        } else if name != "Cargo.lock" {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let rel = path.strip_prefix(base).expect("under base").to_path_buf();
            out.insert(rel, text);
        }
    }
}

/// Writes a tree (as returned by [`read_tree`]) under `dir`.
pub fn write_tree(dir: &Path, tree: &BTreeMap<PathBuf, String>) {
    for (rel, text) in tree {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("mkdir");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

/// What the codemod library does to a crate tree: migrated files and every diagnostic.
pub struct LibraryRun {
    /// The tree after migration (unchanged files included).
    pub tree: BTreeMap<PathBuf, String>,
    /// All diagnostics, manifest included.
    pub diagnostics: Vec<Diagnostic>,
}

/// Runs the codemod as a library call over a whole tree, as the binary does: `CrateContext::scan`
/// over every `.rs` file and the manifest (which names the lib crate, so `tests/` can reach it
/// by that name), `migrate_source` for each `.rs` file, `migrate_manifest` for `Cargo.toml`,
/// then the crate-wide `unasync` rule over the migrated sources (`public`: as
/// `--unasync-public`).
pub fn migrate_tree_with_library(tree: &BTreeMap<PathBuf, String>, public: bool) -> LibraryRun {
    let rules = RuleSet::builtin();
    let sources: Vec<(&Path, &str)> = tree
        .iter()
        .filter(|(p, _)| {
            p.extension().is_some_and(|e| e == "rs")
                || p.file_name().is_some_and(|n| n == "Cargo.toml")
        })
        .map(|(p, t)| (p.as_path(), t.as_str()))
        .collect();
    let ctx = CrateContext::scan(sources.iter().copied());
    let mut out = tree.clone();
    let mut diagnostics = Vec::new();
    for (path, text) in tree {
        let m = if path.extension().is_some_and(|e| e == "rs") {
            migrate_source(path, text, &ctx, &rules)
        } else if path.file_name().is_some_and(|n| n == "Cargo.toml") {
            migrate_manifest(path, text, &rules)
        } else {
            continue;
        };
        diagnostics.extend(m.diagnostics);
        out.insert(path.clone(), m.output);
    }
    let rust: Vec<CrateFile> = out
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "rs"))
        .map(|(p, t)| CrateFile {
            path: p,
            text: t,
            editable: true,
        })
        .collect();
    let second = unasync_crate(&rust, &ctx, &rules, UnasyncOptions { public });
    let updates: Vec<(PathBuf, String)> = rust
        .iter()
        .zip(second)
        .map(|(f, m)| {
            diagnostics.extend(m.diagnostics);
            (f.path.to_path_buf(), m.output)
        })
        .collect();
    out.extend(updates);
    LibraryRun {
        tree: out,
        diagnostics,
    }
}

/// A readable report of every difference between two trees (unified diffs), empty if equal.
pub fn tree_diff(
    expected: &BTreeMap<PathBuf, String>,
    actual: &BTreeMap<PathBuf, String>,
) -> String {
    let mut report = String::new();
    let keys: std::collections::BTreeSet<&PathBuf> = expected.keys().chain(actual.keys()).collect();
    for key in keys {
        let (e, a) = (expected.get(key), actual.get(key));
        if e == a {
            continue;
        }
        let name = key.display().to_string();
        let diff = similar::TextDiff::from_lines(
            e.map_or("", String::as_str),
            a.map_or("", String::as_str),
        );
        report.push_str(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&format!("expected/{name}"), &format!("actual/{name}"))
                .to_string(),
        );
    }
    report
}

/// A finished command with its timing.
pub struct Ran {
    /// The process output.
    pub output: Output,
    /// Wall-clock seconds.
    pub secs: f64,
}

impl Ran {
    /// Standard output as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Standard error as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Panics with both streams unless the command succeeded.
    pub fn assert_ok(&self, what: &str) {
        assert!(
            self.output.status.success(),
            "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.output.status,
            self.stdout(),
            self.stderr()
        );
    }
}

/// Runs `cargo <args>` in `dir` with the shared nested target directory.
pub fn cargo(dir: &Path, args: &[&str]) -> Ran {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", nested_target_dir())
        // The outer `cargo test` sets these for its own crate; they must not leak in.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PKG_NAME"))
}

/// Runs a command, timing it.
pub fn run(cmd: &mut Command) -> Ran {
    let start = Instant::now();
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    Ran {
        output,
        secs: start.elapsed().as_secs_f64(),
    }
}

/// Builds the codemod binary into the nested target directory and returns its path. (The
/// tests crate cannot use `CARGO_BIN_EXE_*`, which exists only for a crate's own binaries.)
pub fn codemod_binary() -> PathBuf {
    cargo(
        &workspace_root(),
        &[
            "build",
            "-p",
            "lumenize-codemod",
            "--bin",
            "lumenize-codemod",
        ],
    )
    .assert_ok("cargo build -p lumenize-codemod");
    let exe = nested_target_dir()
        .join("debug")
        .join(format!("lumenize-codemod{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.is_file(),
        "codemod binary not found at {}",
        exe.display()
    );
    exe
}

/// Compiler messages (`cargo check/test --message-format=json`) of level warning or error that
/// point into files under `crate_dir`, as `level file:line: message` lines.
pub fn own_compiler_messages(json_lines: &str, crate_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for line in json_lines.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-message" {
            continue;
        }
        let msg = &v["message"];
        let level = msg["level"].as_str().unwrap_or("");
        if level != "warning" && level != "error" {
            continue;
        }
        let spans = msg["spans"].as_array().cloned().unwrap_or_default();
        let Some(span) = spans.iter().find(|s| s["is_primary"] == true) else {
            // "N warnings emitted" summaries have no span; the real messages are counted.
            continue;
        };
        let file = span["file_name"].as_str().unwrap_or("");
        let path = if Path::new(file).is_absolute() {
            PathBuf::from(file)
        } else {
            crate_dir.join(file)
        };
        if path.starts_with(crate_dir) {
            out.push(format!(
                "{level} {file}:{}: {}",
                span["line_start"],
                msg["message"].as_str().unwrap_or("")
            ));
        }
    }
    out
}
