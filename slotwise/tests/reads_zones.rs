//! Reads by availability zone. On Valkey 8.1 with a zone set on every node: reads go to the
//! zone's replicas only, then, as replicas are killed, to the shard's other replica or its
//! primary in the zone, then to the primary, counted by each node's own `INFO commandstats`. On
//! Redis, which reports no zone: the documented fallback (any replica), and zones given by
//! address in `node_zones`.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::stats::{served_by, until_served_by};
use slotwise::protocol::{Cmd, Value};
use slotwise::{ReadFrom, RedisCluster};
use slotwise_testkit::LocalCluster;

/// The zone the clients read in.
const ZONE: &str = "b";

/// 3 primaries with 2 replicas each on Valkey. In every shard, replica 0 is in zone "a" and
/// replica 1 in zone "b"; the primaries are in "b", "a" and "c".
fn zoned_valkey() -> LocalCluster {
    let mut builder = LocalCluster::builder()
        .valkey(true)
        .primaries(3)
        .replicas(2);
    for (shard, zone) in ["b", "a", "c"].into_iter().enumerate() {
        builder = builder
            .node_config(shard, &[("availability-zone", zone)])
            .node_config(3 + shard * 2, &[("availability-zone", "a")])
            .node_config(3 + shard * 2 + 1, &[("availability-zone", "b")]);
    }
    builder.start().unwrap()
}

/// One shard as the test kit sees it.
#[derive(Debug)]
struct Shard {
    primary: u16,
    /// Replica port by zone ("" on Redis).
    replicas: HashMap<String, u16>,
    /// A key this shard serves.
    key: String,
}

/// The node's own `availability-zone` setting; empty on Redis, which has none.
fn zone_of(kit: &LocalCluster, port: u16) -> String {
    let reply = kit
        .call(
            port,
            &Cmd::new("CONFIG").arg("GET").arg("availability-zone"),
        )
        .unwrap();
    let items = match reply {
        Value::Array(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => panic!("CONFIG GET replied {other:?}"),
    };
    match items.get(1) {
        Some(zone) => String::from_utf8(zone.as_bytes().unwrap().to_vec()).unwrap(),
        None => String::new(),
    }
}

/// Every shard, with a key of its own (`prefix` + a number) set and copied to its replicas.
fn shards(kit: &LocalCluster, prefix: &str) -> Vec<Shard> {
    let nodes = kit.nodes().unwrap();
    let mut shards: Vec<Shard> = Vec::new();
    for primary in nodes.iter().filter(|n| n.is_primary()) {
        let key = (0..)
            .map(|i| format!("{prefix}{i}"))
            .find(|k| primary.owns_slot(kit.slot_of_key(k).unwrap()))
            .unwrap();
        kit.call(primary.port, &Cmd::new("SET").arg(&key).arg("v"))
            .unwrap();
        let copies = nodes
            .iter()
            .filter(|n| n.primary_id.as_deref() == Some(primary.id.as_str()))
            .count();
        kit.call(primary.port, &Cmd::new("WAIT").arg(copies).arg(5000))
            .unwrap();
        let replicas = nodes
            .iter()
            .filter(|n| n.primary_id.as_deref() == Some(primary.id.as_str()))
            .map(|n| (zone_of(kit, n.port), n.port))
            .collect();
        shards.push(Shard {
            primary: primary.port,
            replicas,
            key,
        });
    }
    shards
}

async fn client(seed: &str, read_from: ReadFrom) -> RedisCluster {
    RedisCluster::builder()
        .url(seed)
        .read_from(read_from)
        .latency_probe_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valkey_reads_stay_in_the_zone_and_fall_back_as_replicas_go() {
    let kit = zoned_valkey();
    let shards = shards(&kit, "zone:");
    let seed = kit.seed_url();
    let az = client(&seed, ReadFrom::AzAffinity(ZONE.into())).await;
    let azp = client(&seed, ReadFrom::AzAffinityReplicasAndPrimary(ZONE.into())).await;

    // Every zone is learned from the nodes' HELLO replies, before the first read.
    for node in az.get_nodes() {
        let zone = zone_of(&kit, node.port());
        assert_eq!(
            az.node_zone(&node).as_deref(),
            Some(zone.as_str()),
            "{node}"
        );
    }

    // All reads on the zone's replicas, each shard's own, in both variants.
    let keys: Vec<&str> = shards.iter().map(|s| s.key.as_str()).collect();
    let in_zone: HashMap<u16, u64> = shards.iter().map(|s| (s.replicas[ZONE], 10)).collect();
    for c in [&az, &azp] {
        assert_eq!(
            served_by(&kit, c, &keys, 10).await,
            in_zone,
            "{:?}",
            c.read_from()
        );
    }

    // Shard 0 (primary in the zone) loses its replica in the zone: AzAffinity goes to the other
    // replica, the primary variant to the primary in the zone.
    let (s0, s1) = (&shards[0], &shards[1]);
    assert_eq!(zone_of(&kit, s0.primary), ZONE);
    kit.kill(s0.replicas[ZONE]).unwrap();
    until_served_by(&kit, &az, &s0.key, s0.replicas["a"]).await;
    until_served_by(&kit, &azp, &s0.key, s0.primary).await;

    // Shard 1 (primary elsewhere) loses its replica in the zone: both go to the other replica.
    kit.kill(s1.replicas[ZONE]).unwrap();
    until_served_by(&kit, &az, &s1.key, s1.replicas["a"]).await;
    until_served_by(&kit, &azp, &s1.key, s1.replicas["a"]).await;

    // Shard 0 has no replica left: AzAffinity reads from the primary.
    kit.kill(s0.replicas["a"]).unwrap();
    until_served_by(&kit, &az, &s0.key, s0.primary).await;

    // Shard 2 never noticed.
    let s2 = &shards[2];
    for c in [&az, &azp] {
        let served = served_by(&kit, c, &[s2.key.as_str()], 10).await;
        assert_eq!(served, HashMap::from([(s2.replicas[ZONE], 10)]));
    }
}

#[tokio::test]
async fn redis_reports_no_zone_and_zone_reads_go_to_any_replica() {
    let kit = slotwise_testkit::shared();
    let shards = shards(kit, "nozone:");
    let az = client(&kit.seed_url(), ReadFrom::AzAffinity(ZONE.into())).await;
    for node in az.get_nodes() {
        assert_eq!(az.node_zone(&node), None, "{node}");
    }
    // One replica per shard, in no known zone: every read goes to it, as with PreferReplica.
    for shard in &shards {
        let replica = *shard.replicas.values().next().unwrap();
        let served = served_by(kit, &az, &[shard.key.as_str()], 10).await;
        assert_eq!(served, HashMap::from([(replica, 10)]), "{}", shard.key);
    }
}

#[tokio::test]
async fn zones_given_by_address_serve_servers_that_report_none() {
    let kit = slotwise_testkit::shared();
    let shards = shards(kit, "mapzone:");
    let (s0, s1) = (&shards[0], &shards[1]);
    let s1_replica = *s1.replicas.values().next().unwrap();
    let zones = [
        (format!("127.0.0.1:{}", s0.primary), ZONE),
        (format!("127.0.0.1:{s1_replica}"), ZONE),
    ];
    let azp = RedisCluster::builder()
        .url(&kit.seed_url())
        .node_zones(zones)
        .read_from(ReadFrom::AzAffinityReplicasAndPrimary(ZONE.into()))
        .build()
        .await
        .unwrap();
    let s0_node = azp.get_node("127.0.0.1", s0.primary).unwrap();
    assert_eq!(azp.node_zone(&s0_node).as_deref(), Some(ZONE));
    // Shard 0: its primary is the only node in the zone, and comes before its replica.
    let served = served_by(kit, &azp, &[s0.key.as_str()], 10).await;
    assert_eq!(served, HashMap::from([(s0.primary, 10)]));
    // Shard 1: its replica is in the zone.
    let served = served_by(kit, &azp, &[s1.key.as_str()], 10).await;
    assert_eq!(served, HashMap::from([(s1_replica, 10)]));
}
