//! Conversions between handler parameter/return types and [`Value`]: what lets the
//! [`handlers!`](crate::handlers) macro call a typed Rust method with the untyped arguments of
//! an `apply`.
//!
//! Converting into a Rust type writes the argument graph out as a tree: a `Vec<Vec<f64>>`
//! parameter given n handles to one shared array of n numbers (a few KB of wire text, thanks to
//! aliases) would build n^2 numbers, and deeper types n^k. So the conversions of one handler
//! call share one budgeted walk (`structured_clone/expand.rs`, the rule the serde bridge and the
//! raw writers use): arrays met again, and `Serde<X>` values met again, are repetition, which
//! may reach `EXPANSION_BASE` units plus `EXPANSION_FACTOR` times the graph; beyond that the
//! conversion is refused and the call fails with a [`ChainError::BadArgument`] that says
//! "expansion budget". The walk lives in a thread-local scope that [`ArgScope`] opens for one
//! call's arguments (and a conversion called directly, outside any call, opens for itself).

use std::cell::RefCell;
use std::marker::PhantomData;

use super::ChainError;
use crate::structured_clone::expand::{Entered, Walk};
use crate::structured_clone::{Object, ObjectKind, Value};

/// A handler parameter type: converts from an argument [`Value`], or says what it expected.
///
/// The implementations for `Vec<T>` and [`Serde<T>`] charge the repetition of shared objects
/// to the budget of the call's arguments (see the module docs): an implementation of your own
/// that converts nested values should do so through them (e.g. `Vec::<T>::from_value`) rather
/// than walk arrays itself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument: it does not convert from a wire `Value`",
    label = "not `FromValue`",
    note = "take a type implementing `FromValue` (f64, integers, bool, String, Vec<T>, Option<T>, Value), or `Serde<T>` for a serde type"
)]
pub trait FromValue: Sized {
    /// The expected type, for error messages (`"number"`, `"string"`...).
    const EXPECTED: &'static str;
    /// Converts, or returns `None` when the value has the wrong type.
    fn from_value(value: Value) -> Option<Self>;
}

/// A handler return type: converts into the [`Value`] the caller (or continuation) receives.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire: it does not convert into a `Value`",
    note = "use a type implementing `IntoValue` (f64, integers, bool, String, Vec<T>, Option<T>, Value, ()), or `Serde<T>` for a serde type"
)]
pub trait IntoValue {
    /// Converts.
    fn into_value(self) -> Value;
}

/// What a handler method may return: a value (`T: IntoValue`) or `Result<T, E>` with any
/// displayable error (it becomes a [`ChainError::Handler`], i.e. an `Error` value for the
/// caller, and rolls the handler's transaction back).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a handler",
    label = "not a value that converts into a `Value`, nor `Result<such a value, E: Display>`",
    note = "return a type implementing `IntoValue` (f64, integers, bool, String, Vec<T>, Option<T>, Value, ()), `Serde<T>` for a serde type, or a `Result` of one"
)]
pub trait IntoHandlerResult {
    /// Converts.
    fn into_handler_result(self) -> Result<Value, ChainError>;
}

impl<T: IntoValue> IntoHandlerResult for T {
    fn into_handler_result(self) -> Result<Value, ChainError> {
        Ok(self.into_value())
    }
}

impl<T: IntoValue, E: std::fmt::Display> IntoHandlerResult for Result<T, E> {
    fn into_handler_result(self) -> Result<Value, ChainError> {
        self.map(IntoValue::into_value)
            .map_err(|e| ChainError::handler(e.to_string()))
    }
}

/// A short description of a value's type, for error messages.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Undefined => "undefined".into(),
        Value::Null => "null".into(),
        Value::Bool(_) => "boolean".into(),
        Value::Number(_) => "number".into(),
        Value::BigInt(_) => "bigint".into(),
        Value::String(_) => "string".into(),
        Value::Object(o) => match &*o.borrow() {
            ObjectKind::Array(_) => "array".into(),
            ObjectKind::Plain(_) => "object".into(),
            ObjectKind::Error(_) => "Error".into(),
            _ => format!("{o:?}"),
        },
    }
}

impl FromValue for Value {
    const EXPECTED: &'static str = "any value";
    fn from_value(value: Value) -> Option<Self> {
        Some(value)
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "number";
    fn from_value(value: Value) -> Option<Self> {
        value.as_f64()
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            const EXPECTED: &'static str = concat!("integer (", stringify!($t), ")");
            fn from_value(value: Value) -> Option<Self> {
                let n = value.as_f64()?;
                // Only exact integers in range: 1.5 or 1e300 is a type error, not a truncation.
                if n.fract() != 0.0 || n < <$t>::MIN as f64 || n > <$t>::MAX as f64 {
                    return None;
                }
                Some(n as $t)
            }
        }
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Number(self as f64)
            }
        }
    )*};
}
int_from_value!(i32, i64, u32, u64, usize);

impl FromValue for bool {
    const EXPECTED: &'static str = "boolean";
    fn from_value(value: Value) -> Option<Self> {
        value.as_bool()
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "string";
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    /// `null` and `undefined` are `None`.
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Null | Value::Undefined => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    const EXPECTED: &'static str = "array";
    /// Charges the array (once per item, plus string bytes) to the scope's budget: meeting a
    /// shared array again is repetition. `None` when the budget is spent.
    fn from_value(value: Value) -> Option<Self> {
        let _own = (!scope_is_open()).then(ArgScope::open);
        let Value::Object(o) = &value else {
            return None;
        };
        let (items, entered) = {
            let kind = o.borrow();
            let ObjectKind::Array(items) = &*kind else {
                return None;
            };
            (items.clone(), enter_array(o, &kind, items)?)
        };
        let out = items.into_iter().map(T::from_value).collect();
        with_scope(|scope| scope.walk.leave(entered));
        out
    }
}

/// Budget state of one call's argument conversion.
#[derive(Default)]
struct Scope {
    walk: Walk,
    /// Why a conversion was refused, when the budget ran out.
    refused: Option<String>,
    /// The arguments converted so far: the walk tells objects apart by address, so none of
    /// them may be freed (and its address reused) while the scope is open.
    keep: Vec<Object>,
}

thread_local! {
    /// The open scope, if any (see [`ArgScope`]).
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `f` on the open scope, if one is open. `f` must not call back into conversions (the
/// scope is borrowed meanwhile).
fn with_scope<R>(f: impl FnOnce(&mut Scope) -> R) -> Option<R> {
    SCOPE.with(|s| s.borrow_mut().as_mut().map(f))
}

fn scope_is_open() -> bool {
    with_scope(|_| ()).is_some()
}

/// Enters array `o` (holding `items`) in the open scope's walk and charges its items; `None`
/// (with the refusal recorded) when the budget is spent.
fn enter_array(o: &Object, kind: &ObjectKind, items: &[Value]) -> Option<Entered> {
    with_scope(|scope| {
        let walk = &mut scope.walk;
        let entered = walk.enter_typed(o, kind).ok();
        let entered = entered.and_then(|entered| {
            match items.iter().try_for_each(|item| walk.primitive(item)) {
                Ok(()) => Some(entered),
                Err(_) => {
                    walk.leave(entered);
                    None
                }
            }
        });
        if entered.is_none() {
            scope.refused.get_or_insert_with(|| walk.budget_message());
        }
        entered
    })
    .flatten()
}

/// The budget scope of one handler call's argument conversions (see the module docs). Opened
/// by the [`handlers!`](crate::handlers) macro around a call's arguments; closing it (drop,
/// also while unwinding) restores the scope that was open before, so scopes nest.
#[doc(hidden)]
#[must_use]
pub struct ArgScope {
    outer: Option<Scope>,
    /// The scope belongs to this thread's state.
    _not_send: PhantomData<*const ()>,
}

impl ArgScope {
    /// Opens a fresh scope on this thread.
    pub fn open() -> ArgScope {
        let outer = SCOPE.with(|s| s.replace(Some(Scope::default())));
        ArgScope {
            outer,
            _not_send: PhantomData,
        }
    }
}

impl Drop for ArgScope {
    fn drop(&mut self) {
        let outer = self.outer.take();
        // `try_with`: nothing to restore while the thread itself is being torn down. The closed
        // scope is dropped after the thread-local is released.
        let closed = SCOPE.try_with(|s| s.replace(outer));
        drop(closed);
    }
}

/// Converts one argument of a call within the open scope (a scope is opened for it when none
/// is): `Err` holds why it did not convert, a spent expansion budget or the `got` description.
pub(crate) fn convert_arg<T: FromValue>(value: Value) -> Result<T, String> {
    let _own = (!scope_is_open()).then(ArgScope::open);
    let got = describe(&value);
    with_scope(|scope| {
        scope.refused = None;
        if let Value::Object(o) = &value {
            scope.keep.push(o.clone());
        }
    });
    match T::from_value(value) {
        Some(v) => Ok(v),
        None => Err(match with_scope(|scope| scope.refused.take()).flatten() {
            Some(why) => format!("{got} (refused: {why})"),
            None => got,
        }),
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}
impl IntoValue for () {
    /// `()` is `undefined`, like a JavaScript function that returns nothing.
    fn into_value(self) -> Value {
        Value::Undefined
    }
}
impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Number(self)
    }
}
impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}
impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}
impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}
impl<T: IntoValue> IntoValue for Option<T> {
    /// `None` is `null`.
    fn into_value(self) -> Value {
        self.map_or(Value::Null, IntoValue::into_value)
    }
}
impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::array(self.into_iter().map(IntoValue::into_value))
    }
}

/// A handler parameter or return value carried through the serde bridge
/// ([`to_value`](crate::structured_clone::to_value) /
/// [`from_value`](crate::structured_clone::from_value)): use your own structs in handlers.
///
/// ```
/// use lumenize_core::ocan::{FromValue, IntoValue, Serde};
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Point { x: f64, y: f64 }
/// let v = Serde(Point { x: 1.0, y: 2.0 }).into_value();
/// let Serde(p) = Serde::<Point>::from_value(v).unwrap();
/// assert_eq!(p, Point { x: 1.0, y: 2.0 });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Serde<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromValue for Serde<T> {
    const EXPECTED: &'static str = "a value matching the parameter's serde type";
    /// Within a call's scope, a value met before (`Vec<Serde<X>>` holding one shared `X` n
    /// times) is charged as repetition.
    fn from_value(value: Value) -> Option<Self> {
        // The scope's walk, taken out for the deserialization (which does not come back here).
        let Some(walk) = with_scope(|scope| std::mem::take(&mut scope.walk)) else {
            return crate::structured_clone::from_value(&value).ok().map(Serde);
        };
        let walk = RefCell::new(walk);
        let result = crate::structured_clone::from_value_in(&value, &walk);
        let walk = walk.into_inner();
        with_scope(|scope| {
            if walk.over_budget() {
                scope.refused.get_or_insert_with(|| walk.budget_message());
            }
            scope.walk = walk;
        });
        result.ok().map(Serde)
    }
}

impl<T: serde::Serialize> IntoValue for Serde<T> {
    /// A value that cannot be represented becomes a `TypeError` value, so the caller sees why.
    fn into_value(self) -> Value {
        crate::structured_clone::to_value(&self.0)
            .unwrap_or_else(|e| Value::error("TypeError", e.to_string()))
    }
}
