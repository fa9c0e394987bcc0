//! List commands against a real cluster node: push and pop from both ends, ranges, LPOS with
//! its options, LINSERT and LMOVE. Every test runs over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::node_exec::NodeExec;
use slotwise::commands::{InsertPosition, KeyCommands, ListCommands, ListEnd, LposOptions, Popped};
use slotwise::ErrorKind;

const TAG: &str = "cmdtest-lists";

async fn whole(node: &NodeExec, key: &str) -> slotwise::Result<Vec<String>> {
    node.lrange(key, 0, -1).await
}

#[tokio::test]
async fn push_and_pop_at_both_ends() {
    for node in NodeExec::each_protocol(TAG).await {
        let l = node.key("pushpop");
        node.del(&l).await.unwrap();

        assert_eq!(node.lpushx(&l, "x").await.unwrap(), 0, "LPUSHX on no list");
        assert_eq!(node.rpushx(&l, "x").await.unwrap(), 0, "RPUSHX on no list");
        assert_eq!(node.exists(&l).await.unwrap(), 0);

        assert_eq!(node.rpush(&l, ["c", "d"]).await.unwrap(), 2);
        assert_eq!(node.lpush(&l, ["b", "a"]).await.unwrap(), 4);
        assert_eq!(
            whole(&node, &l).await.unwrap(),
            ["a", "b", "c", "d"],
            "LPUSH reverses"
        );
        assert_eq!(node.lpushx(&l, "0").await.unwrap(), 5);
        assert_eq!(node.rpushx(&l, "e").await.unwrap(), 6);

        assert_eq!(node.lpop::<String>(&l).await.unwrap().as_deref(), Some("0"));
        assert_eq!(node.rpop::<String>(&l).await.unwrap().as_deref(), Some("e"));
        let head: Vec<String> = node.lpop_count(&l, 2).await.unwrap();
        assert_eq!(head, ["a", "b"]);
        let tail: Vec<String> = node.rpop_count(&l, 5).await.unwrap();
        assert_eq!(
            tail,
            ["d", "c"],
            "RPOP with a count: last first, stops at empty"
        );

        assert_eq!(node.lpop::<String>(&l).await.unwrap(), None);
        let none: Vec<String> = node.lpop_count(&l, 3).await.unwrap();
        assert!(none.is_empty());
    }
}

#[tokio::test]
async fn indexes_ranges_and_edits() {
    for node in NodeExec::each_protocol(TAG).await {
        let l = node.key("edits");
        node.del(&l).await.unwrap();
        node.rpush(&l, [1, 2, 3, 2, 1]).await.unwrap();

        assert_eq!(node.llen(&l).await.unwrap(), 5);
        assert_eq!(node.lindex::<i64>(&l, 1).await.unwrap(), Some(2));
        assert_eq!(node.lindex::<i64>(&l, -1).await.unwrap(), Some(1));
        assert_eq!(node.lindex::<i64>(&l, 99).await.unwrap(), None);
        let middle: Vec<i64> = node.lrange(&l, 1, -2).await.unwrap();
        assert_eq!(middle, [2, 3, 2]);

        node.lset(&l, 2, "three").await.unwrap();
        assert_eq!(
            node.lindex::<String>(&l, 2).await.unwrap().as_deref(),
            Some("three")
        );
        let err = node.lset(&l, 99, "x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Response, "LSET out of range: {err}");

        assert_eq!(
            node.lrem(&l, -1, "1").await.unwrap(),
            1,
            "one from the tail"
        );
        assert_eq!(whole(&node, &l).await.unwrap(), ["1", "2", "three", "2"]);
        assert_eq!(node.lrem(&l, 0, "2").await.unwrap(), 2, "all of them");
        assert_eq!(whole(&node, &l).await.unwrap(), ["1", "three"]);

        assert_eq!(
            node.linsert(&l, InsertPosition::Before, "three", "before")
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            node.linsert(&l, InsertPosition::After, "three", "after")
                .await
                .unwrap(),
            4
        );
        assert_eq!(
            node.linsert(&l, InsertPosition::After, "nope", "x")
                .await
                .unwrap(),
            -1,
            "pivot not found"
        );
        assert_eq!(
            whole(&node, &l).await.unwrap(),
            ["1", "before", "three", "after"]
        );

        node.ltrim(&l, 1, 2).await.unwrap();
        assert_eq!(whole(&node, &l).await.unwrap(), ["before", "three"]);
    }
}

#[tokio::test]
async fn lpos_with_rank_count_and_maxlen() {
    for node in NodeExec::each_protocol(TAG).await {
        let l = node.key("lpos");
        node.del(&l).await.unwrap();
        node.rpush(&l, ["a", "b", "c", "1", "2", "3", "c", "c"])
            .await
            .unwrap();
        let plain = LposOptions::new();

        assert_eq!(node.lpos(&l, "c", &plain).await.unwrap(), Some(2));
        assert_eq!(node.lpos(&l, "z", &plain).await.unwrap(), None);
        assert_eq!(
            node.lpos(&l, "c", &LposOptions::new().rank(2))
                .await
                .unwrap(),
            Some(6)
        );
        assert_eq!(
            node.lpos(&l, "c", &LposOptions::new().rank(-1))
                .await
                .unwrap(),
            Some(7)
        );
        assert_eq!(
            node.lpos(&l, "c", &LposOptions::new().maxlen(2))
                .await
                .unwrap(),
            None,
            "MAXLEN 2 stops before index 2"
        );

        assert_eq!(node.lpos_count(&l, "c", 2, &plain).await.unwrap(), [2, 6]);
        assert_eq!(
            node.lpos_count(&l, "c", 0, &plain).await.unwrap(),
            [2, 6, 7]
        );
        assert_eq!(
            node.lpos_count(&l, "c", 0, &LposOptions::new().rank(-1))
                .await
                .unwrap(),
            [7, 6, 2]
        );
        assert_eq!(
            node.lpos_count(&l, "c", 0, &LposOptions::new().maxlen(7))
                .await
                .unwrap(),
            [2, 6]
        );
        assert!(node
            .lpos_count(&l, "z", 0, &plain)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn lmove_between_and_within_lists() {
    for node in NodeExec::each_protocol(TAG).await {
        let (src, dst) = (node.key("lmove-src"), node.key("lmove-dst"));
        node.del([&src, &dst]).await.unwrap();
        node.rpush(&src, ["a", "b", "c"]).await.unwrap();

        let moved: Option<String> = node
            .lmove(&src, &dst, ListEnd::Right, ListEnd::Left)
            .await
            .unwrap();
        assert_eq!(moved.as_deref(), Some("c"));
        node.lmove::<String>(&src, &dst, ListEnd::Left, ListEnd::Right)
            .await
            .unwrap();
        assert_eq!(whole(&node, &src).await.unwrap(), ["b"]);
        assert_eq!(whole(&node, &dst).await.unwrap(), ["c", "a"]);

        // The same list at both ends rotates it.
        node.lmove::<String>(&dst, &dst, ListEnd::Left, ListEnd::Right)
            .await
            .unwrap();
        assert_eq!(whole(&node, &dst).await.unwrap(), ["a", "c"]);

        let empty = node.key("lmove-empty");
        assert_eq!(
            node.lmove::<String>(&empty, &dst, ListEnd::Left, ListEnd::Left)
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn lmpop_takes_from_the_first_non_empty_list() {
    for node in NodeExec::each_protocol(TAG).await {
        let (empty, full) = (node.key("mpop-empty"), node.key("mpop-full"));
        node.del([&empty, &full]).await.unwrap();
        let none: Option<Popped<String>> =
            node.lmpop([&empty, &full], ListEnd::Left, 2).await.unwrap();
        assert_eq!(none, None, "every list is empty");
        node.rpush(&full, ["a", "b", "c"]).await.unwrap();
        let popped = node
            .lmpop::<String>([&empty, &full], ListEnd::Right, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (popped.key.as_str(), popped.items),
            (full.as_str(), vec!["c".to_owned(), "b".to_owned()])
        );
    }
}
