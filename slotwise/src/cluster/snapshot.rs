//! The snapshot: one immutable picture of the cluster that every command reads without a lock.
//!
//! A [`Snapshot`] joins the pure slot map with the live node entries (and so their connections)
//! and the command table. It is replaced whole, through an atomic pointer, when the topology
//! changes; commands already running keep the snapshot they started with.
//!
//! A refresh builds the next snapshot from the installed one ([`Snapshot::updated`]): a shard
//! whose primary and online replicas are the same keeps its entries and its read-choice state,
//! and only changed shards look their nodes up in the registry, so a refresh that moves one slot
//! range does not touch every node.
//!
//! This module does not fetch topology (see `refresh`) or send commands (see `dispatch`).

use std::collections::HashMap;
use std::sync::Arc;

use super::node::{NodeEntry, Registry, Role};
use super::read_from::{ReadFrom, ShardChoice};
use crate::error::{Error, ErrorKind, Result};
use crate::routing::CommandTable;
use crate::topology::{ClusterView, NodeDesc, ShardDesc, SlotMap};

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

    /// The nodes of `shard`, taken from the registry.
    fn looked_up(shard: &ShardDesc, registry: &Registry) -> ShardNodes {
        ShardNodes {
            primary: registry.entry(&shard.primary.host, shard.primary.port, Role::Primary),
            replicas: shard
                .replicas
                .iter()
                .filter(|r| r.online)
                .map(|r| registry.entry(&r.host, r.port, Role::Replica))
                .collect(),
            choice: ShardChoice::new(),
            listed: is_listed(shard),
        }
    }

    /// The nodes of `shard` when they are this shard's (the same primary and online replicas,
    /// in order), sharing its entries and carrying its choice on: the replica indices it holds
    /// still name the same nodes.
    fn reused_for(&self, shard: &ShardDesc) -> Option<ShardNodes> {
        let same = |entry: &NodeEntry, n: &NodeDesc| {
            entry.node.port() == n.port && entry.node.host() == n.host
        };
        if !same(&self.primary, &shard.primary) {
            return None;
        }
        let mut online = shard.replicas.iter().filter(|r| r.online);
        for replica in &self.replicas {
            if !online.next().is_some_and(|r| same(replica, r)) {
                return None;
            }
        }
        if online.next().is_some() {
            return None;
        }
        Some(ShardNodes {
            primary: Arc::clone(&self.primary),
            replicas: self.replicas.clone(),
            choice: self.choice.carried(),
            listed: is_listed(shard),
        })
    }
}

/// False for a shard that only remembers a replaced primary (see [`ShardNodes::is_listed`]).
fn is_listed(shard: &ShardDesc) -> bool {
    shard.primary.online || !shard.slots.is_empty()
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
    /// Built by [`Snapshot::updated`] with exactly the listed nodes of the snapshot before it,
    /// none looked up in the registry: installing it leaves no registry entry unused that was
    /// in use before (see [`Registry::drop_unused`]).
    pub(crate) nodes_unchanged: bool,
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
            .map(|shard| ShardNodes::looked_up(shard, registry))
            .collect();
        Snapshot {
            map,
            shards,
            table,
            generation,
            nodes_unchanged: false,
        }
    }

    /// Builds the snapshot that follows `previous` for a new slot map. A shard whose primary and
    /// online replicas a listed shard of `previous` has too (looked for at the same index, then
    /// by primary) shares that shard's entries and carries its read choice on; only the other
    /// shards look their nodes up in the registry. The entries of a shard `previous` does not
    /// list go only to a shard that is not listed either: the registry may have dropped them,
    /// and no command is sent to a shard that is not listed.
    pub(crate) fn updated(
        previous: &Snapshot,
        map: SlotMap,
        registry: &Registry,
        table: Arc<CommandTable>,
        generation: u64,
    ) -> Snapshot {
        // Built only if a shard is not where it was.
        let mut by_primary: Option<HashMap<(&str, u16), usize>> = None;
        let mut reused = vec![false; previous.shards.len()];
        let mut looked_up = false;
        let mut shards = Vec::with_capacity(map.shards().len());
        for (index, shard) in map.shards().iter().enumerate() {
            let listed = is_listed(shard);
            let at = |i: usize| {
                previous
                    .shards
                    .get(i)
                    .filter(|p| p.listed || !listed)
                    .and_then(|p| p.reused_for(shard))
                    .map(|nodes| (i, nodes))
            };
            let found = at(index).or_else(|| {
                let by_primary = by_primary.get_or_insert_with(|| previous.listed_by_primary());
                let key = (shard.primary.host.as_str(), shard.primary.port);
                by_primary.get(&key).and_then(|&i| at(i))
            });
            let nodes = match found {
                Some((i, nodes)) => {
                    if let Some(r) = reused.get_mut(i) {
                        *r |= nodes.listed;
                    }
                    nodes
                }
                None => {
                    let nodes = ShardNodes::looked_up(shard, registry);
                    looked_up |= nodes.listed;
                    nodes
                }
            };
            shards.push(nodes);
        }
        // Every listed node came from a listed shard before, and every listed shard before
        // gave its nodes to a listed shard now: the same set of nodes.
        let nodes_unchanged = !looked_up
            && previous
                .shards
                .iter()
                .zip(&reused)
                .all(|(p, &r)| r || !p.listed);
        Snapshot {
            map,
            shards,
            table,
            generation,
            nodes_unchanged,
        }
    }

    /// The index of each listed shard, by its primary's host and port (the first, for a
    /// primary listed twice).
    fn listed_by_primary(&self) -> HashMap<(&str, u16), usize> {
        let mut by_primary = HashMap::with_capacity(self.shards.len());
        for (i, s) in self.shards.iter().enumerate().filter(|(_, s)| s.listed) {
            by_primary
                .entry((s.primary.node.host(), s.primary.node.port()))
                .or_insert(i);
        }
        by_primary
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

    /// Every node by host and port, as [`find`](Self::find) would find it (a node that is a
    /// primary and a replica of another shard: its primary entry).
    pub(crate) fn by_address(&self) -> HashMap<(&str, u16), &Arc<NodeEntry>> {
        let mut by_address = HashMap::new();
        for entry in self.all() {
            by_address
                .entry((entry.node.host(), entry.node.port()))
                .or_insert(entry);
        }
        by_address
    }

    /// True when `entry` is one of this snapshot's primaries.
    pub(crate) fn is_primary(&self, name: &str) -> bool {
        self.primaries().any(|e| e.node.name() == name)
    }
}

#[cfg(test)]
mod tests;
