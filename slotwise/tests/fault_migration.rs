//! A slot holding ~20,000 keys is migrated in batches while 64 tasks read and write keys of that
//! slot: the ASK path serves keys already moved, MOVED takes over once the slot is reassigned.
//! No error, no wrong or stale value, no long stall (the longest time in which no call on the
//! slot succeeded: seconds here, measured by `slotwise-bench recovery`), and few topology
//! refreshes.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::load::Load;
use common::SLACK;
use slotwise::commands::StringCommands;
use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_migration_under_load() {
    let cluster = Arc::new(
        LocalCluster::builder()
            .primaries(3)
            .replicas(1)
            .start()
            .unwrap(),
    );
    let slot = RedisCluster::keyslot("{mig}");
    let source = cluster.node_for_slot(slot).unwrap();
    let target = cluster.other_primary(source.port).unwrap();
    let client = RedisCluster::new("127.0.0.1", source.port).await.unwrap();
    let mut events = client.events();

    // Fill the slot.
    for chunk in 0..20 {
        let pairs: Vec<(String, String)> = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                (format!("{{mig}}:fill:{n}"), format!("v{n}"))
            })
            .collect();
        client.mset(&pairs).await.unwrap();
    }

    let load = Load::start(&client, 64, |t| vec![format!("{{mig}}:task:{t}")]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    load.mark([slot]);
    let migrated = {
        let cluster = Arc::clone(&cluster);
        let to = target.port;
        tokio::task::spawn_blocking(move || {
            let mut migration = cluster.begin_migration(slot, to).unwrap();
            let mut moved = 0;
            // Batches, so the slot stays half-migrated (and ASK in use) for a while.
            while migration.keys_left().unwrap() > 0 {
                moved += migration.move_keys(500).unwrap();
            }
            moved + migration.finish().unwrap()
        })
        .await
        .unwrap()
    };
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = load.stop().await;
    let stats = client.stats();
    println!(
        "migrated {migrated} keys of slot {slot} in {took:?}; longest stall {:?}; {} ok, \
         {} errors, {} wrong, {} stale, longest call {:?}; stats {stats:?}",
        report.max_gap,
        report.ok,
        report.errors.len(),
        report.wrong.len(),
        report.stale,
        report.longest
    );
    assert!(
        report.errors.is_empty(),
        "errors: {:?}",
        &report.errors[..report.errors.len().min(5)]
    );
    assert!(report.wrong.is_empty(), "wrong values: {:?}", report.wrong);
    assert_eq!(report.stale, 0, "stale reads");
    assert!(stats.ask > 0, "the ASK path was not exercised: {stats:?}");
    assert!(
        stats.moved > 0,
        "the MOVED path was not exercised: {stats:?}"
    );
    assert!(stats.refreshes < 20, "too many refreshes: {stats:?}");
    assert!(
        report.max_gap < SLACK,
        "the slot stalled {:?}",
        report.max_gap
    );
    assert!(report.longest < SLACK, "a call took {:?}", report.longest);

    // Every filled key is readable at its new home.
    let v: Option<String> = client.get("{mig}:fill:12345").await.unwrap();
    assert_eq!(v.as_deref(), Some("v12345"));
    assert_eq!(
        client.get_node_from_key("{mig}", false).unwrap().port(),
        target.port
    );
    // The events told it: the slot moved to the target, first by the `MOVED` that named it;
    // no failover and no node lost.
    let mut seen = Vec::new();
    let told = common::events::collect_until(&mut events, &mut seen, SLACK, |seen| {
        common::events::slot_moved(seen, slot, target.port).is_some()
    })
    .await;
    let shown = common::events::shown(&seen);
    assert!(told, "no event of slot {slot} moving:\n{shown}");
    let (_, cause) = common::events::slot_moved(&seen, slot, target.port).unwrap();
    assert_eq!(cause, slotwise::events::ChangeCause::Redirect, "{shown}");
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            slotwise::ClusterEvent::Failover { .. }
                | slotwise::ClusterEvent::NodeUnreachable { .. }
        )),
        "{shown}"
    );
}
