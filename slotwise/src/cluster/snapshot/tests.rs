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
