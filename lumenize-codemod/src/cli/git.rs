//! The dirty-tree warning for `apply`.
//!
//! cargo fix refuses to run on a dirty tree and users keep asking for a way around it
//! (cargo#12825, cargo#14176); we only warn, so the user knows `git diff` will mix their own
//! changes with ours. Not a git checkout, or no git installed: no warning, no error.

use std::path::Path;
use std::process::{Command, Stdio};

/// The paths (relative to the repository) with uncommitted changes to tracked files in the
/// repository containing `dir`, or `None` when `dir` is not in a git checkout.
pub fn dirty_files(dir: &Path) -> Option<Vec<String>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Some(
        text.lines()
            .filter_map(|l| l.get(3..))
            .map(str::to_string)
            .collect(),
    )
}
