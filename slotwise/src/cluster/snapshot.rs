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
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::connection::ConnectionConfig;

    const SHARDS: u16 = 4;

    fn node(port: u16) -> NodeDesc {
        NodeDesc {
            id: format!("{port:040}"),
            host: "127.0.0.1".into(),
            port,
            online: true,
        }
    }

    /// Shard `i` has primary `7000 + 10 * i` and replicas `+1` and `+2`, the slots split evenly.
    fn shards() -> Vec<ShardDesc> {
        let step = SLOTS / SHARDS;
        (0..SHARDS)
            .map(|i| ShardDesc {
                slots: vec![(
                    i * step,
                    if i + 1 == SHARDS {
                        SLOTS - 1
                    } else {
                        (i + 1) * step - 1
                    },
                )],
                primary: node(7000 + 10 * i),
                replicas: vec![node(7001 + 10 * i), node(7002 + 10 * i)],
            })
            .collect()
    }

    const SLOTS: u16 = 16384;

    /// The map a parser would give for `shards` (a parser's view is in canonical order).
    fn map(shards: Vec<ShardDesc>) -> SlotMap {
        SlotMap::new(ClusterView { shards }.normalized())
    }

    fn registry() -> Registry {
        Registry::new(
            ConnectionConfig::new("127.0.0.1", 6379),
            HashMap::new(),
            None,
        )
    }

    fn first(registry: &Registry, shards: Vec<ShardDesc>) -> Snapshot {
        let table = Arc::new(CommandTable::builtin());
        let snapshot = Snapshot::new(map(shards), registry, table, 1);
        registry.drop_unused(&snapshot, None);
        snapshot
    }

    fn next(previous: &Snapshot, registry: &Registry, shards: Vec<ShardDesc>) -> Snapshot {
        let table = Arc::clone(&previous.table);
        let generation = previous.generation + 1;
        Snapshot::updated(previous, map(shards), registry, table, generation)
    }

    /// The shard of `previous` with the primary of `shard`.
    fn before<'a>(previous: &'a Snapshot, shard: &ShardNodes) -> &'a ShardNodes {
        let name = shard.primary.node.name();
        let found = previous
            .shards
            .iter()
            .find(|p| p.primary.node.name() == name);
        found.unwrap_or_else(|| panic!("{name} is not a primary before"))
    }

    /// True when `shard` has the very entries of the shard of `previous` with its primary.
    fn shares_entries(previous: &Snapshot, shard: &ShardNodes) -> bool {
        let was = before(previous, shard);
        Arc::ptr_eq(&was.primary, &shard.primary)
            && was.replicas.len() == shard.replicas.len()
            && was
                .replicas
                .iter()
                .zip(&shard.replicas)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }

    /// The registry's entries, by name and role.
    fn entries(registry: &Registry) -> HashSet<(String, Role)> {
        let all = registry.all().into_iter();
        all.map(|e| (e.node.name().to_owned(), e.node.role()))
            .collect()
    }

    #[test]
    fn an_unchanged_map_reuses_every_shard_and_sweeps_nothing() {
        let registry = registry();
        let s1 = first(&registry, shards());
        assert!(!s1.nodes_unchanged, "a first snapshot has new nodes");
        assert_eq!(entries(&registry).len(), 12, "three nodes per shard");
        let s2 = next(&s1, &registry, shards());
        assert!(s2.nodes_unchanged, "the same map has the same nodes");
        for shard in &s2.shards {
            assert!(
                shares_entries(&s1, shard),
                "every shard's entries are reused"
            );
        }
        assert!(registry.is_swept(), "no entry was made");
        registry.drop_unused(&s2, None);
        assert_eq!(entries(&registry).len(), 12);
    }

    #[test]
    fn a_range_moved_between_primaries_reuses_every_shard() {
        let registry = registry();
        let s1 = first(&registry, shards());
        // Slots 0..=99 go from shard 0 to shard 1, which now comes first in canonical order.
        let mut moved = shards();
        moved[0].slots = vec![(100, SLOTS / SHARDS - 1)];
        moved[1].slots.insert(0, (0, 99));
        let s2 = next(&s1, &registry, moved);
        assert_eq!(s2.shards[0].primary.node.port(), 7010, "the order changed");
        assert!(s2.nodes_unchanged, "no node came or went");
        for shard in &s2.shards {
            assert!(
                shares_entries(&s1, shard),
                "every shard's entries are reused"
            );
        }
        assert_eq!(s2.node_for_slot(50, None).unwrap().node.port(), 7010);
        assert_eq!(s2.node_for_slot(150, None).unwrap().node.port(), 7000);
    }

    #[test]
    fn a_moved_patch_to_a_primary_reuses_every_shard() {
        let registry = registry();
        let s1 = first(&registry, shards());
        let map = s1.map.with_slot_moved(0, "127.0.0.1", 7030);
        let s2 = Snapshot::updated(&s1, map, &registry, Arc::clone(&s1.table), 2);
        assert!(s2.nodes_unchanged);
        assert!(s2.shards.iter().all(|s| shares_entries(&s1, s)));
        assert_eq!(s2.node_for_slot(0, None).unwrap().node.port(), 7030);
    }

    #[test]
    fn a_moved_patch_to_a_replica_looks_up_its_new_shard() {
        let registry = registry();
        let s1 = first(&registry, shards());
        let map = s1.map.with_slot_moved(0, "127.0.0.1", 7001);
        let s2 = Snapshot::updated(&s1, map, &registry, Arc::clone(&s1.table), 2);
        assert!(!s2.nodes_unchanged, "7001 is a primary now");
        assert!(!registry.is_swept(), "the new primary's entry was made");
        registry.drop_unused(&s2, None);
        assert!(entries(&registry).contains(&("127.0.0.1:7001".to_owned(), Role::Primary)));
        assert!(entries(&registry).contains(&("127.0.0.1:7001".to_owned(), Role::Replica)));
    }

    /// Builds the snapshot after `s1` for `changed` against an empty registry: the shards
    /// looked up have its entries, the others those of `s1`. Returns the shards looked up,
    /// by primary port, and the snapshot.
    fn looked_up(s1: &Snapshot, changed: Vec<ShardDesc>) -> (Vec<u16>, Snapshot) {
        let fresh = registry();
        let s2 = next(s1, &fresh, changed);
        let mut ports = Vec::new();
        for shard in &s2.shards {
            let mine = fresh.all();
            let is_fresh = |e: &Arc<NodeEntry>| mine.iter().any(|m| Arc::ptr_eq(m, e));
            if shard.all().all(is_fresh) {
                ports.push(shard.primary.node.port());
            } else {
                assert!(shard.all().all(|e| !is_fresh(e)), "a shard is reused whole");
            }
        }
        (ports, s2)
    }

    #[test]
    fn a_new_replica_looks_up_only_its_shard() {
        let registry = registry();
        let s1 = first(&registry, shards());
        let mut grown = shards();
        grown[2].replicas.push(node(7003 + 20));
        let (ports, s2) = looked_up(&s1, grown.clone());
        assert_eq!(ports, [7020]);
        assert!(!s2.nodes_unchanged);

        let s2 = next(&s1, &registry, grown);
        assert!(!s2.nodes_unchanged);
        registry.drop_unused(&s2, None);
        assert_eq!(entries(&registry).len(), 13);
        assert!(entries(&registry).contains(&("127.0.0.1:7023".to_owned(), Role::Replica)));
    }

    #[test]
    fn a_failover_looks_up_only_its_shard_and_drops_the_roles_that_left() {
        let registry = registry();
        let s1 = first(&registry, shards());
        let mut failed_over = shards();
        failed_over[1].primary = node(7011);
        failed_over[1].replicas = vec![node(7010), node(7012)];
        let (ports, s2) = looked_up(&s1, failed_over.clone());
        assert_eq!(ports, [7011]);
        assert!(!s2.nodes_unchanged);

        let s2 = next(&s1, &registry, failed_over);
        registry.drop_unused(&s2, None);
        let now = entries(&registry);
        assert_eq!(now.len(), 12);
        assert!(now.contains(&("127.0.0.1:7011".to_owned(), Role::Primary)));
        assert!(now.contains(&("127.0.0.1:7010".to_owned(), Role::Replica)));
        assert!(!now.contains(&("127.0.0.1:7010".to_owned(), Role::Primary)));
        assert!(!now.contains(&("127.0.0.1:7011".to_owned(), Role::Replica)));
    }

    #[test]
    fn a_replica_that_left_is_dropped() {
        let registry = registry();
        let s1 = first(&registry, shards());
        let mut shrunk = shards();
        shrunk[3].replicas.pop();
        let (ports, _) = looked_up(&s1, shrunk.clone());
        assert_eq!(ports, [7030]);
        let s2 = next(&s1, &registry, shrunk);
        assert!(!s2.nodes_unchanged, "a node left");
        assert!(
            registry.is_swept(),
            "no entry was made: only the flag says a node left"
        );
        registry.drop_unused(&s2, None);
        let now = entries(&registry);
        assert_eq!(now.len(), 11);
        assert!(!now.iter().any(|(name, _)| name == "127.0.0.1:7032"));
    }

    #[test]
    fn a_replica_gone_offline_is_dropped_and_the_default_node_kept() {
        let registry = registry();
        let s1 = first(&registry, shards());
        let mut offline = shards();
        offline[0].replicas[1].online = false;
        let s2 = next(&s1, &registry, offline);
        assert!(!s2.nodes_unchanged);
        registry.drop_unused(&s2, Some("127.0.0.1:7002"));
        assert_eq!(entries(&registry).len(), 12, "the default node stays");
        // Another default node: the next sweep looks, though the nodes are the same.
        let s3 = next(&s2, &registry, {
            let mut offline = shards();
            offline[0].replicas[1].online = false;
            offline
        });
        assert!(s3.nodes_unchanged);
        registry.note_maybe_unused();
        registry.drop_unused(&s3, None);
        assert_eq!(entries(&registry).len(), 11);
    }

    #[test]
    fn an_unlisted_shard_is_looked_up_again_when_it_comes_back() {
        let registry = registry();
        // A failed primary that lost its slots: kept for alignment, its entries unused.
        let mut with_old = shards();
        with_old.push(ShardDesc {
            slots: Vec::new(),
            primary: NodeDesc {
                online: false,
                ..node(7100)
            },
            replicas: Vec::new(),
        });
        let s1 = first(&registry, with_old.clone());
        assert!(!s1.shards[4].is_listed());
        assert_eq!(
            entries(&registry).len(),
            12,
            "the unlisted primary's entry is dropped"
        );

        let s2 = next(&s1, &registry, with_old.clone());
        assert!(s2.nodes_unchanged, "an unlisted shard adds no node");
        assert!(Arc::ptr_eq(&s1.shards[4].primary, &s2.shards[4].primary));
        assert!(
            registry.is_swept(),
            "no entry was made for the unlisted shard"
        );
        registry.drop_unused(&s2, None);

        // It comes back with slots: its entry is the registry's, not the one dropped.
        let mut back = with_old;
        back[0].slots = vec![(100, SLOTS / SHARDS - 1)];
        back[4].slots = vec![(0, 99)];
        back[4].primary.online = true;
        let s3 = next(&s2, &registry, back);
        assert!(!s3.nodes_unchanged);
        registry.drop_unused(&s3, None);
        let entry = s3.node_for_slot(0, None).unwrap();
        assert_eq!(entry.node.port(), 7100);
        assert!(registry.all().iter().any(|e| Arc::ptr_eq(e, entry)));
    }
}
