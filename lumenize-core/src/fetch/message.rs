//! The request and response as plain, thread-safe data ([`FetchRequest`], [`FetchResponse`]),
//! and their conversions to and from the structured-clone `RequestSync` / `ResponseSync` values
//! that objects and continuations see.
//!
//! `Value` graphs are single-threaded (`Rc`), while the HTTP exchange runs on tokio worker
//! threads, so the executor works on these `Send` types and converts at the edges.

use super::error::FetchError;
use crate::structured_clone::expand::{Refusal, Walk};
use crate::structured_clone::{
    parse_json, stringify_json, Object, ObjectKind, RequestSync, ResponseSync, Value,
};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// The header that marks a base64-encoded binary body in a `ResponseSync` value.
pub const BODY_ENCODING_HEADER: &str = "x-lumenize-body-encoding";

/// A response body, decoded the way the TypeScript `ResponseSync.fromResponse` does: JSON when
/// the content type says JSON, text for `text/*` and JavaScript, bytes otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No body (`null` on the wire).
    Empty,
    /// A JSON document (content type contains `application/json` and the body parses): its
    /// text as received. [`FetchResponse::to_value`] reads it as JavaScript's `JSON.parse`
    /// does (key order kept, numbers exact); read it into your own types with e.g.
    /// `serde_json::from_str`. A `Json` body that is not JSON becomes a string value.
    Json(String),
    /// Text (`text/*`, `application/javascript`, or JSON that does not parse; see
    /// [`FetchResponse`]).
    Text(String),
    /// Anything else, as raw bytes (base64 text on the wire, see [`FetchResponse::to_value`]).
    Bytes(Vec<u8>),
}

/// An outgoing request: what the executor sends.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    /// Absolute URL.
    pub url: String,
    /// HTTP method, upper case (`GET` unless set).
    pub method: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes, if any.
    pub body: Option<Vec<u8>>,
}

/// A complete response: status, headers and the whole body (already read, size-capped).
///
/// Any status is a response. A body whose content type claims JSON but does not parse is kept
/// as [`Body::Text`] rather than turned into an error (the TypeScript original threw, losing the
/// status of e.g. a 502 with an HTML page).
#[derive(Debug, Clone, PartialEq)]
pub struct FetchResponse {
    /// HTTP status code.
    pub status: u16,
    /// Canonical reason phrase (`""` when unknown).
    pub status_text: String,
    /// Lower-cased header names, sorted; repeated names joined with `", "` (as JavaScript
    /// `Headers` iterates them).
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Body,
}

impl FetchRequest {
    /// A `GET` of `url` with no headers or body.
    pub fn get(url: impl Into<String>) -> FetchRequest {
        FetchRequest {
            url: url.into(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Reads a request from a value: a URL string, a `URL` object or a `RequestSync`. A
    /// `RequestSync` body that is a string is sent as is; bytes (`ArrayBuffer`) raw; any other
    /// plain data as JSON text (with `content-type: application/json` unless one is set).
    ///
    /// A JSON body is written out as a tree: an object it reaches twice is written twice, within
    /// a budget (about a million values plus four times the body's own size). A body whose
    /// shared references would expand beyond that, or a cyclic one, is an
    /// [`FetchError::InvalidRequest`] saying "expansion budget" or "cycle".
    pub fn from_value(value: &Value) -> Result<FetchRequest, FetchError> {
        let bad = |message: &str| FetchError::InvalidRequest {
            url: String::new(),
            message: message.to_string(),
        };
        if let Some(s) = value.as_str() {
            return Ok(FetchRequest::get(s));
        }
        let obj = value
            .as_object()
            .ok_or_else(|| bad("expected a URL string, a URL or a RequestSync"))?;
        let kind = obj.borrow();
        let r = match &*kind {
            ObjectKind::Url(href) => return Ok(FetchRequest::get(href.clone())),
            ObjectKind::RequestSync(r) => r,
            _ => return Err(bad("expected a URL string, a URL or a RequestSync")),
        };
        let mut headers = headers_of(&r.headers);
        let base64 = headers
            .iter()
            .any(|(k, v)| k == BODY_ENCODING_HEADER && v == "base64");
        headers.retain(|(k, _)| k != BODY_ENCODING_HEADER);
        let body = match &r.body {
            Value::Undefined | Value::Null => None,
            Value::String(s) if base64 => {
                Some(
                    BASE64
                        .decode(s)
                        .ok()
                        .ok_or_else(|| FetchError::InvalidRequest {
                            url: r.url.clone(),
                            message: format!(
                                "body marked {BODY_ENCODING_HEADER}: base64 is not base64"
                            ),
                        })?,
                )
            }
            Value::String(s) => Some(s.clone().into_bytes()),
            Value::Object(o) if matches!(&*o.borrow(), ObjectKind::ArrayBuffer(_)) => {
                match &*o.borrow() {
                    ObjectKind::ArrayBuffer(b) => Some(b.clone()),
                    _ => None,
                }
            }
            other => {
                let json = value_to_json(other).map_err(|why| FetchError::InvalidRequest {
                    url: r.url.clone(),
                    message: format!("body is neither text, bytes nor plain JSON data: {why}"),
                })?;
                if !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                Some(json.into_bytes())
            }
        };
        Ok(FetchRequest {
            url: r.url.clone(),
            method: if r.method.is_empty() {
                "GET".into()
            } else {
                r.method.to_ascii_uppercase()
            },
            headers,
            body,
        })
    }

    /// The request as a `RequestSync` value that survives the wire: a text body when the
    /// bytes are UTF-8, otherwise base64 text marked by [`BODY_ENCODING_HEADER`] (which
    /// [`FetchRequest::from_value`] decodes and removes, so it is never sent to the server).
    pub fn to_value(&self) -> Value {
        let mut headers = self.headers.clone();
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(BODY_ENCODING_HEADER));
        let body = match &self.body {
            None => Value::Null,
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => Value::from(s),
                Err(_) => {
                    headers.push((BODY_ENCODING_HEADER.into(), "base64".into()));
                    Value::from(BASE64.encode(b))
                }
            },
        };
        Value::Object(Object::new(ObjectKind::RequestSync(RequestSync {
            url: self.url.clone(),
            method: self.method.clone(),
            headers: headers_value(&headers),
            body,
        })))
    }

    /// The request as a job sends it: [`to_value`](Self::to_value), except that a bare `GET`
    /// (no headers, no body) is just its URL string, which [`from_value`](Self::from_value)
    /// reads back as the same request. Every fetch of a job is encoded by the origin and
    /// decoded by the executor; the string is a fraction of a `RequestSync`'s text.
    pub(crate) fn to_compact_value(&self) -> Value {
        if self.method == "GET" && self.headers.is_empty() && self.body.is_none() {
            return Value::from(self.url.as_str());
        }
        self.to_value()
    }
}

impl FetchResponse {
    /// True for a 2xx status, like JavaScript `Response.ok`.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, when it is text or JSON.
    pub fn text(&self) -> Option<String> {
        match &self.body {
            Body::Text(s) => Some(s.clone()),
            Body::Json(j) => Some(j.clone()),
            _ => None,
        }
    }

    /// The response as a `ResponseSync` value (body: JSON data, a string, or `null`).
    ///
    /// A binary body becomes base64 text and the header [`BODY_ENCODING_HEADER`]` = base64` is
    /// added: the wire format embeds the body raw, as plain JSON, so an `ArrayBuffer` there
    /// would arrive as `{}`. [`FetchResponse::from_value`] reverses it.
    pub fn to_value(&self) -> Value {
        let mut headers = self.headers.clone();
        let body = match &self.body {
            Body::Empty => Value::Null,
            Body::Json(j) => parse_json(j).unwrap_or_else(|_| Value::from(j.as_str())),
            Body::Text(s) => Value::from(s.as_str()),
            Body::Bytes(b) => {
                headers.retain(|(k, _)| k != BODY_ENCODING_HEADER);
                let at = headers.partition_point(|(k, _)| k.as_str() < BODY_ENCODING_HEADER);
                headers.insert(at, (BODY_ENCODING_HEADER.into(), "base64".into()));
                Value::from(BASE64.encode(b))
            }
        };
        Value::Object(Object::new(ObjectKind::ResponseSync(ResponseSync {
            status: self.status,
            status_text: self.status_text.clone(),
            headers: headers_value(&headers),
            body,
        })))
    }

    /// Reads a `ResponseSync` value back. `None` if `value` is not one.
    pub fn from_value(value: &Value) -> Option<FetchResponse> {
        let obj = value.as_object()?;
        let kind = obj.borrow();
        let ObjectKind::ResponseSync(r) = &*kind else {
            return None;
        };
        let mut headers = headers_of(&r.headers);
        let base64 = headers
            .iter()
            .position(|(k, v)| k == BODY_ENCODING_HEADER && v == "base64");
        let body = match &r.body {
            Value::Null | Value::Undefined => Body::Empty,
            Value::String(s) if base64.is_some() => {
                headers.retain(|(k, _)| k != BODY_ENCODING_HEADER);
                Body::Bytes(BASE64.decode(s).ok()?)
            }
            Value::String(s) => Body::Text(s.clone()),
            Value::Object(o) if matches!(&*o.borrow(), ObjectKind::ArrayBuffer(_)) => {
                match &*o.borrow() {
                    ObjectKind::ArrayBuffer(b) => Body::Bytes(b.clone()),
                    _ => Body::Empty,
                }
            }
            other => Body::Json(value_to_json(other).ok()?),
        };
        Some(FetchResponse {
            status: r.status,
            status_text: r.status_text.clone(),
            headers,
            body,
        })
    }
}

/// Reads a fetch outcome delivered to a continuation: a `ResponseSync` is `Ok`, a fetch error
/// value is `Err`. Anything else (which a correct executor never sends) is reported as
/// [`FetchError::Executor`] so the caller still gets exactly one typed outcome.
///
/// ```
/// use lumenize_core::fetch::{outcome_from_value, outcome_to_value, FetchError};
/// let e: Result<_, FetchError> = Err(FetchError::Connect { url: "http://x/".into(), message: "refused".into() });
/// assert_eq!(outcome_from_value(&outcome_to_value(&e)), e);
/// ```
pub fn outcome_from_value(value: &Value) -> Result<FetchResponse, FetchError> {
    if let Some(r) = FetchResponse::from_value(value) {
        return Ok(r);
    }
    Err(
        FetchError::from_value(value).unwrap_or_else(|| FetchError::Executor {
            url: String::new(),
            message: format!("unrecognised fetch outcome value {value:?}"),
        }),
    )
}

/// Encodes an outcome as the value a continuation receives (`ResponseSync` or an `Error`).
pub fn outcome_to_value(outcome: &Result<FetchResponse, FetchError>) -> Value {
    match outcome {
        Ok(r) => r.to_value(),
        Err(e) => e.to_value(),
    }
}

fn headers_value(h: &[(String, String)]) -> Value {
    Value::Object(Object::new(ObjectKind::Headers(h.to_vec())))
}

fn headers_of(v: &Value) -> Vec<(String, String)> {
    match v.as_object().map(|o| o.borrow().clone()) {
        Some(ObjectKind::Headers(h)) => h,
        Some(ObjectKind::Plain(p)) => p
            .iter()
            .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}

/// A `Value` that is plain JSON data (arrays, plain objects, strings, numbers, booleans,
/// `null`) back into JSON; anything else is an error saying why.
///
/// JSON is a tree, so an object the graph reaches twice is written twice. The repetition is
/// budgeted as in the codec's own tree walks (`from_value`, raw bodies): a graph whose shared
/// references would expand beyond about a million values plus four times its own size is
/// refused ("expansion budget") instead of costing exponential time and memory, and a cycle is
/// refused ("cycle"). Nesting is capped at 256 levels.
pub(crate) fn value_to_json(v: &Value) -> Result<String, String> {
    fn go(v: &Value, depth: usize, walk: &mut Walk, out: &mut String) -> Result<(), String> {
        if depth > 256 {
            return Err("nesting deeper than 256 levels".into());
        }
        let refused = |walk: &Walk, r: Refusal| match r {
            Refusal::Cycle => "cycle: the body contains itself".to_string(),
            Refusal::Budget => walk.budget_message(),
        };
        let o = match v {
            Value::Object(o) => o,
            _ => {
                walk.primitive(v).map_err(|r| refused(walk, r))?;
                return match v {
                    Value::Undefined => Err("undefined is not JSON data".into()),
                    Value::BigInt(_) => Err("a bigint is not JSON data".into()),
                    // Primitives are written by JSON.stringify's rules (integral numbers
                    // without a fraction, NaN/±Inf as null, JavaScript's number spelling).
                    _ => {
                        out.push_str(&stringify_json(v).map_err(|e| e.message)?);
                        Ok(())
                    }
                };
            }
        };
        let kind = o
            .try_borrow()
            .ok_or_else(|| "an object is mutably borrowed".to_string())?;
        let entered = walk.enter(o, &kind).map_err(|r| refused(walk, r))?;
        let result = match &*kind {
            ObjectKind::Array(items) => {
                out.push('[');
                items.iter().enumerate().try_for_each(|(i, item)| {
                    if i > 0 {
                        out.push(',');
                    }
                    go(item, depth + 1, walk, out)
                })?;
                out.push(']');
                Ok(())
            }
            ObjectKind::Plain(p) => {
                out.push('{');
                p.iter().enumerate().try_for_each(|(i, (k, item))| {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&stringify_json(&Value::from(k)).map_err(|e| e.message)?);
                    out.push(':');
                    go(item, depth + 1, walk, out)
                })?;
                out.push('}');
                Ok(())
            }
            _ => Err("only arrays and plain objects are JSON data".into()),
        };
        walk.leave(entered);
        result
    }
    let mut out = String::new();
    go(v, 0, &mut Walk::default(), &mut out)?;
    Ok(out)
}

/// The body of a response from its raw bytes and `Content-Type` (lowercased): JSON when it
/// says JSON and parses, text for text types that are UTF-8, bytes otherwise (executors share
/// it so every backend builds the same `ResponseSync`).
pub fn decode_body(content_type: &str, bytes: Vec<u8>) -> Body {
    if bytes.is_empty() {
        return Body::Empty;
    }
    let texty = content_type.starts_with("text/") || content_type.contains("javascript");
    if content_type.contains("application/json") {
        // Checked with the codec's own JSON reader: what `to_value` will read (JavaScript's
        // key order and exact numbers), under the same nesting cap.
        if let Some(text) = std::str::from_utf8(&bytes)
            .ok()
            .filter(|t| parse_json(t).is_ok())
        {
            return Body::Json(text.to_string());
        }
    }
    if texty || content_type.contains("json") {
        return match String::from_utf8(bytes) {
            Ok(s) => Body::Text(s),
            Err(e) => Body::Bytes(e.into_bytes()),
        };
    }
    Body::Bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job carries the request in its compact form; the executor must read back exactly
    /// the request the origin meant, bare `GET` or not.
    #[test]
    fn the_compact_request_value_reads_back_as_the_same_request() {
        let bare = FetchRequest::get("https://example.com/a?b=1");
        assert_eq!(
            bare.to_compact_value().as_str(),
            Some("https://example.com/a?b=1")
        );
        let mut with_header = bare.clone();
        with_header.headers.push(("x-a".into(), "1".into()));
        let mut post = bare.clone();
        post.method = "POST".into();
        post.body = Some(vec![0xff, 0, 1]);
        for r in [bare, with_header, post] {
            assert_eq!(FetchRequest::from_value(&r.to_compact_value()), Ok(r));
        }
    }
}
