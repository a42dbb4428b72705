//! [`CloneError`]: what went wrong, and where in the wire document.
//!
//! Paths are built lazily: an error is created with an empty path at the point of failure and
//! each enclosing level prepends its own segment while the error travels up. The success path
//! therefore pays nothing for path tracking.

/// Why encoding or decoding failed, with the path where it happened (e.g. `json.a[3].b`).
///
/// ```
/// use lumenize_core::structured_clone::parse;
/// let err = parse(r#"{"json":{"a":[0,1,2,{"b":{"$type":"date","iso":5}}]},"meta":{}}"#).unwrap_err();
/// assert_eq!(err.path, "json.a[3].b.iso");
/// assert!(err.to_string().contains("expected a string"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {path}")]
pub struct CloneError {
    /// What went wrong.
    pub message: String,
    /// Where, as a path into the wire document (`json…`, `meta.aliases.N…`, or `$` for the
    /// envelope itself), or into the value for the serde bridge (`value…`).
    pub path: String,
}

impl CloneError {
    /// An error whose path is still to be filled in by the enclosing levels.
    pub(crate) fn here(message: impl Into<String>) -> CloneError {
        CloneError {
            message: message.into(),
            path: String::new(),
        }
    }

    /// Prepends a property segment (`.key`, or `["odd key"]` when not identifier-like).
    pub(crate) fn in_key(mut self, key: &str) -> CloneError {
        let ident = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
        let seg = if ident {
            format!(".{key}")
        } else {
            let mut quoted = String::with_capacity(key.len() + 4);
            quoted.push('[');
            super::text::write_str(&mut quoted, key);
            quoted.push(']');
            quoted
        };
        self.path.insert_str(0, &seg);
        self
    }

    /// Prepends an index segment (`[i]`).
    pub(crate) fn in_index(mut self, i: usize) -> CloneError {
        self.path.insert_str(0, &format!("[{i}]"));
        self
    }

    /// Prepends the root name (`json`, `meta.aliases.3`, `value`).
    pub(crate) fn in_root(mut self, root: &str) -> CloneError {
        self.path.insert_str(0, root);
        self
    }
}

/// Result alias used throughout the codec.
pub(crate) type Res<T> = Result<T, CloneError>;

impl serde::ser::Error for CloneError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CloneError::here(msg.to_string())
    }
}

impl serde::de::Error for CloneError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CloneError::here(msg.to_string())
    }
}
