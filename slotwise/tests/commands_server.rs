//! Server commands against a real cluster node: PING, ECHO, TIME, INFO sections, CONFIG
//! GET/SET, DBSIZE and the flushes. Every test runs over RESP3 and RESP2.
//!
//! The flushes empty the node this file's tag lives on; the cluster is this test binary's
//! own, and the only other test here that writes keys is the one that flushes.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use common::node_exec::NodeExec;
use slotwise::commands::{FlushMode, PubSubCommands, ServerCommands, StringCommands};

const TAG: &str = "cmdtest-server";

#[tokio::test]
async fn ping_echo_time_and_counters() {
    for node in NodeExec::each_protocol(TAG).await {
        assert_eq!(node.ping().await.unwrap(), "PONG");
        assert_eq!(node.echo::<String>("hé llo").await.unwrap(), "hé llo");
        assert_eq!(
            node.echo::<Vec<u8>>(&[0u8, 1, 2][..]).await.unwrap(),
            [0, 1, 2]
        );

        let (seconds, micros) = node.time().await.unwrap();
        let local = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (seconds - local).abs() < 5,
            "server {seconds}, local {local}"
        );
        assert!((0..1_000_000).contains(&micros), "microseconds {micros}");

        assert!(node.lastsave().await.unwrap() > 0);
        assert!(node.client_id().await.unwrap() > 0);
        let commands = node.command_count().await.unwrap();
        assert!(
            commands > 200,
            "Redis 7 knows over 200 commands, got {commands}"
        );
    }
}

#[tokio::test]
async fn info_whole_and_by_section() {
    for node in NodeExec::each_protocol(TAG).await {
        let all: String = node.info().await.unwrap();
        assert!(
            all.contains("# Server") && all.contains("redis_version:"),
            "{all}"
        );

        let keyspace: String = node.info_section("keyspace").await.unwrap();
        assert!(keyspace.contains("# Keyspace"), "{keyspace}");
        assert!(!keyspace.contains("# Server"), "{keyspace}");

        let two: String = node.info_section(["server", "clients"]).await.unwrap();
        assert!(
            two.contains("# Server") && two.contains("# Clients"),
            "{two}"
        );
        assert!(!two.contains("# Memory"), "{two}");
    }
}

#[tokio::test]
async fn config_get_and_set() {
    // One parameter no other test of this binary reads, restored at the end.
    for node in NodeExec::each_protocol(TAG).await {
        let before: HashMap<String, String> = node.config_get("slowlog-max-len").await.unwrap();
        let original = before["slowlog-max-len"].clone();

        node.config_set("slowlog-max-len", 777).await.unwrap();
        let after: HashMap<String, i64> = node.config_get("slowlog-max-len").await.unwrap();
        assert_eq!(after["slowlog-max-len"], 777);

        let several: HashMap<String, String> = node
            .config_get(["slowlog-max-len", "maxmemory-policy"])
            .await
            .unwrap();
        assert_eq!(several.len(), 2, "{several:?}");
        let pattern: HashMap<String, String> = node.config_get("slowlog-*").await.unwrap();
        assert!(pattern.len() >= 2, "{pattern:?}");

        node.config_set("slowlog-max-len", &original).await.unwrap();

        let err = node.config_set("no-such-parameter", 1).await.unwrap_err();
        assert!(err.is_server_error(), "{err}");
    }
}

#[tokio::test]
async fn dbsize_and_flushes() {
    for node in NodeExec::each_protocol(TAG).await {
        for mode in [FlushMode::Sync, FlushMode::Async] {
            node.mset([(node.key("a"), 1), (node.key("b"), 2), (node.key("c"), 3)])
                .await
                .unwrap();
            assert!(node.dbsize().await.unwrap() >= 3);
            node.flushdb(mode).await.unwrap();
            // Even ASYNC removes the keys before replying; only the memory is freed later.
            assert_eq!(node.dbsize().await.unwrap(), 0, "after FLUSHDB {mode:?}");

            node.set(node.key("d"), 4).await.unwrap();
            assert_eq!(node.dbsize().await.unwrap(), 1);
            node.flushall(mode).await.unwrap();
            assert_eq!(node.dbsize().await.unwrap(), 0, "after FLUSHALL {mode:?}");
        }
    }
}

#[tokio::test]
async fn memory_acl_wait_and_lolwut() {
    for node in NodeExec::each_protocol(TAG).await {
        let stats: HashMap<String, slotwise::protocol::Value> = node.memory_stats().await.unwrap();
        assert!(stats.contains_key("peak.allocated"), "{stats:?}");
        assert!(!node.memory_doctor().await.unwrap().is_empty());
        assert!(!node.memory_malloc_stats().await.unwrap().is_empty());
        node.memory_purge().await.unwrap();

        assert_eq!(node.acl_whoami().await.unwrap(), "default");
        let categories = node.acl_cat().await.unwrap();
        assert!(categories.iter().any(|c| c == "stream"), "{categories:?}");
        let geo = node.acl_cat_commands("geo").await.unwrap();
        assert!(geo.iter().any(|c| c == "geoadd"), "{geo:?}");
        let password = node.acl_genpass().await.unwrap();
        assert_eq!(password.len(), 64);
        assert!(
            node.lolwut().await.unwrap().contains("ver. "),
            "ends with the version"
        );

        node.set(node.key("waited"), "v").await.unwrap();
        let acked = node
            .wait(1, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(acked, 1, "the primary's one replica has the write");
    }
}

#[tokio::test]
async fn pubsub_listings_without_subscribers() {
    for node in NodeExec::each_protocol(TAG).await {
        let channels: Vec<String> = node.pubsub_channels("cmdtest-none.*").await.unwrap();
        assert!(channels.is_empty());
        let shard: Vec<String> = node.pubsub_shardchannels("cmdtest-none.*").await.unwrap();
        assert!(shard.is_empty());
        assert!(node.pubsub_numpat().await.unwrap() >= 0);
    }
}
