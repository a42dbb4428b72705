//! Re-exports a whole module of lumenize-core with a glob.

pub mod clone {
    pub use lumenize_core::structured_clone::*;
}
