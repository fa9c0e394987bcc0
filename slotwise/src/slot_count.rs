//! The number of hash slots in a Redis Cluster, the one fact of the cluster protocol that the
//! bottom layer needs.
//!
//! A leaf: it imports nothing, so `error` (checking the slot of a redirection) and `protocol`
//! (which re-exports it as `slotwise::protocol::SLOT_COUNT`) share it without depending on each
//! other. Hashing a key to its slot is not here: see `keyslot` in `topology`.

/// The number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: u16 = 16384;
