//! Tidy checks for this workspace's crates (in the style of rust-analyzer's): a crate's modules
//! form layers with a stated order, and every `crate::`/`super::` path in its `src/` must point
//! at the file's own layer or one below it, with no circle between files.
//!
//! Each crate states its layers once ([`Layers::from_mod_order`] reads them from the order of
//! `lib.rs`'s top-level `mod` declarations; [`Layers::new`] takes a table when a layer is a
//! part of a module) and runs [`violations`] from a test. Not published; a dev-dependency only.
//!
//! ```
//! use tidy::{File, Layers};
//!
//! let layers = Layers::from_mod_order("mod low;\nmod high;\n");
//! let files = [
//!     File::new("low.rs", "use crate::high::X;"),
//!     File::new("high.rs", "use crate::low::Y;"),
//! ];
//! assert_eq!(
//!     tidy::violations(&layers, &files),
//!     [
//!         "low.rs:1: `crate::high::X` imports layer `high` from the layer below it, `low`",
//!         "import circle: low.rs -> high.rs",
//!     ]
//! );
//! ```

#![warn(missing_docs)]

mod circles;
mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use scan::{paths, strip, PathRef};

/// A file of a library: where it is (for messages), its module path (`["plan", "state"]`) and
/// its code as [`strip`] leaves it.
#[derive(Debug, Clone)]
pub struct File {
    path: String,
    module: Vec<String>,
    code: String,
}

impl File {
    /// A file at `path` relative to `src/` (its module path follows from it: `plan/mod.rs` is
    /// `plan`), holding `text`.
    ///
    /// ```
    /// let f = tidy::File::new("plan/mod.rs", "use crate::text::Span; // crate::cli");
    /// assert_eq!(tidy::paths(f.code()).len(), 1);
    /// ```
    pub fn new(path: &str, text: &str) -> File {
        File {
            path: path.to_string(),
            module: module_of(Path::new(path)),
            code: strip(text),
        }
    }

    /// The code, without comments and with literals blanked.
    pub fn code(&self) -> &str {
        &self.code
    }
}

/// The layers of a crate, bottom-up. Invariant: `members` maps module paths to indices of
/// `names`; a module belongs to the layer of its longest listed prefix.
#[derive(Debug, Clone)]
pub struct Layers {
    names: Vec<String>,
    members: Vec<(Vec<String>, usize)>,
}

impl Layers {
    /// One layer per top-level `mod` declaration of `lib_rs`, bottom-up in declaration order.
    ///
    /// ```
    /// let layers = tidy::Layers::from_mod_order("mod text;\npub mod plan;\n");
    /// assert_eq!(layers.names(), ["text", "plan"]);
    /// ```
    pub fn from_mod_order(lib_rs: &str) -> Layers {
        let names: Vec<String> = strip(lib_rs)
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let l = l.strip_prefix("pub ").unwrap_or(l);
                let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
                Some(name.trim().to_string())
            })
            .collect();
        let members = names
            .iter()
            .enumerate()
            .map(|(i, n)| (vec![n.clone()], i))
            .collect();
        Layers { names, members }
    }

    /// Layers from a table, bottom-up: each a name and the modules it holds, as paths
    /// (`"ocan::dispatch"`). A module not listed belongs to its closest listed parent.
    ///
    /// ```
    /// let layers = tidy::Layers::new(&[("data", &["ocan"]), ("handlers", &["ocan::dispatch"])]);
    /// assert_eq!(layers.names(), ["data", "handlers"]);
    /// ```
    pub fn new(table: &[(&str, &[&str])]) -> Layers {
        let mut members = Vec::new();
        for (i, (_, modules)) in table.iter().enumerate() {
            for m in *modules {
                members.push((m.split("::").map(str::to_string).collect(), i));
            }
        }
        Layers {
            names: table.iter().map(|(n, _)| n.to_string()).collect(),
            members,
        }
    }

    /// The layers' names, bottom-up.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The layer of a module path: the one listing its longest prefix.
    fn rank(&self, module: &[String]) -> Option<usize> {
        self.members
            .iter()
            .filter(|(m, _)| module.starts_with(m))
            .max_by_key(|(m, _)| m.len())
            .map(|&(_, i)| i)
    }
}

/// The library files under `src`, except the first path components listed in `skip` (the
/// binary's `main.rs`, `cli`, `bin`) and the crate root `lib.rs`, which are not layers.
///
/// Panics with the path when a file cannot be read (this runs in tests).
pub fn library_files(src: &Path, skip: &[&str]) -> Vec<File> {
    let mut files = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(src).expect("under src").to_path_buf();
            let first = rel.components().next().expect("a component").as_os_str();
            if first == "lib.rs" || skip.iter().any(|s| first == *s) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text =
                    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                files.push(File {
                    path: format!("src/{}", rel.display()),
                    module: module_of(&rel),
                    code: strip(&text),
                });
            }
        }
    }
    files
}

/// Upward imports, files outside every layer, paths through the crate root and circles among
/// the files, as messages (empty when the crate keeps its shape).
pub fn violations(layers: &Layers, files: &[File]) -> Vec<String> {
    let mut out = Vec::new();
    let modules: BTreeMap<&[String], usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.as_slice(), i))
        .collect();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
    for (fi, f) in files.iter().enumerate() {
        let Some(own) = layers.rank(&f.module) else {
            out.push(format!(
                "{}: module `{}` is not among the layers",
                f.path,
                f.module.join("::")
            ));
            continue;
        };
        for p in paths(&f.code) {
            let target = absolute(&f.module, &p.inline, &p.segments);
            if target.is_empty() {
                continue;
            }
            let written = p.segments.join("::");
            match layers.rank(&target) {
                None => out.push(format!(
                    "{}:{}: `{written}` goes through the crate root; import it from its layer",
                    f.path, p.line
                )),
                Some(r) if r > own => out.push(format!(
                    "{}:{}: `{written}` imports layer `{}` from the layer below it, `{}`",
                    f.path, p.line, layers.names[r], layers.names[own]
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
    for circle in circles::circles(&edges) {
        let names: Vec<&str> = circle.iter().map(|&i| files[i].path.as_str()).collect();
        out.push(format!("import circle: {}", names.join(" -> ")));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The checker itself: it must see an upward import, a path through the crate root, a
    /// `super::super::` that leaves the layer, and a circle, and nothing in comments or strings.
    #[test]
    fn the_checker_finds_upward_imports_and_circles() {
        let layers = Layers::from_mod_order("// 0\nmod low;\n// 1\nmod mid;\npub mod high;\n");
        let files = [
            File::new(
                "low.rs",
                "use crate::mid::X; // crate::high::x\nconst S: &str = \"crate::high\";\n\
                 const R: &str = r#\"crate::high\"#; const C: char = '\"'; fn f<'a>() {}",
            ),
            File::new(
                "mid/mod.rs",
                "mod a; mod b;\nuse crate::{low::Y, high::{Z, W}};\nuse crate::Severity;",
            ),
            File::new(
                "mid/a.rs",
                "use super::b::B;\nmod tests { use super::*; use super::super::super::high::Q; }",
            ),
            File::new("mid/b.rs", "use super::a::A;"),
            File::new("high.rs", "use crate::low::*;"),
        ];
        let expect = [
            "low.rs:1: `crate::mid::X` imports layer `mid` from the layer below it, `low`",
            "mid/mod.rs:2: `crate::high::Z` imports layer `high` from the layer below it, `mid`",
            "mid/mod.rs:2: `crate::high::W` imports layer `high` from the layer below it, `mid`",
            "mid/mod.rs:3: `crate::Severity` goes through the crate root; import it from its layer",
            "mid/a.rs:2: `super::super::super::high::Q` imports layer `high` from the layer below it, `mid`",
            "import circle: low.rs -> mid/mod.rs -> high.rs",
            "import circle: mid/a.rs -> mid/b.rs",
        ];
        assert_eq!(violations(&layers, &files), expect);
    }

    /// A layer can be part of a module: a file belongs to its longest listed prefix, and so
    /// does the target of a path.
    #[test]
    fn a_table_places_files_by_their_longest_listed_prefix() {
        let layers = Layers::new(&[
            ("data", &["ocan"]),
            ("context", &["context"]),
            ("handlers", &["ocan::dispatch"]),
        ]);
        let files = [
            File::new("ocan/mod.rs", "use crate::context::Ctx;"),
            File::new("ocan/dispatch.rs", "use crate::context::Ctx;"),
            File::new("context.rs", "use crate::ocan::dispatch::Dispatch;"),
            File::new("stray.rs", ""),
        ];
        assert_eq!(
            violations(&layers, &files),
            [
                "ocan/mod.rs:1: `crate::context::Ctx` imports layer `context` from the layer below it, `data`",
                "context.rs:1: `crate::ocan::dispatch::Dispatch` imports layer `handlers` from the layer below it, `context`",
                "stray.rs: module `stray` is not among the layers",
                "import circle: ocan/dispatch.rs -> context.rs",
            ]
        );
    }
}
