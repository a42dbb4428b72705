//! The Cloudflare backend of [`lumenize_core`]: the same objects, alarms, continuations and
//! `proxy_fetch_simple` as the native runtime, running on Durable Objects with workers-rs.
//!
//! - [`ObjectHost`] hosts one object inside a `#[durable_object]` struct: storage on the
//!   object's SQLite (`ctx.storage.sql`), one `transactionSync` per handler, the alarm slot on
//!   `setAlarm`/`deleteAlarm` with lumenize's own copy of the time in SQL, the clock from
//!   `Date.now()`, and `call_raw` messages queued during the handler and sent after commit.
//! - [`Workers`] serves the stateless side: the fetch executor (its HTTP exchange runs in
//!   `ctx.waitUntil` after it has answered) and your own workers.
//! - [`envelope`] is the protocol between them (JSON over `fetch`, wire text inside). It is
//!   portable, so host-side tools can drive a deployment; everything else exists on `wasm32`
//!   only.
//!
//! Messages are authenticated by a shared secret, [`envelope::TOKEN_BINDING`]: set it with
//! `wrangler secret put LUMENIZE_TOKEN`. Without it every message is refused, because the
//! worker's public URL must not run chains for anyone.
//!
//! Differences from the native runtime, by the platform's nature: an object is addressed by
//! name (routed with `idFromName`) or by Cloudflare's own id, so a native id computed with
//! [`lumenize_core::transport::id_from_name`] does not route here; RPC targets are not
//! offered (register a worker); a handler that panics traps the WebAssembly instance (the
//! turn's transaction still rolls back, but the instance is not reusable), whereas the native
//! runtime catches the panic.
#![warn(missing_docs)]

pub mod envelope;

#[cfg(target_arch = "wasm32")]
mod executor;
#[cfg(target_arch = "wasm32")]
mod object;
#[cfg(target_arch = "wasm32")]
mod sql;
#[cfg(target_arch = "wasm32")]
mod transport;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
pub use object::ObjectHost;
#[cfg(target_arch = "wasm32")]
pub use sql::{transaction_sync, CfStorage};
#[cfg(target_arch = "wasm32")]
pub use transport::CfTransport;
#[cfg(target_arch = "wasm32")]
pub use worker::Workers;

#[cfg(target_arch = "wasm32")]
mod glue {
    //! Small pieces the hosts share.

    use lumenize_core::transport::Outgoing;
    use worker::{Request, Response};

    use crate::envelope::{Answer, Envelope, ReplyTarget, Target, TOKEN_BINDING, TOKEN_HEADER};
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

    /// Checks the token and reads the envelope; an error response otherwise.
    pub(crate) async fn read_envelope(
        mut req: Request,
        transport: &CfTransport,
    ) -> Result<Envelope, worker::Result<Response>> {
        let Some(expected) = transport.token() else {
            return Err(Response::error(
                format!("the {TOKEN_BINDING} secret is not set: lumenize messages are refused"),
                500,
            ));
        };
        let given = req.headers().get(TOKEN_HEADER).ok().flatten();
        if given.as_deref() != Some(expected.as_str()) {
            return Err(Response::error("missing or wrong lumenize token", 403));
        }
        let text = match req.text().await {
            Ok(t) => t,
            Err(e) => return Err(Response::error(format!("unreadable body: {e}"), 400)),
        };
        serde_json::from_str(&text)
            .map_err(|e| Response::error(format!("not a lumenize message: {e}"), 400))
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
