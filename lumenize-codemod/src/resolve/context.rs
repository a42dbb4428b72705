//! What the crate scan learns about a crate ([`CrateContext`]): the data the resolver reads.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;

use super::scope::{ModPath, Scope};

/// What the engine needs to know about the crate a file belongs to: the modules that re-export
/// items of the crates the rules target (`pub use lumenize_core::structured_clone as sc;`
/// in `src/compat.rs`, reached from another file as `crate::compat::sc::parse`), and renamed
/// dependencies (`lc = { package = "lumenize-core", … }` in Cargo.toml).
#[derive(Debug, Clone, Default)]
pub struct CrateContext {
    pub(crate) modules: HashMap<ModPath, Scope>,
    /// Name a crate is known by in code -> canonical (rule) name, e.g. `lc` -> `lumenize_core`.
    pub(crate) aliases: HashMap<String, String>,
    /// Names through which a target item can be reached in this crate (re-export names and the
    /// modules holding them): a file mentioning none of them needs nothing from the context.
    pub(crate) export_names: BTreeSet<String>,
    /// True once built by `scan`: modules it did not record hold nothing of interest.
    pub(crate) scanned: bool,
    /// Crate directory prefix (as in [`module_path_for`]'s root key) -> the library's name,
    /// for crates whose `Cargo.toml` was scanned and that have a library target: its tests,
    /// examples, benches and binaries reach it as `<name>::…`.
    pub(crate) libs: HashMap<String, String>,
    /// Crate directory prefixes whose `Cargo.toml` was scanned (so `libs` is authoritative).
    pub(crate) manifests: BTreeSet<String>,
}
