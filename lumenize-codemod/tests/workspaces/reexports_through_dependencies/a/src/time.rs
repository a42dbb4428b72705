pub use lumenize_core::structured_clone::stringify;
