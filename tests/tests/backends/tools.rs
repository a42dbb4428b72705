//! The pinned tools the workerd backend needs, installed on first use from the package
//! registries only (crates.io and npm), and the example worker built with them.
//!
//! | tool | version | from |
//! |---|---|---|
//! | `worker-build` | 0.8.7 | `cargo install --debug` |
//! | `wasm-bindgen` (CLI) | 0.2.130, equal to the crate in Cargo.lock | `cargo install --debug` (not `--locked`: its lockfile names a yanked crate) |
//! | `workerd` | 1.20261117.1 | npm |
//! | `esbuild` | 0.28.2 | npm (worker-build's bundler; otherwise it downloads one itself) |
//!
//! They live in `<target>/cf-tools` (or `$LUMENIZE_CF_TOOLS`), so a warm target directory
//! installs nothing. Debug builds of the two cargo tools install in about 6 minutes on 2
//! cores and produce byte-identical output to release builds. A missing tool that cannot be
//! installed (no npm, no wasm32 target) fails the test loudly: the suite never passes by
//! skipping.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

const WORKER_BUILD: &str = "0.8.7";
const WASM_BINDGEN: &str = "0.2.130";
const WORKERD: &str = "1.20261117.1";
const ESBUILD: &str = "0.28.2";

/// Paths of the installed tools.
pub struct Tools {
    pub worker_build: PathBuf,
    pub wasm_bindgen: PathBuf,
    pub esbuild: PathBuf,
    pub workerd: PathBuf,
}

/// The target directory of the outer build (`CARGO_TARGET_TMPDIR` is `<target>/tmp`).
pub fn target_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map(Path::to_path_buf).unwrap_or(tmp)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// Runs a long step with its output on the terminal (children write to the real stderr,
/// which the test harness does not capture), so a first run shows its progress.
fn run(what: &str, cmd: &mut Command) {
    let say = |line: String| {
        let _ = writeln!(std::io::stderr(), "[workerd suite] {line}");
    };
    say(format!("{what}…"));
    let started = Instant::now();
    let status = cmd
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        status.success(),
        "{what} failed ({status}); its output is above"
    );
    say(format!("{what}: done in {:.0?}", started.elapsed()));
}

/// Installs what is missing (once per process) and returns the tools.
pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(install)
}

fn install() -> Tools {
    let dir = std::env::var_os("LUMENIZE_CF_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("cf-tools"));
    std::fs::create_dir_all(&dir).expect("create the tools directory");
    ensure_wasm_target();
    let bin = dir.join("bin");
    for (name, krate, version) in [
        ("worker-build", "worker-build", WORKER_BUILD),
        ("wasm-bindgen", "wasm-bindgen-cli", WASM_BINDGEN),
    ] {
        if !installed(&bin.join(name), version) {
            run(
                &format!("cargo install {krate} {version} (debug build, a few minutes)"),
                Command::new(cargo())
                    .args(["install", "--debug", "--force", "--root"])
                    .arg(&dir)
                    .arg("--target-dir")
                    .arg(dir.join("build"))
                    .args([krate, "--version", version]),
            );
        }
    }
    let npm = dir.join("npm");
    let workerd = npm.join("node_modules/.bin/workerd");
    let esbuild = npm.join("node_modules/@esbuild/linux-x64/bin/esbuild");
    let wanted = format!("workerd@{WORKERD} esbuild@{ESBUILD}");
    let stamp = npm.join("installed.txt");
    if !(workerd.exists() && esbuild.exists())
        || std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str())
    {
        std::fs::create_dir_all(&npm).expect("create the npm directory");
        run(
            &format!("npm install {wanted}"),
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&npm)
                .args([format!("workerd@{WORKERD}"), format!("esbuild@{ESBUILD}")]),
        );
        std::fs::write(&stamp, &wanted).expect("write the npm stamp");
    }
    Tools {
        worker_build: bin.join("worker-build"),
        wasm_bindgen: bin.join("wasm-bindgen"),
        esbuild,
        workerd,
    }
}

/// True when `path` runs and reports `version`.
fn installed(path: &Path, version: &str) -> bool {
    Command::new(path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(version))
}

fn ensure_wasm_target() {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib/wasm32-unknown-unknown").exists() {
        return;
    }
    run(
        "rustup target add wasm32-unknown-unknown",
        Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
    );
}

/// Builds `examples/reminders-worker` with worker-build (release, once per process) and
/// returns its output directory (`index.js` + `index_bg.wasm`).
pub fn built_worker() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let t = tools();
        let example = workspace_root().join("examples/reminders-worker");
        let mut path = std::env::var_os("PATH").unwrap_or_default();
        if let Some(bin) = t.worker_build.parent() {
            let mut dirs = vec![bin.to_path_buf()];
            dirs.extend(std::env::split_paths(&path));
            path = std::env::join_paths(dirs).expect("a valid PATH");
        }
        run(
            "worker-build --release examples/reminders-worker",
            Command::new(&t.worker_build)
                .arg("--release")
                .current_dir(&example)
                .env("PATH", path)
                .env("WASM_BINDGEN_BIN", &t.wasm_bindgen)
                .env("ESBUILD_BIN", &t.esbuild)
                // Its own target directory: the outer `cargo test` holds the lock of its own.
                .env("CARGO_TARGET_DIR", target_dir().join("cf-wasm"))
                // The workspace's release profile keeps debug info for benchmarks; a worker
                // does not need it.
                .env("CARGO_PROFILE_RELEASE_DEBUG", "0"),
        );
        let out = example.join("build");
        for f in ["index.js", "index_bg.wasm"] {
            assert!(
                out.join(f).exists(),
                "worker-build did not produce build/{f}"
            );
        }
        out
    })
}
