//! Target nodes: sending commands to the primaries, the replicas, every node, a random node, the
//! default node, or nodes you name (redis-py's `target_nodes=`).
//!
//! ```sh
//! cargo run --example target_nodes -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use slotwise::commands::{ClusterAdminCommands, KeyCommands, ServerCommands};
use slotwise::{ClusterNode, RedisCluster, Target};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;

    // A flag resolves to nodes when the command is sent (redis-py: RedisCluster.PRIMARIES ...).
    // PING's response policy merges the replies: "PONG" only if every node said so.
    let pong = cluster.target(Target::Primaries).ping().await?;
    println!("PING on every primary: {pong}");
    let pong = cluster.target(Target::Replicas).ping().await?;
    println!("PING on every replica: {pong}");

    // Without a response policy, the reply is one entry per node.
    let ids: BTreeMap<String, String> = cluster
        .cmd("CLUSTER")
        .arg("MYID")
        .target(Target::AllNodes)
        .query()
        .await?;
    for (node, id) in &ids {
        println!("CLUSTER MYID on {node}: {id}");
    }

    // One node at random, and the default node (where keyless commands without a tip go).
    let id = cluster.target(Target::Random).cluster_myid().await?;
    println!("CLUSTER MYID on a random node: {id}");
    let id = cluster.target(Target::DefaultNode).cluster_myid().await?;
    println!(
        "CLUSTER MYID on the default node {}: {id}",
        cluster.default_node()
    );

    // DBSIZE carries routing tips: sent to every primary, counts summed.
    println!("DBSIZE of the cluster: {}", cluster.dbsize().await?);

    // Explicit nodes (redis-py: target_nodes=node, or a list of nodes).
    let primaries = cluster.get_primaries();
    let node = primaries.first().ok_or("the cluster has no primary")?;
    let keys: Vec<String> = cluster.target(Target::Node(node.clone())).keys("*").await?;
    println!("KEYS * on {node}: {} keys", keys.len());
    // INFO from a subset of the primaries (redis-py: rc.info(target_nodes=subset_primaries)):
    // INFO's text replies cannot be merged, so each node's comes back under its name.
    let subset: Vec<ClusterNode> = primaries.iter().skip(1).cloned().collect();
    let infos: BTreeMap<String, String> = cluster
        .target(Target::Nodes(subset))
        .info_section("server")
        .await?;
    for (node, info) in &infos {
        let version = info.lines().find(|l| l.starts_with("redis_version:"));
        println!(
            "INFO server on {node}: {}",
            version.unwrap_or("(no version line)")
        );
    }

    // The default node can be changed; it must be a primary.
    if let Some(other) = primaries.iter().find(|p| **p != cluster.default_node()) {
        cluster.set_default_node(other)?;
        println!("default node is now {}", cluster.default_node());
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
