//! Subscriptions follow the cluster: after the primary holding a classic and a sharded
//! subscription is killed, both are made again (the classic one on another node at once, the
//! sharded one on the promoted replica) and messages flow; after a sharded channel's slot is
//! migrated, the channel is subscribed on its new primary; when the node of the classic
//! subscription freezes, the subscription moves to another node. The `PubSub`'s events tell
//! each step: subscribed where, lost where and why, restored where.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::{fault_cluster, victim_and_heir, watch_promotion};
use slotwise::commands::PubSubCommands;
use slotwise::protocol::{Cmd, Value};
use slotwise::{LossReason, Message, PubSubEvent, PubSubEvents, RedisCluster};
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

/// Receives pub/sub events into `seen` until `done(seen)` holds (10 s at most).
async fn collect(
    events: &mut PubSubEvents,
    seen: &mut Vec<PubSubEvent>,
    done: impl Fn(&[PubSubEvent]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(event)) => seen.push(event),
            _ => panic!("the events never told it: {seen:#?}"),
        }
    }
}

/// The position of the first event of `what` (subscribed, lost, restored) for `name`.
fn find(seen: &[PubSubEvent], name: &str, what: &str) -> Option<usize> {
    seen.iter().position(|e| {
        let (n, kind) = match e {
            PubSubEvent::Subscribed { name, .. } => (name, "subscribed"),
            PubSubEvent::Lost { name, .. } => (name, "lost"),
            PubSubEvent::Restored { name, .. } => (name, "restored"),
            _ => return false,
        };
        n == name.as_bytes() && kind == what
    })
}

/// True if an event of `what` for `name` names `node` as where it is (or was) subscribed.
fn told(seen: &[PubSubEvent], name: &str, what: &str, node: &str) -> bool {
    seen.iter().any(|e| match e {
        PubSubEvent::Subscribed {
            name: n, node: at, ..
        } => what == "subscribed" && n == name.as_bytes() && at == node,
        PubSubEvent::Restored {
            name: n, node: at, ..
        } => what == "restored" && n == name.as_bytes() && at == node,
        PubSubEvent::Lost {
            name: n, node: at, ..
        } => what == "lost" && n == name.as_bytes() && at == node,
        _ => false,
    })
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
    let mut events = pubsub.events();
    let mut seen = Vec::new();
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
    // Each was told subscribed, the sharded ones on their slot's primary.
    let node = |port: u16| format!("127.0.0.1:{port}");
    collect(&mut events, &mut seen, |seen| {
        [&sharded, &moving]
            .iter()
            .all(|c| find(seen, c, "subscribed").is_some())
    })
    .await;
    assert!(
        told(&seen, &sharded, "subscribed", &node(victim.port)),
        "{seen:#?}"
    );
    assert!(
        told(&seen, &moving, "subscribed", &node(other)),
        "{seen:#?}"
    );

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
    // The events told it: both lost with the victim's socket, then restored, the sharded one
    // on the promoted replica.
    collect(&mut events, &mut seen, |seen| {
        find(seen, &sharded, "restored").is_some() && find(seen, &classic, "restored").is_some()
    })
    .await;
    for name in [&sharded, &classic] {
        let lost = find(&seen, name, "lost");
        assert!(
            lost.is_some() && lost < find(&seen, name, "restored"),
            "{seen:#?}"
        );
        assert!(
            seen.iter().any(
                |e| matches!(e, PubSubEvent::Lost { name: n, node, reason: LossReason::Closed, .. }
                if n == name.as_bytes() && *node == format!("127.0.0.1:{}", victim.port))
            ),
            "{seen:#?}"
        );
    }
    assert!(
        told(&seen, &sharded, "restored", &node(heir.port)),
        "{seen:#?}"
    );
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
    seen.clear();
    collect(&mut events, &mut seen, |seen| {
        find(seen, &moving, "restored").is_some()
    })
    .await;
    assert!(
        seen.iter().any(
            |e| matches!(e, PubSubEvent::Lost { name, reason: LossReason::DroppedByServer, .. }
            if name == moving.as_bytes())
        ),
        "{seen:#?}"
    );
    assert!(told(&seen, &moving, "restored", &node(third)), "{seen:#?}");
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
    seen.clear();
    collect(&mut events, &mut seen, |seen| {
        find(seen, &classic, "restored").is_some()
    })
    .await;
    assert!(
        seen.iter().any(
            |e| matches!(e, PubSubEvent::Lost { name, node, reason: LossReason::Unresponsive, .. }
            if name == classic.as_bytes() && *node == format!("127.0.0.1:{}", holder.port))
        ),
        "{seen:#?}"
    );
    assert!(
        !told(&seen, &classic, "restored", &node(holder.port)),
        "restored on the frozen node: {seen:#?}"
    );
    println!(
        "a frozen node's classic subscription delivering again after {moved_after:?} ({:?} \
         after the pause)",
        paused_at.elapsed()
    );
    drop(messages);
    receiver.abort();
}
