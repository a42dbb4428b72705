//! Running a chain against an object: the [`Dispatch`] trait (method name + arguments → a user
//! method), [`execute_chain`], and the API-CONTRACT entry point
//! [`ExecuteChain::__execute_chain`].

use super::graph::{Analysis, Run};
use super::{ChainError, Operation, OperationChain};
use crate::context::{with_current, Ctx};
use crate::structured_clone::{ObjectKind, Value};

/// Longest chain accepted (the original's `maxDepth`).
pub const MAX_DEPTH: usize = 50;
/// Most arguments accepted in one `apply` (the original's `maxArgs`).
pub const MAX_ARGS: usize = 100;

/// Maps a method path and arguments to a user method. Implement it with the
/// [`handlers!`](crate::handlers) macro rather than by hand.
pub trait Dispatch {
    /// The type's name, for error messages.
    fn type_name(&self) -> &'static str;

    /// Calls the handler named `method` (a dotted path for chains like `svc.fetch.handle`)
    /// with `args`. Returns [`ChainError::UnknownMethod`] when there is none.
    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError>;
}

/// Runs an operation chain against `target` (API-CONTRACT: the 1.0 replacement of
/// `execute_operation_chain`). In `lumenize_core::prelude`; implemented for every
/// [`Dispatch`] type.
pub trait ExecuteChain {
    /// Runs `chain` against `self` in the current handler's context.
    ///
    /// Returns [`ChainError::NoContext`] when called outside a handler (there is no storage,
    /// clock or outbox to run with); inside one, use it freely, also re-entrantly.
    fn __execute_chain(&mut self, chain: &OperationChain) -> Result<Value, ChainError>;
}

impl<T: Dispatch + ?Sized> ExecuteChain for T {
    fn __execute_chain(&mut self, chain: &OperationChain) -> Result<Value, ChainError> {
        with_current(|ctx| execute_chain(self, ctx, chain)).unwrap_or(Err(ChainError::NoContext))
    }
}

/// Runs `chain` against `target` with an explicit context.
///
/// Semantics (lumenize-ts-notes E.3, adapted to Rust where objects have methods, not
/// arbitrary properties):
/// - consecutive `get`s before an `apply` name a method path (`["svc","fetch","handle"]` is
///   `"svc.fetch.handle"`), which the `apply` calls through [`Dispatch::dispatch`];
/// - a `get` after a call reads a property of the returned plain object;
/// - nested-operation markers among the author's arguments (top level, or inside arrays and
///   plain objects) are first run against the same target and replaced by their results;
///   substituted data ([`OperationChain::with_result`]) and the results themselves are never
///   searched for markers;
/// - a chain that is only `get $result` evaluates to `undefined` (an unfilled placeholder).
///
/// The argument graph is first checked as [`OperationChain::validate`] does. Each object of it
/// is resolved once, by handle identity: a marker reachable twice runs once, and an array
/// shared twice in the input is one rebuilt array shared twice in the arguments the handler
/// receives (the original walked arguments as trees, running a shared marker once per path).
/// The whole run, markers included, is limited to [`MAX_WORK`](super::MAX_WORK) steps
/// ([`ChainError::TooMuchWork`]).
pub fn execute_chain<T: Dispatch + ?Sized>(
    target: &mut T,
    ctx: &Ctx<'_>,
    chain: &OperationChain,
) -> Result<Value, ChainError> {
    let mut run = Run::new(Analysis::of(chain)?);
    run_ops(&mut run, target, ctx, chain, 0)
}

/// Runs one chain's operations: the top-level chain (`depth` 0) or a marker's (at the marker's
/// nesting `depth`), within `run`.
pub(super) fn run_ops<T: Dispatch + ?Sized>(
    run: &mut Run,
    target: &mut T,
    ctx: &Ctx<'_>,
    chain: &OperationChain,
    depth: usize,
) -> Result<Value, ChainError> {
    let ops = chain.ops();
    if ops.len() > MAX_DEPTH || run.level() > MAX_DEPTH {
        return Err(ChainError::TooDeep {
            len: ops.len().max(run.level()),
            max: MAX_DEPTH,
        });
    }
    if ops.is_empty() {
        return Err(ChainError::Malformed {
            message: "empty operation chain".into(),
        });
    }
    let mut path: Vec<&str> = Vec::new();
    let mut current: Option<Value> = None;
    for (index, op) in ops.iter().enumerate() {
        run.spend(1)?;
        match op {
            Operation::Get { key } => match current.take() {
                Some(value) => current = Some(read_property(&value, key, index)?),
                None => path.push(key),
            },
            Operation::Apply { args } => {
                if current.is_some() {
                    return Err(ChainError::NotCallable {
                        index,
                        message: "a returned value cannot be called".into(),
                    });
                }
                if path.is_empty() {
                    return Err(ChainError::NotCallable {
                        index,
                        message: "apply without a method name before it".into(),
                    });
                }
                if args.len() > MAX_ARGS {
                    return Err(ChainError::TooManyArgs {
                        len: args.len(),
                        max: MAX_ARGS,
                    });
                }
                let mut resolved = Vec::with_capacity(args.len());
                for (i, arg) in args.iter().enumerate() {
                    if chain.is_data_arg(index, i) {
                        // Substituted data: passed as it is, never searched for markers.
                        resolved.push(arg.clone());
                    } else {
                        resolved.push(run.resolve(target, ctx, arg, depth + 1)?);
                    }
                }
                let method = path.join(".");
                path.clear();
                current = Some(target.dispatch(ctx, &method, resolved)?);
            }
        }
    }
    match current {
        Some(value) if path.is_empty() => Ok(value),
        Some(_) => unreachable!("gets after a call are folded into `current`"),
        None if path == ["$result"] => Ok(Value::Undefined),
        None => Err(ChainError::NotCallable {
            index: ops.len() - 1,
            message: format!(
                "`{}` is read but never called (only handler methods can be reached)",
                path.join(".")
            ),
        }),
    }
}

fn read_property(value: &Value, key: &str, index: usize) -> Result<Value, ChainError> {
    let Some(obj) = value.as_object() else {
        return Err(ChainError::NotCallable {
            index,
            message: format!("cannot read `{key}` of a primitive"),
        });
    };
    let out = match &*obj.borrow() {
        ObjectKind::Plain(props) => props.get(key).cloned().unwrap_or(Value::Undefined),
        ObjectKind::Array(items) => match key {
            "length" => Value::from(items.len() as f64),
            _ => key
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).cloned())
                .unwrap_or(Value::Undefined),
        },
        _ => {
            return Err(ChainError::NotCallable {
                index,
                message: format!("cannot read `{key}` of {value:?}"),
            })
        }
    };
    Ok(out)
}

/// Runs a delivered continuation on `target`: parses it, fills its `$result` marker with the
/// outcome (the result, or the `Error` value of a failed call; both wire text) and executes it.
/// Every host runs deliveries through this, so `$result` means the same thing everywhere.
///
/// The outcome is data: it reaches the handler as it is, and nothing inside it runs, even a
/// value shaped like a nested-operation marker (see [`OperationChain::with_result`]).
pub fn run_continuation<T: Dispatch + ?Sized>(
    target: &mut T,
    ctx: &Ctx<'_>,
    continuation: &str,
    outcome: &Result<String, String>,
) -> Result<(), ChainError> {
    let chain = OperationChain::parse(continuation)?;
    let value = match outcome {
        Ok(text) | Err(text) => crate::structured_clone::parse(text).map_err(ChainError::Codec)?,
    };
    execute_chain(target, ctx, &chain.with_result(value))?;
    Ok(())
}
