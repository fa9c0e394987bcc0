//! Key slots and hash tags: every key hashes to one of 16384 slots, keyed commands go straight
//! to the node serving the slot, and a `{hash tag}` keeps related keys in one slot.
//!
//! ```sh
//! cargo run --example keyslot_hash_tags -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use slotwise::commands::StringCommands;
use slotwise::RedisCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;

    // The client computes slots itself (redis-py: rc.keyslot(key)).
    for key in ["foo", "{user1000}.following", "{user1000}.followers"] {
        println!("keyslot({key:?}) = {}", RedisCluster::keyslot(key));
    }

    // Keyed commands go to the node holding the key's slot (redis-py: rc.get_node_from_key).
    for (key, value) in [("example:foo1", "bar1"), ("example:foo2", "bar2")] {
        cluster.set(key, value).await?;
        let node = cluster.get_node_from_key(key, false)?;
        println!("SET {key} -> {node} (slot {})", RedisCluster::keyslot(key));
    }
    let value: Option<String> = cluster.get("example:foo1").await?;
    println!("GET example:foo1 = {value:?}");

    // Keys with the same hash tag share a slot, so one node can run a multi-key command on them.
    cluster.set("{user1000}.following", "200").await?;
    cluster.set("{user1000}.followers", "1000").await?;
    let both: Vec<Option<String>> = cluster
        .mget(["{user1000}.following", "{user1000}.followers"])
        .await?;
    let node = cluster.get_node_from_key("{user1000}.following", false)?;
    println!("MGET {{user1000}}.following {{user1000}}.followers = {both:?} on {node}");
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
