//! Direct node access: a client for one node of the cluster, which sends its commands there
//! and nowhere else (redis-py's `rc.get_node(host, port).redis_connection`).
//!
//! ```sh
//! cargo run --example direct_node_access -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use slotwise::commands::{KeyCommands, ServerCommands, StringCommands};
use slotwise::RedisCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;
    cluster.set("direct:foo1", "bar1").await?;

    // redis-py: rc.get_node(host='localhost', port=6379)
    let owner = cluster.get_node_from_key("direct:foo1", false)?;
    let node = cluster
        .get_node(owner.host(), owner.port())
        .ok_or("the node is not in the cluster")?;
    println!(
        "get_node({:?}, {}) = {node} ({:?})",
        node.host(),
        node.port(),
        node.role()
    );

    // redis-py: node.redis_connection. It shares the cluster client's connection to the node.
    let direct = cluster.node_client(&node)?;
    let keys: Vec<String> = direct.keys("direct:*").await?;
    println!("KEYS direct:* on {node} only: {keys:?}");
    let info: String = direct.info_section("server").await?;
    let port = info.lines().find(|l| l.starts_with("tcp_port:"));
    println!(
        "INFO server on {node}: {}",
        port.unwrap_or("(no tcp_port line)")
    );
    println!("CLIENT ID on {node}: {}", direct.client_id().await?);

    // A node client follows no redirection: a key of another node gets MOVED back.
    let elsewhere = ["direct:a", "direct:b", "direct:c", "direct:d"]
        .into_iter()
        .find(|key| {
            cluster
                .get_node_from_key(key, false)
                .is_ok_and(|n| n != node)
        });
    if let Some(key) = elsewhere {
        match direct.get::<String>(key).await {
            Err(e) => println!("GET {key} on {node}: {e}"),
            Ok(value) => println!("GET {key} on {node}: {value:?}"),
        }
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
