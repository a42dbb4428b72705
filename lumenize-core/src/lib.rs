//! Durable-Object-style programming in Rust.
//!
//! `lumenize-core` gives you single-threaded objects, each with its own SQLite database and one
//! alarm, whose handlers are plain synchronous `&mut self` methods. Anything that really waits
//! (a call to another object, an external fetch) is fire-and-forget with a *continuation*: an
//! operation chain that the runtime runs later with the result. Values travel in the
//! structured-clone wire format of the TypeScript original, `@lumenize/structured-clone`.
//!
//! Layers, each a module with one job:
//! - [`structured_clone`]: the `Value` model and the byte-compatible W4 codec.
#![warn(missing_docs)]

pub mod structured_clone;
