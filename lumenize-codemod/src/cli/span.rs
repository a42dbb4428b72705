//! Start and end positions of edits and diagnostics, for the machine formats (JSON, GitHub
//! annotations, SARIF regions). Lines are 1-based; columns are 1-based and count characters
//! (a BOM is not counted); the end is exclusive (the position just after the range).
//!
//! The library reports where a diagnostic starts; its end here is the end of the token there
//! (`parse`, `.await`, `execute_operation_chain`), enough to underline it. Computed only for the
//! machine formats, on files that have something to report.

use lumenize_codemod::{Diagnostic, Edit};
use serde::Serialize;

/// A range of a file as lines and columns. All zero for a file-level finding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Span {
    /// 1-based line of the start (0: the whole file).
    pub line: usize,
    /// 1-based column (characters) of the start.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column just after the end (exclusive).
    pub end_column: usize,
}

impl Span {
    /// A point: where a diagnostic without a known extent starts (file-level: all zero).
    pub fn point(line: usize, column: usize) -> Span {
        Span {
            line,
            column,
            end_line: line,
            end_column: column,
        }
    }

    /// The span of a diagnostic with no text to measure.
    pub fn of_diagnostic(d: &Diagnostic) -> Span {
        Span::point(d.line, d.column)
    }
}

/// Byte offsets of line starts, for turning offsets into lines and columns and back.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// Indexes `text` (one pass).
    pub fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Lines { text, starts }
    }

    /// Line and column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.line_start(line);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }

    /// The first byte of 1-based `line`, past a BOM on line 1.
    fn line_start(&self, line: usize) -> usize {
        let start = self.starts[line.clamp(1, self.starts.len()) - 1];
        if start == 0 && self.text.starts_with('\u{feff}') {
            3
        } else {
            start
        }
    }

    /// The byte offset of a 1-based line and column (clamped to the line).
    fn offset(&self, line: usize, column: usize) -> usize {
        let start = self.line_start(line);
        let rest = &self.text[start..];
        let line_end = rest.find('\n').map_or(rest.len(), |n| n);
        rest[..line_end]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(start + line_end, |(i, _)| start + i)
    }

    /// The span of an edit's replaced range.
    pub fn edit(&self, e: &Edit) -> Span {
        let (line, column) = self.position(e.start);
        let (end_line, end_column) = self.position(e.end);
        Span {
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// The span of the token a diagnostic points at.
    pub fn diagnostic(&self, d: &Diagnostic) -> Span {
        if d.line == 0 {
            return Span::of_diagnostic(d);
        }
        let start = self.offset(d.line, d.column);
        let (end_line, end_column) = self.position(token_end(self.text, start));
        Span {
            line: d.line,
            column: d.column,
            end_line,
            end_column,
        }
    }
}

/// The end of the token at `start`: an identifier (or `.ident`, as in `.await`), else one
/// character.
fn token_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let skip = usize::from(rest.starts_with('.') && rest[1..].starts_with(ident));
    let len = rest[skip..]
        .char_indices()
        .find(|&(_, c)| !ident(c))
        .map_or(rest.len() - skip, |(i, _)| i);
    if skip + len == 0 {
        start + rest.chars().next().map_or(0, char::len_utf8)
    } else {
        start + skip + len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lumenize_codemod::Severity;

    #[test]
    fn ends_are_exclusive_and_count_characters() {
        let text = "\u{feff}é = parse(x, None)\n    .await;\n";
        let lines = Lines::new(text);
        let at = text.find("parse").unwrap();
        let e = Edit {
            rule: "r".into(),
            start: at,
            end: text.find(";").unwrap(),
            replacement: String::new(),
            line: 1,
            column: 5,
        };
        let s = lines.edit(&e);
        assert_eq!((s.line, s.column, s.end_line, s.end_column), (1, 5, 2, 11));
        let d = |line, column| Diagnostic {
            file: "f".into(),
            line,
            column,
            rule: "r".into(),
            message: String::new(),
            severity: Severity::NeedsReview,
        };
        assert_eq!(
            lines.diagnostic(&d(1, 5)),
            Span {
                line: 1,
                column: 5,
                end_line: 1,
                end_column: 10
            }
        );
        // `.await` is one token.
        assert_eq!(lines.diagnostic(&d(2, 5)).end_column, 11);
        // Punctuation: one character; file-level: zero.
        assert_eq!(lines.diagnostic(&d(1, 3)).end_column, 4);
        assert_eq!(lines.diagnostic(&d(0, 0)), Span::default());
    }
}
