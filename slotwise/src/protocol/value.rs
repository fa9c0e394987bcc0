//! The decoded form of a RESP2 or RESP3 reply.
//!
//! [`Value`] mirrors the wire types one to one, so nothing the server said is lost (RESP3
//! attributes stay attached to the value they describe). Bulk data are [`Bytes`] slices of the
//! connection's read buffer: decoding does not copy them.
//!
//! This module does not parse or convert: see the decoder and [`FromValue`](super::FromValue).

use std::fmt;

use bytes::Bytes;

use crate::error::ServerError;

/// One RESP value, as the server sent it.
///
/// The two RESP2 null forms (`$-1`, `*-1`) and the RESP3 null (`_`) all decode to [`Value::Nil`].
#[derive(Clone, PartialEq)]
pub enum Value {
    /// Null.
    Nil,
    /// A simple string (`+OK`).
    SimpleString(Bytes),
    /// An error reply, simple (`-ERR …`) or bulk (`!…`).
    Error(ServerError),
    /// An integer (`:42`).
    Int(i64),
    /// A bulk string (`$…`), binary safe.
    Bulk(Bytes),
    /// An array (`*…`).
    Array(Vec<Value>),
    /// A RESP3 map (`%…`), pairs in the order the server sent them.
    Map(Vec<(Value, Value)>),
    /// A RESP3 set (`~…`).
    Set(Vec<Value>),
    /// A RESP3 double (`,…`), including `inf`, `-inf` and `nan`.
    Double(f64),
    /// A RESP3 boolean (`#t` / `#f`).
    Boolean(bool),
    /// A RESP3 big number (`(…`), as its decimal digits with an optional leading `-`.
    BigNumber(Bytes),
    /// A RESP3 verbatim string (`=…`): a three-letter format (`txt`, `mkd`) and the text.
    Verbatim {
        /// The format, e.g. `b"txt"`.
        format: [u8; 3],
        /// The text.
        text: Bytes,
    },
    /// A RESP3 push (`>…`): out-of-band data such as pub/sub messages.
    Push(Vec<Value>),
    /// A value preceded by a RESP3 attribute (`|…`).
    Attribute {
        /// The attribute's key/value pairs.
        attributes: Vec<(Value, Value)>,
        /// The value the attribute describes.
        value: Box<Value>,
    },
}

impl Value {
    /// The name of this value's RESP type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::SimpleString(_) => "simple string",
            Value::Error(_) => "error",
            Value::Int(_) => "integer",
            Value::Bulk(_) => "bulk string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Set(_) => "set",
            Value::Double(_) => "double",
            Value::Boolean(_) => "boolean",
            Value::BigNumber(_) => "big number",
            Value::Verbatim { .. } => "verbatim string",
            Value::Push(_) => "push",
            Value::Attribute { .. } => "attributed value",
        }
    }

    /// True for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The bytes of a string-like value (simple, bulk, verbatim text, big number).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::SimpleString(b) | Value::Bulk(b) | Value::BigNumber(b) => Some(b),
            Value::Verbatim { text, .. } => Some(text),
            Value::Attribute { value, .. } => value.as_bytes(),
            _ => None,
        }
    }

    /// The value with any RESP3 attribute removed.
    pub fn into_inner(self) -> Value {
        match self {
            Value::Attribute { value, .. } => value.into_inner(),
            v => v,
        }
    }
}

/// Writes bytes as text when they are printable UTF-8, else escaped.
struct ShowBytes<'a>(&'a [u8]);

impl fmt::Debug for ShowBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self.0) {
            Ok(s) => fmt::Debug::fmt(s, f),
            Err(_) => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::SimpleString(b) => f.debug_tuple("SimpleString").field(&ShowBytes(b)).finish(),
            Value::Error(e) => f.debug_tuple("Error").field(&e.message()).finish(),
            Value::Int(i) => f.debug_tuple("Int").field(i).finish(),
            Value::Bulk(b) => f.debug_tuple("Bulk").field(&ShowBytes(b)).finish(),
            Value::Array(v) => f.debug_tuple("Array").field(v).finish(),
            Value::Map(v) => f.debug_tuple("Map").field(v).finish(),
            Value::Set(v) => f.debug_tuple("Set").field(v).finish(),
            Value::Double(d) => f.debug_tuple("Double").field(d).finish(),
            Value::Boolean(b) => f.debug_tuple("Boolean").field(b).finish(),
            Value::BigNumber(b) => f.debug_tuple("BigNumber").field(&ShowBytes(b)).finish(),
            Value::Verbatim { format, text } => f
                .debug_struct("Verbatim")
                .field("format", &ShowBytes(format))
                .field("text", &ShowBytes(text))
                .finish(),
            Value::Push(v) => f.debug_tuple("Push").field(v).finish(),
            Value::Attribute { attributes, value } => f
                .debug_struct("Attribute")
                .field("attributes", attributes)
                .field("value", value)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_text_or_escapes() {
        let v = Value::Bulk(Bytes::from_static(b"hi"));
        assert_eq!(format!("{v:?}"), "Bulk(\"hi\")");
        let v = Value::Bulk(Bytes::from_static(b"\xff"));
        assert_eq!(format!("{v:?}"), "Bulk(b\"\\xff\")");
    }
}
