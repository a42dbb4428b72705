//! The decoder: W4 wire text → `Value`, read in one pass by a hand-written JSON reader.
//!
//! `meta.aliases` comes after `json` in the text, so a `{"$ref":n}` met first allocates an empty
//! *slot* object for alias `n` and hands out its handle; when the alias body is read later it is
//! built straight into that slot. Every position therefore shares one object, and cycles close
//! by themselves. At the end, a slot that was referenced but never defined is an error.
//!
//! Two modes: `Encoded` interprets `$type`, `$ref` and `$$`-escaped keys; `Raw` is plain JSON,
//! used for the raw bodies of `RequestSync` / `ResponseSync`. A `$type` tag counts only as the
//! first key of an object (where every encoder puts it); `{"$ref":n}` only as the single key.

use std::collections::HashMap;

use super::depth::open;
use super::error::{CloneError, Res};
use super::key::Key;
use super::text::find_special;
use super::value::{is_array_index, Object, ObjectKind, Props, Value};

/// How to interpret objects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Structured-clone encoded: `$type`, `$ref`, `$$` keys.
    Encoded,
    /// Plain JSON.
    Raw,
}

/// What follows a `$type` / `$ref` first key.
enum First {
    /// The whole object was read: a tagged value or a reference.
    Done(Value),
    /// A plain object after all: the alias target back, and the next key (`None` at `}`).
    Plain(Option<Object>, Option<Key>),
}

/// One alias slot: the shared handle, whether its body was read, and where it was first used.
struct Slot {
    obj: Object,
    filled: bool,
    first_ref_at: usize,
}

pub(crate) struct Reader<'a> {
    pub(crate) src: &'a str,
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
    /// Alias slots by id (a map: ids come from the input, and need not be small or dense).
    slots: HashMap<usize, Slot>,
    /// (request/response object, alias id of its headers): the original copies aliased headers
    /// into the new Request, so identity with the alias is not kept; done once slots are full.
    pub(crate) header_fixups: Vec<(Object, usize)>,
    /// The alias slot the next container must be built into (taken on entry to a container).
    target: Option<Object>,
    /// Whether the last container read was a `$ref`, and to which alias.
    pub(crate) last_ref: Option<usize>,
    /// The alias whose body is being read, if any.
    in_alias: Option<usize>,
    /// (alias, alias it refers to) for every `$ref` inside an alias body: the decoded graph
    /// has a cycle exactly when these edges do (only a `$ref` can close one).
    alias_edges: Vec<(usize, usize)>,
    /// Entries of the objects being read, innermost last: each object pushes its own and
    /// moves them out in one exactly sized allocation when it closes (no regrowth per object).
    entries: Vec<(Key, Value)>,
    /// The same for array items.
    items: Vec<Value>,
}

/// A decoding error on the reader's hot paths, boxed: `Result<Value, Fail>` is then as
/// small as a `Value` and laid out like one (`Err` takes a spare tag value), so an `Ok` value
/// moves out in one straight copy. With the 48-byte `CloneError` inline, the compiler copied
/// each value out of its `Result` byte-shifted, and those copies stalled on store forwarding
/// (the hottest instructions of the reader in `perf annotate`).
pub(crate) struct Fail(Box<CloneError>);

/// Result type of the reader's hot paths.
pub(crate) type Hot<T> = Result<T, Fail>;

impl From<CloneError> for Fail {
    #[cold]
    fn from(e: CloneError) -> Fail {
        Fail(Box::new(e))
    }
}

impl Fail {
    /// The error itself, for the rest of the codec.
    #[cold]
    pub(crate) fn into_error(self) -> CloneError {
        *self.0
    }

    #[cold]
    fn in_key(self, key: &str) -> Fail {
        Fail(Box::new(self.0.in_key(key)))
    }

    #[cold]
    fn in_index(self, i: usize) -> Fail {
        Fail(Box::new(self.0.in_index(i)))
    }
}

/// Decodes wire text.
pub(crate) fn parse(text: &str) -> Res<Value> {
    let mut r = Reader::new(text);
    let root = r.envelope().and_then(|root| r.finish().map(|()| root));
    // A cyclic graph is never freed by reference counting: hand it to the cycle collector
    // (whether or not decoding succeeded, the partial graph may hold cycles too).
    if !r.alias_edges.is_empty() && has_cycle(&mut r.alias_edges) {
        super::cycles::register(r.slots.values().map(|s| &s.obj));
    }
    // Errors about the envelope itself have no key to name: `$` is the document.
    root.map_err(|e| if e.path.is_empty() { e.in_root("$") } else { e })
}

/// Reads plain JSON text (no structured-clone interpretation) into a `Value` tree.
pub(crate) fn parse_raw(text: &str) -> Res<Value> {
    let mut r = Reader::new(text);
    let v = r.read_value(0, Mode::Raw).map_err(|e| e.in_root("$"))?;
    r.skip_ws();
    if r.pos != r.b.len() {
        return Err(r
            .syntax("unexpected characters after the document")
            .in_root("$"));
    }
    Ok(v)
}

/// Whether the directed graph given by `edges` has a cycle (a self-loop included). Sorts
/// `edges`; iterative depth-first search, linear in the edges.
fn has_cycle(edges: &mut [(usize, usize)]) -> bool {
    edges.sort_unstable();
    let out = |n: usize| {
        let start = edges.partition_point(|e| e.0 < n);
        let end = edges.partition_point(|e| e.0 <= n);
        start..end
    };
    // 1: on the current path, 2: done.
    let mut state: HashMap<usize, u8> = HashMap::new();
    let mut stack: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for &(start, _) in edges.iter() {
        if state.contains_key(&start) {
            continue;
        }
        state.insert(start, 1);
        stack.push((start, out(start)));
        while let Some((node, range)) = stack.last_mut() {
            match range.next() {
                Some(e) => {
                    let to = edges[e].1;
                    match state.get(&to) {
                        Some(1) => return true,
                        Some(_) => {}
                        None => {
                            state.insert(to, 1);
                            let r = out(to);
                            stack.push((to, r));
                        }
                    }
                }
                None => {
                    state.insert(*node, 2);
                    stack.pop();
                }
            }
        }
    }
    false
}

/// Moves `stack[base..]` out into a vector of exactly that length, leaving `stack[..base]`:
/// one allocation and one `memcpy` (`drain(..).collect()` moved the entries one by one, and
/// `split_off(0)` would hand out the whole stack's capacity).
#[inline]
fn take_tail<T>(stack: &mut Vec<T>, base: usize) -> Vec<T> {
    let n = stack.len() - base;
    let mut out = Vec::with_capacity(n);
    // SAFETY: `out` has room for `n` elements; `stack[base..base + n]` are initialized and do
    // not overlap `out`. Their ownership moves to `out`: `stack`'s length is cut to `base`
    // first, so they are never dropped twice (and a panic cannot happen in between).
    unsafe {
        stack.set_len(base);
        std::ptr::copy_nonoverlapping(stack.as_ptr().add(base), out.as_mut_ptr(), n);
        out.set_len(n);
    }
    out
}

/// `stack.push((key, value))`, writing the two halves straight into the vector's memory: a
/// plain `push` built the pair in a stack temporary first, and copying it in 16-byte pieces
/// over the key's and value's own narrower stores stalled on store forwarding (the hottest
/// instructions of the reader in `perf annotate`).
#[inline(always)]
fn push_pair(stack: &mut Vec<(Key, Value)>, key: Key, value: Value) {
    stack.reserve(1);
    let len = stack.len();
    let slot = stack.spare_capacity_mut()[0].as_mut_ptr();
    // SAFETY: `reserve(1)` made room, so `slot` points at the uninitialized element just past
    // the end; both fields are written before the length covers them, and nothing can panic
    // in between (so the pair is never dropped half-written nor leaked twice).
    unsafe {
        std::ptr::addr_of_mut!((*slot).0).write(key);
        std::ptr::addr_of_mut!((*slot).1).write(value);
        stack.set_len(len + 1);
    }
}

/// Texts shorter than this start the reader's stacks small (see [`Reader::new`]).
const SMALL: usize = 4096;

impl<'a> Reader<'a> {
    fn new(src: &'a str) -> Reader<'a> {
        Reader {
            src,
            b: src.as_bytes(),
            pos: 0,
            slots: HashMap::new(),
            header_fixups: Vec::new(),
            target: None,
            last_ref: None,
            in_alias: None,
            alias_edges: Vec::new(),
            // Room for a few levels of typical objects and arrays without regrowing. A small
            // message (most of them: calls, results, schedules) starts smaller: a 32-entry
            // stack (1.8 KB) is past the allocator's fast bins, and cost more than the parse.
            entries: Vec::with_capacity(if src.len() < SMALL { 8 } else { 32 }),
            items: Vec::with_capacity(if src.len() < SMALL { 8 } else { 32 }),
        }
    }

    #[cfg(test)]
    pub(crate) fn new_for_tests(src: &'a str) -> Reader<'a> {
        Reader::new(src)
    }

    /// `{"json":…,"meta":{…}}`, keys in any order; unknown top-level keys are ignored.
    fn envelope(&mut self) -> Res<Value> {
        self.skip_ws();
        if self.peek() != Some(b'{') {
            return Err(self.syntax("expected the `{\"json\":…,\"meta\":…}` envelope"));
        }
        let mut root = None;
        self.object_entries(0, |r, key, d| {
            match key {
                "json" => root = Some(r.read_value(d, Mode::Encoded)?),
                "meta" => r.meta(d)?,
                _ => {
                    r.read_value(d, Mode::Raw)?;
                }
            }
            Ok(())
        })
        .map_err(|e| {
            // Top-level keys are roots of their own paths: `json.a`, not `.json.a`.
            if let Some(rest) = e.path.strip_prefix('.') {
                CloneError {
                    path: rest.to_string(),
                    ..e
                }
            } else {
                e
            }
        })?;
        self.skip_ws();
        if self.pos != self.b.len() {
            return Err(self.syntax("unexpected characters after the document"));
        }
        root.ok_or_else(|| CloneError::here("the envelope has no `json` key"))
    }

    /// `{"aliases":{"0":…,…}}`; other keys are ignored.
    fn meta(&mut self, depth: usize) -> Res<()> {
        self.expect_container(b'{', "an object")?;
        self.object_entries(depth, |r, key, d| {
            if key != "aliases" {
                r.read_value(d, Mode::Raw)?;
                return Ok(());
            }
            r.expect_container(b'{', "an object")?;
            r.object_entries(d, |r, id_text, d| {
                let id = match id_text.parse::<usize>() {
                    Ok(id) if is_array_index(id_text) => id,
                    _ => return Err(CloneError::here("alias ids must be small integers")),
                };
                let slot = r.slot(id, r.pos);
                if slot.filled {
                    return Err(CloneError::here(format!("alias {id} is defined twice")));
                }
                slot.filled = true;
                let obj = slot.obj.clone();
                r.skip_ws();
                if !matches!(r.peek(), Some(b'{' | b'[')) {
                    return Err(r.syntax("an alias body must be an object or an array"));
                }
                r.target = Some(obj);
                r.in_alias = Some(id);
                r.read_value(d, Mode::Encoded)?;
                r.in_alias = None;
                if r.target.take().is_some() {
                    return Err(CloneError::here("an alias body must be an object"));
                }
                Ok(())
            })
        })
    }

    /// Checks every referenced alias was defined, then applies the header copies.
    fn finish(&mut self) -> Res<()> {
        let missing = self
            .slots
            .iter()
            .filter(|(_, s)| !s.filled)
            .min_by_key(|(id, _)| **id);
        if let Some((id, slot)) = missing {
            return Err(CloneError::here(format!(
                "`$ref` to missing alias {id} (first used at byte {})",
                slot.first_ref_at
            ))
            .in_root("meta.aliases"));
        }
        for (owner, id) in std::mem::take(&mut self.header_fixups) {
            let headers = self.slots.get(&id).map(|s| s.obj.clone());
            let copy = match headers.as_ref().and_then(|h| h.try_borrow()).as_deref() {
                Some(ObjectKind::Headers(entries)) => ObjectKind::Headers(entries.clone()),
                _ => {
                    return Err(CloneError::here(format!(
                        "request/response headers: alias {id} is not a Headers object"
                    ))
                    .in_root("meta.aliases"))
                }
            };
            let copy = Value::Object(Object::new(copy));
            match &mut *owner.borrow_mut() {
                ObjectKind::RequestSync(r) => r.headers = copy,
                ObjectKind::ResponseSync(r) => r.headers = copy,
                _ => {}
            }
        }
        Ok(())
    }

    /// The slot for alias `id`, created empty if new.
    fn slot(&mut self, id: usize, at: usize) -> &mut Slot {
        self.slots.entry(id).or_insert_with(|| Slot {
            obj: Object::new(ObjectKind::Plain(Props::new())),
            filled: false,
            first_ref_at: at,
        })
    }

    /// Takes the pending alias slot: the container being entered is that alias's body.
    pub(crate) fn take_target(&mut self) -> Option<Object> {
        self.target.take()
    }

    /// Builds `kind` into the alias slot if there is one, else into a new object.
    pub(crate) fn alloc(target: Option<Object>, kind: ObjectKind) -> Object {
        match target {
            Some(t) => {
                *t.borrow_mut() = kind;
                t
            }
            None => Object::new(kind),
        }
    }

    // ---- values -------------------------------------------------------------------------

    /// Reads one value sitting inside `depth` open containers.
    pub(crate) fn read_value(&mut self, depth: usize, mode: Mode) -> Res<Value> {
        self.skip_ws();
        self.value_here(depth, mode).map_err(Fail::into_error)
    }

    /// Reads the value that starts at the cursor (no whitespace before it). Inlined into the
    /// container loops: strings, numbers and literals are read without a call per value.
    // Not in debug builds: their frames would add up past the depth limit's stack budget.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn value_here(&mut self, depth: usize, mode: Mode) -> Hot<Value> {
        match self.peek() {
            Some(b'"') => Ok(Value::String(self.string_hot()?)),
            Some(b'{') => self.read_object(depth, mode),
            Some(b'[') => self.read_array(depth, mode),
            Some(b'-' | b'0'..=b'9') => Ok(Value::Number(self.number_hot()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.syntax("expected a JSON value").into()),
            None => Err(self.syntax("unexpected end of input").into()),
        }
    }

    // Not in debug builds: their frames would add up past the depth limit's stack budget.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn literal(&mut self, word: &str, v: Value) -> Hot<Value> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.syntax("expected a JSON value").into())
        }
    }

    #[inline(never)]
    fn read_array(&mut self, depth: usize, mode: Mode) -> Hot<Value> {
        let d = open(depth)?;
        let target = self.take_target();
        self.pos += 1;
        let base = self.items.len();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                // (An inner container that failed leaves its items on the stack: count here.)
                let i = self.items.len() - base;
                let v = match self.value_here(d, mode) {
                    Ok(v) => v,
                    Err(e) => return Err(e.in_index(i)),
                };
                self.items.push(v);
                match self.next_byte() {
                    Some(b',') => self.skip_ws(),
                    Some(b']') => break,
                    _ => {
                        return Err(
                            Fail::from(self.syntax_before("expected ',' or ']'")).in_index(i)
                        )
                    }
                }
            }
        }
        self.last_ref = None;
        let items = take_tail(&mut self.items, base);
        Ok(Value::Object(Self::alloc(target, ObjectKind::Array(items))))
    }

    #[inline(never)]
    fn read_object(&mut self, depth: usize, mode: Mode) -> Hot<Value> {
        let d = open(depth)?;
        let mut target = self.take_target();
        let start = self.pos;
        self.pos += 1;
        self.skip_ws();
        let base = self.entries.len();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(self.plain(target, base, false));
        }
        // The key as a span of the text while it has no escapes (nearly always: the key is
        // then made once, where it is stored), else decoded into `escaped`.
        let mut escaped: Option<Key> = None;
        let (mut ks, mut ke) = self.key_span(&mut escaped)?;
        let first = match &escaped {
            None => &self.b[ks..ke],
            Some(k) => k.as_str().as_bytes(),
        };
        if mode == Mode::Encoded && matches!(first, b"$type" | b"$ref") {
            let key = escaped
                .take()
                .unwrap_or_else(|| Key::from_text_at(self.src, ks, ke));
            match self.special_first_key(key, d, target, start)? {
                First::Done(v) => return Ok(v),
                First::Plain(t, None) => return Ok(self.plain(t, base, false)),
                First::Plain(t, Some(k)) => {
                    target = t;
                    escaped = Some(k);
                }
            }
        }
        let mut has_index_key = false;
        loop {
            self.skip_ws();
            let v = match self.value_here(d, mode) {
                Ok(v) => v,
                Err(e) => {
                    let key = match &escaped {
                        Some(k) => k.as_str(),
                        None => &self.src[ks..ke],
                    };
                    return Err(e.in_key(key));
                }
            };
            let key = match escaped.take() {
                None => {
                    if mode == Mode::Encoded && self.b[ks..ke].starts_with(b"$$") {
                        ks += 1;
                    }
                    has_index_key |= self.b.get(ks).is_some_and(u8::is_ascii_digit)
                        && is_array_index(&self.src[ks..ke]);
                    Key::from_text_at(self.src, ks, ke)
                }
                Some(mut key) => {
                    if mode == Mode::Encoded && key.as_str().starts_with("$$") {
                        key = Key::new(&key.as_str()[1..]);
                    }
                    has_index_key |= is_array_index(key.as_str());
                    key
                }
            };
            push_pair(&mut self.entries, key, v);
            match self.next_byte() {
                Some(b',') => (ks, ke) = self.key_span(&mut escaped)?,
                Some(b'}') => break,
                _ => return Err(self.syntax_before("expected ',' or '}'").into()),
            }
        }
        Ok(self.plain(target, base, has_index_key))
    }

    /// `"key" :` (leading whitespace allowed): the span of the key's text when it has no
    /// escapes; otherwise the decoded key goes to `escaped` and the span is empty.
    // Not in debug builds: their frames would add up past the depth limit's stack budget.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn key_span(&mut self, escaped: &mut Option<Key>) -> Hot<(usize, usize)> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key").into());
        }
        let start = self.pos + 1;
        let end = find_special(self.b, start);
        let span = if self.b.get(end) == Some(&b'"') {
            self.pos = end + 1;
            (start, end)
        } else {
            *escaped = Some(self.read_string().map(Key::from)?);
            (start, start)
        };
        if self.peek() == Some(b':') {
            self.pos += 1;
        } else {
            self.skip_ws();
            if self.bump() != Some(b':') {
                return Err(self.syntax_before("expected ':'").into());
            }
        }
        Ok(span)
    }

    /// The next byte that is not whitespace, consumed.
    #[inline(always)]
    fn next_byte(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bump()
    }

    /// An object whose first key is `$type` or `$ref`: a tagged value, an alias reference, or
    /// (unknown tag, extra keys) the start of a plain object. Kept out of `read_object` so the
    /// common recursion runs through small stack frames.
    #[inline(never)]
    fn special_first_key(
        &mut self,
        key: Key,
        d: usize,
        target: Option<Object>,
        start: usize,
    ) -> Res<First> {
        if key.as_str() == "$type" {
            self.skip_ws();
            if self.peek() == Some(b'"') {
                let tag = self.read_string()?;
                if let Some(v) = self.read_typed(&tag, d, target.clone(), start)? {
                    self.last_ref = None;
                    return Ok(First::Done(v));
                }
                // Unknown tag: a plain object that keeps its `$type` key. A `function` marker
                // decodes to a plain object without it (`{name}`), as in JavaScript.
                if tag != "function" {
                    self.entries.push((key, Value::String(tag)));
                }
            } else {
                let v = self
                    .read_value(d, Mode::Encoded)
                    .map_err(|e| e.in_key("$type"))?;
                self.entries.push((key, v));
            }
        } else {
            let v = self
                .read_value(d, Mode::Encoded)
                .map_err(|e| e.in_key("$ref"))?;
            self.skip_ws();
            if self.peek() == Some(b'}') {
                if let Value::Number(n) = v {
                    self.pos += 1;
                    return self.reference(n, target, start).map(First::Done);
                }
            }
            self.entries.push((key, v));
        }
        Ok(First::Plain(target, self.next_key()?))
    }

    /// The plain object whose entries are those pushed since `base`.
    fn plain(&mut self, target: Option<Object>, base: usize, idx: bool) -> Value {
        self.last_ref = None;
        let entries = take_tail(&mut self.entries, base);
        let props = Props::from_wire(entries, idx);
        Value::Object(Self::alloc(target, ObjectKind::Plain(props)))
    }

    /// Resolves `{"$ref":n}` to the alias slot's shared handle.
    fn reference(&mut self, n: f64, target: Option<Object>, at: usize) -> Res<Value> {
        if target.is_some() {
            return Err(CloneError::here("an alias body cannot itself be a `$ref`"));
        }
        if !(n >= 0.0 && n.fract() == 0.0 && n < u32::MAX as f64) {
            return Err(CloneError::here(format!(
                "`$ref` {n} names no possible alias (byte {at})"
            )));
        }
        let id = n as usize;
        let obj = self.slot(id, at).obj.clone();
        self.last_ref = Some(id);
        if let Some(from) = self.in_alias {
            self.alias_edges.push((from, id));
        }
        Ok(Value::Object(obj))
    }

    /// After a value inside an object: the next key, or `None` at the closing brace.
    fn next_key(&mut self) -> Res<Option<Key>> {
        self.skip_ws();
        match self.bump() {
            Some(b',') => Ok(Some(self.read_key()?)),
            Some(b'}') => Ok(None),
            _ => Err(self.syntax_before("expected ',' or '}'")),
        }
    }

    /// `"key" :` (leading whitespace allowed).
    fn read_key(&mut self) -> Res<Key> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        let key = self.read_key_text()?;
        self.skip_ws();
        if self.bump() != Some(b':') {
            return Err(self.syntax_before("expected ':'"));
        }
        Ok(key)
    }

    /// Calls `f(reader, key, depth)` for each entry of the object at the cursor; `f` must
    /// consume the value. Errors get the key as a path segment.
    pub(crate) fn object_entries(
        &mut self,
        depth: usize,
        mut f: impl FnMut(&mut Self, &str, usize) -> Res<()>,
    ) -> Res<()> {
        let d = open(depth)?;
        self.pos += 1; // the '{' checked by the caller
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        let mut key = self.read_key()?;
        loop {
            f(self, key.as_str(), d).map_err(|e| e.in_key(key.as_str()))?;
            match self.next_key()? {
                Some(k) => key = k,
                None => return Ok(()),
            }
        }
    }

    /// Calls `f(reader, index, depth)` for each element of the array at the cursor.
    pub(crate) fn array_items(
        &mut self,
        depth: usize,
        mut f: impl FnMut(&mut Self, usize, usize) -> Res<()>,
    ) -> Res<()> {
        self.expect_container(b'[', "an array")?;
        let d = open(depth)?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut i = 0;
        loop {
            f(self, i, d).map_err(|e| e.in_index(i))?;
            self.skip_ws();
            match self.bump() {
                Some(b',') => i += 1,
                Some(b']') => return Ok(()),
                _ => return Err(self.syntax_before("expected ',' or ']'").in_index(i)),
            }
        }
    }

    /// Checks (without consuming) that a `{` or `[` comes next.
    pub(crate) fn expect_container(&mut self, open: u8, what: &str) -> Res<()> {
        self.skip_ws();
        if self.peek() == Some(open) {
            Ok(())
        } else {
            let found = match self.peek() {
                Some(b'"') => "a string",
                Some(b'{') => "an object",
                Some(b'[') => "an array",
                Some(b't' | b'f') => "a boolean",
                Some(b'n') => "null",
                Some(b'-' | b'0'..=b'9') => "a number",
                _ => "invalid JSON",
            };
            Err(CloneError::here(format!(
                "expected {what}, found {found} (byte {})",
                self.pos
            )))
        }
    }

    // ---- cursor -------------------------------------------------------------------------

    /// Skips whitespace. Inlined: the common case (none) is one comparison.
    #[inline(always)]
    pub(crate) fn skip_ws(&mut self) {
        if self.b.get(self.pos).is_some_and(|&c| c > b' ') {
            return;
        }
        self.skip_ws_run();
    }

    #[inline(never)]
    fn skip_ws_run(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(crate) fn bump(&mut self) -> Option<u8> {
        let c = self.peek();
        self.pos += c.is_some() as usize;
        c
    }

    /// A syntax error at the cursor.
    pub(crate) fn syntax(&self, what: &str) -> CloneError {
        CloneError::here(format!("malformed JSON: {what} (byte {})", self.pos))
    }

    /// A syntax error about the byte just consumed.
    fn syntax_before(&self, what: &str) -> CloneError {
        CloneError::here(format!(
            "malformed JSON: {what} (byte {})",
            self.pos.saturating_sub(1)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, stringify};

    fn wire(json: &str) -> String {
        format!(r#"{{"json":{json},"meta":{{}}}}"#)
    }

    /// The reader keeps keys without escapes as spans of the text and decodes the others:
    /// both spellings of a key mean the same (tags, `$$` escapes, index keys, duplicates,
    /// error paths), with or without whitespace around the punctuation.
    #[test]
    fn escaped_and_plain_keys_read_the_same() {
        let pairs = [
            (
                r#"{"\u0024type":"date","iso":"1970-01-01T00:00:00.000Z"}"#,
                r#"{"$type":"date","iso":"1970-01-01T00:00:00.000Z"}"#,
            ),
            (r#"{"\u0024\u0024x":1,"$$y":2}"#, r#"{"$$x":1,"$$y":2}"#),
            (r#"{"\u0031":1,"b":2,"0":3}"#, r#"{"1":1,"b":2,"0":3}"#),
            (r#"{"a":1,"\u0061":2,"b":3}"#, r#"{"a":1,"a":2,"b":3}"#),
            (r#"{"$ref":0,"\u0078":1}"#, r#"{"$ref":0,"x":1}"#),
            (
                r#"{"$type":"nope","\u0078":1}"#,
                r#"{"$type":"nope","x":1}"#,
            ),
            (
                " { \"a\" : 1 ,\n\"b\"\t:\r[ 1 , { } , [ ] ] , \"c\" : { \"d\" : null } } ",
                r#"{"a":1,"b":[1,{},[]],"c":{"d":null}}"#,
            ),
        ];
        for (escaped, plain) in pairs {
            let a = parse(&wire(escaped)).unwrap_or_else(|e| panic!("{escaped}: {e}"));
            let b = parse(&wire(plain)).unwrap_or_else(|e| panic!("{plain}: {e}"));
            assert_eq!(stringify(&a).unwrap(), stringify(&b).unwrap(), "{escaped}");
        }
        let v = parse(&wire(r#"{"$$x":1,"\u0024\u0024y":2}"#)).unwrap();
        assert_eq!(
            stringify(&v).unwrap(),
            wire(r#"{"$$x":1,"$$y":2}"#),
            "one `$` is taken off"
        );
        assert_eq!(v.get("$x").and_then(|n| n.as_f64()), Some(1.0));
        for (text, path) in [
            (r#"{"a\u0062":tru}"#, "json.ab"),
            (r#"{"ab":tru}"#, "json.ab"),
            (r#"{"a":[1,{"b\u00e9":[2,x]}]}"#, r#"json.a[1]["bé"][1]"#),
            (r#"{"a":{"b":1 "c":2}}"#, "json.a"),
            (r#"{"a":[1 2]}"#, "json.a[0]"),
            (r#"{"a":{"b" 1}}"#, "json.a"),
            (r#"{"a":{1:2}}"#, "json.a"),
        ] {
            let e = parse(&wire(text)).unwrap_err();
            assert_eq!(e.path, path, "{text}: {e}");
        }
    }
}
