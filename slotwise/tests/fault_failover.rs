//! A graceful failover (`CLUSTER FAILOVER` on a replica) under load: no error, no wrong or stale
//! value (no acknowledged write lost), the moved slots served again soon after the old primary
//! steps down (within seconds here; `slotwise-bench recovery` measures how soon), and the
//! client's view of the primaries brought up to date. Then the same back again, long after the
//! client last installed a topology, as a failover comes in production.
//!
//! The server itself holds writes to the old primary from the start of the failover until a
//! little after it steps down, and on a multiplexed connection the commands behind a held write
//! wait with it. So the longest time without a success on the moved slots (printed, bounded
//! loosely) is mostly the server's; the client's part is the time from the step-down to the
//! first success.
// Test helpers outside #[test] functions may unwrap and print too: a failure is a test failure,
// and what they measured goes in reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::{slots_of, victim_and_heir, watch_promotion};
use common::load::Load;
use common::SLACK;
use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

/// How long after the first failover the client's view settles, idle, before the second:
/// longer than the client keeps following nodes that disagree after a change it installed.
const IDLE: Duration = Duration::from_secs(7);

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
    // No periodic refresh: only what the client does after a change brings its view up to date.
    let client = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", old.port))
        .refresh_interval(None)
        .build()
        .await
        .unwrap();
    let slots = slots_of(&old);
    let mut events = client.events();
    failover_under_load(&cluster, &client, "fo", &slots, old.port, heir.port).await;
    failover_told(&mut events, &slots, old.port, heir.port).await;
    tokio::time::sleep(IDLE).await;
    failover_under_load(&cluster, &client, "back", &slots, heir.port, old.port).await;
    failover_told(&mut events, &slots, heir.port, old.port).await;
}

/// The events told of the failover from `from` to `to`: one of its `slots` moved, then the
/// failover.
async fn failover_told(events: &mut slotwise::ClusterEvents, slots: &[u16], from: u16, to: u16) {
    let mut seen = Vec::new();
    let told = common::events::collect_until(events, &mut seen, SLACK, |seen| {
        common::events::failover(seen, from, to).is_some()
    })
    .await;
    let shown = common::events::shown(&seen);
    assert!(told, "no failover event from {from} to {to}:\n{shown}");
    let over = common::events::failover(&seen, from, to);
    let moved = slots
        .iter()
        .filter_map(|s| common::events::slot_moved(&seen, *s, to))
        .map(|(i, _)| i)
        .min();
    assert!(
        moved.is_some() && moved < over,
        "its slots moved to {to} first:\n{shown}"
    );
    // One failover, told once.
    let failovers = seen
        .iter()
        .filter(|e| matches!(e, slotwise::ClusterEvent::Failover { .. }))
        .count();
    assert_eq!(failovers, 1, "{shown}");
}

/// Fails the primary at `old` over to its replica at `heir` while 64 tasks read and write keys
/// named after `prefix`, and checks the outcome.
async fn failover_under_load(
    cluster: &Arc<LocalCluster>,
    client: &RedisCluster,
    prefix: &'static str,
    slots: &[u16],
    old: u16,
    heir_port: u16,
) {
    let load = Load::start(client, 64, |t| {
        (0..3).map(|i| format!("{prefix}:{t}:{i}")).collect()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    load.mark(slots.iter().copied());
    let watcher = {
        let cluster = Arc::clone(cluster);
        tokio::task::spawn_blocking(move || {
            watch_promotion(&cluster, heir_port, Duration::from_secs(10))
        })
    };
    let demoter = {
        let cluster = Arc::clone(cluster);
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let role = cluster.call(old, &slotwise::protocol::Cmd::new("ROLE"));
                if let Ok(slotwise::protocol::Value::Array(items)) = role {
                    if items.first().and_then(|v| v.as_bytes()) == Some(b"slave") {
                        return Instant::now();
                    }
                }
                assert!(Instant::now() < deadline, "{old} never stepped down");
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let failover = {
        let cluster = Arc::clone(cluster);
        tokio::task::spawn_blocking(move || cluster.failover(heir_port).unwrap())
    };
    let promoted_at = watcher.await.unwrap();
    let demoted_at = demoter.await.unwrap();

    failover.await.unwrap();
    let took = started.elapsed();
    // The client's view of the primaries follows: the old primary is one no more, its heir is.
    let converge_by = Instant::now() + SLACK;
    let converged = loop {
        let primaries: Vec<u16> = client.get_primaries().iter().map(|n| n.port()).collect();
        if !primaries.contains(&old) && primaries.contains(&heir_port) {
            break Some(Instant::now());
        }
        if Instant::now() >= converge_by {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // A little more load on the final topology.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = load.stop().await;
    // The ROLE poll sees the step-down; the first success on the moved slots after it is the
    // client catching up.
    let served_at = report
        .ok_times
        .iter()
        .copied()
        .find(|t| *t >= demoted_at)
        .expect("the moved slots were served after the failover");
    let lag = served_at - demoted_at;
    println!(
        "{prefix}: failover took {took:?} (promotion seen after {:?}, step-down after {:?}); \
         served again {lag:?} after the step-down; primaries up to date {:?} after the failover \
         returned; longest stall on the moved slots {:?}; {} ok, {} errors, {} wrong, {} stale, \
         longest call {:?}; stats {:?}",
        promoted_at - started,
        demoted_at - started,
        converged.map(|at| at.saturating_duration_since(started + took)),
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
        "{prefix}: errors: {:?}",
        &report.errors[..report.errors.len().min(5)]
    );
    assert!(
        report.wrong.is_empty(),
        "{prefix}: wrong values: {:?}",
        report.wrong
    );
    assert_eq!(
        report.stale, 0,
        "{prefix}: acknowledged writes lost (stale reads)"
    );
    assert!(
        lag <= SLACK,
        "{prefix}: the moved slots were served {lag:?} after the old primary stepped down, \
         expected within {SLACK:?}"
    );
    assert!(
        report.max_gap < SLACK,
        "{prefix}: the moved slots stalled {:?}",
        report.max_gap
    );
    assert!(
        report.longest < SLACK,
        "{prefix}: a call took {:?}",
        report.longest
    );
    let primaries: Vec<u16> = client.get_primaries().iter().map(|n| n.port()).collect();
    assert!(
        converged.is_some(),
        "{prefix}: {SLACK:?} after the failover, the client takes {primaries:?} for the \
         primaries (expected {heir_port} and not {old}); stats {:?}",
        client.stats()
    );
}
