//! Module layout: which module a file is, from the usual Cargo layout, and the keys naming
//! crate roots.

use std::path::{Component, Path};

use super::scope::ModPath;

/// The module path of a file, from the usual Cargo layout: `<crate>/src/a/b.rs` and
/// `<crate>/src/a/b/mod.rs` are `crate::a::b`; `src/lib.rs`/`src/main.rs` are the root;
/// `src/bin/x.rs`, `tests/x.rs`, `examples/x.rs`, `benches/x.rs` are roots of their own.
/// The first element is a key naming the crate root, so two crates never share modules.
pub(crate) fn module_path_for(file: &Path) -> ModPath {
    let comps: Vec<String> = file
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    // The first anchor: paths are crate-relative, so a later `src`/`tests` is a module dir
    // (`src/tests/x.rs` is `crate::tests::x`).
    let anchor = comps
        .iter()
        .position(|c| matches!(c.as_str(), "src" | "tests" | "examples" | "benches"));
    let strip = |s: &str| s.strip_suffix(".rs").unwrap_or(s).to_string();
    let (root, mut rest): (String, Vec<String>) = match anchor {
        Some(i) => {
            let kind = comps[i].as_str();
            let prefix = comps[..i].join("/");
            let rest = &comps[i + 1..];
            if kind == "src" && rest.len() >= 2 && rest[0] == "bin" {
                // src/bin/x.rs, src/bin/x/main.rs, src/bin/x/util.rs
                (
                    format!("{prefix}#src/bin/{}", strip(&rest[1])),
                    rest[2..].to_vec(),
                )
            } else if kind == "src" {
                (format!("{prefix}#src"), rest.to_vec())
            } else {
                // tests/x.rs is a crate root of its own (so are examples and benches).
                let name = rest.first().map(|s| strip(s)).unwrap_or_default();
                (
                    format!("{prefix}#{kind}/{name}"),
                    rest.get(1..).unwrap_or(&[]).to_vec(),
                )
            }
        }
        // Not in a Cargo layout: the file is a crate root of its own.
        None => (format!("{}#file", comps.join("/")), Vec::new()),
    };
    if let Some(last) = rest.last_mut() {
        *last = strip(last);
    }
    if matches!(
        rest.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        rest.pop();
    }
    let mut out = vec![format!("crate:{root}")];
    out.extend(rest);
    out
}

/// The root key of the library of the crate in directory `prefix`.
pub(crate) fn lib_root(prefix: &str) -> String {
    format!("crate:{prefix}#src")
}

/// The crate directory (`a/b` for `a/b/Cargo.toml`) as [`module_path_for`] writes it.
pub(crate) fn crate_prefix(manifest: &Path) -> String {
    let comps: Vec<String> = manifest
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    comps.join("/")
}
