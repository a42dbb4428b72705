//! [`HttpLimits`]: the bounds of one HTTP exchange, shared by every executor (the native one
//! over reqwest, a Cloudflare one over the runtime's `fetch`) and carried in each job.

use std::time::Duration;

/// Default cap on a response body: 10 MiB. A `ResponseSync` travels as structured-clone text,
/// so a bigger body is better streamed elsewhere than proxied.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// Limits for one HTTP exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Total time for waiting for a free slot (see `MAX_CONCURRENT_EXCHANGES`, native only), connect,
    /// send, and reading the whole body. When it passes, the exchange ends with
    /// [`FetchError::ExecutorTimeout`](super::FetchError::ExecutorTimeout).
    pub timeout: Duration,
    /// Largest body accepted; above it, [`FetchError::BodyTooLarge`](super::FetchError::BodyTooLarge).
    pub max_body_bytes: u64,
}

impl Default for HttpLimits {
    /// 30 s, 10 MiB.
    fn default() -> Self {
        HttpLimits {
            timeout: Duration::from_secs(30),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}
