//! The slot map: each of the 16,384 slots to the index of the shard that serves it.

use super::view::{ClusterView, ShardDesc};

/// Slot → shard, built from a [`ClusterView`].
#[derive(Clone, Debug)]
pub(crate) struct SlotMap {
    shards: Vec<ShardDesc>,
}

impl SlotMap {
    /// Builds the map; slots no shard claims are uncovered.
    pub(crate) fn new(view: ClusterView) -> SlotMap {
        SlotMap {
            shards: view.shards,
        }
    }

    /// The shards, in the order their indices refer to.
    pub(crate) fn shards(&self) -> &[ShardDesc] {
        &self.shards
    }

    /// The index of the shard serving `slot`, if any.
    pub(crate) fn shard_of(&self, slot: u16) -> Option<usize> {
        let _ = slot;
        None
    }

    /// A copy where `slot` belongs to the shard whose primary is `host:port`.
    pub(crate) fn with_slot_moved(&self, slot: u16, host: &str, port: u16) -> SlotMap {
        let _ = (slot, host, port);
        self.clone()
    }

    /// Inclusive ranges of slots that no shard serves.
    pub(crate) fn uncovered(&self) -> Vec<(u16, u16)> {
        Vec::new()
    }
}
