//! `Stats` counts every `MOVED` the client follows, whichever path met it: a pipeline, a
//! transaction, a sharded subscribe and resubscribe, as well as a single command. Each slot is moved behind the
//! client's back, so the client's next use of it meets a `MOVED`.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use slotwise::commands::{PubSubCommands, StringCommands};
use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

/// A key named after `prefix` on a slot of its own, and a primary that does not serve it.
fn key_and_elsewhere(cluster: &LocalCluster, prefix: &str) -> (String, u16) {
    let key = format!("{{{prefix}}}:k");
    let owner = cluster
        .node_for_slot(RedisCluster::keyslot(&key))
        .unwrap()
        .port;
    let other = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .find(|p| p.port != owner)
        .unwrap()
        .port;
    (key, other)
}

/// Moves `key`'s slot to `to` without the client hearing of it.
async fn move_behind_the_back(cluster: &std::sync::Arc<LocalCluster>, key: &str, to: u16) {
    let slot = RedisCluster::keyslot(key);
    let cluster = std::sync::Arc::clone(cluster);
    tokio::task::spawn_blocking(move || cluster.migrate_slot(slot, to).unwrap())
        .await
        .unwrap();
}

/// Publishes `payload` on `channel` through `publisher` until `pubsub` hears it (10 s at most).
async fn publish_until_heard(
    publisher: &RedisCluster,
    pubsub: &mut slotwise::PubSub,
    channel: &str,
    payload: &str,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        publisher.spublish(channel, payload).await.unwrap();
        if let Ok(Some(m)) =
            tokio::time::timeout(Duration::from_millis(100), pubsub.next_message()).await
        {
            assert_eq!(m.payload(), payload.as_bytes());
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message on {channel} within 10 s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_is_counted_on_every_path() {
    let cluster = common::faults::primaries_only();
    let seed = cluster.primaries().unwrap()[0].port;
    // A client per path, each built before any slot moves, with no periodic refresh: only a
    // `MOVED` tells it a slot moved, and no other path's `MOVED` refreshes its topology.
    let mut clients = Vec::new();
    for _ in 0..4 {
        let client = RedisCluster::builder()
            .startup_node(slotwise::ClusterNode::new("127.0.0.1", seed))
            .refresh_interval(None)
            .build()
            .await
            .unwrap();
        clients.push(client);
    }
    let mut keys = Vec::new();
    for prefix in ["pipe", "tx", "chan", "one"] {
        let (key, to) = key_and_elsewhere(&cluster, prefix);
        move_behind_the_back(&cluster, &key, to).await;
        keys.push(key);
    }

    // A pipeline.
    let (client, key) = (&clients[0], &keys[0]);
    let pipe = client.pipeline();
    let set = pipe.set(key.as_str(), "p");
    let get = pipe.get::<String>(key.as_str());
    let mut replies = pipe.run().await.unwrap();
    replies.take(set).unwrap();
    assert_eq!(replies.take(get).unwrap().as_deref(), Some("p"));
    assert!(
        client.stats().moved > 0,
        "a pipeline followed a MOVED without counting it: {:?}",
        client.stats()
    );

    // A transaction.
    let (client, key) = (&clients[1], &keys[1]);
    let tx = client.transaction();
    let set = tx.set(key.as_str(), "t");
    let mut replies = tx.run().await.unwrap();
    replies.take(set).unwrap();
    assert!(
        client.stats().moved > 0,
        "a transaction followed a MOVED without counting it: {:?}",
        client.stats()
    );

    // A sharded subscribe.
    let (client, channel) = (&clients[2], &keys[2]);
    let mut pubsub = client.pubsub().unwrap();
    pubsub.ssubscribe(channel.as_str()).await.unwrap();
    assert!(
        client.stats().moved > 0,
        "a sharded subscribe followed a MOVED without counting it: {:?}",
        client.stats()
    );
    // It is subscribed where the slot went: a publish reaches it.
    publish_until_heard(client, &mut pubsub, channel, "hello").await;

    // A sharded resubscribe: the slot moves on while subscribed; the server drops the
    // subscription, and the client subscribes again where the slot went.
    let before = client.stats().moved;
    let third = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .map(|p| p.port)
        .find(|p| {
            *p != cluster
                .node_for_slot(RedisCluster::keyslot(channel))
                .unwrap()
                .port
        })
        .unwrap();
    move_behind_the_back(&cluster, channel, third).await;
    // Published by another client, so no `MOVED` met by a publish counts for this one.
    let publisher = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", seed))
        .build()
        .await
        .unwrap();
    publish_until_heard(&publisher, &mut pubsub, channel, "again").await;
    assert!(
        client.stats().moved > before,
        "a sharded resubscribe followed a MOVED without counting it: {:?}",
        client.stats()
    );

    // A single command.
    let (client, key) = (&clients[3], &keys[3]);
    client.set(key.as_str(), "o").await.unwrap();
    assert!(
        client.stats().moved > 0,
        "a command followed a MOVED without counting it: {:?}",
        client.stats()
    );
}
