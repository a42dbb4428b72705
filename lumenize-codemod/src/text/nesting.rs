//! A cheap upper bound on how deeply a text nests, checked before syn parses it.
//!
//! syn parses nested expressions, types and closures recursively, so a file nested deep enough
//! (generated code, a hostile input) overflows even a large thread stack, and a stack overflow
//! aborts the whole process: no diagnostic, no output for the other files. One linear pass over
//! the bytes (comments, strings and character literals skipped) estimates the nesting and the
//! file is refused with a diagnostic when the estimate passes [`MAX_NESTING`].
//!
//! The estimate is the open `(`/`[`/`{` delimiters, plus twice the open `<` of the current
//! statement (a generic type level costs syn about twice a parenthesis), plus half the `|` of
//! the current statement (closure heads: `|| || || 1`). Real code stays far below the cap.

/// The largest estimate accepted. syn, in a debug build on the 256 MiB worker stack, parsed
/// 10,000 nested parentheses and 4,000 nested `Vec<…>` and overflowed at 8,000 `Vec<…>`.
pub(crate) const MAX_NESTING: usize = 4000;

/// The byte offset where `text` first nests deeper than `limit` (by the estimate above), or
/// `None` when it never does. Linear in `text.len()`, allocates nothing.
pub(crate) fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let b = text.as_bytes();
    let (mut delims, mut angles, mut bars) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match c {
            b'/' if next == Some(b'/') => i = skip_line(b, i),
            b'/' if next == Some(b'*') => i = skip_block_comment(b, i),
            b'"' => i = skip_string(b, i + 1),
            b'r' if raw_string_start(b, i).is_some() => {
                let (hashes, quote) = raw_string_start(b, i).unwrap_or((0, i));
                i = skip_raw_string(b, quote + 1, hashes);
            }
            b'\'' => i = skip_char_or_lifetime(b, i),
            b'(' | b'[' | b'{' => {
                delims += 1;
                if c == b'{' {
                    (angles, bars) = (0, 0);
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                delims = delims.saturating_sub(1);
                if c == b'}' {
                    (angles, bars) = (0, 0);
                }
                i += 1;
            }
            b';' => {
                (angles, bars) = (0, 0);
                i += 1;
            }
            b'<' if !matches!(next, Some(b'=' | b'<' | b'-')) && prev(b, i) != Some(b'<') => {
                angles += 1;
                i += 1;
            }
            b'>' if !matches!(prev(b, i), Some(b'-' | b'=')) && next != Some(b'=') => {
                angles = angles.saturating_sub(1);
                i += 1;
            }
            b'|' => {
                bars += 1;
                i += 1;
            }
            _ => i += 1,
        }
        if delims + 2 * angles + bars / 2 > limit {
            return Some(i.saturating_sub(1).min(b.len()));
        }
    }
    None
}

fn prev(b: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).map(|p| b[p])
}

fn skip_line(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n)
}

/// Block comments nest in Rust.
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// From just after the opening quote to just after the closing one.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// `r"`, `r#"`, `br#"`, `cr"` at `i` (the `r`, not inside an identifier): the number of `#`
/// and the offset of the quote.
fn raw_string_start(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let before = prev(b, i);
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let prefixed = matches!(before, Some(b'b' | b'c')) && prev(b, i - 1).is_none_or(|c| !ident(c))
        || before.is_none_or(|c| !ident(c));
    if !prefixed {
        return None;
    }
    let mut j = i + 1;
    while b.get(j) == Some(&b'#') {
        j += 1;
    }
    (b.get(j) == Some(&b'"')).then_some((j - i - 1, j))
}

fn skip_raw_string(b: &[u8], mut i: usize, hashes: usize) -> usize {
    while i < b.len() {
        if b[i] == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    b.len()
}

/// `'x'`, `'\n'`, `'\u{1F600}'`, a multi-byte `'é'`, or a lifetime `'a` (only the quote is
/// skipped: the name is an identifier).
fn skip_char_or_lifetime(b: &[u8], i: usize) -> usize {
    if b.get(i + 1) == Some(&b'\\') {
        let close = memchr::memchr(b'\'', &b[(i + 3).min(b.len())..]);
        return close.map_or(b.len(), |n| i + 3 + n + 1);
    }
    // One character (1 to 4 bytes) then a quote: a char literal.
    let width = match b.get(i + 1) {
        Some(&c) if c < 0x80 => 1,
        Some(&c) if c >= 0xf0 => 4,
        Some(&c) if c >= 0xe0 => 3,
        Some(_) => 2,
        None => return b.len(),
    };
    if b.get(i + 1 + width) == Some(&b'\'') {
        i + 2 + width
    } else {
        i + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_delimiters_generics_and_closure_heads() {
        let parens = format!("fn f() {{ {}1{} }}", "(".repeat(50), ")".repeat(50));
        assert_eq!(too_deep(&parens, 60), None);
        assert!(too_deep(&parens, 40).is_some());
        let generics = format!("type T = {}u8{};", "Vec<".repeat(30), ">".repeat(30));
        assert!(too_deep(&generics, 50).is_some());
        assert_eq!(too_deep(&generics, 70), None);
        let closures = format!("fn f() {{ let x = {}1; }}", "|| ".repeat(100));
        assert!(too_deep(&closures, 50).is_some());
    }

    #[test]
    fn comparisons_and_statements_do_not_accumulate() {
        let many = "fn f() { let a = x < y; let b = p -> q; a <= b; c << 2; }\n".repeat(10_000);
        assert_eq!(too_deep(&many, 10), None);
    }

    #[test]
    fn literals_and_comments_are_skipped() {
        let text = format!(
            "// {o}\n/* /* {o} */ {o} */ const A: &str = \"{o}\\\"{o}\"; const B: &str = \
             r#\"{o}\"#; const C: char = '('; const D: char = '\\u{{28}}'; fn g<'a>(x: &'a u8) {{}}",
            o = "(".repeat(100)
        );
        assert_eq!(too_deep(&text, 5), None);
    }
}
