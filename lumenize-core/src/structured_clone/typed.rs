//! Decoding of `$type`-tagged objects (the part of the reader that knows each special type).
//!
//! Structural parts (`entries`, `values`, `data`) must be literal JSON arrays, as in the
//! original; scalar fields are type-checked; unknown fields are ignored, except on errors where
//! they are custom properties. Missing optional fields take the original's defaults (`name`
//! "Error", `message` "", `method` "GET", `status` 200, `statusText` "", body `null`).

use super::error::{CloneError, Res};
use super::iso;
use super::read::{Mode, Reader};
use super::value::{
    BigInt, ErrorValue, Object, ObjectKind, Props, RequestSync, ResponseSync, TypedArrayKind, Value,
};

impl Reader<'_> {
    /// Reads the rest of an object whose first entry was `"$type":tag`. Returns `None`, having
    /// consumed nothing more, when `tag` is not a known type (the caller reads a plain object).
    ///
    /// Each kind is read by its own small function: typed objects can nest (an error's cause,
    /// a map's values), and one big function here would put a big frame on the stack for every
    /// nesting level.
    pub(crate) fn read_typed(
        &mut self,
        tag: &str,
        d: usize,
        target: Option<Object>,
        start: usize,
    ) -> Res<Option<Value>> {
        let kind = match tag {
            "undefined" | "number-special" | "bigint" => {
                if target.is_some() {
                    return Err(CloneError::here(format!(
                        "an alias body must be an object, not a `{tag}` (byte {start})"
                    )));
                }
                let v = self.typed_primitive(tag, d)?;
                self.last_ref = None;
                return Ok(Some(v));
            }
            "map" => self.typed_map(d)?,
            "set" => self.typed_set(d)?,
            "error" => ObjectKind::Error(self.error_fields(d)?),
            "request-sync" | "response-sync" => {
                let (kind, headers_alias) = self.typed_sync(d, tag == "request-sync")?;
                let obj = Reader::alloc(target, kind);
                if let Some(id) = headers_alias {
                    self.header_fixups.push((obj.clone(), id));
                }
                self.last_ref = None;
                return Ok(Some(Value::Object(obj)));
            }
            _ => match self.typed_leaf(tag, d)? {
                Some(kind) => kind,
                None => return Ok(None),
            },
        };
        self.last_ref = None;
        Ok(Some(Value::Object(Reader::alloc(target, kind))))
    }

    /// `undefined`, `number-special`, `bigint`: primitives.
    #[inline(never)]
    fn typed_primitive(&mut self, tag: &str, d: usize) -> Res<Value> {
        Ok(match tag {
            "number-special" => {
                let mut value = None;
                self.rest(d, |r, k, d| field(r, k, "value", d, &mut value, str_field))?;
                Value::Number(special_number(&required(value, "value")?))
            }
            "bigint" => {
                let mut value = None;
                self.rest(d, |r, k, d| {
                    field(r, k, "value", d, &mut value, bigint_field)
                })?;
                Value::BigInt(required(value, "value")?)
            }
            _ => {
                self.rest(d, |r, _, d| r.skip(d))?;
                Value::Undefined
            }
        })
    }

    #[inline(never)]
    fn typed_map(&mut self, d: usize) -> Res<ObjectKind> {
        let mut entries = None;
        self.rest(d, |r, k, d| {
            field(r, k, "entries", d, &mut entries, map_entries)
        })?;
        Ok(ObjectKind::Map(entries.unwrap_or_default()))
    }

    #[inline(never)]
    fn typed_set(&mut self, d: usize) -> Res<ObjectKind> {
        let mut values = None;
        self.rest(d, |r, k, d| {
            field(r, k, "values", d, &mut values, value_list)
        })?;
        Ok(ObjectKind::Set(values.unwrap_or_default()))
    }

    #[inline(never)]
    fn typed_sync(&mut self, d: usize, request: bool) -> Res<(ObjectKind, Option<usize>)> {
        let mut data = None;
        self.rest(d, |r, k, d| match k {
            "data" => set(&mut data, r.sync_data(d, request)?),
            _ => r.skip(d),
        })?;
        data.ok_or_else(|| CloneError::here("missing field `data`"))
    }

    /// The kinds that hold no encoded values; `None` for an unknown tag.
    #[inline(never)]
    fn typed_leaf(&mut self, tag: &str, d: usize) -> Res<Option<ObjectKind>> {
        Ok(Some(match tag {
            "boolean-object" => {
                let mut value = None;
                self.rest(d, |r, k, d| field(r, k, "value", d, &mut value, bool_field))?;
                ObjectKind::BooleanObject(required(value, "value")?)
            }
            "number-object" => {
                let mut value = None;
                self.rest(d, |r, k, d| {
                    field(r, k, "value", d, &mut value, num_or_special)
                })?;
                ObjectKind::NumberObject(required(value, "value")?)
            }
            "string-object" => {
                let mut value = None;
                self.rest(d, |r, k, d| field(r, k, "value", d, &mut value, str_field))?;
                ObjectKind::StringObject(required(value, "value")?)
            }
            "bigint-object" => {
                let mut value = None;
                self.rest(d, |r, k, d| {
                    field(r, k, "value", d, &mut value, bigint_field)
                })?;
                ObjectKind::BigIntObject(required(value, "value")?)
            }
            "date" => {
                let mut text = None;
                self.rest(d, |r, k, d| field(r, k, "iso", d, &mut text, str_field))?;
                let text = required(text, "iso")?;
                let ms = iso::from_iso(&text).ok_or_else(|| {
                    CloneError::here(format!("invalid date string {text:?}")).in_key("iso")
                })?;
                ObjectKind::Date(ms)
            }
            "regexp" => {
                let (mut source, mut flags) = (None, None);
                self.rest(d, |r, k, d| match k {
                    "source" => set(&mut source, str_field(r, d)?),
                    "flags" => set(&mut flags, str_field(r, d)?),
                    _ => r.skip(d),
                })?;
                ObjectKind::RegExp {
                    source: required(source, "source")?,
                    flags: flags.unwrap_or_default(),
                }
            }
            "url" => {
                let mut href = None;
                self.rest(d, |r, k, d| field(r, k, "href", d, &mut href, str_field))?;
                ObjectKind::Url(required(href, "href")?)
            }
            "headers" => {
                let mut entries = None;
                self.rest(d, |r, k, d| {
                    field(r, k, "entries", d, &mut entries, header_entries)
                })?;
                ObjectKind::Headers(entries.unwrap_or_default())
            }
            "arraybuffer" => self.binary_fields(d)?,
            _ => return Ok(None),
        }))
    }

    /// The remaining entries of the current object: `f(reader, key, depth)` consumes each value.
    fn rest(&mut self, d: usize, mut f: impl FnMut(&mut Self, &str, usize) -> Res<()>) -> Res<()> {
        loop {
            self.skip_ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax("expected ',' or '}'")),
            }
            self.skip_ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return Err(self.syntax("expected a string key"));
            }
            let key = self.read_string()?;
            self.skip_ws();
            if self.b.get(self.pos) != Some(&b':') {
                return Err(self.syntax("expected ':'"));
            }
            self.pos += 1;
            f(self, &key, d).map_err(|e| e.in_key(&key))?;
        }
    }

    /// Reads and drops one value.
    fn skip(&mut self, d: usize) -> Res<()> {
        self.read_value(d, Mode::Raw).map(drop)
    }

    #[inline(never)]
    fn error_fields(&mut self, d: usize) -> Res<ErrorValue> {
        let mut err = ErrorValue {
            name: "Error".into(),
            ..ErrorValue::default()
        };
        let mut props = Vec::new();
        let mut has_index_key = false;
        self.rest(d, |r, k, d| {
            match k {
                "name" => err.name = str_field(r, d)?,
                "message" => err.message = str_field(r, d)?,
                "stack" => err.stack = Some(str_field(r, d)?),
                "cause" => err.cause = Some(r.read_value(d, Mode::Encoded)?),
                _ => {
                    let v = r.read_value(d, Mode::Encoded)?;
                    let key = k
                        .strip_prefix('$')
                        .filter(|k| k.starts_with('$'))
                        .unwrap_or(k);
                    has_index_key |= super::value::is_array_index(key);
                    props.push((super::key::Key::new(key), v));
                }
            }
            Ok(())
        })?;
        err.props = Props::from_wire(props, has_index_key);
        Ok(err)
    }

    /// `arraybuffer`: an ArrayBuffer, a typed array or a DataView, by `subtype`.
    fn binary_fields(&mut self, d: usize) -> Res<ObjectKind> {
        let (mut subtype, mut data, mut offset, mut length) = (None, None, None, None);
        self.rest(d, |r, k, d| match k {
            "subtype" => set(&mut subtype, str_field(r, d)?),
            "data" => set(&mut data, number_list(r, d)?),
            "byteOffset" => set(&mut offset, index_field(r, d)?),
            "byteLength" => set(&mut length, index_field(r, d)?),
            _ => r.skip(d),
        })?;
        let data = required(data, "data")?;
        let bytes = || -> Vec<u8> {
            let k = TypedArrayKind::Uint8Array;
            data.iter().map(|&x| k.coerce(x) as u8).collect()
        };
        Ok(match subtype.as_deref().unwrap_or("Uint8Array") {
            "ArrayBuffer" => ObjectKind::ArrayBuffer(bytes()),
            "DataView" => {
                let buffer = bytes();
                let byte_offset = offset.unwrap_or(0);
                let byte_length = match length {
                    Some(n) => n,
                    None => buffer.len().saturating_sub(byte_offset),
                };
                if byte_offset
                    .checked_add(byte_length)
                    .is_none_or(|end| end > buffer.len())
                {
                    return Err(CloneError::here(format!(
                        "DataView range {byte_offset}+{byte_length} exceeds its {}-byte buffer",
                        buffer.len()
                    )));
                }
                ObjectKind::DataView {
                    buffer,
                    byte_offset,
                    byte_length,
                }
            }
            name => {
                // The original falls back to Uint8Array for an unknown constructor name.
                let kind = TypedArrayKind::from_name(name).unwrap_or(TypedArrayKind::Uint8Array);
                if kind.is_bigint() {
                    return Err(CloneError::here(format!(
                        "{name} cannot be built from numbers (JavaScript: TypeError)"
                    ))
                    .in_key("subtype"));
                }
                let values = data.into_iter().map(|x| kind.coerce(x)).collect();
                ObjectKind::TypedArray { kind, values }
            }
        })
    }

    /// The `data` of a request-sync / response-sync: headers encoded (maybe an alias, copied
    /// later), body raw. Returns the kind and the headers' alias id, if it was one.
    fn sync_data(&mut self, d: usize, request: bool) -> Res<(ObjectKind, Option<usize>)> {
        self.expect_container(b'{', "an object")?;
        let (mut url, mut method, mut status, mut status_text) = (None, None, None, None);
        let (mut headers, mut headers_alias, mut body) = (Value::Null, None, Value::Null);
        self.object_entries(d, |r, k, d| {
            match k {
                "url" if request => url = Some(str_field(r, d)?),
                "method" if request => method = Some(str_field(r, d)?),
                "status" if !request => {
                    let n = index_field(r, d)?;
                    let n = u16::try_from(n)
                        .map_err(|_| CloneError::here(format!("status {n} is out of range")))?;
                    status = Some(n);
                }
                "statusText" if !request => status_text = Some(str_field(r, d)?),
                "headers" => {
                    r.last_ref = None;
                    let h = r.read_value(d, Mode::Encoded)?;
                    headers_alias = match (&h, r.last_ref) {
                        (Value::Object(_), Some(id)) => Some(id),
                        _ => None,
                    };
                    headers = if headers_alias.is_none() {
                        check_headers(h)?
                    } else {
                        h
                    };
                }
                "body" => body = r.read_value(d, Mode::Raw)?,
                _ => r.skip(d)?,
            }
            Ok(())
        })?;
        if headers.is_null() {
            headers = Value::Object(Object::new(ObjectKind::Headers(Vec::new())));
        }
        let kind = if request {
            ObjectKind::RequestSync(RequestSync {
                url: required(url, "url")?,
                method: method.unwrap_or_else(|| "GET".into()),
                headers,
                body,
            })
        } else {
            ObjectKind::ResponseSync(ResponseSync {
                status: status.unwrap_or(200),
                status_text: status_text.unwrap_or_default(),
                headers,
                body,
            })
        };
        Ok((kind, headers_alias))
    }
}

/// Inline headers must be a Headers object (or null/undefined, read as empty).
fn check_headers(v: Value) -> Res<Value> {
    match &v {
        Value::Null | Value::Undefined => Ok(Value::Null),
        Value::Object(o) if matches!(o.try_borrow().as_deref(), Some(ObjectKind::Headers(_))) => {
            Ok(v)
        }
        _ => Err(CloneError::here("expected a Headers object")),
    }
}

/// Reads field `want` into `slot` with `read`; any other key is skipped.
fn field<T>(
    r: &mut Reader<'_>,
    key: &str,
    want: &str,
    d: usize,
    slot: &mut Option<T>,
    read: impl FnOnce(&mut Reader<'_>, usize) -> Res<T>,
) -> Res<()> {
    if key == want {
        *slot = Some(read(r, d)?);
        Ok(())
    } else {
        r.read_value(d, Mode::Raw).map(drop)
    }
}

fn set<T>(slot: &mut Option<T>, v: T) -> Res<()> {
    *slot = Some(v);
    Ok(())
}

fn required<T>(v: Option<T>, name: &str) -> Res<T> {
    v.ok_or_else(|| CloneError::here(format!("missing field `{name}`")))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Undefined => "undefined",
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::BigInt(_) => "a bigint",
        Value::String(_) => "a string",
        Value::Object(_) => "an object or array",
    }
}

fn wrong(want: &str, got: &Value) -> CloneError {
    CloneError::here(format!("expected {want}, found {}", type_name(got)))
}

fn str_field(r: &mut Reader<'_>, d: usize) -> Res<String> {
    match r.read_value(d, Mode::Raw)? {
        Value::String(s) => Ok(s),
        v => Err(wrong("a string", &v)),
    }
}

fn bool_field(r: &mut Reader<'_>, d: usize) -> Res<bool> {
    match r.read_value(d, Mode::Raw)? {
        Value::Bool(b) => Ok(b),
        v => Err(wrong("a boolean", &v)),
    }
}

fn bigint_field(r: &mut Reader<'_>, d: usize) -> Res<BigInt> {
    let text = str_field(r, d)?;
    BigInt::parse(text.trim()).ok_or_else(|| {
        CloneError::here(format!("invalid bigint {text:?} (JavaScript: SyntaxError)"))
    })
}

/// A non-negative integer (an offset, a length, a status code).
fn index_field(r: &mut Reader<'_>, d: usize) -> Res<usize> {
    match r.read_value(d, Mode::Raw)? {
        Value::Number(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => Ok(n as usize),
        v => Err(wrong("a non-negative integer", &v)),
    }
}

/// A number, or one of the strings the original writes for NaN and the infinities.
fn num_or_special(r: &mut Reader<'_>, d: usize) -> Res<f64> {
    match r.read_value(d, Mode::Raw)? {
        Value::Number(n) => Ok(n),
        Value::String(s) => Ok(special_number(&s)),
        v => Err(wrong("a number or a numeric string", &v)),
    }
}

/// JavaScript's `Number(text)` for the strings the wire carries: `NaN`, `Infinity`,
/// `-Infinity`, or any numeric string; anything else is NaN, as in JavaScript.
fn special_number(text: &str) -> f64 {
    match text.trim() {
        "Infinity" | "+Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        "" => 0.0,
        t if t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            t.parse().unwrap_or(f64::NAN)
        }
        _ => f64::NAN,
    }
}

/// `[number|null, …]`; `null` reads as 0, as `new Float64Array([null])` does.
fn number_list(r: &mut Reader<'_>, d: usize) -> Res<Vec<f64>> {
    let mut out = Vec::new();
    r.array_items(d, |r, _, d| {
        match r.read_value(d, Mode::Raw)? {
            Value::Number(n) => out.push(n),
            Value::Null => out.push(0.0),
            v => return Err(wrong("a number", &v)),
        }
        Ok(())
    })?;
    Ok(out)
}

fn value_list(r: &mut Reader<'_>, d: usize) -> Res<Vec<Value>> {
    let mut out = Vec::new();
    r.array_items(d, |r, _, d| {
        out.push(r.read_value(d, Mode::Encoded)?);
        Ok(())
    })?;
    Ok(out)
}

/// `[[key, value], …]` with encoded keys and values.
fn map_entries(r: &mut Reader<'_>, d: usize) -> Res<Vec<(Value, Value)>> {
    let mut out = Vec::new();
    r.array_items(d, |r, _, d| {
        let mut pair = Vec::with_capacity(2);
        r.array_items(d, |r, _, d| {
            pair.push(r.read_value(d, Mode::Encoded)?);
            Ok(())
        })?;
        let [k, v]: [Value; 2] = pair
            .try_into()
            .map_err(|_| CloneError::here("a map entry must be a [key, value] pair"))?;
        out.push((k, v));
        Ok(())
    })?;
    Ok(out)
}

/// `[["name","value"], …]`.
fn header_entries(r: &mut Reader<'_>, d: usize) -> Res<Vec<(String, String)>> {
    let mut out = Vec::new();
    r.array_items(d, |r, _, d| {
        let mut pair = Vec::with_capacity(2);
        r.array_items(d, |r, _, d| {
            pair.push(str_field(r, d)?);
            Ok(())
        })?;
        let [k, v]: [String; 2] = pair
            .try_into()
            .map_err(|_| CloneError::here("a header entry must be a [name, value] pair"))?;
        out.push((k, v));
        Ok(())
    })?;
    Ok(out)
}
