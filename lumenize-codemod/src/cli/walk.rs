//! Turning PATH arguments into crates and the files to migrate.
//!
//! A PATH inside a crate makes the walk start at that crate's root, because the engine's
//! `CrateContext` needs every file of the crate (re-exports can live anywhere); only the files
//! under PATH are *selected* for migration, the others are read for context. Directories are
//! walked with the `ignore` crate (gitignore, hidden files) in parallel; cargo `target/`
//! directories are pruned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{WalkBuilder, WalkState};
use rayon::prelude::*;

use lumenize_codemod::{Dependencies, ManifestInfo, RuleSet};

use super::error::CliError;
use super::manifest;

/// What kind of file the engine gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `.rs` file: `migrate_source`.
    Rust,
    /// A `Cargo.toml`: `migrate_manifest`.
    Manifest,
}

/// One file found by the walk.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Rust source or manifest.
    pub kind: Kind,
    /// Under a PATH argument and passing --include/--exclude: migrate it. Otherwise the file
    /// is only read for the crate context.
    pub selected: bool,
}

/// The files of one crate (or of no crate: loose `.rs` files outside any package).
#[derive(Debug, Clone)]
pub struct CrateUnit {
    /// The directory holding the crate's Cargo.toml; `None` for loose files.
    pub dir: Option<PathBuf>,
    /// The crate's files, sorted by path.
    pub files: Vec<SourceFile>,
    /// The package names the crate depends on, inherited workspace dependencies resolved;
    /// `None` for loose files and unparsable manifests (nothing to check).
    pub dependencies: Option<BTreeSet<String>>,
    /// To be migrated: depends on a package the rules target (lumenize-core unless a config
    /// file adds more; see [`CrateUnit::retarget`]), or has no manifest to tell.
    pub targeted: bool,
    /// A manifest that cannot be parsed: the reason (the crate is then still processed).
    pub manifest_error: Option<String>,
    /// The crate's manifest, when it parses.
    pub manifest: Option<std::sync::Arc<ManifestInfo>>,
    /// What its other crates contribute to name resolution (see `deps::Linker`).
    pub links: Dependencies,
    /// Dependencies that could not be read, each with the reason.
    pub link_errors: Vec<String>,
}

impl CrateUnit {
    /// Recomputes `targeted` for the given target package names.
    pub fn retarget(&mut self, packages: &BTreeSet<String>) {
        self.targeted = self
            .dependencies
            .as_ref()
            .is_none_or(|d| d.iter().any(|p| packages.contains(p)));
    }
}

/// Include/exclude globs, gitignore syntax, relative to the PATH they apply to.
#[derive(Debug, Clone, Default)]
pub struct Globs {
    /// `--include`.
    pub include: Vec<String>,
    /// `--exclude`.
    pub exclude: Vec<String>,
}

/// Which files under a walk root are selected.
#[derive(Debug, Clone)]
enum Selector {
    /// One file named on the command line (always selected, like ripgrep does).
    File(PathBuf),
    /// Everything under a directory, filtered by globs.
    Under {
        dir: PathBuf,
        include: Box<Gitignore>,
        exclude: Box<Gitignore>,
    },
}

impl Selector {
    fn selects(&self, path: &Path, is_dir: bool) -> bool {
        match self {
            Selector::File(f) => f == path,
            Selector::Under {
                dir,
                include,
                exclude,
            } => {
                if !path.starts_with(dir) {
                    return false;
                }
                if exclude
                    .matched_path_or_any_parents(path, is_dir)
                    .is_ignore()
                {
                    return false;
                }
                include.is_empty()
                    || is_dir
                    || include
                        .matched_path_or_any_parents(path, is_dir)
                        .is_ignore()
            }
        }
    }
}

/// The result of walking every PATH.
#[derive(Debug, Default)]
pub struct Workset {
    /// Crates in path order; loose files last.
    pub crates: Vec<CrateUnit>,
    /// PATH arguments that could not be used (`path: reason`).
    pub errors: Vec<(PathBuf, String)>,
}

/// Walks every PATH and groups what it finds by crate.
pub fn discover(paths: &[PathBuf], globs: &Globs) -> Workset {
    let mut errors = Vec::new();
    // walk root -> selectors; BTreeMap so the walk order (and thus output order) is stable.
    let mut roots: BTreeMap<PathBuf, Vec<Selector>> = BTreeMap::new();
    for given in paths {
        let abs = match std::fs::canonicalize(given) {
            Ok(p) => p,
            Err(e) => {
                errors.push((given.clone(), e.to_string()));
                continue;
            }
        };
        let is_dir = abs.is_dir();
        let start = if is_dir {
            Some(abs.as_path())
        } else {
            abs.parent()
        };
        let crate_root = start.and_then(enclosing_crate);
        let selector = if is_dir {
            match build_selector(&abs, globs) {
                Ok(s) => s,
                Err(e) => {
                    errors.push((given.clone(), e.to_string()));
                    continue;
                }
            }
        } else if !abs.is_file() {
            // A FIFO would block the read forever; a device is no source file.
            errors.push((
                given.clone(),
                "not a regular file (a FIFO, socket or device)".into(),
            ));
            continue;
        } else {
            Selector::File(abs.clone())
        };
        let root = crate_root.unwrap_or_else(|| abs.clone());
        roots.entry(root).or_default().push(selector);
    }

    let mut files: HashMap<PathBuf, SourceFile> = HashMap::new();
    for (root, selectors) in &roots {
        let (found, problems) = walk_root(root, selectors);
        errors.extend(problems);
        for f in found {
            files
                .entry(f.path.clone())
                .and_modify(|old| old.selected |= f.selected)
                .or_insert(f);
        }
        // A file named on the command line is migrated even when the walk would skip it
        // (ignored, hidden, odd extension): the user asked for it explicitly.
        for s in selectors {
            if let Selector::File(p) = s {
                files.entry(p.clone()).or_insert_with(|| SourceFile {
                    path: p.clone(),
                    kind: kind_of(p).unwrap_or(Kind::Rust),
                    selected: true,
                });
            }
        }
    }
    Workset {
        crates: group_by_crate(files.into_values().collect()),
        errors,
    }
}

fn build_selector(dir: &Path, globs: &Globs) -> Result<Selector, CliError> {
    let build = |list: &[String]| -> Result<Gitignore, CliError> {
        let mut b = GitignoreBuilder::new(dir);
        for g in list {
            b.add_line(None, g).map_err(|source| CliError::Glob {
                glob: g.clone(),
                source,
            })?;
        }
        b.build().map_err(CliError::Globs)
    };
    Ok(Selector::Under {
        dir: dir.to_path_buf(),
        include: Box::new(build(&globs.include)?),
        exclude: Box::new(build(&globs.exclude)?),
    })
}

/// The nearest directory at or above `start` whose Cargo.toml has a `[package]`.
fn enclosing_crate(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| manifest::is_crate_dir(d))
        .map(Path::to_path_buf)
}

/// A directory named `target` is cargo's build directory when it sits next to a Cargo.toml
/// or carries cargo's CACHEDIR.TAG; a source module directory called `target/` is kept.
fn is_cargo_target(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "target")
        && (dir.join("CACHEDIR.TAG").exists()
            || dir.parent().is_some_and(|p| p.join("Cargo.toml").exists()))
}

/// Walks one root in parallel; returns its `.rs` files and manifests, and the problems met
/// (`path: reason`): directories that cannot be read, and `.rs` or `Cargo.toml` entries that
/// are symbolic links (not followed: they may lead out of the tree, and writing through them
/// would change files elsewhere) or not regular files (FIFOs, sockets, devices). Nothing is
/// skipped silently.
fn walk_root(root: &Path, selectors: &[Selector]) -> (Vec<SourceFile>, Vec<(PathBuf, String)>) {
    if root.is_file() {
        let kind = kind_of(root).unwrap_or(Kind::Rust);
        let file = SourceFile {
            path: root.to_path_buf(),
            kind,
            selected: true,
        };
        return (vec![file], Vec::new());
    }
    let found = Mutex::new(Vec::new());
    let problems = Mutex::new(Vec::new());
    let walker = WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .filter_entry(|e| !(e.file_type().is_some_and(|t| t.is_dir()) && is_cargo_target(e.path())))
        .build_parallel();
    walker.run(|| {
        let (found, problems) = (&found, &problems);
        Box::new(move |entry| {
            let problem = |path: PathBuf, why: String| {
                if let Ok(mut v) = problems.lock() {
                    v.push((path, why));
                }
            };
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let (path, why) = match walk_error_path(&e) {
                        Some((path, why)) => (path, why.to_string()),
                        None => (root.to_path_buf(), e.to_string()),
                    };
                    problem(
                        path,
                        format!("cannot be read, so its files were not migrated: {why}"),
                    );
                    return WalkState::Continue;
                }
            };
            let Some(kind) = kind_of(entry.path()) else {
                return WalkState::Continue;
            };
            let Some(file_type) = entry.file_type() else {
                return WalkState::Continue;
            };
            if file_type.is_symlink() {
                let why = "is a symbolic link: not followed (it may lead out of the tree); \
                           migrate the file it points to where it lives, or name it explicitly";
                problem(entry.into_path(), why.to_string());
                return WalkState::Continue;
            }
            if !file_type.is_file() {
                if !file_type.is_dir() {
                    let why = "is not a regular file (a FIFO, socket or device): not read";
                    problem(entry.into_path(), why.to_string());
                }
                return WalkState::Continue;
            }
            let path = entry.into_path();
            let selected = selectors.iter().any(|s| s.selects(&path, false));
            if let Ok(mut v) = found.lock() {
                v.push(SourceFile {
                    path,
                    kind,
                    selected,
                });
            }
            WalkState::Continue
        })
    });
    let mut problems = problems.into_inner().unwrap_or_default();
    problems.sort();
    (found.into_inner().unwrap_or_default(), problems)
}

/// The path an `ignore` walk error is about, and the error without it.
fn walk_error_path(e: &ignore::Error) -> Option<(PathBuf, &ignore::Error)> {
    match e {
        ignore::Error::WithPath { path, err } => Some((path.clone(), err)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(walk_error_path),
        _ => None,
    }
}

fn kind_of(path: &Path) -> Option<Kind> {
    if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        Some(Kind::Manifest)
    } else if path.extension().is_some_and(|e| e == "rs") {
        Some(Kind::Rust)
    } else {
        None
    }
}

/// Assigns each file to the nearest enclosing crate and decides which crates use lumenize.
fn group_by_crate(files: Vec<SourceFile>) -> Vec<CrateUnit> {
    // Read every manifest found once (in parallel: a vendored tree has hundreds); crate dirs
    // are the ones with [package].
    let infos: HashMap<PathBuf, Result<ManifestInfo, String>> = files
        .par_iter()
        .filter(|f| f.kind == Kind::Manifest)
        .filter_map(|f| {
            let dir = f.path.parent()?;
            let info = std::fs::read_to_string(&f.path)
                .map_err(|e| e.to_string())
                .and_then(|t| ManifestInfo::read(&t).map_err(|e| e.to_string()));
            Some((dir.to_path_buf(), info))
        })
        .collect();
    let is_crate = |d: &Path| match infos.get(d) {
        Some(Ok(i)) => i.is_package(),
        // An unreadable manifest is treated as a crate so its error is reported.
        Some(Err(_)) => true,
        None => false,
    };
    let mut groups: BTreeMap<Option<PathBuf>, Vec<SourceFile>> = BTreeMap::new();
    for f in files {
        let owner = f
            .path
            .parent()
            .and_then(|p| p.ancestors().find(|d| is_crate(d)))
            .map(Path::to_path_buf);
        groups.entry(owner).or_default().push(f);
    }
    let mut crates: Vec<CrateUnit> = groups
        .into_iter()
        .map(|(dir, mut files)| {
            files.sort_by(|a, b| a.path.cmp(&b.path));
            let (dependencies, manifest_error, manifest) = match &dir {
                None => (None, None, None),
                Some(d) => match infos.get(d) {
                    Some(Ok(info)) => (
                        Some(dependencies(d, info)),
                        None,
                        Some(std::sync::Arc::new(info.clone())),
                    ),
                    Some(Err(e)) => (None, Some(e.clone()), None),
                    None => (None, None, None),
                },
            };
            let mut unit = CrateUnit {
                dir,
                files,
                dependencies,
                targeted: true,
                manifest_error,
                manifest,
                links: Dependencies::default(),
                link_errors: Vec::new(),
            };
            unit.retarget(builtin_packages());
            unit
        })
        .collect();
    // Loose files (no crate) sort first in a BTreeMap (None < Some); put them last.
    crates.sort_by_key(|c| c.dir.is_none());
    crates
}

/// The packages the built-in rules target (see [`RuleSet::target_packages`]).
pub fn builtin_packages() -> &'static BTreeSet<String> {
    static PACKAGES: std::sync::OnceLock<BTreeSet<String>> = std::sync::OnceLock::new();
    PACKAGES.get_or_init(|| RuleSet::builtin().target_packages().clone())
}

/// Direct dependencies plus `key.workspace = true` ones, resolved through the workspace
/// root's `[workspace.dependencies]` (where a key may rename a package).
fn dependencies(crate_dir: &Path, info: &ManifestInfo) -> BTreeSet<String> {
    let mut deps = info.packages().clone();
    if !info.inherited().is_empty() {
        let ws = workspace_root(crate_dir).map(|(_, ws)| ws);
        for key in info.inherited() {
            let package = ws
                .as_ref()
                .and_then(|w| w.workspace_package(key))
                .unwrap_or(key);
            deps.insert(package.to_string());
        }
    }
    deps
}

/// The nearest directory at or above `dir` whose Cargo.toml has a `[workspace]` table.
pub fn workspace_root(dir: &Path) -> Option<(PathBuf, ManifestInfo)> {
    dir.ancestors().find_map(|d| {
        let text = std::fs::read_to_string(d.join("Cargo.toml")).ok()?;
        // Cheap test first: most manifests are not workspace roots, and TOML parsing is the
        // expensive part of discovery on a tree of hundreds of crates.
        if !text.contains("workspace") {
            return None;
        }
        let info = ManifestInfo::read(&text).ok()?;
        info.is_workspace().then(|| (d.to_path_buf(), info))
    })
}
