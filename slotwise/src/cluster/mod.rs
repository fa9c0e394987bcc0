//! [`RedisCluster`], the async cluster client: building it, its caches (slot map, nodes,
//! commands), direct node access, the default node, read strategies and targets.
//!
//! The path of a command (route → send → redirect/retry → merge) lives in `dispatch`;
//! discovery and refresh in `refresh`, watching an outage end in `recovery`; cross-slot
//! splitting in `split`. This module owns the
//! shared state and the public handle, not those paths.

mod builder;
mod dispatch;
mod node;
mod pipeline;
mod pubsub;
mod read_from;
mod recovery;
mod refresh;
mod request;
mod scan;
mod script;
mod snapshot;
mod split;
mod stats;
mod target;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;

pub use builder::ClusterBuilder;
pub use node::{ClusterNode, NodeClient, Role};
pub use pipeline::{Pipeline, Queued, Replies, Watch};
pub use pubsub::{Message, MessageKind, PubSub};
pub use read_from::ReadFrom;
pub use request::Request;
pub use scan::{ClusterScan, ScanOptions};
pub use script::Script;
pub use split::{ClusterCommands, NonAtomicExecutor};
pub use stats::Stats;
pub use target::{Target, TargetedCluster};

use crate::commands::{CommandFuture, Executor};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue};
use crate::topology::ClusterView;
use node::{NodeEntry, Registry, Role as NodeRole};
use refresh::{check_coverage, discover, load_commands, no_reachable_node, spawn_periodic_refresh};
use snapshot::Snapshot;

/// A Redis Cluster client.
///
/// Cheap to clone (an `Arc` inside): clones share the topology, the command table and one
/// connection per node. `Send + Sync`.
///
/// ```no_run
/// # async fn demo() -> slotwise::Result<()> {
/// use slotwise::commands::StringCommands;
/// use slotwise::RedisCluster;
///
/// let cluster = RedisCluster::from_url("redis://127.0.0.1:7000").await?;
/// cluster.set("greeting", "hello").await?;
/// let value: Option<String> = cluster.get("greeting").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisCluster {
    inner: Arc<Inner>,
    read_from: ReadFrom,
}

/// State shared by every clone of a client.
pub(crate) struct Inner {
    pub(crate) settings: ClusterBuilder,
    pub(crate) registry: Registry,
    pub(crate) snapshot: ArcSwap<Snapshot>,
    /// The generation of the installed snapshot, for callers waiting for a new topology.
    pub(crate) topology: tokio::sync::watch::Sender<u64>,
    /// One refresh runs at a time.
    pub(crate) refresh_lock: tokio::sync::Mutex<()>,
    /// A refresh has been asked for and has not started yet.
    pub(crate) refresh_pending: AtomicBool,
    /// When the last refresh finished, for rate limiting.
    pub(crate) last_refresh: Mutex<Option<Instant>>,
    /// The view the current snapshot was built from, to tell whether a refresh changed anything.
    pub(crate) last_view: Mutex<ClusterView>,
    /// When the topology last changed: `last_view` was installed, or a `MOVED` patched a slot
    /// in (a failover that happens long after the last install starts there).
    pub(crate) changed_at: Mutex<Instant>,
    /// The topology is in the middle of a change: a `MOVED` patched a slot in that the nodes
    /// have not described yet, the nodes asked had not heard of an election the snapshot
    /// follows, or they disagreed. Refreshes go on (at the rate limit) until it settles.
    pub(crate) unsettled: AtomicBool,
    /// The installed view lists as a slotless primary a node that served slots before it (a
    /// failover's old primary, until the nodes hear it turned replica).
    pub(crate) demoting: AtomicBool,
    pub(crate) counters: stats::Counters,
    default_node: ArcSwap<NodeEntry>,
    /// Slot owners `MOVED` replies named since the last install (see `refresh`).
    pub(crate) moves: Mutex<Vec<refresh::Move>>,
    /// Nodes that answered `CLUSTERDOWN` and have not yet been seen serving again.
    pub(crate) refusing: Mutex<Vec<Arc<NodeEntry>>>,
    /// Wakes commands waiting for the cluster to serve again without a new topology (a node
    /// that refused with `CLUSTERDOWN` reports its cluster state ok).
    pub(crate) serving_again: tokio::sync::Notify,
    /// Bumped before each `serving_again` notification.
    pub(crate) serving_epoch: AtomicU64,
}

impl RedisCluster {
    /// A builder with every setting at its default.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::new()
    }

    /// Connects through the node at `host:port`.
    pub async fn new(host: impl Into<String>, port: u16) -> Result<RedisCluster> {
        ClusterBuilder::new()
            .startup_node(ClusterNode::new(host, port))
            .build()
            .await
    }

    /// Connects through the node of a `redis://[user[:password]@]host[:port]` URL
    /// (`rediss://` with the `tls` feature).
    pub async fn from_url(url: &str) -> Result<RedisCluster> {
        ClusterBuilder::new().url(url).build().await
    }

    /// Connects through the first of `nodes` that answers.
    pub async fn from_nodes(nodes: impl IntoIterator<Item = ClusterNode>) -> Result<RedisCluster> {
        ClusterBuilder::new().startup_nodes(nodes).build().await
    }

    pub(crate) async fn connect(settings: ClusterBuilder) -> Result<RedisCluster> {
        let registry = Registry::new(settings.connection.clone());
        let candidates: Vec<Arc<NodeEntry>> = settings
            .startup
            .iter()
            .map(|n| registry.entry(n.host(), n.port(), NodeRole::Primary))
            .collect();
        let probe = Inner::probe(settings.clone(), registry);
        let discovery = discover(&probe, candidates)
            .await
            .map_err(|failures| no_reachable_node("no startup node answered", &failures))?;
        let table = Arc::new(load_commands(&discovery.first).await);
        let view = discovery.view.clone();
        let snapshot = Snapshot::from_view(discovery.view, &probe.registry, table, 1);
        if probe.settings.require_full_coverage {
            check_coverage(&snapshot.map)?;
        }
        let Some(default) = snapshot.primaries().next().cloned() else {
            return Err(Error::new(
                ErrorKind::SlotNotCovered,
                "the cluster reported no primary",
            ));
        };
        let read_from = probe.settings.read_from;
        let interval = probe.settings.refresh_interval;
        let inner = Arc::new(Inner::new(
            probe.settings,
            probe.registry,
            snapshot,
            default,
        ));
        inner.remember_view(view);
        inner.choose_default_node(true);
        inner.drop_unused_entries();
        if let Some(interval) = interval {
            spawn_periodic_refresh(&inner, interval);
        }
        Ok(RedisCluster { inner, read_from })
    }

    /// The hash slot of `key` (CRC16 of the key or its `{hash tag}`, modulo 16384).
    pub fn keyslot(key: impl AsRef<[u8]>) -> u16 {
        crate::topology::keyslot(key.as_ref())
    }

    /// Every node of the cluster: primaries first.
    pub fn get_nodes(&self) -> Vec<ClusterNode> {
        self.snapshot().all().map(|e| e.node.clone()).collect()
    }

    /// Every primary.
    pub fn get_primaries(&self) -> Vec<ClusterNode> {
        self.snapshot()
            .primaries()
            .map(|e| e.node.clone())
            .collect()
    }

    /// Every replica the cluster reports online.
    pub fn get_replicas(&self) -> Vec<ClusterNode> {
        self.snapshot().replicas().map(|e| e.node.clone()).collect()
    }

    /// The node at `host:port`, if the cluster has it.
    pub fn get_node(&self, host: &str, port: u16) -> Option<ClusterNode> {
        self.snapshot()
            .find(&node::node_name(host, port))
            .map(|e| e.node.clone())
    }

    /// A node chosen at random.
    pub fn get_random_node(&self) -> ClusterNode {
        let snapshot = self.snapshot();
        let all: Vec<&Arc<NodeEntry>> = snapshot.all().collect();
        match all.get(fastrand::usize(..all.len().max(1))) {
            Some(e) => e.node.clone(),
            None => self.default_node(),
        }
    }

    /// The node serving `key`: its primary, or with `replica` a replica of it (the primary if
    /// it has none).
    pub fn get_node_from_key(&self, key: impl AsRef<[u8]>, replica: bool) -> Result<ClusterNode> {
        let slot = RedisCluster::keyslot(key);
        let read = replica.then_some(ReadFrom::PreferReplica);
        Ok(self.snapshot().node_for_slot(slot, read)?.node.clone())
    }

    /// The slot ranges (inclusive) `node` serves as a primary; empty for replicas and for
    /// nodes the cluster does not have.
    pub fn slot_ranges(&self, node: &ClusterNode) -> Vec<(u16, u16)> {
        self.snapshot()
            .map
            .shards()
            .iter()
            .find(|s| s.primary.host == node.host() && s.primary.port == node.port())
            .map(|s| s.slots.clone())
            .unwrap_or_default()
    }

    /// The node that keyless commands without a routing tip go to: a random primary, chosen
    /// at start and again when it leaves the cluster, stops being a primary or cannot be
    /// reached (a command that failed on it for that reason is retried on the new one, if it
    /// is safe to send again).
    pub fn default_node(&self) -> ClusterNode {
        self.inner.default_node.load().node.clone()
    }

    /// Makes `node` the default node. It must be a primary of the cluster.
    pub fn set_default_node(&self, node: &ClusterNode) -> Result<()> {
        let snapshot = self.snapshot();
        let found = snapshot.primaries().find(|e| e.node == *node).cloned();
        match found {
            Some(entry) => {
                self.inner.default_node.store(entry);
                Ok(())
            }
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{node} is not a primary of the cluster"),
            )),
        }
    }

    /// A plain client for `node` alone, sharing its connection.
    pub fn node_client(&self, node: &ClusterNode) -> Result<NodeClient> {
        match self.snapshot().find(node.name()) {
            Some(entry) => Ok(NodeClient::new(self.clone(), Arc::clone(entry))),
            None => Err(unknown_node(node)),
        }
    }

    /// A handle whose read-only commands go to replicas ([`ReadFrom::PreferReplica`], or the
    /// strategy configured on the builder if it uses replicas). Shares everything with `self`.
    pub fn readonly(&self) -> RedisCluster {
        let configured = self.inner.settings.read_from;
        RedisCluster {
            inner: Arc::clone(&self.inner),
            read_from: if configured.uses_replicas() {
                configured
            } else {
                ReadFrom::PreferReplica
            },
        }
    }

    /// A handle whose commands all go to primaries. Shares everything with `self`.
    pub fn readwrite(&self) -> RedisCluster {
        RedisCluster {
            inner: Arc::clone(&self.inner),
            read_from: ReadFrom::Primary,
        }
    }

    /// This handle's read strategy.
    pub fn read_from(&self) -> ReadFrom {
        self.read_from
    }

    /// A handle whose commands go to `target`.
    pub fn target(&self, target: Target) -> TargetedCluster {
        TargetedCluster::new(self.clone(), target)
    }

    /// A raw command, for anything the typed methods do not cover.
    pub fn cmd(&self, name: &str) -> Request {
        Request::new(self.clone(), Cmd::new(name))
    }

    /// Reloads the topology now.
    pub async fn refresh_topology(&self) -> Result<()> {
        let seen = self.snapshot().generation;
        self.inner.refresh(seen).await.map(drop)
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    /// What the client did to keep commands flowing: redirections, retries, refreshes.
    pub fn stats(&self) -> Stats {
        self.inner.counters.read()
    }

    pub(crate) fn default_entry(&self) -> Arc<NodeEntry> {
        self.inner.default_node.load_full()
    }
}

pub(crate) fn unknown_node(node: &ClusterNode) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{node} is not a node of the cluster"),
    )
}

impl Inner {
    fn new(
        settings: ClusterBuilder,
        registry: Registry,
        snapshot: Snapshot,
        default_node: Arc<NodeEntry>,
    ) -> Inner {
        let (topology, _) = tokio::sync::watch::channel(snapshot.generation);
        Inner {
            settings,
            registry,
            snapshot: ArcSwap::from_pointee(snapshot),
            topology,
            refresh_lock: tokio::sync::Mutex::new(()),
            refresh_pending: AtomicBool::new(false),
            last_refresh: Mutex::new(None),
            last_view: Mutex::new(ClusterView::default()),
            changed_at: Mutex::new(Instant::now()),
            unsettled: AtomicBool::new(false),
            demoting: AtomicBool::new(false),
            counters: stats::Counters::default(),
            default_node: ArcSwap::new(default_node),
            moves: Mutex::new(Vec::new()),
            refusing: Mutex::new(Vec::new()),
            serving_again: tokio::sync::Notify::new(),
            serving_epoch: AtomicU64::new(0),
        }
    }

    /// A throwaway state for discovery before the first snapshot exists.
    fn probe(settings: ClusterBuilder, registry: Registry) -> Inner {
        let placeholder = Arc::new(NodeEntry {
            node: ClusterNode::new("", 0),
            conn: crate::connection::Connection::new(settings.connection.clone()),
        });
        let empty = Snapshot::new(
            crate::topology::SlotMap::new(ClusterView::default()),
            &registry,
            Arc::new(crate::routing::CommandTable::builtin()),
            0,
        );
        Inner::new(settings, registry, empty, placeholder)
    }

    /// Installs a new snapshot, re-choosing the default node if it left.
    pub(crate) fn install(&self, snapshot: Snapshot) {
        let generation = snapshot.generation;
        self.snapshot.store(Arc::new(snapshot));
        self.choose_default_node(false);
        self.drop_unused_entries();
        {
            let snapshot = self.snapshot.load();
            self.refusing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|e| snapshot.find(e.node.name()).is_some());
        }
        self.topology.send_replace(generation);
    }

    /// `entry`, the default node, could not be reached: another reachable primary takes its
    /// place (it may become the default again when it is chosen afresh).
    /// Returns whether another node now takes its place.
    pub(crate) fn default_unreachable(&self, entry: &Arc<NodeEntry>) -> bool {
        let current = self.default_node.load();
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
        let snapshot = self.snapshot.load();
        let candidates: Vec<&Arc<NodeEntry>> =
            snapshot.primaries().filter(|e| eligible(e)).collect();
        let pick = Arc::clone(candidates.get(fastrand::usize(..candidates.len().max(1)))?);
        self.default_node.store(Arc::clone(&pick));
        Some(pick)
    }

    fn choose_default_node(&self, always: bool) {
        let snapshot = self.snapshot.load();
        let current = self.default_node.load();
        if !always && snapshot.is_primary(current.node.name()) {
            return;
        }
        self.pick_default(|_| true);
    }

    /// Closes connections of nodes no longer in the topology.
    fn drop_unused_entries(&self) {
        let snapshot = self.snapshot.load();
        let default = self.default_node.load();
        self.registry.retain(|e| {
            snapshot
                .all()
                .any(|s| s.node.name() == e.node.name() && s.node.role() == e.node.role())
                || (e.node.name() == default.node.name())
        });
    }
}

impl Executor for RedisCluster {
    type Output<T: FromValue + Send + 'static> = CommandFuture<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
        let cluster = self.clone();
        CommandFuture::new(async move { T::from_value(cluster.run(&cmd, None).await?) })
    }
}

impl fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("RedisCluster")
            .field("primaries", &snapshot.primaries().count())
            .field("replicas", &snapshot.replicas().count())
            .field("default_node", &self.default_node())
            .field("read_from", &self.read_from)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
