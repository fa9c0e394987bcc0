//! Stream commands against a real cluster node: adding and trimming, ranges, reads with and
//! without `BLOCK`, consumer groups with pending entries, claims and the `XINFO` reports,
//! each read into its reply type. Every test runs over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::node_exec::NodeExec;
use slotwise::commands::{
    KeyCommands, StreamCommands, StreamEntry, StreamTrim, XAddOptions, XClaimOptions,
    XGroupCreateOptions, XPendingOptions, XReadGroupOptions, XReadOptions,
};
use slotwise::protocol::Value;
use slotwise::ErrorKind;

const TAG: &str = "cmdtest-streams";

type Fields = HashMap<String, String>;

fn ids<F>(entries: &[StreamEntry<F>]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// A stream with entries `1-0` … `n-0`, each `{"n": "<i>"}`.
async fn numbered(node: &NodeExec, name: &str, n: u64) -> String {
    let s = node.key(name);
    node.del(&s).await.unwrap();
    for i in 1..=n {
        let id = node.xadd(&s, format!("{i}-0"), ("n", i)).await.unwrap();
        assert_eq!(id, format!("{i}-0"));
    }
    s
}

#[tokio::test]
async fn add_trim_and_ranges() {
    for node in NodeExec::each_protocol(TAG).await {
        let s = numbered(&node, "ranges", 5).await;
        let auto = node.xadd(&s, "*", [("a", "1"), ("b", "2")]).await.unwrap();
        assert!(auto.contains('-'), "a server-made id: {auto}");
        assert_eq!(node.xlen(&s).await.unwrap(), 6);

        let all: Vec<StreamEntry<Fields>> = node.xrange(&s, "-", "+").await.unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0].fields["n"], "1");
        assert_eq!(all[5].fields["b"], "2");
        let ordered: Vec<StreamEntry<Vec<(String, String)>>> =
            node.xrange(&s, auto.as_str(), "+").await.unwrap();
        assert_eq!(
            ordered[0].fields,
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        let page: Vec<StreamEntry<Fields>> = node.xrange_count(&s, "(2-0", "+", 2).await.unwrap();
        assert_eq!(ids(&page), ["3-0", "4-0"]);
        let back: Vec<StreamEntry<Fields>> = node.xrevrange(&s, "3-0", "-").await.unwrap();
        assert_eq!(ids(&back), ["3-0", "2-0", "1-0"]);
        let newest: Vec<StreamEntry<Fields>> = node.xrevrange_count(&s, "+", "-", 1).await.unwrap();
        assert_eq!(ids(&newest), [auto.as_str()]);

        assert_eq!(node.xdel(&s, ["1-0", "99-0"]).await.unwrap(), 1);
        assert_eq!(node.xtrim(&s, &StreamTrim::maxlen(3)).await.unwrap(), 2);
        assert_eq!(node.xtrim(&s, &StreamTrim::minid("5-0")).await.unwrap(), 1);
        let approx = StreamTrim::maxlen(0).approximate(true).limit(10);
        node.xtrim(&s, &approx).await.unwrap();

        let trimmed = XAddOptions::new().trim(StreamTrim::maxlen(1));
        node.xadd_options(&s, "*", ("x", "y"), &trimmed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(node.xlen(&s).await.unwrap(), 1);
        let missing = node.key("no-such-stream");
        let none = node.xadd_options(
            &missing,
            "*",
            ("x", "y"),
            &XAddOptions::new().nomkstream(true),
        );
        assert_eq!(none.await.unwrap(), None, "NOMKSTREAM on no stream");

        node.xsetid(&s, "999999999999999-0").await.unwrap();
        let info = node.xinfo_stream::<Fields>(&s).await.unwrap();
        assert_eq!(info.last_generated_id, "999999999999999-0");
        assert_eq!(info.length, 1);
        assert_eq!(info.groups, 0);
        assert_eq!(
            info.entries_added,
            Some(7),
            "five, one with a server id, one trimmed"
        );
        assert_eq!(info.first_entry.unwrap().fields["x"], "y");
        let full: Value = node.xinfo_stream_full(&s, 0).await.unwrap();
        assert!(matches!(full, Value::Map(_) | Value::Array(_)), "{full:?}");
    }
}

#[tokio::test]
async fn reads_with_and_without_block() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, b) = (
            numbered(&node, "read-a", 2).await,
            numbered(&node, "read-b", 3).await,
        );

        let reads = node
            .xread::<Fields>([&a, &b], ["1-0", "0"], &XReadOptions::new().count(2))
            .await
            .unwrap();
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[0].key, a);
        assert_eq!(ids(&reads[0].entries), ["2-0"]);
        assert_eq!(ids(&reads[1].entries), ["1-0", "2-0"], "COUNT 2");

        let nothing = node
            .xread::<Fields>(&a, "$", &XReadOptions::new())
            .await
            .unwrap();
        assert!(nothing.is_empty(), "no entry after $");
        let started = Instant::now();
        let timed_out = node
            .xread::<Fields>(
                &a,
                "$",
                &XReadOptions::new().block(Duration::from_millis(200)),
            )
            .await
            .unwrap();
        assert!(timed_out.is_empty());
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "BLOCK waited"
        );
    }
}

#[tokio::test]
async fn consumer_groups_pending_and_claims() {
    for node in NodeExec::each_protocol(TAG).await {
        let s = numbered(&node, "groups", 3).await;
        node.xgroup_create(&s, "g", "0", &XGroupCreateOptions::new())
            .await
            .unwrap();
        let dup = node.xgroup_create(&s, "g", "0", &XGroupCreateOptions::new());
        assert_eq!(
            dup.await.unwrap_err().kind(),
            ErrorKind::Response,
            "BUSYGROUP"
        );
        let fresh = node.key("groups-new");
        node.del(&fresh).await.unwrap();
        let mk = XGroupCreateOptions::new().mkstream(true).entries_read(0);
        node.xgroup_create(&fresh, "g", "$", &mk).await.unwrap();
        assert_eq!(node.xlen(&fresh).await.unwrap(), 0, "MKSTREAM");

        assert!(node.xgroup_createconsumer(&s, "g", "bob").await.unwrap());
        assert!(!node.xgroup_createconsumer(&s, "g", "bob").await.unwrap());

        let two = XReadGroupOptions::new().count(2);
        let got = node
            .xreadgroup::<Fields>("g", "alice", &s, ">", &two)
            .await
            .unwrap();
        assert_eq!(ids(&got[0].entries), ["1-0", "2-0"]);
        let rest = node
            .xreadgroup::<Fields>("g", "bob", &s, ">", &XReadGroupOptions::new().noack(true))
            .await
            .unwrap();
        assert_eq!(ids(&rest[0].entries), ["3-0"], "NOACK: not pending");
        let idle = node
            .xreadgroup::<Fields>(
                "g",
                "bob",
                &s,
                ">",
                &XReadGroupOptions::new().block(Duration::from_millis(100)),
            )
            .await
            .unwrap();
        assert!(idle.is_empty(), "nothing new: the block timed out");

        let summary = node.xpending(&s, "g").await.unwrap();
        assert_eq!(summary.count, 2);
        assert_eq!(summary.smallest_id.as_deref(), Some("1-0"));
        assert_eq!(summary.largest_id.as_deref(), Some("2-0"));
        assert_eq!(summary.consumers, [("alice".to_owned(), 2)]);
        let pending = node
            .xpending_range(&s, "g", "-", "+", 10, &XPendingOptions::new())
            .await
            .unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(
            (pending[0].id.as_str(), pending[0].consumer.as_str()),
            ("1-0", "alice")
        );
        assert_eq!(pending[0].deliveries, 1);
        let bobs = XPendingOptions::new().consumer("bob");
        assert!(node
            .xpending_range(&s, "g", "-", "+", 10, &bobs)
            .await
            .unwrap()
            .is_empty());
        let long_idle = XPendingOptions::new().idle(Duration::from_secs(3600));
        assert!(node
            .xpending_range(&s, "g", "-", "+", 10, &long_idle)
            .await
            .unwrap()
            .is_empty());

        let claimed = node
            .xclaim::<Fields>(
                &s,
                "g",
                "bob",
                0,
                ["1-0"],
                &XClaimOptions::new().retry_count(5),
            )
            .await
            .unwrap();
        assert_eq!(claimed[0].fields["n"], "1");
        let just = node
            .xclaim_justid(&s, "g", "bob", 0, ["2-0"], &XClaimOptions::new())
            .await
            .unwrap();
        assert_eq!(just, ["2-0"]);
        let after = node.xpending_range(&s, "g", "-", "+", 10, &XPendingOptions::new());
        let after = after.await.unwrap();
        assert_eq!(
            (after[0].consumer.as_str(), after[0].deliveries),
            ("bob", 5)
        );

        node.xdel(&s, "2-0").await.unwrap();
        let page = node
            .xautoclaim::<Fields>(&s, "g", "alice", 0, "0-0", 10)
            .await
            .unwrap();
        assert_eq!(page.next_id, "0-0", "one page covers it");
        assert_eq!(ids(&page.claimed), ["1-0"]);
        assert_eq!(page.deleted_ids, ["2-0"], "deleted while pending");
        let page = node
            .xautoclaim_justid(&s, "g", "bob", 0, "0-0", 10)
            .await
            .unwrap();
        assert_eq!(page.claimed, ["1-0"]);

        let groups = node.xinfo_groups(&s).await.unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (
                groups[0].name.as_str(),
                groups[0].consumers,
                groups[0].pending
            ),
            ("g", 2, 1)
        );
        assert_eq!(groups[0].last_delivered_id, "3-0");
        let consumers = node.xinfo_consumers(&s, "g").await.unwrap();
        let names: Vec<&str> = consumers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob"]);
        assert_eq!(consumers[1].pending, 1);

        assert_eq!(node.xack(&s, "g", ["1-0", "3-0"]).await.unwrap(), 1);
        assert_eq!(node.xpending(&s, "g").await.unwrap().count, 0);
        assert_eq!(node.xgroup_delconsumer(&s, "g", "bob").await.unwrap(), 0);
        node.xgroup_setid(&s, "g", "0").await.unwrap();
        let again = node
            .xreadgroup::<Fields>("g", "alice", &s, ">", &XReadGroupOptions::new())
            .await
            .unwrap();
        assert_eq!(
            ids(&again[0].entries),
            ["1-0", "3-0"],
            "SETID 0 delivers again"
        );
        assert!(node.xgroup_destroy(&s, "g").await.unwrap());
        assert!(!node.xgroup_destroy(&s, "g").await.unwrap());
    }
}
