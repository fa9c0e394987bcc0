//! What the cluster looks like: hash slots, shards and nodes, as plain data.
//!
//! Pure: no sockets, no tokio. Computes the hash slot of a key ([`keyslot`]), reads the
//! cluster's own description of itself (`CLUSTER SHARDS`, `CLUSTER SLOTS`) into a
//! [`ClusterView`], chooses among the views several nodes gave ([`choose_view`]), and maps each of
//! the 16,384 slots to its shard ([`SlotMap`]), patching one slot at a time on `MOVED`.
//!
//! It does not fetch those replies, decide when to refresh, remap addresses or swap snapshots:
//! that is the cluster module's job.
//!
//! # Layout
//!
//! - `slot`: CRC16 and hash tags.
//! - `view`: [`NodeDesc`], [`ShardDesc`], [`ClusterView`], canonical form, [`choose_view`].
//! - `cluster_shards`, `cluster_slots`: the two discovery replies; `reply` holds what reading
//!   them shares, `endpoint` which host to use for a node.
//! - `map`: [`SlotMap`].
//! - `fixtures/`: real replies from redis-server 7.0.15 for the tests.

mod cluster_shards;
mod cluster_slots;
mod endpoint;
mod map;
mod reply;
mod slot;
#[cfg(test)]
pub(crate) mod test_replies;
mod view;

#[cfg(test)]
pub(crate) use cluster_shards::parse_shards_from;
pub(crate) use cluster_shards::parse_shards_wire;
pub(crate) use cluster_slots::parse_slots_wire;
pub(crate) use endpoint::Origin;
pub(crate) use map::SlotMap;
pub use slot::keyslot;
pub(crate) use view::{
    choose_view, promoted_view, strands_live_slots, ClusterView, NodeDesc, ShardDesc,
};
