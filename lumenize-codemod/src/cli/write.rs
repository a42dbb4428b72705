//! Writing migrated files: each crate's files replaced all or nothing by the library's
//! atomic writer ([`lumenize_codemod::write`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use lumenize_codemod::write::{replace_all, Replace};
use lumenize_codemod::{Diagnostic, Severity};

use super::process::Outcome;

/// Writes the changed outcomes, one group per crate (its `Cargo.toml` included; a loose file
/// is its own group), each group all or nothing through [`replace_all`]. A group that fails
/// gets an error on the file at fault and a `write` error on each of its other files; their
/// edits are cleared, as nothing of them was written. Returns which outcomes were written.
pub fn write_groups(outcomes: &mut [Outcome], crate_of: &HashMap<&Path, &Path>) -> Vec<bool> {
    let mut groups: BTreeMap<Option<&Path>, Vec<usize>> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate().filter(|(_, o)| o.changed()) {
        let key = crate_of.get(o.path.as_path()).copied();
        // Loose files: one group each (keyed by the file itself).
        let key = key.or(Some(o.path.as_path()));
        groups.entry(key).or_default().push(i);
    }
    let mut written = vec![false; outcomes.len()];
    let mut failed: Vec<(usize, String)> = Vec::new();
    for members in groups.values() {
        let files: Vec<Replace> = members
            .iter()
            .map(|&i| Replace {
                path: &outcomes[i].path,
                original: outcomes[i].original.as_bytes(),
                contents: outcomes[i].output.as_bytes(),
            })
            .collect();
        match replace_all(&files) {
            Ok(()) => members.iter().for_each(|&i| written[i] = true),
            Err(e) => {
                let culprit = e.path().to_path_buf();
                for &i in members {
                    let msg = if outcomes[i].path == culprit {
                        format!("not written: {e}")
                    } else {
                        format!(
                            "not written, so that the crate is not left half-migrated: {} \
                             could not be written",
                            culprit.display()
                        )
                    };
                    failed.push((i, msg));
                }
            }
        }
    }
    for (i, message) in failed {
        let o = &mut outcomes[i];
        o.diagnostics.push(Diagnostic {
            file: PathBuf::from(&o.display),
            line: 0,
            column: 0,
            rule: "write".to_string(),
            message,
            severity: Severity::Error,
        });
        o.edits.clear();
    }
    written
}
