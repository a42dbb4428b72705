//! The serde bridge, encoding side: any `Serialize` type → [`Value`].
//!
//! Mapping (JSON-like, as JavaScript would see it): structs and string-keyed maps → plain
//! objects (field order kept); maps with any non-string key → `Map`; sequences and tuples →
//! arrays; `None` and `()` → `null`; integers → numbers when exactly representable
//! (|n| ≤ 2^53), else bigints; byte buffers → `ArrayBuffer`; enums externally tagged like
//! serde_json (`"Unit"`, `{"Variant": …}`).

use serde::ser::{self, Serialize};

use super::error::{CloneError, Res};
use super::value::{BigInt, Object, ObjectKind, Props, Value};

const MAX_SAFE: i128 = 9_007_199_254_740_992; // 2^53

fn integer(n: i128) -> Value {
    if (-MAX_SAFE..=MAX_SAFE).contains(&n) {
        Value::Number(n as f64)
    } else {
        Value::BigInt(BigInt::from(n))
    }
}

fn object(kind: ObjectKind) -> Value {
    Value::Object(Object::new(kind))
}

/// `{variant: value}`, the externally tagged form.
fn tagged(variant: &str, value: Value) -> Value {
    let mut p = Props::with_capacity(1);
    p.insert(variant, value);
    object(ObjectKind::Plain(p))
}

/// Serializes into a [`Value`].
pub(crate) struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = CloneError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = SeqSer;
    type SerializeMap = MapSer;
    type SerializeStruct = StructSer;
    type SerializeStructVariant = StructSer;

    fn serialize_bool(self, v: bool) -> Res<Value> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_i16(self, v: i16) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_i32(self, v: i32) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_i64(self, v: i64) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_i128(self, v: i128) -> Res<Value> {
        Ok(integer(v))
    }
    fn serialize_u8(self, v: u8) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_u16(self, v: u16) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_u32(self, v: u32) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_u64(self, v: u64) -> Res<Value> {
        Ok(integer(v as i128))
    }
    fn serialize_u128(self, v: u128) -> Res<Value> {
        Ok(match i128::try_from(v) {
            Ok(n) => integer(n),
            Err(_) => Value::BigInt(BigInt::parse(&v.to_string()).unwrap_or_else(|| 0i64.into())),
        })
    }
    fn serialize_f32(self, v: f32) -> Res<Value> {
        Ok(Value::Number(v as f64))
    }
    fn serialize_f64(self, v: f64) -> Res<Value> {
        Ok(Value::Number(v))
    }
    fn serialize_char(self, v: char) -> Res<Value> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Res<Value> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Res<Value> {
        Ok(object(ObjectKind::ArrayBuffer(v.to_vec())))
    }
    fn serialize_none(self) -> Res<Value> {
        Ok(Value::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Res<Value> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Res<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Res<Value> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Res<Value> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Res<Value> {
        let inner = value
            .serialize(ValueSerializer)
            .map_err(|e| e.in_key(variant))?;
        Ok(tagged(variant, inner))
    }
    fn serialize_seq(self, len: Option<usize>) -> Res<SeqSer> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Res<SeqSer> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Res<SeqSer> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Res<SeqSer> {
        Ok(SeqSer {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Res<MapSer> {
        Ok(MapSer {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Res<StructSer> {
        Ok(StructSer {
            props: Props::with_capacity(len),
            variant: None,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Res<StructSer> {
        Ok(StructSer {
            props: Props::with_capacity(len),
            variant: Some(variant),
        })
    }
}

/// Sequences, tuples and tuple variants.
pub(crate) struct SeqSer {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl SeqSer {
    fn push<T: ?Sized + Serialize>(&mut self, v: &T) -> Res<()> {
        let i = self.items.len();
        self.items
            .push(v.serialize(ValueSerializer).map_err(|e| e.in_index(i))?);
        Ok(())
    }
    fn finish(self) -> Res<Value> {
        let array = Value::array(self.items);
        Ok(match self.variant {
            Some(variant) => tagged(variant, array),
            None => array,
        })
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = CloneError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Res<()> {
        self.push(v)
    }
    fn end(self) -> Res<Value> {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = CloneError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Res<()> {
        self.push(v)
    }
    fn end(self) -> Res<Value> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = CloneError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Res<()> {
        self.push(v)
    }
    fn end(self) -> Res<Value> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqSer {
    type Ok = Value;
    type Error = CloneError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Res<()> {
        self.push(v)
    }
    fn end(self) -> Res<Value> {
        self.finish()
    }
}

/// Maps: a plain object when every key is a string, else a `Map`.
pub(crate) struct MapSer {
    entries: Vec<(Value, Value)>,
    key: Option<Value>,
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = CloneError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Res<()> {
        self.key = Some(key.serialize(ValueSerializer)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Res<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| CloneError::here("map value without a key"))?;
        let v = value.serialize(ValueSerializer).map_err(|e| match &key {
            Value::String(k) => e.in_key(k),
            _ => e.in_index(self.entries.len()),
        })?;
        self.entries.push((key, v));
        Ok(())
    }
    fn end(self) -> Res<Value> {
        if self
            .entries
            .iter()
            .all(|(k, _)| matches!(k, Value::String(_)))
        {
            let props: Props = self
                .entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Value::String(k) => Some((k, v)),
                    _ => None, // not reached: every key was checked to be a string
                })
                .collect();
            Ok(object(ObjectKind::Plain(props)))
        } else {
            Ok(object(ObjectKind::Map(self.entries)))
        }
    }
}

/// Structs and struct variants: plain objects.
pub(crate) struct StructSer {
    props: Props,
    variant: Option<&'static str>,
}

impl StructSer {
    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Res<()> {
        let v = v.serialize(ValueSerializer).map_err(|e| e.in_key(key))?;
        self.props.insert(key, v);
        Ok(())
    }
    fn finish(self) -> Res<Value> {
        let obj = object(ObjectKind::Plain(self.props));
        Ok(match self.variant {
            Some(variant) => tagged(variant, obj),
            None => obj,
        })
    }
}

impl ser::SerializeStruct for StructSer {
    type Ok = Value;
    type Error = CloneError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Res<()> {
        self.field(key, v)
    }
    fn end(self) -> Res<Value> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for StructSer {
    type Ok = Value;
    type Error = CloneError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Res<()> {
        self.field(key, v)
    }
    fn end(self) -> Res<Value> {
        self.finish()
    }
}
