//! [`ChainError`]: why running (or reading) an operation chain failed.

use crate::structured_clone::{CloneError, ErrorValue, Object, ObjectKind, Props, Value};

/// Why an operation chain could not be read or run. Every variant says what and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChainError {
    /// The chain's wire shape is wrong (not an array, an operation without `type`...).
    #[error("malformed operation chain: {message}")]
    Malformed {
        /// What is wrong.
        message: String,
    },
    /// More operations than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error("operation chain has {len} operations, more than the limit of {max}")]
    TooDeep {
        /// The chain's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More arguments than [`MAX_ARGS`](super::MAX_ARGS) in one `apply`.
    #[error("apply has {len} arguments, more than the limit of {max}")]
    TooManyArgs {
        /// The argument count.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An argument graph nests objects deeper than [`MAX_NESTING`](super::MAX_NESTING)
    /// (counted from the chain's arguments, through nested-operation markers).
    #[error("an argument nests objects more than {max} levels deep")]
    TooNested {
        /// The limit.
        max: usize,
    },
    /// Reading or running the chain needs more than [`MAX_WORK`](super::MAX_WORK) steps
    /// (objects visited in the argument graph plus operations run, for one top-level run and
    /// everything it runs through nested-operation markers). Shared objects count once.
    #[error("the operation chain needs more work than the budget of {budget} steps")]
    TooMuchWork {
        /// The budget.
        budget: usize,
    },
    /// The target has no handler by that name.
    #[error("{target} has no method {method:?}")]
    UnknownMethod {
        /// The object type (or binding) the chain ran against.
        target: String,
        /// The method path the chain named.
        method: String,
    },
    /// An argument did not convert to the handler's parameter type.
    #[error("argument {index} of {method}: expected {expected}, got {got}")]
    BadArgument {
        /// The method.
        method: String,
        /// Zero-based argument position.
        index: usize,
        /// The parameter's expected type.
        expected: String,
        /// What was passed (a short description).
        got: String,
    },
    /// Wrong number of arguments.
    #[error("{method} takes {expected} argument(s), got {got}")]
    WrongArgCount {
        /// The method.
        method: String,
        /// How many it takes.
        expected: usize,
        /// How many were passed.
        got: usize,
    },
    /// The chain reads or calls something that cannot be read or called (e.g. a property of a
    /// number, or a call on a returned value).
    #[error("cannot evaluate operation {index} of the chain: {message}")]
    NotCallable {
        /// Zero-based operation index.
        index: usize,
        /// Why.
        message: String,
    },
    /// The handler returned an error. `name` becomes the JavaScript error name on the wire.
    #[error("{name}: {message}")]
    Handler {
        /// Error name (`"Error"` unless the handler chose one).
        name: String,
        /// Error message.
        message: String,
    },
    /// The handler panicked (the runtime rolled its transaction back).
    #[error("handler panicked: {message}")]
    Panicked {
        /// The panic payload, when it was a string.
        message: String,
    },
    /// `__execute_chain` was called outside a handler, so there is no context to run in.
    #[error("__execute_chain called outside a handler (no current context)")]
    NoContext,
    /// Encoding or decoding the chain or a value failed.
    #[error("structured-clone error: {0}")]
    Codec(CloneError),
    /// A storage operation failed while running the chain.
    #[error("storage error: {0}")]
    Storage(String),
}

impl ChainError {
    /// A handler error with name `"Error"`.
    pub fn handler(message: impl Into<String>) -> ChainError {
        ChainError::Handler {
            name: "Error".into(),
            message: message.into(),
        }
    }

    /// The error as a JavaScript `Error` value (what a continuation receives): `name` is the
    /// handler's chosen name, or `"ChainError"` for failures of the machinery, with a `kind`
    /// prop naming the variant.
    pub fn to_value(&self) -> Value {
        let (name, message) = match self {
            ChainError::Handler { name, message } => (name.clone(), message.clone()),
            other => ("ChainError".to_string(), other.to_string()),
        };
        let mut props = Props::new();
        props.insert("kind", Value::from(self.kind()));
        Value::Object(Object::new(ObjectKind::Error(ErrorValue {
            name,
            message,
            stack: None,
            cause: None,
            props,
        })))
    }

    /// [`ChainError::to_value`] as structured-clone wire text: what hosts deliver to a
    /// continuation when a call failed.
    pub fn to_wire(&self) -> String {
        crate::structured_clone::stringify(&self.to_value()).unwrap_or_else(|_| {
            // Encoding an Error value cannot reasonably fail; keep a readable fallback.
            format!(
                "{{\"json\":{{\"$type\":\"error\",\"name\":\"ChainError\",\"message\":{:?}}},\"meta\":{{}}}}",
                self.to_string()
            )
        })
    }

    /// A short stable name of the variant (`"UnknownMethod"`, `"Handler"`...).
    pub fn kind(&self) -> &'static str {
        match self {
            ChainError::Malformed { .. } => "Malformed",
            ChainError::TooDeep { .. } => "TooDeep",
            ChainError::TooManyArgs { .. } => "TooManyArgs",
            ChainError::TooNested { .. } => "TooNested",
            ChainError::TooMuchWork { .. } => "TooMuchWork",
            ChainError::UnknownMethod { .. } => "UnknownMethod",
            ChainError::BadArgument { .. } => "BadArgument",
            ChainError::WrongArgCount { .. } => "WrongArgCount",
            ChainError::NotCallable { .. } => "NotCallable",
            ChainError::Handler { .. } => "Handler",
            ChainError::Panicked { .. } => "Panicked",
            ChainError::NoContext => "NoContext",
            ChainError::Codec(_) => "Codec",
            ChainError::Storage(_) => "Storage",
        }
    }
}
