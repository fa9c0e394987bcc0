//! Reading the cluster's description of itself out of RESP values.
//!
//! Owns the shapes the two discovery replies share: the top level, decoded already or kept as it
//! came and decoded one element at a time; lists, records (a RESP3 map, or a RESP2 flat array of
//! alternating keys and values), text, ports and slot numbers; and the wording of the error a
//! malformed reply turns into. It does not know what any field means: `CLUSTER SHARDS`
//! and `CLUSTER SLOTS` are read in their own files.

use std::fmt;

use super::view::ClusterView;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Listed, Value, WireReply, SLOT_COUNT};

/// What was wrong with a reply and where; becomes an [`ErrorKind::Protocol`] error.
///
/// Kept apart from [`Error`] so the place can be prefixed cheaply on the way out
/// (`shard 2: node 0: …`) and nothing is formatted while a reply is well formed.
#[derive(Debug)]
pub(super) struct Malformed {
    message: String,
}

impl Malformed {
    /// A problem described by `message`.
    pub(super) fn new(message: impl Into<String>) -> Malformed {
        Malformed {
            message: message.into(),
        }
    }

    /// Prefixes the place the problem was found in; call it from the inside out.
    pub(super) fn at(self, place: impl fmt::Display) -> Malformed {
        Malformed {
            message: format!("{place}: {}", self.message),
        }
    }

    /// The protocol error for a reply to `command`.
    pub(super) fn into_error(self, command: &str) -> Error {
        Error::new(
            ErrorKind::Protocol,
            format!("malformed {command} reply: {}", self.message),
        )
    }
}

/// The result of reading one part of a reply.
pub(super) type Parsed<T> = std::result::Result<T, Malformed>;

#[cfg(test)]
/// The elements of a whole reply to `command`, decoded already.
///
/// An error reply becomes the server's own error rather than a protocol error, so the caller can
/// tell `ERR unknown subcommand` (a server too old for `CLUSTER SHARDS`: fall back to
/// `CLUSTER SLOTS`) from a reply it could not read.
pub(super) fn top_level(reply: Value, command: &str) -> Result<Vec<Value>> {
    match reply.into_inner() {
        Value::Array(items) | Value::Set(items) => Ok(items),
        other => Err(not_a_list(other, command)),
    }
}

/// The elements of a whole reply to `command` kept as it came, each decoded when it is reached.
/// They share the reply's memory, freed once they and the iterator are dropped.
///
/// An error reply becomes the server's error rather than a protocol error, so the caller can
/// tell `ERR unknown subcommand` (a server too old for `CLUSTER SHARDS`: fall back to
/// `CLUSTER SLOTS`) from a reply it could not read.
pub(super) fn top_level_elements(
    reply: WireReply,
    command: &'static str,
) -> Result<impl Iterator<Item = Result<Value>>> {
    let with_command = move |e: Error| e.with_command(command);
    match reply.into_list().map_err(with_command)? {
        Listed::Elements(items) => Ok(items.map(move |item| item.map_err(with_command))),
        Listed::Other(other) => Err(not_a_list(other.into_inner(), command)),
    }
}

/// The error for a top-level reply that is not a list.
fn not_a_list(reply: Value, command: &str) -> Error {
    match reply {
        Value::Error(e) => Error::from_server(e).with_command(command),
        other => unexpected("an array", &other).into_error(command),
    }
}

/// The elements of an array (or of a RESP3 set, which carries the same information).
pub(super) fn list(value: Value) -> Parsed<Vec<Value>> {
    match value.into_inner() {
        Value::Array(items) | Value::Set(items) => Ok(items),
        other => Err(unexpected("an array", &other)),
    }
}

/// The key/value pairs of a record: a RESP3 map, or a RESP2 array of alternating keys and values.
pub(super) fn record(value: Value) -> Parsed<Vec<(Value, Value)>> {
    match value.into_inner() {
        Value::Map(pairs) => Ok(pairs),
        Value::Array(items) => {
            if items.len() % 2 != 0 {
                return Err(Malformed::new(format!(
                    "a key/value array has an odd length ({})",
                    items.len()
                )));
            }
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                pairs.push((key, value));
            }
            Ok(pairs)
        }
        other => Err(unexpected("a map or a key/value array", &other)),
    }
}

/// A value with any RESP3 attributes looked through, without taking it apart.
fn peeled(value: &Value) -> &Value {
    match value {
        Value::Attribute { value, .. } => peeled(value),
        v => v,
    }
}

/// The text of a string value (simple, bulk or verbatim).
pub(super) fn text(value: &Value) -> Parsed<&str> {
    match peeled(value) {
        Value::SimpleString(b) | Value::Bulk(b) | Value::Verbatim { text: b, .. } => {
            std::str::from_utf8(b).map_err(|_| Malformed::new("a string is not valid UTF-8"))
        }
        other => Err(unexpected("a string", other)),
    }
}

/// The text of a string value, owned.
pub(super) fn string(value: &Value) -> Parsed<String> {
    text(value).map(str::to_owned)
}

/// The text of a string value, or `None` for a null.
pub(super) fn nullable_string(value: &Value) -> Parsed<Option<String>> {
    match peeled(value) {
        Value::Nil => Ok(None),
        other => string(other).map(Some),
    }
}

/// An integer, sent as one or, leniently, as decimal text.
pub(super) fn integer(value: &Value) -> Parsed<i64> {
    match peeled(value) {
        Value::Int(i) => Ok(*i),
        other => {
            let digits = text(other).map_err(|_| unexpected("an integer", other))?;
            digits
                .parse()
                .map_err(|_| Malformed::new(format!("{digits:?} is not an integer")))
        }
    }
}

/// A TCP port, 0 to 65535. Zero is returned as is: in `CLUSTER SHARDS` it means "none".
pub(super) fn port(value: &Value) -> Parsed<u16> {
    let n = integer(value)?;
    u16::try_from(n).map_err(|_| Malformed::new(format!("port {n} is out of range")))
}

/// A slot number, 0 to 16383.
fn slot(value: &Value) -> Parsed<u16> {
    let n = integer(value)?;
    match u16::try_from(n) {
        Ok(slot) if slot < SLOT_COUNT => Ok(slot),
        _ => Err(Malformed::new(format!(
            "slot {n} is out of range (0..={})",
            SLOT_COUNT - 1
        ))),
    }
}

/// An inclusive slot range; the start must not be past the end.
pub(super) fn slot_range(start: &Value, end: &Value) -> Parsed<(u16, u16)> {
    let (start, end) = (slot(start)?, slot(end)?);
    if start > end {
        return Err(Malformed::new(format!(
            "slot range {start}-{end} starts after it ends"
        )));
    }
    Ok((start, end))
}

/// The complaint about a value of the wrong type.
pub(super) fn unexpected(expected: &str, got: &Value) -> Malformed {
    Malformed::new(format!("expected {expected}, got {}", got.type_name()))
}

/// `view`, unless two of its shards claim one slot: then the error names the slot and both
/// primaries.
pub(super) fn disjoint(view: ClusterView, command: &str) -> Result<ClusterView> {
    if let Some((slot, a, b)) = view.overlap() {
        return Err(Malformed::new(format!(
            "slot {slot} is given to two primaries, {}:{} and {}:{}",
            a.host, a.port, b.host, b.port
        ))
        .into_error(command));
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::test_replies::{bulk, int};

    #[test]
    fn record_reads_maps_and_flat_arrays_alike() {
        let flat = Value::Array(vec![bulk("a"), int(1), bulk("b"), int(2)]);
        let map = Value::Map(vec![(bulk("a"), int(1)), (bulk("b"), int(2))]);
        assert_eq!(record(flat).unwrap(), record(map).unwrap());
    }

    #[test]
    fn record_rejects_odd_arrays_and_scalars() {
        let odd = Value::Array(vec![bulk("a"), int(1), bulk("b")]);
        assert!(record(odd).unwrap_err().message.contains("odd length"));
        assert!(record(int(3)).unwrap_err().message.contains("integer"));
    }

    #[test]
    fn slots_are_bounded_and_ordered() {
        assert_eq!(slot_range(&int(0), &int(16383)).unwrap(), (0, 16383));
        assert_eq!(slot_range(&bulk("5"), &bulk("7")).unwrap(), (5, 7));
        assert!(slot_range(&int(0), &int(16384))
            .unwrap_err()
            .message
            .contains("16384 is out of range"));
        assert!(slot_range(&int(-1), &int(3)).is_err());
        assert!(slot_range(&int(9), &int(3))
            .unwrap_err()
            .message
            .contains("starts after it ends"));
        assert!(slot_range(&Value::Nil, &int(3)).is_err());
    }

    #[test]
    fn ports_are_bounded() {
        assert_eq!(port(&int(6379)).unwrap(), 6379);
        assert!(port(&int(65536)).is_err());
        assert!(port(&int(-1)).is_err());
        assert!(port(&Value::Double(6379.0)).is_err());
    }

    #[test]
    fn attributes_are_looked_through() {
        let v = Value::Attribute {
            attributes: vec![],
            value: Box::new(int(7)),
        };
        assert_eq!(integer(&v).unwrap(), 7);
    }

    #[test]
    fn an_error_reply_keeps_the_server_error() {
        let reply = Value::Error(crate::protocol::ServerError::new(
            bytes::Bytes::from_static(b"ERR unknown subcommand 'SHARDS'"),
        ));
        let err = top_level(reply, "CLUSTER SHARDS").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Response);
        assert!(err.server_error().is_some());
    }

    #[test]
    fn a_scalar_reply_is_a_protocol_error() {
        let err = top_level(bulk("OK"), "CLUSTER SLOTS").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(
            err.to_string().contains("malformed CLUSTER SLOTS reply"),
            "{err}"
        );
    }
}
