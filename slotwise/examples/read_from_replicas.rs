//! Reading from replicas: a client built to read from replicas (redis-py's
//! `read_from_replicas=True`), and `readonly()` / `readwrite()` handles on any client
//! (redis-py's "Read Only Mode").
//!
//! ```sh
//! cargo run --example read_from_replicas -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use slotwise::commands::StringCommands;
use slotwise::{ReadFrom, RedisCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = seed_url();

    // redis-py: RedisCluster(..., read_from_replicas=True), which takes the primary and the
    // replicas in turn. Writes always go to the primary.
    let cluster = RedisCluster::builder()
        .url(&url)
        .read_from(ReadFrom::RoundRobin)
        .build()
        .await?;
    cluster.set("{replicas}1", "bar1").await?;
    println!(
        "SET {{replicas}}1 on the primary {}",
        cluster.get_node_from_key("{replicas}1", false)?
    );
    for _ in 0..4 {
        // A replica may not have the write yet: replication is asynchronous.
        let value: Option<String> = cluster.get("{replicas}1").await?;
        println!("GET {{replicas}}1 (primary and replicas in turn) = {value:?}");
    }

    // redis-py: rc.readonly() / rc.readwrite(): handles that share one client's connections.
    let cluster = RedisCluster::from_url(&url).await?;
    let replica_reads = cluster.readonly();
    println!(
        "readonly(): reads go to {:?}, e.g. {}",
        replica_reads.read_from(),
        replica_reads.get_node_from_key("{replicas}1", true)?
    );
    let _: Option<String> = replica_reads.get("{replicas}1").await?;
    let primary_reads = replica_reads.readwrite();
    let value: Option<String> = primary_reads.get("{replicas}1").await?;
    println!(
        "readwrite(): reads go to {:?}: GET {{replicas}}1 = {value:?}",
        primary_reads.read_from()
    );
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
