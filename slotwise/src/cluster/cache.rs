//! Client-side caching: replies of reads kept in memory and served without a round trip, each
//! dropped when the node it was read from says its key changed.
//!
//! Opt-in with [`ClusterBuilder::client_side_cache`](super::ClusterBuilder::client_side_cache).
//! Every node connection then turns `CLIENT TRACKING ON` in its handshake (the default
//! mode: the node remembers the keys read through that connection and sends an `invalidate`
//! push there when one changes; a replica does so when replication changes the key). Only
//! the reads of [`commands::cached_key`]'s allow-list are cached, whether they go to a primary
//! or, from a handle reading from replicas, to a replica (a target, a pipeline or a
//! `no_cache()` handle bypasses the cache), and only successful replies.
//!
//! # What is kept
//!
//! One entry per key: the replies of the cached commands read on it (the cache key is the
//! whole command, name and arguments), the node connection they were read through, and that
//! connection's epoch then. Invalidating a key drops its entry, so every command's reply on it
//! at once. The store is a [`quick_cache`] cache bounded by entries and bytes together (see
//! `Weigh`); a reply's bytes are an estimate of its size in memory.
//!
//! # Why a cached reply is never older than the node's own invalidation
//!
//! Each node connection has a [`NodeTracker`]: an *invalidation sequence* bumped by every key
//! an invalidation read on its sockets names, every invalidation of everything, every socket
//! closed, and every slot the node lost; and an *epoch* bumped by all of those but
//! invalidations of single keys. The tracker remembers what its last [`RECENT`] sequence
//! numbers named (a key's hash, or everything). A read takes a [`Ticket`] (the sequence
//! number) before it is sent, and its reply is stored only if no sequence number since then
//! named its key or everything, and no more than [`RECENT`] came, checked and stored under
//! the tracker's lock, which every invalidation also takes. Replies and pushes come in
//! the order the node sent them on one socket, and the reader hands an invalidation to the
//! tracker before it hands over any reply read after it, so:
//!
//! - an invalidation of the key read after the read was sent (the race: the key changed while
//!   the reply was on its way, or just after) bumps the sequence before the reply is stored, and
//!   the reply is returned but not stored;
//! - an invalidation read after the reply was stored removes it;
//! - a socket lost, or a node flushing its tracking table, bumps the epoch before the callers
//!   hear of the failure, and a lookup serves an entry only while its connection's epoch is the
//!   one it was stored with: nothing read through the lost socket is served after it;
//! - a topology that moves a slot away from a node (an installed refresh, a `MOVED`) bumps that
//!   node's epoch, so its entries are dropped (the migration itself deletes the keys on the old
//!   owner, which invalidates them too).
//!
//! The scheme errs one way only: a key sharing its hash with one invalidated, or a read in
//! flight across more than [`RECENT`] invalidations, keeps a reply out that might have been
//! stored; it is cached on a later read.
//!
//! # What it does not guarantee
//!
//! Across clients the cache is eventually consistent, as Redis's tracking is: after another
//! client's write is acknowledged, this client may serve the old value until the node's
//! invalidation reaches it (usually well under a millisecond on a local network, unbounded
//! while the network delays it). Its own writes go to the same connection as its reads, and
//! each write drops its keys' entries once its reply is back, whenever the node's own
//! invalidation of it comes (before the reply or after, by server version), so a client reads
//! its own writes; a handle reading from primaries is never served what a replica gave.
//! Replica reads are as fresh as replica reads without a cache: a replica invalidates a key
//! when replication brings it the change, so a cached replica read lags the primary by what
//! the replica itself lags, no more.

mod commands;
pub(crate) mod striped;
mod tracker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::snapshot::Snapshot;
use crate::protocol::{Cmd, Value};
use crate::routing::CommandInfo;
pub(crate) use commands::cached_key;
use tracker::key_hash;
#[cfg(test)]
use tracker::RECENT;
pub(crate) use tracker::{NodeCounts, NodeTracker, Ticket};

/// The bounds of the client-side cache (see
/// [`ClusterBuilder::client_side_cache`](super::ClusterBuilder::client_side_cache)).
///
/// ```
/// use std::time::Duration;
/// use slotwise::CacheConfig;
///
/// let config = CacheConfig::new()
///     .max_entries(100_000)
///     .max_bytes(256 * 1024 * 1024)
///     .ttl(Duration::from_secs(60));
/// assert_eq!(config.get_max_entries(), 100_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "settings take effect only when passed to `ClusterBuilder::client_side_cache`"]
pub struct CacheConfig {
    max_entries: u64,
    max_bytes: u64,
    ttl: Option<Duration>,
}

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig::new()
    }
}

impl CacheConfig {
    /// The default bounds: 10,000 keys, 64 MiB, no TTL.
    pub fn new() -> CacheConfig {
        CacheConfig {
            max_entries: 10_000,
            max_bytes: 64 * 1024 * 1024,
            ttl: None,
        }
    }

    /// The most keys kept (each with the replies of every cached command read on it); the
    /// least recently useful go first. At least 1, at most 2^30. Default is 10,000.
    pub fn max_entries(mut self, entries: u64) -> CacheConfig {
        self.max_entries = entries.max(1);
        self
    }

    /// The most bytes of replies kept, as estimated in memory. A reply larger than a shard of
    /// the cache (about this over the number of CPUs, rounded to a power of two) is not kept.
    /// At least 1 KiB. Default is 64 MiB.
    pub fn max_bytes(mut self, bytes: u64) -> CacheConfig {
        self.max_bytes = bytes.max(1024);
        self
    }

    /// How long a reply may be served from memory at most, however long the node keeps
    /// quiet: a bound on the damage of an invalidation that never comes (a network that drops
    /// it while the connection stays up). Default is none: entries stay until invalidated or
    /// evicted.
    pub fn ttl(mut self, ttl: Duration) -> CacheConfig {
        self.ttl = Some(ttl);
        self
    }

    /// The most keys kept.
    pub fn get_max_entries(&self) -> u64 {
        self.max_entries
    }

    /// The most bytes kept.
    pub fn get_max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The longest a reply is served, if bounded.
    pub fn get_ttl(&self) -> Option<Duration> {
        self.ttl
    }
}

/// What the client-side cache did, in [`Stats::cache`](crate::Stats::cache). All zero when
/// the cache is off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads served from memory.
    pub hits: u64,
    /// Cacheable reads that went to the node (no entry, a stale one, or another command's).
    pub misses: u64,
    /// Keys the nodes invalidated, plus one for each invalidation of everything read through
    /// a connection (a node's flush, a lost socket, slots moved away).
    pub invalidations: u64,
    /// Entries dropped to stay within the bounds.
    pub evictions: u64,
    /// Keys held now.
    pub entries: u64,
    /// Estimated bytes of the replies held now.
    pub bytes: u64,
}

/// The client-side cache: the store and its counters. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Cache {
    store: Arc<Store>,
}

/// Keys are hashed with quick_cache's seeded fast hasher (foldhash) rather than SipHash: every
/// lookup hashes its key.
type Map = quick_cache::sync::Cache<
    Bytes,
    Arc<KeyEntry>,
    Weigh,
    quick_cache::DefaultHashBuilder,
    Evictions,
>;

#[derive(Debug)]
struct Store {
    map: Map,
    ttl: Option<Duration>,
    hits: striped::Striped,
    misses: striped::Striped,
    invalidations: AtomicU64,
    evictions: Arc<AtomicU64>,
    /// The bytes of every entry alive, added as it is made and taken off as it is dropped.
    bytes: Arc<AtomicU64>,
}

/// One key's cached replies, all read through one connection in one epoch of it.
#[derive(Debug)]
struct KeyEntry {
    node: Arc<NodeTracker>,
    epoch: u64,
    replies: Vec<CachedReply>,
    bytes: u64,
    gauge: Arc<AtomicU64>,
}

#[derive(Debug)]
struct CachedReply {
    /// The command, as [`Cmd::encoded_args`].
    command: Box<[u8]>,
    value: Value,
    stored: Instant,
}

impl Drop for KeyEntry {
    fn drop(&mut self) {
        self.gauge.fetch_sub(self.bytes, Ordering::Relaxed);
        let counts = &self.node.counts;
        counts.bytes.fetch_sub(self.bytes, Ordering::Relaxed);
        counts.entries.fetch_sub(1, Ordering::Relaxed);
    }
}

/// More replies than this on one key (different ranges of a list, say) start its entry afresh.
const MAX_REPLIES_PER_KEY: usize = 16;

/// Weighs an entry so that one capacity bounds both entries and bytes: with capacity
/// `entries × bytes`, an entry weighs `max(size × entries, bytes)`. The weights within
/// capacity then mean at most `entries` entries (each weighs at least `bytes`) and at most
/// `bytes` bytes (each weighs at least its size × `entries`).
///
/// Sizes are counted in units of `unit` bytes, so that `bytes` stays below 2^24 units and,
/// with `entries` below 2^30, the capacity below 2^54: the store's sum of weights must not
/// overflow. An entry weighs at most one more than the capacity (it is refused either way).
#[derive(Clone, Debug)]
struct Weigh {
    entries: u64,
    /// `max_bytes`, in units.
    bytes: u64,
    unit: u64,
}

impl Weigh {
    fn new(config: &CacheConfig) -> Weigh {
        let unit = (config.max_bytes >> 24).max(1);
        Weigh {
            entries: config.max_entries.min(1 << 30),
            bytes: config.max_bytes / unit,
            unit,
        }
    }

    fn capacity(&self) -> u64 {
        self.entries * self.bytes
    }
}

impl quick_cache::Weighter<Bytes, Arc<KeyEntry>> for Weigh {
    fn weight(&self, _key: &Bytes, entry: &Arc<KeyEntry>) -> u64 {
        let units = entry.bytes.div_ceil(self.unit);
        units
            .saturating_mul(self.entries)
            .max(self.bytes)
            .min(self.capacity() + 1)
    }
}

/// Counts evictions.
#[derive(Clone, Debug, Default)]
struct Evictions(Arc<AtomicU64>);

impl quick_cache::Lifecycle<Bytes, Arc<KeyEntry>> for Evictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: Bytes, entry: Arc<KeyEntry>) {
        self.0.fetch_add(1, Ordering::Relaxed);
        entry.node.counts.evictions.fetch_add(1, Ordering::Relaxed);
    }
}

impl Cache {
    pub(crate) fn new(config: &CacheConfig) -> Cache {
        let weigh = Weigh::new(config);
        let evictions = Evictions::default();
        let counted = Arc::clone(&evictions.0);
        let items = usize::try_from(weigh.entries).unwrap_or(usize::MAX);
        let map = Map::with(
            items,
            weigh.capacity(),
            weigh,
            quick_cache::DefaultHashBuilder::default(),
            evictions,
        );
        Cache {
            store: Arc::new(Store {
                map,
                ttl: config.ttl,
                hits: striped::Striped::default(),
                misses: striped::Striped::default(),
                invalidations: AtomicU64::new(0),
                evictions: counted,
                bytes: Arc::new(AtomicU64::new(0)),
            }),
        }
    }

    /// A tracker for a new node connection (a replica's if `replica`), counting into
    /// `counts`, its node's.
    pub(crate) fn tracker(&self, counts: Arc<NodeCounts>, replica: bool) -> Arc<NodeTracker> {
        Arc::new(NodeTracker::new(
            Arc::downgrade(&self.store),
            counts,
            replica,
        ))
    }

    /// The cached reply to `cmd` on `key`, if one may be served: to a handle reading from
    /// primaries only a reply a primary gave (a replica's may lag a write this client made),
    /// to one reading from replicas (`replicas`) either.
    pub(crate) fn lookup(&self, key: &[u8], cmd: &Cmd, replicas: bool) -> Option<Value> {
        let store = &self.store;
        let found = store.map.get(key).and_then(|entry| {
            if entry.epoch != entry.node.epoch.load(Ordering::Acquire) {
                return None;
            }
            if entry.node.replica && !replicas {
                return None;
            }
            let command = cmd.encoded_args();
            let reply = entry.replies.iter().find(|r| *r.command == *command)?;
            if store.ttl.is_some_and(|ttl| reply.stored.elapsed() >= ttl) {
                return None;
            }
            entry.node.counts.hits.incr();
            Some(reply.value.clone())
        });
        let counter = if found.is_some() {
            &store.hits
        } else {
            &store.misses
        };
        counter.incr();
        found
    }

    /// Stores `value`, the reply to `cmd` on `key` read through `node` with `ticket`, unless
    /// an invalidation of `key` (or of everything) came through `node` since the ticket was
    /// taken, or more than [`RECENT`] of any keys. The value is copied: a decoded reply shares
    /// the socket's read buffer, which an entry must not keep alive.
    pub(crate) fn store(
        &self,
        node: &Arc<NodeTracker>,
        ticket: Ticket,
        key: &[u8],
        cmd: &Cmd,
        value: &Value,
    ) {
        if matches!(value, Value::Error(_) | Value::Push(_)) {
            return;
        }
        let store = &self.store;
        let recent = node.lock();
        let now = node.sequence.load(Ordering::Acquire);
        if now != ticket.0 && recent.names(ticket.0, now, key_hash(key)) {
            return;
        }
        let epoch = node.epoch.load(Ordering::Acquire);
        let command: Box<[u8]> = cmd.encoded_args().into();
        let mut replies = Vec::new();
        if let Some(current) = store.map.get(key) {
            let same_source = Arc::ptr_eq(&current.node, node) && current.epoch == epoch;
            if same_source && current.replies.len() < MAX_REPLIES_PER_KEY {
                replies.extend(
                    current
                        .replies
                        .iter()
                        .filter(|r| r.command != command)
                        .map(|r| CachedReply {
                            command: r.command.clone(),
                            value: r.value.clone(),
                            stored: r.stored,
                        }),
                );
            }
        }
        replies.push(CachedReply {
            command,
            value: detached(value),
            stored: Instant::now(),
        });
        let bytes = (key.len()
            + replies
                .iter()
                .map(|r| r.command.len() + value_size(&r.value) + 48)
                .sum::<usize>()) as u64;
        store.bytes.fetch_add(bytes, Ordering::Relaxed);
        node.counts.bytes.fetch_add(bytes, Ordering::Relaxed);
        node.counts.entries.fetch_add(1, Ordering::Relaxed);
        let entry = KeyEntry {
            node: Arc::clone(node),
            epoch,
            replies,
            bytes,
            gauge: Arc::clone(&store.bytes),
        };
        // Taken out first: the store tells a replaced entry as an eviction.
        store.map.remove(key);
        store
            .map
            .insert(Bytes::copy_from_slice(key), Arc::new(entry));
    }

    /// Drops the cached replies on the keys `cmd` (a write, whatever its outcome) names, as
    /// soon as its reply is back: a server may send its own invalidation for this
    /// connection's write only after the write's reply, and a read right after must see the
    /// write. Each key counts as an invalidation of every connection of its slot's shard, so
    /// a read of it in flight (on the primary or on a replica) is not stored either: those
    /// are told first, and the entry removed after, so no such read can store it between.
    pub(crate) fn forget_written(
        &self,
        snapshot: &Snapshot,
        cmd: &Cmd,
        info: Option<&CommandInfo>,
    ) {
        let Some(info) = info else {
            return;
        };
        info.for_each_key(cmd, |_, key| {
            let slot = crate::topology::keyslot(key);
            let shard = snapshot
                .map
                .shard_of(slot)
                .and_then(|i| snapshot.shards.get(i));
            let hash = key_hash(key);
            for entry in shard.into_iter().flat_map(|s| s.all()) {
                if let Some(tracker) = &entry.tracker {
                    tracker.written(hash);
                }
            }
            self.store.map.remove(key);
        });
    }

    /// Drops what was read through the nodes of `old` that no longer serve a slot they served:
    /// a primary that lost slots, a replica whose shard lost slots or that left its shard.
    pub(crate) fn drop_moved(&self, old: &Snapshot, new: &Snapshot) {
        let mut lost: Vec<&Arc<NodeTracker>> = Vec::new();
        // Slots come in ranges: a pair of shards is compared once per range.
        let mut compared = None;
        for slot in 0..crate::slot_count::SLOT_COUNT {
            let pair = (old.map.shard_of(slot), new.map.shard_of(slot));
            if compared == Some(pair) {
                continue;
            }
            compared = Some(pair);
            let Some(before) = pair.0.and_then(|i| old.shards.get(i)) else {
                continue;
            };
            let after = pair.1.and_then(|i| new.shards.get(i));
            for entry in before.all() {
                let Some(tracker) = &entry.tracker else {
                    continue;
                };
                let stays = after.is_some_and(|s| {
                    s.all()
                        .any(|e| e.tracker.as_ref().is_some_and(|t| Arc::ptr_eq(t, tracker)))
                });
                if !stays && !lost.iter().any(|t| Arc::ptr_eq(t, tracker)) {
                    lost.push(tracker);
                }
            }
        }
        for tracker in lost {
            tracker.flush();
        }
    }

    /// The counters and sizes now.
    pub(crate) fn stats(&self) -> CacheStats {
        let store = &self.store;
        CacheStats {
            hits: store.hits.get(),
            misses: store.misses.get(),
            invalidations: store.invalidations.load(Ordering::Relaxed),
            evictions: store.evictions.load(Ordering::Relaxed),
            entries: store.map.len() as u64,
            bytes: store.bytes.load(Ordering::Relaxed),
        }
    }
}

/// `value` with bytes of its own, sharing no buffer.
fn detached(value: &Value) -> Value {
    let copy = |b: &Bytes| Bytes::copy_from_slice(b);
    let pairs = |pairs: &[(Value, Value)]| {
        pairs
            .iter()
            .map(|(k, v)| (detached(k), detached(v)))
            .collect()
    };
    match value {
        Value::SimpleString(b) => Value::SimpleString(copy(b)),
        Value::Bulk(b) => Value::Bulk(copy(b)),
        Value::BigNumber(b) => Value::BigNumber(copy(b)),
        Value::Verbatim { format, text } => Value::Verbatim {
            format: *format,
            text: copy(text),
        },
        Value::Array(items) => Value::Array(items.iter().map(detached).collect()),
        Value::Set(items) => Value::Set(items.iter().map(detached).collect()),
        Value::Push(items) => Value::Push(items.iter().map(detached).collect()),
        Value::Map(items) => Value::Map(pairs(items)),
        Value::Attribute { attributes, value } => Value::Attribute {
            attributes: pairs(attributes),
            value: Box::new(detached(value)),
        },
        Value::Error(_) | Value::Nil | Value::Int(_) | Value::Double(_) | Value::Boolean(_) => {
            value.clone()
        }
    }
}

/// About what `value` takes in memory.
fn value_size(value: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    NODE + match value {
        Value::SimpleString(b) | Value::Bulk(b) | Value::BigNumber(b) => b.len(),
        Value::Verbatim { text, .. } => text.len(),
        Value::Error(e) => e.message().len(),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.iter().map(value_size).sum()
        }
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| value_size(k) + value_size(v))
            .sum(),
        Value::Attribute { attributes, value } => {
            value_size(value)
                + attributes
                    .iter()
                    .map(|(k, v)| value_size(k) + value_size(v))
                    .sum::<usize>()
        }
        Value::Nil | Value::Int(_) | Value::Double(_) | Value::Boolean(_) => 0,
    }
}

#[cfg(test)]
mod tests;
