//! The Cloudflare backend of [`lumenize_core`]: the same objects, alarms, continuations and
//! the three fetch designs as the native runtime, running on Durable Objects with workers-rs:
//! `proxy_fetch_simple` and the orchestrated `proxy_fetch` (host
//! `lumenize_core::fetch::FetchOrchestrator` in a Durable Object class bound as
//! `FETCH_ORCHESTRATOR`) as they are, and the direct design through [`direct_fetch`] (the
//! core one needs the native runtime's async support).
//!
//! - [`ObjectHost`] hosts one object inside a `#[durable_object]` struct: storage on the
//!   object's SQLite (`ctx.storage.sql`), one `transactionSync` per handler, the alarm slot on
//!   `setAlarm`/`deleteAlarm` (its time is the earliest schedule's; only the schedules are
//!   stored), the clock from
//!   `Date.now()`, `call_raw` messages queued during the handler and sent after commit, and
//!   the direct fetches it queued awaited after that.
//! - [`Workers`] serves the stateless side: the fetch executor (its HTTP exchange runs in
//!   `ctx.waitUntil` after it has answered) and your own workers.
//! - [`envelope`] is the protocol between them (JSON over `fetch`, wire text inside). It is
//!   portable, so host-side tools can drive a deployment; everything else exists on `wasm32`
//!   only.
//!
//! Messages are authenticated by a shared secret, [`envelope::TOKEN_BINDING`]: set it with
//! `wrangler secret put LUMENIZE_TOKEN` to a random value of at least
//! [`guard::MIN_TOKEN_BYTES`] bytes (`openssl rand -hex 32`). Without it, or with a shorter
//! one, every message is refused and the worker logs why, because its public URL must not run
//! chains for anyone. Never put the token in `[vars]`: vars are plaintext in `wrangler.toml`
//! and the dashboard (the runtime cannot tell a var from a secret, so this is on you).
//! Message bodies are capped at [`guard::MAX_MESSAGE_BYTES`] (`413` beyond), and the `Trigger`
//! test hook is served only where [`guard::TEST_HOOKS_BINDING`] is set.
//!
//! One rule of the native runtime does not hold here: natively a handler's SQL cannot change
//! the runtime's own `__lmz_*` tables (its authorizer refuses it); workerd's authorizer cannot
//! be extended from a Worker, and this crate does not pretend to enforce it by reading
//! statement text, so on Cloudflare handlers must leave those tables alone themselves
//! (see `CfStorage`).
//!
//! The fetch executor reaches public addresses only unless registered with a wider
//! [`FetchPolicy`](lumenize_core::fetch::FetchPolicy) (`Workers::fetch_executor_with_policy`).
//! It follows redirects itself (`redirect: "manual"`, at most
//! [`MAX_REDIRECTS`](lumenize_core::fetch::MAX_REDIRECTS) hops) and checks the URL of every
//! hop; the platform's `fetch` takes no resolver, so unlike the native executor it cannot
//! check the addresses a public *name* resolves to (Cloudflare's edge does not reach private
//! networks; a self-hosted workerd restricts them with its `network` service).
//!
//! Handlers reach the Worker's `Env` (bindings, secrets, vars) through [`CfExt::of`], as
//! `lumenize_core::runtime::NativeExt` gives them the native extras.
//!
//! A Worker hosting an object and the fetch executor (the whole of `examples/reminders-worker`,
//! wasm32 only):
//!
//! ```ignore
//! use lumenize_cloudflare::{ObjectHost, Workers};
//! use lumenize_core::fetch::EXECUTOR_BINDING;
//! use worker::*;
//!
//! #[durable_object]
//! pub struct DeskObject(ObjectHost);
//!
//! impl DurableObject for DeskObject {
//!     fn new(state: State, env: Env) -> Self {
//!         DeskObject(ObjectHost::new(state, env, "DESK", |ctx| Desk::new(ctx)))
//!     }
//!     async fn fetch(&self, req: Request) -> Result<Response> {
//!         self.0.fetch(req).await
//!     }
//!     async fn alarm(&self) -> Result<Response> {
//!         self.0.alarm().await
//!     }
//! }
//!
//! #[event(fetch)]
//! async fn main(req: Request, env: Env, ctx: Context) -> Result<Response> {
//!     match Workers::new().fetch_executor(EXECUTOR_BINDING).serve(req, env, ctx).await? {
//!         Ok(answered) => Ok(answered),
//!         Err(_other_route) => Response::error("not found", 404),
//!     }
//! }
//! ```
//!
//! The portable part runs anywhere, e.g. a host-side tool posting a call to an object:
//!
//! ```
//! use lumenize_cloudflare::envelope::{Envelope, Target, MESSAGE_PATH, TOKEN_HEADER};
//! use lumenize_core::ocan::ctn;
//!
//! let chain = ctn().call("remind", vec!["tea".into(), 30_000.0.into()]).stringify().unwrap();
//! let body = serde_json::to_string(&Envelope::Call {
//!     to: Target::object("DESK", "alice"),
//!     chain,
//!     reply: None,
//! })
//! .unwrap();
//! // POST `body` to https://<your worker>{MESSAGE_PATH} with the header TOKEN_HEADER.
//! assert!(body.contains("DESK") && MESSAGE_PATH.starts_with('/') && !TOKEN_HEADER.is_empty());
//! ```
//!
//! # Versions
//!
//! `worker` and `wasm-bindgen` are compatible ranges (`^0.8.7`, `^0.2.130`): your Worker
//! chooses the exact versions, and its `wasm-bindgen` must equal the `wasm-bindgen` CLI that
//! post-processes the module (worker-build runs it). Tested with worker 0.8.7, wasm-bindgen
//! 0.2.130, worker-build 0.8.7 and workerd 1.20261117.1 (the workerd suite's pinned tools).
//!
//! Differences from the native runtime, by the platform's nature: an object is addressed by
//! name (routed with `idFromName`) or by Cloudflare's own id, so a native id computed with
//! [`lumenize_core::transport::id_from_name`] does not route here; RPC targets are not
//! offered (register a worker); a handler that panics traps the WebAssembly instance (the
//! turn's transaction still rolls back, but the instance is not reusable), whereas the native
//! runtime catches the panic. A direct fetch ([`direct_fetch`]) keeps the message that started
//! it open until its continuation has run (the object awaits it, as a Durable Object awaiting
//! `fetch()` does), where natively the call returns at once and the continuation follows.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod envelope;
pub mod guard;

#[cfg(target_arch = "wasm32")]
mod direct;
#[cfg(target_arch = "wasm32")]
mod direct_job;
#[cfg(target_arch = "wasm32")]
mod executor;
#[cfg(target_arch = "wasm32")]
mod ext;
#[cfg(target_arch = "wasm32")]
mod object;
#[cfg(target_arch = "wasm32")]
mod sql;
#[cfg(any(test, target_arch = "wasm32"))]
mod switches;
#[cfg(target_arch = "wasm32")]
mod transport;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use direct::direct_fetch;
#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use ext::CfExt;
#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use object::ObjectHost;
#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use sql::{transaction_sync, CfStorage};
#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use transport::CfTransport;
#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use worker::Workers;

#[cfg(target_arch = "wasm32")]
mod glue {
    //! Small pieces the hosts share.

    use futures_util::StreamExt;
    use lumenize_core::fetch::CappedBody;
    use lumenize_core::transport::Outgoing;
    use worker::{Request, Response};

    use crate::envelope::{Answer, Envelope, ReplyTarget, Target, TOKEN_HEADER};
    use crate::guard::{check_token, MAX_MESSAGE_BYTES, TEST_HOOKS_BINDING};
    use crate::transport::CfTransport;

    /// "Now" from the runtime (in workerd it only advances across I/O, like a frozen turn).
    pub(crate) fn now_ms() -> i64 {
        worker::Date::now().as_millis() as i64
    }

    /// One line to the worker's log.
    pub(crate) fn console_line(line: &str) {
        worker::console_log!("lumenize: {line}");
    }

    /// The envelope of a queued `call_raw`.
    pub(crate) fn call_envelope(m: &Outgoing) -> Envelope {
        Envelope::Call {
            to: Target::from(&m.to),
            chain: m.chain.clone(),
            reply: m.reply.as_ref().map(|r| ReplyTarget {
                to: Target::from(&r.to),
                continuation: r.continuation.clone(),
            }),
        }
    }

    /// Checks the token (before reading anything else) and reads the envelope under the size
    /// cap; an error response otherwise (403 wrong token, 500 misconfigured, 413 too large).
    pub(crate) async fn read_envelope(
        mut req: Request,
        transport: &CfTransport,
    ) -> Result<Envelope, worker::Result<Response>> {
        let given = req.headers().get(TOKEN_HEADER).ok().flatten();
        if let Err(refusal) = check_token(transport.token().as_deref(), given.as_deref()) {
            if refusal.status() == 500 {
                // A configuration error: say so where the operator looks.
                console_line(&refusal.to_string());
            }
            return Err(Response::error(refusal.to_string(), refusal.status()));
        }
        let text = read_capped(&mut req).await?;
        serde_json::from_str(&text)
            .map_err(|e| Response::error(format!("not a lumenize message: {e}"), 400))
    }

    /// The body as text, at most [`MAX_MESSAGE_BYTES`]: the declared length is checked
    /// first, then the stream is read chunk by chunk and dropped at the cap.
    async fn read_capped(req: &mut Request) -> Result<String, worker::Result<Response>> {
        let too_large =
            || Response::error(format!("message body above {MAX_MESSAGE_BYTES} bytes"), 413);
        let declared = req
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|n| n.trim().parse::<u64>().ok());
        let mut body = CappedBody::new(MAX_MESSAGE_BYTES, declared).map_err(|_| too_large())?;
        // No body at all is an empty one (refused as JSON below).
        if let Ok(mut stream) = req.stream() {
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|e| Response::error(format!("unreadable body: {e}"), 400))?;
                body.push(&chunk).map_err(|_| too_large())?;
            }
        }
        String::from_utf8(body.into_bytes())
            .map_err(|e| Response::error(format!("unreadable body: {e}"), 400))
    }

    /// The answer to a `Trigger` when the test hooks are off.
    pub(crate) fn trigger_refused() -> worker::Result<Response> {
        Response::error(
            format!(
                "the trigger test hook is off: set {TEST_HOOKS_BINDING} only in test \
                 configurations"
            ),
            403,
        )
    }

    /// The HTTP answer to a processed message.
    pub(crate) fn wire_answer(answer: &Answer) -> worker::Result<Response> {
        Response::from_json(answer)
    }

    /// Sends messages one after the other, in order (a later message may depend on an
    /// earlier one having arrived, as natively). A failed send is logged: the caller's
    /// timeout alarm, where there is one, is the backstop.
    pub(crate) async fn send_all(transport: &CfTransport, messages: Vec<Envelope>) {
        for m in messages {
            if let Err(e) = transport.send(&m).await {
                console_line(&format!("message not delivered: {e}"));
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) use glue::*;
