//! Pipelines and transactions: commands queued and sent together, grouped by node, each reply
//! taken back with its handle; a transaction on one slot, and a check-and-set with `WATCH`
//! (redis-py's "ClusterPipeline").
//!
//! ```sh
//! cargo run --example pipelines -- redis://127.0.0.1:7000
//! ```
//!
//! The seed URL is the first argument, else `$SLOTWISE_URL`, else `redis://127.0.0.1:7000`.

// Printing is what an example is for.
#![allow(clippy::print_stdout)]

use slotwise::commands::{KeyCommands, StringCommands};
use slotwise::{ErrorKind, RedisCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = RedisCluster::from_url(&seed_url()).await?;

    // A pipeline: keys in any slot. Each node gets its share in one write, all nodes at once.
    let pipe = cluster.pipeline();
    // Every call returns a handle: a SET's is how its error, if any, comes back.
    let sets: Vec<_> = (0..6)
        .map(|i| pipe.set(format!("pipe:{i}"), i * 10))
        .collect();
    let visits = pipe.incr("pipe:visits");
    let values: Vec<_> = (0..6)
        .map(|i| pipe.get::<i64>(format!("pipe:{i}")))
        .collect();
    let text = pipe.set("pipe:text", "words");
    // A command that fails does not fail the others.
    let wrong = pipe.incr("pipe:text");
    let len = pipe.strlen("pipe:text");
    println!("sending {} commands", pipe.len());
    let mut replies = pipe.run().await?;
    for set in sets {
        replies.take(set)?;
    }
    replies.take(text)?;
    println!("visits = {}", replies.take(visits)?);
    for (i, value) in values.into_iter().enumerate() {
        let key = format!("pipe:{i}");
        println!(
            "  {key} = {:?} (slot {}, on {})",
            replies.take(value)?,
            RedisCluster::keyslot(&key),
            cluster.get_node_from_key(&key, false)?
        );
    }
    match replies.take(wrong) {
        Err(e) => println!("INCR pipe:text failed alone: {e}"),
        Ok(n) => return Err(format!("INCR of a text gave {n}").into()),
    }
    println!("STRLEN pipe:text = {}", replies.take(len)?);

    // A transaction: MULTI … EXEC on the one slot its keys share (the hash tag {acct}).
    cluster.set("{acct}:alice", 100).await?;
    cluster.set("{acct}:bob", 0).await?;
    let tx = cluster.transaction();
    let alice = tx.decrby("{acct}:alice", 30);
    let bob = tx.incrby("{acct}:bob", 30);
    let mut replies = tx.run().await?;
    let (alice, bob) = (replies.take(alice)?, replies.take(bob)?);
    println!("moved 30 in one transaction: alice {alice}, bob {bob}");

    // Keys in two slots cannot share a transaction: refused before anything is sent.
    let tx = cluster.transaction();
    // Their replies would never come: the handles are not needed.
    let _ = tx.incr("{acct}:alice");
    let _ = tx.incr("{other}:carol");
    match tx.run().await {
        Err(e) if e.is_cross_slot() => println!("cross-slot transaction refused: {e}"),
        Err(e) => return Err(e.into()),
        Ok(_) => return Err("a cross-slot transaction was accepted".into()),
    }
    // Check-and-set: watch, read, write in a transaction that runs only if nothing changed.
    let doubled = loop {
        let watch = cluster.watch("{acct}:alice").await?;
        let balance: i64 = watch.get("{acct}:alice").await?.unwrap_or(0);
        let tx = watch.transaction();
        let set = tx.set("{acct}:alice", balance * 2);
        match tx.run().await {
            Ok(mut replies) => {
                replies.take(set)?;
                break balance * 2;
            }
            // Another client changed the key in between: read again.
            Err(e) if e.kind() == ErrorKind::Aborted => continue,
            Err(e) => return Err(e.into()),
        }
    };
    println!("doubled alice's balance with WATCH: {doubled}");
    cluster.del(["{acct}:alice", "{acct}:bob"]).await?;
    Ok(())
}

/// The first argument, else `$SLOTWISE_URL`, else the first node of `slotwise cluster start`.
fn seed_url() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SLOTWISE_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:7000".to_owned())
}
