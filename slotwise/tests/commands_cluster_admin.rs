//! The reporting `CLUSTER` subcommands against a real cluster node: the node's id, state,
//! view of the nodes, shards and slots, and the keys it holds in a slot. Every test runs
//! over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::node_exec::NodeExec;
use slotwise::commands::{ClusterAdminCommands, KeyCommands, StringCommands};
use slotwise::protocol::Value;

const TAG: &str = "cmdtest-cluster";

/// The number of top-level entries of an array or map reply.
fn entries(value: &Value) -> Option<usize> {
    match value {
        Value::Array(items) | Value::Set(items) => Some(items.len()),
        Value::Map(pairs) => Some(pairs.len()),
        _ => None,
    }
}

#[tokio::test]
async fn identity_state_and_topology() {
    let cluster = slotwise_testkit::shared();
    for node in NodeExec::each_protocol(TAG).await {
        let id = node.cluster_myid().await.unwrap();
        assert_eq!(id, cluster.node(node.port).unwrap().id);

        let info = node.cluster_info().await.unwrap();
        assert!(info.contains("cluster_state:ok"), "{info}");
        assert!(info.contains("cluster_slots_assigned:16384"), "{info}");

        let nodes = node.cluster_nodes().await.unwrap();
        let me = nodes
            .lines()
            .find(|line| line.contains("myself"))
            .unwrap_or_else(|| panic!("no myself line in {nodes}"));
        assert!(me.starts_with(&id), "{me}");
        assert_eq!(nodes.lines().count(), cluster.nodes().unwrap().len());

        let primaries = cluster.primaries().unwrap().len();
        // A replica joins its primary's shard through gossip (Valkey gives it a shard id of
        // its own until then): wait for the count to settle.
        let settle_by = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let shards = loop {
            let shards = node.cluster_shards().await.unwrap();
            if entries(&shards) == Some(primaries) || std::time::Instant::now() > settle_by {
                break shards;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(entries(&shards), Some(primaries), "{shards:?}");
        let slots = node.cluster_slots().await.unwrap();
        assert!(entries(&slots) >= Some(primaries), "{slots:?}");
    }
}

#[tokio::test]
async fn slots_and_their_keys() {
    for node in NodeExec::each_protocol(TAG).await {
        let keys: Vec<String> = (0..3).map(|i| node.key(&format!("slot-{i}"))).collect();
        for key in &keys {
            let slot = node.cluster_keyslot(key).await.unwrap();
            assert_eq!(slot, i64::from(node.slot), "{key}");
        }
        assert_eq!(node.cluster_keyslot("123456789").await.unwrap(), 12739);

        let before = node.cluster_countkeysinslot(node.slot).await.unwrap();
        for key in &keys {
            node.set(key, "v").await.unwrap();
        }
        let after = node.cluster_countkeysinslot(node.slot).await.unwrap();
        // Each protocol's run adds its own three keys (a rerun may find them already there).
        assert!(
            after >= 3 && after >= before,
            "before {before}, after {after}"
        );

        let listed: Vec<String> = node.cluster_getkeysinslot(node.slot, 1000).await.unwrap();
        for key in &keys {
            assert!(listed.contains(key), "{key} not in {listed:?}");
        }
        let two: Vec<String> = node.cluster_getkeysinslot(node.slot, 2).await.unwrap();
        assert_eq!(two.len(), 2);
        node.del(&keys).await.unwrap();
    }
}

#[tokio::test]
async fn links_shard_id_and_slot_stats() {
    for node in NodeExec::each_protocol(TAG).await {
        let links = node.cluster_links().await.unwrap();
        assert!(
            matches!(&links, Value::Array(l) if !l.is_empty()),
            "{links:?}"
        );
        // Both are newer than Redis 7.0: an unknown subcommand there, typed replies elsewhere.
        match node.cluster_myshardid().await {
            Ok(id) => assert_eq!(id.len(), 40),
            Err(e) => assert!(e.to_string().contains("nknown subcommand"), "{e}"),
        }
        match node.cluster_slot_stats::<Value>(node.slot, node.slot).await {
            Ok(stats) => assert!(
                matches!(stats, Value::Array(_) | Value::Map(_)),
                "{stats:?}"
            ),
            Err(e) => assert!(e.to_string().contains("nknown subcommand"), "{e}"),
        }
    }
}
