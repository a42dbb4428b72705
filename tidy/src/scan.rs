//! Reads Rust source the way the tidy tests need it: comments and literals blanked out, and
//! every `crate::`/`super::` path found with its line and the inline modules around it.
//!
//! This is a scanner, not a parser: it is only ever run on this workspace's own code, which
//! rustfmt keeps regular, and its test checks the cases that matter (comments, strings, raw
//! strings, character literals against lifetimes, `use` groups, inline `mod tests`).

/// A `crate::…` or `super::…` path written in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRef {
    /// 1-based line of the path's first segment.
    pub line: usize,
    /// The inline modules (`mod tests { … }`) the path sits in, outermost first.
    pub inline: Vec<String>,
    /// The segments, starting with `crate` or `super` (a `use` group gives one path per member).
    pub segments: Vec<String>,
}

/// `text` without its comments, and with the contents of string and character literals
/// blanked; newlines are kept, so line numbers hold.
///
/// ```
/// assert_eq!(tidy::strip("a // b\nc(\"crate::d\")"), "a \nc(        )");
/// ```
pub fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0
                || !is_ident(b[i - 1])
                || (b[i - 1] == 'b' && (i < 2 || !is_ident(b[i - 2]))))
        {
            // A raw string: r"…", r#"…"#, br"…".
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                blank(&mut out, b[j]);
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if i < b.len() {
                    blank(&mut out, b[i]);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '"'), or a lifetime ('a), which stays.
            if next == Some('\\') {
                // Past the backslash and the escaped character (which may be a quote).
                i += 3;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path starting with `crate::` or `super::` in `code`, with its line and the inline
/// modules (`mod tests { … }`) it sits in. A `use` group (`use crate::{a::b, c}`) gives one
/// path per member.
///
/// ```
/// let found = tidy::paths("use crate::{a::b, c};");
/// let segments: Vec<_> = found.iter().map(|p| p.segments.join("::")).collect();
/// assert_eq!(segments, ["crate::a::b", "crate::c"]);
/// ```
pub fn paths(code: &str) -> Vec<PathRef> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut line, mut depth) = (1, 0usize);
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        } else if c == '{' {
            depth += 1;
            if let Some(name) = pending_mod.take() {
                inline.push((depth, name));
            }
        } else if c == '}' {
            if inline.last().is_some_and(|(d, _)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        } else if c == ';' {
            pending_mod = None;
        } else if is_ident(c) && (i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != '$') {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word == "mod" {
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let k = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                pending_mod = Some(chars[k..j].iter().collect());
            } else if (word == "crate" || word == "super")
                && chars.get(i) == Some(&':')
                && chars.get(i + 1) == Some(&':')
            {
                let (members, end) = path_tail(&chars, i);
                let here: Vec<String> = inline.iter().map(|(_, n)| n.clone()).collect();
                for m in members {
                    let mut p = vec![word.clone()];
                    p.extend(m);
                    out.push(PathRef {
                        line,
                        inline: here.clone(),
                        segments: p,
                    });
                }
                line += chars[i..end].iter().filter(|&&c| c == '\n').count();
                i = end;
            }
            continue;
        }
        i += 1;
    }
    out
}

/// The segments after a `crate`/`super` that ends at `i` (`::a::b`, `::{a, b::c}`), one list
/// per member of a group, and where the path ends.
fn path_tail(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut segs = Vec::new();
    loop {
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if !(chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':')) {
            return (vec![segs], i);
        }
        j += 2;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if chars.get(j) == Some(&'{') {
            // A group: split its members at top-level commas.
            let mut depth = 0;
            let mut k = j;
            let mut members = Vec::new();
            let mut cur = String::new();
            while k < chars.len() {
                match chars[k] {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            cur.push('{');
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                        cur.push('}');
                    }
                    ',' if depth == 1 => members.push(std::mem::take(&mut cur)),
                    ch => cur.push(ch),
                }
                k += 1;
            }
            members.push(cur);
            let mut out = Vec::new();
            for m in members.iter().filter(|m| !m.trim().is_empty()) {
                let m: Vec<char> = format!("x::{}", m.trim()).chars().collect();
                for tail in path_tail(&m, 1).0 {
                    let mut p = segs.clone();
                    p.extend(tail);
                    out.push(p);
                }
            }
            return (out, k + 1);
        }
        let start = j;
        while j < chars.len() && is_ident(chars[j]) {
            j += 1;
        }
        if j == start {
            // `crate::*` or a `*` glob member.
            if chars.get(j) == Some(&'*') {
                segs.push("*".into());
                j += 1;
            }
            return (vec![segs], j);
        }
        segs.push(chars[start..j].iter().collect());
        i = j;
    }
}
