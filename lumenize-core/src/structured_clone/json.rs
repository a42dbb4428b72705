//! Plain JSON in and out of [`Value`] trees, as JavaScript's `JSON.parse` and `JSON.stringify`
//! do: object keys keep their document order (integer-like keys first, as in JavaScript),
//! numbers are read correctly rounded and written in JavaScript's spelling (`1e+21`).
//!
//! The codec needs exactly this for the `{json, meta}` form and for JSON fetch bodies, and
//! does it itself rather than through serde_json, whose `preserve_order` and
//! `float_roundtrip` features would otherwise be forced on every user of the crate.

use super::error::CloneError;
use super::expand::Walk;
use super::value::Value;

/// Reads plain JSON text into a [`Value`] tree, like JavaScript's `JSON.parse`: no
/// structured-clone interpretation (`$type` and `$ref` are ordinary keys), keys in document
/// order, numbers correctly rounded. Nesting is capped at [`MAX_DEPTH`](super::MAX_DEPTH).
///
/// ```
/// use lumenize_core::structured_clone::{parse_json, stringify_json};
/// let v = parse_json(r#"{"b":1,"a":[0.1,1e21],"$type":"kept"}"#).unwrap();
/// assert_eq!(stringify_json(&v).unwrap(), r#"{"b":1,"a":[0.1,1e+21],"$type":"kept"}"#);
/// ```
pub fn parse_json(text: &str) -> Result<Value, CloneError> {
    super::read::parse_raw(text)
}

/// Writes a [`Value`] as JavaScript's `JSON.stringify` would (an `undefined` property is
/// dropped, NaN and ±Infinity are `null`, a `Date` is its ISO string, other special objects
/// are `{}`). Fails on a bigint, a cycle, nesting beyond [`MAX_DEPTH`](super::MAX_DEPTH), or
/// shared objects whose repetition would exceed the expansion budget.
pub fn stringify_json(value: &Value) -> Result<String, CloneError> {
    let mut out = String::new();
    super::raw::write_raw(&mut out, value, 0, &mut Walk::default())?;
    Ok(out)
}
