//! Multi-key commands: atomic ones need one slot (checked before sending); the non-atomic ones
//! and DEL/EXISTS/UNLINK/TOUCH split by slot and put results back in the caller's order.
//! With no keys, they answer without sending anything.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::stats::command_stat;
use slotwise::commands::KeyCommands;
use slotwise::{ClusterCommands, ErrorKind, RedisCluster};

async fn client() -> RedisCluster {
    let testkit = slotwise_testkit::shared();
    let port = testkit.primaries().unwrap()[0].port;
    RedisCluster::new("127.0.0.1", port).await.unwrap()
}

/// `rejected_calls` of one command summed over every primary: a cross-slot command that
/// reached a server would be rejected there and counted.
async fn rejected(cluster: &RedisCluster, command: &str) -> u64 {
    let mut total = 0;
    for node in cluster.get_primaries() {
        total += command_stat(cluster, node, command, "rejected_calls").await;
    }
    total
}

#[tokio::test]
async fn mget_nonatomic_of_a_thousand_keys_keeps_order() {
    let cluster = client().await;
    let keys: Vec<String> = (0..1000).map(|i| format!("mk-order:{i}")).collect();
    let slots: HashSet<u16> = keys.iter().map(RedisCluster::keyslot).collect();
    assert!(slots.len() > 900, "keys spread over {} slots", slots.len());
    let pairs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), format!("v-{k}"))).collect();
    // Leave every tenth key unset: missing keys come back as None in place.
    let set: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !k.ends_with('0'))
        .cloned()
        .collect();
    cluster.mset_nonatomic(&set).await.unwrap();
    let values: Vec<Option<String>> = cluster.mget_nonatomic(&keys).await.unwrap();
    assert_eq!(values.len(), keys.len());
    for (key, value) in keys.iter().zip(&values) {
        if key.ends_with('0') {
            assert_eq!(value, &None, "{key}");
        } else {
            assert_eq!(value.as_deref(), Some(format!("v-{key}").as_str()), "{key}");
        }
    }
}

#[tokio::test]
async fn cross_slot_atomic_commands_are_refused_before_sending() {
    let cluster = client().await;
    let mut before = Vec::new();
    for cmd in ["mset", "mget", "rename", "sunionstore"] {
        before.push(rejected(&cluster, cmd).await);
    }
    let err = cluster
        .cmd("MSET")
        .arg(["cs:a", "1", "cs:b", "2", "cs:c", "3"])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CrossSlot, "{err}");
    let text = err.to_string();
    for key in ["cs:a", "cs:b", "cs:c"] {
        assert!(
            text.contains(&RedisCluster::keyslot(key).to_string()),
            "{text}"
        );
    }
    for cmd in ["MGET", "RENAME", "SUNIONSTORE"] {
        let err = cluster.cmd(cmd).arg(["cs:a", "cs:b"]).await.unwrap_err();
        assert!(err.is_cross_slot(), "{cmd}: {err}");
    }
    for (cmd, before) in ["mset", "mget", "rename", "sunionstore"].iter().zip(before) {
        assert_eq!(
            rejected(&cluster, cmd).await,
            before,
            "{cmd} reached a server"
        );
    }
}

#[tokio::test]
async fn del_exists_touch_unlink_split_and_sum() {
    let cluster = client().await;
    let keys: Vec<String> = (0..50).map(|i| format!("mk-count:{i}")).collect();
    let pairs: Vec<(String, i64)> = keys.iter().map(|k| (k.clone(), 1)).collect();
    cluster.mset_nonatomic(&pairs).await.unwrap();
    let missing = "mk-count:missing".to_owned();
    let mut with_missing = keys.clone();
    with_missing.push(missing);
    let n: i64 = cluster
        .cmd("EXISTS")
        .arg(&with_missing)
        .query()
        .await
        .unwrap();
    assert_eq!(n, 50);
    let n: i64 = cluster
        .cmd("TOUCH")
        .arg(&with_missing)
        .query()
        .await
        .unwrap();
    assert_eq!(n, 50);
    let n: i64 = cluster.cmd("DEL").arg(&keys[..25]).query().await.unwrap();
    assert_eq!(n, 25);
    let n: i64 = cluster
        .cmd("UNLINK")
        .arg(&with_missing)
        .query()
        .await
        .unwrap();
    assert_eq!(n, 25);
    let n: i64 = cluster.cmd("EXISTS").arg(&keys).query().await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn empty_key_lists_are_answered_without_sending() {
    let cluster = client().await;
    // Each of these with no key would reach a server as an arity error and be counted there.
    let commands = ["del", "exists", "unlink", "touch", "mget", "mset"];
    let mut before = Vec::new();
    for cmd in commands {
        before.push(rejected(&cluster, cmd).await);
    }
    let none: Vec<String> = Vec::new();
    let values: Vec<Option<String>> = cluster.mget_nonatomic(&none).await.unwrap();
    assert!(values.is_empty(), "{values:?}");
    cluster.mset_nonatomic::<String, String>(&[]).await.unwrap();
    for cmd in ["DEL", "EXISTS", "UNLINK", "TOUCH"] {
        let n: i64 = cluster.cmd(cmd).query().await.unwrap();
        assert_eq!(n, 0, "{cmd} of no keys");
    }
    let pipe = cluster.pipeline();
    let deleted = pipe.del(&none);
    let existing = pipe.exists(&none);
    let mut replies = pipe.run().await.unwrap();
    assert_eq!(replies.take(deleted).unwrap(), 0);
    assert_eq!(replies.take(existing).unwrap(), 0);
    for (cmd, before) in commands.iter().zip(before) {
        assert_eq!(
            rejected(&cluster, cmd).await,
            before,
            "{cmd} reached a server"
        );
    }
}
