//! Reading Cargo.toml files: is this a crate, is it a workspace root, does it use lumenize?
//!
//! Only what the walker needs to decide which crates to read. The manifest *rewrite* is the
//! engine's (`migrate_manifest`); this module never edits anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use toml_edit::{DocumentMut, Item, TableLike};

/// The package names that mean "this crate uses lumenize 0.9". The legacy fixture crate is a
/// renamed package with the same lib name, so both count.
pub const LUMENIZE_PACKAGES: [&str; 2] = ["lumenize-core", "lumenize-core-legacy"];

/// What the walker needs from one Cargo.toml.
#[derive(Debug, Clone, Default)]
pub struct ManifestInfo {
    /// Has a `[package]` table (a crate, not only a virtual workspace).
    pub is_package: bool,
    /// Has a `[workspace]` table.
    pub is_workspace: bool,
    /// The package names of all dependencies (any section, any target); a renamed
    /// dependency (`lc = { package = "lumenize-core" }`) counts under its package name.
    pub packages: BTreeSet<String>,
    /// Dependencies written `foo.workspace = true`, resolved against the workspace root later.
    pub inherited: Vec<String>,
    /// For a workspace root: `[workspace.dependencies]` key -> package name.
    pub workspace_packages: BTreeMap<String, String>,
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
            info.workspace_packages
                .insert(key.to_string(), package_name(key, dep));
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
            let inherited = dep
                .as_table_like()
                .and_then(|t| t.get("workspace"))
                .and_then(Item::as_bool)
                == Some(true);
            if inherited {
                info.inherited.push(key.to_string());
            } else {
                info.packages.insert(package_name(key, dep));
            }
        }
    }
}

/// The package a dependency entry refers to: its `package = "…"`, else its key.
fn package_name(key: &str, dep: &Item) -> String {
    dep.as_table_like()
        .and_then(|t| t.get("package"))
        .and_then(Item::as_str)
        .unwrap_or(key)
        .to_string()
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

    fn depends(m: &ManifestInfo) -> bool {
        LUMENIZE_PACKAGES.iter().any(|p| m.packages.contains(*p))
    }

    #[test]
    fn plain_renamed_target_and_inherited_dependencies() {
        let m = read("[package]\nname='a'\n[dependencies]\nlumenize-core = \"0.9\"\n").unwrap();
        assert!(m.is_package && !m.is_workspace && depends(&m));

        let m = read("[package]\nname='a'\n[dependencies]\nlc = { package = \"lumenize-core-legacy\", path = \"x\" }\n").unwrap();
        assert!(depends(&m));

        let m = read("[package]\nname='a'\n[target.'cfg(unix)'.dev-dependencies.lumenize-core]\nversion = \"0.9\"\n").unwrap();
        assert!(depends(&m));

        let m = read("[package]\nname='a'\n[dependencies]\nlumenize-core = { package = \"other\", version = \"1\" }\nserde = \"1\"\n").unwrap();
        assert!(
            !depends(&m),
            "the key alone does not count when package renames it"
        );
        assert!(m.packages.contains("other") && m.packages.contains("serde"));

        let m = read("[package]\nname='a'\n[dependencies]\nlc.workspace = true\n").unwrap();
        assert_eq!(m.inherited, vec!["lc".to_string()]);
        assert!(m.packages.is_empty());

        let m = read("[workspace]\n[workspace.dependencies]\nlc = { package = \"lumenize-core\", version = \"0.9\" }\n").unwrap();
        assert!(m.is_workspace && !m.is_package);
        assert_eq!(m.workspace_packages["lc"], "lumenize-core");
    }

    #[test]
    fn invalid_toml_is_an_error_not_a_panic() {
        assert!(read("[package\nname=").is_err());
    }
}
