//! [`Error`]: one error type for handlers, so `?` works on everything a handler calls.
//!
//! Each layer keeps its own precise error ([`StorageError`], [`CloneError`], [`AlarmError`],
//! [`ChainError`], [`CallError`], [`ProxyFetchError`], [`FetchError`]); a handler that returns
//! `Result<T, lumenize_core::Error>` converts any of them with `?`, and its own messages with
//! `Error::msg` or `"text".into()`. What the caller (or a continuation's `$result`) sees is the
//! error's text, as for any handler error.

use crate::alarms::AlarmError;
use crate::context::CallError;
use crate::fetch::{FetchError, ProxyFetchError};
use crate::ocan::ChainError;
use crate::storage::StorageError;
use crate::structured_clone::CloneError;

/// The error a handler returns: every lumenize error converts into it with `?`.
///
/// ```
/// use lumenize_core::prelude::*;
///
/// #[derive(Default)]
/// struct Counter;
/// impl Counter {
///     fn add(&mut self, ctx: &Ctx<'_>, by: f64) -> Result<f64, lumenize_core::Error> {
///         if !by.is_finite() {
///             return Err("by must be a finite number".into());
///         }
///         let n = ctx.kv().get("n")?.and_then(|v| v.as_f64()).unwrap_or(0.0) + by;
///         ctx.kv().put("n", &Value::from(n))?;
///         ctx.alarms().schedule(When::delay_secs(60.0), ctn().call("add", vec![Value::from(0.0)]))?;
///         Ok(n)
///     }
/// }
/// lumenize_core::handlers!(Counter { add(by: f64) });
///
/// # #[cfg(feature = "native")] {
/// let rt = Runtime::builder().in_memory().object("COUNTER", |_| Counter).build().unwrap();
/// let counter = rt.object("COUNTER", "alice");
/// assert_eq!(counter.call_method("add", vec![Value::from(2.0)]).unwrap().as_f64(), Some(2.0));
/// let err = counter.call_method("add", vec![Value::from(f64::NAN)]).unwrap_err();
/// assert!(err.to_string().contains("finite"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A storage statement failed or was refused.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A value could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CloneError),
    /// An alarms operation failed.
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    /// Running a chain failed (e.g. `__execute_chain`).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// `call_raw` refused a call.
    #[error(transparent)]
    Call(#[from] CallError),
    /// A fetch could not be started.
    #[error(transparent)]
    StartFetch(#[from] ProxyFetchError),
    /// A fetch's outcome was an error (from `fetch::outcome_from_value`).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The handler's own message.
    #[error("{0}")]
    Message(String),
}

impl Error {
    /// An error with the handler's own message.
    pub fn msg(message: impl Into<String>) -> Error {
        Error::Message(message.into())
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Message(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Message(message.to_string())
    }
}
