//! What the client saw of each node: requests, errors by kind, redirections received,
//! reconnects, requests in flight and latency percentiles, from `RedisCluster::stats`, after a
//! burst of commands spread over the cluster's slots.
//!
//! ```sh
//! cargo run --example node_stats -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.
//! With the `metrics` feature the same counts also go to whatever `metrics` recorder the
//! application installed (a Prometheus exporter, say), labelled by node.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use slotwise::commands::StringCommands;
use slotwise::RedisCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;

    // 1,000 commands at once, 64 at a time, over keys of many slots.
    let keys: Vec<String> = (0..1000).map(|i| format!("node-stats:{i}")).collect();
    for chunk in keys.chunks(64) {
        let sets = chunk.iter().map(|k| cluster.set(k.as_str(), "v"));
        for done in futures_util::future::join_all(sets).await {
            done?;
        }
    }

    let stats = cluster.stats();
    println!(
        "{:<21} {:>8} {:>6} {:>6} {:>5} {:>9} {:>9} {:>9} {:>9}",
        "node", "requests", "errors", "moved", "recon", "p50", "p90", "p99", "max"
    );
    let total = ("total", stats.total());
    for (node, s) in stats.nodes().chain(std::iter::once(total)) {
        println!(
            "{:<21} {:>8} {:>6} {:>6} {:>5} {:>9.2?} {:>9.2?} {:>9.2?} {:>9.2?}",
            node,
            s.requests,
            s.errors.total(),
            s.moved,
            s.reconnects,
            s.latency.p50,
            s.latency.p90,
            s.latency.p99,
            s.latency.max
        );
    }
    println!(
        "in flight now: {}; MOVED followed: {}; topology refreshes: {}",
        stats.total().in_flight,
        stats.moved,
        stats.refreshes
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
