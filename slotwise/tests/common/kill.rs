//! The scenario of a primary killed under load, shared by the tests that kill a seed node and
//! those that kill another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::faults::{fault_cluster, slots_of, victim_and_heir, watch_promotion};
use super::load::{Load, Report};
use super::SLACK;
use slotwise::RedisCluster;

/// Runs the scenario; `startup_is_victim` makes the victim the client's only startup node.
pub(crate) async fn primary_killed(startup_is_victim: bool) {
    let cluster = fault_cluster();
    let (victim, heir) = victim_and_heir(&cluster, 0);
    let seed = if startup_is_victim {
        victim.port
    } else {
        cluster.primaries().unwrap()[1].port
    };
    let client = RedisCluster::new("127.0.0.1", seed).await.unwrap();
    let mut events = client.events();
    let deadline = Duration::from_secs(5); // the default retry deadline
    let load = Load::start(&client, 32, |t| {
        (0..4).map(|i| format!("kill:{t}:{i}")).collect()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let warm = load.report();
    assert!(warm.ok > 100 && warm.errors.is_empty(), "warm-up: {warm:?}");

    let victim_slots = slots_of(&victim);
    let killed_at = Instant::now();
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.kill(victim.port).unwrap())
            .await
            .unwrap();
    }
    load.mark(victim_slots.iter().copied());
    let elected_at = {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            watch_promotion(&cluster, heir.port, Duration::from_secs(20))
        })
        .await
        .unwrap()
    };
    // Wait for the client to serve the dead slots again.
    let wait_until = Instant::now() + Duration::from_secs(10);
    let served_at = loop {
        if let Some(at) = load.report().first_ok_after_mark {
            break at;
        }
        assert!(
            Instant::now() < wait_until,
            "slots not served 10 s after the election"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report: Report = load.stop().await;

    let lag = served_at.saturating_duration_since(elected_at);
    let dead: Vec<bool> = {
        let mut v = vec![false; 16384];
        for s in &victim_slots {
            v[usize::from(*s)] = true;
        }
        v
    };
    let (on_dead, on_others): (Vec<_>, Vec<_>) = report
        .errors
        .iter()
        .partition(|(slot, ..)| dead[usize::from(*slot)]);
    println!(
        "election {:?} after the kill; slots served again {:?} after the election; \
         {} ok, {} errors on the dead slots ({} possibly applied), {} on others, {} stale, \
         longest call {:?}, stats {:?}",
        elected_at - killed_at,
        lag,
        report.ok,
        on_dead.len(),
        on_dead.iter().filter(|e| e.2).count(),
        on_others.len(),
        report.stale,
        report.longest,
        client.stats(),
    );
    assert!(report.wrong.is_empty(), "wrong values: {:?}", report.wrong);
    assert!(
        on_others.is_empty(),
        "errors on healthy slots: {on_others:?}"
    );
    for (slot, message, may_have_run, took) in &on_dead {
        // In flight when the primary died (the write may have run), or out of time: nothing
        // else may fail.
        assert!(
            *may_have_run || *took >= deadline - Duration::from_millis(100),
            "slot {slot} failed fast after {took:?}: {message}"
        );
    }
    assert!(
        lag <= SLACK,
        "served {lag:?} after the election, expected within {SLACK:?}"
    );
    // The events told it: the victim unreachable, then its replica taking over.
    let (victim_port, heir_port) = (victim.port, heir.port);
    let mut seen = Vec::new();
    let told = super::events::collect_until(&mut events, &mut seen, SLACK, |seen| {
        super::events::failover(seen, victim_port, heir_port).is_some()
    })
    .await;
    let shown = super::events::shown(&seen);
    assert!(told, "no failover event:\n{shown}");
    let lost = super::events::unreachable(&seen, victim_port);
    let over = super::events::failover(&seen, victim_port, heir_port);
    assert!(
        lost.is_some() && lost < over,
        "unreachable, then failover:\n{shown}"
    );
    let moved = super::events::slot_moved(&seen, victim_slots[0], heir_port);
    assert!(
        moved.is_some_and(|(i, _)| Some(i) < over),
        "slots moved first:\n{shown}"
    );
}
