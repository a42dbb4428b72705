//! The serde bridge, decoding side: [`Value`] → any `DeserializeOwned` type.
//!
//! Accepts what the encoding side writes, plus the natural JavaScript forms: `undefined` and
//! `null` are unit/`None`; numbers feed integer fields when integral and in range; bigints feed
//! integer fields (and `i128`/`u128`); plain objects and `Map`s feed structs and maps; arrays and
//! `Set`s feed sequences; a `Date` reads as its ISO string, a `URL` as its href, boxed
//! primitives as their primitive, an `ArrayBuffer` as bytes and a typed array as a sequence of
//! numbers.
//!
//! The output is a tree, so an object reached twice is deserialized twice. The walk is budgeted
//! (see `expand.rs`): a value whose shared references would expand beyond
//! `EXPANSION_BASE + EXPANSION_FACTOR x its size` is an error rather than exponential work, and
//! a cycle is an error naming where it closes. Recursion is also bounded by [`MAX_DEPTH`].

use std::cell::RefCell;

use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::depth::open;
use super::error::{CloneError, Res};
use super::expand::{Entered, Refusal, Walk};
use super::iso;
use super::value::{Object, ObjectKind, Value};

/// Deserializes from a borrowed [`Value`].
pub(crate) struct ValueDe<'a> {
    pub(crate) v: &'a Value,
    pub(crate) depth: usize,
    /// The budgeted walk shared by the whole deserialization.
    pub(crate) walk: &'a RefCell<Walk>,
}

impl<'a> ValueDe<'a> {
    /// A deserializer one level down, at `v`.
    fn child(&self, v: &'a Value, depth: usize) -> ValueDe<'a> {
        ValueDe {
            v,
            depth,
            walk: self.walk,
        }
    }

    /// Enters object `o` (depth, cycle and budget checks); returns the child depth.
    fn enter(&self, o: &Object, kind: &ObjectKind) -> Res<(usize, Entered)> {
        // The codec's own limit (like serde_json's 128): derived `Deserialize` code uses
        // large stack frames, so it must not be raised for the serde bridge alone.
        let depth = open(self.depth)?;
        let mut walk = self.walk.borrow_mut();
        match walk.enter(o, kind) {
            Ok(entered) => Ok((depth, entered)),
            Err(r) => Err(refusal(&walk, r)),
        }
    }

    fn leave(&self, entered: Entered) {
        self.walk.borrow_mut().leave(entered);
    }

    /// Charges a primitive.
    fn primitive(&self) -> Res<()> {
        let mut walk = self.walk.borrow_mut();
        walk.primitive(self.v).map_err(|r| refusal(&walk, r))
    }
}

fn refusal(walk: &Walk, r: Refusal) -> CloneError {
    CloneError::here(match r {
        Refusal::Cycle => "cycle: this object contains itself, and a cyclic value cannot be \
                           deserialized into a Rust type"
            .to_string(),
        Refusal::Budget => walk.budget_message(),
    })
}

fn kind_name(k: &ObjectKind) -> &'static str {
    match k {
        ObjectKind::RegExp { .. } => "a RegExp",
        ObjectKind::Error(_) => "an Error",
        ObjectKind::DataView { .. } => "a DataView",
        ObjectKind::Headers(_) => "a Headers object",
        ObjectKind::RequestSync(_) => "a RequestSync",
        ObjectKind::ResponseSync(_) => "a ResponseSync",
        _ => "this object",
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: f64, visitor: V) -> Res<V::Value> {
    if n.fract() == 0.0
        && n.abs() < 9_223_372_036_854_775_808.0
        && !(n == 0.0 && n.is_sign_negative())
    {
        if n >= 0.0 {
            visitor.visit_u64(n as u64)
        } else {
            visitor.visit_i64(n as i64)
        }
    } else {
        visitor.visit_f64(n)
    }
}

impl<'de> de::Deserializer<'de> for ValueDe<'_> {
    type Error = CloneError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Res<V::Value> {
        if !matches!(self.v, Value::Object(_)) {
            self.primitive()?;
        }
        let o = match self.v {
            Value::Undefined | Value::Null => return visitor.visit_unit(),
            Value::Bool(b) => return visitor.visit_bool(*b),
            Value::Number(n) => return visit_number(*n, visitor),
            Value::BigInt(b) => {
                let t = b.as_str();
                return if let Ok(n) = t.parse::<u64>() {
                    visitor.visit_u64(n)
                } else if let Ok(n) = t.parse::<i64>() {
                    visitor.visit_i64(n)
                } else if let Ok(n) = t.parse::<i128>() {
                    visitor.visit_i128(n)
                } else if let Ok(n) = t.parse::<u128>() {
                    visitor.visit_u128(n)
                } else {
                    visitor.visit_str(t)
                };
            }
            Value::String(s) => return visitor.visit_str(s),
            Value::Object(o) => o,
        };
        let kind = o
            .try_borrow()
            .ok_or_else(|| CloneError::here("object is mutably borrowed"))?;
        let (depth, entered) = self.enter(o, &kind)?;
        let walk = self.walk;
        let result = match &*kind {
            ObjectKind::Array(items) | ObjectKind::Set(items) => visitor.visit_seq(SeqDe {
                iter: items.iter().enumerate(),
                depth,
                walk,
            }),
            ObjectKind::Plain(props) => visitor.visit_map(PropsDe {
                iter: props.iter(),
                value: None,
                depth,
                walk,
            }),
            ObjectKind::Map(entries) => visitor.visit_map(EntriesDe {
                iter: entries.iter().enumerate(),
                value: None,
                depth,
                walk,
            }),
            ObjectKind::Date(ms) => match iso::to_iso(*ms) {
                Some(text) => visitor.visit_string(text),
                None => Err(CloneError::here("invalid Date")),
            },
            ObjectKind::Url(href) => visitor.visit_str(href),
            ObjectKind::BooleanObject(b) => visitor.visit_bool(*b),
            ObjectKind::NumberObject(n) => visit_number(*n, visitor),
            ObjectKind::StringObject(s) => visitor.visit_str(s),
            ObjectKind::BigIntObject(b) => visitor.visit_str(b.as_str()),
            ObjectKind::ArrayBuffer(bytes) => visitor.visit_bytes(bytes),
            ObjectKind::TypedArray { values, .. } => {
                let seq = de::value::SeqDeserializer::<_, CloneError>::new(values.iter().copied());
                visitor.visit_seq(seq)
            }
            other => Err(CloneError::here(format!(
                "cannot deserialize {} into a Rust type",
                kind_name(other)
            ))),
        };
        self.leave(entered);
        result
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Res<V::Value> {
        match self.v {
            Value::Undefined | Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Res<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Res<V::Value> {
        match self.v {
            Value::String(s) => {
                self.primitive()?;
                visitor.visit_enum(s.as_str().into_deserializer())
            }
            Value::Object(o) => {
                let kind = o
                    .try_borrow()
                    .ok_or_else(|| CloneError::here("object is mutably borrowed"))?;
                let (depth, entered) = self.enter(o, &kind)?;
                let result = match &*kind {
                    ObjectKind::Plain(p) if p.len() == 1 => {
                        let (variant, value) = p
                            .iter()
                            .next()
                            .ok_or_else(|| CloneError::here("expected an enum variant"))?;
                        visitor
                            .visit_enum(EnumDe {
                                variant,
                                value: self.child(value, depth),
                            })
                            .map_err(|e| e.in_key(variant))
                    }
                    _ => Err(CloneError::here(
                        "expected an enum: a variant name or an object with exactly one key",
                    )),
                };
                self.leave(entered);
                result
            }
            _ => Err(CloneError::here(
                "expected an enum: a variant name or an object with exactly one key",
            )),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

struct SeqDe<'a> {
    iter: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    depth: usize,
    walk: &'a RefCell<Walk>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = CloneError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Res<Option<T::Value>> {
        match self.iter.next() {
            Some((i, v)) => seed
                .deserialize(ValueDe {
                    v,
                    depth: self.depth,
                    walk: self.walk,
                })
                .map(Some)
                .map_err(|e| e.in_index(i)),
            None => Ok(None),
        }
    }
}

struct PropsDe<'a, I: Iterator<Item = (&'a str, &'a Value)>> {
    iter: I,
    value: Option<(&'a str, &'a Value)>,
    depth: usize,
    walk: &'a RefCell<Walk>,
}

impl<'a, 'de, I: Iterator<Item = (&'a str, &'a Value)>> de::MapAccess<'de> for PropsDe<'a, I> {
    type Error = CloneError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Res<Option<K::Value>> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some((k, v));
                seed.deserialize(k.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Res<T::Value> {
        let (k, v) = self
            .value
            .take()
            .ok_or_else(|| CloneError::here("value requested before its key"))?;
        seed.deserialize(ValueDe {
            v,
            depth: self.depth,
            walk: self.walk,
        })
        .map_err(|e| e.in_key(k))
    }
}

struct EntriesDe<'a> {
    iter: std::iter::Enumerate<std::slice::Iter<'a, (Value, Value)>>,
    value: Option<(usize, &'a Value)>,
    depth: usize,
    walk: &'a RefCell<Walk>,
}

impl<'de> de::MapAccess<'de> for EntriesDe<'_> {
    type Error = CloneError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Res<Option<K::Value>> {
        match self.iter.next() {
            Some((i, (k, v))) => {
                self.value = Some((i, v));
                seed.deserialize(ValueDe {
                    v: k,
                    depth: self.depth,
                    walk: self.walk,
                })
                .map(Some)
                .map_err(|e| e.in_index(0).in_index(i).in_key("entries"))
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Res<T::Value> {
        let (i, v) = self
            .value
            .take()
            .ok_or_else(|| CloneError::here("value requested before its key"))?;
        seed.deserialize(ValueDe {
            v,
            depth: self.depth,
            walk: self.walk,
        })
        .map_err(|e| e.in_index(1).in_index(i).in_key("entries"))
    }
}

/// `{variant: value}`.
struct EnumDe<'a> {
    variant: &'a str,
    value: ValueDe<'a>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumDe<'a> {
    type Error = CloneError;
    type Variant = VariantDe<'a>;
    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Res<(V::Value, VariantDe<'a>)> {
        let name = seed.deserialize(self.variant.into_deserializer())?;
        Ok((name, VariantDe { value: self.value }))
    }
}

struct VariantDe<'a> {
    value: ValueDe<'a>,
}

impl<'de> de::VariantAccess<'de> for VariantDe<'_> {
    type Error = CloneError;
    fn unit_variant(self) -> Res<()> {
        match self.value.v {
            Value::Null | Value::Undefined => Ok(()),
            _ => Err(CloneError::here("expected null for a unit variant")),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Res<T::Value> {
        seed.deserialize(self.value)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Res<V::Value> {
        de::Deserializer::deserialize_any(self.value, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Res<V::Value> {
        de::Deserializer::deserialize_any(self.value, visitor)
    }
}
