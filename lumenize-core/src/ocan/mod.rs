//! Operation chains ("OCAN") and continuations.
//!
//! An [`OperationChain`] is a recorded sequence of property reads (`get`) and calls (`apply`),
//! the Rust form of the TypeScript original's `this.ctn().method(args)` proxy. A chain is data:
//! it is stored in alarm rows and sent between objects as structured-clone wire text, in the TS
//! wire shape `[{"type":"get","key":"m"},{"type":"apply","args":[...]}]`, so a chain written by
//! the TypeScript original parses here and vice versa.
//!
//! A *continuation* is simply a chain that runs later with a result substituted for its
//! `$result` placeholder ([`OperationChain::with_result`]). The substituted result is data:
//! nothing inside it ever runs, even a value shaped like a nested-operation marker (the
//! TypeScript original ran such markers against the caller).
//!
//! Chains come from other objects and from storage, so reading and running one is bounded:
//! [`OperationChain::validate`] (run by every writer, by [`OperationChain::parse`] and before
//! every run) checks the limits of the chain and of every nested marker in its arguments, and
//! running resolves each object of a shared or cyclic argument graph once, within a work budget
//! ([`MAX_WORK`]).
//!
//! ```
//! use lumenize_core::ocan::{ctn, result_marker, OperationChain};
//! use lumenize_core::structured_clone::Value;
//! let chain: OperationChain = ctn().call("handleResult", vec![Value::from("user-1"), result_marker()]);
//! let filled = chain.with_result(Value::from(42.0));
//! assert_eq!(filled.method_path().as_deref(), Some("handleResult"));
//! ```

pub(crate) mod convert;
mod dispatch;
mod error;
mod execute;
mod graph;
pub mod typed;

#[doc(hidden)]
pub use convert::describe as convert_describe;
pub use convert::{FromValue, IntoHandlerResult, IntoValue, Serde};
pub use dispatch::{Dispatch, MAX_ARGS, MAX_DEPTH};
pub use error::ChainError;
pub use execute::{execute_chain, run_continuation, ExecuteChain};
pub use graph::{MAX_NESTING, MAX_WORK};
pub use typed::{Arg, Nested, ResultMarker};

use crate::structured_clone::{self, ObjectKind, Value};

/// A continuation: an operation chain run later against its own object, with the result of
/// some operation substituted for its `$result` marker.
pub type Continuation = OperationChain;

/// One step of a chain.
#[derive(Clone, Debug)]
pub enum Operation {
    /// Read property `key` (in Rust: one segment of a method path, or a field of a returned
    /// plain object).
    Get {
        /// The property name.
        key: String,
    },
    /// Call what the preceding `get`s named, with these arguments. An argument may be a
    /// nested-operation marker ([`OperationChain::nested`]).
    Apply {
        /// The arguments.
        args: Vec<Value>,
    },
}

/// A recorded sequence of operations. Build one with [`ctn`].
///
/// Arguments come in two sorts. Those the chain's author wrote (with [`OperationChain::apply`]
/// and friends) may hold nested-operation markers, which run when the chain runs. Those
/// [`OperationChain::with_result`] substituted are *data*: a result delivered from another
/// object, an executor or a failed call, carried opaquely and never searched for markers, so a
/// stored document shaped like a marker cannot make the caller run its own methods. The
/// distinction survives the wire (see [`OperationChain::to_value`]).
#[derive(Clone, Debug, Default)]
pub struct OperationChain {
    ops: Vec<Operation>,
    /// `(operation index, argument index)` of the arguments that are substituted data.
    data: Vec<(usize, usize)>,
}

/// Starts an empty chain (the original's `this.ctn()`).
pub fn ctn() -> OperationChain {
    OperationChain::default()
}

/// The `$result` placeholder as an argument value: `ctn().$result` in the original.
///
/// The whole marker is replaced by the result before the chain runs
/// ([`OperationChain::with_result`]).
pub fn result_marker() -> Value {
    ctn().get("$result").nested()
}

const MARKER_FLAG: &str = "__isNestedOperation";
const MARKER_CHAIN: &str = "__operationChain";
/// The property of an `apply` operation listing its substituted-data arguments.
const DATA_KEY: &str = "data";

impl OperationChain {
    /// A chain from its operations.
    pub fn from_ops(ops: Vec<Operation>) -> OperationChain {
        OperationChain {
            ops,
            data: Vec::new(),
        }
    }

    /// True when argument `arg` of operation `op` is substituted data
    /// ([`OperationChain::with_result`]): passed to the handler as it is, never executed.
    pub fn is_data_arg(&self, op: usize, arg: usize) -> bool {
        self.data.binary_search(&(op, arg)).is_ok()
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[Operation] {
        &self.ops
    }

    /// True for an empty chain.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Appends a property read.
    pub fn get(mut self, key: impl Into<String>) -> OperationChain {
        self.ops.push(Operation::Get { key: key.into() });
        self
    }

    /// Appends a call with `args`.
    pub fn apply(mut self, args: Vec<Value>) -> OperationChain {
        self.ops.push(Operation::Apply { args });
        self
    }

    /// Appends `get(method)` then `apply(args)`: a method call.
    pub fn call(self, method: impl Into<String>, args: Vec<Value>) -> OperationChain {
        self.get(method).apply(args)
    }

    /// This chain as a nested-operation marker, to pass as an argument of another chain:
    /// `{"__isNestedOperation":true,"__operationChain":[...]}`. When the outer chain runs,
    /// the marker is replaced by the result of running this chain against the same object.
    pub fn nested(&self) -> Value {
        Value::object([
            (MARKER_FLAG, Value::Bool(true)),
            (MARKER_CHAIN, self.to_value()),
        ])
    }

    /// The dotted method path named by the `get`s before the first `apply`
    /// (`"svc.fetch.handle"`), if the chain has an `apply`.
    pub fn method_path(&self) -> Option<String> {
        let first_apply = self
            .ops
            .iter()
            .position(|op| matches!(op, Operation::Apply { .. }))?;
        let keys: Vec<&str> = self.ops[..first_apply]
            .iter()
            .filter_map(|op| match op {
                Operation::Get { key } => Some(key.as_str()),
                Operation::Apply { .. } => None,
            })
            .collect();
        Some(keys.join("."))
    }

    /// Returns the chain with `value` substituted, exactly as the original's
    /// `replaceNestedOperationMarkers` (lumenize-ts-notes E.2): only the **last** operation is
    /// touched and only when it is an `apply`; every top-level argument that is a
    /// nested-operation marker is replaced by `value`; with no marker, `value` is appended as
    /// the last argument. Markers inside arrays or objects are left alone.
    ///
    /// The substituted value is *data* ([`OperationChain::is_data_arg`]): unlike the original,
    /// which resolved markers found inside a delivered result as nested operations against the
    /// caller, running the filled chain never executes anything inside `value`.
    pub fn with_result(&self, value: Value) -> OperationChain {
        let mut out = self.clone();
        let last = out.ops.len().wrapping_sub(1);
        if let Some(Operation::Apply { args }) = out.ops.last_mut() {
            let mut replaced = false;
            for (i, arg) in args.iter_mut().enumerate() {
                // A substituted value is never a marker to replace, even if shaped like one.
                if out.data.binary_search(&(last, i)).is_err() && is_nested_marker(arg) {
                    *arg = value.clone();
                    out.data.push((last, i));
                    replaced = true;
                }
            }
            if !replaced {
                out.data.push((last, args.len()));
                args.push(value);
            }
            // Kept sorted for `is_data_arg`'s binary search.
            out.data.sort_unstable();
        }
        out
    }

    /// The chain in its wire shape: an array of `{type:"get",key}` / `{type:"apply",args}`.
    ///
    /// An `apply` holding substituted data ([`OperationChain::with_result`]) also carries
    /// `data`, the indices of those arguments (`{type:"apply",args:[..],data:[1]}`), so a
    /// filled chain sent to another object still runs nothing inside them. The TypeScript
    /// original ignores the extra property.
    pub fn to_value(&self) -> Value {
        Value::array(self.ops.iter().enumerate().map(|(i, op)| match op {
            Operation::Get { key } => Value::object([
                ("type", Value::from("get")),
                ("key", Value::from(key.as_str())),
            ]),
            Operation::Apply { args } => {
                let mut data: Vec<usize> = self
                    .data
                    .iter()
                    .filter(|(op, _)| *op == i)
                    .map(|(_, arg)| *arg)
                    .collect();
                let mut props = vec![
                    ("type", Value::from("apply")),
                    ("args", Value::array(args.iter().cloned())),
                ];
                if !data.is_empty() {
                    data.sort_unstable();
                    props.push((
                        DATA_KEY,
                        Value::array(data.into_iter().map(|d| Value::Number(d as f64))),
                    ));
                }
                Value::object(props)
            }
        }))
    }

    /// Reads a chain from its wire shape. Anything else is a [`ChainError::Malformed`] that
    /// says where and what; more than [`MAX_DEPTH`] operations or [`MAX_ARGS`] arguments in an
    /// `apply` is refused too. This reads the chain's own operations only; the checks of the
    /// whole argument graph (nested markers, nesting, size) are [`OperationChain::validate`],
    /// which [`OperationChain::parse`] and every run apply.
    pub fn from_value(value: &Value) -> Result<OperationChain, ChainError> {
        let items = value
            .as_array()
            .ok_or_else(|| malformed("a chain must be an array of operations"))?;
        if items.len() > MAX_DEPTH {
            return Err(ChainError::TooDeep {
                len: items.len(),
                max: MAX_DEPTH,
            });
        }
        let mut ops = Vec::with_capacity(items.len());
        let mut data = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let kind = item
                .get("type")
                .and_then(|t| t.as_str().map(str::to_string))
                .ok_or_else(|| malformed(format!("operation {i} has no string `type`")))?;
            match kind.as_str() {
                "get" => {
                    let key = item
                        .get("key")
                        .and_then(|k| k.as_str().map(str::to_string))
                        .ok_or_else(|| {
                            malformed(format!("operation {i} (get) has no string `key`"))
                        })?;
                    ops.push(Operation::Get { key });
                }
                "apply" => {
                    let args = item.get("args").and_then(|a| a.as_array()).ok_or_else(|| {
                        malformed(format!("operation {i} (apply) has no `args` array"))
                    })?;
                    if args.len() > MAX_ARGS {
                        return Err(ChainError::TooManyArgs {
                            len: args.len(),
                            max: MAX_ARGS,
                        });
                    }
                    if let Some(indices) = item.get(DATA_KEY) {
                        let indices = indices.as_array().ok_or_else(|| {
                            malformed(format!("operation {i} (apply) has a non-array `data`"))
                        })?;
                        if indices.len() > args.len() {
                            return Err(malformed(format!(
                                "operation {i} (apply) lists more `data` than arguments"
                            )));
                        }
                        let mut listed = vec![false; args.len()];
                        for d in indices {
                            match d.as_f64() {
                                Some(n)
                                    if n.fract() == 0.0
                                        && n >= 0.0
                                        && (n as usize) < args.len() =>
                                {
                                    let n = n as usize;
                                    if !std::mem::replace(&mut listed[n], true) {
                                        data.push((i, n));
                                    }
                                }
                                _ => {
                                    return Err(malformed(format!(
                                        "operation {i} (apply) has a `data` entry that is not an argument index"
                                    )))
                                }
                            }
                        }
                    }
                    ops.push(Operation::Apply { args });
                }
                other => {
                    return Err(malformed(format!(
                        "operation {i} has unknown type {other:?} (expected \"get\" or \"apply\")"
                    )))
                }
            }
        }
        data.sort_unstable();
        Ok(OperationChain { ops, data })
    }

    /// Checks everything a reader of this chain checks: at most [`MAX_DEPTH`] operations and
    /// [`MAX_ARGS`] arguments per `apply`, the same for every nested-operation marker in the
    /// author's arguments (at any depth, markers inside markers included, at most
    /// [`MAX_DEPTH`] levels of them), well-formed markers, argument graphs nested at most
    /// [`MAX_NESTING`] deep and at most [`MAX_WORK`] objects to visit. Substituted data is not
    /// looked into. Shared and cyclic graphs are walked once per object.
    ///
    /// Writers ([`OperationChain::stringify`], hence alarms, `call_raw` and the fetch designs)
    /// and readers ([`OperationChain::parse`]) run this same check, so a chain that was
    /// written can always be read back.
    ///
    /// ```
    /// use lumenize_core::ocan::{ctn, ChainError};
    /// use lumenize_core::structured_clone::Value;
    /// assert!(ctn().call("m", vec![Value::Null; 100]).validate().is_ok());
    /// let e = ctn().call("m", vec![Value::Null; 101]).validate().unwrap_err();
    /// assert!(matches!(e, ChainError::TooManyArgs { len: 101, max: 100 }));
    /// ```
    pub fn validate(&self) -> Result<(), ChainError> {
        graph::Analysis::of(self).map(drop)
    }

    /// [`OperationChain::validate`] for a chain that will be filled with a result
    /// ([`OperationChain::with_result`]) before it runs: the filled chain must be valid too
    /// (an `apply` of [`MAX_ARGS`] arguments and no marker has no room for the appended result).
    pub fn validate_continuation(&self) -> Result<(), ChainError> {
        self.validate()?;
        self.with_result(Value::Undefined).validate()
    }

    /// Encodes the chain as structured-clone wire text (what alarm rows and messages carry),
    /// after [`OperationChain::validate`]: what this writes, [`OperationChain::parse`] reads.
    pub fn stringify(&self) -> Result<String, ChainError> {
        self.validate()?;
        structured_clone::stringify(&self.to_value()).map_err(ChainError::Codec)
    }

    /// [`OperationChain::stringify`] for a continuation: checked with
    /// [`OperationChain::validate_continuation`].
    pub fn stringify_continuation(&self) -> Result<String, ChainError> {
        self.validate_continuation()?;
        structured_clone::stringify(&self.to_value()).map_err(ChainError::Codec)
    }

    /// Decodes a chain from structured-clone wire text, with the checks of
    /// [`OperationChain::validate`].
    pub fn parse(text: &str) -> Result<OperationChain, ChainError> {
        let value = structured_clone::parse(text).map_err(ChainError::Codec)?;
        let chain = OperationChain::from_value(&value)?;
        chain.validate()?;
        Ok(chain)
    }
}

/// True when `value` is a nested-operation marker (`{__isNestedOperation: true, ...}`).
pub fn is_nested_marker(value: &Value) -> bool {
    match value.as_object() {
        Some(o) => match &*o.borrow() {
            ObjectKind::Plain(p) => matches!(p.get(MARKER_FLAG), Some(Value::Bool(true))),
            _ => false,
        },
        None => false,
    }
}

/// The chain inside a nested-operation marker.
pub(crate) fn marker_chain(value: &Value) -> Result<OperationChain, ChainError> {
    let inner = value
        .get(MARKER_CHAIN)
        .ok_or_else(|| malformed("nested-operation marker has no `__operationChain`"))?;
    OperationChain::from_value(&inner)
}

fn malformed(message: impl Into<String>) -> ChainError {
    ChainError::Malformed {
        message: message.into(),
    }
}
