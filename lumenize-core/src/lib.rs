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
//! - [`ocan`]: operation chains and continuations, the [`ocan::Dispatch`] trait, the
//!   [`handlers!`] macro, and `__execute_chain`.
//! - [`storage`], [`alarms`], [`clock`], [`transport`]: the backend-neutral traits (SQL storage,
//!   the one alarm slot, time, message transport) and the alarms service written against them.
//! - [`context`]: [`context::Ctx`], what a handler reaches during its turn.
//! - [`turn`]: the turn engine, the rules of a turn (one transaction, alarm runs, the outbox
//!   released after commit) written once for every host.
//! - [`fetch`]: proxied, orchestrated and direct external fetches. The coordination (the
//!   simple design's alarm race, the orchestrator, the executor protocol) is portable; the
//!   HTTP client, the direct design and the test endpoint server need `native`.
//! - [`Error`]: one error type for handlers; every error above converts into it with `?`.
//! - `runtime` (feature `native`, default): the native host — tokio, rusqlite, per-object
//!   mailboxes, timers, workers, RPC targets, latency injection and accounting.
//!
//! Without the `native` feature everything but `runtime` and fetch's HTTP parts compiles (also
//! for `wasm32-unknown-unknown`): that is what the Cloudflare backend, the `lumenize-cloudflare`
//! crate, builds on. The same object code runs on both hosts.
#![warn(missing_docs)]

pub mod alarms;
pub mod clock;
pub mod context;
mod error;
pub mod fetch;
#[doc(hidden)]
pub mod macros;
pub mod ocan;
#[cfg(feature = "native")]
pub mod runtime;
pub mod storage;
pub mod structured_clone;
pub mod transport;
pub mod turn;

pub use error::Error;

/// The names most programs need: `use lumenize_core::prelude::*;`.
pub mod prelude {
    pub use crate::alarms::{AlarmError, Alarms, Schedule, ScheduleFilter, ScheduleKind, When};
    pub use crate::context::{CallError, Ctx};
    pub use crate::ocan::{
        ctn, result_marker, ChainError, Continuation, Dispatch, ExecuteChain, FromValue, IntoValue,
        OperationChain, Serde,
    };
    #[cfg(feature = "native")]
    pub use crate::runtime::{Runtime, RuntimeBuilder};
    pub use crate::storage::{SqlValue, Storage};
    pub use crate::structured_clone::Value;
    pub use crate::transport::Address;
}
