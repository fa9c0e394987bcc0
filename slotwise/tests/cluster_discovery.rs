//! Discovery against scripted nodes, for what a real cluster does not do on demand: endpoints
//! reported as `?`, addresses that need remapping (NAT), uncovered slots, servers without
//! `CLUSTER SHARDS`.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_node::{greeting_then, Action, FakeNode};
use slotwise::protocol::Value;
use slotwise::{ErrorKind, RedisCluster};

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// A `CLUSTER SHARDS` reply (RESP2 shape) with one shard served by one primary.
fn shards_reply(first: u16, last: u16, endpoint: &str, ip: &str, port: u16) -> Vec<u8> {
    let node = [
        bulk("id"),
        bulk(&"a".repeat(40)),
        bulk("port"),
        format!(":{port}\r\n"),
        bulk("ip"),
        bulk(ip),
        bulk("endpoint"),
        bulk(endpoint),
        bulk("role"),
        bulk("master"),
        bulk("replication-offset"),
        ":0\r\n".to_owned(),
        bulk("health"),
        bulk("online"),
    ]
    .concat();
    format!(
        "*1\r\n*4\r\n{}*2\r\n:{first}\r\n:{last}\r\n{}*1\r\n*14\r\n{node}",
        bulk("slots"),
        bulk("nodes")
    )
    .into_bytes()
}

/// A node that describes itself with `shards` and answers GET with "bar".
async fn fake_cluster_node(shards: impl Fn(u16) -> Vec<u8> + Send + Sync + 'static) -> FakeNode {
    scripted_cluster_node(shards, |args| match args {
        ["COMMAND", ..] => Action::Reply(b"-ERR COMMAND is disabled here\r\n".to_vec()),
        ["GET", _] => Action::Reply(bulk("bar").into_bytes()),
        _ => Action::Reply(b"-ERR unexpected\r\n".to_vec()),
    })
    .await
}

/// A node that describes itself with `shards` and answers every other command (its words in
/// upper case) with `other`.
async fn scripted_cluster_node(
    shards: impl Fn(u16) -> Vec<u8> + Send + Sync + 'static,
    other: impl Fn(&[&str]) -> Action + Send + Sync + 'static,
) -> FakeNode {
    let port = Arc::new(AtomicU16::new(0));
    let seen = Arc::clone(&port);
    let node = FakeNode::start(greeting_then(move |args| {
        let upper: Vec<String> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
        let words: Vec<&str> = upper.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["CLUSTER", "SHARDS"] => Action::Reply(shards(seen.load(Ordering::SeqCst))),
            ["CLUSTER", "INFO"] => {
                Action::Reply(bulk("cluster_state:ok\r\ncluster_current_epoch:1").into_bytes())
            }
            words => other(words),
        }
    }))
    .await;
    port.store(node.port, Ordering::SeqCst);
    node
}

#[tokio::test]
async fn unknown_endpoint_means_the_address_that_answered() {
    let node = fake_cluster_node(|port| shards_reply(0, 16383, "?", "?", port)).await;
    let cluster = RedisCluster::new("127.0.0.1", node.port).await.unwrap();
    let nodes = cluster.get_nodes();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].name(), format!("127.0.0.1:{}", node.port));
    let v = cluster.cmd("GET").arg("foo").await.unwrap();
    assert_eq!(v, Value::Bulk("bar".into()));
}

#[tokio::test]
async fn address_remap_rewrites_reported_addresses() {
    let node =
        fake_cluster_node(|_| shards_reply(0, 16383, "10.255.0.1", "10.255.0.1", 6000)).await;
    let real = node.port;
    let cluster = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", real))
        .address_remap(move |host, port| {
            if (host, port) == ("10.255.0.1", 6000) {
                ("127.0.0.1".to_owned(), real)
            } else {
                (host.to_owned(), port)
            }
        })
        .build()
        .await
        .unwrap();
    assert_eq!(
        cluster.get_primaries()[0].name(),
        format!("127.0.0.1:{real}")
    );
    let v = cluster.cmd("GET").arg("foo").await.unwrap();
    assert_eq!(v, Value::Bulk("bar".into()));
}

#[tokio::test]
async fn uncovered_slots_fail_the_build_unless_allowed() {
    let node =
        fake_cluster_node(|port| shards_reply(0, 8000, "127.0.0.1", "127.0.0.1", port)).await;
    let err = RedisCluster::new("127.0.0.1", node.port).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SlotNotCovered, "{err}");
    assert!(err.to_string().contains("8001-16383"), "{err}");

    let cluster = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", node.port))
        .require_full_coverage(false)
        .build()
        .await
        .unwrap();
    let covered = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| RedisCluster::keyslot(k) <= 8000)
        .unwrap();
    let uncovered = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| RedisCluster::keyslot(k) > 8000)
        .unwrap();
    assert_eq!(
        cluster.cmd("GET").arg(&covered).await.unwrap(),
        Value::Bulk("bar".into())
    );
    let err = cluster.cmd("GET").arg(&uncovered).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SlotNotCovered, "{err}");
}

#[tokio::test]
async fn falls_back_to_cluster_slots() {
    let port = Arc::new(AtomicU16::new(0));
    let seen = Arc::clone(&port);
    let node = FakeNode::start(greeting_then(move |args| {
        let words: Vec<String> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
        match words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["CLUSTER", "SHARDS"] => {
                Action::Reply(b"-ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.\r\n".to_vec())
            }
            ["CLUSTER", "SLOTS"] => {
                let p = seen.load(Ordering::SeqCst);
                Action::Reply(
                    format!(
                        "*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n{}:{p}\r\n{}",
                        bulk("127.0.0.1"),
                        bulk(&"b".repeat(40))
                    )
                    .into_bytes(),
                )
            }
            ["CLUSTER", "INFO"] => Action::Reply(bulk("cluster_current_epoch:3").into_bytes()),
            ["COMMAND"] => Action::Reply(b"-ERR no\r\n".to_vec()),
            _ => Action::Reply(bulk("bar").into_bytes()),
        }
    }))
    .await;
    port.store(node.port, Ordering::SeqCst);
    let cluster = RedisCluster::new("127.0.0.1", node.port).await.unwrap();
    assert_eq!(cluster.get_primaries().len(), 1);
    assert_eq!(
        cluster.cmd("GET").arg("x").await.unwrap(),
        Value::Bulk("bar".into())
    );
}

#[tokio::test]
async fn a_slow_command_table_does_not_hold_up_the_build() {
    // 200 commands listed at once, then each COMMAND INFO batch of them answered in 1.5 s:
    // reading the table would take some 7 s.
    let node = scripted_cluster_node(
        |port| shards_reply(0, 16383, "127.0.0.1", "127.0.0.1", port),
        |args| match args {
            ["COMMAND", "LIST"] => {
                let names: String = (0..200).map(|i| bulk(&format!("cmd{i}"))).collect();
                Action::Reply(format!("*200\r\n{names}").into_bytes())
            }
            ["COMMAND", "INFO", ..] => {
                Action::ReplyAfter(Duration::from_millis(1500), b"*0\r\n".to_vec())
            }
            ["GET", _] => Action::Reply(bulk("bar").into_bytes()),
            _ => Action::Reply(b"-ERR unexpected\r\n".to_vec()),
        },
    )
    .await;
    let limit = Duration::from_secs(2);
    let started = Instant::now();
    let cluster = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", node.port))
        .startup_timeout(limit)
        .build()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < limit + common::SLACK,
        "build took {took:?} with a startup timeout of {limit:?}"
    );
    // The built-in table routes meanwhile.
    let v = cluster.cmd("GET").arg("foo").await.unwrap();
    assert_eq!(v, Value::Bulk("bar".into()));
}

#[tokio::test]
async fn a_silent_startup_node_fails_the_build_within_its_startup_timeout() {
    let node = FakeNode::start(greeting_then(|_| Action::Silence)).await;
    let limit = Duration::from_millis(500);
    let started = Instant::now();
    let err = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", node.port))
        .startup_timeout(limit)
        .build()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains(&node.port.to_string()), "{err}");
    assert!(took < limit + common::SLACK, "build took {took:?}");
}
