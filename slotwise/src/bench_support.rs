//! What the topology benchmark (`bench/benches/topology.rs`) measures, reachable from outside
//! the crate: not a public API, hidden from the docs and free to change with any release.

use std::collections::HashMap;

use bytes::Bytes;

use crate::cluster::bench::{install_snapshot, NodeSet};
use crate::connection::ConnectionConfig;
use crate::Result;

/// A client's topology state without its sockets: the node registry (which keeps each node's
/// entry across refreshes, as a client's does) and the last snapshot built.
#[derive(Debug)]
pub struct Topology {
    nodes: NodeSet,
}

impl Default for Topology {
    fn default() -> Topology {
        Topology::new()
    }
}

impl Topology {
    /// An empty state: the first install makes every node's entry.
    pub fn new() -> Topology {
        Topology {
            nodes: NodeSet::new(ConnectionConfig::new("127.0.0.1", 6379), HashMap::new()),
        }
    }

    /// Parses `reply`, the RESP bytes of a `CLUSTER SLOTS` answer, and builds and keeps the
    /// snapshot a refresh would install; returns the number of shards.
    pub fn install_slots(&mut self, reply: &[u8]) -> Result<usize> {
        let frame = crate::protocol::WireReply::new(Bytes::copy_from_slice(reply));
        let origin = crate::topology::Origin::new("127.0.0.1", 10_000);
        let view = crate::topology::parse_slots_wire(frame, origin)?;
        Ok(install_snapshot(&mut self.nodes, view))
    }
}

/// The RESP bytes of a `CLUSTER SLOTS` reply for `shards` shards of one primary and `replicas`
/// replicas each on 127.0.0.1 (ports from 10000 up), slots split evenly; with `moved`, the
/// first slot of shard 0 belongs to shard 1 instead (a one-range change).
pub fn slots_reply(shards: usize, replicas: usize, moved: bool) -> Vec<u8> {
    let shards = shards.clamp(1, 16384);
    let mut ranges: Vec<(usize, usize, usize)> = (0..shards)
        .map(|s| (s * 16384 / shards, (s + 1) * 16384 / shards - 1, s))
        .collect();
    if moved && shards > 1 {
        let (first, last, _) = ranges[0];
        ranges[0] = (first + 1, last, 0);
        ranges.push((first, first, 1));
    }
    let mut out = format!("*{}\r\n", ranges.len()).into_bytes();
    for (first, last, shard) in ranges {
        out.extend_from_slice(format!("*{}\r\n:{first}\r\n:{last}\r\n", replicas + 3).as_bytes());
        for n in 0..=replicas {
            let port = 10_000 + shard * (replicas + 1) + n;
            let id = format!("{:040x}", shard * (replicas + 1) + n);
            out.extend_from_slice(
                format!("*3\r\n$9\r\n127.0.0.1\r\n:{port}\r\n$40\r\n{id}\r\n").as_bytes(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_and_install_and_a_move_is_one_more_range() {
        let mut topology = Topology::new();
        for shards in [1, 3, 1_000] {
            assert_eq!(
                topology
                    .install_slots(&slots_reply(shards, 2, false))
                    .unwrap(),
                shards
            );
        }
        assert_eq!(topology.install_slots(&slots_reply(3, 2, true)).unwrap(), 3);
        assert!(topology.install_slots(b"*1\r\n").is_err());
    }
}
