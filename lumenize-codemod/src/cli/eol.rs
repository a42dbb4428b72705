//! Line endings: text the rules insert into a CRLF file gets CRLF.

use lumenize_codemod::{apply_edits, Edit};

/// The output text with the file's line-ending convention applied to inserted text.
///
/// The engine inserts `\n`; in a file whose lines end in `\r\n`, every `\n` a replacement
/// introduces becomes `\r\n`. This is done by re-splicing the edits on the original, so text
/// the tool did not insert is never touched. When the edits do not reproduce the engine's
/// output (they should), the engine's output is used as is.
pub fn with_line_endings(original: &str, output: String, edits: &[Edit]) -> String {
    if !is_crlf(original) || !edits.iter().any(|e| has_bare_lf(&e.replacement)) {
        return output;
    }
    if apply_edits(original, edits).is_none_or(|plain| plain != output) {
        return output;
    }
    let crlf: Vec<Edit> = edits
        .iter()
        .map(|e| Edit {
            replacement: to_crlf(&e.replacement),
            ..e.clone()
        })
        .collect();
    apply_edits(original, &crlf).unwrap_or(output)
}

/// Most line breaks in `text` are CRLF.
fn is_crlf(text: &str) -> bool {
    let lf = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    let crlf = memchr::memmem::find_iter(text.as_bytes(), b"\r\n").count();
    crlf > 0 && crlf * 2 >= lf
}

fn has_bare_lf(s: &str) -> bool {
    s.as_bytes()
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || s.as_bytes()[i - 1] != b'\r'))
}

fn to_crlf(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev = '\0';
    for c in s.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, replacement: &str) -> Edit {
        Edit {
            rule: "r".into(),
            start,
            end,
            replacement: replacement.into(),
            line: 1,
            column: 1,
        }
    }

    #[test]
    fn crlf_file_gets_crlf_in_inserted_text_only() {
        let original = "a\r\nb\r\n";
        let edits = vec![edit(0, 1, "x\ny")];
        let lf_output = "x\ny\r\nb\r\n".to_string();
        assert_eq!(
            with_line_endings(original, lf_output, &edits),
            "x\r\ny\r\nb\r\n"
        );
    }

    #[test]
    fn lf_file_and_inconsistent_edits_are_left_alone() {
        let edits = vec![edit(0, 1, "x\ny")];
        assert_eq!(
            with_line_endings("a\nb\n", "x\ny\nb\n".into(), &edits),
            "x\ny\nb\n"
        );
        // Output that the edits do not reproduce: trust the engine's output.
        assert_eq!(with_line_endings("a\r\nb\r\n", "zzz".into(), &edits), "zzz");
    }
}
