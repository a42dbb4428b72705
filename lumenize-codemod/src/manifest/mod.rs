//! Layer 5, `Cargo.toml`: one walker over a manifest's dependency tables, used both to edit
//! (the `dependency` rules, [`bump`]) and to read what decides which crates are migrated
//! ([`ManifestInfo`]).

mod bump;

use std::collections::{BTreeMap, BTreeSet};

use toml_edit::{DocumentMut, Item, TableLike};

pub(crate) use bump::{collect_aliases, lib_name, migrate_manifest};

/// Where a dependency table sits in a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// `[dependencies]` and the like at the top level.
    Root,
    /// `[workspace.dependencies]` and the like.
    Workspace,
    /// `[target.'cfg(…)'.dependencies]` and the like.
    Target,
}

/// One dependency table.
pub(crate) struct DepTable<'d> {
    pub table: &'d dyn TableLike,
    pub place: Place,
    /// `dependencies`, `dev-dependencies`, `build-dependencies`, or an old underscore spelling.
    pub section: &'static str,
}

impl DepTable<'_> {
    /// Tables the `dependency` rules edit (and read aliases from): every place, the current
    /// spellings only.
    pub(crate) fn edited(&self) -> bool {
        !self.section.contains('_')
    }
}

const SECTIONS: [&str; 5] = [
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "dev_dependencies",
    "build_dependencies",
];

/// Every dependency table of a manifest: the top level's, the workspace's, then each
/// target's, each in the order of [`SECTIONS`].
pub(crate) fn dependency_tables(root: &dyn TableLike) -> impl Iterator<Item = DepTable<'_>> {
    let workspace = root.get("workspace").and_then(Item::as_table_like);
    let targets = root
        .get("target")
        .and_then(Item::as_table_like)
        .into_iter()
        .flat_map(|t| t.iter().filter_map(|(_, t)| t.as_table_like()));
    std::iter::once((root, Place::Root))
        .chain(workspace.map(|w| (w, Place::Workspace)))
        .chain(targets.map(|t| (t, Place::Target)))
        .flat_map(|(t, place)| {
            SECTIONS.iter().filter_map(move |&section| {
                let table = t.get(section).and_then(Item::as_table_like)?;
                Some(DepTable {
                    table,
                    place,
                    section,
                })
            })
        })
}

/// The package a dependency entry refers to: its `package = "…"`, else its key.
pub(crate) fn package_of<'a>(key: &'a str, item: &'a Item) -> &'a str {
    item.as_table_like()
        .and_then(|t| t.get("package"))
        .and_then(Item::as_str)
        .unwrap_or(key)
}

/// A manifest could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ManifestError {
    reason: String,
}

/// What a `Cargo.toml` says about its crate for deciding whether to migrate it: is it a
/// package, a workspace root, and which packages it depends on.
///
/// ```
/// let m = lumenize_codemod::ManifestInfo::read(
///     "[package]\nname = 'a'\n[dependencies]\nlc = { package = 'lumenize-core', version = '0.9' }\n",
/// )
/// .unwrap();
/// assert!(m.is_package() && m.packages().contains("lumenize-core"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManifestInfo {
    is_package: bool,
    is_workspace: bool,
    packages: BTreeSet<String>,
    inherited: Vec<String>,
    workspace_packages: BTreeMap<String, String>,
    /// Every dependency entry of the top level and the targets, in file order.
    entries: Vec<DependencyEntry>,
    /// `[workspace.dependencies]` key -> its `path`, when it has one.
    workspace_paths: BTreeMap<String, String>,
    /// The library's name in code (`[lib] name`, else the package's, `-` as `_`).
    lib_name: Option<String>,
}

/// One dependency as a manifest writes it: what the dependent calls it, which package it is,
/// and where its source is when it is local. Read by [`ManifestInfo::entries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyEntry {
    key: String,
    package: Option<String>,
    path: Option<String>,
    inherited: bool,
    section: &'static str,
}

impl DependencyEntry {
    /// The key (`lc` in `lc = { package = "lumenize-core" }`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `package = "…"` it renames, if any (for an inherited entry: see
    /// [`ManifestInfo::workspace_package`]).
    pub fn renamed_package(&self) -> Option<&str> {
        self.package.as_deref()
    }

    /// Its `path = "…"`, relative to the manifest's directory.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Written `key.workspace = true`: the workspace root's entry says the rest.
    pub fn inherited(&self) -> bool {
        self.inherited
    }

    /// `dependencies`, `dev-dependencies` or `build-dependencies` (or an old underscore
    /// spelling).
    pub fn section(&self) -> &str {
        self.section
    }
}

impl ManifestInfo {
    /// Parses a manifest's text. An unparsable manifest is an error with the reason.
    pub fn read(text: &str) -> Result<ManifestInfo, ManifestError> {
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            // The TomlError display is multi-line with a caret; keep its first useful line.
            let reason = e
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_string();
            ManifestError { reason }
        })?;
        let mut info = ManifestInfo {
            is_package: doc.get("package").is_some(),
            is_workspace: doc.get("workspace").is_some(),
            ..ManifestInfo::default()
        };
        let field = |dep: &Item, name: &str| {
            dep.as_table_like()
                .and_then(|t| t.get(name))
                .and_then(Item::as_str)
                .map(String::from)
        };
        for t in dependency_tables(doc.as_table()) {
            match t.place {
                Place::Workspace if t.section == "dependencies" => {
                    for (key, dep) in t.table.iter() {
                        info.workspace_packages
                            .insert(key.to_string(), package_of(key, dep).to_string());
                        if let Some(path) = field(dep, "path") {
                            info.workspace_paths.insert(key.to_string(), path);
                        }
                    }
                }
                Place::Workspace => {}
                Place::Root | Place::Target => {
                    for (key, dep) in t.table.iter() {
                        let inherited = dep
                            .as_table_like()
                            .and_then(|t| t.get("workspace"))
                            .and_then(Item::as_bool)
                            == Some(true);
                        if inherited {
                            info.inherited.push(key.to_string());
                        } else {
                            info.packages.insert(package_of(key, dep).to_string());
                        }
                        info.entries.push(DependencyEntry {
                            key: key.to_string(),
                            package: field(dep, "package"),
                            path: field(dep, "path"),
                            inherited,
                            section: t.section,
                        });
                    }
                }
            }
        }
        // As `bump::lib_name`, from the document already parsed (discovery reads hundreds).
        let name_in = |table: &str| doc.get(table)?.get("name")?.as_str().map(String::from);
        info.lib_name = name_in("lib")
            .or_else(|| name_in("package"))
            .map(|n| n.replace('-', "_"))
            .filter(|n| !n.is_empty());
        Ok(info)
    }

    /// Has a `[package]` table (a crate, not only a virtual workspace).
    pub fn is_package(&self) -> bool {
        self.is_package
    }

    /// Has a `[workspace]` table.
    pub fn is_workspace(&self) -> bool {
        self.is_workspace
    }

    /// The package names of all dependencies (any section, any target); a renamed
    /// dependency (`lc = { package = "lumenize-core" }`) counts under its package name.
    pub fn packages(&self) -> &BTreeSet<String> {
        &self.packages
    }

    /// Dependencies written `foo.workspace = true`, to resolve against the workspace root.
    pub fn inherited(&self) -> &[String] {
        &self.inherited
    }

    /// For a workspace root: the package a `[workspace.dependencies]` key names.
    pub fn workspace_package(&self, key: &str) -> Option<&str> {
        self.workspace_packages.get(key).map(String::as_str)
    }

    /// For a workspace root: the `path` of a `[workspace.dependencies]` entry (relative to
    /// the root), when it is a local crate.
    pub fn workspace_path(&self, key: &str) -> Option<&str> {
        self.workspace_paths.get(key).map(String::as_str)
    }

    /// Every dependency entry (all sections, top level and targets), in file order.
    ///
    /// ```
    /// let m = lumenize_codemod::ManifestInfo::read(
    ///     "[package]\nname = 'b'\n[dependencies]\ncompat = { package = 'a', path = '../a' }\n",
    /// )
    /// .unwrap();
    /// let e = &m.entries()[0];
    /// assert_eq!((e.key(), e.renamed_package(), e.path()), ("compat", Some("a"), Some("../a")));
    /// ```
    pub fn entries(&self) -> &[DependencyEntry] {
        &self.entries
    }

    /// The name code uses for this package's library: `[lib] name`, else the package's name
    /// with `-` turned into `_`; `None` without a `[package]`.
    pub fn lib_name(&self) -> Option<&str> {
        self.lib_name.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depends(m: &ManifestInfo) -> bool {
        ["lumenize-core", "lumenize-core-legacy"]
            .iter()
            .any(|p| m.packages().contains(*p))
    }

    #[test]
    fn plain_renamed_target_and_inherited_dependencies() {
        let m =
            ManifestInfo::read("[package]\nname='a'\n[dependencies]\nlumenize-core = \"0.9\"\n")
                .unwrap();
        assert!(m.is_package() && !m.is_workspace() && depends(&m));

        let m = ManifestInfo::read("[package]\nname='a'\n[dependencies]\nlc = { package = \"lumenize-core-legacy\", path = \"x\" }\n").unwrap();
        assert!(depends(&m));

        let m = ManifestInfo::read("[package]\nname='a'\n[target.'cfg(unix)'.dev-dependencies.lumenize-core]\nversion = \"0.9\"\n").unwrap();
        assert!(depends(&m));

        let m = ManifestInfo::read("[package]\nname='a'\n[dependencies]\nlumenize-core = { package = \"other\", version = \"1\" }\nserde = \"1\"\n").unwrap();
        assert!(
            !depends(&m),
            "the key alone does not count when package renames it"
        );
        assert!(m.packages().contains("other") && m.packages().contains("serde"));

        let m = ManifestInfo::read("[package]\nname='a'\n[dependencies]\nlc.workspace = true\n")
            .unwrap();
        assert_eq!(m.inherited(), ["lc".to_string()]);
        assert!(m.packages().is_empty());

        let m = ManifestInfo::read("[workspace]\n[workspace.dependencies]\nlc = { package = \"lumenize-core\", version = \"0.9\" }\n").unwrap();
        assert!(m.is_workspace() && !m.is_package());
        assert_eq!(m.workspace_package("lc"), Some("lumenize-core"));
    }

    #[test]
    fn invalid_toml_is_an_error_not_a_panic() {
        assert!(ManifestInfo::read("[package\nname=").is_err());
    }
}
