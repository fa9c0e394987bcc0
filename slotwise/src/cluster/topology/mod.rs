//! The live topology and its one owner, [`Topology`]: the installed [`Snapshot`], the watch
//! that tells waiting callers a new one is in, the default node, and the state of refreshing
//! and of watching an outage end.
//!
//! Every change to that state is made here or in the two submodules: `refresh` (asking the
//! nodes again, deciding whether what they said is installed, and waiting for it) and
//! `recovery` (watching the nodes that will end an outage). The rest of the client reads the
//! snapshot and asks for changes through methods: install a snapshot, move a slot a `MOVED`
//! named, request a refresh, wait for a change.
//!
//! The pure description of a cluster (views, slot maps, parsing the nodes' replies) is
//! `crate::topology`; asking the nodes is `super::discovery`.

pub(super) mod recovery;
pub(super) mod refresh;

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::events::{ChangeCause, ClusterEvent};
use super::node::NodeEntry;
use super::snapshot::Snapshot;
use super::Inner;
use crate::routing::CommandTable;
use crate::topology::ClusterView;

pub(crate) use refresh::spawn_periodic_refresh;

/// The live topology: what commands route by, and what changes it.
pub(crate) struct Topology {
    snapshot: ArcSwap<Snapshot>,
    /// The generation of the installed snapshot, for callers waiting for a new topology.
    generation: tokio::sync::watch::Sender<u64>,
    /// Where keyless commands without a routing tip go.
    default_node: ArcSwap<NodeEntry>,
    refresh: refresh::State,
    recovery: recovery::State,
    /// Held while a snapshot is installed whole or its command table replaced, so neither
    /// undoes the other.
    changing: Mutex<()>,
}

impl Topology {
    /// The topology of a client that starts with `snapshot`, described by `view`.
    pub(crate) fn new(snapshot: Snapshot, view: ClusterView, default_node: Arc<NodeEntry>) -> Self {
        let (generation, _) = tokio::sync::watch::channel(snapshot.generation);
        Topology {
            snapshot: ArcSwap::from_pointee(snapshot),
            generation,
            default_node: ArcSwap::new(default_node),
            refresh: refresh::State::new(view),
            recovery: recovery::State::default(),
            changing: Mutex::new(()),
        }
    }

    /// The installed snapshot.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The installed snapshot, for a look that ends before the caller awaits anything: no
    /// count of the snapshot's is touched, which every command on every core would write.
    #[inline]
    pub(crate) fn current(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Tells of every new snapshot (its generation) from now on.
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The default node.
    pub(crate) fn default_entry(&self) -> Arc<NodeEntry> {
        self.default_node.load_full()
    }
}

impl Inner {
    /// Installs a new snapshot, re-choosing the default node if it left. It keeps the command
    /// table the installed one has: a table read in the background may have come since the
    /// new snapshot was built.
    pub(crate) fn install(&self, mut snapshot: Snapshot) {
        let generation = snapshot.generation;
        {
            let _one_change = self
                .topology
                .changing
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            snapshot.table = Arc::clone(&self.topology.snapshot.load().table);
            let new = Arc::new(snapshot);
            let old = self.topology.snapshot.swap(Arc::clone(&new));
            if let Some(cache) = &self.cache {
                cache.drop_moved(&old, &new);
            }
            self.events
                .topology_changed(&old, &new, ChangeCause::Refresh);
        }
        self.choose_default_node(false);
        self.drop_unused_entries();
        self.forget_refusing_outside(&self.topology.snapshot.load());
        self.topology.generation.send_replace(generation);
    }

    /// Routes by `table` from now on (the server's, read after the client started).
    pub(crate) fn set_table(&self, table: Arc<CommandTable>) {
        let _one_change = self
            .topology
            .changing
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.topology.snapshot.rcu(|current| {
            Snapshot::updated(
                current,
                current.map.clone(),
                &self.registry,
                Arc::clone(&table),
                current.generation,
            )
        });
    }

    /// Moves `slot` to `target` at once, as a `MOVED` said, and asks for a full refresh.
    pub(crate) fn apply_moved(self: &Arc<Inner>, slot: u16, target: &Arc<NodeEntry>) {
        let (host, port) = (target.node.host(), target.node.port());
        let mut installed = None;
        let old = self.topology.snapshot.rcu(|current| {
            let owner = current
                .map
                .shard_of(slot)
                .and_then(|i| current.shards.get(i));
            if owner.is_some_and(|s| s.primary.node == target.node) {
                // Another caller already applied this redirection.
                installed = None;
                return Arc::clone(current);
            }
            let map = current.map.with_slot_moved(slot, host, port);
            let next = Snapshot::updated(
                current,
                map,
                &self.registry,
                Arc::clone(&current.table),
                current.generation + 1,
            );
            installed = Some(next.generation);
            Arc::new(next)
        });
        self.note_move(slot, host, port);
        if let Some(generation) = installed {
            // The patched snapshot may leave a node out (a primary that lost its last slot).
            self.registry.note_maybe_unused();
            let new = self.topology.snapshot.load();
            if let Some(cache) = &self.cache {
                cache.drop_moved(&old, &new);
            }
            self.events
                .topology_changed(&old, &new, ChangeCause::Redirect);
            self.note_patched();
            self.topology.generation.send_replace(generation);
        }
        self.request_refresh();
    }

    /// `entry`, the default node, could not be reached: another reachable primary takes its
    /// place (it may become the default again when it is chosen afresh).
    /// Returns whether another node now takes its place.
    pub(crate) fn default_unreachable(&self, entry: &Arc<NodeEntry>) -> bool {
        let current = self.topology.default_node.load();
        if !Arc::ptr_eq(&current, entry) {
            // Another caller replaced it already.
            return true;
        }
        let picked = self.pick_default(|e| !Arc::ptr_eq(e, entry) && !e.conn.is_down());
        if let Some(pick) = &picked {
            tracing::debug!(
                from = entry.node.name(),
                to = pick.node.name(),
                "the default node is unreachable; using another primary"
            );
        }
        picked.is_some()
    }

    /// Makes a random primary that `eligible` accepts the default node; returns it, or `None`
    /// (and changes nothing) when no primary is eligible.
    fn pick_default(&self, eligible: impl Fn(&Arc<NodeEntry>) -> bool) -> Option<Arc<NodeEntry>> {
        let snapshot = self.topology.snapshot.load();
        let candidates: Vec<&Arc<NodeEntry>> =
            snapshot.primaries().filter(|e| eligible(e)).collect();
        let pick = Arc::clone(candidates.get(fastrand::usize(..candidates.len().max(1)))?);
        self.replace_default(Arc::clone(&pick));
        Some(pick)
    }

    /// Makes `entry` the default node, telling the registry the one before may be unused and
    /// the event stream that the default node changed, if it did.
    pub(crate) fn replace_default(&self, entry: Arc<NodeEntry>) {
        let before = self.topology.default_node.swap(Arc::clone(&entry));
        if !Arc::ptr_eq(&before, &entry) {
            // The node it was may be in no snapshot.
            self.registry.note_maybe_unused();
        }
        if before.node != entry.node {
            self.events.emit(|| {
                Some(ClusterEvent::DefaultNodeChanged {
                    from: before.node.clone(),
                    to: entry.node.clone(),
                })
            });
        }
    }

    /// Picks a new default node when the current one is no longer a primary, or `always`.
    pub(crate) fn choose_default_node(&self, always: bool) {
        let snapshot = self.topology.snapshot.load();
        let current = self.topology.default_node.load();
        if !always && snapshot.is_primary(current.node.name()) {
            return;
        }
        self.pick_default(|_| true);
    }

    /// Closes connections of nodes no longer in the topology.
    pub(crate) fn drop_unused_entries(&self) {
        let snapshot = self.topology.snapshot.load_full();
        let default = self.topology.default_node.load_full();
        self.registry
            .drop_unused(&snapshot, Some(default.node.name()));
        // A `MOVED` patch or a new default node that came in while this looked noted itself
        // before the sweep was done, which forgot the note: note it again.
        if !Arc::ptr_eq(&snapshot, &self.topology.snapshot.load())
            || !Arc::ptr_eq(&default, &self.topology.default_node.load())
        {
            self.registry.note_maybe_unused();
        }
    }
}
