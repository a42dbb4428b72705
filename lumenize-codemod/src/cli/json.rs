//! `--format json`: one typed record per line. The field names and meanings are a contract
//! (documented in `--help` by `args::json_schema!`, pinned by a snapshot test): fields may be
//! added, with [`SCHEMA_VERSION`] raised; none is removed or renamed.

use std::collections::BTreeMap;

use lumenize_codemod::{Diagnostic, Edit, Severity};
use serde::Serialize;

use super::span::Span;

/// The version of the JSON records. 1 was the untyped output before end positions; 2 adds
/// `schema_version` and `end_line`/`end_column` everywhere a position is given.
pub const SCHEMA_VERSION: u32 = 2;

/// One line of JSON output.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Record<'a> {
    /// One replaced range.
    Edit {
        schema_version: u32,
        file: &'a str,
        rule: &'a str,
        #[serde(flatten)]
        span: Span,
        /// Byte offsets into the original file, `end` exclusive.
        start: usize,
        end: usize,
        original: &'a str,
        replacement: &'a str,
    },
    /// One finding.
    Diagnostic {
        schema_version: u32,
        file: String,
        #[serde(flatten)]
        span: Span,
        rule: &'a str,
        severity: Severity,
        message: &'a str,
    },
    /// A file that changes (or would).
    File {
        schema_version: u32,
        file: &'a str,
        edits: usize,
        written: bool,
        diff: Option<&'a str>,
    },
    /// A crate not read.
    SkippedCrate {
        schema_version: u32,
        crate_dir: &'a str,
        reason: &'a str,
    },
    /// The last line.
    Summary {
        schema_version: u32,
        command: &'a str,
        files_scanned: usize,
        files_changed: usize,
        edits: usize,
        edits_by_rule: &'a BTreeMap<String, usize>,
        needs_review: usize,
        errors: usize,
        crates_skipped: usize,
        exit_code: u8,
    },
    /// `list-rules --format json`.
    Rule {
        schema_version: u32,
        id: &'a str,
        summary: &'a str,
        source: &'a str,
    },
}

impl<'a> Record<'a> {
    /// The record of one edit of `file`, `original` being the replaced text.
    pub fn edit(file: &'a str, e: &'a Edit, span: Span, original: &'a str) -> Record<'a> {
        Record::Edit {
            schema_version: SCHEMA_VERSION,
            file,
            rule: &e.rule,
            span,
            start: e.start,
            end: e.end,
            original,
            replacement: &e.replacement,
        }
    }

    /// The record of a diagnostic.
    pub fn diagnostic(d: &'a Diagnostic, span: Span) -> Record<'a> {
        Record::Diagnostic {
            schema_version: SCHEMA_VERSION,
            file: d.file.to_string_lossy().into_owned(),
            span,
            rule: &d.rule,
            severity: d.severity,
            message: &d.message,
        }
    }

    /// One JSON line (no newline).
    pub fn line(&self) -> String {
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
