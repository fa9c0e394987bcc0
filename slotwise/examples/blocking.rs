//! The blocking client: the same names and the same command methods as the async one, for code
//! without an async runtime (redis-py's plain, synchronous `RedisCluster`).
//!
//! ```sh
//! cargo run --example blocking -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use slotwise::blocking::RedisCluster;
use slotwise::commands::StringCommands;
use slotwise::{ClusterCommands, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url())?;
    println!(
        "{} primaries, {} replicas",
        cluster.get_primaries().len(),
        cluster.get_replicas().len()
    );

    cluster.set("blocking:foo", "bar")?;
    let value: Option<String> = cluster.get("blocking:foo")?;
    println!(
        "GET blocking:foo = {value:?} from {}",
        cluster.get_node_from_key("blocking:foo", false)?
    );

    cluster.mset_nonatomic(&[("blocking:a", "1"), ("blocking:b", "2")])?;
    let values: Vec<Option<String>> = cluster.mget_nonatomic(["blocking:a", "blocking:b"])?;
    println!("mget_nonatomic = {values:?}");

    let pong: String = cluster.cmd("PING").target(Target::Primaries).query()?;
    println!("PING on every primary: {pong}");
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
