//! Client-side caching: hot keys read from memory, dropped when the node says they changed.
//!
//! ```sh
//! cargo run --example client_cache -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.
//! One client reads with the cache on, a second one writes; the first sees the write once the
//! node's invalidation reaches it (eventually consistent across clients, as Redis's tracking
//! is), and always sees its own writes at once.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::{CacheConfig, RedisCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = seed_url();
    let cached = RedisCluster::builder()
        .url(&url)
        .client_side_cache(
            CacheConfig::new()
                .max_entries(10_000)
                .max_bytes(16 * 1024 * 1024)
                .ttl(Duration::from_secs(300)),
        )
        .build()
        .await?;
    let writer = RedisCluster::from_url(&url).await?;

    writer.set("client-cache:flag", "on").await?;
    // The first read goes to the node; the next ones come from memory.
    for _ in 0..1_000 {
        let _: Option<String> = cached.get("client-cache:flag").await?;
    }
    let stats = cached.stats().cache;
    println!(
        "after 1,000 reads: {} hits, {} misses",
        stats.hits, stats.misses
    );

    // Another client's write: the node invalidates the key on the caching client's
    // connection, and the next read after that goes to the node.
    writer.set("client-cache:flag", "off").await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let flag: Option<String> = cached.get("client-cache:flag").await?;
        if flag.as_deref() == Some("off") {
            break;
        }
        if Instant::now() > deadline {
            return Err("the invalidation never came".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    // Its own writes it reads at once.
    cached.set("client-cache:flag", "mine").await?;
    let own: Option<String> = cached.get("client-cache:flag").await?;
    println!("own write read back: {own:?}");

    // A read that must go to the node whatever is cached.
    let fresh: Option<String> = cached.no_cache().get("client-cache:flag").await?;
    println!("read past the cache: {fresh:?}");

    let s = cached.stats().cache;
    println!(
        "hits {}, misses {}, invalidations {}, evictions {}, entries {}, bytes {}",
        s.hits, s.misses, s.invalidations, s.evictions, s.entries, s.bytes
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
