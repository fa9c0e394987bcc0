//! Multi-key commands: atomic `MSET`/`MGET` on keys that share a slot, the cross-slot error
//! raised before anything is sent, and `mset_nonatomic`/`mget_nonatomic` for keys anywhere
//! (redis-py's "Multi-key commands").
//!
//! ```sh
//! cargo run --example multi_key -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use slotwise::commands::StringCommands;
use slotwise::{ClusterCommands, RedisCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;

    // Atomic: every key has the hash tag {multi}, so all share one slot and one node.
    cluster
        .mset([("{multi}1", "bar1"), ("{multi}2", "bar2")])
        .await?;
    let values: Vec<Option<String>> = cluster.mget(["{multi}1", "{multi}2"]).await?;
    println!("MSET/MGET {{multi}}1 {{multi}}2 = {values:?}");

    // Keys in different slots: refused by the client, no server ever sees the command.
    let pairs = [
        ("multi:foo", "value1"),
        ("multi:bar", "value2"),
        ("multi:zzz", "value3"),
    ];
    match cluster.mset(pairs).await {
        Err(e) if e.is_cross_slot() => println!("cross-slot MSET refused: {e}"),
        Err(e) => return Err(e.into()),
        Ok(()) => return Err("a cross-slot MSET was accepted".into()),
    }

    // Not atomic: split by slot, one MSET/MGET per slot, sent to each slot's node at once.
    cluster.mset_nonatomic(&pairs).await?;
    let values: Vec<Option<String>> = cluster
        .mget_nonatomic(["multi:foo", "multi:bar", "multi:zzz"])
        .await?;
    println!("mset_nonatomic/mget_nonatomic = {values:?}");
    for (key, _) in pairs {
        println!(
            "  {key} is in slot {} on {}",
            RedisCluster::keyslot(key),
            cluster.get_node_from_key(key, false)?
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
