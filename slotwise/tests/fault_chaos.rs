//! Chaos: 64 tasks of verified SET/GET (see `common::load`) on a 3 × 1 cluster while faults
//! are injected at random, in two phases of equal length.
//!
//! - **Graceful**: manual failovers (`CLUSTER FAILOVER` on a random replica not promoted in the
//!   last few seconds, see `fail_over`) and slot migrations (the slot of a random task's keys,
//!   padded with filler keys, moved to another primary in small batches so that `ASK` is
//!   followed, then finished so that `MOVED` is).
//!   Nothing is lost in these, so the load must see 0 errors, 0 wrong values and 0 stale reads.
//! - **With kills**: a random primary is killed, its replica takes over, and the killed node is
//!   restarted so that it rejoins as a replica. Replication is asynchronous, so a write
//!   acknowledged just before a kill may be lost: stale reads are counted, not failed. Still
//!   0 wrong values, every call returns within its deadline, and a call fails only if it may
//!   have run or its deadline passed.
//!
//! The run lasts `SLOTWISE_CHAOS_SECS` seconds, both phases together (default 40). The faults
//! are drawn from a printed seed; `SLOTWISE_CHAOS_SEED=<seed>` draws the same choices again
//! (their timing, and so how many fit, still varies). The ignored test `chaos_long` is the same
//! run for 600 s by default:
//!
//! ```text
//! SLOTWISE_CHAOS_SECS=600 cargo test -p slotwise --test fault_chaos -- --ignored --nocapture
//! ```
// Helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The phases print what they measured: those figures go in reports.
#![allow(clippy::print_stdout)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::faults::victim_and_heir;
use common::load::{Load, Report};
use common::SLACK;
use slotwise::protocol::Cmd;
use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

const TASKS: usize = 64;
const KEYS_PER_TASK: usize = 4;
/// Keys added to a slot before it is migrated, so that the migration takes several batches
/// and the load's keys are asked for while some have moved and some have not.
const FILLER_KEYS: usize = 300;
/// Keys moved per `MIGRATE` while a slot is half-way.
const MIGRATION_BATCH: usize = 25;
/// The client's defaults: retry deadline and response timeout.
const DEADLINE: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const NODE_TIMEOUT: Duration = Duration::from_millis(2000);

/// The faults one phase injected.
#[derive(Debug, Default)]
struct Faults {
    failovers: u32,
    migrations: u32,
    keys_migrated: usize,
    kills: u32,
    // The longest of each kind, from its first command to the cluster healthy again.
    slowest_failover: Duration,
    slowest_migration: Duration,
    slowest_kill: Duration,
}

/// Task `t`'s keys for a phase: one hash tag per task, so a migrated slot carries a whole
/// task's keys.
fn task_keys(phase: &str, t: usize) -> Vec<String> {
    (0..KEYS_PER_TASK)
        .map(|i| format!("{{chaos:{phase}:{t}}}:{i}"))
        .collect()
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")),
    )
}

/// A short random wait between faults: the load runs on the changed cluster for a while.
fn breathe(rng: &mut fastrand::Rng, millis: std::ops::Range<u64>) {
    std::thread::sleep(Duration::from_millis(rng.u64(millis)));
}

/// Manual failover to a random replica that has not been promoted for a while; false if
/// there is none.
///
/// A node that ran an election cannot start another until 4 × the node timeout later ("Failover
/// attempt expired" in its log); failed back to within that time, it waits out the rest while
/// its primary holds every write paused, and writes time out. That is the server's contract,
/// not a graceful failover, so such replicas are left alone.
fn fail_over(
    cluster: &LocalCluster,
    rng: &mut fastrand::Rng,
    promoted: &mut HashMap<u16, Instant>,
) -> bool {
    let cooldown = NODE_TIMEOUT * 4 + Duration::from_secs(1);
    let replicas: Vec<_> = cluster
        .replicas()
        .unwrap()
        .into_iter()
        .filter(|r| {
            promoted
                .get(&r.port)
                .is_none_or(|at| at.elapsed() > cooldown)
        })
        .collect();
    if replicas.is_empty() {
        return false;
    }
    let replica = &replicas[rng.usize(..replicas.len())];
    promoted.insert(replica.port, Instant::now());
    cluster.failover(replica.port).unwrap();
    true
}

/// Moves the slot of a random task's keys to another primary, a few keys at a time; returns
/// how many keys moved.
fn migrate(cluster: &LocalCluster, rng: &mut fastrand::Rng, phase: &str) -> usize {
    let t = rng.usize(..TASKS);
    let slot = RedisCluster::keyslot(&task_keys(phase, t)[0]);
    let source = cluster.node_for_slot(slot).unwrap();
    let targets: Vec<_> = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .filter(|p| p.port != source.port)
        .collect();
    let target = &targets[rng.usize(..targets.len())];
    let mut filler = Cmd::new("MSET");
    for i in 0..FILLER_KEYS {
        filler.push_arg(format!("{{chaos:{phase}:{t}}}:filler:{i}"));
        filler.push_arg("x");
    }
    cluster.call(source.port, &filler).unwrap();
    let mut migration = cluster.begin_migration(slot, target.port).unwrap();
    let mut moved = 0;
    loop {
        let batch = migration.move_keys(MIGRATION_BATCH).unwrap();
        if batch == 0 {
            break;
        }
        moved += batch;
        breathe(rng, 5..30);
    }
    moved + migration.finish().unwrap()
}

/// Failovers and migrations at random until `until` (and at least one of each).
fn graceful_faults(
    cluster: &LocalCluster,
    rng: &mut fastrand::Rng,
    phase: &str,
    until: Instant,
) -> Faults {
    let mut faults = Faults::default();
    let mut promoted = HashMap::new();
    while Instant::now() < until || faults.failovers == 0 || faults.migrations == 0 {
        let failover = match (faults.failovers, faults.migrations) {
            (0, m) if m > 0 => true,
            (f, 0) if f > 0 => false,
            _ => rng.bool(),
        };
        let started = Instant::now();
        if failover && fail_over(cluster, rng, &mut promoted) {
            faults.failovers += 1;
            faults.slowest_failover = faults.slowest_failover.max(started.elapsed());
        } else {
            faults.keys_migrated += migrate(cluster, rng, phase);
            faults.migrations += 1;
            faults.slowest_migration = faults.slowest_migration.max(started.elapsed());
        }
        breathe(rng, 200..1000);
    }
    faults
}

/// Kills a random primary, waits for its replica to take over, restarts it as a replica; until
/// `until` (and at least once).
fn kills(cluster: &LocalCluster, rng: &mut fastrand::Rng, until: Instant) -> Faults {
    let mut faults = Faults::default();
    while Instant::now() < until || faults.kills == 0 {
        let started = Instant::now();
        let (victim, heir) = victim_and_heir(cluster, rng.usize(..3));
        cluster.kill(victim.port).unwrap();
        cluster
            .wait_for_promotion(heir.port, Duration::from_secs(30))
            .unwrap();
        cluster.restart(victim.port).unwrap();
        faults.kills += 1;
        faults.slowest_kill = faults.slowest_kill.max(started.elapsed());
        breathe(rng, 500..2000);
    }
    faults
}

/// Runs the load with `inject` driving the faults on a blocking thread; prints and returns what
/// the load saw, and hands the random generator on to the next phase.
async fn phase<F>(
    cluster: &Arc<LocalCluster>,
    client: &RedisCluster,
    name: &'static str,
    rng: fastrand::Rng,
    length: Duration,
    inject: F,
) -> (Report, fastrand::Rng)
where
    F: FnOnce(&LocalCluster, &mut fastrand::Rng, Instant) -> Faults + Send + 'static,
{
    let load = Load::start(client, TASKS, |t| task_keys(name, t));
    let warm_until = Instant::now() + Duration::from_secs(10);
    loop {
        let warm = load.report();
        assert!(
            warm.errors.is_empty() && warm.wrong.is_empty(),
            "{name}: failures before any fault: {warm:?}"
        );
        if warm.ok >= 1000 {
            break;
        }
        assert!(
            Instant::now() < warm_until,
            "{name}: the load made only {} calls in 10 s before any fault",
            warm.ok
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (faults, rng) = {
        let cluster = Arc::clone(cluster);
        let until = Instant::now() + length;
        tokio::task::spawn_blocking(move || {
            let mut rng = rng;
            let faults = inject(&cluster, &mut rng, until);
            (faults, rng)
        })
        .await
        .unwrap()
    };
    // The load runs a little longer on the final cluster.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = load.stop().await;
    let (may_have_run, other): (Vec<_>, Vec<_>) = report.errors.iter().partition(|e| e.2);
    let (at_deadline, early): (Vec<_>, Vec<_>) = other
        .into_iter()
        .partition(|e| e.3 >= DEADLINE - Duration::from_millis(100));
    println!(
        "{name}: {faults:?}; {} ok, {} errors ({} possibly applied, {} at the deadline, {} \
         neither), {} wrong, {} stale, longest call {:?}; stats so far {:?}",
        report.ok,
        report.error_count,
        may_have_run.len(),
        at_deadline.len(),
        early.len(),
        report.wrong.len(),
        report.stale,
        report.longest,
        client.stats(),
    );
    // A few of each kind, for the report.
    for (slot, message, may_have_run, took) in [may_have_run, at_deadline, early]
        .into_iter()
        .flat_map(|errors| errors.into_iter().take(3))
    {
        println!("  error on slot {slot} after {took:?} (may have run: {may_have_run}): {message}");
    }
    (report, rng)
}

async fn chaos(total: Duration) {
    let seed = env_u64("SLOTWISE_CHAOS_SEED").unwrap_or_else(|| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        now.as_secs() ^ u64::from(now.subsec_nanos())
    });
    println!("chaos for {total:?}, seed {seed} (SLOTWISE_CHAOS_SEED={seed} to draw it again)");
    let cluster = common::faults::fault_cluster_with(NODE_TIMEOUT);
    let client = RedisCluster::new("127.0.0.1", cluster.ports()[0])
        .await
        .unwrap();
    let rng = fastrand::Rng::with_seed(seed);

    let (graceful, rng) = phase(
        &cluster,
        &client,
        "graceful",
        rng,
        total / 2,
        |cluster, rng, until| graceful_faults(cluster, rng, "graceful", until),
    )
    .await;
    let (killed, _) = phase(&cluster, &client, "kills", rng, total / 2, kills).await;

    assert!(
        graceful.wrong.is_empty(),
        "graceful phase: expected no wrong values, read {:?}",
        graceful.wrong
    );
    assert_eq!(
        graceful.stale, 0,
        "graceful phase: expected no stale reads across failovers and migrations"
    );
    assert!(
        graceful.errors.is_empty(),
        "graceful phase: expected no errors, got {} (seed {seed}): {:?}",
        graceful.error_count,
        &graceful.errors[..graceful.errors.len().min(20)]
    );

    assert!(
        killed.wrong.is_empty(),
        "kill phase: expected no wrong values, read {:?}",
        killed.wrong
    );
    let bound = DEADLINE + RESPONSE_TIMEOUT + SLACK;
    assert!(
        killed.longest <= bound,
        "kill phase: a call took {:?}, expected every call to return within {bound:?}",
        killed.longest
    );
    assert_eq!(
        killed.error_count,
        killed.errors.len() as u64,
        "kill phase: more errors than the load keeps details of (seed {seed})"
    );
    for (slot, message, may_have_run, took) in &killed.errors {
        // In flight when its primary died (a write may have run), or out of time: nothing
        // else may fail.
        assert!(
            *may_have_run || *took >= DEADLINE - Duration::from_millis(100),
            "kill phase: slot {slot} failed after {took:?} although it could not have run and \
             had time left (seed {seed}): {message}"
        );
    }
}

/// `SLOTWISE_CHAOS_SECS`, or `default` seconds.
fn length(default: u64) -> Duration {
    Duration::from_secs(env_u64("SLOTWISE_CHAOS_SECS").unwrap_or(default))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_keeps_every_answer_right() {
    chaos(length(40)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for 10 minutes; see the file's docs"]
async fn chaos_long() {
    chaos(length(600)).await;
}
