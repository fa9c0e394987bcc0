//! Tests of the refresh decisions that need no cluster.

use super::*;
use crate::topology::{NodeDesc, ShardDesc};

fn shard(port: u16, slots: Vec<(u16, u16)>) -> ShardDesc {
    ShardDesc {
        slots,
        primary: NodeDesc {
            id: format!("n{port}"),
            host: "127.0.0.1".into(),
            port,
            online: true,
        },
        replicas: Vec::new(),
    }
}

#[test]
fn a_demotion_lasts_while_the_old_primary_is_slotless() {
    let before = ClusterView {
        shards: vec![shard(1, vec![(0, 16383)])],
    };
    // The failover: the heir owns the slots, the old primary calls itself a slotless primary.
    let during = ClusterView {
        shards: vec![shard(2, vec![(0, 16383)]), shard(1, Vec::new())],
    };
    assert!(lost_its_slots(&during, &before, false));
    // A later view that still lists it so keeps the demotion going, but does not start one.
    assert!(lost_its_slots(&during, &during, true));
    assert!(!lost_its_slots(&during, &during, false));
    // Once it is reported as a replica, the demotion is over.
    let after = ClusterView {
        shards: vec![shard(2, vec![(0, 16383)])],
    };
    assert!(!lost_its_slots(&after, &during, true));
}

#[test]
fn a_view_behind_the_demotion_keeps_it_going() {
    // Installed: the heir serves the slots and the old primary is its replica.
    let mut after = ClusterView {
        shards: vec![shard(2, vec![(0, 16383)])],
    };
    after.shards[0].replicas.push(shard(1, Vec::new()).primary);
    // A node that has not heard of the demotion yet still lists the old primary as a slotless
    // primary: a step back, and the refreshes go on until the nodes catch up.
    let behind = ClusterView {
        shards: vec![shard(2, vec![(0, 16383)]), shard(1, Vec::new())],
    };
    assert!(lost_its_slots(&behind, &after, false));
    // An empty primary the cluster has just added was never a replica or a slot owner.
    let added = ClusterView {
        shards: vec![shard(2, vec![(0, 16383)]), shard(3, Vec::new())],
    };
    assert!(!lost_its_slots(&added, &after, false));
}
