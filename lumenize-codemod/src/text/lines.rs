//! Positions in the original text: byte offsets to 1-based line/column, line endings, and the
//! small lexical checks the rewriter needs (is a gap only whitespace? does it hold a comment?).
//!
//! Columns count characters, not bytes, so they match what an editor shows; a BOM and CRLF line
//! endings are part of the original text and never confuse the count.

/// Maps byte offsets of one text to 1-based (line, column).
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    /// 1-based line and character column of `offset` (clamped to the text).
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let mut col = self.text[self.starts[line]..offset].chars().count() + 1;
        // A BOM is invisible in editors; do not count it as a column.
        if line == 0 && self.text.starts_with('\u{feff}') && offset > 0 {
            col -= 1;
        }
        (line + 1, col)
    }

    /// 1-based line of `offset` (clamped to the text).
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset.min(self.text.len()))
    }

    /// Byte offset of 1-based `line` and `column` as [`LineIndex::line_col`] counts them
    /// (clamped to the line, and to the text).
    pub(crate) fn offset(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.max(1) - 1) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let line_len = rest.find('\n').unwrap_or(rest.len());
        // The BOM is not a column (see `line_col`).
        let skip = usize::from(start == 0 && rest.starts_with('\u{feff}'));
        let col = rest[..line_len]
            .char_indices()
            .nth((column.saturating_sub(1)) + skip)
            .map_or(line_len, |(i, _)| i);
        start + col
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The newline sequence the file already uses (`\r\n` if its first line ends that way).
pub(crate) fn line_ending(text: &str) -> &'static str {
    match memchr::memchr(b'\n', text.as_bytes()) {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// True when `s` holds only whitespace (no comment, no token).
pub(crate) fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// True when `s` (text between tokens) contains a comment.
pub(crate) fn has_comment(s: &str) -> bool {
    s.contains("//") || s.contains("/*")
}

/// Start of the line containing `offset`.
pub(crate) fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// End of the line containing `offset`, after its newline (or the end of the text).
pub(crate) fn line_end_after_newline(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// The indentation (leading spaces/tabs) of the line containing `offset`.
pub(crate) fn indentation(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..];
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

/// Byte ranges of spans of one lexed text, from their line/column. proc-macro2's own
/// `byte_range` keeps a char-to-byte cache in a BTreeMap per call, which showed up as a tenth
/// of the engine's time; lines are mostly ASCII, where a column is a byte count.
pub(crate) struct SpanPositions<'t> {
    text: &'t str,
    /// Start of each line, and whether the line is ASCII (then a column is a byte count).
    lines: Vec<(usize, bool)>,
}

impl<'t> SpanPositions<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let mut lines = Vec::with_capacity(text.len() / 32);
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
            lines.push((start, text.as_bytes()[start..nl].is_ascii()));
            start = nl + 1;
        }
        SpanPositions { text, lines }
    }

    fn byte(&self, lc: proc_macro2::LineColumn) -> usize {
        let Some(&(ls, ascii)) = self.lines.get(lc.line.wrapping_sub(1)) else {
            return self.text.len();
        };
        if ascii {
            return (ls + lc.column).min(self.text.len());
        }
        let line = &self.text[ls..];
        line.char_indices()
            .nth(lc.column)
            .map_or(self.text.len(), |(i, _)| ls + i)
    }

    /// Byte offset where `span` starts.
    pub(crate) fn start(&self, span: proc_macro2::Span) -> usize {
        self.byte(span.start())
    }

    pub(crate) fn range(&self, span: proc_macro2::Span) -> std::ops::Range<usize> {
        self.byte(span.start())..self.byte(span.end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_inverts_line_col_and_line_counts_newlines() {
        let text = "\u{feff}ab é\r\n\ncd\n";
        let idx = LineIndex::new(text);
        for o in (3..=text.len()).filter(|&o| text.is_char_boundary(o)) {
            let (line, col) = idx.line_col(o);
            assert_eq!(idx.offset(line, col), o, "offset {o}");
            assert_eq!(idx.line(o), line);
            assert_eq!(idx.line(o), text[..o].matches('\n').count() + 1);
        }
        assert_eq!(idx.offset(9, 1), text.len(), "past the last line");
        assert_eq!(
            idx.offset(1, 99),
            text.find('\n').unwrap(),
            "past the line's end"
        );
    }

    #[test]
    fn columns_count_chars_and_skip_the_bom() {
        let text = "\u{feff}ab\r\né x\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(3), (1, 1)); // 'a' after the 3-byte BOM
        assert_eq!(idx.line_col(4), (1, 2));
        let x = text.find('x').unwrap();
        assert_eq!(idx.line_col(x), (2, 3)); // 'é' is one column
        assert_eq!(line_ending(text), "\r\n");
        assert_eq!(line_ending("a\nb"), "\n");
    }

    #[test]
    fn line_helpers() {
        let t = "a\n    use x;\nb";
        let p = t.find("use").unwrap();
        assert_eq!(indentation(t, p), "    ");
        assert_eq!(line_start(t, p), 2);
        assert_eq!(&t[line_end_after_newline(t, p)..], "b");
        assert!(is_blank(" \r\n\t"));
        assert!(has_comment(" /* c */ "));
    }
}
