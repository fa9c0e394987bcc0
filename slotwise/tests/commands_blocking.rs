//! Blocking pops against a real cluster: every one of them with data present and timing out
//! on empty keys, on one node over RESP3 and RESP2, and through the cluster client waiting
//! for data another client pushes while the command blocks, `XREAD` and `XREADGROUP` with
//! `BLOCK` included.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::node_exec::NodeExec;
use slotwise::commands::{
    BlockingCommands, KeyCommands, ListCommands, ListEnd, SortedSetCommands, StreamCommands,
    XReadGroupOptions, XReadOptions, ZPopSide,
};
use slotwise::RedisCluster;

const TAG: &str = "cmdtest-blocking";
const SHORT: Duration = Duration::from_millis(100);

#[tokio::test]
async fn list_pops_with_data_and_timing_out() {
    for node in NodeExec::each_protocol(TAG).await {
        let (empty, l, d) = (node.key("empty"), node.key("list"), node.key("dest"));
        node.del([&empty, &l, &d]).await.unwrap();
        node.rpush(&l, ["a", "b", "c", "d", "e", "f"])
            .await
            .unwrap();

        let head = node.blpop::<String>([&empty, &l], SHORT).await.unwrap();
        assert_eq!(head, Some((l.clone(), "a".to_owned())));
        let tail = node.brpop::<String>([&empty, &l], SHORT).await.unwrap();
        assert_eq!(tail, Some((l.clone(), "f".to_owned())));
        let moved = node.blmove::<String>(&l, &d, ListEnd::Left, ListEnd::Right, SHORT);
        assert_eq!(moved.await.unwrap().as_deref(), Some("b"));
        let moved = node.brpoplpush::<String>(&l, &d, SHORT).await.unwrap();
        assert_eq!(moved.as_deref(), Some("e"));
        let popped = node
            .blmpop::<String>(SHORT, [&empty, &l], ListEnd::Left, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (popped.key.as_str(), popped.items),
            (l.as_str(), vec!["c".to_owned(), "d".to_owned()])
        );
        assert_eq!(
            node.lrange::<Vec<String>>(&d, 0, -1).await.unwrap(),
            ["e", "b"]
        );

        let started = Instant::now();
        assert_eq!(node.blpop::<String>(&empty, SHORT).await.unwrap(), None);
        assert_eq!(node.brpop::<String>(&empty, SHORT).await.unwrap(), None);
        let none = node.blmove::<String>(&empty, &d, ListEnd::Right, ListEnd::Left, SHORT);
        assert_eq!(none.await.unwrap(), None);
        assert_eq!(
            node.brpoplpush::<String>(&empty, &d, SHORT).await.unwrap(),
            None
        );
        let none = node
            .blmpop::<String>(SHORT, &empty, ListEnd::Right, 1)
            .await
            .unwrap();
        assert_eq!(none, None);
        assert!(
            started.elapsed() >= SHORT * 4,
            "each one waited its timeout"
        );
    }
}

#[tokio::test]
async fn sorted_set_pops_with_data_and_timing_out() {
    for node in NodeExec::each_protocol(TAG).await {
        let (empty, z) = (node.key("zempty"), node.key("zset"));
        node.del([&empty, &z]).await.unwrap();
        node.zadd(&z, [(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")])
            .await
            .unwrap();

        let low = node.bzpopmin::<String>([&empty, &z], SHORT).await.unwrap();
        assert_eq!(low, Some((z.clone(), "a".to_owned(), 1.0)));
        let high = node.bzpopmax::<String>(&z, SHORT).await.unwrap();
        assert_eq!(high, Some((z.clone(), "d".to_owned(), 4.0)));
        let popped = node
            .bzmpop::<String>(SHORT, [&empty, &z], ZPopSide::Min, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(popped.key, z);
        assert_eq!(popped.items, [("b".to_owned(), 2.0), ("c".to_owned(), 3.0)]);

        assert_eq!(node.bzpopmin::<String>(&empty, SHORT).await.unwrap(), None);
        assert_eq!(node.bzpopmax::<String>(&empty, SHORT).await.unwrap(), None);
        let none = node
            .bzmpop::<String>(SHORT, &empty, ZPopSide::Max, 1)
            .await
            .unwrap();
        assert_eq!(none, None);
    }
}

#[tokio::test]
async fn the_cluster_client_waits_for_a_push() {
    let cluster = slotwise_testkit::shared();
    let client = RedisCluster::builder()
        .url(&cluster.seed_url())
        .response_timeout(Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    let (l, z) = (
        "{cmdtest-blocking}:wait-list",
        "{cmdtest-blocking}:wait-zset",
    );
    let (x, g) = (
        "{cmdtest-blocking}:wait-stream",
        "{cmdtest-blocking}:wait-group",
    );
    client.del([l, z, x, g]).await.unwrap();
    let mk = slotwise::commands::XGroupCreateOptions::new().mkstream(true);
    client.xgroup_create(g, "workers", "$", &mk).await.unwrap();

    let pusher = client.clone();
    let push = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        pusher.rpush(l, "job").await.unwrap();
        pusher.zadd(z, (5.0, "m")).await.unwrap();
        pusher.xadd(x, "*", ("event", "1")).await.unwrap();
        pusher.xadd(g, "*", ("job", "2")).await.unwrap();
    });
    // Both block longer than the response timeout: the client waits their block time.
    let wait = Duration::from_secs(5);
    let read = XReadOptions::new().block(wait);
    let group_read = XReadGroupOptions::new().block(wait).count(1);
    let (job, member, events, jobs) = tokio::join!(
        client.blpop::<String>(l, wait),
        client.bzmpop::<String>(wait, z, ZPopSide::Max, 1),
        client.xread::<Vec<(String, String)>>(x, "$", &read),
        client.xreadgroup::<Vec<(String, String)>>("workers", "w1", g, ">", &group_read)
    );
    push.await.unwrap();
    let events = events.unwrap();
    assert_eq!(
        events.len(),
        1,
        "XREAD BLOCK got the entry added while it waited"
    );
    assert_eq!(
        events[0].entries[0].fields,
        [("event".to_owned(), "1".to_owned())]
    );
    let jobs = jobs.unwrap();
    assert_eq!(
        jobs[0].entries[0].fields,
        [("job".to_owned(), "2".to_owned())]
    );
    assert_eq!(job.unwrap(), Some((l.to_owned(), "job".to_owned())));
    let member = member.unwrap().unwrap();
    assert_eq!(member.items, [("m".to_owned(), 5.0)]);
}
