//! A token-boundary lexer for the safety net: the tokens proc-macro2 would produce for a piece
//! of text, as `(kind, start, end)` triples, without building a `TokenStream` (which allocates
//! per token and registers every text in a thread-local source map).
//!
//! It is a port of proc-macro2's own lexer (`parse.rs`) restricted to a subset it can follow
//! exactly: ASCII text with no control character but tab and newline, no `\u{..}` or
//! line-continuation escapes, no C strings, no `(/*ERROR*/)`. On anything outside that subset,
//! and wherever proc-macro2 would report a lexing error, it returns `None` and the caller lexes
//! with proc-macro2 instead, so it never has to be right about input it does not understand.
//! Debug builds (every test) lex each unit both ways and assert the tokens agree; the ignored
//! test `quick_lexer_agrees_on_a_corpus` does the same over a whole corpus.
//!
//! Token kinds are the constants in [`kind`]. A doc comment is one token over its bytes
//! (proc-macro2 turns it into `#`, `!`, `[doc = "…"]`, all spanning the comment, which
//! compares the same way).

/// A token: kind (one of [`kind`]) and byte range in its text.
pub(crate) type Tok = (u8, usize, usize);

/// The token kinds of [`Tok`] (plain bytes, so a token stays three words).
pub(crate) mod kind {
    /// An identifier or keyword.
    pub const IDENT: u8 = 0;
    /// One punctuation character.
    pub const PUNCT: u8 = 1;
    /// A literal, suffix included.
    pub const LITERAL: u8 = 2;
    /// `(`, `[` or `{`.
    pub const OPEN: u8 = 3;
    /// `)`, `]` or `}`.
    pub const CLOSE: u8 = 4;
    /// A doc comment.
    pub const DOC: u8 = 5;
}

/// Appends the tokens of `text` to `out`; `None` (with `out` in an unspecified state) when
/// the text is outside the subset or does not lex.
pub(crate) fn lex(text: &str, out: &mut Vec<Tok>) -> Option<()> {
    let b = text.as_bytes();
    if b.iter()
        .any(|&c| !(c == b'\n' || c == b'\t' || (0x20..0x7f).contains(&c)))
    {
        return None;
    }
    let mut stack: Vec<u8> = Vec::new();
    out.reserve(b.len() / 3);
    let mut i = 0;
    loop {
        i = skip_whitespace(b, i)?;
        if let Some(end) = doc_comment(b, i)? {
            out.push((kind::DOC, i, end));
            i = end;
            continue;
        }
        let Some(&first) = b.get(i) else {
            return stack.is_empty().then_some(());
        };
        match first {
            b'(' if starts(b, i, "(/*ERROR*/)") => return None,
            b'(' | b'[' | b'{' => {
                stack.push(first);
                out.push((kind::OPEN, i, i + 1));
                i += 1;
            }
            b')' | b']' | b'}' => {
                let open = stack.pop()?;
                if !matches!((open, first), (b'(', b')') | (b'[', b']') | (b'{', b'}')) {
                    return None;
                }
                out.push((kind::CLOSE, i, i + 1));
                i += 1;
            }
            _ => {
                let (kind, end) = leaf(b, i)?;
                out.push((kind, i, end));
                i = end;
            }
        }
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn starts(b: &[u8], i: usize, s: &str) -> bool {
    b.get(i..).is_some_and(|r| r.starts_with(s.as_bytes()))
}

/// Skips whitespace and plain comments; `None` on an unterminated block comment (which
/// proc-macro2 reports as an error).
fn skip_whitespace(b: &[u8], mut i: usize) -> Option<usize> {
    while i < b.len() {
        if matches!(b[i], b' ' | b'\t' | b'\n') {
            i += 1;
            continue;
        }
        if b[i] == b'/' {
            if starts(b, i, "//")
                && (!starts(b, i, "///") || starts(b, i, "////"))
                && !starts(b, i, "//!")
            {
                i = line_end(b, i);
                continue;
            } else if starts(b, i, "/**/") {
                i += 4;
                continue;
            } else if starts(b, i, "/*")
                && (!starts(b, i, "/**") || starts(b, i, "/***"))
                && !starts(b, i, "/*!")
            {
                i = block_comment(b, i)?;
                continue;
            }
        }
        match b[i] {
            b' ' | b'\t' | b'\n' => i += 1,
            _ => return Some(i),
        }
    }
    Some(i)
}

fn line_end(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n)
}

/// End of the (nested) block comment starting at `i`.
fn block_comment(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < b.len() {
        if b[i] == b'/' && b[i + 1] == b'*' {
            depth += 1;
            i += 1;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            if depth == 0 {
                return Some(i + 2);
            }
            i += 1;
        }
        i += 1;
    }
    None
}

/// `Some(Some(end))` for a doc comment at `i`, `Some(None)` for none, `None` for an
/// unterminated block doc comment (an error).
fn doc_comment(b: &[u8], i: usize) -> Option<Option<usize>> {
    if starts(b, i, "//!") || (starts(b, i, "///") && !starts(b, i, "////")) {
        Some(Some(line_end(b, i)))
    } else if starts(b, i, "/*!") || (starts(b, i, "/**") && !starts(b, i, "/***")) {
        block_comment(b, i).map(Some)
    } else {
        Some(None)
    }
}

/// A literal, punctuation character or identifier at `i`: its kind and end. `None` where
/// proc-macro2 fails (or the subset ends).
fn leaf(b: &[u8], i: usize) -> Option<(u8, usize)> {
    // proc-macro2 tries a literal, then punctuation, then an identifier; only these bytes can
    // start a literal, and no punctuation character starts an identifier.
    let c = b[i];
    if matches!(c, b'"' | b'\'' | b'0'..=b'9' | b'r' | b'b' | b'c') {
        if let Some(end) = literal(b, i)? {
            return Some((kind::LITERAL, end));
        }
    }
    if is_ident_start(c) {
        return ident(b, i).map(|end| (kind::IDENT, end));
    }
    punct(b, i).map(|end| (kind::PUNCT, end))
}

/// `Some(Some(end))` for a literal, `Some(None)` when there is none here, `None` when the
/// text is outside the subset.
fn literal(b: &[u8], i: usize) -> Option<Option<usize>> {
    let c = b[i];
    let lit = match c {
        b'"' => cooked_string(b, i + 1, false)?,
        b'r' => raw_string(b, i + 1),
        b'b' if starts(b, i, "b\"") => cooked_string(b, i + 2, true)?,
        b'b' if starts(b, i, "br") => raw_string(b, i + 2),
        b'c' if starts(b, i, "c\"") || starts(b, i, "cr\"") || starts(b, i, "cr#") => return None,
        b'b' if starts(b, i, "b'") => quoted_char(b, i + 2, true)?,
        b'\'' => quoted_char(b, i + 1, false)?,
        b'0'..=b'9' => number(b, i),
        _ => None,
    };
    Some(lit)
}

/// After a literal: an identifier right after it is its suffix.
fn suffix(b: &[u8], i: usize) -> usize {
    if b.get(i).is_some_and(|&c| is_ident_start(c)) {
        ident_end(b, i)
    } else {
        i
    }
}

fn ident_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ident_continue(c)) {
        i += 1;
    }
    i
}

/// The rest of a `"…"` string from after its quote; `Some(None)` when proc-macro2 rejects it
/// as a string, `None` for escapes outside the subset.
fn cooked_string(b: &[u8], mut i: usize, bytes: bool) -> Option<Option<usize>> {
    while i < b.len() {
        match b[i] {
            b'"' => return Some(Some(suffix(b, i + 1))),
            b'\\' => {
                let n = escape(b, i + 1, bytes)?;
                match n {
                    Some(len) => i += 1 + len,
                    None => return Some(None),
                }
            }
            _ => i += 1,
        }
    }
    Some(None)
}

/// Length of the escape after a backslash at `i`: `Some(Some(len))` when valid,
/// `Some(None)` when proc-macro2 rejects it, `None` outside the subset (`\u`, continuation).
fn escape(b: &[u8], i: usize, bytes: bool) -> Option<Option<usize>> {
    let hex = |c: Option<&u8>| c.is_some_and(u8::is_ascii_hexdigit);
    match b.get(i) {
        Some(b'x') => {
            let first_ok = if bytes {
                hex(b.get(i + 1))
            } else {
                b.get(i + 1).is_some_and(|c| (b'0'..=b'7').contains(c))
            };
            Some((first_ok && hex(b.get(i + 2))).then_some(3))
        }
        Some(b'n' | b'r' | b't' | b'\\' | b'\'' | b'"' | b'0') => Some(Some(1)),
        Some(b'u' | b'\n') => None,
        _ => Some(None),
    }
}

/// A raw string from after its `r` (or `br`): `None` when it is not one.
fn raw_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while b.get(j) == Some(&b'#') {
        j += 1;
    }
    if b.get(j) != Some(&b'"') || j - i > 255 {
        return None;
    }
    let hashes = j - i;
    let mut k = j + 1;
    while k < b.len() {
        if b[k] == b'"'
            && b[k + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return Some(suffix(b, k + 1 + hashes));
        }
        k += 1;
    }
    None
}

/// A character (or byte) literal from after its opening quote; `Some(None)` when there is
/// none (a lifetime, or an error).
fn quoted_char(b: &[u8], i: usize, bytes: bool) -> Option<Option<usize>> {
    let len = match b.get(i) {
        Some(b'\\') => match escape(b, i + 1, bytes)? {
            Some(len) => 1 + len,
            None => return Some(None),
        },
        Some(_) => 1,
        None => return Some(None),
    };
    if b.get(i + len) != Some(&b'\'') {
        return Some(None);
    }
    Some(Some(suffix(b, i + len + 1)))
}

/// A number (float first, then integer, as proc-macro2 tries them); `None` when neither.
fn number(b: &[u8], i: usize) -> Option<usize> {
    if let Some(end) = float_digits(b, i) {
        let end = suffix(b, end);
        if !b.get(end).is_some_and(|&c| is_ident_continue(c)) {
            return Some(end);
        }
    }
    let end = suffix(b, digits(b, i)?);
    (!b.get(end).is_some_and(|&c| is_ident_continue(c))).then_some(end)
}

fn float_digits(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let mut has_dot = false;
    let mut has_exp = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' | b'_' => i += 1,
            b'.' => {
                if has_dot {
                    break;
                }
                if b.get(i + 1)
                    .is_some_and(|&n| n == b'.' || is_ident_start(n))
                {
                    return None;
                }
                i += 1;
                has_dot = true;
            }
            b'e' | b'E' => {
                i += 1;
                has_exp = true;
                break;
            }
            _ => break,
        }
    }
    if !(has_dot || has_exp) {
        return None;
    }
    if has_exp {
        let before_exp = has_dot.then_some(i - 1);
        let mut has_sign = false;
        let mut has_value = false;
        while let Some(&c) = b.get(i) {
            match c {
                b'+' | b'-' => {
                    if has_value {
                        break;
                    }
                    if has_sign {
                        return before_exp;
                    }
                    i += 1;
                    has_sign = true;
                }
                b'0'..=b'9' => {
                    i += 1;
                    has_value = true;
                }
                b'_' => i += 1,
                _ => break,
            }
        }
        if !has_value {
            return before_exp;
        }
    }
    Some(i)
}

fn digits(b: &[u8], mut i: usize) -> Option<usize> {
    let base = if starts(b, i, "0x") {
        16
    } else if starts(b, i, "0o") {
        8
    } else if starts(b, i, "0b") {
        2
    } else {
        10
    };
    if base != 10 {
        i += 2;
    }
    let mut empty = true;
    while let Some(&c) = b.get(i) {
        let digit = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'a'..=b'f' => u32::from(c - b'a') + 10,
            b'A'..=b'F' => u32::from(c - b'A') + 10,
            b'_' => {
                if empty && base == 10 {
                    return None;
                }
                i += 1;
                continue;
            }
            _ => break,
        };
        if digit >= base {
            if c.is_ascii_digit() {
                return None;
            }
            break;
        }
        i += 1;
        empty = false;
    }
    (!empty).then_some(i)
}

/// A punctuation character (a lifetime's quote included): its end.
fn punct(b: &[u8], i: usize) -> Option<usize> {
    if starts(b, i, "//") || starts(b, i, "/*") {
        return None;
    }
    let c = b[i];
    if !matches!(
        c,
        b'~' | b'!'
            | b'@'
            | b'#'
            | b'$'
            | b'%'
            | b'^'
            | b'&'
            | b'*'
            | b'-'
            | b'='
            | b'+'
            | b'|'
            | b';'
            | b':'
            | b','
            | b'<'
            | b'.'
            | b'>'
            | b'/'
            | b'?'
            | b'\''
    ) {
        return None;
    }
    if c == b'\'' {
        let after = ident_any(b, i + 1)?;
        if b.get(after) == Some(&b'\'') || (b.get(after) == Some(&b'#') && !starts(b, i + 1, "r#"))
        {
            return None;
        }
    }
    Some(i + 1)
}

/// An identifier (raw or not) at `i`: its end; `None` where proc-macro2 refuses one.
fn ident(b: &[u8], i: usize) -> Option<usize> {
    const PREFIXES: [&str; 10] = [
        "r\"", "r#\"", "r##", "b\"", "b'", "br\"", "br#", "c\"", "cr\"", "cr#",
    ];
    if matches!(b[i], b'r' | b'b' | b'c') && PREFIXES.iter().any(|p| starts(b, i, p)) {
        return None;
    }
    ident_any(b, i)
}

fn ident_any(b: &[u8], i: usize) -> Option<usize> {
    let raw = starts(b, i, "r#");
    let s = if raw { i + 2 } else { i };
    if !b.get(s).is_some_and(|&c| is_ident_start(c)) {
        return None;
    }
    let end = ident_end(b, s);
    if raw && matches!(&b[s..end], b"_" | b"super" | b"self" | b"Self" | b"crate") {
        return None;
    }
    Some(end)
}

/// proc-macro2's tokens (as the safety net flattens them) with each doc comment's `#`, `!`,
/// `[doc = "…"]` folded into one token, as [`lex`] gives it: for checking one against the
/// other.
pub(crate) fn fold_docs(text: &str, toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let (k, s, _) = toks[i];
        // A doc comment's `#` sits on the comment (a `/` punct is never followed by `/`, `*`).
        if k == kind::PUNCT && (text[s..].starts_with("//") || text[s..].starts_with("/*")) {
            // Then `!`, `[`, `doc`, `=`, the literal (all starting at the comment), and `]`.
            let mut j = i + 1;
            while j < toks.len() && toks[j].1 == s && toks[j].0 != 4 {
                j += 1;
            }
            let end = toks.get(j).map_or(text.len(), |t| t.2);
            out.push((kind::DOC, s, end));
            i = j + 1;
        } else {
            out.push(toks[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) {
        let mut quick = Vec::new();
        let ours = lex(text, &mut quick).map(|()| quick);
        let theirs = crate::apply::slow_tokens(text)
            .ok()
            .map(|t| fold_docs(text, t));
        proc_macro2::extra::invalidate_current_thread_spans();
        match (ours, theirs) {
            (Some(a), Some(b)) => assert_eq!(a, b, "{text:?}"),
            (Some(a), None) => panic!("accepted what proc-macro2 refuses: {text:?} -> {a:?}"),
            (None, _) => {}
        }
    }

    #[test]
    fn agrees_with_proc_macro2_on_tricky_tokens() {
        for t in [
            "fn f() { let x = a.b(1, None).await?; }",
            "x.0.1 1.0 1. 1.. 1..2 1.e3 1e3 1e+3 1.5e-3f64 1e 1u8 0x1F 0b101 0o17 1_000 1.await",
            "'a' 'ab '\\n' '\\'' b'x' b'\\x7f' '\\x41' r\"raw\" r#\"a\"b\"# br#\"x\"# b\"by\\n\"",
            "\"s\\\"t\"suffix 'static &'a str r#type r#match x'y",
            "/// doc\nfn a() {} //! inner\n/** block */ /*! inner */ /* plain /* nested */ */ ////x",
            "/**/ /***/ a/b a/ *b #[attr] #![inner] $x @ ~ ? <<= >>= ..= ::",
            "'\\u{41}' \"\\u{1F600}\" \"a\\\n b\" c\"x\" é",
            "(a]", "(a", "a)", "\"open", "/* open", "'", "0x", "1_", "r#_", "'a'b",
        ] {
            check(t);
        }
    }

    #[test]
    fn follows_ordinary_code_itself() {
        // The common shapes stay on the quick path (the agreement test above passes trivially
        // for text the quick lexer gives up on).
        let mut v = Vec::new();
        for t in [
            "fn f() { let x = a.b(1, None).await?; }",
            "x.0.1 1.0 1. 1..2 1e3 1.5e-3f64 1u8 0x1F 1_000 'a' 'static &'a str r#type",
            "\"s\\\"t\" b'x' r#\"a\"# /// doc\n/* c /* d */ */ #[attr] a / b",
        ] {
            v.clear();
            assert!(lex(t, &mut v).is_some(), "{t}");
            assert!(v.len() > 5);
        }
    }

    /// Every `.rs` file of a corpus, lexed both ways: run with
    /// `LUMENIZE_LEXER_CORPUS=/tmp/rust-corpus cargo test --release -p lumenize-codemod --lib
    /// lexer -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs a corpus; slow"]
    fn quick_lexer_agrees_on_a_corpus() {
        let Some(root) = std::env::var_os("LUMENIZE_LEXER_CORPUS") else {
            return;
        };
        let (mut files, mut quick, mut stack) = (0, 0, vec![std::path::PathBuf::from(root)]);
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let Ok(text) = std::fs::read_to_string(&p) else {
                        continue;
                    };
                    let text = &text[crate::engine::parse_base(&text)..];
                    files += 1;
                    let mut v = Vec::new();
                    if lex(text, &mut v).is_some() {
                        quick += 1;
                    }
                    check(text);
                }
            }
        }
        println!("{files} files, {quick} on the quick path, all agreeing");
        assert!(files > 0);
    }

    #[test]
    fn stops_outside_its_subset() {
        let mut v = Vec::new();
        assert!(lex("let é = 1;", &mut v).is_none());
        assert!(lex("\"\\u{41}\"", &mut v).is_none());
        assert!(lex("a\r\nb", &mut v).is_none());
        assert!(lex("(a", &mut v).is_none());
    }
}
