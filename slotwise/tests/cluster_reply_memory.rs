//! Memory while a client reads a large discovery reply or a large command table: the peak stays
//! within a small multiple of the reply's size on the wire. `CLUSTER SLOTS` and `COMMAND` are
//! measured over `build`; `CLUSTER SHARDS`, whose size comes from the number of nodes, over a
//! refresh, since what the client keeps per node outweighs the reply however it is read.
//!
//! A binary of its own, because its counting global allocator would otherwise count every other
//! test running beside it; its tests take turns for the same reason. What is counted is the
//! bytes the program asks the allocator for, not what the allocator keeps for itself, so the
//! bound is a property of the client's code, not of the machine or of timing.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use common::fake_node::{greeting_then, Action, FakeNode};
use slotwise::connection::Protocol;
use slotwise::{ClusterNode, RedisCluster};

/// Counts the bytes allocated and not yet freed, and the most there ever were.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are the system allocator's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are the whole process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How far above the bytes live before it the peak went while a step ran, and how much of what
/// it allocated was still there after it.
struct Measured {
    peak: usize,
    kept: usize,
}

async fn measure<T>(step: impl std::future::Future<Output = T>) -> (T, Measured) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = step.await;
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let kept = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    (out, Measured { peak, kept })
}

async fn build(node: &FakeNode, protocol: Protocol) -> RedisCluster {
    RedisCluster::builder()
        .startup_node(ClusterNode::new("127.0.0.1", node.port))
        .protocol(protocol)
        // An unoptimised build takes its time over 16 MiB; what is measured is memory.
        .response_timeout(Duration::from_secs(60))
        .startup_timeout(Duration::from_secs(120))
        .build()
        .await
        .unwrap()
}

/// The most the client may hold at once while reading a reply, as a multiple of its size:
/// the reply itself (in a buffer that grew by doubling to take it), what it is read into, and
/// the little in between.
const BOUND: usize = 3;

fn report(what: &str, wire: usize, measured: &Measured) {
    let mib = |n: usize| n as f64 / (1024.0 * 1024.0);
    eprintln!(
        "{what}: {:.1} MiB on the wire; peak {:.1} MiB ({:.2}x); {:.1} MiB kept",
        mib(wire),
        mib(measured.peak),
        measured.peak as f64 / wire as f64,
        mib(measured.kept),
    );
}

fn check(what: &str, wire: usize, measured: &Measured) {
    report(what, wire, measured);
    assert!(
        measured.peak <= BOUND * wire,
        "{what}: reading a {wire}-byte reply took {} bytes at its peak, more than {BOUND}x",
        measured.peak
    );
}

fn bulk(out: &mut String, s: &str) {
    write!(out, "${}\r\n{s}\r\n", s.len()).unwrap();
}

/// A record header: a RESP3 map of `fields` pairs, or a RESP2 flat array of twice as many.
fn record(out: &mut String, fields: usize, protocol: Protocol) {
    match protocol {
        Protocol::Resp2 => write!(out, "*{}\r\n", fields * 2).unwrap(),
        _ => write!(out, "%{fields}\r\n").unwrap(),
    }
}

/// Node `n` of a made-up cluster: node 0 is the fake node at `seed`; every other has an address
/// of its own on the loopback network (127.x.y.z) and port 1, where nothing listens, so the few
/// the client asks besides the seed refuse at once.
fn address(n: usize, seed: u16) -> (String, u16) {
    match n {
        0 => ("127.0.0.1".to_owned(), seed),
        n => (format!("127.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255), 1),
    }
}

/// A `CLUSTER SHARDS` reply as Redis 7.0 writes it, for `shards` shards of one primary and
/// `replicas` replicas each, the slots dealt out in disjoint ranges; the first shard's primary is
/// the node at `seed`.
fn shards_reply(shards: usize, replicas: usize, protocol: Protocol, seed: u16) -> Bytes {
    let mut out = String::new();
    write!(out, "*{shards}\r\n").unwrap();
    let per_shard = 16384 / shards;
    for shard in 0..shards {
        let first = shard * per_shard;
        let last = if shard + 1 == shards {
            16383
        } else {
            first + per_shard - 1
        };
        record(&mut out, 2, protocol);
        bulk(&mut out, "slots");
        write!(out, "*2\r\n:{first}\r\n:{last}\r\n").unwrap();
        bulk(&mut out, "nodes");
        write!(out, "*{}\r\n", replicas + 1).unwrap();
        for r in 0..=replicas {
            let n = shard * (replicas + 1) + r;
            let (ip, port) = address(n, seed);
            record(&mut out, 7, protocol);
            bulk(&mut out, "id");
            bulk(&mut out, &format!("{n:040x}"));
            bulk(&mut out, "port");
            write!(out, ":{port}\r\n").unwrap();
            bulk(&mut out, "ip");
            bulk(&mut out, &ip);
            bulk(&mut out, "endpoint");
            bulk(&mut out, &ip);
            bulk(&mut out, "role");
            bulk(&mut out, if r == 0 { "master" } else { "replica" });
            bulk(&mut out, "replication-offset");
            out.push_str(":1234567\r\n");
            bulk(&mut out, "health");
            bulk(&mut out, "online");
        }
    }
    Bytes::from(out)
}

/// A `CLUSTER SLOTS` reply of a cluster whose slots are dealt out one at a time, in turn, to
/// `shards` shards of one primary and 7 replicas (each node with its metadata, as Redis 7 writes
/// it): 16,384 entries, each listing all eight nodes. The first shard's primary is at `seed`.
fn fragmented_slots_reply(shards: usize, protocol: Protocol, seed: u16) -> Bytes {
    let mut out = String::from("*16384\r\n");
    for slot in 0..16384 {
        let shard = slot % shards;
        write!(out, "*10\r\n:{slot}\r\n:{slot}\r\n").unwrap();
        for r in 0..8 {
            let n = shard * 8 + r;
            let (ip, port) = address(n, seed);
            out.push_str("*4\r\n");
            bulk(&mut out, &ip);
            write!(out, ":{port}\r\n").unwrap();
            bulk(&mut out, &format!("{n:040x}"));
            record(&mut out, 1, protocol);
            bulk(&mut out, "hostname");
            bulk(&mut out, &format!("node-{n}.redis.example.internal"));
        }
    }
    Bytes::from(out)
}

/// The real `COMMAND` reply of Redis 7.0 (240 entries), its entries repeated to make `bytes`
/// or more. The names repeat, so the table built stays 240 commands: what is measured is the
/// reading of the reply, not the size of the table.
fn command_reply(bytes: usize, protocol: Protocol) -> Bytes {
    let fixture: &[u8] = match protocol {
        Protocol::Resp2 => include_bytes!("../src/routing/fixtures/command-7.0.15.resp2"),
        _ => include_bytes!("../src/routing/fixtures/command-7.0.15.resp3"),
    };
    let header_end = fixture.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let count: usize = std::str::from_utf8(&fixture[1..header_end - 2])
        .unwrap()
        .parse()
        .unwrap();
    let entries = &fixture[header_end..];
    let repeats = bytes.div_ceil(entries.len());
    let mut out = format!("*{}\r\n", count * repeats).into_bytes();
    for _ in 0..repeats {
        out.extend_from_slice(entries);
    }
    Bytes::from(out)
}

/// What the fake node answers, set once its port is known.
#[derive(Default)]
struct Replies {
    shards: Option<Bytes>,
    slots: Option<Bytes>,
    command: Option<Bytes>,
}

/// A node that answers `CLUSTER SHARDS`, `CLUSTER SLOTS` and `COMMAND` with what `replies`
/// will hold (an error for what it does not), and refuses `COMMAND LIST`, as a server before 7
/// does, so a `COMMAND` reply is read whole.
async fn fake_node(replies: Arc<OnceLock<Replies>>) -> FakeNode {
    FakeNode::start(greeting_then(move |args| {
        let words: Vec<String> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let replies = replies.get();
        let reply =
            |pick: fn(&Replies) -> &Option<Bytes>| match replies.and_then(|r| pick(r).clone()) {
                Some(bytes) => Action::ReplyShared(bytes),
                None => Action::Reply(b"-ERR unknown subcommand\r\n".to_vec()),
            };
        match words.as_slice() {
            ["CLUSTER", "SHARDS"] => reply(|r| &r.shards),
            ["CLUSTER", "SLOTS"] => reply(|r| &r.slots),
            ["CLUSTER", "INFO"] => {
                let mut info = String::new();
                bulk(&mut info, "cluster_state:ok\r\ncluster_current_epoch:1");
                Action::Reply(info.into_bytes())
            }
            ["COMMAND"] => reply(|r| &r.command),
            _ => Action::Reply(b"-ERR unknown command\r\n".to_vec()),
        }
    }))
    .await
}

/// Starts a fake node answering with what `make(its port)` returns.
async fn node_answering(make: impl FnOnce(u16) -> Replies) -> FakeNode {
    let replies = Arc::new(OnceLock::new());
    let node = fake_node(Arc::clone(&replies)).await;
    let _ = replies.set(make(node.port));
    node
}

async fn large_shards_reply(protocol: Protocol) {
    let _turn = SERIAL.lock().await;
    // 8,192 shards of 8 nodes, each node's record as long as a real one's: some 14 MiB.
    let (shards, replicas) = (8192, 7);
    let mut wire = 0;
    let node = node_answering(|port| {
        let reply = shards_reply(shards, replicas, protocol, port);
        wire = reply.len();
        Replies {
            shards: Some(reply),
            ..Replies::default()
        }
    })
    .await;
    let what = format!("CLUSTER SHARDS ({protocol:?})");
    let (cluster, built) = measure(build(&node, protocol)).await;
    assert_eq!(
        cluster.get_primaries().len(),
        shards,
        "every shard's primary"
    );
    assert_eq!(
        cluster.get_replicas().len(),
        shards * replicas,
        "every replica"
    );
    // What the client keeps of 65,536 nodes (a connection each, not yet open) is several times
    // the reply, however it is read; so the reading alone is measured on a refresh, with those
    // already there.
    report(&format!("{what}, build"), wire, &built);
    let (refreshed, measured) = measure(cluster.refresh_topology()).await;
    refreshed.unwrap();
    check(&format!("{what}, refresh"), wire, &measured);
}

#[tokio::test]
async fn a_large_cluster_shards_reply_is_read_within_a_small_multiple_of_its_size_resp3() {
    large_shards_reply(Protocol::Resp3).await;
}

#[tokio::test]
async fn a_large_cluster_shards_reply_is_read_within_a_small_multiple_of_its_size_resp2() {
    large_shards_reply(Protocol::Resp2).await;
}

async fn large_slots_reply(protocol: Protocol) {
    let _turn = SERIAL.lock().await;
    let shards = 128;
    let mut wire = 0;
    let node = node_answering(|port| {
        let reply = fragmented_slots_reply(shards, protocol, port);
        wire = reply.len();
        Replies {
            slots: Some(reply),
            ..Replies::default()
        }
    })
    .await;
    let (cluster, measured) = measure(build(&node, protocol)).await;
    assert_eq!(
        cluster.get_primaries().len(),
        shards,
        "every shard's primary"
    );
    assert_eq!(cluster.get_replicas().len(), shards * 7, "every replica");
    let seed = cluster
        .get_primaries()
        .into_iter()
        .find(|n| n.port() == node.port);
    assert_eq!(cluster.slot_ranges(&seed.unwrap()).len(), 16384 / shards);
    check(&format!("CLUSTER SLOTS ({protocol:?})"), wire, &measured);
}

#[tokio::test]
async fn a_large_cluster_slots_reply_is_read_within_a_small_multiple_of_its_size_resp3() {
    large_slots_reply(Protocol::Resp3).await;
}

#[tokio::test]
async fn a_large_cluster_slots_reply_is_read_within_a_small_multiple_of_its_size_resp2() {
    large_slots_reply(Protocol::Resp2).await;
}

async fn large_command_reply(protocol: Protocol) {
    let _turn = SERIAL.lock().await;
    let command = command_reply(16 << 20, protocol);
    let wire = command.len();
    let node = node_answering(|port| Replies {
        shards: Some(shards_reply(1, 0, protocol, port)),
        command: Some(command),
        ..Replies::default()
    })
    .await;
    let (cluster, measured) = measure(build(&node, protocol)).await;
    // The table is the server's: the built-in one does not know LCS, whose two keys here are
    // in different slots.
    let err = cluster.cmd("LCS").arg("a").arg("b").await.unwrap_err();
    assert!(err.is_cross_slot(), "LCS is in the table read: {err}");
    check(&format!("COMMAND ({protocol:?})"), wire, &measured);
}

#[tokio::test]
async fn a_large_command_reply_is_read_within_a_small_multiple_of_its_size_resp3() {
    large_command_reply(Protocol::Resp3).await;
}

#[tokio::test]
async fn a_large_command_reply_is_read_within_a_small_multiple_of_its_size_resp2() {
    large_command_reply(Protocol::Resp2).await;
}
