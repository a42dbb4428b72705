//! Tidy test (in the style of rust-analyzer's): the library's files form the layers that
//! ARCHITECTURE.md lists, and every `crate::`/`super::` path in `src/` points at the file's
//! own layer or one below it, with no circle between files.
//!
//! A layer is not always a whole module: the handler side of `ocan` (dispatch, execution,
//! argument graphs) and of `alarms` (the firing steps) take a `Ctx`, which needs the chains
//! and the schedules themselves; `fetch` has a portable part below `turn` (the engine routes
//! the simple fetch's results) and a native part above `runtime`; the crate root's `prelude`
//! and re-exported `#[dispatch]` are for the macros' tests. The table below is the one place
//! that says so.

use std::path::Path;

/// Bottom-up: each layer and the modules it holds (a module not listed belongs to its closest
/// listed parent).
const LAYERS: &[(&str, &[&str])] = &[
    ("codec", &["structured_clone"]),
    ("chains", &["ocan"]),
    ("backend traits", &["storage", "clock", "transport"]),
    ("alarms", &["alarms"]),
    ("context", &["context"]),
    (
        "handlers",
        &[
            "ocan::dispatch",
            "ocan::execute",
            "ocan::graph",
            "alarms::fire",
        ],
    ),
    ("fetch, portable", &["fetch"]),
    ("error", &["error"]),
    ("turn", &["turn"]),
    ("runtime", &["runtime"]),
    (
        "fetch, native",
        &[
            "fetch::direct",
            "fetch::executor",
            "fetch::install",
            "fetch::http",
            "fetch::server",
        ],
    ),
    ("crate root", &["prelude", "dispatch"]),
    ("macros", &["macros"]),
];

#[test]
fn library_imports_only_downward_and_without_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = tidy::library_files(&src, &[]);
    assert!(files.len() > 40, "found only {} files", files.len());
    let found = tidy::violations(&tidy::Layers::new(LAYERS), &files);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}
