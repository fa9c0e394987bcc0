//! Pub/sub: classic channels, patterns and sharded channels, each message with where it came
//! from (redis-py's "ClusterPubSub" and sharded pub/sub).
//!
//! ```sh
//! cargo run --example pubsub -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use slotwise::commands::PubSubCommands;
use slotwise::RedisCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;
    let mut pubsub = cluster.pubsub()?;

    // Each call returns once the server confirmed the subscription.
    pubsub.subscribe("example:news").await?;
    pubsub.psubscribe("example:alerts.*").await?;
    // A sharded channel lives on the primary of its slot, like a key.
    let inbox = "{user:1}:inbox";
    pubsub.ssubscribe(inbox).await?;
    println!(
        "{inbox} is in slot {}, on {}",
        RedisCluster::keyslot(inbox),
        cluster.get_node_from_key(inbox, false)?
    );

    cluster.publish("example:news", "hello").await?;
    cluster.publish("example:alerts.disk", "90% full").await?;
    let receivers = cluster.spublish(inbox, "you have mail").await?;
    println!("SPUBLISH reached {receivers} subscriber(s) in the shard");

    for _ in 0..3 {
        let message = tokio::time::timeout(Duration::from_secs(5), pubsub.next_message())
            .await?
            .ok_or("the pub/sub stopped")?;
        println!(
            "{:?} on {}{}: {}",
            message.kind(),
            String::from_utf8_lossy(message.channel()),
            message
                .pattern()
                .map(|p| format!(" (pattern {})", String::from_utf8_lossy(p)))
                .unwrap_or_default(),
            message.payload_as::<String>()?
        );
    }
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
