//! Every node of the cluster killed: a command fails with a clear error that names a node
//! within its deadline (no hang), and once the nodes are back the same client serves again
//! without being rebuilt.
// Helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::{ClusterNode, ErrorKind, RedisCluster};

const DEADLINE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_cluster_down_fails_within_the_deadline_and_recovers() {
    let cluster = common::faults::primaries_only();
    let ports = cluster.ports();
    let client = RedisCluster::builder()
        .startup_node(ClusterNode::new("127.0.0.1", ports[0]))
        .retry_deadline(DEADLINE)
        .build()
        .await
        .unwrap();
    // Keys on every primary, so the client holds a connection to each.
    let keys: Vec<String> = (0..12).map(|i| format!("down:{i}")).collect();
    for key in &keys {
        client.set(key, "before").await.unwrap();
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("before"), "warm-up read of {key}");
    }

    {
        let cluster = Arc::clone(&cluster);
        let ports = ports.clone();
        tokio::task::spawn_blocking(move || {
            for port in ports {
                cluster.kill(port).unwrap();
            }
        })
        .await
        .unwrap();
    }

    let mut failures = Vec::new();
    for (what, key) in [("GET", &keys[0]), ("SET", &keys[1]), ("GET", &keys[2])] {
        let started = Instant::now();
        let result = if what == "GET" {
            client.get::<String>(key).await.map(drop)
        } else {
            client.set(key, "during").await
        };
        let took = started.elapsed();
        let err = match result {
            Ok(()) => panic!("{what} {key} succeeded with every node killed"),
            Err(e) => e,
        };
        println!(
            "{what} {key} with every node down: {:?} after {took:?}: {err}",
            err.kind()
        );
        failures.push((what, key.clone(), err, took));
    }
    for (what, key, err, took) in &failures {
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Io | ErrorKind::Timeout | ErrorKind::NoReachableNode
            ),
            "{what} {key}: expected an Io, Timeout or NoReachableNode error, got {:?}: {err}",
            err.kind()
        );
        assert!(
            err.to_string().contains("127.0.0.1:"),
            "{what} {key}: the error should name a node it tried: {err}"
        );
        assert!(
            *took <= DEADLINE + common::SLACK,
            "{what} {key} failed after {took:?}, expected within the deadline {DEADLINE:?} + {:?}",
            common::SLACK
        );
    }

    // One restart at a time cannot work: the kit waits for a healthy cluster after each, and
    // the first node back alone is not one. So every node is restarted at once, and each restart
    // returns when the whole cluster is healthy.
    let restarted = Instant::now();
    let healthy_at = {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                let handles: Vec<_> = ports
                    .iter()
                    .map(|&port| {
                        let cluster = &cluster;
                        scope.spawn(move || {
                            cluster.restart(port).unwrap();
                            Instant::now()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .min()
                    .unwrap()
            })
        })
        .await
        .unwrap()
    };

    // The same client, never rebuilt. The data did not survive (nothing is saved), so it writes
    // before it reads.
    let poll_until = Instant::now() + Duration::from_secs(15);
    let mut attempts = 0u32;
    let served_at = loop {
        attempts += 1;
        let result = async {
            client.set(&keys[0], "after").await?;
            client.get::<String>(&keys[0]).await
        }
        .await;
        match result {
            Ok(Some(v)) if v == "after" => break Instant::now(),
            Ok(other) => panic!(
                "{} read {other:?} after the restart, expected \"after\"",
                keys[0]
            ),
            Err(e) => assert!(
                Instant::now() < poll_until,
                "the client did not serve within 15 s of the cluster being healthy again; \
                 last error: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    for key in &keys {
        client.set(key, "again").await.unwrap();
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(
            got.as_deref(),
            Some("again"),
            "read of {key} after the restart"
        );
    }
    println!(
        "cluster healthy {:?} after the restarts began; first success {:?} after that \
         ({attempts} attempts); stats {:?}",
        healthy_at - restarted,
        served_at.saturating_duration_since(healthy_at),
        client.stats()
    );
}
