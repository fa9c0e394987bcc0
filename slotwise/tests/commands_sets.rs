//! Set commands against a real cluster node: membership, random members, moves and the set
//! algebra within one slot. Every test runs over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeSet, HashSet};

use common::node_exec::NodeExec;
use slotwise::commands::{KeyCommands, SetCommands};

const TAG: &str = "cmdtest-sets";

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn membership() {
    for node in NodeExec::each_protocol(TAG).await {
        let s = node.key("members");
        node.del(&s).await.unwrap();

        assert_eq!(node.sadd(&s, ["a", "b", "c"]).await.unwrap(), 3);
        assert_eq!(node.sadd(&s, ["c", "d"]).await.unwrap(), 1, "c is there");
        assert_eq!(node.scard(&s).await.unwrap(), 4);
        let members: BTreeSet<String> = node.smembers(&s).await.unwrap();
        assert_eq!(members, set(["a", "b", "c", "d"]));
        let as_vec: Vec<String> = node.smembers(&s).await.unwrap();
        assert_eq!(as_vec.len(), 4);

        assert!(node.sismember(&s, "a").await.unwrap());
        assert!(!node.sismember(&s, "z").await.unwrap());
        assert_eq!(
            node.smismember(&s, ["z", "a", "d"]).await.unwrap(),
            [false, true, true]
        );

        assert_eq!(node.srem(&s, ["a", "z"]).await.unwrap(), 1);
        assert_eq!(node.scard(&s).await.unwrap(), 3);
        let none: HashSet<String> = node.smembers(node.key("missing")).await.unwrap();
        assert!(none.is_empty());
    }
}

#[tokio::test]
async fn random_members_and_pops() {
    for node in NodeExec::each_protocol(TAG).await {
        let s = node.key("random");
        node.del(&s).await.unwrap();
        assert_eq!(node.spop::<String>(&s).await.unwrap(), None);
        assert_eq!(node.srandmember::<String>(&s).await.unwrap(), None);
        node.sadd(&s, ["a", "b", "c", "d", "e"]).await.unwrap();

        let one = node.srandmember::<String>(&s).await.unwrap().unwrap();
        assert!(set(["a", "b", "c", "d", "e"]).contains(&one));
        let distinct: HashSet<String> = node.srandmember_count(&s, 3).await.unwrap();
        assert_eq!(distinct.len(), 3);
        let repeated: Vec<String> = node.srandmember_count(&s, -8).await.unwrap();
        assert_eq!(repeated.len(), 8);
        assert_eq!(
            node.scard(&s).await.unwrap(),
            5,
            "SRANDMEMBER removes nothing"
        );

        let popped = node.spop::<String>(&s).await.unwrap().unwrap();
        assert!(!node.sismember(&s, &popped).await.unwrap());
        let popped: Vec<String> = node.spop_count(&s, 10).await.unwrap();
        assert_eq!(popped.len(), 4, "only four were left");
        assert_eq!(node.scard(&s).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn smove_and_algebra() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, b, c) = (node.key("alg-a"), node.key("alg-b"), node.key("alg-c"));
        let dst = node.key("alg-dst");
        node.del([&a, &b, &c, &dst]).await.unwrap();
        node.sadd(&a, ["1", "2", "3", "4"]).await.unwrap();
        node.sadd(&b, ["3", "4", "5"]).await.unwrap();
        node.sadd(&c, ["4", "6"]).await.unwrap();

        let inter: BTreeSet<String> = node.sinter([&a, &b]).await.unwrap();
        assert_eq!(inter, set(["3", "4"]));
        let inter3: BTreeSet<String> = node.sinter([&a, &b, &c]).await.unwrap();
        assert_eq!(inter3, set(["4"]));
        let union: BTreeSet<String> = node.sunion([&a, &b, &c]).await.unwrap();
        assert_eq!(union, set(["1", "2", "3", "4", "5", "6"]));
        let diff: BTreeSet<String> = node.sdiff([&a, &b]).await.unwrap();
        assert_eq!(diff, set(["1", "2"]));

        assert_eq!(node.sintercard([&a, &b], 0).await.unwrap(), 2);
        assert_eq!(node.sintercard([&a, &b], 1).await.unwrap(), 1, "LIMIT 1");
        assert_eq!(node.sintercard(&a, 0).await.unwrap(), 4);

        assert_eq!(node.sinterstore(&dst, [&a, &b]).await.unwrap(), 2);
        assert_eq!(node.sunionstore(&dst, [&a, &c]).await.unwrap(), 5);
        assert_eq!(node.sdiffstore(&dst, [&a, &b, &c]).await.unwrap(), 2);
        let stored: BTreeSet<String> = node.smembers(&dst).await.unwrap();
        assert_eq!(stored, set(["1", "2"]), "the last store replaced the set");

        assert!(node.smove(&a, &c, "1").await.unwrap());
        assert!(!node.smove(&a, &c, "1").await.unwrap(), "already moved");
        assert!(node.sismember(&c, "1").await.unwrap());
        assert!(!node.sismember(&a, "1").await.unwrap());
    }
}

#[tokio::test]
async fn sscan_pages_through_a_set() {
    for node in NodeExec::each_protocol(TAG).await {
        let s = node.key("scan");
        node.del(&s).await.unwrap();
        let members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        node.sadd(&s, &members).await.unwrap();
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        loop {
            let (next, page): (u64, Vec<String>) = node
                .sscan(
                    &s,
                    cursor,
                    &slotwise::commands::CursorOptions::new().count(7),
                )
                .await
                .unwrap();
            seen.extend(page);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        assert_eq!(seen, members.into_iter().collect::<BTreeSet<_>>());
    }
}
