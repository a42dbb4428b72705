//! Layer 0, what a migration returns: the public result types ([`FileMigration`], its
//! [`Edit`]s and [`Diagnostic`]s). Plain data; every other layer may use them.

use std::path::PathBuf;

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
