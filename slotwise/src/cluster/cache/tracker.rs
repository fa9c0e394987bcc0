//! What a node connection's tracking tells the cache: each connection's [`NodeTracker`] (its
//! invalidation sequence, its epoch, what its last invalidations named) and each node's share
//! of the counts ([`NodeCounts`]). Why that keeps stale replies out is the parent module's
//! doc; this module does not store or look up replies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::{CacheStats, Store};
use crate::connection::tracking::Tracker;
use crate::protocol::Value;

/// One node's share of [`CacheStats`], kept by node name like its meter, so the counts of a
/// node read as a replica and then as a primary add up.
#[derive(Debug, Default)]
pub(crate) struct NodeCounts {
    pub(super) hits: super::striped::Striped,
    misses: AtomicU64,
    invalidations: AtomicU64,
    pub(super) evictions: AtomicU64,
    pub(super) entries: AtomicU64,
    pub(super) bytes: AtomicU64,
}

impl NodeCounts {
    /// A copy of the counts.
    pub(crate) fn read(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: self.hits.get(),
            misses: get(&self.misses),
            invalidations: get(&self.invalidations),
            evictions: get(&self.evictions),
            entries: get(&self.entries),
            bytes: get(&self.bytes),
        }
    }
}

/// What a node connection learns of the keys read through it; see the module doc.
#[derive(Debug)]
pub(crate) struct NodeTracker {
    store: Weak<Store>,
    /// The node's counts.
    pub(super) counts: Arc<NodeCounts>,
    /// True for a replica's connection: what it read may lag the primary.
    pub(super) replica: bool,
    /// Taken by every invalidation and by storing a reply: a reply is stored only while no
    /// invalidation of its key came since its read was sent. Holds what the last invalidations
    /// named.
    guard: Mutex<Recent>,
    /// Bumped by every key invalidated and every invalidation of everything, under `guard`.
    pub(super) sequence: AtomicU64,
    /// Bumped by every invalidation of everything, under `guard`.
    pub(super) epoch: AtomicU64,
}

/// How many invalidations a tracker remembers by key: a read in flight longer than this many
/// invalidations on its connection is not stored, whatever they named.
pub(super) const RECENT: usize = 64;

/// What the last [`RECENT`] invalidations of a connection named: the hash of the key that
/// sequence number `n` invalidated is at `n % RECENT`, or [`ALL`] for an invalidation of
/// everything. A hash shared by two keys only keeps a reply out that might have been stored.
#[derive(Debug)]
pub(super) struct Recent([u64; RECENT]);

/// An invalidation of everything, in [`Recent`].
const ALL: u64 = u64::MAX;

impl Recent {
    fn note(&mut self, sequence: u64, hash: u64) {
        self.0[(sequence % RECENT as u64) as usize] = hash;
    }

    /// Whether an invalidation after `since`, up to `now`, named `hash` or everything (or
    /// was forgotten).
    pub(super) fn names(&self, since: u64, now: u64, hash: u64) -> bool {
        if now.wrapping_sub(since) > RECENT as u64 {
            return true;
        }
        (since + 1..=now).any(|n| {
            let named = self.0[(n % RECENT as u64) as usize];
            named == hash || named == ALL
        })
    }
}

/// The hash of a key in [`Recent`] (FNV-1a: keys are short, and a collision costs at most a
/// reply not stored). Never [`ALL`].
pub(super) fn key_hash(key: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash.min(ALL - 1)
}

/// The invalidation sequence of a connection when a read was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(pub(super) u64);

impl NodeTracker {
    /// The ticket of a read about to be sent through this connection.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.sequence.load(Ordering::Acquire))
    }

    pub(super) fn new(store: Weak<Store>, counts: Arc<NodeCounts>, replica: bool) -> NodeTracker {
        NodeTracker {
            store,
            counts,
            replica,
            guard: Mutex::new(Recent([0; RECENT])),
            sequence: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        // Every write leaves the ring whole: a poisoned lock serves as well.
        self.guard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bumps the sequence for an invalidation naming `hash` (or [`ALL`]), under `recent`.
    fn bump(&self, recent: &mut Recent, hash: u64) {
        let sequence = self.sequence.fetch_add(1, Ordering::AcqRel) + 1;
        recent.note(sequence, hash);
    }

    /// Drops everything read through this connection.
    pub(crate) fn flush(&self) {
        let mut recent = self.lock();
        self.bump(&mut recent, ALL);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.counts.invalidations.fetch_add(1, Ordering::Relaxed);
        if let Some(store) = self.store.upgrade() {
            store.invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A cacheable read is about to be sent through this connection, for want of a reply in
    /// memory.
    pub(crate) fn missed(&self) {
        self.counts.misses.fetch_add(1, Ordering::Relaxed);
    }
}

impl NodeTracker {
    /// Keeps the reply of a read of the key hashed `hash` in flight on this connection out of
    /// the cache, as an invalidation of it would.
    pub(super) fn written(&self, hash: u64) {
        let mut recent = self.lock();
        self.bump(&mut recent, hash);
    }
}

impl Tracker for NodeTracker {
    fn invalidated(&self, keys: Option<&[Value]>) {
        let Some(keys) = keys else {
            self.flush();
            return;
        };
        let mut recent = self.lock();
        let store = self.store.upgrade();
        for key in keys {
            let Some(key) = key.as_bytes() else {
                // Not a key: whatever it meant, no read in flight is stored.
                self.bump(&mut recent, ALL);
                continue;
            };
            self.bump(&mut recent, key_hash(key));
            if let Some(store) = &store {
                store.map.remove(key);
                store.invalidations.fetch_add(1, Ordering::Relaxed);
            }
            self.counts.invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn lost(&self) {
        self.flush();
    }
}
