//! Keyspace notifications from the whole cluster: each node publishes the events of its own
//! keys only to its own subscribers, so one pattern subscription per primary, kept through
//! failovers and new shards, is what hears them all (`psubscribe_on(Nodes::Primaries, …)`).
//! Here a key on each primary is set and expires, and every event says which node raised it.
//!
//! ```sh
//! cargo run --example keyspace_notifications -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.
//! Notifications are off by default in Redis: the example turns them on (`KEA`) on every node
//! for its run and restores the setting it found.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use slotwise::commands::StringCommands;
use slotwise::{Nodes, PubSubEvent, RedisCluster, Target};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;
    let found: HashMap<String, String> = cluster
        .cmd("CONFIG")
        .arg("GET")
        .arg("notify-keyspace-events")
        .target(Target::Random)
        .query()
        .await?;
    let before = found
        .get("notify-keyspace-events")
        .cloned()
        .unwrap_or_default();
    let on_every_node = |flags: String| {
        cluster
            .cmd("CONFIG")
            .arg("SET")
            .arg("notify-keyspace-events")
            .arg(flags)
            .target(Target::AllNodes)
    };
    on_every_node("KEA".to_owned()).await?;

    let mut pubsub = cluster.pubsub()?;
    let mut events = pubsub.events();
    // The events of this example's keys, from every primary; the call returns once each
    // primary confirmed it.
    pubsub
        .psubscribe_on(Nodes::Primaries, "__keyspace@0__:example:ks:*")
        .await?;
    while let Some(PubSubEvent::Subscribed { node, .. }) = events.try_recv() {
        println!("subscribed on {node}");
    }

    // One key on each primary, expiring at once.
    let mut keys = BTreeSet::new();
    for primary in cluster.get_primaries() {
        let key = (0..)
            .map(|i| format!("example:ks:{i}"))
            .find(|k| {
                cluster
                    .get_node_from_key(k, false)
                    .is_ok_and(|n| n == primary)
            })
            .ok_or("no key for a primary")?;
        cluster.psetex(key.as_str(), 100, "v").await?;
        keys.insert(key);
    }

    // Each key's `set`, then its `expired` when its primary expires it (within a second or so).
    let mut expired = BTreeSet::new();
    while expired != keys {
        let message = tokio::time::timeout(Duration::from_secs(10), pubsub.next_message())
            .await?
            .ok_or("the pub/sub stopped")?;
        let key = String::from_utf8_lossy(message.channel())
            .trim_start_matches("__keyspace@0__:")
            .to_owned();
        let event: String = message.payload_as()?;
        println!("{event} on {key}, raised by {}", message.node());
        if event == "expired" && keys.contains(&key) {
            expired.insert(key);
        }
    }

    on_every_node(before).await?;
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
