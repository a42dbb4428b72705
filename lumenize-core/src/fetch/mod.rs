//! External fetches for objects that must not stay awake (billed) while they wait.
//!
//! Three designs, callable the same way so they can be compared:
//! - **simple proxy fetch** (the mission's design): the origin writes one timeout alarm holding
//!   the continuation and calls a stateless executor directly; whoever cancels the alarm first
//!   (the executor's result or the alarm itself) runs the continuation, exactly once.
//! - **orchestrated proxy fetch** (the baseline): origin → orchestrator object (queue in its
//!   SQLite, timeouts by its alarm) → executor → origin.
//! - **direct fetch**: the object fetches itself and stays awake until the body is read.
//!
//! Building blocks, each a module with one job:
//! - [`FetchError`] (outcomes without a response, definite vs ambiguous) and the thread-safe
//!   [`FetchRequest`] / [`FetchResponse`] with their `RequestSync` / `ResponseSync` conversions;
//! - [`HttpClient`]: the real HTTP exchange (reqwest), size cap and executor-side timeout;
//! - [`EndpointServer`]: a local axum server with scripted endpoints for tests and experiments.

mod error;
mod http;
mod message;
mod server;

pub use error::FetchError;
pub use http::{HttpClient, HttpLimits, DEFAULT_MAX_BODY_BYTES};
pub use message::{outcome_from_value, outcome_to_value, Body, FetchRequest, FetchResponse};
pub use server::{EndpointServer, MAX_BYTES, MAX_DELAY_MS};

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A random (version 4) UUID string, e.g. `"3f1c…-4…-a…"`. Random enough for request ids and
/// the `/uuid` endpoint; not for secrets (it comes from the std hasher's per-process keys and a
/// counter, to avoid a dependency).
pub fn new_uuid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.finish()
    };
    let (a, b) = (word(0x5eed), word(0xfeed));
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000; // version 4
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}
