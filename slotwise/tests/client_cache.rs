//! The client-side cache against a real cluster, with a second, independent client writing:
//! another client's write shows once its invalidation arrived and never flips back; a client
//! reads its own writes; a hit does not reach the server (its `INFO commandstats`); a
//! connection killed from outside drops what was read through it; a migrated slot's keys are
//! read from their new owner; replica reads are cached and invalidated by the replica, with
//! each node's share in `Stats::cache_nodes`; `no_cache()` bypasses it; RESP2 with a cache is
//! refused; a read's future outlives its handles; and
//! sixteen readers racing a writer never read a value older than one they already saw (the
//! race between a read's reply and an invalidation: without the ticket check it fails).
//!
//! The tests share one cluster, each with keys of its own; they take turns (`TURN`) because
//! one counts the `GET`s a node served, which the others would add to.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use slotwise::commands::{HashCommands, StringCommands};
use slotwise::connection::Protocol;
use slotwise::{CacheConfig, ClusterNode, ErrorKind, RedisCluster};

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A client of the shared cluster with the cache on.
async fn caching_client() -> RedisCluster {
    let cluster = slotwise_testkit::shared();
    RedisCluster::builder()
        .url(&cluster.seed_url())
        .client_side_cache(CacheConfig::new().max_entries(10_000))
        .build()
        .await
        .unwrap()
}

/// A plain client of the shared cluster: the other writer.
async fn writer() -> RedisCluster {
    RedisCluster::from_url(&slotwise_testkit::shared().seed_url())
        .await
        .unwrap()
}

/// Reads `key` through `client` until it is `want`, within a generous deadline, then checks
/// that it stays so.
async fn until_it_reads(client: &RedisCluster, key: &str, want: &str) {
    let deadline = Instant::now() + common::SLACK;
    loop {
        let got: Option<String> = client.get(key).await.unwrap();
        if got.as_deref() == Some(want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{key} still reads {got:?}, not {want:?}: {:?}",
            client.stats().cache
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..200 {
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some(want), "{key} flipped back");
    }
}

/// `rounds` writes of `key` through `writer`, each read back through `reader` until it shows
/// and then checked to stay (`until_it_reads`).
async fn each_write_shows(writer: &RedisCluster, reader: &RedisCluster, key: &str, rounds: u32) {
    for round in 0..rounds {
        let value = format!("new-{round}");
        writer.set(key, &value).await.unwrap();
        until_it_reads(reader, key, &value).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_s_write_shows_once_its_invalidation_arrived() {
    let _turn = TURN.lock().await;
    let (client, writer) = (caching_client().await, writer().await);
    let key = "csc-other:k";
    writer.set(key, "old").await.unwrap();
    for _ in 0..3 {
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("old"));
    }
    let before = client.stats().cache;
    assert!(before.hits >= 2, "read again from memory: {before:?}");
    assert!(before.entries >= 1, "{before:?}");

    each_write_shows(&writer, &client, key, 20).await;
    let after = client.stats().cache;
    assert!(
        after.invalidations >= 20,
        "each write was invalidated: {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reads_its_own_writes() {
    let _turn = TURN.lock().await;
    let client = caching_client().await;
    let (key, hash) = ("csc-own:k", "csc-own:h");
    for i in 0..1_000 {
        client.set(key, i).await.unwrap();
        let got: Option<i64> = client.get(key).await.unwrap();
        assert_eq!(got, Some(i), "GET after own SET {i}");
        // Read again: it may come from memory, and is still the write's value.
        let again: Option<i64> = client.get(key).await.unwrap();
        assert_eq!(again, Some(i), "second GET after own SET {i}");
        if i % 10 == 0 {
            client.hset(hash, &[("f", i)][..]).await.unwrap();
            let field: Option<i64> = client.hget(hash, "f").await.unwrap();
            assert_eq!(field, Some(i), "HGET after own HSET {i}");
        }
    }
    let stats = client.stats().cache;
    assert!(
        stats.hits >= 500,
        "second reads came from memory: {stats:?}"
    );

    // A write through a node client is read back at once too.
    let node = client.get_node_from_key(key, false).unwrap();
    let direct = client.node_client(&node).unwrap();
    for i in 0..100 {
        let _: Option<String> = client.get(key).await.unwrap();
        direct.set(key, format!("direct-{i}")).await.unwrap();
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(
            got,
            Some(format!("direct-{i}")),
            "GET after a node client's SET"
        );
    }
}

/// A command future looks the cache up when first polled, not when made: a write awaited in
/// between is what it reads. And a task reading only hits still lets the others on its thread
/// run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_read_is_looked_up_when_awaited_and_hits_yield() {
    let _turn = TURN.lock().await;
    let client = caching_client().await;
    let key = "csc-lazy:k";
    client.set(key, "old").await.unwrap();
    let _: Option<String> = client.get(key).await.unwrap();
    let _: Option<String> = client.get(key).await.unwrap();
    let hits = client.stats().cache.hits;
    assert!(hits >= 1, "the second read was a hit");
    let made = client.get::<String>(key);
    client.set(key, "new").await.unwrap();
    assert_eq!(made.await.unwrap().as_deref(), Some("new"));

    // One thread: a task spinning on hits must give it up for the other task to finish.
    let spinner = client.clone();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::clone(&flag);
    let rounds = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let other = tokio::spawn(async move {
                seen.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            let mut rounds = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let _: Option<String> = spinner.get(key).await.unwrap();
                rounds += 1;
                assert!(rounds < 10_000_000, "the other task never ran");
            }
            other.await.unwrap();
            rounds
        })
    })
    .await
    .unwrap();
    assert!(rounds >= 1);
}

/// A read's future holds its client as a handle would (through the lane of the thread that
/// made it): made on many threads, awaited after every handle is gone, hits and misses alike
/// complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_outlive_their_handles() {
    let _turn = TURN.lock().await;
    let client = caching_client().await;
    let keys: Vec<String> = (0..8).map(|i| format!("csc-outlive:{i}")).collect();
    for key in &keys {
        client.set(key.as_str(), key.as_str()).await.unwrap();
    }
    // Half the keys read once, so their next read is a hit; the rest miss.
    for key in &keys[..4] {
        let _: Option<String> = client.get(key.as_str()).await.unwrap();
    }
    let futures: Vec<_> = std::thread::scope(|scope| {
        let made: Vec<_> = (0..keys.len())
            .map(|i| {
                let (client, key) = (client.clone(), keys[i].clone());
                scope.spawn(move || (key.clone(), client.get::<String>(key)))
            })
            .collect();
        made.into_iter().map(|t| t.join().unwrap()).collect()
    });
    drop(client);
    for (key, future) in futures {
        assert_eq!(future.await.unwrap(), Some(key));
    }
}

/// `GET`s the node at `port` has served, from its own `INFO commandstats`.
fn gets_served(port: u16) -> u64 {
    common::stats::get_calls(slotwise_testkit::shared(), &[port])
        .get(&port)
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_does_not_reach_the_server() {
    let _turn = TURN.lock().await;
    let (client, writer) = (caching_client().await, writer().await);
    let key = "csc-hit:k";
    writer.set(key, "v").await.unwrap();
    let port = client.get_node_from_key(key, false).unwrap().port();
    let first: Option<String> = client.get(key).await.unwrap();
    assert_eq!(first.as_deref(), Some("v"));
    let (served, hits) = (gets_served(port), client.stats().cache.hits);
    for _ in 0..100 {
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("v"));
    }
    assert_eq!(gets_served(port), served, "a cached GET reached the node");
    assert_eq!(client.stats().cache.hits, hits + 100);

    // A bypassing handle goes to the node every time, and does not count as a hit.
    writer.set(key, "w").await.unwrap();
    let fresh: Option<String> = client.no_cache().get(key).await.unwrap();
    assert_eq!(fresh.as_deref(), Some("w"), "no_cache() read the node");
    for _ in 0..9 {
        let _: Option<String> = client.no_cache().get(key).await.unwrap();
    }
    assert_eq!(gets_served(port), served + 10, "every no_cache() GET");
    assert_eq!(client.stats().cache.hits, hits + 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_drops_what_was_read_through_it() {
    let _turn = TURN.lock().await;
    let (client, writer) = (caching_client().await, writer().await);
    let key = "csc-kill:k";
    writer.set(key, "before").await.unwrap();
    for _ in 0..2 {
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("before"));
    }
    assert!(client.stats().cache.hits >= 1);

    let node = client.get_node_from_key(key, false).unwrap();
    let conn = client.node_client(&node).unwrap().connection().clone();
    common::faults::kill_connection(&conn, node.port()).await;
    // Once the client knows the socket is gone (and so no invalidation can reach it) ...
    let deadline = Instant::now() + common::SLACK;
    while conn.is_connected() {
        assert!(Instant::now() < deadline, "the kill was never noticed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ... a write it cannot hear of is never hidden by what it read before.
    writer.set(key, "after").await.unwrap();
    let got: Option<String> = client.get(key).await.unwrap();
    assert_eq!(got.as_deref(), Some("after"), "a stale read after the kill");
    let again: Option<String> = client.get(key).await.unwrap();
    assert_eq!(again.as_deref(), Some("after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrated_slot_is_read_from_its_new_owner() {
    let _turn = TURN.lock().await;
    let (client, writer) = (caching_client().await, writer().await);
    let cluster = slotwise_testkit::shared();
    let key = "{csc-migrate}:k";
    writer.set(key, "before").await.unwrap();
    for _ in 0..2 {
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("before"));
    }
    let owner = client.get_node_from_key(key, false).unwrap();
    let target = cluster.other_primary(owner.port()).unwrap().port;
    let slot = RedisCluster::keyslot(key);
    tokio::task::spawn_blocking(move || {
        slotwise_testkit::shared()
            .migrate_slot(slot, target)
            .unwrap()
    })
    .await
    .unwrap();
    writer.set(key, "after").await.unwrap();
    // Once the client has the topology that moved the slot, nothing read through the old
    // owner is served.
    client.refresh_topology().await.unwrap();
    assert_eq!(
        client.get_node_from_key(key, false).unwrap(),
        ClusterNode::new(owner.host(), target)
    );
    let got: Option<String> = client.get(key).await.unwrap();
    assert_eq!(got.as_deref(), Some("after"), "served from the old owner");
    until_it_reads(&client, key, "after").await;
    assert!(client.stats().cache.hits >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp2_with_a_cache_is_refused_at_build() {
    let err = RedisCluster::builder()
        .url(&slotwise_testkit::shared().seed_url())
        .protocol(Protocol::Resp2)
        .client_side_cache(CacheConfig::new())
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("RESP3"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_never_go_back_in_time() {
    let _turn = TURN.lock().await;
    let (client, writer) = (caching_client().await, writer().await);
    let key = "csc-monotonic:k";
    const WRITES: i64 = 300;
    writer.set(key, 0).await.unwrap();
    let readers: Vec<_> = (0..16)
        .map(|task| {
            let client = client.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + common::SLACK * 4;
                let mut last = 0;
                let mut reads = 0u64;
                while last < WRITES {
                    let got: i64 = client.get(key).await.unwrap().unwrap();
                    assert!(
                        got >= last,
                        "reader {task} read {got} after {last}: a value older than one it saw"
                    );
                    last = got;
                    reads += 1;
                    assert!(Instant::now() < deadline, "reader {task} stuck at {last}");
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();
    for i in 1..=WRITES {
        writer.set(key, i).await.unwrap();
    }
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap();
    }
    let stats = client.stats().cache;
    assert!(stats.hits > 0, "{reads} reads, {stats:?}");
    assert!(stats.misses > 0, "{reads} reads, {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mget_nonatomic_reads_each_key_through_the_cache() {
    use slotwise::ClusterCommands;
    let _turn = TURN.lock().await;
    let (client, writer) = (caching_client().await, writer().await);
    let keys: Vec<String> = (0..20).map(|i| format!("csc-mget:{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        writer.set(key.as_str(), i).await.unwrap();
    }
    writer.hset("csc-mget:hash", &[("f", 1)][..]).await.unwrap();
    let mut asked: Vec<&str> = keys.iter().map(String::as_str).collect();
    asked.push("csc-mget:hash");
    asked.push("csc-mget:missing");
    let want: Vec<Option<i64>> = (0..20).map(Some).chain([None, None]).collect();
    let first: Vec<Option<i64>> = client.mget_nonatomic(&asked).await.unwrap();
    assert_eq!(
        first, want,
        "in key order, nil for a hash and a missing key"
    );
    let hits = client.stats().cache.hits;
    let again: Vec<Option<i64>> = client.mget_nonatomic(&asked).await.unwrap();
    assert_eq!(again, want);
    assert!(
        client.stats().cache.hits >= hits + 20,
        "the second MGET came from memory: {:?}",
        client.stats().cache
    );
    writer.set(keys[3].as_str(), 100).await.unwrap();
    let deadline = Instant::now() + common::SLACK;
    loop {
        let got: Vec<Option<i64>> = client.mget_nonatomic(&asked).await.unwrap();
        if got[3] == Some(100) {
            break;
        }
        assert_eq!(got[3], Some(3));
        assert!(Instant::now() < deadline, "the write never showed: {got:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_reads_are_cached_and_invalidated_by_the_replica() {
    let _turn = TURN.lock().await;
    let (client, writer) = (caching_client().await, writer().await);
    let replicas = client.readonly();
    let key = "csc-replica:k";
    writer.set(key, "old").await.unwrap();
    let replica = client.get_node_from_key(key, true).unwrap();
    assert!(!replica.is_primary(), "the shared cluster has replicas");
    // A replica may lag its primary: read until it has the write, then from memory.
    until_it_reads(&replicas, key, "old").await;
    let served = gets_served(replica.port());
    for _ in 0..100 {
        let got: Option<String> = replicas.get(key).await.unwrap();
        assert_eq!(got.as_deref(), Some("old"));
    }
    assert_eq!(
        gets_served(replica.port()),
        served,
        "a cached replica read reached the replica"
    );
    let share = *client.stats().cache_node(replica.name()).unwrap();
    assert!(share.hits >= 100, "the replica's share: {share:?}");
    assert!(share.entries >= 1, "{share:?}");

    // The write reaches the replica by replication; the replica's own invalidation drops
    // the entry.
    each_write_shows(&writer, &replicas, key, 10).await;
    let share = *client.stats().cache_node(replica.name()).unwrap();
    assert!(share.invalidations >= 10, "{share:?}");
    // The primary served none of these reads, so holds no entry of them.
    let primary = client.get_node_from_key(key, false).unwrap();
    let primary_share = client.stats().cache_node(primary.name()).copied();
    assert_eq!(primary_share.map_or(0, |s| s.hits), 0, "{primary_share:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reading_from_replicas_drops_its_entry_on_its_own_write() {
    let _turn = TURN.lock().await;
    let client = caching_client().await;
    let replicas = client.readonly();
    let key = "csc-replica-own:k";
    client.set(key, "v0").await.unwrap();
    until_it_reads(&replicas, key, "v0").await;
    // Each write shows through the replica once replication carried it there, and never
    // flips back: the entry read before it was dropped.
    each_write_shows(&client, &replicas, key, 49).await;
}
