//! Tidy test (in the style of rust-analyzer's): the library's modules form layers, and every
//! `crate::`/`super::` path in `src/` must point at the file's own layer or one below it.
//!
//! The layer order is written once, as the order of the top-level `mod` declarations in
//! `src/lib.rs` (bottom-up). A file belongs to the layer of its first path component
//! (`src/plan/state.rs` to `plan`). Within a layer, files may use each other, but not in a
//! circle. `main.rs`, `cli/` and `bin/` are the binaries: they use the library as
//! `lumenize_codemod::…` and are not checked here. The checker is the workspace's `tidy` crate.

use std::path::Path;

#[test]
fn library_imports_only_downward_and_without_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let layers = tidy::Layers::from_mod_order(&lib_rs);
    assert!(
        layers.names().len() >= 8,
        "lib.rs should declare the layers as top-level `mod`s, found {:?}",
        layers.names()
    );
    let files = tidy::library_files(&src, &["main.rs", "cli", "bin"]);
    assert!(files.len() > 20, "found only {} files", files.len());
    let found = tidy::violations(&layers, &files);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}
