//! The snapshot: one immutable picture of the cluster that every command reads without a lock.
//!
//! A [`Snapshot`] joins the pure slot map with the live node entries (and so their connections)
//! and the command table. It is replaced whole, through an atomic pointer, when the topology
//! changes; commands already running keep the snapshot they started with.
//!
//! This module does not fetch topology (see `refresh`) or send commands (see `dispatch`).

use std::sync::Arc;

use super::node::{NodeEntry, Registry, Role};
use super::read_from::{ReadFrom, ShardChoice};
use crate::error::{Error, ErrorKind, Result};
use crate::routing::CommandTable;
use crate::topology::{ClusterView, SlotMap};

/// The nodes of one shard.
#[derive(Debug)]
pub(crate) struct ShardNodes {
    pub(crate) primary: Arc<NodeEntry>,
    /// Replicas the cluster reports online.
    pub(crate) replicas: Vec<Arc<NodeEntry>>,
    /// Whose turn it is among the replicas, and the lowest-latency node chosen so far.
    choice: ShardChoice,
    /// False for a shard that only remembers a failed primary without slots (a primary that was
    /// replaced): it is kept so slot indices stay aligned, but no command goes there.
    listed: bool,
}

impl ShardNodes {
    /// False for a shard kept only to remember a replaced primary.
    pub(crate) fn is_listed(&self) -> bool {
        self.listed
    }

    /// The primary, then the replicas.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<NodeEntry>> {
        std::iter::once(&self.primary).chain(&self.replicas)
    }
}

/// One picture of the cluster.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) map: SlotMap,
    pub(crate) shards: Vec<ShardNodes>,
    pub(crate) table: Arc<CommandTable>,
    /// Increases with every new snapshot, so callers can tell whether a refresh happened since
    /// they looked.
    pub(crate) generation: u64,
}

impl Snapshot {
    /// Builds a snapshot from a slot map, taking node entries from the registry.
    pub(crate) fn new(
        map: SlotMap,
        registry: &Registry,
        table: Arc<CommandTable>,
        generation: u64,
    ) -> Snapshot {
        let shards = map
            .shards()
            .iter()
            .map(|shard| ShardNodes {
                primary: registry.entry(&shard.primary.host, shard.primary.port, Role::Primary),
                replicas: shard
                    .replicas
                    .iter()
                    .filter(|r| r.online)
                    .map(|r| registry.entry(&r.host, r.port, Role::Replica))
                    .collect(),
                choice: ShardChoice::new(),
                listed: shard.primary.online || !shard.slots.is_empty(),
            })
            .collect();
        Snapshot {
            map,
            shards,
            table,
            generation,
        }
    }

    /// Builds a snapshot from a view.
    pub(crate) fn from_view(
        view: ClusterView,
        registry: &Registry,
        table: Arc<CommandTable>,
        generation: u64,
    ) -> Snapshot {
        Snapshot::new(SlotMap::new(view), registry, table, generation)
    }

    /// The node to send a command on `slot` to. `read` is the read strategy for a read-only
    /// command, `None` for anything else.
    pub(crate) fn node_for_slot(
        &self,
        slot: u16,
        read: Option<&ReadFrom>,
    ) -> Result<&Arc<NodeEntry>> {
        let Some(index) = self.map.shard_of(slot) else {
            return Err(Error::new(
                ErrorKind::SlotNotCovered,
                format!("no node serves slot {slot}"),
            ));
        };
        let Some(shard) = self.shards.get(index) else {
            return Err(Error::new(
                ErrorKind::SlotNotCovered,
                format!("slot {slot} maps to a missing shard"),
            ));
        };
        let Some(read) = read else {
            return Ok(&shard.primary);
        };
        match read.pick(&shard.primary, &shard.replicas, &shard.choice) {
            Ok(None) => Ok(&shard.primary),
            Ok(Some(i)) => Ok(shard.replicas.get(i).unwrap_or(&shard.primary)),
            Err(()) => Err(Error::new(
                ErrorKind::NoReachableNode,
                format!("no replica online for slot {slot} (read strategy Replica)"),
            )),
        }
    }

    /// Every primary, in shard order.
    pub(crate) fn primaries(&self) -> impl Iterator<Item = &Arc<NodeEntry>> {
        self.shards.iter().filter(|s| s.listed).map(|s| &s.primary)
    }

    /// The primaries that raise the cluster's events now: those serving slots, less one whose
    /// replica a `MOVED` already named as the new owner of its slots
    /// (`SlotMap::serving_shards`). What a subscription on every primary covers.
    pub(crate) fn serving_primaries(&self) -> Vec<&Arc<NodeEntry>> {
        self.map
            .serving_shards()
            .into_iter()
            .filter_map(|i| self.shards.get(i))
            .map(|s| &s.primary)
            .collect()
    }

    /// Every online replica, in shard order.
    pub(crate) fn replicas(&self) -> impl Iterator<Item = &Arc<NodeEntry>> {
        self.shards
            .iter()
            .filter(|s| s.listed)
            .flat_map(|s| s.replicas.iter())
    }

    /// Every node: primaries first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<NodeEntry>> {
        self.primaries().chain(self.replicas())
    }

    /// The node named `host:port`, if the topology has it.
    pub(crate) fn find(&self, name: &str) -> Option<&Arc<NodeEntry>> {
        self.all().find(|e| e.node.name() == name)
    }

    /// True when `entry` is one of this snapshot's primaries.
    pub(crate) fn is_primary(&self, name: &str) -> bool {
        self.primaries().any(|e| e.node.name() == name)
    }
}
