//! Pub/sub on the shared cluster: classic channels, patterns and sharded channels (each on its
//! slot's primary) receive what is published, and unsubscribing stops them.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use slotwise::commands::PubSubCommands;
use slotwise::{Message, MessageKind, PubSub, RedisCluster};

async fn client() -> RedisCluster {
    let port = slotwise_testkit::shared().primaries().unwrap()[0].port;
    RedisCluster::new("127.0.0.1", port).await.unwrap()
}

/// The next `n` messages, or a failure after 5 s.
async fn take(pubsub: &mut PubSub, n: usize) -> Vec<Message> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, pubsub.next_message()).await {
            Ok(Some(m)) => got.push(m),
            Ok(None) => panic!("the pub/sub stopped"),
            Err(_) => panic!("only {} of {n} messages came: {got:?}", got.len()),
        }
    }
    got
}

/// Polls `f` until it returns true, for at most 5 s.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_pattern_and_sharded_messages_arrive() {
    let cluster = client().await;
    let mut pubsub = cluster.pubsub().unwrap();
    pubsub.subscribe(["ps:news", "ps:sports"]).await.unwrap();
    pubsub.psubscribe("ps:alerts.*").await.unwrap();
    // Two slots, likely on two nodes: each channel on its slot's primary.
    let (a, b) = ("{ps-a}:inbox", "{ps-b}:inbox");
    assert_ne!(RedisCluster::keyslot(a), RedisCluster::keyslot(b));
    pubsub.ssubscribe([a, b]).await.unwrap();

    cluster.publish("ps:news", "n1").await.unwrap();
    cluster.publish("ps:alerts.fire", "a1").await.unwrap();
    // The shard's count is exact: this pub/sub is the one subscriber.
    assert_eq!(cluster.spublish(a, "s1").await.unwrap(), 1);
    assert_eq!(cluster.spublish(b, "s2").await.unwrap(), 1);
    let mut got: Vec<(MessageKind, String, Option<String>, String)> = take(&mut pubsub, 4)
        .await
        .into_iter()
        .map(|m| {
            (
                m.kind(),
                String::from_utf8_lossy(m.channel()).into_owned(),
                m.pattern().map(|p| String::from_utf8_lossy(p).into_owned()),
                m.payload_as::<String>().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (MessageKind::Message, "ps:news".into(), None, "n1".into()),
            (
                MessageKind::Pattern,
                "ps:alerts.fire".into(),
                Some("ps:alerts.*".into()),
                "a1".into()
            ),
            (MessageKind::Sharded, a.into(), None, "s1".into()),
            (MessageKind::Sharded, b.into(), None, "s2".into()),
        ]
    );

    // Unsubscribing stops the deliveries.
    pubsub.sunsubscribe(a).unwrap();
    eventually("the sharded channel is still subscribed", || async {
        cluster.spublish(a, "gone").await.unwrap() == 0
    })
    .await;
    assert_eq!(cluster.spublish(b, "s3").await.unwrap(), 1);
    // Before s3 come only the probes published while the unsubscribe was on its way.
    loop {
        let next = take(&mut pubsub, 1).await.remove(0);
        if next.payload() == b"s3" {
            assert_eq!(next.channel(), b.as_bytes());
            break;
        }
        assert_eq!(
            (next.channel(), next.payload()),
            (a.as_bytes(), &b"gone"[..])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_names_fail_the_call() {
    let cluster = client().await;
    let pubsub = cluster.pubsub().unwrap();
    let none: [&str; 0] = [];
    let err = pubsub.subscribe(none).await.unwrap_err();
    assert_eq!(err.kind(), slotwise::ErrorKind::InvalidInput, "{err}");
    // Subscribing twice is fine, and confirmed at once.
    pubsub.subscribe("ps:twice").await.unwrap();
    pubsub.subscribe("ps:twice").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_channels_of_several_slots_on_one_node_unsubscribe_together() {
    let cluster = client().await;
    let testkit = slotwise_testkit::shared();
    // Two channels in different slots served by the same primary.
    let owner = |n: &str| {
        testkit
            .node_for_slot(RedisCluster::keyslot(n))
            .unwrap()
            .port
    };
    let first = "{ps-many-0}:ch".to_owned();
    let second = (1..)
        .map(|i| format!("{{ps-many-{i}}}:ch"))
        .find(|n| {
            owner(n) == owner(&first) && RedisCluster::keyslot(n) != RedisCluster::keyslot(&first)
        })
        .unwrap();
    let mut pubsub = cluster.pubsub().unwrap();
    pubsub
        .ssubscribe([first.as_str(), second.as_str()])
        .await
        .unwrap();
    for channel in [&first, &second] {
        assert_eq!(cluster.spublish(channel.as_str(), "x").await.unwrap(), 1);
    }
    take(&mut pubsub, 2).await;
    pubsub
        .sunsubscribe([first.as_str(), second.as_str()])
        .unwrap();
    for channel in [&first, &second] {
        eventually("a sharded channel is still subscribed", || async {
            cluster.spublish(channel.as_str(), "gone").await.unwrap() == 0
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_stops_reading_loses_the_oldest_messages_and_is_told() {
    let port = slotwise_testkit::shared().primaries().unwrap()[0].port;
    let cluster = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", port))
        .pubsub_queue_len(1_000)
        .build()
        .await
        .unwrap();
    let channel = "{ps-lag}:feed";
    let mut pubsub = cluster.pubsub().unwrap();
    pubsub.ssubscribe(channel).await.unwrap();
    // 20,000 messages of 1 KiB that nobody reads meanwhile.
    let total = 20_000usize;
    let filler = "x".repeat(1_000);
    for batch in 0..total / 1_000 {
        let pipe = cluster.pipeline();
        let sent: Vec<_> = (batch * 1_000..(batch + 1) * 1_000)
            .map(|n| pipe.spublish(channel, format!("{n:05}:{filler}")))
            .collect();
        let mut replies = pipe.run().await.unwrap();
        for s in sent {
            assert_eq!(replies.take(s).unwrap(), 1);
        }
    }
    // Every message reached the client: 1,000 kept, the rest dropped and counted.
    let expected = (total - 1_000) as u64;
    eventually("the client counts what it dropped", || {
        let dropped = pubsub.dropped_messages();
        async move { dropped == expected }
    })
    .await;
    let kept = take(&mut pubsub, 1_000).await;
    let first = String::from_utf8_lossy(&kept[0].payload()[..5]).into_owned();
    let last = String::from_utf8_lossy(&kept[999].payload()[..5]).into_owned();
    assert_eq!((first.as_str(), last.as_str()), ("19000", "19999"));
    assert!(pubsub.try_next_message().is_none());
    // Reading again, nothing more is lost.
    cluster.spublish(channel, "after").await.unwrap();
    let next = take(&mut pubsub, 1).await;
    assert_eq!(next[0].payload(), b"after");
    assert_eq!(pubsub.dropped_messages(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_on_all_nodes_hears_each_node_once() {
    let cluster = client().await;
    let mut pubsub = cluster.pubsub().unwrap();
    let channel = "ps:everywhere";
    pubsub
        .subscribe_on(slotwise::Nodes::AllNodes, channel)
        .await
        .unwrap();
    let nodes: Vec<String> = slotwise_testkit::shared()
        .nodes()
        .unwrap()
        .into_iter()
        .map(|n| format!("{}:{}", n.host, n.port))
        .collect();
    // Every node holds the subscription: the call returned once each had confirmed it.
    for node in slotwise_testkit::shared().nodes().unwrap() {
        let reply = slotwise_testkit::shared()
            .call(
                node.port,
                &slotwise::protocol::Cmd::new("PUBSUB")
                    .arg("NUMSUB")
                    .arg(channel),
            )
            .unwrap();
        let count = match reply {
            slotwise::protocol::Value::Array(items) => match items.get(1) {
                Some(slotwise::protocol::Value::Int(n)) => Some(*n),
                _ => None,
            },
            _ => None,
        };
        assert_eq!(count, Some(1), "node {} holds no subscription", node.port);
    }
    // The cluster passes a classic PUBLISH on to every node, so each node's socket delivers
    // it: one copy per node, each named by the node that delivered it.
    cluster.publish(channel, "hello").await.unwrap();
    let mut from: Vec<String> = take(&mut pubsub, nodes.len())
        .await
        .into_iter()
        .map(|m| {
            assert_eq!(m.payload(), b"hello");
            m.node().to_owned()
        })
        .collect();
    from.sort();
    let mut expected = nodes;
    expected.sort();
    assert_eq!(from, expected);
    // And no more than one per node.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pubsub.try_next_message().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pubsub_is_a_stream_of_its_messages() {
    use futures_util::StreamExt;
    let cluster = client().await;
    let mut pubsub = cluster.pubsub().unwrap();
    pubsub.subscribe("ps:stream").await.unwrap();
    cluster.publish("ps:stream", "1").await.unwrap();
    // Borrowed: the pub/sub can still subscribe afterwards.
    let first = tokio::time::timeout(Duration::from_secs(5), pubsub.messages().next())
        .await
        .expect("a message within 5 s");
    assert_eq!(first.map(|m| m.payload().to_vec()), Some(b"1".to_vec()));
    pubsub.ssubscribe("{ps-stream}:s").await.unwrap();
    cluster.publish("ps:stream", "2").await.unwrap();
    cluster.spublish("{ps-stream}:s", "3").await.unwrap();
    // By value: the PubSub itself is the stream.
    let mut rest: Vec<Vec<u8>> = tokio::time::timeout(
        Duration::from_secs(5),
        pubsub
            .take(2)
            .map(|m| m.payload().to_vec())
            .collect::<Vec<_>>(),
    )
    .await
    .expect("two messages within 5 s");
    rest.sort();
    assert_eq!(rest, [b"2".to_vec(), b"3".to_vec()]);
}
