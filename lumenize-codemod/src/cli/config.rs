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

use super::error::CliError;
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
    pub fn for_dir(&mut self, dir: Option<&Path>) -> Result<Arc<ActiveRules>, CliError> {
        let config = match &self.choice.config {
            Some(c) => Some(c.clone()),
            None => dir.and_then(discover),
        };
        if let Some(set) = self.cache.get(&config) {
            return Ok(set.clone());
        }
        let (set, packages) = build_with_packages(config.as_deref(), &self.choice)?;
        let set = Arc::new(ActiveRules { set, packages });
        self.cache.insert(config, set.clone());
        Ok(set)
    }
}

/// Builds one rule set from an optional config file and the --rule/--skip-rule lists.
pub fn build(config: Option<&Path>, choice: &RuleChoice) -> Result<RuleSet, CliError> {
    build_with_packages(config, choice).map(|(set, _)| set)
}

/// Like [`build`], also returning the packages whose users the rules migrate (taken before
/// `--rule`/`--skip-rule` narrow the set, so a crate is not skipped for using a skipped rule's
/// package).
fn build_with_packages(
    config: Option<&Path>,
    choice: &RuleChoice,
) -> Result<(RuleSet, BTreeSet<String>), CliError> {
    let mut set = RuleSet::builtin();
    if let Some(path) = config {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        set = set
            .with_config(&text, path)
            .map_err(|source| CliError::InvalidConfig {
                path: path.to_path_buf(),
                source,
            })?;
    }
    let packages = set.target_packages().clone();
    if !choice.only.is_empty() {
        set = set.only(&choice.only).map_err(CliError::Rule)?;
    }
    if !choice.skip.is_empty() {
        set = set.skip(&choice.skip).map_err(CliError::SkipRule)?;
    }
    Ok((set, packages))
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
