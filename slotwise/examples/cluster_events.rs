//! Watching the cluster: the client's events (topologies installed, failovers, nodes lost and
//! found, failed refreshes, a new default node) as they happen, here while the default node is
//! moved by hand and a `MOVED` is met.
//!
//! ```sh
//! cargo run --example cluster_events -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use slotwise::{ClusterEvent, RedisCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;
    // A listener sees what happens from now on; nothing is built while there is none.
    let mut events = cluster.events();

    // Keyless commands go to another primary from now on.
    let other = cluster
        .get_primaries()
        .into_iter()
        .find(|p| *p != cluster.default_node());
    if let Some(other) = other {
        cluster.set_default_node(&other)?;
    }

    // A real deployment would run this loop in a task of its own for the client's lifetime.
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), events.recv()).await
    {
        match event {
            ClusterEvent::DefaultNodeChanged { from, to } => {
                println!("default node: {} -> {}", from.name(), to.name())
            }
            ClusterEvent::TopologyChanged(change) => println!(
                "topology {}: {} slot ranges moved, {} nodes added, {} removed",
                change.generation,
                change.slots_moved.len(),
                change.nodes_added.len(),
                change.nodes_removed.len()
            ),
            ClusterEvent::Failover { from, to } => {
                println!("{} took over from {}", to.name(), from.name())
            }
            other => println!("{other:?}"),
        }
    }
    println!("no more events for now");
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
