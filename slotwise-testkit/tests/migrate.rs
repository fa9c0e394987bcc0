//! Slot migration, step by step and at once: a half-migrated slot is MIGRATING on the source
//! and IMPORTING on the target with some keys moved (and the source answers ASK for them);
//! finishing moves the rest and the slot.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use slotwise::protocol::{Cmd, Value};
use slotwise_testkit::LocalCluster;

/// `CLUSTER COUNTKEYSINSLOT` on one node; `None` if the reply is not an integer.
fn count_keys(cluster: &LocalCluster, port: u16, slot: u16) -> Option<i64> {
    let cmd = Cmd::new("CLUSTER").arg("COUNTKEYSINSLOT").arg(slot);
    match cluster.call(port, &cmd).ok()? {
        Value::Int(n) => Some(n),
        _ => None,
    }
}

#[test]
fn stepwise_migration_holds_the_slot_half_way_then_moves_it() {
    let cluster = LocalCluster::builder()
        .primaries(2)
        .replicas(1)
        .start()
        .unwrap();
    let slot = cluster.slot_of_key("{mig}").unwrap();
    let source = cluster.node_for_slot(slot).unwrap();
    let target = cluster.other_primary(source.port).unwrap();
    let keys: Vec<String> = (0..10).map(|i| format!("{{mig}}:{i}")).collect();
    for key in &keys {
        cluster
            .call(source.port, &Cmd::new("SET").arg(key).arg("v"))
            .unwrap();
    }

    let mut migration = cluster.begin_migration(slot, target.port).unwrap();
    assert_eq!(migration.source_port(), source.port);
    assert_eq!(migration.move_keys(3).unwrap(), 3);
    assert_eq!(migration.keys_left().unwrap(), 7);
    assert_eq!(count_keys(&cluster, source.port, slot), Some(7));
    assert_eq!(count_keys(&cluster, target.port, slot), Some(3));

    let source_now = cluster.node(source.port).unwrap();
    assert_eq!(source_now.migrating, vec![(slot, target.id.clone())]);
    assert!(
        source_now.owns_slot(slot),
        "the source keeps the slot while migrating"
    );
    let target_now = cluster.node(target.port).unwrap();
    assert_eq!(target_now.importing, vec![(slot, source.id.clone())]);

    // A key that moved is answered with ASK by the source; the others are still served there.
    let replies: Vec<_> = keys
        .iter()
        .map(|k| cluster.call(source.port, &Cmd::new("GET").arg(k.as_str())))
        .collect();
    let asks: Vec<String> = replies
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    assert_eq!(
        asks.len(),
        3,
        "expected ASK for the 3 moved keys, got {replies:?}"
    );
    let expected = format!("ASK {slot} 127.0.0.1:{}", target.port);
    assert!(asks.iter().all(|a| a.contains(&expected)), "{asks:?}");

    assert_eq!(migration.finish().unwrap(), 7);
    assert_eq!(cluster.node_for_slot(slot).unwrap().port, target.port);
    assert_eq!(count_keys(&cluster, target.port, slot), Some(10));
    assert_eq!(count_keys(&cluster, source.port, slot), Some(0));
    for node in cluster.nodes().unwrap() {
        assert!(
            node.migrating.is_empty() && node.importing.is_empty(),
            "{node:?}"
        );
    }

    // And back in one call.
    assert_eq!(cluster.migrate_slot(slot, source.port).unwrap(), 10);
    assert_eq!(cluster.node_for_slot(slot).unwrap().port, source.port);
    assert_eq!(count_keys(&cluster, source.port, slot), Some(10));
}
