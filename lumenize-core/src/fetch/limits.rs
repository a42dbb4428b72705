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

/// A body read chunk by chunk under a byte cap: a declared length above the cap is refused
/// before anything is read, and reading stops at the first chunk that would pass the cap
/// (whatever the length header said), so memory never exceeds the cap. Shared by every
/// executor and by hosts reading messages.
///
/// ```
/// use lumenize_core::fetch::CappedBody;
/// let mut body = CappedBody::new(4, None).unwrap();
/// body.push(b"abc").unwrap();
/// assert!(body.push(b"de").is_err());
/// assert!(CappedBody::new(4, Some(5)).is_err());
/// ```
#[derive(Debug)]
pub struct CappedBody {
    cap: u64,
    bytes: Vec<u8>,
}

/// A body went past its cap (see [`CappedBody`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("body exceeds the {cap}-byte cap")]
pub struct CapExceeded {
    /// The cap, in bytes.
    pub cap: u64,
}

impl CappedBody {
    /// An empty body capped at `cap` bytes; `Err` at once when `declared` (a Content-Length)
    /// is above the cap. The declared length is not trusted for allocation.
    pub fn new(cap: u64, declared: Option<u64>) -> Result<CappedBody, CapExceeded> {
        if declared.is_some_and(|n| n > cap) {
            return Err(CapExceeded { cap });
        }
        Ok(CappedBody {
            cap,
            bytes: Vec::new(),
        })
    }

    /// Appends a chunk, or refuses it (keeping nothing of it) when the total would pass the cap.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), CapExceeded> {
        if self.bytes.len() as u64 + chunk.len() as u64 > self.cap {
            return Err(CapExceeded { cap: self.cap });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes read so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_exact_and_checked_before_reading() {
        assert!(CappedBody::new(3, Some(3)).is_ok());
        assert_eq!(
            CappedBody::new(3, Some(4)).unwrap_err(),
            CapExceeded { cap: 3 }
        );
        let mut b = CappedBody::new(3, None).unwrap();
        b.push(b"ab").unwrap();
        b.push(b"c").unwrap();
        assert!(b.push(b"").is_ok());
        assert!(b.push(b"d").is_err());
        assert_eq!(b.into_bytes(), b"abc");
        // A lying (small) declared length does not raise the cap.
        let mut b = CappedBody::new(3, Some(1)).unwrap();
        assert!(b.push(b"abcd").is_err());
    }
}
