//! [`FromValue`]: replies as Rust values.
//!
//! Conversions accept every wire form a reply can take under RESP2 or RESP3, so code reads the
//! same whichever protocol the connection speaks: a map may come as a RESP3 map or as a RESP2
//! flat array of pairs, a number as an integer or as its decimal text, a score as a double or as
//! text. An error reply becomes the error it carries; any other mismatch is an
//! [`ErrorKind::Type`] error naming both the reply's type and the Rust type asked for.
//! RESP3 attributes are set aside before converting.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use bytes::Bytes;

use super::value::Value;
use crate::error::{Error, ErrorKind, Result};

/// A Rust type that a reply can be converted into.
pub trait FromValue: Sized {
    /// Converts a reply.
    fn from_value(value: Value) -> Result<Self>;

    /// Converts the elements of an array reply. Pairs override this so that `Vec<(K, V)>`
    /// reads a RESP2 flat array `[k1, v1, k2, v2]` as well as an array of pairs.
    #[doc(hidden)]
    fn from_items(items: Vec<Value>) -> Result<Vec<Self>> {
        items.into_iter().map(Self::from_value).collect()
    }

    /// Converts the entries of a map reply into a sequence. By default the pairs are flattened
    /// (`[k1, v1, k2, v2]`), as RESP2 sends them; pairs override this to keep them paired.
    #[doc(hidden)]
    fn from_map_entries(pairs: Vec<(Value, Value)>) -> Result<Vec<Self>> {
        let mut out = Vec::with_capacity(pairs.len() * 2);
        for (k, v) in pairs {
            out.push(Self::from_value(k)?);
            out.push(Self::from_value(v)?);
        }
        Ok(out)
    }
}

/// The type error for a reply that cannot become `T`.
pub(crate) fn type_error<T>(value: &Value) -> Error {
    Error::new(
        ErrorKind::Type,
        format!(
            "cannot convert a {} reply to {}",
            value.type_name(),
            std::any::type_name::<T>()
        ),
    )
}

/// Strips attributes and turns an error reply into `Err`.
fn plain(value: Value) -> Result<Value> {
    match value.into_inner() {
        Value::Error(e) => Err(Error::from_server(e)),
        v => Ok(v),
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Value> {
        match value {
            Value::Error(e) => Err(Error::from_server(e)),
            v => Ok(v),
        }
    }
}

impl FromValue for () {
    fn from_value(value: Value) -> Result<()> {
        plain(value).map(drop)
    }
}

impl FromValue for Bytes {
    fn from_value(value: Value) -> Result<Bytes> {
        match plain(value)? {
            Value::Bulk(b) | Value::SimpleString(b) | Value::BigNumber(b) => Ok(b),
            Value::Verbatim { text, .. } => Ok(text),
            Value::Int(n) => Ok(Bytes::from(n.to_string())),
            Value::Double(d) => Ok(Bytes::from(d.to_string())),
            v => Err(type_error::<Bytes>(&v)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Vec<u8>> {
        Bytes::from_value(value).map(Vec::from)
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> Result<String> {
        let v = plain(value)?;
        if let Some(bytes) = v.as_bytes() {
            return match std::str::from_utf8(bytes) {
                Ok(s) => Ok(s.to_owned()),
                Err(_) => Err(Error::new(
                    ErrorKind::Type,
                    format!(
                        "cannot convert a {} reply to String: not UTF-8",
                        v.type_name()
                    ),
                )),
            };
        }
        match v {
            Value::Int(n) => Ok(n.to_string()),
            Value::Double(d) => Ok(d.to_string()),
            v => Err(type_error::<String>(&v)),
        }
    }
}

/// Reads an integer from an integer reply or its decimal text.
fn integer<T: TryFrom<i64> + std::str::FromStr>(value: Value) -> Result<T> {
    let v = plain(value)?;
    let parsed = match &v {
        Value::Int(n) => T::try_from(*n).ok(),
        Value::Boolean(b) => T::try_from(i64::from(*b)).ok(),
        Value::Bulk(b) | Value::SimpleString(b) | Value::BigNumber(b) => {
            std::str::from_utf8(b).ok().and_then(|s| s.parse().ok())
        }
        _ => None,
    };
    parsed.ok_or_else(|| type_error::<T>(&v))
}

macro_rules! integer_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Value) -> Result<$t> {
                integer(value)
            }
        }
    )*};
}
// `u8` is left out on purpose: `Vec<u8>` is binary data, not a list of small numbers.
integer_from_value!(i8, i16, i32, i64, isize, u16, u32, u64, usize);

impl FromValue for f64 {
    fn from_value(value: Value) -> Result<f64> {
        let v = plain(value)?;
        let parsed = match &v {
            Value::Double(d) => Some(*d),
            Value::Int(n) => Some(*n as f64),
            Value::Bulk(b) | Value::SimpleString(b) => {
                std::str::from_utf8(b).ok().and_then(|s| s.parse().ok())
            }
            _ => None,
        };
        parsed.ok_or_else(|| type_error::<f64>(&v))
    }
}

impl FromValue for f32 {
    fn from_value(value: Value) -> Result<f32> {
        f64::from_value(value).map(|d| d as f32)
    }
}

impl FromValue for bool {
    /// `true` for `#t`, a non-zero integer, `OK`, or the text `1`; `false` for `#f`, `0`, or nil
    /// (e.g. `SET … NX` that did not set).
    fn from_value(value: Value) -> Result<bool> {
        let v = plain(value)?;
        let parsed = match &v {
            Value::Boolean(b) => Some(*b),
            Value::Int(n) => Some(*n != 0),
            Value::Nil => Some(false),
            Value::SimpleString(s) if &s[..] == b"OK" => Some(true),
            Value::Bulk(b) | Value::SimpleString(b) => match &b[..] {
                b"1" => Some(true),
                b"0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| type_error::<bool>(&v))
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Option<T>> {
        match plain(value)? {
            Value::Nil => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: Value) -> Result<Vec<T>> {
        match plain(value)? {
            Value::Array(items) | Value::Set(items) | Value::Push(items) => T::from_items(items),
            Value::Map(pairs) => T::from_map_entries(pairs),
            // An empty list reply is nil in some RESP2 commands.
            Value::Nil => Ok(Vec::new()),
            v => Err(type_error::<Vec<T>>(&v)),
        }
    }
}

/// Pairs from a map reply, a flat array `[k1, v1, …]`, or an array of two-element arrays.
fn pairs<K: FromValue, V: FromValue, C>(value: Value) -> Result<Vec<(K, V)>> {
    match plain(value)? {
        Value::Map(pairs) => pairs
            .into_iter()
            .map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?)))
            .collect(),
        Value::Array(items) => <(K, V)>::from_items(items),
        Value::Nil => Ok(Vec::new()),
        v => Err(type_error::<C>(&v)),
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue, S: BuildHasher + Default> FromValue
    for HashMap<K, V, S>
{
    fn from_value(value: Value) -> Result<HashMap<K, V, S>> {
        Ok(pairs::<K, V, Self>(value)?.into_iter().collect())
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(value: Value) -> Result<BTreeMap<K, V>> {
        Ok(pairs::<K, V, Self>(value)?.into_iter().collect())
    }
}

impl<T: FromValue + Eq + Hash, S: BuildHasher + Default> FromValue for HashSet<T, S> {
    fn from_value(value: Value) -> Result<HashSet<T, S>> {
        Ok(Vec::<T>::from_value(value)?.into_iter().collect())
    }
}

impl<T: FromValue + Ord> FromValue for BTreeSet<T> {
    fn from_value(value: Value) -> Result<BTreeSet<T>> {
        Ok(Vec::<T>::from_value(value)?.into_iter().collect())
    }
}

impl<A: FromValue, B: FromValue> FromValue for (A, B) {
    fn from_value(value: Value) -> Result<(A, B)> {
        match plain(value)? {
            Value::Array(items) if items.len() == 2 => {
                let mut it = items.into_iter();
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => Ok((A::from_value(a)?, B::from_value(b)?)),
                    _ => Err(Error::new(ErrorKind::Type, "pair reply shorter than 2")),
                }
            }
            v => Err(type_error::<(A, B)>(&v)),
        }
    }

    fn from_items(items: Vec<Value>) -> Result<Vec<(A, B)>> {
        let nested = items
            .first()
            .is_some_and(|v| matches!(v, Value::Array(_) | Value::Map(_)));
        if nested {
            return items.into_iter().map(Self::from_value).collect();
        }
        if !items.len().is_multiple_of(2) {
            return Err(Error::new(
                ErrorKind::Type,
                format!(
                    "cannot read pairs from an array of odd length {}",
                    items.len()
                ),
            ));
        }
        let mut out = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(a), Some(b)) = (it.next(), it.next()) {
            out.push((A::from_value(a)?, B::from_value(b)?));
        }
        Ok(out)
    }

    fn from_map_entries(pairs: Vec<(Value, Value)>) -> Result<Vec<(A, B)>> {
        pairs
            .into_iter()
            .map(|(a, b)| Ok((A::from_value(a)?, B::from_value(b)?)))
            .collect()
    }
}

macro_rules! tuple_from_value {
    ($len:literal: $($name:ident)+) => {
        impl<$($name: FromValue),+> FromValue for ($($name,)+) {
            #[allow(non_snake_case)]
            fn from_value(value: Value) -> Result<($($name,)+)> {
                match plain(value)? {
                    Value::Array(items) if items.len() == $len => {
                        let mut it = items.into_iter();
                        $(
                            let $name = match it.next() {
                                Some(v) => $name::from_value(v)?,
                                None => return Err(Error::new(ErrorKind::Type, "tuple reply too short")),
                            };
                        )+
                        Ok(($($name,)+))
                    }
                    v => Err(type_error::<($($name,)+)>(&v)),
                }
            }
        }
    };
}
tuple_from_value!(1: A);
tuple_from_value!(3: A B C);
tuple_from_value!(4: A B C D);
tuple_from_value!(5: A B C D E);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerError;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn scalars() {
        assert_eq!(String::from_value(bulk("hi")).unwrap(), "hi");
        assert_eq!(i64::from_value(Value::Int(-3)).unwrap(), -3);
        assert_eq!(u16::from_value(bulk("65535")).unwrap(), 65535);
        assert_eq!(f64::from_value(bulk("1.5")).unwrap(), 1.5);
        assert_eq!(
            f64::from_value(Value::Double(f64::INFINITY)).unwrap(),
            f64::INFINITY
        );
        assert!(bool::from_value(Value::SimpleString(Bytes::from_static(b"OK"))).unwrap());
        assert!(!bool::from_value(Value::Nil).unwrap());
        assert_eq!(Option::<String>::from_value(Value::Nil).unwrap(), None);
        assert_eq!(String::from_value(Value::Int(7)).unwrap(), "7");
    }

    #[test]
    fn type_errors_name_both_types() {
        let e = i64::from_value(bulk("abc")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Type);
        let text = e.to_string();
        assert!(
            text.contains("bulk string") && text.contains("i64"),
            "{text}"
        );

        let e = i8::from_value(Value::Int(300)).unwrap_err();
        assert!(e.to_string().contains("i8"), "{e}");

        let e = Vec::<String>::from_value(Value::Int(1)).unwrap_err();
        assert!(e.to_string().contains("integer"), "{e}");
    }

    #[test]
    fn error_reply_becomes_error() {
        let v = Value::Error(ServerError::new(Bytes::from_static(b"WRONGTYPE bad")));
        let e = String::from_value(v).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Response);
        assert_eq!(e.server_error().unwrap().code(), "WRONGTYPE");
    }

    #[test]
    fn maps_from_both_protocols() {
        let resp2 = Value::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2")]);
        let resp3 = Value::Map(vec![(bulk("a"), Value::Int(1)), (bulk("b"), Value::Int(2))]);
        for v in [resp2.clone(), resp3.clone()] {
            let m: HashMap<String, i64> = FromValue::from_value(v.clone()).unwrap();
            assert_eq!(m["a"], 1);
            assert_eq!(m["b"], 2);
            let b: BTreeMap<String, i64> = FromValue::from_value(v.clone()).unwrap();
            assert_eq!(b.len(), 2);
            let pairs: Vec<(String, i64)> = FromValue::from_value(v).unwrap();
            assert_eq!(pairs, [("a".to_owned(), 1), ("b".to_owned(), 2)]);
        }
        let flat: Vec<String> = FromValue::from_value(resp3).unwrap();
        assert_eq!(flat, ["a", "1", "b", "2"]);
    }

    #[test]
    fn pairs_from_nested_arrays_and_odd_lengths() {
        let nested = Value::Array(vec![
            Value::Array(vec![bulk("x"), Value::Double(1.0)]),
            Value::Array(vec![bulk("y"), Value::Double(2.0)]),
        ]);
        let v: Vec<(String, f64)> = FromValue::from_value(nested).unwrap();
        assert_eq!(v, [("x".to_owned(), 1.0), ("y".to_owned(), 2.0)]);
        let odd = Value::Array(vec![bulk("x")]);
        assert!(Vec::<(String, String)>::from_value(odd).is_err());
    }

    #[test]
    fn sets_tuples_and_attributes() {
        let s: HashSet<String> =
            FromValue::from_value(Value::Set(vec![bulk("a"), bulk("b")])).unwrap();
        assert!(s.contains("a") && s.contains("b"));
        let t: (String, i64, Option<String>) =
            FromValue::from_value(Value::Array(vec![bulk("a"), Value::Int(1), Value::Nil]))
                .unwrap();
        assert_eq!(t, ("a".to_owned(), 1, None));
        let attributed = Value::Attribute {
            attributes: vec![(bulk("ttl"), Value::Int(3))],
            value: Box::new(bulk("v")),
        };
        assert_eq!(String::from_value(attributed).unwrap(), "v");
    }
}
