//! Durable-Object-style programming in Rust.
//!
//! `lumenize-core` gives you single-threaded objects, each with its own SQLite database and one
//! alarm, whose handlers are plain synchronous `&mut self` methods. Anything that really waits
//! (a call to another object, an external fetch) is fire-and-forget with a *continuation*: an
//! operation chain that the runtime runs later with the result. Values travel in the
//! structured-clone wire format of the TypeScript original, `@lumenize/structured-clone`.
//!
//! ```
//! use lumenize_core::prelude::*;
//!
//! /// An object: its state is its own SQLite database (here its key-value view).
//! struct Counter;
//!
//! impl Counter {
//!     fn add(&mut self, ctx: &Ctx<'_>, by: f64) -> Result<f64, String> {
//!         let kv = ctx.kv();
//!         let now = kv.get("n").map_err(|e| e.to_string())?.and_then(|v| v.as_f64());
//!         let n = now.unwrap_or(0.0) + by;
//!         kv.put("n", &Value::from(n)).map_err(|e| e.to_string())?;
//!         Ok(n)
//!     }
//! }
//!
//! lumenize_core::handlers!(Counter { add(by: f64) });
//!
//! // The native runtime (feature `native`, the default). Without `data_dir` objects live in
//! // memory; with it, each object is a SQLite file there.
//! let rt = Runtime::builder().object("COUNTER", |_| Counter).build().unwrap();
//! let c = rt.object("COUNTER", "visits");
//! c.call_method("add", vec![Value::from(2.0)]).unwrap();
//! assert_eq!(c.call_method("add", vec![Value::from(3.0)]).unwrap().as_f64(), Some(5.0));
//! ```
//!
//! A longer tour (two objects, one-shot and cron schedules, a cancel, a proxied fetch):
//! `cargo run -p lumenize-core --example reminders`.
//!
//! Layers, each a module with one job:
//! - [`structured_clone`]: the `Value` model and the byte-compatible W4 codec.
//! - [`ocan`]: operation chains and continuations, the [`ocan::Dispatch`] trait, the
//!   [`#[dispatch]`](dispatch) attribute (typed handlers and continuation builders), the
//!   [`handlers!`] macro, and `__execute_chain`.
//! - [`storage`], [`alarms`], [`clock`], [`transport`]: the backend-neutral traits (SQL storage,
//!   the one alarm slot, time, message transport) and the alarms service written against them.
//! - [`context`]: [`context::Ctx`], what a handler reaches during its turn.
//! - [`turn`]: the turn engine, the rules of a turn (one transaction, alarm runs, the outbox
//!   released after commit) written once for every host.
//! - [`fetch`]: proxied, orchestrated and direct external fetches. The coordination (the
//!   simple design's alarm race, the orchestrator, the executor protocol) is portable; the
//!   HTTP client and the direct design need `native`, the local endpoint server
//!   `endpoint-server`.
//! - [`Error`]: one error type for handlers; every error above converts into it with `?`.
//! - `runtime` (feature `native`, default): the native host — tokio, rusqlite, per-object
//!   mailboxes, timers, workers, RPC targets, latency injection and accounting.
//!
//! # Features
//!
//! - `native` (default): the native runtime (tokio, rusqlite, reqwest).
//! - `endpoint-server` (off): `fetch::EndpointServer`, a local HTTP server (axum) with
//!   scripted endpoints for tests, benchmarks and experiments. Implies `native`.
//! - `sim-mutants` (off, test only): deliberately broken turn rules for the simulator.
//!
//! The crate switches on no feature of its dependencies that changes your program: in
//! particular serde_json is used with its defaults (the codec keeps JavaScript's key order
//! and exact numbers itself).
//!
//! Without the `native` feature everything but `runtime` and fetch's HTTP parts compiles (also
//! for `wasm32-unknown-unknown`): that is what the Cloudflare backend, the `lumenize-cloudflare`
//! crate, builds on. The same object code runs on both hosts.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

// The code `#[dispatch]` generates names `::lumenize_core`, which must resolve inside this
// crate too (its unit tests, its own objects).
extern crate self as lumenize_core;

pub mod alarms;
pub mod clock;
pub mod context;
mod error;
pub mod fetch;
#[doc(hidden)]
pub mod macros;
pub mod ocan;
#[cfg(feature = "native")]
#[cfg_attr(docsrs, doc(cfg(feature = "native")))]
pub mod runtime;
pub mod storage;
pub mod structured_clone;
pub mod transport;
pub mod turn;

/// Generates [`Dispatch`](ocan::Dispatch) and a typed continuation builder
/// (`Desk::ctn().remind(what)`) for the handlers of an inherent `impl` block: its `pub`
/// methods and those marked `#[handler]` (`#[handler(name = "onFetched")]` for another name,
/// `#[handler(skip)]` to leave one out). The guide, with the rules, the compile errors, results
/// and `$result` placeholders, is [`ocan::typed`].
///
/// ```
/// use lumenize_core::prelude::*;
///
/// #[derive(Default)]
/// pub struct Counter { n: f64 }
///
/// #[lumenize_core::dispatch]
/// impl Counter {
///     pub fn add(&mut self, _ctx: &Ctx<'_>, by: f64) -> f64 { self.n += by; self.n }
/// }
///
/// let rt = Runtime::builder().object("COUNTER", |_| Counter::default()).build().unwrap();
/// let v = rt.object("COUNTER", "alice").call(&Counter::ctn().add(2.0)).unwrap();
/// assert_eq!(v.as_f64(), Some(2.0));
/// ```
pub use lumenize_macros::dispatch;

#[doc(hidden)]
pub use lumenize_macros::__handlers_list;

pub use error::Error;

/// The names most programs need: `use lumenize_core::prelude::*;`.
pub mod prelude {
    pub use crate::alarms::{AlarmError, Alarms, Schedule, ScheduleFilter, ScheduleKind, When};
    pub use crate::context::{CallError, Ctx};
    pub use crate::dispatch;
    pub use crate::ocan::{
        ctn, result_marker, ChainError, Continuation, Dispatch, ExecuteChain, FromValue, IntoValue,
        Nested, OperationChain, ResultMarker, Serde,
    };
    #[cfg(feature = "native")]
    pub use crate::runtime::{Runtime, RuntimeBuilder};
    pub use crate::storage::{SqlValue, Storage};
    pub use crate::structured_clone::Value;
    pub use crate::transport::Address;
}
