//! Client tracking on one connection: what a socket with `CLIENT TRACKING ON` tells of the keys
//! read through it.
//!
//! A node tracking a connection sends an `invalidate` push on that same connection when a key
//! read through it changes (RESP3 only), or one with no keys when it drops its whole table
//! (`FLUSHALL`, a lost tracking table). Pushes and replies come in the order the node sent them,
//! so a reply read before an invalidation is older than the change the invalidation announces.
//! A closed socket is tracked no more: whatever was read through it may have changed unseen.
//!
//! This module only defines who hears of it ([`Tracker`]); the multiplexer's reader calls it and
//! the handshake turns tracking on. What is cached, and for how long, is the cluster's
//! (`cluster/cache.rs`).

use std::fmt;

use crate::protocol::Value;

/// Hears what a tracking connection learns: invalidations and the socket's loss. Called on the
/// socket's reader task, in the order of what was read, so it must not block.
pub(crate) trait Tracker: Send + Sync + fmt::Debug {
    /// The node invalidated `keys`; `None`: every key read through this connection.
    fn invalidated(&self, keys: Option<&[Value]>);

    /// A socket closed: nothing read through it is tracked any more.
    fn lost(&self);
}

/// The keys of an `invalidate` push (`[invalidate, [key …]]` or `[invalidate, null]`): `None`
/// if the push is another kind; `Some(None)` for a null (every key).
pub(crate) fn invalidated_keys(push: &[Value]) -> Option<Option<&[Value]>> {
    let (kind, rest) = push.split_first()?;
    if kind.as_bytes() != Some(b"invalidate".as_slice()) {
        return None;
    }
    match rest.first() {
        Some(Value::Array(keys)) | Some(Value::Set(keys)) => Some(Some(keys)),
        _ => Some(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn an_invalidate_push_names_its_keys_or_all() {
        let keys = [bulk("invalidate"), Value::Array(vec![bulk("a"), bulk("b")])];
        assert_eq!(
            invalidated_keys(&keys).map(|k| k.map(<[Value]>::len)),
            Some(Some(2))
        );
        let all = [bulk("invalidate"), Value::Nil];
        assert_eq!(invalidated_keys(&all), Some(None));
        let message = [bulk("message"), bulk("ch"), bulk("hi")];
        assert_eq!(invalidated_keys(&message), None);
        assert_eq!(invalidated_keys(&[]), None);
    }
}
