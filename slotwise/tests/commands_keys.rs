//! Key-space commands against a real cluster node: multi-key counts, the EXPIRE family with
//! its conditions, TYPE, RENAME, COPY, DUMP/RESTORE and KEYS. Every test runs over RESP3 and
//! RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::node_exec::NodeExec;
use slotwise::commands::{
    CopyOptions, ExpireCondition, HashCommands, KeyCommands, ListCommands, RestoreOptions,
    ServerCommands, SetCommands, SortOptions, SortedSetCommands, StringCommands,
};
use slotwise::ErrorKind;

const TAG: &str = "cmdtest-keys";

#[tokio::test]
async fn multi_key_counts() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, b, c) = (
            node.key("count-a"),
            node.key("count-b"),
            node.key("count-c"),
        );
        node.mset([(&a, "1"), (&b, "2")]).await.unwrap();
        node.del(&c).await.unwrap();

        assert_eq!(node.exists(&a).await.unwrap(), 1);
        assert_eq!(node.exists([&a, &b, &c]).await.unwrap(), 2);
        assert_eq!(
            node.exists([&a, &a]).await.unwrap(),
            2,
            "a key named twice counts twice"
        );
        assert_eq!(node.touch(vec![&a, &b, &c]).await.unwrap(), 2);
        assert_eq!(node.unlink([&b, &c]).await.unwrap(), 1);
        assert_eq!(node.del([&a, &b, &c]).await.unwrap(), 1);
        assert_eq!(node.exists([&a, &b, &c]).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn expire_family_and_ttls() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("expiring");
        let missing = node.key("expiring-missing");
        node.set(&k, "v").await.unwrap();
        node.del(&missing).await.unwrap();

        assert_eq!(node.ttl(&k).await.unwrap(), -1, "no TTL yet");
        assert_eq!(node.ttl(&missing).await.unwrap(), -2, "missing key");
        assert!(!node.expire(&missing, 10).await.unwrap());

        assert!(node.expire(&k, 100).await.unwrap());
        let ttl = node.ttl(&k).await.unwrap();
        assert!((90..=100).contains(&ttl), "EXPIRE 100 gave TTL {ttl}");
        assert!(node.pexpire(&k, 200_000).await.unwrap());
        let pttl = node.pttl(&k).await.unwrap();
        assert!((190_000..=200_000).contains(&pttl), "PEXPIRE gave {pttl}");

        assert!(node.persist(&k).await.unwrap());
        assert!(!node.persist(&k).await.unwrap(), "nothing left to persist");
        assert_eq!(node.ttl(&k).await.unwrap(), -1);

        let at = node.expiretime(&k).await.unwrap();
        assert_eq!(at, -1);
        let (now, _) = node.time().await.unwrap();
        assert!(node.expireat(&k, now + 500).await.unwrap());
        assert_eq!(node.expiretime(&k).await.unwrap(), now + 500);
        assert!(node.pexpireat(&k, (now + 600) * 1000).await.unwrap());
        assert_eq!(node.pexpiretime(&k).await.unwrap(), (now + 600) * 1000);

        // A zero or negative TTL deletes the key.
        assert!(node.expire(&k, 0).await.unwrap());
        assert_eq!(node.exists(&k).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn expire_conditions_apply() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("expire-cond");
        node.set(&k, "v").await.unwrap();

        assert!(
            !node
                .expire_options(&k, 100, ExpireCondition::Xx)
                .await
                .unwrap(),
            "XX on a key without TTL"
        );
        assert!(node
            .expire_options(&k, 100, ExpireCondition::Nx)
            .await
            .unwrap());
        assert!(
            !node
                .expire_options(&k, 500, ExpireCondition::Nx)
                .await
                .unwrap(),
            "NX on a key with a TTL"
        );
        assert!(
            !node
                .expire_options(&k, 50, ExpireCondition::Gt)
                .await
                .unwrap(),
            "GT with a shorter TTL"
        );
        assert!(node
            .expire_options(&k, 1000, ExpireCondition::Gt)
            .await
            .unwrap());
        assert!(node.ttl(&k).await.unwrap() > 900);
        assert!(
            !node
                .pexpire_options(&k, 2_000_000, ExpireCondition::Lt)
                .await
                .unwrap(),
            "LT with a longer TTL"
        );
        assert!(node
            .pexpire_options(&k, 20_000, ExpireCondition::Lt)
            .await
            .unwrap());
        assert!(node.pttl(&k).await.unwrap() <= 20_000);

        let (now, _) = node.time().await.unwrap();
        assert!(!node
            .expireat_options(&k, now + 5000, ExpireCondition::Lt)
            .await
            .unwrap());
        assert!(node
            .expireat_options(&k, now + 5000, ExpireCondition::Xx)
            .await
            .unwrap());
        assert_eq!(node.expiretime(&k).await.unwrap(), now + 5000);
        assert!(node
            .pexpireat_options(&k, (now + 9000) * 1000, ExpireCondition::Gt)
            .await
            .unwrap());
        assert_eq!(node.expiretime(&k).await.unwrap(), now + 9000);
    }
}

#[tokio::test]
async fn key_type_names_every_type() {
    for node in NodeExec::each_protocol(TAG).await {
        let names = ["t-string", "t-list", "t-set", "t-zset", "t-hash", "t-none"];
        let keys: Vec<String> = names.iter().map(|n| node.key(n)).collect();
        node.del(&keys).await.unwrap();
        node.set(&keys[0], "v").await.unwrap();
        node.rpush(&keys[1], "v").await.unwrap();
        node.sadd(&keys[2], "v").await.unwrap();
        node.zadd(&keys[3], (1, "v")).await.unwrap();
        node.hset(&keys[4], ("f", "v")).await.unwrap();
        let mut types = Vec::new();
        for key in &keys {
            types.push(node.key_type(key).await.unwrap());
        }
        assert_eq!(types, ["string", "list", "set", "zset", "hash", "none"]);
    }
}

#[tokio::test]
async fn rename_and_renamenx() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, b, c) = (node.key("ren-a"), node.key("ren-b"), node.key("ren-c"));
        node.del([&a, &b, &c]).await.unwrap();
        node.set(&a, "A").await.unwrap();
        node.rename(&a, &b).await.unwrap();
        assert_eq!(node.exists(&a).await.unwrap(), 0);
        assert_eq!(node.get::<String>(&b).await.unwrap().as_deref(), Some("A"));

        node.set(&c, "C").await.unwrap();
        assert!(!node.renamenx(&b, &c).await.unwrap(), "c exists");
        assert!(node.renamenx(&b, &a).await.unwrap());
        assert_eq!(node.get::<String>(&a).await.unwrap().as_deref(), Some("A"));

        let err = node.rename(&b, &c).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Response,
            "renaming a missing key: {err}"
        );
    }
}

#[tokio::test]
async fn copy_dump_restore() {
    for node in NodeExec::each_protocol(TAG).await {
        let (src, dst) = (node.key("copy-src"), node.key("copy-dst"));
        node.del([&src, &dst]).await.unwrap();
        node.rpush(&src, ["x", "y"]).await.unwrap();
        node.set(&dst, "old").await.unwrap();

        assert!(!node.copy(&src, &dst, &CopyOptions::new()).await.unwrap());
        assert!(node
            .copy(&src, &dst, &CopyOptions::new().replace(true))
            .await
            .unwrap());
        let copied: Vec<String> = node.lrange(&dst, 0, -1).await.unwrap();
        assert_eq!(copied, ["x", "y"]);

        let dumped = node.dump(&src).await.unwrap().expect("src exists");
        assert_eq!(node.dump(node.key("copy-missing")).await.unwrap(), None);
        let err = node
            .restore(&dst, 0, &dumped, &RestoreOptions::new())
            .await
            .unwrap_err();
        assert_eq!(
            err.server_error().map(|e| e.code().to_owned()).as_deref(),
            Some("BUSYKEY"),
            "{err}"
        );
        node.restore(
            &dst,
            60_000,
            &dumped,
            &RestoreOptions::new().replace(true).idletime(10),
        )
        .await
        .unwrap();
        let restored: Vec<String> = node.lrange(&dst, 0, -1).await.unwrap();
        assert_eq!(restored, ["x", "y"]);
        assert!(node.pttl(&dst).await.unwrap() > 50_000, "RESTORE TTL lost");
    }
}

#[tokio::test]
async fn keys_and_randomkey() {
    for node in NodeExec::each_protocol(TAG).await {
        let names = ["kp-1", "kp-2", "kp-3"];
        for name in names {
            node.set(node.key(name), "v").await.unwrap();
        }
        // Braces are literal in a KEYS glob, so the hash tag needs no escaping.
        let found: HashSet<String> = node.keys(node.key("kp-*")).await.unwrap();
        let expected: HashSet<String> = names.iter().map(|n| node.key(n)).collect();
        assert_eq!(found, expected);

        let any: Option<String> = node.randomkey().await.unwrap();
        assert!(any.is_some(), "the node holds keys");
    }
}

#[tokio::test]
async fn object_encoding_and_memory_usage() {
    for node in NodeExec::each_protocol(TAG).await {
        let (n, s, missing) = (
            node.key("obj-int"),
            node.key("obj-str"),
            node.key("obj-none"),
        );
        node.del(&missing).await.unwrap();
        node.set(&n, 12345).await.unwrap();
        node.set(&s, "x".repeat(100)).await.unwrap();
        assert_eq!(
            node.object_encoding(&n).await.unwrap().as_deref(),
            Some("int")
        );
        assert_eq!(
            node.object_encoding(&s).await.unwrap().as_deref(),
            Some("raw")
        );
        assert_eq!(node.object_encoding(&missing).await.unwrap(), None);
        assert!(node.object_idletime(&s).await.unwrap().unwrap() >= 0);
        assert!(node.object_refcount(&s).await.unwrap().unwrap() >= 1);
        assert_eq!(node.object_refcount(&missing).await.unwrap(), None);
        let lfu_only = node.object_freq(&s).await.unwrap_err();
        assert_eq!(
            lfu_only.kind(),
            ErrorKind::Response,
            "not an LFU policy: {lfu_only}"
        );
        assert!(node.memory_usage(&s).await.unwrap().unwrap() >= 100);
        assert_eq!(node.memory_usage(&missing).await.unwrap(), None);
    }
}

#[tokio::test]
async fn sort_by_value_by_pattern_and_into_a_list() {
    for node in NodeExec::each_protocol(TAG).await {
        let (l, d) = (node.key("sort-list"), node.key("sort-dest"));
        node.del([&l, &d]).await.unwrap();
        node.rpush(&l, [3, 1, 2]).await.unwrap();
        for (item, weight, name) in [(1, 30, "one"), (2, 10, "two"), (3, 20, "three")] {
            node.set(node.key(&format!("w_{item}")), weight)
                .await
                .unwrap();
            node.set(node.key(&format!("name_{item}")), name)
                .await
                .unwrap();
        }
        let sorted: Vec<i64> = node.sort(&l, &SortOptions::new()).await.unwrap();
        assert_eq!(sorted, [1, 2, 3]);
        let top: Vec<i64> = node
            .sort_ro(&l, &SortOptions::new().descending(true).limit(0, 2))
            .await
            .unwrap();
        assert_eq!(top, [3, 2]);
        let by_weight = SortOptions::new()
            .by(node.key("w_*"))
            .get("#")
            .get(node.key("name_*"));
        // Redis 7.0 refuses BY and GET in cluster mode, even for keys of one slot.
        match node.sort::<Vec<String>>(&l, &by_weight).await {
            Ok(rows) => assert_eq!(rows, ["2", "two", "3", "three", "1", "one"]),
            Err(e) => assert!(e.to_string().contains("denied in Cluster mode"), "{e}"),
        }
        let alpha = SortOptions::new().alpha(true);
        assert_eq!(node.sort_store(&l, &d, &alpha).await.unwrap(), 3);
        assert_eq!(node.lrange::<Vec<i64>>(&d, 0, -1).await.unwrap(), [1, 2, 3]);
    }
}
