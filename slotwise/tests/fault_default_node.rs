//! The default node dies: keyless commands move to another primary at once instead of waiting
//! seconds for the election that replaces it.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::SLACK;
use slotwise::commands::ServerCommands;
use slotwise::RedisCluster;

const NODE_TIMEOUT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_commands_leave_a_dead_default_node() {
    // The election that replaces the victim cannot come before the node timeout: one far longer
    // than the call may take shows the call did not wait for it.
    let cluster = common::faults::fault_cluster_with(NODE_TIMEOUT);
    let primaries = cluster.primaries().unwrap();
    let (victim, seed) = (primaries[0].port, primaries[1].port);
    let client = RedisCluster::new("127.0.0.1", seed).await.unwrap();
    let node = client.get_node("127.0.0.1", victim).unwrap();
    client.set_default_node(&node).unwrap();
    let echoed: String = client.echo("before").await.unwrap();
    assert_eq!(echoed, "before");

    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.kill(victim).unwrap())
            .await
            .unwrap();
    }
    // Let the client's socket see the close, so the next attempt is a refused connect (a
    // command written to a dying socket may have run, and ECHO is not a read-only command).
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let echoed: String = client.echo("after").await.unwrap();
    let took = started.elapsed();
    assert_eq!(echoed, "after");
    let now = client.default_node();
    println!("served by {} {took:?} after the call began", now.name());
    assert_ne!(now.port(), victim, "the default node is still the dead one");
    assert!(
        took < SLACK,
        "ECHO took {took:?}, expected within {SLACK:?} (the node timeout is {NODE_TIMEOUT:?})"
    );
    for i in 0..20 {
        let reply: String = client.echo(format!("again {i}")).await.unwrap();
        assert_eq!(reply, format!("again {i}"));
    }
}
