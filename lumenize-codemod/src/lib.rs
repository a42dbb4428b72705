//! Migrates Rust crates from the async `lumenize-core` 0.9 API to the synchronous 1.0 API.
//!
//! SKELETON: the public surface below is the contract between the engine (issue 6) and the CLI
//! (issue 7). The engine fills in `migrate_source`, `CrateContext::scan`, `RuleSet` loading and
//! `migrate_manifest`; the CLI only calls these.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

/// How a diagnostic should be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The tool changed this site; nothing to do.
    Edited,
    /// The tool found a candidate it could not change safely; a person must look.
    NeedsReview,
    /// The file could not be processed (parse failure, safety-net rejection).
    Error,
}

/// One byte-range splice on the original text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edit {
    /// The rule that produced it (e.g. `sync-structured-clone`).
    pub rule: String,
    /// Byte offset where the replaced range starts in the original text.
    pub start: usize,
    /// Byte offset where the replaced range ends (exclusive).
    pub end: usize,
    /// The text that replaces `start..end`.
    pub replacement: String,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column (in characters) of `start`.
    pub column: usize,
}

/// Something the user should know about a site or a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The file (as given to the engine).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The rule id (or `parse` / `safety-net` for file-level errors).
    pub rule: String,
    /// What happened and what to do about it.
    pub message: String,
    /// Edited, needs review, or error.
    pub severity: Severity,
}

/// The result of migrating one file.
#[derive(Debug, Clone, Default)]
pub struct FileMigration {
    /// The migrated text (equal to the input when `edits` is empty).
    pub output: String,
    /// The splices applied, in source order.
    pub edits: Vec<Edit>,
    /// Everything reported, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl FileMigration {
    /// True when the output differs from the input.
    pub fn changed(&self) -> bool {
        !self.edits.is_empty()
    }
}

/// The rules to apply: the built-in lumenize rules, optionally extended by a user config file
/// and narrowed by `--rule` / `--skip-rule`.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    _private: (),
}

/// A short description of one rule, for `list-rules`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// The rule id, e.g. `sync-structured-clone`.
    pub id: String,
    /// One line: what it rewrites.
    pub summary: String,
    /// Where it came from: `built-in` or the config file's path.
    pub source: String,
}

/// A rule set could not be built (unreadable or invalid config, unknown rule id).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

impl RuleSet {
    /// The built-in lumenize 0.9 -> 1.0 rules.
    pub fn builtin() -> RuleSet {
        RuleSet::default()
    }

    /// The built-in rules plus the rules declared in a config file's text
    /// (`lumenize-codemod.toml` format). `origin` names the file in errors and in `RuleInfo`.
    pub fn with_config(self, _toml_text: &str, _origin: &Path) -> Result<RuleSet, RuleError> {
        Ok(self)
    }

    /// Keeps only the rules whose ids are listed (`--rule`). Unknown ids are an error.
    pub fn only(self, _ids: &[String]) -> Result<RuleSet, RuleError> {
        Ok(self)
    }

    /// Drops the rules whose ids are listed (`--skip-rule`). Unknown ids are an error.
    pub fn skip(self, _ids: &[String]) -> Result<RuleSet, RuleError> {
        Ok(self)
    }

    /// Every active rule, in a stable order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        Vec::new()
    }
}

/// What the engine needs to know about the crate a file belongs to (re-exports of lumenize
/// items through `crate::`/`super::` paths, and the like).
#[derive(Debug, Clone, Default)]
pub struct CrateContext {
    _private: (),
}

impl CrateContext {
    /// Builds the context from the crate's source files (`(path, text)` pairs).
    pub fn scan<'a>(_files: impl IntoIterator<Item = (&'a Path, &'a str)>) -> CrateContext {
        CrateContext::default()
    }
}

/// Migrates one file's text. Never panics; problems become diagnostics.
pub fn migrate_source(
    _file: &Path,
    source: &str,
    _ctx: &CrateContext,
    _rules: &RuleSet,
) -> FileMigration {
    FileMigration {
        output: source.to_string(),
        ..FileMigration::default()
    }
}

/// Migrates a `Cargo.toml` (the `bump-dependency` rule), format-preserving.
pub fn migrate_manifest(_file: &Path, source: &str, _rules: &RuleSet) -> FileMigration {
    FileMigration {
        output: source.to_string(),
        ..FileMigration::default()
    }
}

/// A cheap byte test: false means the file certainly has nothing to migrate.
pub fn may_need_migration(source: &[u8]) -> bool {
    memchr::memmem::find(source, b"lumenize").is_some()
        || memchr::memmem::find(source, b".await").is_some()
}
