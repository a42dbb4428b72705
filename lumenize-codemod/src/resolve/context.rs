//! What the crate scan learns about a crate ([`CrateContext`]): the data the resolver reads.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::scope::{ModPath, Scope};

/// What the engine needs to know about the crate a file belongs to: the modules that re-export
/// items of the crates the rules target (`pub use lumenize_core::structured_clone as sc;`
/// in `src/compat.rs`, reached from another file as `crate::compat::sc::parse`), renamed
/// dependencies (`lc = { package = "lumenize-core", … }` in Cargo.toml), and the other crates
/// it depends on that re-export them ([`Dependencies`]).
#[derive(Debug, Clone, Default)]
pub struct CrateContext {
    pub(crate) modules: HashMap<ModPath, Scope>,
    /// Name a crate is known by in code -> canonical (rule) name, e.g. `lc` -> `lumenize_core`.
    pub(crate) aliases: HashMap<String, String>,
    /// Names through which a target item can be reached in this crate (re-export names and the
    /// modules holding them, and the dependencies leading to a target): a file mentioning
    /// none of them needs nothing from the context.
    pub(crate) export_names: BTreeSet<String>,
    /// True once built by `scan`: modules it did not record hold nothing of interest.
    pub(crate) scanned: bool,
    /// Crate directory prefix (as in [`module_path_for`]'s root key) -> the library's name,
    /// for crates whose `Cargo.toml` was scanned and that have a library target: its tests,
    /// examples, benches and binaries reach it as `<name>::…`.
    pub(crate) libs: HashMap<String, String>,
    /// Crate directory prefixes whose `Cargo.toml` was scanned (so `libs` is authoritative).
    pub(crate) manifests: BTreeSet<String>,
    /// For a dependency's library ([`CrateContext::scan_library`]): its directory prefix, a
    /// `@dep<N>` unique in the process, so its modules never share a key with another
    /// crate's. Empty for the crate being migrated.
    pub(crate) prefix: String,
    /// Name in code -> directory prefix of a dependency's library that leads to a target
    /// (its context is in `libraries`).
    pub(crate) links: HashMap<String, String>,
    /// Every library reachable through `links`, transitively, by prefix (flattened, so that
    /// a module of any of them is one lookup away).
    pub(crate) libraries: HashMap<String, Arc<CrateContext>>,
    /// Name in code -> package, for dependencies the run did not read that depend on a
    /// package the rules target: a call through one may be a target (reported, never edited).
    pub(crate) unread: HashMap<String, String>,
}

/// The crates a crate depends on, as far as they matter to name resolution: libraries read
/// and scanned ([`CrateContext::scan_library`]) that re-export a target crate's items, and
/// dependencies not read (registry or git sources) that depend on a target package.
///
/// ```
/// use std::{path::Path, sync::Arc};
/// use lumenize_codemod::{CrateContext, Dependencies, RuleSet};
///
/// let rules = RuleSet::builtin();
/// let lib = CrateContext::scan_library(
///     [(Path::new("src/lib.rs"), "pub use lumenize_core::structured_clone;")],
///     &rules,
///     &Dependencies::default(),
/// );
/// let mut deps = Dependencies::default();
/// deps.add_library("compat", Arc::new(lib));
/// deps.add_unread("helpers", "lumenize-helpers");
/// let ctx = CrateContext::scan_linked(
///     [(Path::new("src/lib.rs"), "pub async fn f() {}")],
///     &rules,
///     &deps,
/// );
/// assert!(lumenize_codemod::migrate_source(
///     Path::new("src/lib.rs"),
///     "async fn f(s: &str) { compat::structured_clone::parse(s, None).await; }",
///     &ctx,
///     &rules,
/// )
/// .changed());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dependencies {
    /// (name in code, the library's context).
    pub(crate) libraries: Vec<(String, Arc<CrateContext>)>,
    /// (name in code, package).
    pub(crate) unread: Vec<(String, String)>,
}

impl Dependencies {
    /// A dependency the crate calls `name` in code, whose library was scanned into `lib`.
    pub fn add_library(&mut self, name: &str, lib: Arc<CrateContext>) {
        self.libraries.push((name.to_string(), lib));
    }

    /// A dependency called `name` in code (package `package`) that the run did not read but
    /// that depends on a package the rules target.
    pub fn add_unread(&mut self, name: &str, package: &str) {
        self.unread.push((name.to_string(), package.to_string()));
    }

    /// No dependency recorded.
    pub fn is_empty(&self) -> bool {
        self.libraries.is_empty() && self.unread.is_empty()
    }
}

impl CrateContext {
    /// True when the library leads to a target: something in it re-exports a target
    /// crate's items (or one of its own dependencies does).
    pub fn leads_to_target(&self) -> bool {
        !self.export_names.is_empty()
    }

    /// The context that owns module `m` (a dependency's library, or this crate).
    pub(crate) fn owner(&self, m: &[String]) -> &CrateContext {
        if self.libraries.is_empty() {
            return self;
        }
        let prefix = m
            .first()
            .and_then(|k| k.strip_prefix("crate:"))
            .and_then(|k| k.split_once('#'))
            .map(|(p, _)| p);
        match prefix.filter(|p| p.starts_with("@dep")) {
            Some(p) => self.libraries.get(p).map_or(self, |l| &**l),
            None => self,
        }
    }

    /// The scope of module `m` in a dependency's library, if `m` is one of theirs.
    pub(crate) fn library_module(&self, m: &[String]) -> Option<(&ModPath, &Scope)> {
        if self.libraries.is_empty() {
            return None;
        }
        let owner = self.owner(m);
        if std::ptr::eq(owner, self) {
            return None;
        }
        owner.modules.get_key_value(m)
    }
}
