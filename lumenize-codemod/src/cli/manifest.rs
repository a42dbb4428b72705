//! Is a directory a crate? The manifest reading itself is the library's
//! ([`ManifestInfo`]); this module never edits anything.

use std::path::Path;

use lumenize_codemod::ManifestInfo;

/// True when `dir` holds a Cargo.toml with a `[package]` table.
pub fn is_crate_dir(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|t| ManifestInfo::read(&t).ok())
        .is_some_and(|m| m.is_package())
}
