//! Conversions between handler parameter/return types and [`Value`]: what lets the
//! [`handlers!`](crate::handlers) macro call a typed Rust method with the untyped arguments of
//! an `apply`.

use super::ChainError;
use crate::structured_clone::{ObjectKind, Value};

/// A handler parameter type: converts from an argument [`Value`], or says what it expected.
pub trait FromValue: Sized {
    /// The expected type, for error messages (`"number"`, `"string"`...).
    const EXPECTED: &'static str;
    /// Converts, or returns `None` when the value has the wrong type.
    fn from_value(value: Value) -> Option<Self>;
}

/// A handler return type: converts into the [`Value`] the caller (or continuation) receives.
pub trait IntoValue {
    /// Converts.
    fn into_value(self) -> Value;
}

/// What a handler method may return: a value (`T: IntoValue`) or `Result<T, E>` with any
/// displayable error (it becomes a [`ChainError::Handler`], i.e. an `Error` value for the
/// caller, and rolls the handler's transaction back).
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
    fn from_value(value: Value) -> Option<Self> {
        value
            .as_array()?
            .into_iter()
            .map(T::from_value)
            .collect::<Option<Vec<T>>>()
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
    fn from_value(value: Value) -> Option<Self> {
        crate::structured_clone::from_value(&value).ok().map(Serde)
    }
}

impl<T: serde::Serialize> IntoValue for Serde<T> {
    /// A value that cannot be represented becomes a `TypeError` value, so the caller sees why.
    fn into_value(self) -> Value {
        crate::structured_clone::to_value(&self.0)
            .unwrap_or_else(|e| Value::error("TypeError", e.to_string()))
    }
}
