//! Reading Cargo.toml files: is this a crate, is it a workspace root, does it use lumenize?
//!
//! Only what the walker needs to decide which crates to read. The manifest *rewrite* is the
//! engine's (`migrate_manifest`); this module never edits anything.

use std::path::Path;

use toml_edit::{DocumentMut, Item, TableLike};

/// The package names that mean "this crate uses lumenize 0.9". The legacy fixture crate is a
/// renamed package with the same lib name, so both count.
const LUMENIZE_PACKAGES: [&str; 2] = ["lumenize-core", "lumenize-core-legacy"];

/// What the walker needs from one Cargo.toml.
#[derive(Debug, Clone, Default)]
pub struct ManifestInfo {
    /// Has a `[package]` table (a crate, not only a virtual workspace).
    pub is_package: bool,
    /// Has a `[workspace]` table.
    pub is_workspace: bool,
    /// Some dependency (any section, any target) resolves to a lumenize package.
    pub uses_lumenize: bool,
    /// Dependencies written `foo.workspace = true`, resolved against the workspace root later.
    pub inherited: Vec<String>,
    /// For a workspace root: the `[workspace.dependencies]` keys that are lumenize packages.
    pub workspace_lumenize_keys: Vec<String>,
}

/// Parses a manifest's text. An unparsable manifest is an error with the reason.
pub fn read(text: &str) -> Result<ManifestInfo, String> {
    let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        // The TomlError display is multi-line with a caret; keep its first useful line.
        e.to_string()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string()
    })?;
    let mut info = ManifestInfo {
        is_package: doc.get("package").is_some(),
        is_workspace: doc.get("workspace").is_some(),
        ..ManifestInfo::default()
    };
    let root = doc.as_table();
    scan_dep_tables(root, &mut info);
    if let Some(targets) = root.get("target").and_then(Item::as_table_like) {
        for (_, target) in targets.iter() {
            if let Some(t) = target.as_table_like() {
                scan_dep_tables(t, &mut info);
            }
        }
    }
    if let Some(ws_deps) = root
        .get("workspace")
        .and_then(Item::as_table_like)
        .and_then(|ws| ws.get("dependencies"))
        .and_then(Item::as_table_like)
    {
        for (key, dep) in ws_deps.iter() {
            if is_lumenize_dep(key, dep) {
                info.workspace_lumenize_keys.push(key.to_string());
            }
        }
    }
    Ok(info)
}

/// Looks at `dependencies`, `dev-dependencies` and `build-dependencies` (and the old
/// underscore spellings) of one table.
fn scan_dep_tables(table: &dyn TableLike, info: &mut ManifestInfo) {
    for section in [
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "dev_dependencies",
        "build_dependencies",
    ] {
        let Some(deps) = table.get(section).and_then(Item::as_table_like) else {
            continue;
        };
        for (key, dep) in deps.iter() {
            if is_lumenize_dep(key, dep) {
                info.uses_lumenize = true;
            } else if dep
                .as_table_like()
                .and_then(|t| t.get("workspace"))
                .and_then(Item::as_bool)
                == Some(true)
            {
                info.inherited.push(key.to_string());
            }
        }
    }
}

/// A dependency is lumenize when its key or its `package = "…"` names a lumenize package.
fn is_lumenize_dep(key: &str, dep: &Item) -> bool {
    let package = dep
        .as_table_like()
        .and_then(|t| t.get("package"))
        .and_then(Item::as_str);
    match package {
        Some(p) => LUMENIZE_PACKAGES.contains(&p),
        None => LUMENIZE_PACKAGES.contains(&key),
    }
}

/// True when `dir` holds a Cargo.toml with a `[package]` table.
pub fn is_crate_dir(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|t| read(&t).ok())
        .is_some_and(|m| m.is_package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_renamed_target_and_inherited_dependencies() {
        let m = read("[package]\nname='a'\n[dependencies]\nlumenize-core = \"0.9\"\n").unwrap();
        assert!(m.is_package && m.uses_lumenize && !m.is_workspace);

        let m = read("[package]\nname='a'\n[dependencies]\nlc = { package = \"lumenize-core-legacy\", path = \"x\" }\n").unwrap();
        assert!(m.uses_lumenize);

        let m = read("[package]\nname='a'\n[target.'cfg(unix)'.dev-dependencies.lumenize-core]\nversion = \"0.9\"\n").unwrap();
        assert!(m.uses_lumenize);

        let m = read("[package]\nname='a'\n[dependencies]\nlumenize-core = { package = \"other\", version = \"1\" }\nserde = \"1\"\n").unwrap();
        assert!(
            !m.uses_lumenize,
            "key alone does not count when package renames it away"
        );

        let m = read("[package]\nname='a'\n[dependencies]\nlc.workspace = true\n").unwrap();
        assert_eq!(m.inherited, vec!["lc".to_string()]);

        let m = read("[workspace]\n[workspace.dependencies]\nlc = { package = \"lumenize-core\", version = \"0.9\" }\n").unwrap();
        assert!(m.is_workspace && !m.is_package);
        assert_eq!(m.workspace_lumenize_keys, vec!["lc".to_string()]);
    }

    #[test]
    fn invalid_toml_is_an_error_not_a_panic() {
        assert!(read("[package\nname=").is_err());
    }
}
