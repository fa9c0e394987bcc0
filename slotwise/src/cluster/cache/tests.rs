use super::*;
use crate::cluster::node::Registry;
use crate::connection::tracking::Tracker;
use crate::connection::ConnectionConfig;
use crate::routing::CommandTable;
use crate::topology::test_replies::{node, shard, HOST};
use crate::topology::{ClusterView, NodeDesc};

fn bulk(s: &str) -> Value {
    Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn get(key: &str) -> Cmd {
    Cmd::new("GET").arg(key)
}

fn cache() -> Cache {
    Cache::new(&CacheConfig::new())
}

/// A cache, a registry whose entries track into it, and a command table: what snapshots are
/// built from.
fn with_registry() -> (Cache, Registry, Arc<CommandTable>) {
    let cache = cache();
    let registry = Registry::new(
        ConnectionConfig::new(HOST, 1),
        Default::default(),
        Some(cache.clone()),
    );
    (cache, registry, Arc::new(CommandTable::builtin()))
}

#[test]
fn a_reply_is_served_until_its_key_is_invalidated() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    let ticket = node.ticket();
    cache.store(&node, ticket, b"k", &get("k"), &bulk("v1"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), Some(bulk("v1")));
    node.invalidated(Some(&[bulk("k")]));
    assert_eq!(cache.lookup(b"k", &get("k"), false), None);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.invalidations), (1, 1, 1));
    assert_eq!(stats.entries, 0);
}

#[test]
fn a_reply_whose_key_was_invalidated_in_flight_is_not_stored() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    // Sent, then the key changed before the reply was handled.
    let ticket = node.ticket();
    node.invalidated(Some(&[bulk("k")]));
    cache.store(&node, ticket, b"k", &get("k"), &bulk("old"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), None);
    // The next read, sent after the invalidation, is stored.
    let ticket = node.ticket();
    cache.store(&node, ticket, b"k", &get("k"), &bulk("new"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), Some(bulk("new")));
}

#[test]
fn another_key_s_invalidation_in_flight_does_not_keep_a_reply_out() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    let ticket = node.ticket();
    node.invalidated(Some(&[bulk("other"), bulk("more")]));
    cache.store(&node, ticket, b"k", &get("k"), &bulk("v"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), Some(bulk("v")));
}

#[test]
fn a_read_in_flight_past_what_the_tracker_remembers_is_not_stored() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    let ticket = node.ticket();
    for i in 0..RECENT {
        node.invalidated(Some(&[bulk(&format!("other-{i}"))]));
    }
    // Every one of them is still remembered: none named k.
    cache.store(&node, ticket, b"k", &get("k"), &bulk("v"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), Some(bulk("v")));
    let ticket = node.ticket();
    for i in 0..=RECENT {
        node.invalidated(Some(&[bulk(&format!("again-{i}"))]));
    }
    // One more than it remembers: k's own might have been among the forgotten.
    cache.store(&node, ticket, b"j", &get("j"), &bulk("w"));
    assert_eq!(cache.lookup(b"j", &get("j"), false), None);
}

#[test]
fn a_flush_or_a_malformed_invalidation_in_flight_keeps_every_reply_out() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    let ticket = node.ticket();
    node.invalidated(Some(&[Value::Int(3)]));
    cache.store(&node, ticket, b"k", &get("k"), &bulk("v"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), None);
    let ticket = node.ticket();
    node.invalidated(None);
    cache.store(&node, ticket, b"k", &get("k"), &bulk("v"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), None);
}

#[test]
fn a_stored_reply_shares_no_buffer_and_a_replacement_is_no_eviction() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    let buffer = Bytes::from(vec![b'x'; 8192]);
    let value = Value::Array(vec![Value::Bulk(buffer.slice(0..4))]);
    cache.store(&node, node.ticket(), b"k", &get("k"), &value);
    cache.store(&node, node.ticket(), b"k", &get("k"), &value);
    let served = cache.lookup(b"k", &get("k"), false);
    assert_eq!(served.as_ref(), Some(&value));
    // The entry copied its four bytes rather than point into the buffer.
    let Some(Value::Array(items)) = served else {
        panic!("an array")
    };
    let Value::Bulk(bytes) = &items[0] else {
        panic!("a bulk string")
    };
    let range = buffer.as_ptr_range();
    assert!(!range.contains(&bytes.as_ptr()));
    assert_eq!(cache.stats().evictions, 0);
}

#[test]
fn another_connection_s_invalidation_does_not_keep_a_reply_out() {
    let cache = cache();
    let (a, b) = (
        cache.tracker(Default::default(), false),
        cache.tracker(Default::default(), false),
    );
    let ticket = a.ticket();
    b.invalidated(Some(&[bulk("other")]));
    cache.store(&a, ticket, b"k", &get("k"), &bulk("v"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), Some(bulk("v")));
}

#[test]
fn a_lost_socket_or_a_flush_drops_everything_read_through_it() {
    let cache = cache();
    let (a, b) = (
        cache.tracker(Default::default(), false),
        cache.tracker(Default::default(), false),
    );
    cache.store(&a, a.ticket(), b"x", &get("x"), &bulk("1"));
    cache.store(&b, b.ticket(), b"y", &get("y"), &bulk("2"));
    let in_flight = a.ticket();
    a.lost();
    assert_eq!(cache.lookup(b"x", &get("x"), false), None);
    assert_eq!(cache.lookup(b"y", &get("y"), false), Some(bulk("2")));
    // A reply read before the loss and handled after it is not stored.
    cache.store(&a, in_flight, b"x", &get("x"), &bulk("1"));
    assert_eq!(cache.lookup(b"x", &get("x"), false), None);
    b.invalidated(None);
    assert_eq!(cache.lookup(b"y", &get("y"), false), None);
    // What is read after the loss is cached again.
    cache.store(&a, a.ticket(), b"x", &get("x"), &bulk("3"));
    assert_eq!(cache.lookup(b"x", &get("x"), false), Some(bulk("3")));
}

#[test]
fn every_command_on_a_key_goes_with_its_invalidation() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    let hget = |f: &str| Cmd::new("HGET").arg("h").arg(f);
    cache.store(&node, node.ticket(), b"h", &hget("a"), &bulk("1"));
    cache.store(&node, node.ticket(), b"h", &hget("b"), &bulk("2"));
    assert_eq!(cache.lookup(b"h", &hget("a"), false), Some(bulk("1")));
    assert_eq!(cache.lookup(b"h", &hget("b"), false), Some(bulk("2")));
    assert_eq!(cache.lookup(b"h", &hget("c"), false), None);
    assert_eq!(cache.stats().entries, 1);
    node.invalidated(Some(&[bulk("h")]));
    assert_eq!(cache.lookup(b"h", &hget("a"), false), None);
    assert_eq!(cache.lookup(b"h", &hget("b"), false), None);
}

#[test]
fn error_replies_are_not_stored() {
    let cache = cache();
    let node = cache.tracker(Default::default(), false);
    let err = Value::Error(crate::protocol::ServerError::new(Bytes::from_static(
        b"WRONGTYPE wrong kind",
    )));
    cache.store(&node, node.ticket(), b"k", &get("k"), &err);
    assert_eq!(cache.lookup(b"k", &get("k"), false), None);
}

#[test]
fn entries_and_bytes_stay_within_bounds() {
    let cache = Cache::new(&CacheConfig::new().max_entries(100).max_bytes(1 << 20));
    let node = cache.tracker(Default::default(), false);
    for i in 0..1_000 {
        let key = format!("k{i}");
        cache.store(&node, node.ticket(), key.as_bytes(), &get(&key), &bulk("v"));
    }
    let stats = cache.stats();
    assert!(stats.entries <= 100, "{stats:?}");
    assert!(stats.evictions >= 900, "{stats:?}");
    let cache = Cache::new(&CacheConfig::new().max_entries(1_000).max_bytes(64 * 1024));
    let node = cache.tracker(Default::default(), false);
    let big = bulk(&"x".repeat(1024));
    for i in 0..1_000 {
        let key = format!("k{i}");
        cache.store(&node, node.ticket(), key.as_bytes(), &get(&key), &big);
    }
    let stats = cache.stats();
    assert!(stats.bytes <= 64 * 1024, "{stats:?}");
    assert!(stats.entries > 0, "{stats:?}");
}

#[test]
fn the_largest_bounds_do_not_overflow_the_weights() {
    let cache = Cache::new(&CacheConfig::new().max_entries(u64::MAX).max_bytes(u64::MAX));
    let node = cache.tracker(Default::default(), false);
    let big = bulk(&"x".repeat(64 * 1024));
    for i in 0..100 {
        let key = format!("k{i}");
        cache.store(&node, node.ticket(), key.as_bytes(), &get(&key), &big);
    }
    assert_eq!(cache.stats().entries, 100);
    assert_eq!(cache.lookup(b"k7", &get("k7"), false), Some(big));
}

#[test]
fn a_ttl_bounds_how_long_a_reply_is_served() {
    let cache = Cache::new(&CacheConfig::new().ttl(Duration::ZERO));
    let node = cache.tracker(Default::default(), false);
    cache.store(&node, node.ticket(), b"k", &get("k"), &bulk("v"));
    assert_eq!(cache.lookup(b"k", &get("k"), false), None);
}

#[test]
fn a_node_that_lost_a_slot_has_what_was_read_through_it_dropped() {
    let (cache, registry, table) = with_registry();
    let view = ClusterView {
        shards: vec![
            shard(&[(0, 8191)], node("a", 7000), &[]),
            shard(&[(8192, 16383)], node("b", 7001), &[]),
        ],
    };
    let old = Snapshot::from_view(view, &registry, Arc::clone(&table), 1);
    let tracker = |i: usize| old.shards[i].primary.tracker.clone().unwrap();
    let (a, b) = (tracker(0), tracker(1));
    cache.store(&a, a.ticket(), b"x", &get("x"), &bulk("1"));
    cache.store(&b, b.ticket(), b"y", &get("y"), &bulk("2"));
    // Nothing moved: nothing dropped.
    let same = Snapshot::new(old.map.clone(), &registry, Arc::clone(&table), 2);
    cache.drop_moved(&old, &same);
    assert_eq!(cache.lookup(b"x", &get("x"), false), Some(bulk("1")));
    // One slot of a's goes to b: a's entries go, b's stay.
    let moved = Snapshot::new(old.map.with_slot_moved(5, HOST, 7001), &registry, table, 3);
    cache.drop_moved(&old, &moved);
    assert_eq!(cache.lookup(b"x", &get("x"), false), None);
    assert_eq!(cache.lookup(b"y", &get("y"), false), Some(bulk("2")));
}

#[test]
fn a_replica_that_left_its_shard_or_whose_shard_lost_a_slot_has_its_reads_dropped() {
    let (cache, registry, table) = with_registry();
    let view = |a_replicas: &[NodeDesc]| ClusterView {
        shards: vec![
            shard(&[(0, 8191)], node("a", 7000), a_replicas),
            shard(&[(8192, 16383)], node("b", 7001), &[node("b2", 7003)]),
        ],
    };
    let old = Snapshot::from_view(view(&[node("a2", 7002)]), &registry, Arc::clone(&table), 1);
    let replica = |s: &Snapshot, i: usize| s.shards[i].replicas[0].tracker.clone().unwrap();
    let (a2, b2) = (replica(&old, 0), replica(&old, 1));
    cache.store(&a2, a2.ticket(), b"x", &get("x"), &bulk("1"));
    cache.store(&b2, b2.ticket(), b"y", &get("y"), &bulk("2"));
    // a2 leaves a's shard: what was read through it goes; b2's stays.
    let without = Snapshot::from_view(view(&[]), &registry, Arc::clone(&table), 2);
    cache.drop_moved(&old, &without);
    assert_eq!(cache.lookup(b"x", &get("x"), true), None);
    assert_eq!(cache.lookup(b"y", &get("y"), true), Some(bulk("2")));
    // A handle reading from primaries is not served what a replica gave.
    assert_eq!(cache.lookup(b"y", &get("y"), false), None);
    // A slot of b's shard goes to a: b2's reads go too.
    let moved = Snapshot::new(
        without.map.with_slot_moved(9000, HOST, 7000),
        &registry,
        table,
        3,
    );
    cache.drop_moved(&without, &moved);
    assert_eq!(cache.lookup(b"y", &get("y"), true), None);
}

#[test]
fn each_node_counts_its_share() {
    let cache = Cache::new(&CacheConfig::new().max_entries(2));
    let (counts_a, counts_b) = (Arc::new(NodeCounts::default()), Arc::default());
    let a = cache.tracker(Arc::clone(&counts_a), false);
    let b = cache.tracker(Arc::clone(&counts_b), false);
    a.missed();
    cache.store(&a, a.ticket(), b"x", &get("x"), &bulk("1"));
    cache.store(&b, b.ticket(), b"y", &get("y"), &bulk("2"));
    assert!(cache.lookup(b"x", &get("x"), false).is_some());
    assert!(cache.lookup(b"x", &get("x"), false).is_some());
    assert!(cache.lookup(b"y", &get("y"), false).is_some());
    let (sa, sb) = (counts_a.read(), counts_b.read());
    assert_eq!((sa.hits, sa.misses, sa.entries), (2, 1, 1));
    assert_eq!((sb.hits, sb.misses, sb.entries), (1, 0, 1));
    assert!(sa.bytes > 0);
    // The nodes' entries and bytes add up to the store's.
    let total = cache.stats();
    assert_eq!(total.entries, sa.entries + sb.entries);
    assert_eq!(total.bytes, sa.bytes + counts_b.read().bytes);
    b.invalidated(Some(&[bulk("y")]));
    let sb = counts_b.read();
    assert_eq!((sb.invalidations, sb.entries, sb.bytes), (1, 0, 0));
    a.lost();
    assert_eq!(counts_a.read().invalidations, 1);
}
