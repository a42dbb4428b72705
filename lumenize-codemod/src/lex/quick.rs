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
//! It is on the hot path (every edited unit twice, every `lib.rs` for the outline), so it
//! keeps the per-byte work small without `unsafe`: one vectorised pass for the subset check,
//! a byte-class table for identifiers and punctuation, indentation skipped a word at a time,
//! the delimiter stack kept inside the output vector, and the common tokens (plain
//! identifiers, punctuation) lexed without going through the full literal-first dispatch.
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
    if !in_subset(b) {
        return None;
    }
    // Ordinary code runs four to five bytes a token: one allocation for nearly every text
    // (the constant for short units, which can be denser).
    out.reserve(b.len() / 3 + 16);
    // The innermost open delimiter, as its index in `out` plus one (0: none). The stack of
    // the others lives in `out` itself, without an allocation of its own: an open delimiter's
    // token holds the link to the one around it in place of its end, set when it closes (and
    // on `None` the tokens are unspecified anyway).
    let mut open = 0;
    let mut i = 0;
    loop {
        i = skip_whitespace(b, i)?;
        let Some(&first) = b.get(i) else {
            return (open == 0).then_some(());
        };
        // The commonest tokens first, without the `match` (which gives the same answers): an
        // identifier whose first byte cannot start a literal or a raw identifier, and a
        // punctuation character that cannot start a comment or a lifetime.
        let class = CLASS[usize::from(first)];
        let (kind, end) = if class & PLAIN_IDENT_START != 0 {
            (kind::IDENT, ident_end(b, i + 1))
        } else if class & PLAIN_PUNCT != 0 {
            (kind::PUNCT, i + 1)
        } else {
            match first {
                b'(' if starts(b, i, "(/*ERROR*/)") => return None,
                b'(' | b'[' | b'{' => {
                    out.push((kind::OPEN, i, open));
                    open = out.len();
                    i += 1;
                    continue;
                }
                b')' | b']' | b'}' => {
                    let tok = out.get_mut(open.checked_sub(1)?)?;
                    if !matches!(
                        (b[tok.1], first),
                        (b'(', b')') | (b'[', b']') | (b'{', b'}')
                    ) {
                        return None;
                    }
                    open = std::mem::replace(&mut tok.2, tok.1 + 1);
                    (kind::CLOSE, i + 1)
                }
                // Only a `/` starts a doc comment (`skip_whitespace` stopped before it).
                b'/' => match doc_comment(b, i)? {
                    Some(end) => (kind::DOC, end),
                    None => leaf(b, i)?,
                },
                // An identifier starting with `r`, `b` or `c` that can be neither raw nor a
                // literal's prefix (every one of those has one of these bytes second) does
                // not need `leaf` either.
                b'r' | b'b' | b'c' if !matches!(b.get(i + 1), Some(b'"' | b'#' | b'\'' | b'r')) => {
                    (kind::IDENT, ident_end(b, i + 1))
                }
                _ => leaf(b, i)?,
            }
        };
        out.push((kind, i, end));
        i = end;
    }
}

/// True when every byte is printable ASCII, tab or newline. The bytes are folded a chunk at a
/// time without an early exit, which the compiler turns into vector code: a fraction of the
/// cost of a byte-by-byte `any` (it only leaves early at the end of a chunk).
fn in_subset(b: &[u8]) -> bool {
    b.chunks(64).all(|chunk| {
        chunk.iter().fold(true, |ok, &c| {
            ok & ((0x20..0x7f).contains(&c) | (c == b'\n') | (c == b'\t'))
        })
    })
}

/// Bits of [`CLASS`].
const IDENT_START: u8 = 1;
const IDENT_CONTINUE: u8 = 2;
const PUNCT: u8 = 4;
/// An identifier's first byte that starts neither a literal (`r"`, `b'`, `c"`...) nor a raw
/// identifier: the identifier goes straight to its end.
const PLAIN_IDENT_START: u8 = 8;
/// A punctuation character but `/` and `'`: one token on its own.
const PLAIN_PUNCT: u8 = 16;

/// The class bits of every byte: one load and a test in the hot loops instead of a chain of
/// comparisons. Bytes outside the subset have none (and `in_subset` has refused them anyway).
static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            table[c] |= IDENT_START | IDENT_CONTINUE;
            if !matches!(b, b'r' | b'b' | b'c') {
                table[c] |= PLAIN_IDENT_START;
            }
        }
        if b.is_ascii_digit() {
            table[c] |= IDENT_CONTINUE;
        }
        // proc-macro2's punctuation characters (a lifetime's quote included).
        if matches!(
            b,
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
            table[c] |= PUNCT;
            if !matches!(b, b'/' | b'\'') {
                table[c] |= PLAIN_PUNCT;
            }
        }
        c += 1;
    }
    table
}

fn is_ident_start(c: u8) -> bool {
    CLASS[usize::from(c)] & IDENT_START != 0
}

fn is_ident_continue(c: u8) -> bool {
    CLASS[usize::from(c)] & IDENT_CONTINUE != 0
}

fn starts(b: &[u8], i: usize, s: &str) -> bool {
    b.get(i..).is_some_and(|r| r.starts_with(s.as_bytes()))
}

/// Skips whitespace and plain comments; `None` on an unterminated block comment (which
/// proc-macro2 reports as an error).
fn skip_whitespace(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' => i += 1,
            b'\n' => i = spaces(b, i + 1),
            b'/' => match plain_comment(b, i)? {
                Some(end) => i = end,
                None => break,
            },
            _ => break,
        }
    }
    Some(i)
}

/// `Some(Some(end))` for a comment at `i` that is not a doc comment, `Some(None)` for none,
/// `None` for an unterminated block comment.
fn plain_comment(b: &[u8], i: usize) -> Option<Option<usize>> {
    if starts(b, i, "//") && (!starts(b, i, "///") || starts(b, i, "////")) && !starts(b, i, "//!")
    {
        Some(Some(line_end(b, i)))
    } else if starts(b, i, "/**/") {
        Some(Some(i + 4))
    } else if starts(b, i, "/*")
        && (!starts(b, i, "/**") || starts(b, i, "/***"))
        && !starts(b, i, "/*!")
    {
        block_comment(b, i).map(Some)
    } else {
        Some(None)
    }
}

/// The end of the spaces from `i`, eight bytes at a time: after a newline, for indentation
/// (most of the whitespace of code, in runs a byte-at-a-time loop takes long over).
fn spaces(b: &[u8], mut i: usize) -> usize {
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    while let Some(word) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        // In little-endian order the first byte that is not a space is the lowest nonzero
        // byte of the difference.
        let diff = u64::from_le_bytes(*word) ^ SPACES;
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
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
    let lit = match &b[i..] {
        [b'"', ..] => cooked_string(b, i + 1, false)?,
        [b'r', ..] => raw_string(b, i + 1),
        [b'b', b'"', ..] => cooked_string(b, i + 2, true)?,
        [b'b', b'r', ..] => raw_string(b, i + 2),
        [b'c', b'"', ..] | [b'c', b'r', b'"' | b'#', ..] => return None,
        [b'b', b'\'', ..] => quoted_char(b, i + 2, true)?,
        [b'\'', ..] => quoted_char(b, i + 1, false)?,
        [b'0'..=b'9', ..] => number(b, i),
        _ => None,
    };
    Some(lit)
}

/// After a literal: an identifier right after it is its suffix.
fn suffix(b: &[u8], i: usize) -> usize {
    if b.get(i).is_some_and(|&c| is_ident_start(c)) {
        ident_end(b, i + 1)
    } else {
        i
    }
}

/// The end of the identifier characters from `i`.
fn ident_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ident_continue(c)) {
        i += 1;
    }
    i
}

/// The rest of a `"…"` string from after its quote; `Some(None)` when proc-macro2 rejects it
/// as a string, `None` for escapes outside the subset.
fn cooked_string(b: &[u8], mut i: usize, bytes: bool) -> Option<Option<usize>> {
    while let Some(n) = memchr::memchr2(b'"', b'\\', &b[i..]) {
        i += n;
        if b[i] == b'"' {
            return Some(Some(suffix(b, i + 1)));
        }
        match escape(b, i + 1, bytes)? {
            Some(len) => i += 1 + len,
            None => return Some(None),
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
    if CLASS[usize::from(c)] & PUNCT == 0 {
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
    // proc-macro2 refuses an identifier where a literal's prefix starts (`r"`, `r#"`, `r##`,
    // `b"`, `b'`, `br"`, `br#`, `c"`, `cr"`, `cr#`), to report the literal's error instead.
    if let [b'r', b'"', ..]
    | [b'r', b'#', b'"' | b'#', ..]
    | [b'b', b'"' | b'\'', ..]
    | [b'b' | b'c', b'r', b'"' | b'#', ..]
    | [b'c', b'"', ..] = &b[i..]
    {
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
