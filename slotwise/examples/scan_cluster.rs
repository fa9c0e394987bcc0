//! Scanning the whole cluster slot by slot (redis-py's `scan_iter`), in batches, all at once, or
//! as a stream, with a pattern and a key type; stopping and resuming from a cursor kept as text.
//! Keys present for the whole scan are all returned even if slots move or a primary fails over
//! meanwhile.
//!
//! ```sh
//! cargo run --example scan_cluster -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use futures_util::StreamExt;

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

    // As a stream, stopped after the first batch and resumed from its cursor, kept as text
    // (another process could take it up).
    let mut scan = cluster.scan(ScanOptions::new().pattern("scan-example:*").count(10));
    let mut seen = scan.next_batch().await?.unwrap_or_default().len();
    let kept = scan.cursor().to_string();
    println!("stopped after {seen} keys at {kept:.40}…");
    let rest = cluster.scan_from(kept.parse()?, ScanOptions::new().pattern("scan-example:*"));
    let mut stream = std::pin::pin!(rest.into_stream());
    while let Some(key) = stream.next().await {
        key?;
        seen += 1;
    }
    println!("{seen} keys in all, after resuming");

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
