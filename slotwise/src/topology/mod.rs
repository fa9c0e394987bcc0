//! What the cluster looks like: hash slots, shards and nodes, as plain data.
//!
//! Pure: no sockets, no tokio. Parses the cluster's own description of itself (`CLUSTER SHARDS`,
//! `CLUSTER SLOTS`), chooses among the views several nodes gave, and maps each of the 16,384
//! slots to its shard. Fetching those replies and swapping snapshots is the cluster module's job.

mod map;
mod slot;
mod view;

pub(crate) use map::SlotMap;
pub use slot::keyslot;
pub(crate) use view::{choose_view, parse_shards, parse_slots, ClusterView, NodeDesc, ShardDesc};
