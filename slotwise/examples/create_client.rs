//! Creating a cluster client: from a URL, from a host and port, from startup nodes, and with the
//! builder; then what the client learned about the cluster (redis-py's "Creating clusters").
//!
//! ```sh
//! slotwise cluster start                        # a local cluster on ports 7000-7005
//! cargo run --example create_client -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use slotwise::{ReadFrom, RedisCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = seed_url();

    // redis-py: RedisCluster.from_url(url)
    let cluster = RedisCluster::from_url(&url).await?;
    println!(
        "RedisCluster::from_url({url:?}): {} nodes",
        cluster.get_nodes().len()
    );

    // redis-py: RedisCluster(host=..., port=...)
    let primaries = cluster.get_primaries();
    let first = primaries.first().ok_or("the cluster has no primary")?;
    let by_address = RedisCluster::new(first.host(), first.port()).await?;
    println!(
        "RedisCluster::new({:?}, {}): {} nodes",
        first.host(),
        first.port(),
        by_address.get_nodes().len()
    );

    // redis-py: RedisCluster(startup_nodes=[ClusterNode(...), ...]). The first node that
    // answers is used.
    let by_nodes = RedisCluster::from_nodes(primaries.clone()).await?;
    println!(
        "RedisCluster::from_nodes({} primaries): {} nodes",
        primaries.len(),
        by_nodes.get_nodes().len()
    );

    // Every other setting goes through the builder; only `build` can fail.
    let tuned = RedisCluster::builder()
        .url(&url)
        .connect_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_secs(1))
        .read_from(ReadFrom::PreferReplica)
        .build()
        .await?;
    println!(
        "RedisCluster::builder()...build(): reads from {:?}",
        tuned.read_from()
    );

    // redis-py: rc.get_nodes(), rc.get_primaries(), rc.get_replicas(), rc.get_default_node()
    println!("get_nodes():");
    for node in cluster.get_nodes() {
        println!("  {:<21} {:?}", node.name(), node.role());
    }
    println!(
        "{} primaries, {} replicas; default node {}",
        cluster.get_primaries().len(),
        cluster.get_replicas().len(),
        cluster.default_node()
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
