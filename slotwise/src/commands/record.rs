//! Reading the replies of fixed shape that typed reply structs are built from: [`Record`], a
//! reply of named fields (a RESP3 map or a RESP2 flat array of names and values), and arrays of
//! an expected length. Every mismatch is an [`ErrorKind::Type`] error naming the type being
//! read. It does not know any command; the structs using it live with their families.

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{FromValue, Value};

/// A reply that lists named fields: a RESP3 map, or a RESP2 flat array of names and values.
pub(super) struct Record<T> {
    fields: Vec<(String, Value)>,
    of: std::marker::PhantomData<T>,
}

impl<T> Record<T> {
    pub(super) fn new(value: Value) -> Result<Record<T>> {
        let fields = match value.into_inner() {
            Value::Error(e) => return Err(Error::from_server(e)),
            Value::Map(pairs) => pairs
                .into_iter()
                .map(|(k, v)| Ok((String::from_value(k)?, v)))
                .collect::<Result<_>>()?,
            Value::Array(items) if items.len() % 2 == 0 => {
                let mut fields = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    fields.push((String::from_value(k)?, v));
                }
                fields
            }
            _ => {
                return Err(shape_error::<T>(
                    "a map or a flat array of names and values",
                ))
            }
        };
        Ok(Record {
            fields,
            of: std::marker::PhantomData,
        })
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let at = self.fields.iter().position(|(k, _)| k == name)?;
        Some(self.fields.swap_remove(at).1)
    }

    pub(super) fn required<V: FromValue>(&mut self, name: &str) -> Result<V> {
        match self.take(name) {
            Some(v) => V::from_value(v),
            None => Err(Error::new(
                ErrorKind::Type,
                format!(
                    "the reply for {} has no field {name:?}",
                    std::any::type_name::<T>()
                ),
            )),
        }
    }

    /// A field that older servers do not send, or that may be nil.
    pub(super) fn optional<V: FromValue>(&mut self, name: &str) -> Result<Option<V>> {
        self.take(name).map_or(Ok(None), Option::<V>::from_value)
    }
}

/// The elements of an array reply.
pub(super) fn array<T>(value: Value) -> Result<Vec<Value>> {
    match value.into_inner() {
        Value::Array(items) => Ok(items),
        Value::Error(e) => Err(Error::from_server(e)),
        _ => Err(shape_error::<T>("an array")),
    }
}

/// The elements of an array reply of exactly `N`.
pub(super) fn exactly<const N: usize, T>(value: Value) -> Result<[Value; N]> {
    array::<T>(value)?
        .try_into()
        .map_err(|_| shape_error::<T>(&format!("an array of {N}")))
}

pub(super) fn shape_error<T>(wanted: &str) -> Error {
    Error::new(
        ErrorKind::Type,
        format!(
            "cannot read {}: the reply is not {wanted}",
            std::any::type_name::<T>()
        ),
    )
}
