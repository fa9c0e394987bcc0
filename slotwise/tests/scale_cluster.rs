//! A cluster of 32 primaries with a replica each (64 nodes on this machine): the client builds,
//! reaches every shard by key, keeps its sockets to the nodes it used, and serves a killed
//! primary's slots again after its replica is elected.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use slotwise::commands::StringCommands;
use slotwise::{ClusterCommands, RedisCluster};
use slotwise_testkit::LocalCluster;

use common::faults::{slots_of, victim_and_heir, watch_promotion};

const PRIMARIES: usize = 32;
const KEYS: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_shards_are_served_and_survive_a_kill() {
    let started = Instant::now();
    let cluster = Arc::new(
        tokio::task::spawn_blocking(|| {
            LocalCluster::builder()
                .primaries(PRIMARIES)
                .replicas(1)
                .node_timeout(Duration::from_millis(3000))
                .start()
                .unwrap()
        })
        .await
        .unwrap(),
    );
    let formed = started.elapsed();

    let seed = cluster.primaries().unwrap()[0].port;
    let built_at = Instant::now();
    let client = RedisCluster::new("127.0.0.1", seed).await.unwrap();
    let built = built_at.elapsed();
    assert_eq!(client.get_primaries().len(), PRIMARIES);

    // Keys in every shard, written and read back across slots.
    let keys: Vec<String> = (0..KEYS).map(|i| format!("scale:{i}")).collect();
    let pairs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), k.clone())).collect();
    client.mset_nonatomic(&pairs).await.unwrap();
    let values: Vec<Option<Bytes>> = client.mget_nonatomic(&keys).await.unwrap();
    for (key, value) in keys.iter().zip(&values) {
        assert_eq!(value.as_deref(), Some(key.as_bytes()), "{key}");
    }
    // Every primary served some of them, as its own counters say.
    let served: BTreeSet<String> = client
        .stats()
        .nodes()
        .filter(|(_, s)| s.requests > 0)
        .map(|(name, _)| name.to_owned())
        .collect();
    for primary in cluster.primaries().unwrap() {
        let name = format!("{}:{}", primary.host, primary.port);
        assert!(served.contains(&name), "{name} served nothing: {served:?}");
    }

    // Kill a primary (not the seed); its slots come back once its replica is elected.
    let (victim, heir) = victim_and_heir(&cluster, 1);
    let victim_slots = slots_of(&victim);
    let on_victim: Vec<&String> = keys
        .iter()
        .filter(|k| victim_slots.contains(&RedisCluster::keyslot(k.as_bytes())))
        .collect();
    assert!(!on_victim.is_empty(), "no test key on the victim");
    let killed_at = Instant::now();
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.kill(victim.port).unwrap())
            .await
            .unwrap();
    }
    let elected_at = {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            watch_promotion(&cluster, heir.port, Duration::from_secs(40))
        })
        .await
        .unwrap()
    };
    let key = on_victim[0].clone();
    let wait_until = Instant::now() + Duration::from_secs(20);
    let served_at = loop {
        match client.get::<Bytes>(&key).await {
            Ok(value) => {
                assert_eq!(value.as_deref(), Some(key.as_bytes()));
                break Instant::now();
            }
            Err(e) => assert!(
                Instant::now() < wait_until,
                "{key} not served 20 s after the election: {e}"
            ),
        }
    };
    // Every key reads back, the dead shard's from its new primary.
    let values: Vec<Option<Bytes>> = client.mget_nonatomic(&keys).await.unwrap();
    let missing = keys
        .iter()
        .zip(&values)
        .filter(|(k, v)| v.as_deref() != Some(k.as_bytes()))
        .count();
    // Replication is asynchronous, but these keys were written long before the kill.
    assert_eq!(missing, 0, "keys lost or wrong after the failover");
    println!(
        "{} nodes formed in {formed:?}; client built in {built:?}; election {:?} after the \
         kill; served {:?} after it; {} requests",
        PRIMARIES * 2,
        elected_at - killed_at,
        served_at.saturating_duration_since(elected_at),
        client.stats().total().requests,
    );
}
