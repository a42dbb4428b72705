//! The direct fetch design in the simulator: the object performs the exchange itself, after
//! its turn commits, and its continuation runs on it as a resumed turn.
//!
//! The real [`lumenize_core::fetch::direct_fetch`] queues its exchange with
//! `NativeExt::spawn_after_commit` (a tokio task), which the simulator cannot run. This module
//! mirrors it with the same core pieces: the request read with [`FetchRequest::from_value`],
//! the continuation checked with [`encode_continuation`], and the exchange queued with
//! [`Ctx::after_commit`] as a [`SimDirect`] effect. The engine keeps an effect only with a
//! committed turn (or group message); the host takes the committed turns' effects from their
//! `Outputs` after the outbox, runs the exchange against the simulated endpoint, and resumes
//! the continuation with the outcome ([`SimDirect::resume_chain`], as
//! `MessageSender::resume_wire` does: `Message::Resume`, no network hop).
//!
//! As in the real design there is no alarm and no row: if the object's process dies between
//! the commit and the end of the exchange, the continuation never runs. So a direct fetch's
//! continuation runs at most once, and exactly once only when nothing (a crash, a failing
//! resumed turn) prevented it.

use lumenize_core::context::{Ctx, Effect};
use lumenize_core::fetch::{
    encode_continuation, outcome_to_value, FetchError, FetchOptions, FetchRequest, FetchResponse,
    HttpLimits, ProxyFetchError,
};
use lumenize_core::ocan::{ChainError, Continuation, OperationChain};
use lumenize_core::structured_clone::Value;

/// One direct fetch waiting for its turn's commit: what the host needs to run the exchange and
/// resume the continuation.
///
/// Invariant: `continuation` is wire text [`encode_continuation`] accepted on the object that
/// queued it.
#[derive(Debug)]
pub struct SimDirect {
    tag: String,
    request: FetchRequest,
    limits: HttpLimits,
    continuation: String,
}

impl SimDirect {
    /// The fetch's request id (the workload's tag).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The request.
    pub fn request(&self) -> &FetchRequest {
        &self.request
    }

    /// The exchange's limits (timeout, body cap).
    pub fn limits(&self) -> HttpLimits {
        self.limits
    }

    /// The wire text of the resumed turn: the continuation with `outcome` as its result.
    pub fn resume_chain(
        &self,
        outcome: &Result<FetchResponse, FetchError>,
    ) -> Result<String, ChainError> {
        OperationChain::parse(&self.continuation)?
            .with_result(outcome_to_value(outcome))
            .stringify()
    }
}

/// Queues a direct fetch of `request` as an effect of the running turn (as
/// [`lumenize_core::fetch::direct_fetch`] does): nothing happens unless the turn commits.
/// `tag` is the request id (the simulator needs ids that do not depend on the process).
///
/// ```
/// use lumenize_core::fetch::FetchOptions;
/// use lumenize_core::prelude::*;
/// fn go(ctx: &Ctx<'_>) -> Result<(), String> {
///     let cont = ctn().call("fetched", vec![Value::from("t1"), result_marker()]);
///     let url = Value::from("https://endpoint.test/t1");
///     lumenize_sim::direct::direct_fetch(ctx, "t1", &url, &cont, &FetchOptions::default())
///         .map_err(|e| e.to_string())
/// }
/// ```
pub fn direct_fetch(
    ctx: &Ctx<'_>,
    tag: &str,
    request: &Value,
    continuation: &Continuation,
    options: &FetchOptions,
) -> Result<(), ProxyFetchError> {
    let request = FetchRequest::from_value(request).map_err(ProxyFetchError::InvalidRequest)?;
    let continuation = encode_continuation(ctx, continuation)?;
    ctx.after_commit(Effect::new(SimDirect {
        tag: tag.to_string(),
        request,
        limits: HttpLimits {
            timeout: options.timeout,
            max_body_bytes: options.max_body_bytes,
        },
        continuation,
    }));
    Ok(())
}
