//! [`ClusterAdminCommands`]: the `CLUSTER` subcommands that report on the cluster: its state,
//! nodes, shards and slots, and which keys live where.
//!
//! It does not own topology discovery (the topology module parses `CLUSTER SHARDS` and
//! `CLUSTER SLOTS` for the client itself; these methods hand the raw replies to the caller),
//! nor the subcommands that change the cluster (`MEET`, `ADDSLOTS`, `FAILOVER` …), which a
//! client library should not invite by accident.
//!
//! Most of these describe the node that answers, so the executor's choice of node matters:
//! `cluster_countkeysinslot` and `cluster_getkeysinslot` only see keys on the slot's owner.

use super::Executor;
use crate::protocol::{Cmd, FromValue, ToArgs, Value};

/// The reporting `CLUSTER` subcommands. Implemented for every [`Executor`].
///
/// Named `ClusterAdminCommands` so it does not read as the cluster client itself.
pub trait ClusterAdminCommands: Executor {
    /// `CLUSTER INFO`: the node's view of the cluster as `key:value` lines
    /// (`cluster_state:ok`, `cluster_slots_assigned:16384` …).
    fn cluster_info(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["CLUSTER", "INFO"]))
    }

    /// `CLUSTER NODES`: the node's view of every node, one line each, in the server's
    /// format.
    fn cluster_nodes(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["CLUSTER", "NODES"]))
    }

    /// `CLUSTER SHARDS` (Redis 7.0 and later): every shard with its slot ranges and nodes,
    /// as the nested reply the server sent.
    fn cluster_shards(&self) -> Self::Output<Value> {
        self.execute(Cmd::new(["CLUSTER", "SHARDS"]))
    }

    /// `CLUSTER SLOTS`: every slot range with its primary and replicas, as the nested reply
    /// the server sent.
    fn cluster_slots(&self) -> Self::Output<Value> {
        self.execute(Cmd::new(["CLUSTER", "SLOTS"]))
    }

    /// `CLUSTER KEYSLOT key`: the hash slot of a key, computed by the server.
    /// [`keyslot`](crate::keyslot) computes the same locally.
    fn cluster_keyslot(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new(["CLUSTER", "KEYSLOT"]).arg(key))
    }

    /// `CLUSTER COUNTKEYSINSLOT slot`: how many keys the answering node holds in the slot.
    fn cluster_countkeysinslot(&self, slot: u16) -> Self::Output<i64> {
        self.execute(Cmd::new(["CLUSTER", "COUNTKEYSINSLOT"]).arg(slot))
    }

    /// `CLUSTER GETKEYSINSLOT slot count`: up to `count` key names the answering node holds
    /// in the slot, e.g. as `Vec<String>`.
    fn cluster_getkeysinslot<T: FromValue + Send + 'static>(
        &self,
        slot: u16,
        count: u64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new(["CLUSTER", "GETKEYSINSLOT"]).arg(slot).arg(count))
    }

    /// `CLUSTER MYID`: the answering node's 40-character id.
    fn cluster_myid(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["CLUSTER", "MYID"]))
    }

    /// `CLUSTER MYSHARDID` (Redis 7.2 and later, Valkey): the id of the answering node's
    /// shard.
    fn cluster_myshardid(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["CLUSTER", "MYSHARDID"]))
    }

    /// `CLUSTER LINKS`: the answering node's cluster bus links, one map per link, as the
    /// nested reply the server sent.
    fn cluster_links(&self) -> Self::Output<Value> {
        self.execute(Cmd::new(["CLUSTER", "LINKS"]))
    }

    /// `CLUSTER SLOT-STATS SLOTSRANGE start end` (Valkey 8.0 and later): per-slot key counts
    /// and usage for the slots from `start` to `end` that the answering node owns.
    fn cluster_slot_stats<T: FromValue + Send + 'static>(
        &self,
        start: u16,
        end: u16,
    ) -> Self::Output<T> {
        let cmd = Cmd::new(["CLUSTER", "SLOT-STATS", "SLOTSRANGE"]);
        self.execute(cmd.arg(start).arg(end))
    }
}

impl<E: Executor + ?Sized> ClusterAdminCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.cluster_info(), ["CLUSTER", "INFO"]);
        assert_eq!(ArgsOf.cluster_nodes(), ["CLUSTER", "NODES"]);
        assert_eq!(ArgsOf.cluster_shards(), ["CLUSTER", "SHARDS"]);
        assert_eq!(ArgsOf.cluster_slots(), ["CLUSTER", "SLOTS"]);
        assert_eq!(ArgsOf.cluster_keyslot("k"), ["CLUSTER", "KEYSLOT", "k"]);
        assert_eq!(
            ArgsOf.cluster_countkeysinslot(12739),
            ["CLUSTER", "COUNTKEYSINSLOT", "12739"]
        );
        assert_eq!(
            ArgsOf.cluster_getkeysinslot::<Vec<String>>(7, 10),
            ["CLUSTER", "GETKEYSINSLOT", "7", "10"]
        );
        assert_eq!(ArgsOf.cluster_myid(), ["CLUSTER", "MYID"]);
    }

    #[test]
    fn more_reports() {
        assert_eq!(ArgsOf.cluster_myshardid(), ["CLUSTER", "MYSHARDID"]);
        assert_eq!(ArgsOf.cluster_links(), ["CLUSTER", "LINKS"]);
        assert_eq!(
            ArgsOf.cluster_slot_stats::<Value>(0, 100),
            ["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "0", "100"]
        );
    }
}
