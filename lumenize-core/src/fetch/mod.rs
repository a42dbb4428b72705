//! External fetches for objects that must not stay awake (billed) while they wait.
//!
//! Three designs, callable the same way ([`start_fetch`] with a [`Design`]) so they can be
//! compared:
//! - **simple proxy fetch** ([`proxy_fetch_simple`], the mission's design): the origin writes
//!   one timeout alarm `fetch-{id}` holding the continuation and calls a stateless executor
//!   directly; whoever cancels the alarm first (the executor's result or the alarm itself)
//!   runs the continuation, exactly once.
//! - **orchestrated proxy fetch** ([`proxy_fetch`], the baseline): origin → orchestrator
//!   object (queue in its SQLite, timeouts by its alarm) → executor → origin.
//! - **direct fetch** ([`direct_fetch`]): the object fetches itself and stays awake until the
//!   body is read.
//!
//! The continuation receives `$result` = a `ResponseSync` for *any* status, or an `Error`
//! value naming one [`FetchError`] variant; read it with [`outcome_from_value`].
//!
//! ```no_run
//! use lumenize_core::fetch::{self, FetchOptions};
//! use lumenize_core::prelude::*;
//!
//! struct Origin;
//! impl Origin {
//!     fn go(&mut self, ctx: &Ctx<'_>, url: String) -> Result<String, String> {
//!         let cont = ctn().call("done", vec![result_marker()]);
//!         fetch::proxy_fetch_simple(ctx, &Value::from(url), &cont, &FetchOptions::default())
//!             .map_err(|e| e.to_string())
//!     }
//!     fn done(&mut self, _ctx: &Ctx<'_>, outcome: Value) {
//!         match fetch::outcome_from_value(&outcome) {
//!             Ok(resp) => println!("status {}", resp.status),
//!             Err(e) if e.is_ambiguous() => println!("no reply: the request may have run"),
//!             Err(e) => println!("failed: {e}"),
//!         }
//!     }
//! }
//! lumenize_core::handlers!(Origin { go(url: String), done(outcome: Value) });
//!
//! // `install` registers the executors; the object needs no wrapper or extra method: the
//! // result reaches `done` through the turn engine's routing of `RESULT_METHOD`.
//! let rt = fetch::install(Runtime::builder())
//!     .object("ORIGIN", |_| Origin)
//!     .build()
//!     .unwrap();
//! rt.object("ORIGIN", "o1").call_method("go", vec![Value::from("https://example.com/")]).unwrap();
//! ```
//!
//! Building blocks, each a module with one job:
//! - [`FetchError`] (outcomes without a response, definite vs ambiguous) and the thread-safe
//!   [`FetchRequest`] / [`FetchResponse`] with their `RequestSync` / `ResponseSync` conversions;
//! - [`HttpClient`]: the real HTTP exchange (reqwest), size cap and executor-side timeout;
//! - [`FetchPolicy`]: which addresses executors may reach (public ones only by default);
//! - [`FetchExecutor`] / [`FetchExecutorRpcTarget`]: the executor as a worker / RPC target;
//! - [`FetchOrchestrator`]: the baseline's orchestrator object;
//! - `EndpointServer` (feature `endpoint-server`, off by default): a local axum server with
//!   scripted endpoints for tests, benchmarks and experiments.

#[cfg(feature = "native")]
mod direct;
mod error;
#[cfg(feature = "native")]
mod executor;
#[cfg(feature = "native")]
mod http;
#[cfg(feature = "native")]
mod install;
mod job;
mod limits;
mod message;
mod options;
mod orchestrated;
mod policy;
pub(crate) mod route;
#[cfg(feature = "endpoint-server")]
mod server;
mod simple;

#[cfg(feature = "native")]
#[cfg_attr(docsrs, doc(cfg(feature = "native")))]
pub use direct::direct_fetch;
pub use error::FetchError;
#[cfg(feature = "native")]
#[cfg_attr(docsrs, doc(cfg(feature = "native")))]
pub use executor::{FetchExecutor, FetchExecutorRpcTarget};
#[cfg(feature = "native")]
#[cfg_attr(docsrs, doc(cfg(feature = "native")))]
pub use http::{HttpClient, MAX_CONCURRENT_EXCHANGES};
#[cfg(feature = "native")]
#[cfg_attr(docsrs, doc(cfg(feature = "native")))]
pub use install::{install, install_with_policy};
pub use job::{address_from_value, address_to_value, ExecutorJob};
pub use limits::{CapExceeded, CappedBody, HttpLimits, DEFAULT_MAX_BODY_BYTES};
pub use message::{
    decode_body, outcome_from_value, outcome_to_value, Body, FetchRequest, FetchResponse,
    BODY_ENCODING_HEADER,
};
pub use options::{
    encode_continuation, Design, FetchOptions, ProxyFetchError, TestMode, EXECUTE_METHOD,
    EXECUTOR_BINDING, EXECUTOR_RPC_BINDING, ORCHESTRATOR_BINDING, ORCHESTRATOR_NAME, RESULT_METHOD,
};
pub use orchestrated::{
    proxy_fetch, FetchOrchestrator, FetchOrchestratorPolling, ORCHESTRATOR_POLLING_BINDING,
    POLL_INTERVAL_MS,
};
pub use policy::{
    address_class, AddressClass, DeniedAddress, FetchPolicy, MAX_ALLOWED_ADDRS, MAX_REDIRECTS,
};
#[cfg(feature = "endpoint-server")]
#[cfg_attr(docsrs, doc(cfg(feature = "endpoint-server")))]
pub use server::{EndpointServer, MAX_BYTES, MAX_DELAY_MS};
pub use simple::{alarm_id, handle_result, no_op_count, pending_count, proxy_fetch_simple};

use crate::context::Ctx;
use crate::ocan::{ChainError, Continuation, Dispatch};
use crate::structured_clone::Value;

/// Starts a fetch with the chosen design: the one entry point experiments use to compare
/// them. See [`direct_fetch`], [`proxy_fetch`] and [`proxy_fetch_simple`].
pub fn start_fetch(
    design: Design,
    ctx: &Ctx<'_>,
    request: &Value,
    continuation: &Continuation,
    options: &FetchOptions,
) -> Result<String, ProxyFetchError> {
    match design {
        #[cfg(feature = "native")]
        Design::Direct => direct_fetch(ctx, request, continuation, options),
        // The direct design awaits the fetch inside the object: the native runtime can, and on
        // Cloudflare `lumenize_cloudflare::direct_fetch` (its host awaits it after the turn).
        #[cfg(not(feature = "native"))]
        Design::Direct => Err(ProxyFetchError::NoAsyncSupport),
        Design::Orchestrated => proxy_fetch(ctx, request, continuation, options),
        Design::Simple => proxy_fetch_simple(ctx, request, continuation, options),
    }
}

/// Wraps an object type so it handles [`RESULT_METHOD`] (the simple design's convergence
/// point) and passes every other method to the inner object.
///
/// No longer needed: every object answers [`RESULT_METHOD`] (the turn engine routes it to
/// [`handle_result`] when the object does not answer it itself). Kept so that code written
/// for 1.0's first releases compiles and behaves the same.
pub struct Fetching<T>(pub T);

impl<T: Dispatch> Dispatch for Fetching<T> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn method_names(&self) -> Option<&'static [&'static str]> {
        self.0.method_names()
    }

    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        if method == RESULT_METHOD {
            return handle_result(&mut self.0, ctx, args);
        }
        self.0.dispatch(ctx, method, args)
    }
}

use std::sync::atomic::{AtomicU64, Ordering};

/// A request id: a time-ordered (version 7, RFC 9562) UUID string. The 48 high bits are
/// `now_ms`, the next 12 a per-process counter, the 62 low bits random, so ids made in one
/// turn sort in the order they were made.
///
/// Why ordered: a simple fetch's timeout schedule is keyed by `fetch-{id}` in
/// `__lmz_alarms` (a B-tree on the id). Random ids put each insert and each delete on a
/// different leaf page, so a turn that starts thousands of fetches dirties (and journals) a
/// page per fetch, and every result deletes from a random page; ordered ids append at the
/// right edge and delete near the left one. Ordering is only locality: uniqueness comes from
/// the random bits, and nothing relies on the order for correctness.
///
/// ```
/// let (a, b) = (lumenize_core::fetch::new_request_id(1_000), lumenize_core::fetch::new_request_id(1_000));
/// assert!(a < b && a.len() == 36 && &a[14..15] == "7");
/// ```
pub fn new_request_id(now_ms: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (_, b) = random_words(n);
    let ms = (now_ms.max(0) as u64) & 0xffff_ffff_ffff;
    // time (48) | version 7 (4) | counter (12)
    let a = (ms << 16) | 0x7000 | (n & 0x0fff);
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC 4122 variant
    uuid_text(a, b)
}

/// A random (version 4) UUID string, e.g. `"3f1c…-4…-a…"`. Random enough for request ids and
/// the `/uuid` endpoint; not for secrets. Natively the bits come from the std hasher's
/// per-process random keys and a counter (no dependency); on `wasm32`, where std has no
/// randomness, from `crypto.getRandomValues` (getrandom's `js` backend) and the counter.
pub fn new_uuid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (a, b) = random_words(n);
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000; // version 4
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC 4122 variant
    uuid_text(a, b)
}

/// The 128 bits `a` (high) and `b` (low) in the canonical 8-4-4-4-12 hex form. (Written by
/// hand: `format!` with five `{:0Nx}` specifiers cost more than the rest of making the id.)
fn uuid_text(a: u64, b: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut at = 0;
    for (i, nibble) in (0..32).enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out[at] = b'-';
            at += 1;
        }
        let word = if nibble < 16 { a } else { b };
        let shift = 60 - 4 * (nibble % 16);
        out[at] = HEX[((word >> shift) & 0xf) as usize];
        at += 1;
    }
    // Only ASCII hex digits and dashes were written.
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

#[cfg(not(target_arch = "wasm32"))]
fn random_words(n: u64) -> (u64, u64) {
    use std::hash::{BuildHasher, Hasher};
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.finish()
    };
    (word(0x5eed), word(0xfeed))
}

#[cfg(target_arch = "wasm32")]
fn random_words(n: u64) -> (u64, u64) {
    let mut buf = [0u8; 16];
    // Without randomness (never seen in workerd or browsers), the counter alone still keeps
    // ids distinct within this instance.
    let _ = getrandom::getrandom(&mut buf);
    let (hi, lo) = buf.split_at(8);
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    (word(hi) ^ n, word(lo) ^ n.rotate_left(32))
}

#[cfg(test)]
mod tests {
    use super::{new_request_id, uuid_text};

    #[test]
    fn uuid_text_is_the_canonical_hex_form_of_the_bits() {
        for (a, b) in [
            (0u64, 0u64),
            (u64::MAX, u64::MAX),
            (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
            (0x0193_a2b4_8c7d_7e6f, 0x9a1b_2c3d_4e5f_6a7b),
        ] {
            let expected = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            );
            assert_eq!(uuid_text(a, b), expected);
        }
    }

    #[test]
    fn request_ids_are_version_7_and_sort_by_time() {
        let first = new_request_id(1_733_380_000_000);
        let second = new_request_id(1_733_380_000_001);
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "7");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
        assert!(first < second, "{first} then {second}");
    }
}
