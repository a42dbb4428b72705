//! Tidy test (in the style of rust-analyzer's): the library's modules form layers, and every
//! `crate::`/`super::` path in `src/` must point at the file's own layer or one below it.
//!
//! The layer order is written once, as the order of the top-level `mod` declarations in
//! `src/lib.rs` (bottom-up). A file belongs to the layer of its first path component
//! (`src/plan/state.rs` to `plan`). Within a layer, files may use each other, but not in a
//! circle. `main.rs`, `cli/` and `bin/` are the binaries: they use the library as `lumenize_codemod::…`
//! and are not checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file of the library: its module path (`["plan", "state"]`) and its code with comments,
/// strings and character literals blanked out (newlines kept, so line numbers hold).
struct File {
    path: String,
    module: Vec<String>,
    code: String,
}

/// The layers, bottom-up: the top-level `mod` declarations of `lib.rs`, in order.
fn layers(lib_rs: &str) -> Vec<String> {
    strip(lib_rs)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

/// `text` with comments, string literals and character literals replaced by spaces.
fn strip(text: &str) -> String {
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
fn paths(code: &str) -> Vec<(usize, Vec<String>, Vec<String>)> {
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
                    out.push((line, here.clone(), p));
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

/// The module path a `crate::…`/`super::…` path written in `file` (inside the inline modules
/// `inline`) points at, from the crate root.
fn absolute(file: &[String], inline: &[String], path: &[String]) -> Vec<String> {
    let mut base: Vec<String> = file.iter().chain(inline).cloned().collect();
    let mut rest = path;
    if rest.first().is_some_and(|s| s == "crate") {
        base.clear();
        rest = &rest[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    base
}

/// Upward imports, stray top-level modules and circles among the files, as messages.
fn violations(lib_rs: &str, files: &[File]) -> Vec<String> {
    let layers = layers(lib_rs);
    let rank = |name: &str| layers.iter().position(|l| l == name);
    let mut out = Vec::new();
    let modules: BTreeMap<&[String], usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.as_slice(), i))
        .collect();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
    for (fi, f) in files.iter().enumerate() {
        let Some(own) = rank(&f.module[0]) else {
            out.push(format!(
                "{}: module `{}` is not among the layers declared in lib.rs",
                f.path, f.module[0]
            ));
            continue;
        };
        for (line, inline, path) in paths(&f.code) {
            let target = absolute(&f.module, &inline, &path);
            let Some(top) = target.first() else {
                continue;
            };
            match rank(top) {
                None => out.push(format!(
                    "{}:{line}: `{}` goes through the crate root; import it from its layer",
                    f.path,
                    path.join("::")
                )),
                Some(r) if r > own => out.push(format!(
                    "{}:{line}: `{}` imports layer `{top}` from the layer below it, `{}`",
                    f.path,
                    path.join("::"),
                    layers[own]
                )),
                Some(_) => {}
            }
            // The file defining the target: the longest prefix that is a file's module.
            if let Some(&ti) = (1..=target.len())
                .rev()
                .find_map(|k| modules.get(&target[..k]))
            {
                if ti != fi {
                    edges[fi].insert(ti);
                }
            }
        }
    }
    for circle in circles(&edges) {
        let names: Vec<&str> = circle.iter().map(|&i| files[i].path.as_str()).collect();
        out.push(format!("import circle: {}", names.join(" -> ")));
    }
    out
}

/// The strongly connected groups of two or more files (Tarjan's algorithm).
fn circles(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct T<'e> {
        edges: &'e [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on: Vec<bool>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T<'_>, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in t.edges[v].iter() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut group = Vec::new();
            loop {
                let w = t.stack.pop().expect("v is on the stack");
                t.on[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort_unstable();
                t.out.push(group);
            }
        }
    }
    let n = edges.len();
    let mut t = T {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on: vec![false; n],
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

/// The module path of a file under `src/` (`plan/mod.rs` is `["plan"]`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn library_files(src: &Path) -> Vec<File> {
    let mut files = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(src).unwrap().to_path_buf();
            let first = rel.components().next().unwrap().as_os_str().to_owned();
            // The binary (main.rs, cli/, bin/) and the crate root are not layers.
            if first == "main.rs" || first == "cli" || first == "bin" || first == "lib.rs" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(File {
                    path: format!("src/{}", rel.display()),
                    module: module_of(&rel),
                    code: strip(&std::fs::read_to_string(&p).unwrap()),
                });
            }
        }
    }
    files
}

#[test]
fn library_imports_only_downward_and_without_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let layers = layers(&lib_rs);
    assert!(
        layers.len() >= 8,
        "lib.rs should declare the layers as top-level `mod`s, found {layers:?}"
    );
    let files = library_files(&src);
    assert!(files.len() > 20, "found only {} files", files.len());
    let found = violations(&lib_rs, &files);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

/// The checker itself: it must see an upward import, a path through the crate root, a
/// `super::super::` that leaves the layer, and a circle, and nothing in comments or strings.
#[test]
fn the_checker_finds_upward_imports_and_circles() {
    let lib_rs = "// 0\nmod low;\n// 1\nmod mid;\npub mod high;\n";
    let file = |path: &str, code: &str| File {
        path: path.into(),
        module: module_of(Path::new(path)),
        code: strip(code),
    };
    let files = [
        file(
            "low.rs",
            "use crate::mid::X; // crate::high::x\nconst S: &str = \"crate::high\";\n\
             const R: &str = r#\"crate::high\"#; const C: char = '\"'; fn f<'a>() {}",
        ),
        file(
            "mid/mod.rs",
            "mod a; mod b;\nuse crate::{low::Y, high::{Z, W}};\nuse crate::Severity;",
        ),
        file(
            "mid/a.rs",
            "use super::b::B;\nmod tests { use super::*; use super::super::super::high::Q; }",
        ),
        file("mid/b.rs", "use super::a::A;"),
        file("high.rs", "use crate::low::*;"),
    ];
    let found = violations(lib_rs, &files);
    let expect = [
        "low.rs:1: `crate::mid::X` imports layer `mid` from the layer below it, `low`",
        "mid/mod.rs:2: `crate::high::Z` imports layer `high` from the layer below it, `mid`",
        "mid/mod.rs:2: `crate::high::W` imports layer `high` from the layer below it, `mid`",
        "mid/mod.rs:3: `crate::Severity` goes through the crate root; import it from its layer",
        "mid/a.rs:2: `super::super::super::high::Q` imports layer `high` from the layer below it, `mid`",
        "import circle: low.rs -> mid/mod.rs -> high.rs",
        "import circle: mid/a.rs -> mid/b.rs",
    ];
    assert_eq!(found, expect);
}
