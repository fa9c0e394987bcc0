//! The client-side cache through faults, each on a cluster of its own and under a mixed load:
//! a primary killed (its replica takes over), a graceful failover (`CLUSTER FAILOVER`), a slot
//! migrated away and back (`ASK`, then `MOVED`), and a primary restarted.
//!
//! The load: the caching client's tasks read a hot keyspace (`GET`, and now and then
//! `mget_nonatomic`, which reads each key through the cache); a second, independent client
//! writes ever higher versions to those keys and notes when each write was acknowledged; and
//! the caching client runs the verified load of `common::load` on keys of its own, writing and
//! reading back. What must hold, chosen so that a stale read fails the test and a legitimate one
//! never does:
//!
//! - **read-your-writes**: a read after the client's own acknowledged write returns it or a
//!   later value (the load's `stale` is 0);
//! - **no going back**: the versions one task reads of a key never decrease, and each was
//!   written;
//! - **the server's guarantee**: a read that starts after the client's connection received the
//!   invalidation of another client's write never returns the older value. When the
//!   invalidation arrived is not visible from outside, so the test checks the reads started
//!   [`BOUND`] or more after the write's acknowledgement: a correctness bound, a hundred times
//!   the longest window `slotwise-bench invalidation` has measured on a busy two-core machine,
//!   which only a cache that kept a value nothing would ever invalidate can break;
//! - **convergence**: once the load is stopped and the cluster settled, every key reads its last
//!   written value through the cache within seconds, and is then served from memory again.
//!
//! Reads and the caching client's own writes fail only on the faulted node's slots, and not at
//! all through the graceful faults. Replication is asynchronous: a write that a primary
//! acknowledged but had not yet sent to its replica is lost with it, by the server and not the
//! cache. So the kill holds the writes back until the replica has caught up, kills, and lets them
//! go on at once (they then wait for the election); the restarted primary keeps its data in an
//! append-only file written before each reply.
//!
//! Each test prints what it saw in each phase: before the fault, during it, after it.
// Test helpers outside #[test] functions may unwrap and print too: a failure is a test failure,
// and what they measured goes in reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::faults::{primaries_only, slots_of, victim_and_heir, wait_replicated};
use common::load::Load;
use common::SLACK;
use slotwise::commands::StringCommands;
use slotwise::{CacheConfig, CacheStats, ClusterCommands, ClusterNode, RedisCluster};
use slotwise_testkit::LocalCluster;

/// Keys of the hot keyspace; the first [`TAGGED`] share the hash tag [`TAG`], so one slot
/// holds them (the one the migration test moves).
const HOT_KEYS: usize = 100;
const TAGGED: usize = 30;
const TAG: &str = "{csc-mig}";
/// Tasks reading the hot keyspace through the cache, and how fast: a cached read takes
/// microseconds, and unpaced readers would take the two cores from the cluster's servers.
const READERS: usize = 16;
const READS_PER_TICK: usize = 2;
const READ_TICK: Duration = Duration::from_millis(1);
/// Of a reader's reads, one in this many is an `mget_nonatomic` of [`MGET_KEYS`] keys.
const MGET_EVERY: u64 = 16;
const MGET_KEYS: usize = 4;
/// Tasks of the independent writer, each writing its share of the keys, one per tick: so a
/// key changes about 20 times a second and most reads are served from memory.
const WRITERS: usize = 4;
const WRITE_TICK: Duration = Duration::from_millis(2);
/// Tasks of the caching client's own verified load.
const OWN_TASKS: usize = 4;
/// A read started this long after a write's acknowledgement must see it (see the module doc).
const BOUND: Duration = Duration::from_secs(2);
/// Stale reads and errors kept with their details; more are only counted.
const KEPT: usize = 20;
/// What each phase must have seen before the next begins.
const PHASE_READS: u64 = 4_000;
const PHASE_WRITES: u64 = 200;

const PHASES: [&str; 3] = ["before", "during", "after"];

#[derive(Default)]
struct Counts {
    reads: AtomicU64,
    read_errors: AtomicU64,
    writes: AtomicU64,
    write_errors: AtomicU64,
}

/// The hot keyspace: what the writer wrote and when it was acknowledged, and what the readers
/// saw.
struct Hot {
    keys: Vec<String>,
    slots: Vec<u16>,
    /// Per key, the highest version sent (stored before the write is).
    sent: Vec<AtomicU64>,
    /// Per key, the versions acknowledged and when, in order.
    acked: Vec<Mutex<Vec<(Instant, u64)>>>,
    /// The index of the phase in [`PHASES`] now.
    phase: AtomicUsize,
    counts: [Counts; 3],
    /// Failed reads: the slots of the keys read, and the error.
    read_errors: Mutex<Vec<(Vec<u16>, String)>>,
    /// Stale, backward or never written values read.
    violations: Mutex<Vec<String>>,
    violation_count: AtomicU64,
    stop: AtomicBool,
    /// Taken shared by each write while it runs, whole by [`Run::hold_writes`].
    writes: Arc<tokio::sync::RwLock<()>>,
}

impl Hot {
    fn new() -> Hot {
        let keys: Vec<String> = (0..HOT_KEYS)
            .map(|i| match i < TAGGED {
                true => format!("{TAG}:hot:{i}"),
                false => format!("hot:{i}"),
            })
            .collect();
        Hot {
            slots: keys.iter().map(RedisCluster::keyslot).collect(),
            sent: keys.iter().map(|_| AtomicU64::new(0)).collect(),
            acked: keys.iter().map(|_| Mutex::new(Vec::new())).collect(),
            keys,
            phase: AtomicUsize::new(0),
            counts: Default::default(),
            read_errors: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            violation_count: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            writes: Arc::new(tokio::sync::RwLock::new(())),
        }
    }

    fn counts(&self) -> &Counts {
        &self.counts[self.phase.load(Ordering::Relaxed)]
    }

    fn violated(&self, what: String) {
        self.violation_count.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.violations.lock().unwrap();
        if kept.len() < KEPT {
            kept.push(what);
        }
    }

    /// Checks that `got`, key `k` as read by `reader` in a read started at `started`, is not
    /// older than what that reader saw before (`last`), was written, and is not older than a
    /// write acknowledged [`BOUND`] before the read began.
    fn check(&self, reader: usize, k: usize, got: Option<u64>, started: Instant, last: &mut [u64]) {
        let key = &self.keys[k];
        let got = got.unwrap_or(0);
        if got < last[k] {
            self.violated(format!(
                "reader {reader} read {key} = {got} after {}",
                last[k]
            ));
        }
        last[k] = last[k].max(got);
        let sent = self.sent[k].load(Ordering::SeqCst);
        if got > sent {
            self.violated(format!(
                "{key} read {got}, never written (last sent {sent})"
            ));
        }
        let Some(floor) = started.checked_sub(BOUND) else {
            return;
        };
        let acked = self.acked[k].lock().unwrap();
        let newer = acked.partition_point(|(at, _)| *at <= floor);
        if let Some((at, version)) = newer.checked_sub(1).map(|i| acked[i]) {
            if got < version {
                self.violated(format!(
                    "{key} read {got} in a read started {:?} after {version} was acknowledged",
                    started - at
                ));
            }
        }
    }

    fn read_failed(&self, keys: &[usize], error: &slotwise::Error) {
        self.counts().read_errors.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.read_errors.lock().unwrap();
        if kept.len() < 10 * KEPT {
            let slots = keys.iter().map(|&k| self.slots[k]).collect();
            kept.push((slots, error.to_string()));
        }
    }
}

/// One reader: random hot keys through the cache, paced, until stopped.
async fn read(hot: Arc<Hot>, client: RedisCluster, reader: usize) {
    let mut rng = fastrand::Rng::with_seed(reader as u64);
    let mut last = vec![0u64; HOT_KEYS];
    let mut tick = tokio::time::interval(READ_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u64;
    while !hot.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        for _ in 0..READS_PER_TICK {
            n += 1;
            let started = Instant::now();
            if n.is_multiple_of(MGET_EVERY) {
                let picked: Vec<usize> = (0..MGET_KEYS).map(|_| rng.usize(..HOT_KEYS)).collect();
                let keys: Vec<&str> = picked.iter().map(|&k| hot.keys[k].as_str()).collect();
                let got: slotwise::Result<Vec<Option<u64>>> = client.mget_nonatomic(&keys).await;
                hot.counts().reads.fetch_add(1, Ordering::Relaxed);
                match got {
                    Ok(values) => {
                        for (&k, value) in picked.iter().zip(values) {
                            hot.check(reader, k, value, started, &mut last);
                        }
                    }
                    Err(e) => hot.read_failed(&picked, &e),
                }
            } else {
                let k = rng.usize(..HOT_KEYS);
                let got: slotwise::Result<Option<u64>> = client.get(&hot.keys[k]).await;
                hot.counts().reads.fetch_add(1, Ordering::Relaxed);
                match got {
                    Ok(value) => hot.check(reader, k, value, started, &mut last),
                    Err(e) => hot.read_failed(&[k], &e),
                }
            }
        }
    }
}

/// One task of the independent writer: the next version of each of its keys in turn, paced.
async fn write(hot: Arc<Hot>, client: RedisCluster, writer: usize) {
    let mine: Vec<usize> = (writer..HOT_KEYS).step_by(WRITERS).collect();
    let mut tick = tokio::time::interval(WRITE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for &k in mine.iter().cycle() {
        if hot.stop.load(Ordering::Relaxed) {
            return;
        }
        tick.tick().await;
        let held = hot.writes.read().await;
        let version = hot.sent[k].fetch_add(1, Ordering::SeqCst) + 1;
        let done = client.set(&hot.keys[k], version).await;
        drop(held);
        match done {
            Ok(()) => {
                hot.acked[k].lock().unwrap().push((Instant::now(), version));
                hot.counts().writes.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                // It may have run: the version stays sent, and the next one is higher.
                hot.counts().write_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

type WriteGuard = tokio::sync::OwnedRwLockWriteGuard<()>;

/// A fault test's clients and load.
struct Run {
    caching: RedisCluster,
    writer: RedisCluster,
    hot: Arc<Hot>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    own: Load,
    /// The cache's counters and the own load's successes when each phase began, and at the end.
    marks: Vec<(CacheStats, u64)>,
}

impl Run {
    /// Starts both clients (seeded with the node at `seed`) and the load, and returns once
    /// the cache serves reads and every part of the load has made progress.
    async fn start(seed: u16) -> Run {
        let seed = ClusterNode::new("127.0.0.1", seed);
        let caching = RedisCluster::builder()
            .startup_node(seed.clone())
            .client_side_cache(CacheConfig::new())
            .build()
            .await
            .unwrap();
        let writer = RedisCluster::builder()
            .startup_node(seed)
            .build()
            .await
            .unwrap();
        let hot = Arc::new(Hot::new());
        for (k, key) in hot.keys.iter().enumerate() {
            hot.sent[k].store(1, Ordering::SeqCst);
            writer.set(key, 1).await.unwrap();
            hot.acked[k].lock().unwrap().push((Instant::now(), 1));
        }
        let mut tasks: Vec<_> = (0..READERS)
            .map(|r| tokio::spawn(read(Arc::clone(&hot), caching.clone(), r)))
            .collect();
        tasks
            .extend((0..WRITERS).map(|w| tokio::spawn(write(Arc::clone(&hot), writer.clone(), w))));
        let own = Load::start(&caching, OWN_TASKS, |t| {
            vec![format!("own:{t}"), format!("{TAG}:own:{t}")]
        });
        let mut run = Run {
            caching,
            writer,
            hot,
            tasks,
            own,
            marks: Vec::new(),
        };
        run.marks.push(run.mark());
        run.until_phase_done(Duration::ZERO).await;
        assert!(
            run.caching.stats().cache.hits > 0,
            "warm-up: {:?}",
            run.caching.stats().cache
        );
        run
    }

    fn mark(&self) -> (CacheStats, u64) {
        (self.caching.stats().cache, self.own.report().ok)
    }

    /// Waits until the phase now has lasted `lasting` and seen enough reads and writes of
    /// every kind.
    async fn until_phase_done(&self, lasting: Duration) {
        let phase = self.hot.phase.load(Ordering::Relaxed);
        let counts = &self.hot.counts[phase];
        let own_since = self.marks[phase].1;
        let until = Instant::now() + lasting;
        let deadline = until + SLACK * 3;
        loop {
            let (reads, writes) = (
                counts.reads.load(Ordering::Relaxed),
                counts.writes.load(Ordering::Relaxed),
            );
            let own = self.own.report().ok - own_since;
            let enough = reads >= PHASE_READS && writes >= PHASE_WRITES && own >= PHASE_WRITES;
            if enough && Instant::now() >= until {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {reads} reads, {writes} writes, {own} own calls so far",
                PHASES[phase]
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The fault begins now.
    fn fault_begins(&mut self) {
        self.marks.push(self.mark());
        self.hot.phase.store(1, Ordering::Relaxed);
    }

    /// The fault is over (the cluster healthy again, as the test kit sees it).
    fn fault_ends(&mut self) {
        self.marks.push(self.mark());
        self.hot.phase.store(2, Ordering::Relaxed);
    }

    /// Waits for the writes in flight and holds back new ones, of both writers, until the
    /// guards are dropped.
    async fn hold_writes(&self) -> (WriteGuard, WriteGuard) {
        let own = self.own.hold_writes().await;
        let hot = Arc::clone(&self.hot.writes).write_owned().await;
        (own, hot)
    }

    /// Lets the load run on after the fault, stops it, prints what each phase saw and checks
    /// it (errors are allowed on `faulted` slots only), then checks that every key converges.
    async fn finish(mut self, fault: &str, faulted: &[u16]) {
        // Long enough for reads to start `BOUND` after writes made once the fault was over.
        self.until_phase_done(BOUND + Duration::from_secs(1)).await;
        self.hot.stop.store(true, Ordering::Relaxed);
        for task in std::mem::take(&mut self.tasks) {
            task.await.unwrap();
        }
        let cache = self.caching.stats().cache;
        let own = self.own.stop().await;
        self.marks.push((cache, own.ok));

        let hot = &self.hot;
        for (i, phase) in PHASES.iter().enumerate() {
            let (c, (from, own_from), (to, own_to)) =
                (&hot.counts[i], &self.marks[i], &self.marks[i + 1]);
            println!(
                "{fault}, {phase}: {} reads ({} failed), {} hits, {} misses, {} invalidations; \
                 {} writes by the other client ({} failed); {} own calls",
                c.reads.load(Ordering::Relaxed),
                c.read_errors.load(Ordering::Relaxed),
                to.hits - from.hits,
                to.misses - from.misses,
                to.invalidations - from.invalidations,
                c.writes.load(Ordering::Relaxed),
                c.write_errors.load(Ordering::Relaxed),
                own_to - own_from,
            );
        }
        let violations = hot.violation_count.load(Ordering::Relaxed);
        let stats = self.caching.stats();
        println!(
            "{fault}: {violations} stale or backward reads; {} stale and {} wrong own reads, \
             {} own errors; {} MOVED, {} ASK, {} refreshes",
            own.stale,
            own.wrong.len(),
            own.error_count,
            stats.moved,
            stats.ask,
            stats.refreshes,
        );
        assert_eq!(
            violations,
            0,
            "{fault}: stale or backward reads, the first: {:#?}",
            hot.violations.lock().unwrap()
        );
        assert_eq!(
            own.stale, 0,
            "{fault}: the client read older than its own write"
        );
        assert!(
            own.wrong.is_empty(),
            "{fault}: wrong own values: {:?}",
            own.wrong
        );
        let faulted = |slot: &u16| faulted.contains(slot);
        let own_errors: Vec<_> = own.errors.iter().filter(|e| !faulted(&e.0)).collect();
        assert!(
            own_errors.is_empty(),
            "{fault}: own calls failed off the faulted slots: {own_errors:?}"
        );
        let read_errors: Vec<_> = hot
            .read_errors
            .lock()
            .unwrap()
            .iter()
            .filter(|(slots, _)| !slots.iter().any(faulted))
            .cloned()
            .collect();
        assert!(
            read_errors.is_empty(),
            "{fault}: reads failed off the faulted slots: {read_errors:?}"
        );
        let after = (&self.marks[2].0, &self.marks[3].0);
        assert!(
            after.1.hits > after.0.hits,
            "{fault}: no read served from memory after the fault"
        );

        let converged_in = converge(hot, &self.writer, &self.caching).await;
        println!(
            "{fault}: every key read its last write through the cache {converged_in:?} after \
             it was written; cache {:?}",
            self.caching.stats().cache
        );
    }
}

/// Writes a last version of every hot key (the other client, acknowledged), then reads each
/// through the cache until it is that version, within a generous deadline, and checks that it
/// stays so and comes from memory. Returns how long the reads took to converge.
async fn converge(hot: &Hot, writer: &RedisCluster, caching: &RedisCluster) -> Duration {
    let deadline = Instant::now() + SLACK * 3;
    let mut last = Vec::with_capacity(HOT_KEYS);
    for (k, key) in hot.keys.iter().enumerate() {
        let version = hot.sent[k].fetch_add(1, Ordering::SeqCst) + 1;
        loop {
            match writer.set(key, version).await {
                Ok(()) => break,
                Err(e) => assert!(Instant::now() < deadline, "last write of {key}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        last.push(version);
    }
    let started = Instant::now();
    let deadline = started + SLACK;
    for (key, &version) in hot.keys.iter().zip(&last) {
        loop {
            let got: slotwise::Result<Option<u64>> = caching.get(key).await;
            if matches!(got, Ok(Some(v)) if v == version) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{key} reads {got:?} through the cache, not its last write {version}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let converged_in = started.elapsed();
    let hits = caching.stats().cache.hits;
    for _ in 0..3 {
        for (key, &version) in hot.keys.iter().zip(&last) {
            let got: Option<u64> = caching.get(key).await.unwrap();
            assert_eq!(got, Some(version), "{key} changed back");
        }
    }
    let served = caching.stats().cache.hits - hits;
    // Each key's first read here may have been in flight during the last invalidations;
    // the next two are hits once one read was stored.
    assert!(
        served >= 2 * HOT_KEYS as u64,
        "only {served} of {} reads of settled keys came from memory",
        3 * HOT_KEYS
    );
    converged_in
}

/// Runs `fault` (blocking: it drives the test kit) on a thread of its own.
async fn blocking<T: Send + 'static>(
    cluster: &Arc<LocalCluster>,
    fault: impl FnOnce(&LocalCluster) -> T + Send + 'static,
) -> T {
    let cluster = Arc::clone(cluster);
    tokio::task::spawn_blocking(move || fault(&cluster))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_s_keys_are_read_fresh_from_its_heir() {
    let cluster = common::faults::fault_cluster();
    let (victim, heir) = victim_and_heir(&cluster, 0);
    let seed = cluster.primaries().unwrap()[1].port;
    let mut run = Run::start(seed).await;
    let held = run.hold_writes().await;
    let (from, to) = (victim.port, heir.port);
    blocking(&cluster, move |c| wait_replicated(c, from, to, SLACK)).await;
    run.fault_begins();
    blocking(&cluster, move |c| c.kill(from).unwrap()).await;
    drop(held);
    blocking(&cluster, move |c| {
        c.wait_for_promotion(to, Duration::from_secs(30)).unwrap()
    })
    .await;
    run.fault_ends();
    run.finish("kill", &slots_of(&victim)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_failover_serves_no_stale_read() {
    let cluster = common::faults::fault_cluster();
    let (old, heir) = victim_and_heir(&cluster, 1);
    let mut run = Run::start(old.port).await;
    run.fault_begins();
    let to = heir.port;
    blocking(&cluster, move |c| c.failover(to).unwrap()).await;
    run.fault_ends();
    run.finish("failover", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migrated_away_and_back_serves_no_stale_read() {
    let cluster = primaries_only();
    let slot = RedisCluster::keyslot(TAG);
    let source = cluster.node_for_slot(slot).unwrap().port;
    let target = cluster.other_primary(source).unwrap().port;
    let mut run = Run::start(source).await;
    // Filler keys, so that the slot moves in several batches and stays half-migrated (its keys
    // asked for with ASK) for a while.
    let filler: Vec<(String, String)> = (0..2_000)
        .map(|i| (format!("{TAG}:fill:{i}"), format!("v{i}")))
        .collect();
    run.writer.mset(&filler).await.unwrap();
    run.fault_begins();
    let moved = blocking(&cluster, move |c| {
        let mut moved = 0;
        for (from, to) in [(source, target), (target, source)] {
            assert_eq!(c.node_for_slot(slot).unwrap().port, from);
            let mut migration = c.begin_migration(slot, to).unwrap();
            while migration.keys_left().unwrap() > 0 {
                moved += migration.move_keys(20).unwrap();
            }
            moved += migration.finish().unwrap();
        }
        moved
    })
    .await;
    assert!(moved >= 2 * (2_000 + TAGGED), "moved {moved} keys");
    run.fault_ends();
    run.finish("migration", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_primary_serves_no_stale_read() {
    // No replicas, so the node comes back as the same primary; its data survives in an
    // append-only file written before each reply; and a node timeout the restart stays within,
    // so the rest of the cluster keeps serving.
    let cluster = Arc::new(
        LocalCluster::builder()
            .primaries(3)
            .replicas(0)
            .node_timeout(Duration::from_secs(5))
            .extra_config(&[("appendonly", "yes"), ("appendfsync", "always")])
            .start()
            .unwrap(),
    );
    let victim = cluster.primaries().unwrap()[0].clone();
    let seed = cluster.primaries().unwrap()[1].port;
    let mut run = Run::start(seed).await;
    run.fault_begins();
    let port = victim.port;
    blocking(&cluster, move |c| c.restart(port).unwrap()).await;
    run.fault_ends();
    run.finish("restart", &slots_of(&victim)).await;
}
