//! Reads that know where they are: from replicas in the client's availability zone
//! (`ReadFrom::AzAffinity`, valkey-glide's `AZAffinity`), and from the node with the lowest
//! round trip (`ReadFrom::LowestLatency`, Lettuce's `LOWEST_LATENCY`).
//!
//! ```sh
//! cargo run --example az_reads -- redis://127.0.0.1:7000 us-east-1b
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`; the
//! zone the second, else `$SLOTWISE_ZONE`, else `b`. Valkey 8.1 and newer report each node's
//! zone (the server's `availability-zone`); Redis reports none, so on Redis the example also
//! shows the zones given by address, and without them reads go to any replica.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use slotwise::commands::StringCommands;
use slotwise::{ReadFrom, RedisCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned());
    let zone = args
        .next()
        .or_else(|| std::env::var("SLOTWISE_ZONE").ok())
        .unwrap_or_else(|| "b".to_owned());

    // Replicas in the zone first, then any replica, then the primary. The client connects to
    // every node at start, so each zone is known before the first read.
    let nearby = RedisCluster::builder()
        .url(&url)
        .read_from(ReadFrom::AzAffinity(zone.as_str().into()))
        .build()
        .await?;
    for node in nearby.get_nodes() {
        let reported = nearby.node_zone(&node);
        println!("{node} ({:?}): zone {reported:?}", node.role());
    }
    nearby.set("{az}greeting", "hello").await?;
    let value: Option<String> = nearby.get("{az}greeting").await?;
    println!("GET {{az}}greeting from the zone {zone:?} = {value:?}");

    // Servers that report no zone (Redis): give them by address. A node's own report wins.
    let replicas = nearby.get_replicas();
    let given = replicas
        .iter()
        .take(1)
        .map(|r| (r.name().to_owned(), zone.clone()));
    let mapped = RedisCluster::builder()
        .url(&url)
        .node_zones(given)
        // A primary in the zone comes before replicas elsewhere.
        .read_from(ReadFrom::AzAffinityReplicasAndPrimary(zone.as_str().into()))
        .build()
        .await?;
    if let Some(replica) = replicas.first() {
        println!(
            "{replica} given the zone {zone:?}: the client says {:?}",
            mapped.node_zone(replica)
        );
    }

    // The node of each shard with the lowest smoothed PING round trip; reads move only to a
    // node faster by more than 20 % and 0.5 ms, so they do not flap.
    let fastest = RedisCluster::builder()
        .url(&url)
        .read_from(ReadFrom::LowestLatency)
        .latency_probe_interval(Duration::from_millis(500))
        .build()
        .await?;
    for node in fastest.get_nodes() {
        println!("{node}: round trip {:?}", fastest.node_latency(&node));
    }
    let value: Option<String> = fastest.get("{az}greeting").await?;
    println!("GET {{az}}greeting from the fastest node = {value:?}");
    Ok(())
}
