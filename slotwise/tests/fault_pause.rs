//! A primary frozen with SIGSTOP for less than the node timeout, so the cluster does not fail it
//! over: commands on its slots fail with a timeout within their deadline, commands on the other
//! primaries' slots keep their usual latency, and once the node is continued it serves again.
// Helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::SLACK;
use slotwise::commands::StringCommands;
use slotwise::{ClusterNode, ErrorKind, RedisCluster};
use slotwise_testkit::{LocalCluster, NodeInfo};

const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
const DEADLINE: Duration = Duration::from_secs(3);
const NODE_TIMEOUT: Duration = Duration::from_secs(15);
/// The node is continued before this much time has passed, well inside the node timeout, so no
/// node marks it failed and no failover starts.
const MAX_PAUSE: Duration = Duration::from_secs(10);
/// What a command on a healthy primary may take while another primary is frozen: less than the
/// response timeout, so none of them waited on the frozen node.
const HEALTHY_CALL: Duration = RESPONSE_TIMEOUT;

/// The first key `<prefix>:<n>` that `node` serves.
fn key_on(node: &NodeInfo, prefix: &str) -> String {
    (0..)
        .map(|n| format!("{prefix}:{n}"))
        .find(|key| node.owns_slot(RedisCluster::keyslot(key)))
        .unwrap()
}

/// A command on the frozen node: what it returned and how long it took.
struct FrozenCall {
    what: &'static str,
    kind: Option<ErrorKind>,
    message: String,
    may_have_run: bool,
    took: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_primary_times_out_while_the_others_serve() {
    let cluster = Arc::new(
        LocalCluster::builder()
            .primaries(3)
            .replicas(0)
            .node_timeout(NODE_TIMEOUT)
            .start()
            .unwrap(),
    );
    let primaries = cluster.primaries().unwrap();
    let victim = primaries[0].clone();
    let client = RedisCluster::builder()
        .startup_node(ClusterNode::new("127.0.0.1", primaries[1].port))
        .response_timeout(RESPONSE_TIMEOUT)
        .retry_deadline(DEADLINE)
        .build()
        .await
        .unwrap();

    // Keys on the frozen node: two to read, one to write (a write may run after the resume, so
    // it gets a key of its own).
    let frozen_reads = [
        key_on(&victim, "pause:frozen:a"),
        key_on(&victim, "pause:frozen:b"),
    ];
    let frozen_write = key_on(&victim, "pause:frozen:w");
    let healthy: Vec<String> = primaries[1..]
        .iter()
        .flat_map(|p| (0..3).map(move |i| key_on(p, &format!("pause:healthy:{}:{i}", p.port))))
        .collect();
    // Warm up every connection.
    for key in frozen_reads.iter().chain([&frozen_write]).chain(&healthy) {
        client.set(key, "before").await.unwrap();
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("before"), "warm-up read of {key}");
    }

    let paused_at = {
        let cluster = Arc::clone(&cluster);
        let port = victim.port;
        tokio::task::spawn_blocking(move || {
            cluster.pause(port).unwrap();
            Instant::now()
        })
        .await
        .unwrap()
    };

    // The frozen node's commands and the healthy ones run at the same time, so the healthy ones
    // also run while the client retries and refreshes its topology because of the frozen node.
    let mut frozen = Vec::new();
    for (what, key) in [
        ("GET", frozen_reads[0].clone()),
        ("GET", frozen_reads[1].clone()),
        ("SET", frozen_write.clone()),
    ] {
        let client = client.clone();
        frozen.push(tokio::spawn(async move {
            let started = Instant::now();
            let result = if what == "GET" {
                client.get::<String>(&key).await.map(drop)
            } else {
                client.set(&key, "during").await
            };
            let took = started.elapsed();
            let err = result.err();
            FrozenCall {
                what,
                kind: err.as_ref().map(|e| e.kind()),
                message: err.as_ref().map_or_else(String::new, ToString::to_string),
                may_have_run: err.as_ref().is_some_and(|e| e.may_have_run()),
                took,
            }
        }));
    }
    // Rounds of SET + GET on every healthy key until the frozen calls are over.
    let mut healthy_calls: Vec<(String, &str, Duration, Result<(), String>)> = Vec::new();
    while frozen.iter().any(|h| !h.is_finished()) {
        for key in &healthy {
            let started = Instant::now();
            let set = client.set(key, "during").await.map_err(|e| e.to_string());
            healthy_calls.push((key.clone(), "SET", started.elapsed(), set));
            let started = Instant::now();
            let get = match client.get::<String>(key).await {
                Ok(Some(v)) if v == "during" => Ok(()),
                Ok(other) => Err(format!("read {other:?} back instead of \"during\"")),
                Err(e) => Err(e.to_string()),
            };
            healthy_calls.push((key.clone(), "GET", started.elapsed(), get));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut frozen_calls = Vec::new();
    for h in frozen {
        frozen_calls.push(h.await.unwrap());
    }
    let paused_for = paused_at.elapsed();

    // Continue the node; meanwhile, read its key until it is served again.
    let resume = {
        let cluster = Arc::clone(&cluster);
        let port = victim.port;
        tokio::task::spawn_blocking(move || {
            let continued_at = Instant::now();
            cluster.resume(port).unwrap();
            (continued_at, Instant::now())
        })
    };
    let poll_until = Instant::now() + Duration::from_secs(10);
    let served_at = loop {
        match client.get::<String>(&frozen_reads[0]).await {
            Ok(Some(v)) if v == "before" => break Instant::now(),
            Ok(other) => panic!(
                "{} read {other:?} after the resume, expected \"before\"",
                frozen_reads[0]
            ),
            Err(e) => {
                assert!(
                    Instant::now() < poll_until,
                    "{} not served within 10 s of the resume; last error: {e}",
                    frozen_reads[0]
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (continued_at, healthy_at) = resume.await.unwrap();
    let written: Option<String> = client.get(&frozen_write).await.unwrap();

    let slowest = healthy_calls
        .iter()
        .map(|(_, _, took, _)| *took)
        .max()
        .unwrap_or_default();
    println!(
        "paused for {paused_for:?}; frozen node's calls: {}; {} calls on healthy primaries, \
         slowest {slowest:?}; served again {:?} after SIGCONT (the cluster was healthy again \
         {:?} after SIGCONT); the SET sent while frozen left {written:?}; stats {:?}",
        frozen_calls
            .iter()
            .map(|c| format!(
                "{} {:?} after {:?} (may have run: {}): {}",
                c.what, c.kind, c.took, c.may_have_run, c.message
            ))
            .collect::<Vec<_>>()
            .join("; "),
        healthy_calls.len(),
        served_at.saturating_duration_since(continued_at),
        healthy_at.saturating_duration_since(continued_at),
        client.stats(),
    );

    assert!(
        paused_for < MAX_PAUSE,
        "the node stayed frozen {paused_for:?}, too close to the node timeout {NODE_TIMEOUT:?} \
         for the test to mean anything"
    );
    for c in &frozen_calls {
        assert!(
            matches!(c.kind, Some(ErrorKind::Timeout | ErrorKind::Io)),
            "{} on the frozen node: expected a Timeout (or Io) error, got {:?}: {}",
            c.what,
            c.kind,
            c.message
        );
        assert!(
            c.took <= DEADLINE + SLACK,
            "{} on the frozen node took {:?}, expected at most the deadline {DEADLINE:?} + \
             {SLACK:?}",
            c.what,
            c.took
        );
        assert!(
            c.message.contains(&victim.addr()),
            "the error of {} should name the frozen node {}: {}",
            c.what,
            victim.addr(),
            c.message
        );
    }
    assert!(
        healthy_calls.len() >= 12,
        "expected at least one round of calls on the healthy primaries, made {}",
        healthy_calls.len()
    );
    for (key, what, took, result) in &healthy_calls {
        assert!(
            result.is_ok(),
            "{what} {key} on a healthy primary failed: {result:?}"
        );
        assert!(
            *took < HEALTHY_CALL,
            "{what} {key} on a healthy primary took {took:?}, expected under {HEALTHY_CALL:?}"
        );
    }
}
