//! Per-node counts in `Stats`: requests go to the node of their key and add up to the total,
//! latency percentiles are present and ordered, in-flight requests come back to zero, a `MOVED`
//! counts on the node that sent it, and a connection lost (killed by the server, or with the
//! node) and opened again counts as a reconnect.
//!
//! Every test builds its own client, so its counts are its own; they share one cluster, where
//! the `MOVED` test moves one slot of its own. The node restart gets a cluster of its own.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use slotwise::commands::{BlockingCommands, ListCommands, StringCommands};
use slotwise::{ClusterNode, NodeStats, RedisCluster};
use slotwise_testkit::LocalCluster;

/// A client of `cluster` with no periodic refresh: every request it sends is one of the test's.
async fn quiet_client(cluster: &LocalCluster) -> RedisCluster {
    let port = cluster.primaries().unwrap()[0].port;
    RedisCluster::builder()
        .startup_node(ClusterNode::new("127.0.0.1", port))
        .refresh_interval(None)
        .build()
        .await
        .unwrap()
}

fn stats_of(client: &RedisCluster, node: &ClusterNode) -> NodeStats {
    client
        .node_stats(node)
        .unwrap_or_else(|| panic!("no stats for {node}: {:?}", client.stats()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_node_requests_add_up_to_the_total() {
    let client = quiet_client(slotwise_testkit::shared()).await;
    for i in 0..200 {
        client
            .set(format!("stats-sum:{i}"), i)
            .await
            .unwrap_or_else(|e| panic!("SET {i}: {e}"));
    }
    let pipe = client.pipeline();
    let queued: Vec<_> = (0..50)
        .map(|i| pipe.get::<i64>(format!("stats-sum:{i}")))
        .collect();
    let mut replies = pipe.run().await.unwrap();
    for q in queued {
        replies.take(q).unwrap();
    }

    let stats = client.stats();
    let total = stats.total();
    let nodes: Vec<(&str, &NodeStats)> = stats.nodes().collect();
    assert!(nodes.len() >= 3, "three primaries at least: {stats:?}");
    let sum = |f: fn(&NodeStats) -> u64| nodes.iter().map(|(_, s)| f(s)).sum::<u64>();
    assert_eq!(sum(|s| s.requests), total.requests, "{stats:?}");
    assert_eq!(sum(|s| s.latency.count), total.latency.count, "{stats:?}");
    assert_eq!(sum(|s| s.errors.total()), total.errors.total(), "{stats:?}");
    assert!(
        total.requests >= 250,
        "200 SETs and 50 pipelined GETs were sent: {total:?}"
    );
    // Every key went to its node: more than one primary got some.
    let busy = nodes.iter().filter(|(_, s)| s.requests >= 20).count();
    assert!(
        busy >= 3,
        "keys of many slots spread over the primaries: {stats:?}"
    );
    assert_eq!(total.in_flight, 0, "{total:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_node_gets_its_requests_and_their_latency() {
    let client = quiet_client(slotwise_testkit::shared()).await;
    let key = "{stats-owner}:k";
    client.set(key, "v").await.unwrap();
    let owner = client.get_node_from_key(key, false).unwrap();
    let before = client.stats();
    for _ in 0..100 {
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("v"));
    }
    let after = client.stats();
    for (name, now) in after.nodes() {
        let then = before.node(name).copied().unwrap_or_default();
        let sent = now.requests - then.requests;
        if name == owner.name() {
            assert_eq!(sent, 100, "the key's node {name} got every GET: {now:?}");
            assert!(now.latency.count - then.latency.count >= 100, "{now:?}");
        } else {
            assert_eq!(sent, 0, "{name} does not serve the key: {now:?}");
        }
    }

    let latency = stats_of(&client, &owner).latency;
    assert!(latency.count >= 101, "{latency:?}");
    assert!(latency.p50 > Duration::ZERO, "{latency:?}");
    assert!(
        latency.p50 <= latency.p90 && latency.p90 <= latency.p99 && latency.p99 <= latency.max,
        "percentiles out of order: {latency:?}"
    );
    let total = after.total().latency;
    assert!(
        total.p50 <= total.p90 && total.p90 <= total.p99 && total.p99 <= total.max,
        "{total:?}"
    );
    assert!(total.max >= latency.max, "{total:?} {latency:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_counts_what_waits_and_comes_back_to_zero() {
    let client = quiet_client(slotwise_testkit::shared()).await;
    let list = "{stats-inflight}:list";
    let node = client.get_node_from_key(list, false).unwrap();

    // Many at once on the shared connection.
    let gets = (0..64).map(|i| {
        let client = client.clone();
        async move { client.get::<String>(format!("stats-inflight:{i}")).await }
    });
    for got in futures_util::future::join_all(gets).await {
        got.unwrap();
    }
    assert_eq!(client.stats().total().in_flight, 0, "{:?}", client.stats());

    // A BLPOP waits on a connection of its own to the list's node, and counts there.
    let blpop = tokio::spawn({
        let client = client.clone();
        async move { client.blpop::<String>(list, Duration::from_secs(30)).await }
    });
    let deadline = Instant::now() + common::SLACK * 3;
    while stats_of(&client, &node).in_flight == 0 {
        assert!(
            Instant::now() < deadline,
            "the BLPOP never showed in flight"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.rpush(list, "x").await.unwrap();
    let popped = blpop.await.unwrap().unwrap();
    assert_eq!(popped, Some((list.to_string(), "x".to_string())));
    let stats = stats_of(&client, &node);
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    assert_eq!(client.stats().total().in_flight, 0, "{:?}", client.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_counts_on_the_node_that_sent_it() {
    let cluster = slotwise_testkit::shared();
    let client = quiet_client(cluster).await;
    let key = "{stats-moved}:k";
    let owner = client.get_node_from_key(key, false).unwrap();
    let target = cluster.other_primary(owner.port()).unwrap().port;
    // Moved behind the client's back: its next use of the slot meets a `MOVED`.
    let slot = RedisCluster::keyslot(key);
    tokio::task::spawn_blocking(move || {
        slotwise_testkit::shared()
            .migrate_slot(slot, target)
            .unwrap()
    })
    .await
    .unwrap();

    client.set(key, "v").await.unwrap();
    let stats = client.stats();
    assert!(stats.moved >= 1, "the MOVED was followed: {stats:?}");
    let from = stats_of(&client, &owner);
    assert!(from.moved >= 1, "{owner} sent the MOVED: {from:?}");
    assert_eq!(from.ask, 0, "{from:?}");
    let to = stats_of(&client, &ClusterNode::new(owner.host(), target));
    assert_eq!(to.moved, 0, "the new owner sent no MOVED: {to:?}");
    assert!(to.requests >= 1, "the SET went on to the new owner: {to:?}");
    // A redirection is not an error.
    assert_eq!(from.errors.total(), 0, "{from:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_killed_counts_a_reconnect() {
    let cluster = slotwise_testkit::shared();
    let client = quiet_client(cluster).await;
    let key = "{stats-kill}:k";
    let node = client.get_node_from_key(key, false).unwrap();
    client.set(key, "v").await.unwrap();
    assert_eq!(stats_of(&client, &node).reconnects, 0);

    // The client's own connection, killed by the server: a real lost socket.
    let conn = client.node_client(&node).unwrap().connection().clone();
    common::faults::kill_connection(&conn, node.port()).await;

    let deadline = Instant::now() + common::SLACK * 3;
    loop {
        if let Ok(Some(v)) = client.get::<String>(key).await {
            assert_eq!(v, "v");
            let stats = stats_of(&client, &node);
            if stats.reconnects >= 1 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no reconnect counted: {:?}",
            stats_of(&client, &node)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_counts_its_failures_and_the_reconnect() {
    let cluster = common::faults::primaries_only();
    let client = quiet_client(&cluster).await;
    let victim = cluster.primaries().unwrap()[1].port;
    let key = (0..)
        .map(|i| format!("stats-restart:{i}"))
        .find(|k| {
            cluster
                .node_for_slot(RedisCluster::keyslot(k))
                .unwrap()
                .port
                == victim
        })
        .unwrap();
    client.set(key.as_str(), "v").await.unwrap();
    let node = client.get_node_from_key(key.as_str(), false).unwrap();
    assert_eq!(node.port(), victim);

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.kill(victim).unwrap();
        cluster
    })
    .await
    .unwrap();
    // The node is gone: the client's request fails (its retry budget spent against a dead
    // node), and what it met counts on the node.
    let err = client.get::<String>(key.as_str()).await.unwrap_err();
    let down = stats_of(&client, &node);
    assert!(
        down.errors.io + down.errors.connect + down.errors.timeouts >= 1,
        "{err}: {down:?}"
    );

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.restart(victim).unwrap();
        cluster
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.get::<String>(key.as_str()).await {
            // Its data is gone with it (nothing is saved): served is what counts.
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "not served again: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let back = stats_of(&client, &node);
    assert!(back.reconnects >= 1, "{back:?}");
    assert!(
        back.errors.connect >= 1,
        "the node refused connections while down: {back:?}"
    );
    drop(cluster);
}
