//! [`describe`]: a canonical, typed JSON description of a value graph, in the language of the
//! cross-language vectors (`{t:"Map",entries}`, `{t:"ref",id}`, ...), so a decoded Rust value
//! can be compared with what JavaScript decoded, identity and cycles included.

use std::collections::HashMap;

use serde_json::{json, Map, Value as Json};

use super::value::{ObjectKind, Value};

/// Describes `value` in the vectors' description language.
///
/// Primitives: strings, booleans and `null` as themselves; finite numbers as JSON numbers,
/// except `-0`, NaN and ±Infinity as `{"t":"number","v":"-0"}`; bigints as
/// `{"t":"bigint","v":"…"}`; `undefined` as `{"t":"undefined"}`. Objects: `{"t":"Array",
/// "items"}`, `{"t":"Object","props"}`, `{"t":"Map","entries"}`, `{"t":"Set","values"}`,
/// `{"t":"Date","iso"}`, `{"t":"Error","ctor","name","message"[,"stack"][,"cause"][,"props"]}`,
/// `{"t":"<TypedArray>","values"}`, `{"t":"ArrayBuffer","bytes"}`, ... An object reached more
/// than once gets `"id":n` where it is first described and is `{"t":"ref","id":n}` afterwards.
///
/// The description is a `serde_json::Value`, so the order of its object keys is serde_json's
/// (sorted, unless the program enables serde_json's `preserve_order`); compare descriptions
/// as values. The order of a value's own properties is checked by re-encoding it (the wire
/// text keeps it), not by its description.
///
/// ```
/// use lumenize_core::structured_clone::{describe, Value};
/// let shared = Value::date(0.0);
/// let v = Value::array([shared.clone(), shared]);
/// let want: serde_json::Value = serde_json::from_str(
///     r#"{"t":"Array","items":[{"t":"Date","iso":"1970-01-01T00:00:00.000Z","id":0},{"t":"ref","id":0}]}"#,
/// )
/// .unwrap();
/// assert_eq!(describe(&v), want);
/// ```
pub fn describe(value: &Value) -> Json {
    let mut d = Describer::default();
    d.count(value);
    d.describe(value)
}

#[derive(Default)]
struct Describer {
    seen: HashMap<usize, u32>,
    ids: HashMap<usize, usize>,
}

/// The JavaScript global error constructors: the decoder rebuilds these by name; any other
/// name comes back as a plain `Error` carrying that name.
const ERROR_CTORS: [&str; 8] = [
    "Error",
    "EvalError",
    "RangeError",
    "ReferenceError",
    "SyntaxError",
    "TypeError",
    "URIError",
    "AggregateError",
];

fn number(n: f64) -> Json {
    if n == 0.0 && n.is_sign_negative() {
        json!({"t": "number", "v": "-0"})
    } else if n.is_nan() {
        json!({"t": "number", "v": "NaN"})
    } else if n.is_infinite() {
        json!({"t": "number", "v": if n > 0.0 { "Infinity" } else { "-Infinity" }})
    } else if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

impl Describer {
    /// Counts how often each object is reached, descending into each one once.
    fn count(&mut self, v: &Value) {
        let Value::Object(o) = v else { return };
        let c = self.seen.entry(o.addr()).or_insert(0);
        *c += 1;
        if *c > 1 {
            return;
        }
        let Some(kind) = o.try_borrow() else { return };
        for child in children(&kind) {
            self.count(child);
        }
    }

    fn describe(&mut self, v: &Value) -> Json {
        let o = match v {
            Value::Undefined => return json!({"t": "undefined"}),
            Value::Null => return Json::Null,
            Value::Bool(b) => return json!(b),
            Value::Number(n) => return number(*n),
            Value::BigInt(b) => return json!({"t": "bigint", "v": b.as_str()}),
            Value::String(s) => return json!(s),
            Value::Object(o) => o,
        };
        if let Some(id) = self.ids.get(&o.addr()) {
            return json!({"t": "ref", "id": id});
        }
        let shared = self.seen.get(&o.addr()).is_some_and(|&c| c > 1);
        if shared {
            let id = self.ids.len();
            self.ids.insert(o.addr(), id);
        }
        let Some(kind) = o.try_borrow() else {
            return json!({"t": "<borrowed>"});
        };
        let mut m = Map::new();
        let mut put = |k: &str, v: Json| {
            m.insert(k.to_string(), v);
        };
        match &*kind {
            ObjectKind::Array(items) => {
                put("t", json!("Array"));
                put(
                    "items",
                    Json::Array(items.iter().map(|i| self.describe(i)).collect()),
                );
            }
            ObjectKind::Plain(props) => {
                put("t", json!("Object"));
                let p: Map<String, Json> = props
                    .iter()
                    .map(|(k, v)| (k.to_string(), self.describe(v)))
                    .collect();
                put("props", Json::Object(p));
            }
            ObjectKind::Map(entries) => {
                put("t", json!("Map"));
                let e = entries
                    .iter()
                    .map(|(k, v)| json!([self.describe(k), self.describe(v)]))
                    .collect();
                put("entries", Json::Array(e));
            }
            ObjectKind::Set(values) => {
                put("t", json!("Set"));
                put(
                    "values",
                    Json::Array(values.iter().map(|i| self.describe(i)).collect()),
                );
            }
            ObjectKind::Date(ms) => {
                put("t", json!("Date"));
                put(
                    "iso",
                    super::iso::to_iso(*ms).map_or(Json::Null, Json::String),
                );
            }
            ObjectKind::RegExp { source, flags } => {
                put("t", json!("RegExp"));
                put("source", json!(source));
                put("flags", json!(flags));
            }
            ObjectKind::Error(e) => {
                put("t", json!("Error"));
                let ctor = if ERROR_CTORS.contains(&e.name.as_str()) {
                    &e.name
                } else {
                    "Error"
                };
                put("ctor", json!(ctor));
                put("name", json!(e.name));
                put("message", json!(e.message));
                if let Some(stack) = &e.stack {
                    put("stack", json!(stack));
                }
                if let Some(cause) = &e.cause {
                    put("cause", self.describe(cause));
                }
                if !e.props.is_empty() {
                    let p: Map<String, Json> = e
                        .props
                        .iter()
                        .map(|(k, v)| (k.to_string(), self.describe(v)))
                        .collect();
                    put("props", Json::Object(p));
                }
            }
            ObjectKind::ArrayBuffer(bytes) => {
                put("t", json!("ArrayBuffer"));
                put("bytes", json!(bytes));
            }
            ObjectKind::TypedArray { kind, values } => {
                put("t", json!(kind.name()));
                put(
                    "values",
                    Json::Array(values.iter().map(|&x| number(x)).collect()),
                );
            }
            ObjectKind::DataView {
                buffer,
                byte_offset,
                byte_length,
            } => {
                put("t", json!("DataView"));
                put("bytes", json!(buffer));
                put("byteOffset", json!(byte_offset));
                put("byteLength", json!(byte_length));
            }
            ObjectKind::Url(href) => {
                put("t", json!("URL"));
                put("href", json!(href));
            }
            ObjectKind::Headers(entries) => {
                put("t", json!("Headers"));
                put("entries", json!(entries));
            }
            ObjectKind::RequestSync(r) => {
                put("t", json!("RequestSync"));
                put("url", json!(r.url));
                put("method", json!(r.method));
                put("headers", self.describe(&r.headers));
                put("body", self.describe(&r.body));
            }
            ObjectKind::ResponseSync(r) => {
                put("t", json!("ResponseSync"));
                put("status", json!(r.status));
                put("statusText", json!(r.status_text));
                put("headers", self.describe(&r.headers));
                put("body", self.describe(&r.body));
            }
            ObjectKind::BooleanObject(b) => {
                put("t", json!("Boolean"));
                put("v", json!(b));
            }
            ObjectKind::NumberObject(n) => {
                put("t", json!("Number"));
                put("v", number(*n));
            }
            ObjectKind::StringObject(s) => {
                put("t", json!("String"));
                put("v", json!(s));
            }
            ObjectKind::BigIntObject(b) => {
                put("t", json!("BigIntObject"));
                put("v", json!({"t": "bigint", "v": b.as_str()}));
            }
        }
        if shared {
            put("id", json!(self.ids[&o.addr()]));
        }
        Json::Object(m)
    }
}

/// The values an object holds directly (for counting references).
fn children(kind: &ObjectKind) -> Vec<&Value> {
    match kind {
        ObjectKind::Array(items) | ObjectKind::Set(items) => items.iter().collect(),
        ObjectKind::Plain(p) => p.iter().map(|(_, v)| v).collect(),
        ObjectKind::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
        ObjectKind::Error(e) => e
            .cause
            .iter()
            .chain(e.props.iter().map(|(_, v)| v))
            .collect(),
        ObjectKind::RequestSync(r) => vec![&r.headers, &r.body],
        ObjectKind::ResponseSync(r) => vec![&r.headers, &r.body],
        _ => Vec::new(),
    }
}
