//! A graceful failover (`CLUSTER FAILOVER` on a replica) under load: no error, no wrong or stale
//! value (no acknowledged write lost), no call slower than 100 ms.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::victim_and_heir;
use common::load::Load;
use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failover_under_load() {
    let cluster = Arc::new(
        LocalCluster::builder()
            .primaries(3)
            .replicas(1)
            .start()
            .unwrap(),
    );
    let (old, heir) = victim_and_heir(&cluster, 1);
    let heir_port = heir.port;
    let client = RedisCluster::new("127.0.0.1", old.port).await.unwrap();
    let load = Load::start(&client, 64, |t| {
        (0..3).map(|i| format!("fo:{t}:{i}")).collect()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.failover(heir_port).unwrap())
            .await
            .unwrap();
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let report = load.stop().await;
    println!(
        "failover took {took:?}; {} ok, {} errors, {} wrong, {} stale, longest call {:?}; stats {:?}",
        report.ok,
        report.errors.len(),
        report.wrong.len(),
        report.stale,
        report.longest,
        client.stats()
    );
    assert!(
        report.errors.is_empty(),
        "errors: {:?}",
        &report.errors[..report.errors.len().min(5)]
    );
    assert!(report.wrong.is_empty(), "wrong values: {:?}", report.wrong);
    assert_eq!(report.stale, 0, "acknowledged writes lost (stale reads)");
    assert!(
        report.longest < Duration::from_millis(100),
        "a call took {:?}",
        report.longest
    );
    let primaries: Vec<u16> = client.get_primaries().iter().map(|n| n.port()).collect();
    assert!(
        !primaries.contains(&old.port),
        "the client still takes {} for a primary",
        old.port
    );
    assert!(
        primaries.contains(&heir_port),
        "the client missed the promotion of {heir_port}"
    );
}
