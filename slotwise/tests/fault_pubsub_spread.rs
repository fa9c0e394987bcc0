//! Classic channels spread by slot (`pubsub_spread_channels`): each channel is subscribed on
//! the primary of its slot, as `PUBSUB CHANNELS` on each node shows, and its messages arrive
//! once. When one of those primaries is killed its channels move to a live node at once, then
//! to the promoted replica once the topology names it, and still arrive once each.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::{fault_cluster, victim_and_heir, watch_promotion};
use common::SLACK;
use slotwise::commands::PubSubCommands;
use slotwise::protocol::{Cmd, Value};
use slotwise::{ClusterNode, LossReason, Message, PubSubEvent, RedisCluster};
use slotwise_testkit::LocalCluster;
use tokio::sync::mpsc;

/// Two channels whose slots each primary serves, by port.
fn channels_on_each(cluster: &LocalCluster) -> BTreeMap<u16, Vec<String>> {
    let primaries = cluster.primaries().unwrap();
    let mut channels: BTreeMap<u16, Vec<String>> =
        primaries.iter().map(|p| (p.port, Vec::new())).collect();
    for i in 0.. {
        if channels.values().all(|c| c.len() >= 2) {
            break;
        }
        let channel = format!("sp:{i}");
        let slot = RedisCluster::keyslot(&channel);
        let owner = primaries.iter().find(|p| p.owns_slot(slot)).unwrap();
        let list = channels.get_mut(&owner.port).unwrap();
        if list.len() < 2 {
            list.push(channel);
        }
    }
    channels
}

/// The test's channels `port` holds subscribers for.
fn held_by(cluster: &LocalCluster, port: u16) -> BTreeSet<String> {
    match cluster.call(port, &Cmd::new("PUBSUB").arg("CHANNELS").arg("sp:*")) {
        Ok(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_bytes())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect(),
        other => panic!("PUBSUB CHANNELS on {port} replied {other:?}"),
    }
}

/// Polls until `port` holds exactly `channels` of the test's.
async fn until_held(cluster: &LocalCluster, port: u16, channels: &[String], limit: Duration) {
    let want: BTreeSet<String> = channels.iter().cloned().collect();
    let deadline = Instant::now() + limit;
    loop {
        let held = held_by(cluster, port);
        if held == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{port} holds {held:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes one message on each channel (retrying a publish the recovering cluster refuses),
/// then checks each arrived exactly once.
async fn each_once(
    client: &RedisCluster,
    messages: &mut mpsc::UnboundedReceiver<Message>,
    channels: &[String],
    round: &str,
) {
    let payload = |c: &str| format!("{round}:{c}");
    for channel in channels {
        let deadline = Instant::now() + SLACK;
        while client
            .publish(channel.as_str(), payload(channel).as_str())
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "no publish on {channel} went through"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = Instant::now() + SLACK;
    // One socket per channel: a copy would come right behind the original, before the marker
    // published after every other message.
    let marker = format!("{round}:marker");
    let mut marked = false;
    loop {
        if !marked && channels.iter().all(|c| got.contains_key(&payload(c))) {
            client
                .publish(channels[0].as_str(), marker.as_str())
                .await
                .unwrap();
            marked = true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, messages.recv()).await {
            Ok(Some(m)) => *got.entry(m.payload_as::<String>().unwrap()).or_default() += 1,
            _ => panic!("round {round}: only {got:?} arrived"),
        }
        if got.contains_key(&marker) {
            break;
        }
    }
    for channel in channels {
        assert_eq!(
            got.get(&payload(channel)),
            Some(&1),
            "round {round}: {got:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spread_channels_sit_on_their_slots_primary_and_move_when_it_dies() {
    let cluster = fault_cluster();
    let (victim, heir) = victim_and_heir(&cluster, 0);
    let by_node = channels_on_each(&cluster);
    let all: Vec<String> = by_node.values().flatten().cloned().collect();
    let survivor = cluster.other_primary(victim.port).unwrap().port;
    let client = RedisCluster::builder()
        .startup_node(ClusterNode::new("127.0.0.1", survivor))
        .pubsub_spread_channels(true)
        .build()
        .await
        .unwrap();
    // Publishes go through a node that stays up.
    let publisher = client
        .get_primaries()
        .into_iter()
        .find(|n| n.port() == survivor)
        .unwrap();
    client.set_default_node(&publisher).unwrap();

    let pubsub = client.pubsub().unwrap();
    let mut events = pubsub.events();
    pubsub.subscribe(all.as_slice()).await.unwrap();
    for (port, channels) in &by_node {
        until_held(&cluster, *port, channels, SLACK).await;
    }
    for replica in cluster.replicas().unwrap() {
        assert!(held_by(&cluster, replica.port).is_empty());
    }
    let (tx, mut messages) = mpsc::unbounded_channel();
    let receiver = tokio::spawn(async move {
        let mut pubsub = pubsub;
        while let Some(m) = pubsub.next_message().await {
            if tx.send(m).is_err() {
                break;
            }
        }
    });
    each_once(&client, &mut messages, &all, "a").await;

    // The victim's channels move to a live node at once, without waiting for the election.
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.kill(victim.port).unwrap())
            .await
            .unwrap();
    }
    let moved = &by_node[&victim.port];
    let deadline = Instant::now() + SLACK;
    let fallback = loop {
        let holder = by_node
            .keys()
            .filter(|p| **p != victim.port)
            .find(|p| moved.iter().all(|c| held_by(&cluster, **p).contains(c)));
        if let Some(port) = holder {
            break *port;
        }
        assert!(
            Instant::now() < deadline,
            "the victim's channels were not subscribed elsewhere"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    each_once(&client, &mut messages, &all, "b").await;

    // Once the replica is promoted, they move to it: the primary of their slots again.
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            watch_promotion(&cluster, heir.port, Duration::from_secs(20))
        })
        .await
        .unwrap();
    }
    until_held(&cluster, heir.port, moved, Duration::from_secs(10) + SLACK).await;
    until_held(&cluster, fallback, &by_node[&fallback], SLACK).await;
    each_once(&client, &mut messages, &all, "c").await;

    // The events told each move: lost with the victim's socket, restored on the fallback.
    let mut seen = Vec::new();
    while let Some(event) = events.try_recv() {
        seen.push(event);
    }
    for channel in moved {
        let lost = seen.iter().position(|e| {
            matches!(e,
            PubSubEvent::Lost { name, node, reason: LossReason::Closed, .. }
            if name == channel.as_bytes() && *node == victim.addr())
        });
        let restored = seen.iter().position(|e| {
            matches!(e,
            PubSubEvent::Restored { name, node, .. }
            if name == channel.as_bytes() && *node == format!("127.0.0.1:{fallback}"))
        });
        assert!(lost.is_some() && lost < restored, "{channel}: {seen:#?}");
    }
    receiver.abort();
}
