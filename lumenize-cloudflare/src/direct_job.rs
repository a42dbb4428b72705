//! [`DirectFetch`]: one exchange of the direct design queued by a turn
//! ([`direct_fetch`](crate::direct_fetch)) as an effect of that turn, which the host takes
//! from the turn's committed outputs.

use lumenize_core::fetch::{
    outcome_to_value, FetchError, FetchPolicy, FetchRequest, FetchResponse, HttpLimits,
};
use lumenize_core::ocan::{ChainError, OperationChain};

/// One queued exchange: what to fetch, within which limits and policy, and the continuation
/// (wire text, with its `$result` marker) to resume with the outcome.
pub(crate) struct DirectFetch {
    id: String,
    request: FetchRequest,
    limits: HttpLimits,
    policy: FetchPolicy,
    continuation: String,
}

impl DirectFetch {
    /// An exchange of `request` within `limits` and `policy`, resuming `continuation` (wire
    /// text with a `$result` marker).
    pub(crate) fn new(
        id: String,
        request: FetchRequest,
        limits: HttpLimits,
        policy: FetchPolicy,
        continuation: String,
    ) -> DirectFetch {
        DirectFetch {
            id,
            request,
            limits,
            policy,
            continuation,
        }
    }

    /// The request id (for logs).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Performs the exchange with the executor's code.
    pub(crate) async fn perform(&self) -> Result<FetchResponse, FetchError> {
        crate::executor::perform(&self.request, self.limits, &self.policy).await
    }

    /// The continuation with `outcome` in place of its `$result` marker, as wire text.
    pub(crate) fn resumed(
        &self,
        outcome: &Result<FetchResponse, FetchError>,
    ) -> Result<String, ChainError> {
        OperationChain::parse(&self.continuation)?
            .with_result(outcome_to_value(outcome))
            .stringify()
    }
}
