//! The `Value` model: everything the W4 wire format can carry.
//!
//! Primitives (`undefined`, `null`, booleans, numbers, bigints, strings) are plain enum variants
//! and are copied by value, exactly as in JavaScript. Everything else is an [`Object`]: a cheap,
//! cloneable *handle* to a heap cell. Cloning the handle shares the cell, so two positions that
//! hold clones of one handle are "the same object" (identity survives encoding as a `$ref` alias),
//! and a cell may contain a handle to itself (a cycle).
//!
//! Handles are `Rc<RefCell<_>>`: values are built and consumed on one thread (a handler runs on
//! one thread at a time); they cross threads only as wire text. A value graph with a cycle is
//! never freed by reference counting alone. Cycles the decoder made are freed by
//! [`collect_cycles`](super::collect_cycles) once nothing else holds them (the runtime hosts
//! call it after every turn); a cycle you build yourself through [`Object::borrow_mut`] leaks
//! unless you break it by hand.

use super::key::Key;
use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::rc::{Rc, Weak};

/// A JavaScript value as the structured-clone wire format sees it.
#[derive(Clone, Default)]
pub enum Value {
    /// `undefined`.
    #[default]
    Undefined,
    /// `null`.
    Null,
    /// A boolean primitive.
    Bool(bool),
    /// A number primitive (an IEEE-754 double: NaN, ±Infinity and -0 included).
    Number(f64),
    /// A bigint primitive, held as its canonical decimal text (e.g. `"-123"`).
    BigInt(BigInt),
    /// A string primitive. Rust strings are UTF-8, so a lone UTF-16 surrogate cannot be held:
    /// decoding one is a [`CloneError`](super::CloneError).
    String(String),
    /// Anything with identity: arrays, plain objects, maps, sets, dates, errors, binary data...
    Object(Object),
}

/// A bigint, as canonical decimal text: an optional `-`, then digits without leading zeros.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BigInt(String);

impl BigInt {
    /// Parses decimal text (an optional sign, then ASCII digits) into a canonical bigint.
    /// Returns `None` for anything else.
    ///
    /// ```
    /// use lumenize_core::structured_clone::BigInt;
    /// assert_eq!(BigInt::parse("-0012").unwrap().as_str(), "-12");
    /// assert!(BigInt::parse("1.5").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<BigInt> {
        let (neg, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Some(BigInt("0".into()));
        }
        Some(BigInt(if neg {
            format!("-{trimmed}")
        } else {
            trimmed.to_string()
        }))
    }

    /// The canonical decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<i64> for BigInt {
    fn from(n: i64) -> Self {
        BigInt(n.to_string())
    }
}

impl From<i128> for BigInt {
    fn from(n: i128) -> Self {
        BigInt(n.to_string())
    }
}

/// A shared, mutable handle to a heap value. `Clone` shares; use [`Object::ptr_eq`] for identity.
#[derive(Clone)]
pub struct Object(Rc<RefCell<ObjectKind>>);

impl Object {
    /// Allocates a new object (a fresh identity).
    pub fn new(kind: ObjectKind) -> Object {
        Object(Rc::new(RefCell::new(kind)))
    }

    /// Borrows the contents. Panics if the object is mutably borrowed at the same time
    /// (only possible while you hold a [`Object::borrow_mut`] guard).
    pub fn borrow(&self) -> Ref<'_, ObjectKind> {
        self.0.borrow()
    }

    /// Mutably borrows the contents (to build cycles, or to edit in place).
    pub fn borrow_mut(&self) -> RefMut<'_, ObjectKind> {
        self.0.borrow_mut()
    }

    /// True when both handles point at the same object (JavaScript `===`).
    pub fn ptr_eq(&self, other: &Object) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// A stable address for identity maps while the object is alive.
    pub fn addr(&self) -> usize {
        Rc::as_ptr(&self.0) as *const () as usize
    }

    /// Borrows the contents, or `None` while a [`Object::borrow_mut`] guard is alive.
    pub fn try_borrow(&self) -> Option<Ref<'_, ObjectKind>> {
        self.0.try_borrow().ok()
    }

    /// How many handles share this object. The encoder uses it to skip identity tracking for
    /// objects that have a single handle (they cannot appear twice in a graph).
    pub(crate) fn handle_count(&self) -> usize {
        Rc::strong_count(&self.0)
    }

    /// A handle that does not keep the object alive (for the cycle collector's registry).
    pub(crate) fn downgrade(&self) -> WeakObject {
        WeakObject(Rc::downgrade(&self.0))
    }
}

/// A non-owning handle to an [`Object`].
pub(crate) struct WeakObject(Weak<RefCell<ObjectKind>>);

impl WeakObject {
    /// The object, if it is still alive.
    pub(crate) fn upgrade(&self) -> Option<Object> {
        self.0.upgrade().map(Object)
    }
}

/// What an [`Object`] holds.
#[derive(Clone)]
pub enum ObjectKind {
    /// An array (holes are not modelled: the wire format turns them into `null`).
    Array(Vec<Value>),
    /// A plain object with JavaScript own-key order.
    Plain(Props),
    /// A `Map`, in insertion order. Keys can be any value (identity for objects).
    Map(Vec<(Value, Value)>),
    /// A `Set`, in insertion order.
    Set(Vec<Value>),
    /// A `Date`, as milliseconds since the Unix epoch (always finite: an invalid date cannot be
    /// encoded, exactly as in JavaScript). A fractional millisecond is truncated on encoding,
    /// as JavaScript's `TimeClip` does when a date is made.
    Date(f64),
    /// A `RegExp`.
    RegExp {
        /// The pattern (`(?:)` for an empty one).
        source: String,
        /// The flags, e.g. `"gi"`.
        flags: String,
    },
    /// An `Error` (or subclass, by name).
    Error(ErrorValue),
    /// An `ArrayBuffer`.
    ArrayBuffer(Vec<u8>),
    /// A typed array: its kind and its element values (as the wire format carries them).
    TypedArray {
        /// Which typed array constructor (`Uint8Array`, `Float32Array`...).
        kind: TypedArrayKind,
        /// The element values, widened to f64.
        values: Vec<f64>,
    },
    /// A `DataView` over a whole buffer.
    DataView {
        /// The whole underlying buffer.
        buffer: Vec<u8>,
        /// The view's start within `buffer`.
        byte_offset: usize,
        /// The view's length.
        byte_length: usize,
    },
    /// A `URL`, as its normalized `href`.
    Url(String),
    /// A `Headers` object: lower-cased names, in the order the wire carries them.
    Headers(Vec<(String, String)>),
    /// A `RequestSync`.
    RequestSync(RequestSync),
    /// A `ResponseSync`.
    ResponseSync(ResponseSync),
    /// `new Boolean(b)`.
    BooleanObject(bool),
    /// `new Number(n)`.
    NumberObject(f64),
    /// `new String(s)`.
    StringObject(String),
    /// `Object(10n)`.
    BigIntObject(BigInt),
}

/// An error value: `name`, `message`, optional `stack` and `cause`, and custom own props.
#[derive(Clone, Default)]
pub struct ErrorValue {
    /// The error's `name` (`"Error"`, `"TypeError"`, or a custom class name).
    pub name: String,
    /// The error's `message`.
    pub message: String,
    /// The `stack`, when present.
    pub stack: Option<String>,
    /// The `cause`, when present (any value).
    pub cause: Option<Value>,
    /// Other own properties, in order.
    pub props: Props,
}

/// The typed array constructors the wire format names in `subtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum TypedArrayKind {
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
}

/// `RequestSync`: url, method, headers and a raw (plain JSON) body.
#[derive(Clone)]
pub struct RequestSync {
    /// The request URL.
    pub url: String,
    /// The HTTP method, e.g. `"GET"`.
    pub method: String,
    /// A `Headers` object (an [`Object`] so it can be shared/aliased).
    pub headers: Value,
    /// The body: plain JSON data (a string, an object...) or `null`/`undefined`.
    pub body: Value,
}

/// `ResponseSync`: status, status text, headers and a raw (plain JSON) body.
#[derive(Clone)]
pub struct ResponseSync {
    /// The HTTP status code.
    pub status: u16,
    /// The status text (`""` when unknown).
    pub status_text: String,
    /// A `Headers` object (an [`Object`] so it can be shared/aliased).
    pub headers: Value,
    /// The body: plain JSON data (a string, an object...) or `null`.
    pub body: Value,
}

/// Plain-object properties in JavaScript own-key order: integer-like keys (canonical array
/// indices, `0 ..= 2^32 - 2`) ascending first, then the other keys in insertion order.
#[derive(Clone, Default)]
pub struct Props {
    entries: Vec<(Key, Value)>,
}

/// True when `key` is a canonical array index, which JavaScript orders before other keys.
pub(crate) fn is_array_index(key: &str) -> bool {
    let b = key.as_bytes();
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if b.len() > 1 && b[0] == b'0' {
        return false;
    }
    key.parse::<u64>().is_ok_and(|n| n < u32::MAX as u64)
}

/// Whether two of `entries` have the same key. Objects of up to four keys compare them
/// pairwise. Larger small objects first drop each key's fingerprint into a 256-bit filter: equal keys have equal fingerprints, so when no two
/// land on one bit the keys are all different (an answer in one pass, taken by about 85% of
/// ten-key objects); otherwise fingerprints are compared pairwise, the texts only when
/// fingerprints match.
fn has_duplicate_key(entries: &[(Key, Value)]) -> bool {
    if entries.len() <= 4 {
        // At most six comparisons (of two fixed-size arrays, for short keys).
        return (1..entries.len()).any(|i| (0..i).any(|j| entries[i].0 == entries[j].0));
    }
    if entries.len() <= 16 {
        let mut filter = [0u64; 4];
        let mut fp = [0u64; 16];
        let mut clash = false;
        for (f, (k, _)) in fp.iter_mut().zip(entries) {
            *f = k.fingerprint();
            // Fold the high bits down before the multiply: the top byte of a plain product
            // put three of one ten-key record's keys on one bit.
            let bit = ((*f ^ (*f >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            clash |= filter[word] & mask != 0;
            filter[word] |= mask;
        }
        if !clash {
            return false;
        }
        let fp = &fp[..entries.len()];
        (1..entries.len()).any(|i| (0..i).any(|j| fp[i] == fp[j] && entries[i].0 == entries[j].0))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(entries.len());
        !entries.iter().all(|(k, _)| seen.insert(k.as_str()))
    }
}

impl Props {
    /// An empty property list.
    pub fn new() -> Props {
        Props::default()
    }

    /// An empty property list with room for `n` entries.
    pub fn with_capacity(n: usize) -> Props {
        Props {
            entries: Vec::with_capacity(n),
        }
    }

    /// Sets `key` to `value`, keeping JavaScript key order; an existing key keeps its position.
    ///
    /// ```
    /// use lumenize_core::structured_clone::{Props, Value};
    /// let mut p = Props::new();
    /// p.insert("b", Value::Null);
    /// p.insert("10", Value::Null);
    /// p.insert("2", Value::Null);
    /// let keys: Vec<&str> = p.keys().collect();
    /// assert_eq!(keys, ["2", "10", "b"]);
    /// ```
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        self.insert_key(Key::from(key.into()), value);
    }

    fn insert_key(&mut self, key: Key, value: Value) {
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
            return;
        }
        if is_array_index(key.as_str()) {
            let n: u64 = key.as_str().parse().unwrap_or(0);
            let pos = self
                .entries
                .iter()
                .position(|(k, _)| {
                    !is_array_index(k.as_str()) || k.as_str().parse::<u64>().unwrap_or(0) > n
                })
                .unwrap_or(self.entries.len());
            self.entries.insert(pos, (key, value));
        } else {
            self.entries.push((key, value));
        }
    }

    /// Builds properties from wire entries: fast when the keys are already unique and in
    /// JavaScript order (what any encoder writes); otherwise applies JSON.parse semantics
    /// (a repeated key keeps its first position and its last value) and integer-key ordering.
    pub(crate) fn from_wire(entries: Vec<(Key, Value)>, has_index_key: bool) -> Props {
        if has_index_key || has_duplicate_key(&entries) {
            let mut p = Props::with_capacity(entries.len());
            for (k, v) in entries {
                p.insert_key(k, v);
            }
            p
        } else {
            Props { entries }
        }
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self.entries.iter().position(|(k, _)| k.as_str() == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Mutable access to the values, in order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Props {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut p = Props::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

// ---- convenient constructors and accessors -------------------------------------------------

impl Value {
    /// A new array object.
    pub fn array(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Object(Object::new(ObjectKind::Array(items.into_iter().collect())))
    }

    /// A new plain object from `(key, value)` pairs (JavaScript key order applied).
    ///
    /// ```
    /// use lumenize_core::structured_clone::Value;
    /// let v = Value::object([("type", Value::from("get")), ("key", Value::from("svc"))]);
    /// assert_eq!(v.get("key").and_then(|k| k.as_str().map(String::from)).as_deref(), Some("svc"));
    /// ```
    pub fn object<K: Into<String>>(props: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(Object::new(ObjectKind::Plain(props.into_iter().collect())))
    }

    /// A new `Error` with a name and message.
    pub fn error(name: impl Into<String>, message: impl Into<String>) -> Value {
        Value::Object(Object::new(ObjectKind::Error(ErrorValue {
            name: name.into(),
            message: message.into(),
            ..ErrorValue::default()
        })))
    }

    /// A new `Date` at `ms` milliseconds since the epoch.
    pub fn date(ms: f64) -> Value {
        Value::Object(Object::new(ObjectKind::Date(ms)))
    }

    /// The string, if this is a string primitive.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is a number primitive.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean primitive.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The object handle, if this is an object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// A plain object's property `key` (cloned: primitives copy, objects share).
    pub fn get(&self, key: &str) -> Option<Value> {
        match &*self.as_object()?.borrow() {
            ObjectKind::Plain(p) => p.get(key).cloned(),
            _ => None,
        }
    }

    /// An array's items (cloned handles), if this is an array.
    pub fn as_array(&self) -> Option<Vec<Value>> {
        match &*self.as_object()?.borrow() {
            ObjectKind::Array(items) => Some(items.clone()),
            _ => None,
        }
    }

    /// True for `undefined`.
    pub fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined)
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}
impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Number(n as f64)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Number(n as f64)
    }
}
impl From<i64> for Value {
    /// Converts exactly when `|n| <= 2^53`; beyond that the number is rounded, as in JavaScript.
    fn from(n: i64) -> Self {
        Value::Number(n as f64)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Object(o)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` becomes `null`.
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::array(items)
    }
}

impl fmt::Debug for Value {
    /// A short, cycle-safe rendering (objects are shown by kind and address, not expanded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undefined => f.write_str("undefined"),
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::BigInt(b) => write!(f, "{}n", b.as_str()),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Object(o) => write!(f, "{:?}", o),
        }
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0.try_borrow() {
            Ok(k) => kind_name(&k),
            Err(_) => "<borrowed>",
        };
        write!(f, "{kind}@{:#x}", self.addr())
    }
}

fn kind_name(k: &ObjectKind) -> &'static str {
    match k {
        ObjectKind::Array(_) => "Array",
        ObjectKind::Plain(_) => "Object",
        ObjectKind::Map(_) => "Map",
        ObjectKind::Set(_) => "Set",
        ObjectKind::Date(_) => "Date",
        ObjectKind::RegExp { .. } => "RegExp",
        ObjectKind::Error(_) => "Error",
        ObjectKind::ArrayBuffer(_) => "ArrayBuffer",
        ObjectKind::TypedArray { .. } => "TypedArray",
        ObjectKind::DataView { .. } => "DataView",
        ObjectKind::Url(_) => "URL",
        ObjectKind::Headers(_) => "Headers",
        ObjectKind::RequestSync(_) => "RequestSync",
        ObjectKind::ResponseSync(_) => "ResponseSync",
        ObjectKind::BooleanObject(_) => "Boolean",
        ObjectKind::NumberObject(_) => "Number",
        ObjectKind::StringObject(_) => "String",
        ObjectKind::BigIntObject(_) => "BigIntObject",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint shortcut finds exactly the duplicates a plain set finds, on generated
    /// key lists of every small length with many near-collisions (shared prefixes, lengths
    /// around 16 and 22).
    #[test]
    fn duplicate_check_agrees_with_a_set() {
        let long = "x".repeat(22);
        let stems = [
            "",
            "a",
            "ab",
            "k0123456789abcde",
            "k0123456789abcdef",
            &long,
        ];
        let mut s: u64 = 0x853c_49e6_748f_ea9b;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let n = (s % 20) as usize;
            let entries: Vec<(Key, Value)> = (0..n)
                .map(|i| {
                    let r = s.rotate_left(i as u32 * 3);
                    let key = format!("{}{}", stems[(r % 6) as usize], (r >> 8) % 4);
                    (Key::new(&key), Value::Null)
                })
                .collect();
            let mut seen = std::collections::HashSet::new();
            let want = !entries
                .iter()
                .all(|(k, _)| seen.insert(k.as_str().to_string()));
            assert_eq!(has_duplicate_key(&entries), want, "{entries:?}");
        }
    }
}
