//! Blocking commands (`BLPOP`, `XREAD … BLOCK` …) on the shared cluster: each on a connection of
//! its own, reused from the node's idle ones; waiting its block time beyond the response
//! timeout; never holding up other callers; `XREAD` without `BLOCK` on the shared connection.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use slotwise::commands::{Executor, ListCommands, StringCommands};
use slotwise::protocol::{Cmd, Value};
use slotwise::RedisCluster;

async fn client(response_timeout: Duration) -> RedisCluster {
    let cluster = slotwise_testkit::shared();
    RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new(
            "127.0.0.1",
            cluster.nodes().unwrap()[0].port,
        ))
        .response_timeout(response_timeout)
        .build()
        .await
        .unwrap()
}

/// `BLPOP key timeout`: the key and the element popped, or `None`.
async fn blpop(client: &RedisCluster, key: &str, timeout: f64) -> Option<(String, String)> {
    let reply: Option<Vec<String>> = client
        .cmd("BLPOP")
        .arg(key)
        .arg(timeout)
        .query()
        .await
        .unwrap();
    reply.map(|mut kv| {
        let value = kv.pop().unwrap();
        (kv.pop().unwrap(), value)
    })
}

/// `total_connections_received` of the node serving `key`.
fn connections_received(key: &str) -> u64 {
    let cluster = slotwise_testkit::shared();
    let port = cluster
        .node_for_slot(RedisCluster::keyslot(key))
        .unwrap()
        .port;
    let info = cluster.call(port, &Cmd::new("INFO").arg("stats")).unwrap();
    let text = String::from_utf8_lossy(info.as_bytes().unwrap()).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn blocking_commands_reuse_their_connections() {
    let client = client(Duration::from_secs(2)).await;
    let key = "blocking-tests:{reuse}";
    // One connection for the first, and the same one for each after it.
    client.rpush(key, ["a"]).await.unwrap();
    blpop(&client, key, 1.0).await;
    let before = connections_received(key);
    for i in 0..20 {
        client.rpush(key, [i.to_string()]).await.unwrap();
        let popped = blpop(&client, key, 1.0).await;
        assert_eq!(popped, Some((key.to_owned(), i.to_string())));
    }
    assert_eq!(
        connections_received(key),
        before,
        "20 blocking pops after the first opened new connections"
    );
}

#[tokio::test]
async fn a_block_longer_than_the_response_timeout_is_waited_for() {
    // The response timeout is shorter than the block: the command is not cut off by it.
    let client = client(Duration::from_millis(300)).await;
    let key = "blocking-tests:{long}";
    let popped = blpop(&client, key, 1.5).await;
    assert_eq!(popped, None, "nothing was pushed: the block ran out");
    // Meanwhile, other callers are not held up by it.
    let other = client.clone();
    let blocked = tokio::spawn(async move { blpop(&other, key, 5.0).await });
    for i in 0..10 {
        client
            .set(format!("blocking-tests:{{other}}:{i}"), "x")
            .await
            .unwrap();
    }
    client.rpush(key, ["late"]).await.unwrap();
    let popped = tokio::time::timeout(Duration::from_secs(10), blocked)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(popped, Some((key.to_owned(), "late".to_owned())));
}

#[tokio::test]
async fn xread_without_block_shares_the_connection() {
    let client = client(Duration::from_secs(2)).await;
    let stream = "blocking-tests:{xread}";
    let add = Cmd::new("XADD").arg(stream).arg("*").arg("f").arg("v");
    client.execute::<Value>(add).await.unwrap();
    let read = || Cmd::new("XREAD").arg("STREAMS").arg(stream).arg("0");
    client.execute::<Value>(read()).await.unwrap();
    let before = connections_received(stream);
    for _ in 0..5 {
        let reply: Value = client.execute(read()).await.unwrap();
        assert!(!matches!(reply, Value::Nil));
    }
    assert_eq!(connections_received(stream), before);
    // With BLOCK, it waits for an entry.
    let blocked = client.clone();
    let waiting = tokio::spawn(async move {
        let cmd = Cmd::new("XREAD")
            .arg("BLOCK")
            .arg(5000)
            .arg("STREAMS")
            .arg(stream)
            .arg("$");
        blocked.execute::<Value>(cmd).await.unwrap()
    });
    // Entries keep coming until the blocked read has seen one.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !waiting.is_finished() {
        let add = Cmd::new("XADD").arg(stream).arg("*").arg("f").arg("w");
        client.execute::<Value>(add).await.unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "XREAD BLOCK never returned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!matches!(waiting.await.unwrap(), Value::Nil));
}
