//! The direct fetch: the object performs the HTTP exchange itself. Like an awaited `fetch()` in
//! a Durable Object, the wait keeps the object non-hibernateable, so the runtime accounts it as
//! awake (billed) from the call until the continuation has run; the continuation runs on the
//! object as a new turn, but as part of the same invocation ([`MessageSender::resume_wire`]):
//! like the code after an awaited `fetch()`, it is not a second billed request. Other messages
//! may be handled meanwhile (the input gate is open during a fetch on Cloudflare too).
//!
//! [`MessageSender::resume_wire`]: crate::runtime::MessageSender::resume_wire
//!
//! The exchange is an output of the turn that asks for it, like a message it sends: it starts
//! once that turn has committed, and a turn that rolls back fetches nothing
//! ([`NativeExt::spawn_after_commit`]).
//!
//! [`NativeExt::spawn_after_commit`]: crate::runtime::NativeExt::spawn_after_commit
//!
//! No alarm, no row written: if the object's process dies mid-fetch, the continuation never
//! runs. That is the direct design's trade-off, which the proxy designs pay rows to avoid.

use super::executor::client;
use super::message::{outcome_to_value, FetchRequest};
use super::options::{encode_continuation, FetchOptions, ProxyFetchError};
use super::{new_request_id, HttpLimits};
use crate::context::Ctx;
use crate::ocan::Continuation;
use crate::runtime::NativeExt;
use crate::structured_clone::Value;

/// Fetches `request` from this object and runs `continuation` with the outcome (a
/// `ResponseSync` or a fetch `Error` value). Uses `options.timeout` and
/// `options.max_body_bytes`, and reaches what `options.policy` allows; executor, grace period
/// and test mode do not apply. Returns the
/// request id (for logs only).
pub fn direct_fetch(
    ctx: &Ctx<'_>,
    request: &Value,
    continuation: &Continuation,
    options: &FetchOptions,
) -> Result<String, ProxyFetchError> {
    let req = FetchRequest::from_value(request).map_err(ProxyFetchError::InvalidRequest)?;
    let ext = NativeExt::of(ctx).ok_or(ProxyFetchError::NoAsyncSupport)?;
    let inner = encode_continuation(ctx, continuation)?;
    let id = options
        .request_id
        .clone()
        .unwrap_or_else(|| new_request_id(ctx.now_ms()));
    let limits = HttpLimits {
        timeout: options.timeout,
        max_body_bytes: options.max_body_bytes,
    };
    let awake = ext.hold_awake();
    let sender = ext.sender();
    let client = client(&options.policy);
    let log_id = id.clone();
    // An output of the turn, like a message: no exchange unless the turn commits.
    ext.spawn_after_commit(ctx, async move {
        let outcome = client.execute(&req, limits).await;
        let sent = crate::ocan::OperationChain::parse(&inner)
            .and_then(|c| c.with_result(outcome_to_value(&outcome)).stringify())
            .map_err(|e| e.to_string())
            // Awake until the continuation's turn has run (the guard travels with it).
            .and_then(|text| {
                sender
                    .resume_wire(text, Some(awake))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = sent {
            eprintln!("lumenize direct fetch {log_id}: cannot run the continuation: {e}");
        }
    });
    Ok(id)
}
