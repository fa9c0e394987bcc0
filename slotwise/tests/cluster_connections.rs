//! Sockets on a large cluster: a client of a 1,000-shard × 3-node topology (the test kit's
//! `FakeTopology`, one listening port per node) opens a bounded few at start, one per shard it
//! uses, one however many callers reach a shard first at once, one per primary with
//! `preconnect`, and none while idle, when it only checks the topology on the same few nodes.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use slotwise::commands::StringCommands;
use slotwise::{ClusterBuilder, ReadFrom, RedisCluster};
use slotwise_testkit::FakeTopology;

const SHARDS: usize = 1_000;
const REPLICAS: usize = 2;
/// The builder's default `discovery_fanout`.
const FANOUT: u64 = 3;

/// Counts the heap bytes in use, for the client's memory per node.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are the system allocator's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let new = unsafe { System.realloc(ptr, layout, size) };
        if !new.is_null() {
            LIVE.fetch_add(size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One fake at a time: each takes 3,000 ports and as many file descriptors.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Redis 7.0's real `COMMAND` reply, so start-up reads a full command table as it would.
fn command_reply() -> Bytes {
    Bytes::from_static(include_bytes!(
        "../src/routing/fixtures/command-7.0.15.resp3"
    ))
}

fn fake() -> FakeTopology {
    FakeTopology::start_with(SHARDS, REPLICAS, Some(command_reply())).unwrap()
}

fn builder(fake: &FakeTopology) -> ClusterBuilder {
    RedisCluster::builder().url(&fake.seed_url())
}

/// A key of a shard whose primary has no connection yet, and that primary's port.
fn key_of_unused_shard(fake: &FakeTopology, prefix: &str) -> (String, u16) {
    (0..)
        .map(|i| format!("{{{prefix}{i}}}"))
        .map(|tag| {
            let port = fake.primary_of_slot(RedisCluster::keyslot(&tag)).port;
            (tag, port)
        })
        .find(|(_, port)| fake.connections_to(*port) == 0)
        .unwrap()
}

/// Waits until `done`, failing with `what` after a generous deadline.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_opens_a_few_sockets_and_a_first_command_one_more() {
    let _turn = SERIAL.lock().await;
    let fake = fake();
    let client = builder(&fake).build().await.unwrap();
    assert_eq!(client.get_primaries().len(), SHARDS);
    assert_eq!(client.get_nodes().len(), SHARDS * (1 + REPLICAS));
    let at_build = fake.connections();
    assert!(
        (1..=FANOUT).contains(&at_build),
        "build should open the seed and at most {FANOUT} sockets in all (discovery's fanout), opened {at_build}"
    );
    let replicas_reached = fake
        .nodes()
        .iter()
        .filter(|n| !n.primary && fake.connections_to(n.port) > 0)
        .count();
    assert_eq!(replicas_reached, 0, "build should connect to no replica");

    let (key, port) = key_of_unused_shard(&fake, "first");
    client.set(&key, "v").await.unwrap();
    let value: Option<String> = client.get(&key).await.unwrap();
    assert_eq!(value.as_deref(), Some("v"));
    assert_eq!(
        fake.connections(),
        at_build + 1,
        "commands to one new shard should open exactly one socket"
    );
    assert_eq!(
        fake.connections_to(port),
        1,
        "the socket should be the shard's primary's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_commands_to_a_shard_share_one_connect() {
    let _turn = SERIAL.lock().await;
    let fake = fake();
    let client = builder(&fake).build().await.unwrap();
    let before = fake.connections();
    let (tag, port) = key_of_unused_shard(&fake, "together");
    let gets = (0..64).map(|i| {
        let client = client.clone();
        let key = format!("{tag}:{i}");
        tokio::spawn(async move { client.get::<Option<String>>(&key).await })
    });
    for get in futures_util::future::join_all(gets).await {
        assert_eq!(get.unwrap().unwrap(), None);
    }
    assert_eq!(
        fake.connections_to(port),
        1,
        "64 first GETs to one shard should share one connection attempt"
    );
    assert_eq!(fake.connections(), before + 1, "and open no other socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preconnect_opens_one_socket_per_primary() {
    let _turn = SERIAL.lock().await;
    let fake = fake();
    let client = builder(&fake).preconnect(true).build().await.unwrap();
    for node in fake.nodes() {
        let expected = u64::from(node.primary);
        assert_eq!(
            fake.connections_to(node.port),
            expected,
            "preconnect should open {expected} socket(s) to {node:?}"
        );
    }
    // Commands to any shard now open nothing new.
    let _: Option<String> = client.get("{anywhere}").await.unwrap();
    assert_eq!(fake.connections(), SHARDS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preconnect_with_replica_reads_opens_one_socket_per_node() {
    let _turn = SERIAL.lock().await;
    let fake = fake();
    let _client = builder(&fake)
        .read_from(ReadFrom::Replica)
        .preconnect(true)
        .build()
        .await
        .unwrap();
    let unreached: Vec<_> = fake
        .nodes()
        .iter()
        .filter(|n| fake.connections_to(n.port) != 1)
        .collect();
    assert!(
        unreached.is_empty(),
        "every node should have exactly one socket; not so for {} of them, e.g. {:?}",
        unreached.len(),
        unreached.first()
    );
}

/// Commands each node received so far, by port.
fn commands_per_node(fake: &FakeTopology) -> HashMap<u16, u64> {
    let nodes = fake.nodes().iter();
    nodes.map(|n| (n.port, fake.commands_to(n.port))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_client_checks_a_few_nodes_and_opens_nothing() {
    let _turn = SERIAL.lock().await;
    let fake = fake();
    let _client = builder(&fake)
        .refresh_interval(Some(Duration::from_millis(50)))
        .build()
        .await
        .unwrap();
    let sockets = fake.connections();
    let before = commands_per_node(&fake);
    let names_before = fake.commands_by_name();
    let checks = |fake: &FakeTopology| {
        let names = fake.commands_by_name();
        names.get("CLUSTER SHARDS").copied().unwrap_or(0)
    };
    let start = checks(&fake);
    // Ten periodic checks, each asking the same few nodes.
    wait_until("ten periodic topology checks", || {
        checks(&fake) >= start + 10 * FANOUT
    })
    .await;
    assert_eq!(
        fake.connections(),
        sockets,
        "an idle client should open no socket"
    );
    let after = commands_per_node(&fake);
    let asked = after.iter().filter(|(port, n)| **n > before[port]).count() as u64;
    assert!(
        asked <= FANOUT,
        "periodic checks should ask at most {FANOUT} nodes, asked {asked}"
    );
    let names_after = fake.commands_by_name();
    let sent: Vec<&String> = names_after
        .iter()
        .filter(|(name, n)| **n > names_before.get(*name).copied().unwrap_or(0))
        .map(|(name, _)| name)
        .collect();
    assert!(
        sent.iter()
            .all(|n| *n == "CLUSTER SHARDS" || *n == "CLUSTER INFO"),
        "an idle client should only check the topology, sent {sent:?}"
    );
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The figures of the scale table's rows, on fakes of 3, 32 and 1,000 shards (3 nodes each):
/// `cargo test -p slotwise --release --test cluster_connections -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it on its own, with --release and --nocapture"]
async fn measure_start_up_and_idle_costs() {
    let _turn = SERIAL.lock().await;
    for shards in [3, 32, SHARDS] {
        measure(shards).await;
    }
}

#[allow(clippy::print_stdout)] // A measurement's output is its figures.
async fn measure(shards: usize) {
    let fake = FakeTopology::start_with(shards, REPLICAS, Some(command_reply())).unwrap();
    // Memory first, before other builds leave freed memory for this one to reuse.
    let sockets_before = fake.connections();
    let rss_before = rss_kib();
    let heap_before = LIVE.load(Ordering::Relaxed);
    let client = builder(&fake)
        .refresh_interval(Some(Duration::from_millis(100)))
        .build()
        .await
        .unwrap();
    // The fake's own few buffers are in this too; its replies were built before.
    let heap = LIVE.load(Ordering::Relaxed).saturating_sub(heap_before);
    let rss_after = rss_kib();
    let sockets = fake.connections() - sockets_before;

    // Build time: the median of several builds, each client dropped before the next.
    let mut times = Vec::new();
    for _ in 0..9 {
        let started = Instant::now();
        let client = builder(&fake).build().await.unwrap();
        times.push(started.elapsed());
        drop(client);
    }
    times.sort();
    let build = times[times.len() / 2];
    let (min, max) = (times[0], times[times.len() - 1]);

    let commands_before = fake.commands();
    let bytes_before = fake.bytes_sent();
    let checks_before = fake
        .commands_by_name()
        .get("CLUSTER SHARDS")
        .copied()
        .unwrap_or(0);
    let rounds = 20;
    wait_until("twenty periodic checks", || {
        let names = fake.commands_by_name();
        names.get("CLUSTER SHARDS").copied().unwrap_or(0) >= checks_before + rounds * FANOUT
    })
    .await;
    let per_round = (fake.commands() - commands_before) as f64 / rounds as f64;
    let bytes_per_round = (fake.bytes_sent() - bytes_before) / rounds;
    // At the default refresh_interval of 30 s: two checks a minute.
    let per_minute = per_round * 2.0;

    // A check's cost to the client, as the time of one asked for now (the fake's serving,
    // on its own thread, is in it too).
    let mut checks = Vec::new();
    for _ in 0..9 {
        let started = Instant::now();
        client.refresh_topology().await.unwrap();
        checks.push(started.elapsed());
    }
    checks.sort();
    let check = checks[checks.len() / 2];

    let started = Instant::now();
    let preconnected = builder(&fake).preconnect(true).build().await.unwrap();
    let preconnect_build = started.elapsed();

    println!(
        "{shards} shards x 3 nodes: build median {build:?} (min {min:?}, max {max:?}, 9 builds); \
         sockets at build {sockets}; client heap {} KiB ({} bytes per node), RSS growth {} KiB; idle: {per_round:.1} commands ({} KiB of replies) per \
         periodic check taking {check:?} (median of 9), {per_minute:.0} per minute at the default 30 s interval; build with \
         preconnect {preconnect_build:?}",
        heap / 1024,
        heap / (shards * (1 + REPLICAS)),
        rss_after.saturating_sub(rss_before),
        bytes_per_round / 1024
    );
    drop((client, preconnected));
}

#[test]
fn the_blocking_builder_preconnects_too() {
    let _turn = SERIAL.blocking_lock();
    let fake = fake();
    let client = slotwise::blocking::RedisCluster::builder()
        .url(&fake.seed_url())
        .preconnect(true)
        .build()
        .unwrap();
    let primaries = fake.nodes().iter().filter(|n| n.primary);
    let unreached = primaries
        .filter(|n| fake.connections_to(n.port) != 1)
        .count();
    assert_eq!(unreached, 0, "every primary should have exactly one socket");
    assert_eq!(fake.connections(), SHARDS as u64, "and no replica any");
    drop(client);
}

/// The zone-aware strategies must learn every node's zone, so their probes connect to each, in
/// waves: still one socket per node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_probes_open_one_socket_per_node() {
    let _turn = SERIAL.lock().await;
    let fake = fake();
    let _client = builder(&fake)
        .read_from(ReadFrom::AzAffinity("zone-a".into()))
        .build()
        .await
        .unwrap();
    let unreached = fake.nodes().iter();
    let unreached = unreached
        .filter(|n| fake.connections_to(n.port) != 1)
        .count();
    assert_eq!(unreached, 0, "every node should have exactly one socket");
}
