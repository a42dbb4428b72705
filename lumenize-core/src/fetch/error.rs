//! [`FetchError`]: every way a proxied fetch can end without a response, and what each one means
//! for the caller.
//!
//! A fetch ends in exactly one outcome: `Ok(FetchResponse)` for *any* HTTP status (a 404 or a
//! 503 is a response, not an error: check [`FetchResponse::ok`](super::FetchResponse::ok)), or one
//! of the variants below. The variants split into two families the caller must treat
//! differently:
//!
//! - **definite** ([`FetchError::is_ambiguous`] is `false`): some component that is still alive
//!   *reported* that this attempt failed. Nothing more will arrive for it.
//! - **ambiguous** ([`FetchError::NoReply`]): nobody reported anything by the deadline. The
//!   executor may have died, its delivery may have been lost, or it may still be running; the
//!   request may or may not have reached the server. Retrying a non-idempotent request after this
//!   outcome can duplicate its side effect.
//!
//! Errors cross the wire as structured-clone `Error` values (see [`FetchError::to_value`]), with
//! a distinct `name` per variant and custom props, the way the TypeScript original sent its
//! `FetchTimeoutError` (name + `url`).

use crate::structured_clone::{ErrorValue, Object, ObjectKind, Props, Value};

/// Why a fetch produced no response. See the module docs for definite vs ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Definite. The request could not be built (unparsable URL, unsupported scheme, invalid
    /// method or header value). Nothing was sent.
    #[error("invalid request to {url}: {message}")]
    InvalidRequest {
        /// The URL as given.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// Definite. No connection could be established (refused, unreachable, DNS or TLS failure).
    /// The server never received the request, so a retry is safe.
    #[error("could not connect to {url}: {message}")]
    Connect {
        /// The URL.
        url: String,
        /// The client's description.
        message: String,
    },
    /// Definite. The connection failed after the request started (reset, malformed response,
    /// too many redirects). The server *may* have received and processed the request.
    #[error("network error fetching {url}: {message}")]
    Network {
        /// The URL.
        url: String,
        /// The client's description.
        message: String,
    },
    /// Definite. The response body exceeded the executor's size cap; the executor stopped
    /// reading it. The server did answer (with `status`).
    #[error("response body from {url} exceeds the {limit}-byte cap (status {status})")]
    BodyTooLarge {
        /// The URL.
        url: String,
        /// The cap, in bytes.
        limit: u64,
        /// The HTTP status of the oversized response.
        status: u16,
    },
    /// Definite. The executor is alive and aborted the request at its own timeout (the
    /// `timeout` option). The server may have received the request.
    #[error("fetch of {url} aborted by the executor after {timeout_ms} ms")]
    ExecutorTimeout {
        /// The URL.
        url: String,
        /// The executor-side timeout that fired.
        timeout_ms: u64,
    },
    /// Definite. The executor could not do its job for a reason that is not the HTTP exchange
    /// (it rejected the request, failed while preparing or reporting, or the dispatch to it
    /// failed synchronously). Whether the request was sent is stated in `message`.
    #[error("fetch executor error for {url}: {message}")]
    Executor {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// Definite. The executor's [`FetchPolicy`](super::FetchPolicy) refused an address: the
    /// URL's (nothing was sent), a redirect's (the earlier hops were sent, nothing to the
    /// refused address), or one a host name resolved to (no connection was made to it).
    #[error("fetch of {url} refused: {message}")]
    Denied {
        /// The URL as given.
        url: String,
        /// Which address was refused, and why.
        message: String,
    },
    /// **Ambiguous.** No result reached the origin by `timeout + grace period`. The executor
    /// may have died or its delivery may have been lost; the request may or may not have
    /// reached the server. A result that arrives later is dropped (counted and logged).
    #[error(
        "no reply for fetch {request_id} of {url} within {timeout_ms} ms + {grace_ms} ms grace"
    )]
    NoReply {
        /// The URL.
        url: String,
        /// The request id (`fetch-{id}` is the alarm that fired).
        request_id: String,
        /// The fetch timeout.
        timeout_ms: u64,
        /// The grace period added on top of it before giving up.
        grace_ms: u64,
    },
}

/// The error names on the wire, one per variant, in variant order.
const NAMES: [&str; 8] = [
    "FetchInvalidRequestError",
    "FetchConnectError",
    "FetchNetworkError",
    "FetchBodyTooLargeError",
    "FetchExecutorTimeoutError",
    "FetchExecutorError",
    "FetchTimeoutError",
    "FetchDeniedError",
];

impl FetchError {
    /// True only for [`FetchError::NoReply`]: nobody reported an outcome.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, FetchError::NoReply { .. })
    }

    /// The URL the fetch was for.
    pub fn url(&self) -> &str {
        match self {
            FetchError::InvalidRequest { url, .. }
            | FetchError::Connect { url, .. }
            | FetchError::Network { url, .. }
            | FetchError::BodyTooLarge { url, .. }
            | FetchError::ExecutorTimeout { url, .. }
            | FetchError::Executor { url, .. }
            | FetchError::Denied { url, .. }
            | FetchError::NoReply { url, .. } => url,
        }
    }

    /// The JavaScript `Error.name` used on the wire (e.g. `"FetchTimeoutError"` for
    /// [`FetchError::NoReply`], the name the TypeScript original gave its timeout).
    pub fn name(&self) -> &'static str {
        let i = match self {
            FetchError::InvalidRequest { .. } => 0,
            FetchError::Connect { .. } => 1,
            FetchError::Network { .. } => 2,
            FetchError::BodyTooLarge { .. } => 3,
            FetchError::ExecutorTimeout { .. } => 4,
            FetchError::Executor { .. } => 5,
            FetchError::NoReply { .. } => 6,
            FetchError::Denied { .. } => 7,
        };
        NAMES[i]
    }

    /// Encodes as a structured-clone `Error`: `name` per variant, `message` from `Display`, and
    /// custom props `url`, `ambiguous`, plus the variant's fields in camelCase.
    ///
    /// ```
    /// use lumenize_core::fetch::FetchError;
    /// let e = FetchError::ExecutorTimeout { url: "http://x/".into(), timeout_ms: 5 };
    /// assert_eq!(FetchError::from_value(&e.to_value()), Some(e));
    /// ```
    pub fn to_value(&self) -> Value {
        let mut props = Props::new();
        props.insert("url", Value::from(self.url()));
        props.insert("ambiguous", Value::Bool(self.is_ambiguous()));
        match self {
            FetchError::BodyTooLarge { limit, status, .. } => {
                props.insert("limit", num(*limit));
                props.insert("status", Value::from(u32::from(*status)));
            }
            FetchError::ExecutorTimeout { timeout_ms, .. } => {
                props.insert("timeoutMs", num(*timeout_ms));
            }
            FetchError::NoReply {
                request_id,
                timeout_ms,
                grace_ms,
                ..
            } => {
                props.insert("requestId", Value::from(request_id.as_str()));
                props.insert("timeoutMs", num(*timeout_ms));
                props.insert("gracePeriodMs", num(*grace_ms));
            }
            _ => {}
        }
        Value::Object(Object::new(ObjectKind::Error(ErrorValue {
            name: self.name().to_string(),
            message: self.to_string(),
            stack: None,
            cause: None,
            props,
        })))
    }

    /// Decodes a value made by [`FetchError::to_value`] (after any wire round trip). Returns
    /// `None` for anything else, including errors with a foreign name.
    pub fn from_value(value: &Value) -> Option<FetchError> {
        let obj = value.as_object()?;
        let kind = obj.borrow();
        let ObjectKind::Error(err) = &*kind else {
            return None;
        };
        let p = &err.props;
        let url = p.get("url")?.as_str()?.to_string();
        let text = |k: &str| p.get(k).and_then(|v| v.as_str().map(String::from));
        let int = |k: &str| p.get(k).and_then(as_u64);
        // Variants whose only field besides the URL is a message keep it in `message`: strip
        // the Display prefix back off so the round trip is exact.
        let msg = |prefix: String| {
            err.message
                .strip_prefix(&prefix)
                .unwrap_or(&err.message)
                .to_string()
        };
        Some(match err.name.as_str() {
            "FetchInvalidRequestError" => FetchError::InvalidRequest {
                message: msg(format!("invalid request to {url}: ")),
                url,
            },
            "FetchConnectError" => FetchError::Connect {
                message: msg(format!("could not connect to {url}: ")),
                url,
            },
            "FetchNetworkError" => FetchError::Network {
                message: msg(format!("network error fetching {url}: ")),
                url,
            },
            "FetchBodyTooLargeError" => FetchError::BodyTooLarge {
                limit: int("limit")?,
                status: u16::try_from(int("status")?).ok()?,
                url,
            },
            "FetchExecutorTimeoutError" => FetchError::ExecutorTimeout {
                timeout_ms: int("timeoutMs")?,
                url,
            },
            "FetchExecutorError" => FetchError::Executor {
                message: msg(format!("fetch executor error for {url}: ")),
                url,
            },
            "FetchDeniedError" => FetchError::Denied {
                message: msg(format!("fetch of {url} refused: ")),
                url,
            },
            "FetchTimeoutError" => FetchError::NoReply {
                request_id: text("requestId")?,
                timeout_ms: int("timeoutMs")?,
                grace_ms: int("gracePeriodMs")?,
                url,
            },
            _ => return None,
        })
    }
}

fn num(n: u64) -> Value {
    Value::Number(n as f64)
}

fn as_u64(v: &Value) -> Option<u64> {
    let n = v.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0).then_some(n as u64)
}
