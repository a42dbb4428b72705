//! A synchronous structured-clone codec, byte-compatible with `@lumenize/structured-clone` 0.26
//! (the "W4" wire format).
//!
//! # What it is for
//! Lumenize objects exchange values (operation chains, call arguments and results, alarm rows)
//! as text. This codec turns a [`Value`] graph (everything JavaScript's structured clone can
//! carry: `undefined`, NaN, bigints, dates, maps, sets, errors, binary data, shared references
//! and cycles) into that text and back, producing exactly the bytes the TypeScript original
//! produces, so Rust and JavaScript ends can talk to each other and share stored rows.
//!
//! # The wire format, in brief
//! `{"json":<document>,"meta":{}}`, or with `"meta":{"aliases":{"0":<body>,…}}` when an object
//! is reached more than once. The document is plain JSON wherever possible; a special value is
//! an object whose first key is `$type` (`{"$type":"date","iso":"1970-01-01T00:00:00.000Z"}`,
//! `{"$type":"map","entries":[[k,v],…]}`, `{"$type":"undefined"}`, ...). Every position of a
//! shared or cyclic object, the first included, is `{"$ref":n}`, with the body in
//! `meta.aliases["n"]`; ids are given in depth-first pre-order. User keys starting with `$` get
//! one more `$` on the wire. Numbers print as JavaScript prints them (`1e+21`, `5e-324`), strings
//! escape as `JSON.stringify` escapes them, and keys keep JavaScript's own-key order (integer
//! keys ascending first, see [`Props`]).
//!
//! # Decisions
//! - **Lone surrogates.** A Rust `String` cannot hold a lone UTF-16 surrogate, which JavaScript
//!   strings can (`"a\ud800b"`). Decoding one (`\ud800` not followed by a low surrogate, or a
//!   lone `\udc00`) is a [`CloneError`] naming the escape and its byte offset.
//! - **Depth limit.** Documents nest at most [`MAX_DEPTH`] JSON containers deep, counting the
//!   envelope. The decoder rejects deeper text and the encoder refuses values that would produce
//!   it (counting through aliases, so it never writes what the decoder would reject): no input
//!   can exhaust the stack (the limit fits a 2 MiB thread stack even in a debug build).
//! - **Identity is `Rc` identity.** An [`Object`] is an `Rc<RefCell<…>>` handle; two positions
//!   holding clones of one handle are one object and encode as one alias. Reference counting
//!   alone never frees a cycle, so the decoder registers the graphs where it closed one and
//!   [`collect_cycles`] (which the runtime hosts call after every turn) frees those nothing
//!   else holds; cycles you build yourself are yours to break (see [`Object`]).
//! - **Tree walks are budgeted.** What writes a graph out as a tree ([`from_value`], raw
//!   bodies, a fetch body's JSON) repeats shared objects; the repetition may reach about a
//!   million units plus four times the graph, beyond which it is an error ("expansion
//!   budget"), and cycles are an error there too.
//! - **`RequestSync`/`ResponseSync` bodies are raw**, as in the original: the body is embedded
//!   as plain `JSON.stringify` would write it (a `Date` becomes its ISO string, `undefined`
//!   properties vanish, a bigint or a cycle is an error) and decoded as plain JSON (a
//!   `{"$type":…}` inside a body stays a plain object). Headers shared through an alias are
//!   copied into the request/response on decode, as the original does.
//! - **JavaScript quirks kept for byte compatibility**: `-0` encodes as `0`; NaN/±Infinity in
//!   float typed arrays become `null` and decode as 0; a `$type:"function"` marker decodes to a
//!   plain object; an unknown `$type` decodes to a plain object that keeps its `$type` key.
//! - **Speed**: the writer emits text directly and the reader builds `Value`s directly (no
//!   `serde_json::Value` in between); a value whose objects all have a single handle is a tree
//!   and is written in one pass, without identity bookkeeping. See `docs/benchmarks/codec.md`.
//! - **Not JavaScript**: URLs are not re-normalized on decode (the href is kept as sent); Headers
//!   entries keep wire order; an `AggregateError` keeps its message (the original loses it);
//!   numbers that overflow a double (`1e400`) are an error rather than Infinity; a `$type` tag
//!   counts only as an object's first key; a date-time without offset is read as UTC.
//!
//! # Example
//! ```
//! use lumenize_core::structured_clone::{parse, stringify, Value};
//!
//! let shared = Value::object([("tag", Value::from("shared"))]);
//! let v = Value::object([
//!     ("when", Value::date(0.0)),
//!     ("a", shared.clone()),
//!     ("b", shared),
//!     ("$type", Value::from("user data")),
//! ]);
//! let text = stringify(&v).unwrap();
//! assert_eq!(
//!     text,
//!     r#"{"json":{"when":{"$type":"date","iso":"1970-01-01T00:00:00.000Z"},"a":{"$ref":0},"b":{"$ref":0},"$$type":"user data"},"meta":{"aliases":{"0":{"tag":"shared"}}}}"#
//! );
//! let back = parse(&text).unwrap();
//! let (a, b) = (back.get("a").unwrap(), back.get("b").unwrap());
//! assert!(a.as_object().unwrap().ptr_eq(b.as_object().unwrap())); // one object again
//! assert_eq!(stringify(&back).unwrap(), text);
//! ```
//!
//! Your own types travel through the serde bridge: [`to_value`], [`from_value`],
//! [`to_string`], [`from_str`].

mod addr;
mod binary;
mod cycles;
mod de;
mod depth;
mod describe;
mod encode;
mod error;
pub(crate) mod expand;
mod intermediate;
mod iso;
mod json;
mod key;
mod raw;
mod read;
mod scalars;
mod ser;
mod text;
mod typed;
mod value;

pub use cycles::{collect_cycles, CycleCollection};
pub use describe::describe;
pub use error::CloneError;
pub use intermediate::Intermediate;
pub use json::{parse_json, stringify_json};
pub use value::{
    BigInt, ErrorValue, Object, ObjectKind, Props, RequestSync, ResponseSync, TypedArrayKind, Value,
};

/// The deepest nesting of JSON containers (`[`/`{`) a wire document may have, envelope
/// included: 128, serde_json's limit too. Deep enough for real payloads (a nested operation
/// chain costs about four levels per call); shallow enough that no document, even a chain of
/// errors through `cause` (the costliest shape), can overflow a 2 MiB thread stack in a debug
/// build in either direction.
pub const MAX_DEPTH: usize = 128;

/// Encodes a value into its intermediate `{json, meta}` form.
pub fn preprocess(value: &Value) -> Result<Intermediate, CloneError> {
    intermediate::preprocess(value)
}

/// Decodes an intermediate `{json, meta}` form into a value.
pub fn postprocess(data: &Intermediate) -> Result<Value, CloneError> {
    intermediate::postprocess(data)
}

/// Encodes a value into wire text (byte-identical to the TypeScript original's `stringify`).
///
/// Fails, with the path of the culprit, on what JavaScript cannot encode either: an invalid
/// `Date`, a `BigInt64Array`/`BigUint64Array`, a bigint or a cycle inside a raw
/// request/response body; and on nesting beyond [`MAX_DEPTH`].
///
/// ```
/// use lumenize_core::structured_clone::{stringify, Value};
/// let v = Value::array([Value::Undefined, Value::from(f64::NAN), Value::from(1e21)]);
/// assert_eq!(
///     stringify(&v).unwrap(),
///     r#"{"json":[{"$type":"undefined"},{"$type":"number-special","value":"NaN"},1e+21],"meta":{}}"#
/// );
/// ```
pub fn stringify(value: &Value) -> Result<String, CloneError> {
    encode::stringify(value)
}

/// Decodes wire text into a value. Malformed JSON, a `$ref` to a missing alias, wrong field
/// types, a lone surrogate or nesting beyond [`MAX_DEPTH`] give a [`CloneError`] saying what
/// and where; no input panics.
///
/// ```
/// use lumenize_core::structured_clone::parse;
/// let v = parse(r#"{"json":{"$ref":0},"meta":{"aliases":{"0":{"me":{"$ref":0}}}}}"#).unwrap();
/// let me = v.get("me").unwrap();
/// assert!(me.as_object().unwrap().ptr_eq(v.as_object().unwrap())); // a cycle
/// ```
pub fn parse(text: &str) -> Result<Value, CloneError> {
    read::parse(text)
}

/// Converts any `Serialize` value into a [`Value`] (structs become plain objects, see the
/// mapping in the module docs of the bridge: integers beyond 2^53 become bigints, maps with
/// non-string keys become `Map`s, bytes become an `ArrayBuffer`).
///
/// ```
/// use lumenize_core::structured_clone::{from_value, to_value};
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Task { id: u32, tags: Vec<String>, due: Option<f64> }
/// let t = Task { id: 7, tags: vec!["a".into()], due: None };
/// let v = to_value(&t).unwrap();
/// assert_eq!(v.get("id").and_then(|n| n.as_f64()), Some(7.0));
/// assert_eq!(from_value::<Task>(&v).unwrap(), t);
/// ```
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, CloneError> {
    value
        .serialize(ser::ValueSerializer)
        .map_err(|e| e.in_root("value"))
}

/// Converts a [`Value`] into any `DeserializeOwned` type. Errors name the path in the value
/// (`value.items[2].name`).
///
/// A Rust value is a tree, so an object the graph reaches twice is deserialized twice. To keep
/// the work linear in the graph, the repetition is budgeted: about a million units (a unit is a
/// value, or a byte of string or binary data) plus four times the graph's own size. A graph
/// whose shared references expand beyond that (48 arrays each holding the next one twice are
/// 2 KB of wire text but 2^48 leaves) is an error that says "expansion budget", and a cyclic
/// value is an error that says "cycle", rather than exponential or endless work.
///
/// ```
/// use lumenize_core::structured_clone::{from_value, Value};
/// let shared = Value::array([Value::from(1)]);
/// let v = Value::array([shared.clone(), shared]);
/// assert_eq!(from_value::<Vec<Vec<u8>>>(&v).unwrap(), [[1], [1]]);
/// ```
pub fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, CloneError> {
    from_value_in(value, &std::cell::RefCell::new(expand::Walk::default()))
}

/// [`from_value`] within an enclosing budgeted walk: objects `walk` has already met count as
/// repeats (how a handler's `Vec<Serde<X>>` parameter pays for converting one shared `X` at
/// every position).
pub(crate) fn from_value_in<T: serde::de::DeserializeOwned>(
    value: &Value,
    walk: &std::cell::RefCell<expand::Walk>,
) -> Result<T, CloneError> {
    T::deserialize(de::ValueDe {
        v: value,
        depth: 0,
        walk,
    })
    .map_err(|e| e.in_root("value"))
}

/// Serializes a `Serialize` value straight to wire text: `stringify(&to_value(value)?)`.
///
/// ```
/// use std::collections::HashMap;
/// let mut m = HashMap::new();
/// m.insert("$key", 1);
/// assert_eq!(
///     lumenize_core::structured_clone::to_string(&m).unwrap(),
///     r#"{"json":{"$$key":1},"meta":{}}"#
/// );
/// ```
pub fn to_string<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, CloneError> {
    stringify(&to_value(value)?)
}

/// Parses wire text straight into a `DeserializeOwned` type: `from_value(&parse(text)?)`.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, CloneError> {
    from_value(&parse(text)?)
}
