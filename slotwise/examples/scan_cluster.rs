//! Scanning the whole cluster: `SCAN` on every primary in turn (redis-py's `scan_iter`), in
//! batches or all at once, with a pattern and a key type.
//!
//! ```sh
//! cargo run --example scan_cluster -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use slotwise::commands::{HashCommands, StringCommands};
use slotwise::{ClusterCommands, RedisCluster, ScanOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;

    // Keys without a hash tag land in slots all over the cluster.
    let pairs: Vec<(String, String)> = (0..50)
        .map(|i| (format!("scan-example:{i}"), i.to_string()))
        .collect();
    cluster.mset_nonatomic(&pairs).await?;
    cluster
        .hset("scan-example:profile", [("name", "ada")])
        .await?;

    // In batches, as each node's SCAN returns them: count them per node.
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    let mut scan = cluster.scan(ScanOptions::new().pattern("scan-example:*").count(100));
    while let Some(keys) = scan.next_batch().await? {
        for key in keys {
            let node = cluster.get_node_from_key(&key, false)?;
            *per_node.entry(node.name().to_owned()).or_default() += 1;
        }
    }
    for (node, count) in &per_node {
        println!("{count:3} keys on {node}");
    }

    // All at once, only hashes.
    let hashes = cluster
        .scan(
            ScanOptions::new()
                .pattern("scan-example:*")
                .key_type("hash"),
        )
        .all_keys()
        .await?;
    let names: Vec<String> = hashes
        .iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    println!("hashes: {names:?}");

    let first: Option<String> = cluster.get("scan-example:0").await?;
    println!("scan-example:0 = {first:?}");
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
