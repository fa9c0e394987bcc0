//! Hash commands against a real cluster node: fields round-trip, maps read from both
//! protocols, counters and random fields. Every test runs over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::node_exec::NodeExec;
use slotwise::commands::{CursorOptions, HashCommands, KeyCommands};

const TAG: &str = "cmdtest-hashes";

#[tokio::test]
async fn fields_round_trip() {
    for node in NodeExec::each_protocol(TAG).await {
        let h = node.key("user");
        node.del(&h).await.unwrap();

        assert_eq!(node.hset(&h, ("name", "Ada")).await.unwrap(), 1);
        assert_eq!(
            node.hset(&h, [("name", "Ada L."), ("lang", "en")])
                .await
                .unwrap(),
            1,
            "only lang is new"
        );
        assert_eq!(
            node.hget::<String>(&h, "name").await.unwrap().as_deref(),
            Some("Ada L.")
        );
        assert_eq!(node.hget::<String>(&h, "nope").await.unwrap(), None);
        let values: Vec<Option<String>> = node.hmget(&h, ["lang", "nope", "name"]).await.unwrap();
        assert_eq!(
            values,
            [Some("en".to_owned()), None, Some("Ada L.".to_owned())]
        );

        let all: HashMap<String, String> = node.hgetall(&h).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all["lang"], "en");
        let sorted: BTreeMap<String, String> = node.hgetall(&h).await.unwrap();
        assert_eq!(sorted.keys().collect::<Vec<_>>(), ["lang", "name"]);
        let mut pairs: Vec<(String, String)> = node.hgetall(&h).await.unwrap();
        pairs.sort();
        assert_eq!(pairs[0], ("lang".to_owned(), "en".to_owned()));

        let mut keys: Vec<String> = node.hkeys(&h).await.unwrap();
        keys.sort();
        assert_eq!(keys, ["lang", "name"]);
        let vals: HashSet<String> = node.hvals(&h).await.unwrap();
        assert!(vals.contains("en") && vals.contains("Ada L."), "{vals:?}");
        assert_eq!(node.hlen(&h).await.unwrap(), 2);
        assert_eq!(node.hstrlen(&h, "name").await.unwrap(), 6);
        assert_eq!(node.hstrlen(&h, "nope").await.unwrap(), 0);

        assert!(node.hexists(&h, "lang").await.unwrap());
        assert_eq!(node.hdel(&h, ["lang", "nope"]).await.unwrap(), 1);
        assert!(!node.hexists(&h, "lang").await.unwrap());

        let empty: HashMap<String, String> = node.hgetall(node.key("missing")).await.unwrap();
        assert!(empty.is_empty());
    }
}

#[tokio::test]
async fn hsetnx_and_counters() {
    for node in NodeExec::each_protocol(TAG).await {
        let h = node.key("stats");
        node.del(&h).await.unwrap();
        assert!(node.hsetnx(&h, "owner", "a").await.unwrap());
        assert!(!node.hsetnx(&h, "owner", "b").await.unwrap());
        assert_eq!(
            node.hget::<String>(&h, "owner").await.unwrap().as_deref(),
            Some("a")
        );

        assert_eq!(node.hincrby(&h, "hits", 5).await.unwrap(), 5);
        assert_eq!(node.hincrby(&h, "hits", -2).await.unwrap(), 3);
        assert_eq!(node.hget::<i64>(&h, "hits").await.unwrap(), Some(3));
        assert_eq!(node.hincrbyfloat(&h, "avg", 1.5).await.unwrap(), 1.5);
        assert_eq!(node.hincrbyfloat(&h, "avg", -0.25).await.unwrap(), 1.25);
    }
}

#[tokio::test]
async fn random_fields() {
    for node in NodeExec::each_protocol(TAG).await {
        let h = node.key("random");
        node.del(&h).await.unwrap();
        assert_eq!(node.hrandfield::<String>(&h).await.unwrap(), None);
        node.hset(&h, [("a", "1"), ("b", "2"), ("c", "3")])
            .await
            .unwrap();

        let one = node.hrandfield::<String>(&h).await.unwrap().unwrap();
        assert!(["a", "b", "c"].contains(&one.as_str()), "{one}");

        let distinct: HashSet<String> = node.hrandfield_count(&h, 10).await.unwrap();
        assert_eq!(distinct.len(), 3, "a positive count never repeats");
        let repeated: Vec<String> = node.hrandfield_count(&h, -10).await.unwrap();
        assert_eq!(
            repeated.len(),
            10,
            "a negative count returns exactly -count"
        );

        let with_values: Vec<(String, i64)> = node.hrandfield_withvalues(&h, 3).await.unwrap();
        let map: HashMap<String, i64> = with_values.into_iter().collect();
        assert_eq!(map.len(), 3);
        assert_eq!(map["b"], 2);
    }
}

#[tokio::test]
async fn hscan_pages_through_a_hash() {
    for node in NodeExec::each_protocol(TAG).await {
        let h = node.key("scan");
        node.del(&h).await.unwrap();
        let fields: Vec<(String, String)> = (0..40)
            .map(|i| (format!("f{i}"), format!("v{i}")))
            .collect();
        node.hset(&h, &fields).await.unwrap();
        let mut seen = std::collections::HashMap::new();
        let mut cursor = 0;
        loop {
            let (next, page): (u64, Vec<(String, String)>) = node
                .hscan(&h, cursor, &CursorOptions::new().count(5))
                .await
                .unwrap();
            seen.extend(page);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        assert_eq!(seen.len(), 40);
        assert_eq!(seen["f7"], "v7");
        let (_, matched): (u64, std::collections::HashMap<String, String>) = node
            .hscan(&h, 0, &CursorOptions::new().pattern("f1?").count(1000))
            .await
            .unwrap();
        assert_eq!(matched.len(), 10, "f10..f19");
    }
}
