//! Reads by lowest latency: the shard's replica and primary are reached through proxies that
//! delay their replies (the primary by 10 ms); reads go to the faster replica, leave it when
//! it is slowed down, and come back once it is fast again. Which node served is counted by each
//! node's own `INFO commandstats`.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::delay_proxy::DelayProxy;
use common::stats::until_served_by;
use slotwise::protocol::Cmd;
use slotwise::{ReadFrom, RedisCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_leave_a_slowed_replica_and_come_back() {
    let kit = slotwise_testkit::shared();
    let primary = kit.primaries().unwrap()[0].clone();
    let replica = kit
        .replicas()
        .unwrap()
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(primary.id.as_str()))
        .unwrap();
    let key = (0..)
        .map(|i| format!("latency:{i}"))
        .find(|k| primary.owns_slot(kit.slot_of_key(k).unwrap()))
        .unwrap();
    kit.call(primary.port, &Cmd::new("SET").arg(&key).arg("v"))
        .unwrap();
    kit.call(primary.port, &Cmd::new("WAIT").arg(1).arg(5000))
        .unwrap();

    let to_primary = DelayProxy::start(primary.port, Duration::from_millis(10)).await;
    let to_replica = DelayProxy::start(replica.port, Duration::ZERO).await;
    let (p, pp, r, rp) = (
        primary.port,
        to_primary.port(),
        replica.port,
        to_replica.port(),
    );
    let cluster = RedisCluster::builder()
        .url(&kit.seed_url())
        .address_remap(move |host, port| match port {
            port if port == p => (host.to_owned(), pp),
            port if port == r => (host.to_owned(), rp),
            port => (host.to_owned(), port),
        })
        .read_from(ReadFrom::LowestLatency)
        .latency_probe_interval(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    // Both measured before the first read.
    let latency = |port| {
        let node = cluster.get_node("127.0.0.1", port).unwrap();
        cluster.node_latency(&node).unwrap()
    };
    assert!(
        latency(rp) < latency(pp),
        "{:?} {:?}",
        latency(rp),
        latency(pp)
    );

    // The replica answers in a fraction of the primary's 10 ms.
    until_served_by(kit, &cluster, &key, r).await;
    // Slowed to 40 ms: the primary is the faster now.
    to_replica.set_delay(Duration::from_millis(40));
    until_served_by(kit, &cluster, &key, p).await;
    // Fast again: back to the replica.
    to_replica.set_delay(Duration::ZERO);
    until_served_by(kit, &cluster, &key, r).await;
}
