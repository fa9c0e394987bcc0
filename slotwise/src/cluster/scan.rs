//! `SCAN` over the whole cluster: every primary in turn, each with its own cursor.
//!
//! The primaries are those of the topology when the scan starts. Each node's keyspace is
//! scanned to its end (cursor 0) before the next one's; a node that fails is retried by the
//! usual rules (`SCAN` only reads), and a scan that cannot go on returns the error. `SCAN`'s
//! promise (every key present for the whole scan is returned at least once) holds per node:
//! a key that a slot migration moves from a node not yet scanned to one already scanned while
//! the scan runs can be missed, and one moved the other way returned twice.

use std::sync::Arc;

use bytes::Bytes;

use super::node::NodeEntry;
use super::RedisCluster;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};

/// What a cluster scan looks for: `MATCH`, `COUNT` and `TYPE` of every node's `SCAN`.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    pattern: Option<Bytes>,
    count: Option<u64>,
    key_type: Option<String>,
}

impl ScanOptions {
    /// Every key, with the server's default batch size.
    pub fn new() -> ScanOptions {
        ScanOptions::default()
    }

    /// Only keys matching a glob-style `pattern` (`MATCH`).
    pub fn pattern(mut self, pattern: impl AsRef<[u8]>) -> ScanOptions {
        self.pattern = Some(Bytes::copy_from_slice(pattern.as_ref()));
        self
    }

    /// About how many keys each call looks at (`COUNT`; the server's default is 10).
    pub fn count(mut self, count: u64) -> ScanOptions {
        self.count = Some(count);
        self
    }

    /// Only keys of this type, such as `string` or `hash` (`TYPE`).
    pub fn key_type(mut self, key_type: impl Into<String>) -> ScanOptions {
        self.key_type = Some(key_type.into());
        self
    }

    fn command(&self, cursor: u64) -> Cmd {
        let mut cmd = Cmd::new("SCAN").arg(cursor);
        if let Some(pattern) = &self.pattern {
            cmd = cmd.arg("MATCH").arg(&pattern[..]);
        }
        if let Some(count) = self.count {
            cmd = cmd.arg("COUNT").arg(count);
        }
        if let Some(key_type) = &self.key_type {
            cmd = cmd.arg("TYPE").arg(key_type.as_str());
        }
        cmd
    }
}

/// A scan of every primary's keys; see [`RedisCluster::scan`].
#[derive(Debug)]
pub struct ClusterScan {
    cluster: RedisCluster,
    options: ScanOptions,
    nodes: Vec<Arc<NodeEntry>>,
    /// The node being scanned, an index into `nodes`.
    node: usize,
    cursor: u64,
}

impl ClusterScan {
    pub(crate) fn new(cluster: RedisCluster, options: ScanOptions) -> ClusterScan {
        let nodes = cluster.snapshot().primaries().cloned().collect();
        ClusterScan {
            cluster,
            options,
            nodes,
            node: 0,
            cursor: 0,
        }
    }

    /// The next batch of keys, `None` once every node has been scanned to its end. A batch may
    /// be empty (a `MATCH` or `TYPE` can filter out all a call looked at).
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Bytes>>> {
        let Some(entry) = self.nodes.get(self.node).cloned() else {
            return Ok(None);
        };
        let cmd = self.options.command(self.cursor);
        let reply = self.cluster.run_on(&entry, &cmd, true).await?;
        let (cursor, keys) = parse_reply(reply).map_err(|e| e.with_node(entry.node.name()))?;
        if cursor == 0 {
            self.node += 1;
        }
        self.cursor = cursor;
        Ok(Some(keys))
    }

    /// Every key the scan finds, in one vector.
    pub async fn all_keys(mut self) -> Result<Vec<Bytes>> {
        let mut all = Vec::new();
        while let Some(keys) = self.next_batch().await? {
            all.extend(keys);
        }
        Ok(all)
    }
}

/// The cursor and the keys of a `SCAN` reply.
fn parse_reply(reply: Value) -> Result<(u64, Vec<Bytes>)> {
    let malformed = |what: &str| Error::new(ErrorKind::Protocol, format!("SCAN reply: {what}"));
    let Value::Array(mut parts) = reply else {
        return Err(malformed("not an array"));
    };
    if parts.len() != 2 {
        return Err(malformed("not a cursor and a list of keys"));
    }
    let keys = parts.pop();
    let cursor = parts
        .pop()
        .as_ref()
        .and_then(Value::as_bytes)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| malformed("the cursor is not a number"))?;
    let keys = match keys {
        Some(Value::Array(keys) | Value::Set(keys)) => keys
            .into_iter()
            .map(|k| match k {
                Value::Bulk(b) | Value::SimpleString(b) => Ok(b),
                other => Err(malformed(&format!("a key is a {}", other.type_name()))),
            })
            .collect::<Result<Vec<Bytes>>>()?,
        _ => return Err(malformed("the keys are not a list")),
    };
    Ok((cursor, keys))
}

impl RedisCluster {
    /// Scans the keys of every primary with `SCAN`, one node after another, each to the end of
    /// its keyspace. Keys come in batches ([`ClusterScan::next_batch`]) or all at once
    /// ([`ClusterScan::all_keys`]).
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::ScanOptions;
    /// let mut scan = cluster.scan(ScanOptions::new().pattern("user:*").count(500));
    /// while let Some(keys) = scan.next_batch().await? {
    ///     for key in keys {
    ///         println!("{}", String::from_utf8_lossy(&key));
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// A key that a slot migration moves while the scan runs can be missed or returned twice;
    /// see the module notes on [`ClusterScan`].
    pub fn scan(&self, options: ScanOptions) -> ClusterScan {
        ClusterScan::new(self.clone(), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn replies_are_read() {
        let reply = Value::Array(vec![bulk("17"), Value::Array(vec![bulk("a"), bulk("b")])]);
        let (cursor, keys) = parse_reply(reply).unwrap();
        assert_eq!(cursor, 17);
        assert_eq!(
            keys,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );
    }

    #[test]
    fn malformed_replies_are_errors() {
        for reply in [
            Value::Nil,
            Value::Array(vec![bulk("x"), Value::Array(vec![])]),
            Value::Array(vec![bulk("0")]),
            Value::Array(vec![bulk("0"), Value::Int(3)]),
            Value::Array(vec![bulk("0"), Value::Array(vec![Value::Int(1)])]),
        ] {
            let err = parse_reply(reply).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol);
        }
    }

    #[test]
    fn options_build_the_command() {
        let cmd = ScanOptions::new()
            .pattern("k:*")
            .count(100)
            .key_type("hash")
            .command(42);
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(
            args,
            [
                &b"SCAN"[..],
                b"42",
                b"MATCH",
                b"k:*",
                b"COUNT",
                b"100",
                b"TYPE",
                b"hash"
            ]
        );
    }
}
