//! [`Intermediate`]: the `{json, meta}` object form, for callers that want the wire document as
//! a tree rather than text (what `JSON.parse(stringify(v))` gives in JavaScript).
//!
//! Both directions go through the text codec: the text is the format, and the direct writer and
//! reader are the fast, byte-exact path. The two trees are plain-JSON [`Value`]s (arrays,
//! plain objects, strings, numbers, booleans, `null`) read and written by this crate's own
//! JSON code ([`parse_json`](super::parse_json), [`stringify_json`](super::stringify_json)),
//! so object keys keep JavaScript's order and numbers stay exact, whatever features the
//! program's serde_json has.

use super::error::{CloneError, Res};
use super::value::{ObjectKind, Value};

/// The intermediate `{json, meta}` form (what `JSON.parse(stringify(v))` gives in JavaScript),
/// as plain-JSON [`Value`] trees.
///
/// ```
/// use lumenize_core::structured_clone::{postprocess, preprocess, stringify_json, Value};
/// let v = Value::object([("b", Value::Undefined), ("a", Value::from(1.5))]);
/// let i = preprocess(&v).unwrap();
/// assert_eq!(stringify_json(&i.json).unwrap(), r#"{"b":{"$type":"undefined"},"a":1.5}"#);
/// assert_eq!(stringify_json(&i.meta).unwrap(), "{}");
/// let back = postprocess(&i).unwrap();
/// assert!(back.get("b").unwrap().is_undefined());
/// ```
#[derive(Debug, Clone)]
pub struct Intermediate {
    /// The document, with `$type` tags and `$ref` aliases.
    pub json: Value,
    /// `{}` or `{"aliases": {"0": …}}`.
    pub meta: Value,
}

pub(crate) fn preprocess(value: &Value) -> Res<Intermediate> {
    let text = super::encode::stringify(value)?;
    let doc = super::json::parse_json(&text)?;
    let field = |name: &str| -> Res<Value> {
        let object = doc
            .as_object()
            .ok_or_else(|| CloneError::here("internal: envelope is not an object"))?;
        match &*object.borrow() {
            ObjectKind::Plain(p) => Ok(p.get(name).cloned().unwrap_or(Value::Null)),
            _ => Err(CloneError::here("internal: envelope is not an object")),
        }
    };
    Ok(Intermediate {
        json: field("json")?,
        meta: field("meta")?,
    })
}

pub(crate) fn postprocess(data: &Intermediate) -> Res<Value> {
    let mut text = String::from("{\"json\":");
    text.push_str(&super::json::stringify_json(&data.json)?);
    text.push_str(",\"meta\":");
    text.push_str(&super::json::stringify_json(&data.meta)?);
    text.push('}');
    super::read::parse(&text)
}
