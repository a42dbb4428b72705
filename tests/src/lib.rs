//! End-to-end tests live in `tests/tests/`; this library is otherwise empty on purpose.

/// The README's Rust examples, compiled and run by `cargo test` as doctests, so the README
/// cannot drift from the API (blocks marked `ignore` need another target, e.g. Cloudflare's).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
