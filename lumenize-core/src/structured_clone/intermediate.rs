//! [`Intermediate`]: the `{json, meta}` object form, for callers that want the wire document as
//! a `serde_json::Value` rather than text (what `JSON.parse(stringify(v))` gives in JavaScript).
//!
//! Both directions go through the text codec: the text is the format, and the direct writer and
//! reader are the fast, byte-exact path. Converting text ⇄ `serde_json::Value` uses this crate's
//! own JSON reader (no recursion-limit surprises) and serde_json's writer (whose number spelling,
//! e.g. `1e21`, the reader accepts).

use serde_json::{Map, Number, Value as Json};

use super::error::{CloneError, Res};
use super::value::{ObjectKind, Value};

/// The intermediate `{json, meta}` form (what `JSON.parse(stringify(v))` gives in JavaScript).
#[derive(Debug, Clone, PartialEq)]
pub struct Intermediate {
    /// The document, with `$type` tags and `$ref` aliases.
    pub json: Json,
    /// `{}` or `{"aliases": {"0": …}}`.
    pub meta: Json,
}

pub(crate) fn preprocess(value: &Value) -> Res<Intermediate> {
    let text = super::encode::stringify(value)?;
    let doc = super::read::parse_raw(&text)?;
    let Json::Object(mut top) = to_json(&doc) else {
        return Err(CloneError::here("internal: envelope is not an object"));
    };
    Ok(Intermediate {
        json: top.remove("json").unwrap_or(Json::Null),
        meta: top
            .remove("meta")
            .unwrap_or_else(|| Json::Object(Map::new())),
    })
}

pub(crate) fn postprocess(data: &Intermediate) -> Res<Value> {
    let envelope = serde_json::json!({"json": data.json, "meta": data.meta});
    let text = serde_json::to_string(&envelope)
        .map_err(|e| CloneError::here(format!("cannot write the intermediate form: {e}")))?;
    super::read::parse(&text)
}

/// A raw (plain JSON) value tree as `serde_json::Value`.
fn to_json(v: &Value) -> Json {
    match v {
        Value::Null | Value::Undefined | Value::BigInt(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number(*n),
        Value::String(s) => Json::String(s.clone()),
        Value::Object(o) => match o.try_borrow().as_deref() {
            Some(ObjectKind::Array(items)) => Json::Array(items.iter().map(to_json).collect()),
            Some(ObjectKind::Plain(p)) => {
                Json::Object(p.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect())
            }
            _ => Json::Null,
        },
    }
}

/// Integral numbers as integers, so serde_json writes `42`, not `42.0`.
fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 && !(n == 0.0 && n.is_sign_negative())
    {
        Json::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}
