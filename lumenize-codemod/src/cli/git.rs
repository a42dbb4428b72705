//! Asking git which files have uncommitted changes, for `apply`'s dirty-file refusal.
//!
//! Like `cargo fix`, `apply` refuses to overwrite a file with uncommitted changes (the
//! migration and the user's work would be mixed, and `git checkout` could not undo one
//! without the other); `--allow-dirty` goes on anyway. Files it does not write may be dirty.
//! Not a git checkout, or no git installed: nothing to refuse.
//!
//! git runs on a repository the user may not have written (a dependency, a checkout under
//! review), so it runs without that repository's executable configuration: no fsmonitor hook,
//! no hooks directory, no system config, no clean/smudge filters (attributes are read from the
//! empty tree, git ≥ 2.40), no optional lock writes, no prompts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// git's well-known empty tree: attributes read from it select no filter.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// The git checkout containing a directory, and its files with uncommitted changes.
#[derive(Debug)]
pub struct Checkout {
    /// The work tree's top directory (canonical).
    pub root: PathBuf,
    /// Absolute paths of modified, staged, deleted or untracked files (ignored ones excepted).
    pub dirty: BTreeSet<PathBuf>,
}

/// `git` with the inspected repository's hooks, fsmonitor and filters turned off.
fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(["-c", "core.untrackedCache=false", "--no-optional-locks"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_ATTR_SOURCE", EMPTY_TREE)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The checkout containing `dir`, or `None` when `dir` is not in one (or git is missing).
pub fn checkout(dir: &Path) -> Option<Checkout> {
    let top = git(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let root = String::from_utf8(top.stdout).ok()?;
    let root = std::fs::canonicalize(root.trim_end_matches(['\n', '\r'])).ok()?;
    let status = git(&root)
        .args(["status", "--porcelain=v1", "-z", "--untracked-files=all"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut dirty = BTreeSet::new();
    let mut entries = status.stdout.split(|&b| b == 0);
    while let Some(entry) = entries.next() {
        let (Some(xy), Some(path)) = (entry.get(..2), entry.get(3..)) else {
            continue;
        };
        dirty.insert(root.join(String::from_utf8_lossy(path).as_ref()));
        // A rename or copy is followed by its source path.
        if xy[0] == b'R' || xy[0] == b'C' {
            entries.next();
        }
    }
    Some(Checkout { root, dirty })
}
