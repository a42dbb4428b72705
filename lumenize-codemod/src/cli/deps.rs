//! A crate's other crates: which of its dependencies may re-export what the rules migrate.
//!
//! - Local crates (`path = …`, also through `key.workspace = true` and under a `package = …`
//!   rename): their library is read and scanned ([`CrateContext::scan_library`]), with its own
//!   path dependencies first (transitively, cycles cut, depth bounded), so that `dep::…`
//!   resolves into what the library re-exports. A library is read only when it can lead to a
//!   target (its manifest depends on a target package, or one of its path dependencies leads
//!   to one), and once per run however many crates depend on it (the [`Linker`] caches it).
//! - Other dependencies (registry, git) are not read. When the nearest `Cargo.lock` says one
//!   depends on a target package, calls through it named like a target are reported
//!   ([`Dependencies::add_unread`]). One that does not gives nothing.
//!
//! Everything read is capped; a manifest, lock file or library that cannot be read becomes a
//! message for the dependent crate's report, never a panic.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lumenize_codemod::{CrateContext, Dependencies, DependencyEntry, ManifestInfo, RuleSet};

use super::walk::{workspace_root, CrateUnit};

/// Path dependencies followed from a crate at most this deep (a chain of re-exports longer
/// than this is not followed; cargo itself has no such chains in practice).
const MAX_DEPTH: usize = 16;
/// Caps on what one library may make the run read.
const MAX_LIBRARY_FILES: usize = 10_000;
const MAX_LIBRARY_BYTES: u64 = 64 << 20;
/// Caps on one manifest and one lock file.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
const MAX_LOCK_BYTES: u64 = 64 << 20;

/// A library once read, for one rule set: `None` when it leads to no target.
type Library = Option<Arc<CrateContext>>;

/// The packages of a lock file that depend on a target package, or why it cannot be read.
type LockDependents = Result<Arc<BTreeSet<String>>, String>;

/// Reads the other crates of a run's crates, each at most once.
#[derive(Default)]
pub struct Linker {
    /// (canonical crate directory, rule set key) -> its library.
    libraries: HashMap<(PathBuf, usize), Library>,
    /// Canonical crate directory -> its manifest (or why it cannot be read).
    manifests: HashMap<PathBuf, Result<Arc<ManifestInfo>, String>>,
    /// Crate directory -> its workspace root's directory and manifest.
    workspaces: HashMap<PathBuf, Option<Arc<(PathBuf, ManifestInfo)>>>,
    /// (lock file, rule set key) -> the packages in it that depend on a target package.
    locks: HashMap<(PathBuf, usize), LockDependents>,
}

/// A dependency as the dependent sees it: its name in code, package, and local directory.
struct Dep {
    code_name: String,
    package: String,
    dir: Option<PathBuf>,
    dev_or_build: bool,
}

impl Linker {
    /// Records in `unit` what its dependencies contribute (and makes it a crate to migrate
    /// when one leads to a target). `rules_key` identifies `rules` (libraries are scanned
    /// for the crates a rule set targets).
    pub fn link(&mut self, unit: &mut CrateUnit, rules: &RuleSet, rules_key: usize) {
        let (Some(dir), Some(info)) = (unit.dir.clone(), unit.manifest.clone()) else {
            return;
        };
        let mut deps = Dependencies::default();
        let mut errors = Vec::new();
        let targets = rules.target_packages();
        let mut lock: Option<Arc<BTreeSet<String>>> = None;
        let mut lock_read = false;
        for dep in self.dependencies(&dir, &info) {
            if targets.contains(&dep.package) {
                continue;
            }
            match &dep.dir {
                Some(d) => {
                    let mut stack = vec![canonical(&dir)];
                    let mut failed = Vec::new();
                    let lib = self.library(d, rules, rules_key, &mut stack, &mut failed);
                    errors.extend(failed.into_iter().map(|e| {
                        format!(
                            "path dependency `{}`: {e}; calls through it were not followed",
                            dep.code_name
                        )
                    }));
                    match lib {
                        Some(lib) => {
                            let name = self.code_name(&dep, d);
                            deps.add_library(&name, lib);
                        }
                        None => continue,
                    }
                }
                None => {
                    if !lock_read {
                        lock_read = true;
                        let mut failed = Vec::new();
                        lock = self.lock(&dir, targets, rules_key, &mut failed);
                        errors.extend(failed.into_iter().map(|e| {
                            format!(
                                "{e}; calls through registry and git dependencies were not \
                                 checked for re-exports"
                            )
                        }));
                    }
                    if lock.as_ref().is_some_and(|l| l.contains(&dep.package)) {
                        deps.add_unread(&dep.code_name, &dep.package);
                    }
                }
            }
        }
        if !deps.is_empty() {
            unit.targeted = true;
        }
        unit.links = deps;
        unit.link_errors = errors;
    }

    /// The name code uses for a local dependency: the key when it renames the package, else
    /// the library's own name.
    fn code_name(&mut self, dep: &Dep, dir: &Path) -> String {
        if dep.code_name != dep.package.replace('-', "_") {
            return dep.code_name.clone();
        }
        match self.manifest(dir) {
            Ok(m) => m.lib_name().map_or(dep.code_name.clone(), String::from),
            Err(_) => dep.code_name.clone(),
        }
    }

    /// The dependencies of the crate in `dir`, inherited ones resolved through its workspace.
    fn dependencies(&mut self, dir: &Path, info: &ManifestInfo) -> Vec<Dep> {
        let ws = if info.inherited().is_empty() {
            None
        } else {
            self.workspace(dir)
        };
        let mut out = Vec::new();
        for e in info.entries() {
            out.push(resolve_entry(dir, e, ws.as_deref()));
        }
        out
    }

    /// The library of the crate in `dir`, when it leads to a target. `stack` holds the
    /// crates being read (a cycle, possible through dev-dependencies, is cut).
    fn library(
        &mut self,
        dir: &Path,
        rules: &RuleSet,
        rules_key: usize,
        stack: &mut Vec<PathBuf>,
        errors: &mut Vec<String>,
    ) -> Library {
        let dir = canonical(dir);
        let key = (dir.clone(), rules_key);
        if let Some(known) = self.libraries.get(&key) {
            return known.clone();
        }
        if stack.contains(&dir) || stack.len() > MAX_DEPTH {
            return None;
        }
        let info = match self.manifest(&dir) {
            Ok(m) => m,
            Err(e) => {
                // Not cached: every dependent reports it (the manifest's error is cached).
                errors.push(e);
                return None;
            }
        };
        stack.push(dir.clone());
        let mut deps = Dependencies::default();
        let mut direct = false;
        let mut lock = None;
        for dep in self.dependencies(&dir, &info) {
            if dep.dev_or_build {
                continue;
            }
            if rules.target_packages().contains(&dep.package) {
                direct = true;
            } else if let Some(d) = &dep.dir {
                if let Some(lib) = self.library(d, rules, rules_key, stack, errors) {
                    let name = self.code_name(&dep, d);
                    deps.add_library(&name, lib);
                }
            } else {
                // A registry dependency of the library may re-export a target too: the
                // library's re-exports of it make calls that are reported, as the crate's own.
                let lock = lock.get_or_insert_with(|| {
                    self.lock(&dir, rules.target_packages(), rules_key, errors)
                });
                if lock.as_ref().is_some_and(|l| l.contains(&dep.package)) {
                    deps.add_unread(&dep.code_name, &dep.package);
                }
            }
        }
        stack.pop();
        let lib = if (direct || !deps.is_empty()) && info.is_package() {
            match read_library(&dir) {
                Ok(files) => {
                    let texts = files.iter().map(|(p, t)| (p.as_path(), t.as_str()));
                    let ctx = CrateContext::scan_library(texts, rules, &deps);
                    ctx.leads_to_target().then(|| Arc::new(ctx))
                }
                Err(e) => {
                    // Not cached either (rare): every dependent reports it.
                    errors.push(e);
                    return None;
                }
            }
        } else {
            None
        };
        self.libraries.insert(key, lib.clone());
        lib
    }

    /// The manifest of the crate in `dir`, read once.
    fn manifest(&mut self, dir: &Path) -> Result<Arc<ManifestInfo>, String> {
        let dir = canonical(dir);
        self.manifests
            .entry(dir.clone())
            .or_insert_with(|| {
                let path = dir.join("Cargo.toml");
                let text = read_capped(&path, MAX_MANIFEST_BYTES)?;
                ManifestInfo::read(&text)
                    .map(Arc::new)
                    .map_err(|e| format!("cannot parse {}: {e}", path.display()))
            })
            .clone()
    }

    fn workspace(&mut self, dir: &Path) -> Option<Arc<(PathBuf, ManifestInfo)>> {
        self.workspaces
            .entry(dir.to_path_buf())
            .or_insert_with(|| workspace_root(dir).map(Arc::new))
            .clone()
    }

    /// The packages of the nearest `Cargo.lock` at or above `dir` that depend on a target
    /// package (none when there is no lock file).
    fn lock(
        &mut self,
        dir: &Path,
        targets: &BTreeSet<String>,
        rules_key: usize,
        errors: &mut Vec<String>,
    ) -> Option<Arc<BTreeSet<String>>> {
        let path = dir
            .ancestors()
            .map(|d| d.join("Cargo.lock"))
            .find(|p| p.is_file())?;
        let read = self
            .locks
            .entry((path.clone(), rules_key))
            .or_insert_with(|| {
                let text = read_capped(&path, MAX_LOCK_BYTES)?;
                dependents_in_lock(&text, targets)
                    .map(Arc::new)
                    .map_err(|e| format!("cannot parse {}: {e}", path.display()))
            })
            .clone();
        match read {
            Ok(set) => Some(set),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    }
}

/// One manifest entry as a dependency: its package, name in code and local directory.
fn resolve_entry(dir: &Path, e: &DependencyEntry, ws: Option<&(PathBuf, ManifestInfo)>) -> Dep {
    let key = e.key();
    let (package, path) = if e.inherited() {
        match ws {
            Some((root, w)) => (
                w.workspace_package(key).unwrap_or(key).to_string(),
                w.workspace_path(key).map(|p| root.join(p)),
            ),
            None => (key.to_string(), None),
        }
    } else {
        (
            e.renamed_package().unwrap_or(key).to_string(),
            e.path().map(|p| dir.join(p)),
        )
    };
    Dep {
        code_name: key.replace('-', "_"),
        package,
        dir: path,
        dev_or_build: e.section() != "dependencies",
    }
}

/// The packages of a `Cargo.lock` that depend directly on one of `targets`. A lock that
/// names no target is not parsed (the common case, and the cheap one).
fn dependents_in_lock(text: &str, targets: &BTreeSet<String>) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    if !targets.iter().any(|t| text.contains(&format!("\"{t}"))) {
        return Ok(out);
    }
    let doc: toml_edit::ImDocument<&str> = toml_edit::ImDocument::parse(text).map_err(|e| {
        // The message may span lines (expected tokens): keep it on one.
        e.message().split_whitespace().collect::<Vec<_>>().join(" ")
    })?;
    let Some(packages) = doc.get("package").and_then(|p| p.as_array_of_tables()) else {
        return Ok(out);
    };
    for p in packages {
        let Some(name) = p.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let deps = p.get("dependencies").and_then(|d| d.as_array());
        // Entries are "name", "name version" or "name version (source)".
        let depends = deps.is_some_and(|a| {
            a.iter().filter_map(|v| v.as_str()).any(|d| {
                let dep = d.split(' ').next().unwrap_or(d);
                targets.contains(dep)
            })
        });
        if depends {
            out.insert(name.to_string());
        }
    }
    Ok(out)
}

/// A library's manifest and `src/` files (not `src/bin/`), crate-relative, capped.
fn read_library(dir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut out = vec![(
        PathBuf::from("Cargo.toml"),
        read_capped(&dir.join("Cargo.toml"), MAX_MANIFEST_BYTES)?,
    )];
    let mut bytes = 0u64;
    let walk = ignore::WalkBuilder::new(dir.join("src"))
        .standard_filters(false)
        .follow_links(false)
        .build();
    for entry in walk {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        if !entry.file_type().is_some_and(|t| t.is_file())
            || path.extension().is_none_or(|e| e != "rs")
        {
            continue;
        }
        let rel = path.strip_prefix(dir).unwrap_or(path).to_path_buf();
        if rel.starts_with("src/bin") {
            continue;
        }
        if out.len() > MAX_LIBRARY_FILES {
            return Err(format!(
                "the library at {} has more than {MAX_LIBRARY_FILES} files; it was not read",
                dir.display()
            ));
        }
        let text = read_capped(path, MAX_LIBRARY_BYTES - bytes.min(MAX_LIBRARY_BYTES))?;
        bytes += text.len() as u64;
        out.push((rel, text));
    }
    Ok(out)
}

/// A file's text, at most `cap` bytes (more is an error naming the file).
fn read_capped(path: &Path, cap: u64) -> Result<String, String> {
    use std::io::Read;
    let fail = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut text = String::new();
    file.take(cap + 1).read_to_string(&mut text).map_err(fail)?;
    if text.len() as u64 > cap {
        return Err(format!(
            "{} is larger than {cap} bytes; it was not read",
            path.display()
        ));
    }
    Ok(text)
}

fn canonical(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_lists_the_packages_that_depend_on_a_target() {
        let targets: BTreeSet<String> = ["lumenize-core".to_string()].into();
        let lock = "version = 3\n\
            [[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"lumenize-core 0.9.3 (registry+x)\", \"serde\"]\n\
            [[package]]\nname = \"b\"\nversion = \"1.0.0\"\ndependencies = [\"serde\"]\n\
            [[package]]\nname = \"lumenize-core\"\nversion = \"0.9.3\"\n";
        let set = dependents_in_lock(lock, &targets).unwrap();
        assert_eq!(set, ["a".to_string()].into());
        assert!(
            dependents_in_lock("[[package]]\nname = \"serde\"\n", &targets)
                .unwrap()
                .is_empty()
        );
        let broken = "[[package]\nname = \"lumenize-core\"\n";
        assert!(dependents_in_lock(broken, &targets).is_err());
    }
}
