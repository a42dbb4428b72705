//! Planned changes to a text: byte-range splices (with the re-parse unit the safety net checks
//! each one in) and diagnostics at a byte offset.

use crate::results::Severity;

/// The region the safety net re-parses for a splice, and as what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitKind {
    /// A function body: re-parsed as a block.
    Block,
    /// One statement (the innermost holding the splices): re-parsed as a statement.
    Stmt,
    /// Zero or more whole items (imports): re-parsed as a file.
    Items,
    /// The whole file.
    Whole,
}

/// A re-parse unit: `start..end` of the original text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unit {
    pub kind: UnitKind,
    pub start: usize,
    pub end: usize,
}

/// A planned byte-range splice.
#[derive(Clone, Debug)]
pub(crate) struct Splice {
    pub rule: String,
    pub start: usize,
    pub end: usize,
    pub replacement: String,
    pub unit: Unit,
}

/// A planned diagnostic, at a byte offset of the original text.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    pub offset: usize,
    pub rule: String,
    pub message: String,
    pub severity: Severity,
}
