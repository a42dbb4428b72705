//! Rows of a query as Rust types: [`Storage::query_as`](super::Storage) deserializes each row
//! with serde, by column name (a struct, a map) or by position (a tuple), straight from the
//! cells SQLite returned — no detour through JSON or a `Value`, so a 64-bit integer stays
//! exact.

use super::{Rows, SqlValue, StorageError};
use serde::de::value::{Error as DeError, MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// Deserializes every row of `rows` as a `T` (`sql` names the statement in errors).
pub(super) fn rows_as<T: DeserializeOwned>(rows: &Rows, sql: &str) -> Result<Vec<T>, StorageError> {
    rows.rows
        .iter()
        .enumerate()
        .map(|(i, cells)| {
            T::deserialize(Row {
                columns: &rows.columns,
                cells,
            })
            .map_err(|e| {
                StorageError::new(
                    format!("row {i} is not a {}: {e}", std::any::type_name::<T>()),
                    sql,
                )
            })
        })
        .collect()
}

/// One row: a map from column names to cells, or a sequence of cells for tuples.
struct Row<'a> {
    columns: &'a [String],
    cells: &'a [SqlValue],
}

impl<'de> Deserializer<'de> for Row<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pairs = self
            .columns
            .iter()
            .map(String::as_str)
            .zip(self.cells.iter().map(Cell));
        let mut map = MapDeserializer::new(pairs);
        let value = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(value)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut seq = SeqDeserializer::new(self.cells.iter().map(Cell));
        let value = visitor.visit_seq(&mut seq)?;
        seq.end()?;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct map struct enum identifier ignored_any
    }
}

/// One cell. SQLite has no booleans: `0`/`1` read as `false`/`true` where a `bool` is asked
/// for. `NULL` is `None` for an `Option` and `()` otherwise.
#[derive(Clone, Copy)]
struct Cell<'a>(&'a SqlValue);

impl<'de> IntoDeserializer<'de, DeError> for Cell<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Cell<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            SqlValue::Null => visitor.visit_unit(),
            SqlValue::Integer(n) => visitor.visit_i64(*n),
            SqlValue::Real(x) => visitor.visit_f64(*x),
            SqlValue::Text(s) => visitor.visit_str(s),
            SqlValue::Blob(b) => visitor.visit_bytes(b),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            SqlValue::Integer(0) => visitor.visit_bool(false),
            SqlValue::Integer(1) => visitor.visit_bool(true),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            SqlValue::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// A blob as a sequence of bytes (what `Vec<u8>` asks for).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            SqlValue::Blob(b) => {
                let mut seq = SeqDeserializer::new(b.iter().copied());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    /// A text cell as a unit variant (`enum Status { Open, Done }` stored as `'Open'`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            SqlValue::Text(s) => s
                .as_str()
                .into_deserializer()
                .deserialize_enum(name, variants, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}
