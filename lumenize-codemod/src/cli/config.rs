//! Building the `RuleSet` for each crate: `--config`, or the discovered `lumenize-codemod.toml`,
//! then `--rule` / `--skip-rule`.
//!
//! Discovery looks in the crate directory and its ancestors, stopping at the workspace root
//! (the nearest `[workspace]` manifest) or at the repository root (a `.git` entry), whichever
//! comes first. Rule sets are cached per config file so a workspace builds each one once.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lumenize_codemod::RuleSet;

use super::walk;

/// The config file name looked for.
pub const CONFIG_NAME: &str = "lumenize-codemod.toml";

/// Rule selection from the command line.
#[derive(Debug, Clone, Default)]
pub struct RuleChoice {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--rule`.
    pub only: Vec<String>,
    /// `--skip-rule`.
    pub skip: Vec<String>,
}

/// A rule set and whether a config file contributed to it.
#[derive(Debug)]
pub struct ActiveRules {
    /// The rules.
    pub set: RuleSet,
    /// The packages whose users get migrated: lumenize-core (and the legacy package), plus
    /// the crates a config file's rules name.
    pub packages: BTreeSet<String>,
}

/// Builds and caches rule sets.
#[derive(Debug, Default)]
pub struct Rules {
    choice: RuleChoice,
    cache: HashMap<Option<PathBuf>, Arc<ActiveRules>>,
}

impl Rules {
    /// A cache for one run.
    pub fn new(choice: RuleChoice) -> Rules {
        Rules {
            choice,
            cache: HashMap::new(),
        }
    }

    /// The rule set for files in `dir` (a crate directory, or the directory of a loose file).
    /// Errors name the config file and the reason.
    pub fn for_dir(&mut self, dir: Option<&Path>) -> Result<Arc<ActiveRules>, String> {
        let config = match &self.choice.config {
            Some(c) => Some(c.clone()),
            None => dir.and_then(discover),
        };
        if let Some(set) = self.cache.get(&config) {
            return Ok(set.clone());
        }
        let (set, extra) = build_with_packages(config.as_deref(), &self.choice)?;
        let mut packages = walk::lumenize_packages();
        packages.extend(extra);
        let set = Arc::new(ActiveRules { set, packages });
        self.cache.insert(config, set.clone());
        Ok(set)
    }
}

/// Builds one rule set from an optional config file and the --rule/--skip-rule lists.
pub fn build(config: Option<&Path>, choice: &RuleChoice) -> Result<RuleSet, String> {
    build_with_packages(config, choice).map(|(set, _)| set)
}

/// Like [`build`], also returning the package names the config file's rules target.
fn build_with_packages(
    config: Option<&Path>,
    choice: &RuleChoice,
) -> Result<(RuleSet, BTreeSet<String>), String> {
    let mut set = RuleSet::builtin();
    let mut packages = BTreeSet::new();
    if let Some(path) = config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        set = set
            .with_config(&text, path)
            .map_err(|e| format!("invalid config {}: {e}", path.display()))?;
        packages = target_packages(&text);
    }
    if !choice.only.is_empty() {
        set = set.only(&choice.only).map_err(|e| format!("--rule: {e}"))?;
    }
    if !choice.skip.is_empty() {
        set = set
            .skip(&choice.skip)
            .map_err(|e| format!("--skip-rule: {e}"))?;
    }
    Ok((set, packages))
}

/// The packages a config file's rules are about: `[[dependency]] package`, and the first
/// segment of every item path (`my_db::query::fetch` -> `my_db` and `my-db`), so crates using
/// them are not skipped as "not a lumenize crate". The engine has already validated the text.
fn target_packages(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return out;
    };
    let tables = |name: &str| {
        doc.get(name)
            .and_then(toml_edit::Item::as_array_of_tables)
            .into_iter()
            .flat_map(|a| a.iter())
    };
    for t in tables("dependency") {
        if let Some(p) = t.get("package").and_then(toml_edit::Item::as_str) {
            out.insert(p.to_string());
        }
    }
    for kind in ["sync-fn", "fn-to-method", "removed-item", "sync-method"] {
        for t in tables(kind) {
            for key in ["paths", "receiver-types"] {
                let Some(paths) = t.get(key).and_then(toml_edit::Item::as_array) else {
                    continue;
                };
                for first in paths
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter_map(|p| p.split("::").next())
                    .filter(|c| !c.is_empty() && !c.contains('*'))
                {
                    out.insert(first.to_string());
                    out.insert(first.replace('_', "-"));
                }
            }
        }
    }
    out
}

/// The nearest `lumenize-codemod.toml` from `dir` upwards, within the workspace/repository.
pub fn discover(dir: &Path) -> Option<PathBuf> {
    let stop = walk::workspace_root(dir).map(|(root, _)| root);
    for d in dir.ancestors() {
        let candidate = d.join(CONFIG_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if stop.as_deref() == Some(d) || d.join(".git").exists() {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_target_packages() {
        let text = r#"
[rules.db-sync]
summary = "x"
[[sync-fn]]
rule = "db-sync"
paths = ["my_db::query::fetch_all"]
[[sync-method]]
rule = "db-sync"
methods = ["query"]
receiver-types = ["other_db::**::Db", "**::Any"]
[[dependency]]
rule = "db-sync"
package = "my-db-legacy"
from = "0.4"
to = "1"
"#;
        let p = target_packages(text);
        for name in ["my_db", "my-db", "other_db", "other-db", "my-db-legacy"] {
            assert!(p.contains(name), "{name} in {p:?}");
        }
        assert!(!p.iter().any(|n| n.contains('*')));
        assert!(target_packages("not [ toml").is_empty());
    }
}
