//! Re-exports lumenize-core in every way a compat crate does.

pub mod time;

pub use c_core::clone as via_c;
pub use lumenize_core as lc;
pub use lumenize_core::structured_clone;
pub use lumenize_core::structured_clone::parse as decode;
pub use reg_helper::codec as helper_codec;

pub fn helper() {}
