//! The direct design on Cloudflare, [`direct_fetch`]: the object performs the HTTP exchange
//! itself and stays awake (its request open, billed) until the body has arrived, then runs the
//! continuation as one more turn, like the code after an awaited `fetch()` in a Durable
//! Object. No row, no alarm, no message: if the instance is evicted mid-fetch, the
//! continuation never runs (the trade-off the proxy designs pay rows to avoid).
//!
//! A handler is synchronous, so it only queues the exchange, as an effect of its turn
//! ([`Ctx::after_commit`]); [`ObjectHost`](crate::ObjectHost) takes the effects of the turns
//! that committed (a turn that rolls back, alone or inside an alarm run, leaves none) and
//! awaits the exchanges (through the fetch executor's own code: same timeout, body cap,
//! redirect and address checks) before answering the message that started them.

use lumenize_core::context::{Ctx, Effect};
use lumenize_core::fetch::{
    encode_continuation, FetchOptions, FetchRequest, HttpLimits, ProxyFetchError,
};
use lumenize_core::ocan::Continuation;
use lumenize_core::structured_clone::Value;

use crate::direct_job::DirectFetch;
use crate::ext::CfExt;

/// Fetches `request` from this object and runs `continuation` with the outcome (a
/// `ResponseSync` or a fetch `Error` value), the Cloudflare form of
/// `lumenize_core::fetch::direct_fetch`. Uses `options.timeout`, `options.max_body_bytes` and
/// reaches what `options.policy` allows (public addresses by default); executor, grace period
/// and test mode do not apply. Returns the request id (for logs only).
///
/// Only objects hosted by [`ObjectHost`](crate::ObjectHost) can wait:
/// [`ProxyFetchError::NoAsyncSupport`] elsewhere (workers, other backends). The exchange
/// starts once the turn has committed (a rolled-back turn fetches nothing), and the message
/// that started it is answered only after the continuation's turn.
///
/// ```ignore
/// let cont = Desk::ctn().fetched(tag, ResultMarker);
/// lumenize_cloudflare::direct_fetch(ctx, &Value::from(url), &cont, &FetchOptions::default())?;
/// ```
pub fn direct_fetch(
    ctx: &Ctx<'_>,
    request: &Value,
    continuation: &Continuation,
    options: &FetchOptions,
) -> Result<String, ProxyFetchError> {
    let req = FetchRequest::from_value(request).map_err(ProxyFetchError::InvalidRequest)?;
    if !CfExt::of(ctx).is_some_and(CfExt::waits) {
        return Err(ProxyFetchError::NoAsyncSupport);
    }
    // Checked as every design checks it: a misnamed method is refused now, not at the outcome.
    let continuation = encode_continuation(ctx, continuation)?;
    let id = options
        .request_id
        .clone()
        .unwrap_or_else(lumenize_core::fetch::new_uuid);
    let limits = HttpLimits {
        timeout: options.timeout,
        max_body_bytes: options.max_body_bytes,
    };
    ctx.after_commit(Effect::new(DirectFetch::new(
        id.clone(),
        req,
        limits,
        options.policy.clone(),
        continuation,
    )));
    Ok(id)
}
