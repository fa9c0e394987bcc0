//! A graceful failover (`CLUSTER FAILOVER` on a replica) under load: no error, no wrong or stale
//! value (no acknowledged write lost), and no stall longer than 100 ms on the moved slots (the
//! longest time in which no call on them succeeded).
//!
//! The server itself holds writes to the old primary from the start of the failover until it
//! learns of the promotion (its cluster cron runs every 100 ms), so a write may wait that long;
//! reads go on meanwhile. The longest single call is printed and bounded loosely.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::{slots_of, victim_and_heir, watch_promotion};
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
    load.mark(slots_of(&old));
    let watcher = {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            watch_promotion(&cluster, heir_port, Duration::from_secs(10))
        })
    };
    let failover = {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.failover(heir_port).unwrap())
    };
    let promoted_at = watcher.await.unwrap();
    failover.await.unwrap();
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let report = load.stop().await;
    println!(
        "failover took {took:?} (promotion seen after {:?}); longest stall on the moved slots \
         {:?}; {} ok, {} errors, {} wrong, {} stale, longest call {:?}; stats {:?}",
        promoted_at - started,
        report.max_gap,
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
        report.max_gap < Duration::from_millis(100),
        "the moved slots stalled {:?}",
        report.max_gap
    );
    assert!(
        report.longest < Duration::from_secs(1),
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
