//! The command line's one error type: what stops a run before any file is migrated (a bad
//! config file, an unknown rule id, a bad glob). Problems with single files are diagnostics.

use std::path::PathBuf;

use lumenize_codemod::RuleError;

/// A run could not start.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The config file could not be read.
    #[error("cannot read config {}: {source}", path.display())]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is invalid.
    #[error("invalid config {source}")]
    InvalidConfig { path: PathBuf, source: RuleError },
    /// `--rule` named an unknown rule.
    #[error("--rule: {0}")]
    Rule(#[source] RuleError),
    /// `--skip-rule` named an unknown rule.
    #[error("--skip-rule: {0}")]
    SkipRule(#[source] RuleError),
    /// An `--include`/`--exclude` glob is invalid.
    #[error("bad glob {glob:?}: {source}")]
    Glob { glob: String, source: ignore::Error },
    /// The globs could not be compiled.
    #[error("bad glob: {0}")]
    Globs(#[source] ignore::Error),
}
