//! With the `metrics` feature, what `Stats` counts goes to the `metrics` facade too, each
//! node's metrics labelled with its name. A recorder is installed for the whole process, so this
//! binary holds one test.
#![cfg(feature = "metrics")]
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use slotwise::commands::{ListCommands, StringCommands};
use slotwise::{ClusterNode, RedisCluster};

/// A metric as the recorder saw it: kind, name and sorted labels.
type Key = (MetricKind, String, Vec<(String, String)>);

fn key(kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Key {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    (kind, name.to_string(), labels)
}

fn snapshot(snapshotter: &metrics_util::debugging::Snapshotter) -> HashMap<Key, DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(composite, _, _, value)| {
            let (kind, k) = composite.into_parts();
            let mut labels: Vec<(String, String)> = k
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            labels.sort();
            ((kind, k.name().to_string(), labels), value)
        })
        .collect()
}

fn counter(metrics: &HashMap<Key, DebugValue>, key: &Key) -> u64 {
    match metrics.get(key) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{key:?} is {other:?}; recorded: {:?}", metrics.keys()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_metrics_reach_the_facade_with_node_labels() {
    // Before the client: handles are registered when the client meets each node.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let cluster = slotwise_testkit::shared();
    let port = cluster.primaries().unwrap()[0].port;
    let client = RedisCluster::builder()
        .startup_node(ClusterNode::new("127.0.0.1", port))
        .refresh_interval(None)
        .build()
        .await
        .unwrap();
    let k = "{facade}:k";
    client.set(k, "v").await.unwrap();
    for _ in 0..20 {
        let _: Option<String> = client.get(k).await.unwrap();
    }
    // WRONGTYPE: an error reply of the server family.
    assert!(client.rpush(k, "x").await.is_err());
    let node = client.get_node_from_key(k, false).unwrap();
    let name = node.name();

    let metrics = snapshot(&snapshotter);
    let node_label = [("node", name)];
    let requests = counter(
        &metrics,
        &key(MetricKind::Counter, "slotwise_requests_total", &node_label),
    );
    let stats = client.node_stats(&node).unwrap();
    assert!(requests >= 22, "SET, 20 GETs and RPUSH: {requests}");
    assert_eq!(requests, stats.requests, "the facade and Stats agree");
    let server_errors = counter(
        &metrics,
        &key(
            MetricKind::Counter,
            "slotwise_errors_total",
            &[("node", name), ("kind", "server")],
        ),
    );
    assert_eq!(server_errors, 1);
    // Registered at zero, so a dashboard shows them before the first one.
    for (metric, kind) in [
        ("slotwise_errors_total", "timeout"),
        ("slotwise_redirects_total", "moved"),
        ("slotwise_redirects_total", "ask"),
    ] {
        let labels = [("node", name), ("kind", kind)];
        assert_eq!(
            counter(&metrics, &key(MetricKind::Counter, metric, &labels)),
            0
        );
    }
    assert_eq!(
        counter(
            &metrics,
            &key(
                MetricKind::Counter,
                "slotwise_reconnects_total",
                &node_label
            )
        ),
        0
    );
    match metrics.get(&key(MetricKind::Gauge, "slotwise_in_flight", &node_label)) {
        Some(DebugValue::Gauge(g)) => assert_eq!(g.into_inner(), 0.0),
        other => panic!("slotwise_in_flight is {other:?}"),
    }
    match metrics.get(&key(
        MetricKind::Histogram,
        "slotwise_request_duration_seconds",
        &node_label,
    )) {
        Some(DebugValue::Histogram(samples)) => {
            assert!(samples.len() >= 22, "{} samples", samples.len());
            assert!(samples
                .iter()
                .all(|s| s.into_inner() > 0.0 && s.into_inner() < 60.0));
        }
        other => panic!("slotwise_request_duration_seconds is {other:?}"),
    }
    // The cluster-wide counters.
    let refreshes = key(
        MetricKind::Counter,
        "slotwise_topology_refreshes_total",
        &[],
    );
    assert_eq!(counter(&metrics, &refreshes), client.stats().refreshes);
    let followed = key(
        MetricKind::Counter,
        "slotwise_redirects_followed_total",
        &[("kind", "moved")],
    );
    assert_eq!(counter(&metrics, &followed), client.stats().moved);
    // Every node the client knows has its metrics.
    for (other, _) in client.stats().nodes() {
        let labels = [("node", other)];
        counter(
            &metrics,
            &key(MetricKind::Counter, "slotwise_requests_total", &labels),
        );
    }
}
