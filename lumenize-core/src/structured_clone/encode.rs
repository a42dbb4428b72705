//! The encoder: `Value` → W4 wire text, written directly (no intermediate JSON tree).
//!
//! Pass 1 counts how often each object is reached (without descending twice into one object);
//! pass 2 writes the document. (Tree-shaped values skip pass 1, see [`stringify`].) An object reached more than once gets an alias id in the order
//! pass 2 first meets it (depth-first, pre-order), its body goes to `meta.aliases[id]`, and every
//! position, the first included, holds `{"$ref":id}`: exactly the JavaScript algorithm, so ids
//! and bytes match. Objects with a single handle (`Rc::strong_count == 1`) cannot appear twice,
//! so both passes skip the identity map for them: plain tree-shaped data pays no hashing.

use super::addr::AddrMap;
use super::depth::open;
use super::error::{CloneError, Res};
use super::text::{write_f64, write_i64, write_str, write_user_key};
use super::value::{ErrorValue, Object, ObjectKind, Value};
use super::{iso, raw};

/// Encodes `value` as wire text.
pub(crate) fn stringify(value: &Value) -> Res<String> {
    let mut out = String::with_capacity(256);
    out.push_str("{\"json\":");
    // Optimistic single pass: a graph in which no object is reached twice is a tree, needs no
    // aliases and so no counting pass. Reaching an object a second time restarts in two passes.
    let mut enc = Encoder {
        optimistic: true,
        ..Encoder::default()
    };
    match enc.write(&mut out, value, 1) {
        Ok(()) => {
            // The fast path must write what the two passes write.
            #[cfg(debug_assertions)]
            {
                let mut slow = Encoder::default();
                let mut text = String::from("{\"json\":");
                let two_passes = slow
                    .count(value, 1)
                    .and_then(|()| slow.write(&mut text, value, 1));
                debug_assert!(two_passes.is_ok() && slow.aliases.is_empty() && text == out);
            }
        }
        Err(_) if enc.restart => {
            enc = Encoder::default();
            out.truncate("{\"json\":".len());
            enc.count(value, 1).map_err(|e| e.in_root("json"))?;
            enc.write(&mut out, value, 1)
                .map_err(|e| e.in_root("json"))?;
        }
        Err(e) => return Err(e.in_root("json")),
    }
    if enc.aliases.is_empty() {
        out.push_str(",\"meta\":{}}");
    } else {
        out.push_str(",\"meta\":{\"aliases\":{");
        for (id, body) in enc.aliases.iter().enumerate() {
            if id > 0 {
                out.push(',');
            }
            out.push('"');
            write_i64(&mut out, id as i64);
            out.push_str("\":");
            out.push_str(body);
        }
        out.push_str("}}}");
    }
    Ok(out)
}

#[derive(Default)]
struct Encoder {
    /// Single-pass mode: no counts were taken; any multi-handle object aborts the pass.
    optimistic: bool,
    /// Set when the optimistic pass aborted (the error it returns is only a signal).
    restart: bool,
    /// Optimistic pass: the multi-handle objects written so far. Meeting one a second time
    /// (shared, or a cycle) aborts the pass; met once, it needs no alias and is written inline
    /// exactly as the two passes would write it.
    seen: AddrMap<()>,
    /// Times each multi-handle object is reached in pass 1.
    counts: AddrMap<u32>,
    /// Alias ids given so far in pass 2.
    ids: AddrMap<usize>,
    /// Alias bodies, by id.
    aliases: Vec<String>,
    /// The walk over raw bodies: one for the document, so a body shared by many requests
    /// counts as repetition too.
    raw: super::expand::Walk,
}

/// Containers around an alias body on the wire: the envelope, `meta`, `aliases`.
const ALIAS_BODY_DEPTH: usize = 3;

fn borrow(o: &Object) -> Res<std::cell::Ref<'_, ObjectKind>> {
    o.try_borrow().ok_or_else(borrowed)
}

#[cold]
fn borrowed() -> CloneError {
    CloneError::here("object is mutably borrowed during encoding")
}

impl Encoder {
    /// Pass 1: reference counts. `depth` bounds recursion exactly as pass 2 will.
    fn count(&mut self, v: &Value, depth: usize) -> Res<()> {
        let Value::Object(o) = v else { return Ok(()) };
        if o.handle_count() > 1 {
            let c = self.counts.entry(o.addr()).or_insert(0);
            *c += 1;
            if *c > 1 {
                return Ok(());
            }
        }
        let d = open(depth)?;
        match &*borrow(o)? {
            ObjectKind::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.count(item, d).map_err(|e| e.in_index(i))?;
                }
            }
            ObjectKind::Plain(props) => {
                for (k, item) in props.iter() {
                    self.count(item, d).map_err(|e| e.in_key(k))?;
                }
            }
            other => self.count_special(other, d)?,
        }
        Ok(())
    }

    /// Pass 1 for the kinds other than arrays and plain objects (kept out of `count`'s frame).
    #[inline(never)]
    fn count_special(&mut self, kind: &ObjectKind, d: usize) -> Res<()> {
        match kind {
            ObjectKind::Map(entries) => {
                for (i, (k, item)) in entries.iter().enumerate() {
                    let at = |e: CloneError, j| e.in_index(j).in_index(i).in_key("entries");
                    self.count(k, d + 2).map_err(|e| at(e, 0))?;
                    self.count(item, d + 2).map_err(|e| at(e, 1))?;
                }
            }
            ObjectKind::Set(values) => {
                for (i, item) in values.iter().enumerate() {
                    let at = |e: CloneError| e.in_index(i).in_key("values");
                    self.count(item, d + 1).map_err(at)?;
                }
            }
            ObjectKind::Error(err) => {
                if let Some(cause) = &err.cause {
                    self.count(cause, d).map_err(|e| e.in_key("cause"))?;
                }
                for (k, item) in err.props.iter() {
                    self.count(item, d).map_err(|e| e.in_key(k))?;
                }
            }
            ObjectKind::RequestSync(r) => {
                let at = |e: CloneError| e.in_key("headers").in_key("data");
                self.count(&r.headers, d + 1).map_err(at)?;
            }
            ObjectKind::ResponseSync(r) => {
                let at = |e: CloneError| e.in_key("headers").in_key("data");
                self.count(&r.headers, d + 1).map_err(at)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// [`Encoder::write`] with the common JSON primitives handled in the caller's loop (no
    /// call per string or number: they are most of a document).
    #[inline(always)]
    fn write_item(&mut self, out: &mut String, v: &Value, depth: usize) -> Res<()> {
        match v {
            Value::String(s) => write_str(out, s),
            Value::Number(n) if n.is_finite() => write_f64(out, *n),
            _ => return self.write(out, v, depth),
        }
        Ok(())
    }

    /// Pass 2: writes `v`, which sits inside `depth` open containers.
    #[inline]
    fn write(&mut self, out: &mut String, v: &Value, depth: usize) -> Res<()> {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::String(s) => write_str(out, s),
            Value::Number(n) if n.is_finite() => write_f64(out, *n),
            Value::Object(o) => self.write_object(out, o, depth)?,
            _ => write_tagged_primitive(out, v, depth)?,
        }
        Ok(())
    }

    #[inline]
    fn write_object(&mut self, out: &mut String, o: &Object, depth: usize) -> Res<()> {
        if self.optimistic && o.handle_count() > 1 {
            // Another handle may live outside the value (a caller's copy, an argument list
            // being encoded): written inline, unless this walk meets the object again.
            if self.seen.insert(o.addr(), ()).is_some() {
                self.restart = true;
                return Err(CloneError::here("restart in two passes"));
            }
            return self.write_body(out, o, depth);
        }
        if o.handle_count() > 1 && self.counts.get(&o.addr()).is_some_and(|&c| c > 1) {
            self.write_alias(out, o, depth)
        } else {
            self.write_body(out, o, depth)
        }
    }

    /// A shared object: `{"$ref":id}`, writing the body into `meta.aliases` when first met.
    #[inline(never)]
    fn write_alias(&mut self, out: &mut String, o: &Object, depth: usize) -> Res<()> {
        let id = match self.ids.get(&o.addr()) {
            Some(&id) => id,
            None => {
                let id = self.aliases.len();
                self.ids.insert(o.addr(), id);
                self.aliases.push(String::new());
                // The body is written where it is first met, so ids inside it come next
                // (pre-order). Its depth: the decoder reads it inside envelope, `meta` and
                // `aliases` (3 levels); counting from here instead when deeper keeps the
                // encoder never looser than the decoder, and recursion bounded.
                let mut body = String::new();
                self.write_body(&mut body, o, depth.max(ALIAS_BODY_DEPTH))?;
                self.aliases[id] = body;
                id
            }
        };
        open(depth)?;
        out.push_str("{\"$ref\":");
        write_i64(out, id as i64);
        out.push('}');
        Ok(())
    }

    fn write_body(&mut self, out: &mut String, o: &Object, depth: usize) -> Res<()> {
        let d = open(depth)?;
        let Some(kind) = o.try_borrow() else {
            return Err(borrowed());
        };
        // Arrays and plain objects, the common deep case, recurse through small frames; the
        // other kinds live in `write_special`, whose big frame is only paid when used.
        match &*kind {
            ObjectKind::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write_item(out, item, d).map_err(|e| e.in_index(i))?;
                }
                out.push(']');
            }
            ObjectKind::Plain(props) => {
                out.push('{');
                for (i, (k, item)) in props.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_user_key(out, k);
                    self.write_item(out, item, d).map_err(|e| e.in_key(k))?;
                }
                out.push('}');
            }
            other => self.write_special(out, other, d)?,
        }
        Ok(())
    }

    /// Every kind but arrays and plain objects; `d` is the depth inside the object. Each kind
    /// that recurses has its own small function, so deep nesting stays cheap on the stack.
    fn write_special(&mut self, out: &mut String, kind: &ObjectKind, d: usize) -> Res<()> {
        match kind {
            ObjectKind::Map(entries) => self.write_map(out, entries, d),
            ObjectKind::Set(values) => self.write_set(out, values, d),
            ObjectKind::Error(err) => self.write_error(out, err, d),
            ObjectKind::RequestSync(_) | ObjectKind::ResponseSync(_) => {
                self.write_sync(out, kind, d)
            }
            _ => self.write_leaf(out, kind, d),
        }
    }

    #[inline(never)]
    fn write_map(&mut self, out: &mut String, entries: &[(Value, Value)], d: usize) -> Res<()> {
        out.push_str("{\"$type\":\"map\",\"entries\":[");
        let pair_d = open(d)?;
        for (i, (k, item)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let at = |e: CloneError, j| e.in_index(j).in_index(i).in_key("entries");
            let inner = open(pair_d).map_err(|e| at(e, 0))?;
            out.push('[');
            self.write(out, k, inner).map_err(|e| at(e, 0))?;
            out.push(',');
            self.write(out, item, inner).map_err(|e| at(e, 1))?;
            out.push(']');
        }
        out.push_str("]}");
        Ok(())
    }

    #[inline(never)]
    fn write_set(&mut self, out: &mut String, values: &[Value], d: usize) -> Res<()> {
        out.push_str("{\"$type\":\"set\",\"values\":[");
        let inner = open(d).map_err(|e| e.in_key("values"))?;
        for (i, item) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let at = |e: CloneError| e.in_index(i).in_key("values");
            self.write(out, item, inner).map_err(at)?;
        }
        out.push_str("]}");
        Ok(())
    }

    #[inline(never)]
    fn write_error(&mut self, out: &mut String, err: &ErrorValue, d: usize) -> Res<()> {
        out.push_str("{\"$type\":\"error\",\"name\":");
        write_str(out, &err.name);
        out.push_str(",\"message\":");
        write_str(out, &err.message);
        if let Some(stack) = &err.stack {
            out.push_str(",\"stack\":");
            write_str(out, stack);
        }
        if let Some(cause) = &err.cause {
            out.push_str(",\"cause\":");
            self.write(out, cause, d).map_err(|e| e.in_key("cause"))?;
        }
        for (k, item) in err.props.iter() {
            out.push(',');
            write_user_key(out, k);
            self.write(out, item, d).map_err(|e| e.in_key(k))?;
        }
        out.push('}');
        Ok(())
    }

    #[inline(never)]
    fn write_sync(&mut self, out: &mut String, kind: &ObjectKind, d: usize) -> Res<()> {
        match kind {
            ObjectKind::RequestSync(r) => {
                let data_d = open(d).map_err(|e| e.in_key("data"))?;
                out.push_str("{\"$type\":\"request-sync\",\"data\":{\"url\":");
                write_str(out, &r.url);
                out.push_str(",\"method\":");
                write_str(out, &r.method);
                self.write_sync_tail(out, &r.headers, &r.body, data_d)
                    .map_err(|e| e.in_key("data"))?;
                out.push('}');
            }
            ObjectKind::ResponseSync(r) => {
                let data_d = open(d).map_err(|e| e.in_key("data"))?;
                out.push_str("{\"$type\":\"response-sync\",\"data\":{\"status\":");
                write_i64(out, r.status as i64);
                out.push_str(",\"statusText\":");
                write_str(out, &r.status_text);
                self.write_sync_tail(out, &r.headers, &r.body, data_d)
                    .map_err(|e| e.in_key("data"))?;
                out.push('}');
            }
            _ => {}
        }
        Ok(())
    }

    /// The kinds that hold no encoded values (no recursion through this frame).
    #[inline(never)]
    fn write_leaf(&mut self, out: &mut String, kind: &ObjectKind, d: usize) -> Res<()> {
        match kind {
            ObjectKind::Date(ms) => {
                let text = iso::to_iso(*ms).ok_or_else(|| {
                    CloneError::here("invalid Date (JavaScript: RangeError: Invalid time value)")
                })?;
                out.push_str("{\"$type\":\"date\",\"iso\":\"");
                out.push_str(&text);
                out.push_str("\"}");
            }
            ObjectKind::RegExp { source, flags } => {
                out.push_str("{\"$type\":\"regexp\",\"source\":");
                write_str(out, source);
                out.push_str(",\"flags\":");
                write_str(out, flags);
                out.push('}');
            }
            ObjectKind::ArrayBuffer(bytes) => {
                open(d).map_err(|e| e.in_key("data"))?;
                out.push_str("{\"$type\":\"arraybuffer\",\"subtype\":\"ArrayBuffer\",\"data\":");
                write_bytes(out, bytes);
                out.push('}');
            }
            ObjectKind::TypedArray { kind, values } => {
                if kind.is_bigint() {
                    return Err(CloneError::here(format!(
                        "{} cannot be encoded (JavaScript: TypeError: Do not know how to \
                         serialize a BigInt)",
                        kind.name()
                    )));
                }
                open(d).map_err(|e| e.in_key("data"))?;
                out.push_str("{\"$type\":\"arraybuffer\",\"subtype\":\"");
                out.push_str(kind.name());
                out.push_str("\",\"data\":[");
                for (i, &x) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let x = kind.coerce(x);
                    if x.is_finite() {
                        write_f64(out, x);
                    } else {
                        out.push_str("null"); // JSON.stringify writes NaN/±Infinity as null
                    }
                }
                out.push_str("]}");
            }
            ObjectKind::DataView {
                buffer,
                byte_offset,
                byte_length,
            } => {
                if byte_offset
                    .checked_add(*byte_length)
                    .is_none_or(|end| end > buffer.len())
                {
                    return Err(CloneError::here(format!(
                        "DataView range {byte_offset}+{byte_length} exceeds its {}-byte buffer",
                        buffer.len()
                    )));
                }
                open(d).map_err(|e| e.in_key("data"))?;
                out.push_str("{\"$type\":\"arraybuffer\",\"subtype\":\"DataView\",\"data\":");
                write_bytes(out, buffer);
                out.push_str(",\"byteOffset\":");
                write_i64(out, *byte_offset as i64);
                out.push_str(",\"byteLength\":");
                write_i64(out, *byte_length as i64);
                out.push('}');
            }
            ObjectKind::Url(href) => {
                out.push_str("{\"$type\":\"url\",\"href\":");
                write_str(out, href);
                out.push('}');
            }
            ObjectKind::Headers(entries) => {
                out.push_str("{\"$type\":\"headers\",\"entries\":");
                write_header_entries(out, entries, d).map_err(|e| e.in_key("entries"))?;
                out.push('}');
            }
            ObjectKind::BooleanObject(b) => {
                out.push_str("{\"$type\":\"boolean-object\",\"value\":");
                out.push_str(if *b { "true" } else { "false" });
                out.push('}');
            }
            ObjectKind::NumberObject(n) => {
                out.push_str("{\"$type\":\"number-object\",\"value\":");
                if n.is_finite() {
                    write_f64(out, *n);
                } else {
                    out.push('"');
                    out.push_str(special_name(*n));
                    out.push('"');
                }
                out.push('}');
            }
            ObjectKind::StringObject(s) => {
                out.push_str("{\"$type\":\"string-object\",\"value\":");
                write_str(out, s);
                out.push('}');
            }
            ObjectKind::BigIntObject(b) => {
                out.push_str("{\"$type\":\"bigint-object\",\"value\":\"");
                out.push_str(b.as_str());
                out.push_str("\"}");
            }
            // Containers are written by `write_special` / `write_body`.
            _ => {}
        }
        Ok(())
    }

    /// `,"headers":…,"body":…}` of a request/response: headers encoded (they may be an alias),
    /// the body embedded raw, as plain `JSON.stringify` would write it.
    fn write_sync_tail(
        &mut self,
        out: &mut String,
        headers: &Value,
        body: &Value,
        d: usize,
    ) -> Res<()> {
        out.push_str(",\"headers\":");
        match headers {
            Value::Undefined | Value::Null => {
                open(d).map_err(|e| e.in_key("headers"))?;
                out.push_str("{\"$type\":\"headers\",\"entries\":[]}");
            }
            Value::Object(o) if matches!(&*borrow(o)?, ObjectKind::Headers(_)) => {
                self.write_object(out, o, d)
                    .map_err(|e| e.in_key("headers"))?;
            }
            _ => {
                return Err(
                    CloneError::here("expected a Headers object, null or undefined")
                        .in_key("headers"),
                )
            }
        }
        // JSON.stringify drops a property whose value is undefined.
        if !body.is_undefined() {
            out.push_str(",\"body\":");
            raw::write_raw(out, body, d, &mut self.raw).map_err(|e| e.in_key("body"))?;
        }
        out.push('}');
        Ok(())
    }
}

/// `undefined`, NaN/±Infinity and bigints, which JSON has no literal for.
#[inline(never)]
fn write_tagged_primitive(out: &mut String, v: &Value, depth: usize) -> Res<()> {
    open(depth)?;
    match v {
        Value::Number(n) => {
            out.push_str("{\"$type\":\"number-special\",\"value\":\"");
            out.push_str(special_name(*n));
            out.push_str("\"}");
        }
        Value::BigInt(b) => {
            out.push_str("{\"$type\":\"bigint\",\"value\":\"");
            out.push_str(b.as_str());
            out.push_str("\"}");
        }
        _ => out.push_str("{\"$type\":\"undefined\"}"),
    }
    Ok(())
}

fn special_name(n: f64) -> &'static str {
    if n.is_nan() {
        "NaN"
    } else if n > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

fn write_bytes(out: &mut String, bytes: &[u8]) {
    out.push('[');
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_i64(out, b as i64);
    }
    out.push(']');
}

/// `[["name","value"],…]`, opened inside `depth` containers.
fn write_header_entries(out: &mut String, entries: &[(String, String)], depth: usize) -> Res<()> {
    let d = open(depth)?;
    if !entries.is_empty() {
        open(d)?;
    }
    out.push('[');
    for (i, (name, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        write_str(out, name);
        out.push(',');
        write_str(out, value);
        out.push(']');
    }
    out.push(']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::value::{Object, ObjectKind, Value};
    use super::stringify;

    fn list(items: Vec<Value>) -> Value {
        Value::Object(Object::new(ObjectKind::Array(items)))
    }

    #[test]
    fn an_object_with_a_handle_outside_the_value_is_written_inline_in_one_pass() {
        let inner = list(vec![Value::from("a")]);
        let outside = inner.clone(); // a second handle, not part of the value
        let mut enc = super::Encoder {
            optimistic: true,
            ..super::Encoder::default()
        };
        let mut out = String::new();
        enc.write(&mut out, &list(vec![inner]), 1).unwrap();
        assert!(!enc.restart);
        assert_eq!(out, r#"[["a"]]"#);
        drop(outside);
    }

    #[test]
    fn an_object_reached_twice_is_still_an_alias() {
        let inner = list(vec![Value::from("a")]);
        let outside = inner.clone();
        let text = stringify(&list(vec![inner.clone(), inner])).unwrap();
        assert_eq!(
            text,
            r#"{"json":[{"$ref":0},{"$ref":0}],"meta":{"aliases":{"0":["a"]}}}"#
        );
        drop(outside);
    }

    #[test]
    fn a_cycle_through_an_object_with_an_outside_handle_is_an_alias() {
        let o = Object::new(ObjectKind::Array(Vec::new()));
        let outside = o.clone();
        if let ObjectKind::Array(items) = &mut *o.borrow_mut() {
            items.push(Value::Object(o.clone()));
        };
        let text = stringify(&Value::Object(o.clone())).unwrap();
        assert_eq!(
            text,
            r#"{"json":{"$ref":0},"meta":{"aliases":{"0":[{"$ref":0}]}}}"#
        );
        // Break the cycle so the test does not leak.
        if let ObjectKind::Array(items) = &mut *outside.borrow_mut() {
            items.clear();
        };
    }
}
