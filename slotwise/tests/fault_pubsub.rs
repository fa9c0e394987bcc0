//! Subscriptions follow the cluster: after the primary holding a classic and a sharded
//! subscription is killed, both are made again (the classic one on another node at once, the
//! sharded one on the promoted replica) and messages flow; after a sharded channel's slot is
//! migrated, the channel is subscribed on its new primary; when the node of the classic
//! subscription freezes, the subscription moves to another node.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::{fault_cluster, victim_and_heir, watch_promotion};
use slotwise::commands::PubSubCommands;
use slotwise::protocol::{Cmd, Value};
use slotwise::{Message, RedisCluster};
use tokio::sync::mpsc;

/// A name whose slot `port` serves.
fn name_on(cluster: &slotwise_testkit::LocalCluster, port: u16, prefix: &str) -> String {
    (0..)
        .map(|i| format!("{{{prefix}{i}}}:ch"))
        .find(|n| {
            cluster
                .node_for_slot(RedisCluster::keyslot(n))
                .unwrap()
                .port
                == port
        })
        .unwrap()
}

/// Publishes on `channel` every 20 ms until a message on it arrives; how long that took.
async fn until_delivered(
    client: &RedisCluster,
    messages: &mut mpsc::UnboundedReceiver<Message>,
    channel: &str,
    sharded: bool,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    let mut n = 0;
    loop {
        n += 1;
        let payload = format!("p{n}");
        // A publish may fail while the cluster recovers; the next one tries again.
        let _ = if sharded {
            client.spublish(channel, payload.as_str()).await
        } else {
            client.publish(channel, payload.as_str()).await
        };
        let wait = tokio::time::sleep(Duration::from_millis(20));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                Some(m) = messages.recv() => {
                    if m.channel() == channel.as_bytes() {
                        return started.elapsed();
                    }
                }
                () = &mut wait => break,
            }
        }
        assert!(
            started.elapsed() < limit,
            "nothing arrived on {channel} within {limit:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_follow_failover_and_migration() {
    let cluster = fault_cluster();
    let (victim, heir) = victim_and_heir(&cluster, 0);
    let primaries = cluster.primaries().unwrap();
    let (other, third) = (primaries[1].port, primaries[2].port);
    let client = RedisCluster::new("127.0.0.1", other).await.unwrap();

    let classic = name_on(&cluster, victim.port, "c");
    let sharded = name_on(&cluster, victim.port, "s");
    let moving = name_on(&cluster, other, "m");
    let pubsub = client.pubsub().unwrap();
    pubsub.subscribe(classic.as_str()).await.unwrap();
    pubsub
        .ssubscribe([sharded.as_str(), moving.as_str()])
        .await
        .unwrap();
    // A task receives; the test reads what it forwards.
    let (tx, mut messages) = mpsc::unbounded_channel();
    let receiver = tokio::spawn(async move {
        let mut pubsub = pubsub;
        while let Some(m) = pubsub.next_message().await {
            if tx.send(m).is_err() {
                break;
            }
        }
        pubsub
    });
    let limit = Duration::from_secs(5);
    for (channel, is_sharded) in [(&classic, false), (&sharded, true), (&moving, true)] {
        until_delivered(&client, &mut messages, channel, is_sharded, limit).await;
    }

    // The primary holding the classic socket and one sharded channel dies.
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.kill(victim.port).unwrap())
            .await
            .unwrap();
    }
    let killed_at = Instant::now();
    // The other shard keeps delivering meanwhile, and the classic channel moves to a live node
    // at once: classic messages reach every node, so it need not wait for the election.
    until_delivered(&client, &mut messages, &moving, true, limit).await;
    until_delivered(&client, &mut messages, &classic, false, limit).await;
    let classic_moved = killed_at.elapsed();
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            watch_promotion(&cluster, heir.port, Duration::from_secs(20))
        })
        .await
        .unwrap();
    }
    let sharded_after = until_delivered(&client, &mut messages, &sharded, true, limit).await;
    let classic_after = until_delivered(&client, &mut messages, &classic, false, limit).await;
    println!(
        "classic channel delivering {classic_moved:?} after the kill; after the election: \
         sharded channel delivering in {sharded_after:?}, classic in {classic_after:?}"
    );

    // A sharded channel's slot moves to another primary.
    let slot = RedisCluster::keyslot(&moving);
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.migrate_slot(slot, third).unwrap())
            .await
            .unwrap();
    }
    let moved_after = until_delivered(&client, &mut messages, &moving, true, limit).await;
    println!("after the migration: delivering in {moved_after:?}");
    assert_eq!(client.spublish(moving.as_str(), "last").await.unwrap(), 1);

    // The node holding the classic subscription freezes (no close comes): the subscription
    // stops answering its health check and moves to another node.
    let holder = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .chain(cluster.replicas().unwrap())
        .find(|n| {
            let numsub = Cmd::new("PUBSUB").arg("NUMSUB").arg(classic.as_str());
            matches!(
                cluster.call(n.port, &numsub),
                Ok(Value::Array(v)) if v.get(1) == Some(&Value::Int(1))
            )
        })
        .expect("the classic subscription is on some node");
    // Publishes go through another node, so only the subscriber is measured.
    let publisher = client
        .get_primaries()
        .into_iter()
        .find(|n| n.port() != holder.port)
        .unwrap();
    client.set_default_node(&publisher).unwrap();
    cluster.pause(holder.port).unwrap();
    let paused_at = Instant::now();
    let moved_after = until_delivered(
        &client,
        &mut messages,
        &classic,
        false,
        Duration::from_secs(10),
    )
    .await;
    cluster.resume(holder.port).unwrap();
    println!(
        "a frozen node's classic subscription delivering again after {moved_after:?} ({:?} \
         after the pause)",
        paused_at.elapsed()
    );
    drop(messages);
    receiver.abort();
}
