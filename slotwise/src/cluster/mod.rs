//! [`RedisCluster`], the async cluster client: its caches (slot map, nodes, commands), direct
//! node access, the default node, read strategies and targets; connecting it is `connect`'s.
//!
//! The path of a command (route → send → redirect/retry → merge) lives in `dispatch`; asking
//! the nodes what the cluster looks like in `discovery`; the live topology, its refreshes and
//! watching an outage end in `topology`, its one owner; cross-slot splitting in `split`. This
//! module holds the public handle and the few things every clone shares, not those paths.

pub(crate) mod bench;
mod builder;
mod cache;
mod connect;
mod discovery;
mod dispatch;
pub mod events;
mod lanes;
mod node;
mod pipeline;
mod preconnect;
mod pubsub;
mod read_from;
mod request;
mod scan;
mod script;
mod snapshot;
mod split;
mod stats;
mod target;
mod topology;

use std::fmt;
use std::sync::Arc;

pub use builder::ClusterBuilder;
pub use cache::{CacheConfig, CacheStats};
pub use node::{ClusterNode, NodeClient, Role};
pub use pipeline::{Pipeline, Queued, Replies, Watch};
pub use pubsub::{LossReason, Message, MessageKind, Nodes, PubSub, PubSubEvent, PubSubEvents};
pub use read_from::ReadFrom;
pub use request::Request;
pub use scan::{ClusterScan, ScanCursor, ScanOptions};
pub use script::Script;
pub use split::{ClusterCommands, NonAtomicExecutor};
pub use stats::Stats;
pub use target::{Target, TargetedCluster};

use crate::commands::{CommandFuture, Executor};
use crate::connection::meter::NodeStats;
use crate::connection::Credentials;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue};
pub(crate) use dispatch::InFlight;
pub(crate) use lanes::CachedRead;
use node::{NodeEntry, Registry};
use snapshot::Snapshot;
use topology::Topology;

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
    /// With the client-side cache on, the references to `inner` the futures of cacheable reads
    /// hold instead of a clone of the handle (see cluster/lanes.rs).
    lanes: Option<Arc<lanes::Lanes>>,
    reads: Reads,
    /// Reads may be served from the client-side cache (if it is on); false on a
    /// [`no_cache`](RedisCluster::no_cache) handle.
    cached: bool,
}

/// The read strategy of a handle: the client's own (the builder's), or the one `readonly()` or
/// `readwrite()` gave it. One byte whatever the strategy holds (a zone), and copied for free:
/// every command's future carries a clone of its handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reads {
    Configured,
    PreferReplica,
    Primary,
}

impl Reads {
    /// The strategy this stands for on the client of `inner`.
    fn strategy(self, inner: &Inner) -> &ReadFrom {
        match self {
            Reads::Configured => &inner.settings.read_from,
            Reads::PreferReplica => &ReadFrom::PreferReplica,
            Reads::Primary => &ReadFrom::Primary,
        }
    }
}

/// State shared by every clone of a client.
pub(crate) struct Inner {
    pub(crate) settings: ClusterBuilder,
    /// One entry (and connection) per node.
    pub(crate) registry: Registry,
    /// The live topology; only its own module changes it.
    pub(crate) topology: Topology,
    pub(crate) counters: stats::Counters,
    /// Where cluster events go, for whoever listens.
    pub(crate) events: events::EventBus,
    /// The client-side cache, if the builder turned it on.
    pub(crate) cache: Option<cache::Cache>,
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

    /// The hash slot of `key` (CRC16 of the key or its `{hash tag}`, modulo 16384).
    pub fn keyslot(key: impl AsRef<[u8]>) -> u16 {
        crate::topology::keyslot(key)
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
        let read = replica.then_some(&ReadFrom::PreferReplica);
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
        self.inner.topology.default_entry().node.clone()
    }

    /// Makes `node` the default node. It must be a primary of the cluster.
    pub fn set_default_node(&self, node: &ClusterNode) -> Result<()> {
        let snapshot = self.snapshot();
        let found = snapshot.primaries().find(|e| e.node == *node).cloned();
        match found {
            Some(entry) => {
                self.inner.replace_default(entry);
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
    /// strategy configured on the builder if it uses replicas). Shares everything with `self`,
    /// which is unchanged: unlike redis-py's `rc.readonly()`, this returns the handle to use.
    ///
    /// ```compile_fail
    /// #![deny(unused_must_use)]
    /// # fn demo(cluster: slotwise::RedisCluster) {
    /// cluster.readonly(); // changes nothing
    /// # }
    /// ```
    #[must_use = "it returns a new handle; this one reads as before"]
    pub fn readonly(&self) -> RedisCluster {
        RedisCluster {
            inner: Arc::clone(&self.inner),
            lanes: self.lanes.clone(),
            reads: if self.inner.settings.read_from.uses_replicas() {
                Reads::Configured
            } else {
                Reads::PreferReplica
            },
            cached: self.cached,
        }
    }

    /// A handle whose commands all go to primaries. Shares everything with `self`.
    #[must_use = "it returns a new handle; this one reads as before"]
    pub fn readwrite(&self) -> RedisCluster {
        RedisCluster {
            inner: Arc::clone(&self.inner),
            lanes: self.lanes.clone(),
            reads: Reads::Primary,
            cached: self.cached,
        }
    }

    /// A handle whose commands never use the client-side cache: every read goes to the node,
    /// and its reply is not stored. Shares everything with `self` (the cache too: what others
    /// cached stays). With the cache off it is a plain clone.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::commands::StringCommands;
    ///
    /// let fresh: Option<String> = cluster.no_cache().get("config:flags").await?;
    /// # Ok(()) }
    /// ```
    #[must_use = "it returns a new handle; this one reads as before"]
    pub fn no_cache(&self) -> RedisCluster {
        RedisCluster {
            inner: Arc::clone(&self.inner),
            lanes: self.lanes.clone(),
            reads: self.reads,
            cached: false,
        }
    }

    /// The client-side cache for this handle's reads, if the builder turned it on and the
    /// handle does not bypass it.
    pub(crate) fn cache(&self) -> Option<&cache::Cache> {
        self.inner.cache.as_ref().filter(|_| self.cached)
    }

    /// This handle's read strategy.
    pub fn read_from(&self) -> ReadFrom {
        self.strategy().clone()
    }

    /// This handle's read strategy, borrowed.
    pub(crate) fn strategy(&self) -> &ReadFrom {
        self.reads.strategy(&self.inner)
    }

    /// The availability zone of `node`: the one it reported when the client last connected to
    /// it (Valkey 8.1 and newer with `availability-zone` set), else the one given in
    /// [`ClusterBuilder::node_zones`], else `None` (Redis, or a node not connected to yet:
    /// only the zone-aware [`ReadFrom`] strategies connect to every node).
    pub fn node_zone(&self, node: &ClusterNode) -> Option<String> {
        self.snapshot().find(node.name()).and_then(|e| e.zone())
    }

    /// The smoothed `PING` round trip of `node` that [`ReadFrom::LowestLatency`] chooses by;
    /// `None` with other strategies, before the first probe, and while the node does not
    /// answer.
    pub fn node_latency(&self, node: &ClusterNode) -> Option<std::time::Duration> {
        self.snapshot()
            .find(node.name())
            .and_then(|e| e.latency.get())
    }

    /// A handle whose commands go to `target`.
    pub fn target(&self, target: Target) -> TargetedCluster {
        TargetedCluster::new(self.clone(), target)
    }

    /// A raw command, for anything the typed methods do not cover.
    pub fn cmd(&self, name: &str) -> Request {
        Request::new(self.clone(), Cmd::new(name))
    }

    /// Authenticates with `credentials` from now on: every connection already open sends
    /// `AUTH` with them (in line with the commands it carries, so none in flight is lost), and
    /// every connection opened later uses them (a
    /// [credentials provider](ClusterBuilder::credentials_provider), if set, is still asked
    /// first). Pub/sub sockets use them when they next reconnect.
    ///
    /// Fails with [`ErrorKind::Auth`] naming the first node that refused them; the others
    /// were switched all the same.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::connection::Credentials;
    ///
    /// // The token was rotated: switch before the old one expires.
    /// cluster.update_credentials(Credentials::new("app", "new-token")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_credentials(&self, credentials: Credentials) -> Result<()> {
        self.inner.settings.connection.auth.set(&credentials);
        let auth = crate::connection::auth_command(&credentials);
        let open: Vec<Arc<NodeEntry>> = self
            .inner
            .registry
            .all()
            .into_iter()
            .filter(|e| e.conn.is_connected())
            .collect();
        let replies = futures_util::future::join_all(open.iter().map(|e| e.conn.send(&auth))).await;
        for (entry, reply) in open.iter().zip(replies) {
            match reply {
                Ok(_) => {}
                // A socket lost meanwhile reconnects with the new credentials.
                Err(e) if e.is_io() || e.is_timeout() => {}
                Err(e) => {
                    return Err(e
                        .redacting(credentials.password().expose())
                        .with_node(entry.node.name()))
                }
            }
        }
        Ok(())
    }

    /// Reloads the topology now.
    pub async fn refresh_topology(&self) -> Result<()> {
        let seen = self.snapshot().generation;
        self.inner.refresh(seen).await.map(drop)
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.topology.snapshot()
    }

    /// What the client did to keep commands flowing (redirections, retries, refreshes), and
    /// what it saw of each node it knows: requests, errors by kind, redirections received,
    /// reconnects, requests in flight and latency percentiles ([`Stats::nodes`], their sum in
    /// [`Stats::total`]).
    ///
    /// A copy, made by reading every node's counters: cheap enough to call every second, not
    /// per command.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) {
    /// let stats = cluster.stats();
    /// for (node, s) in stats.nodes() {
    ///     println!("{node}: {} requests, p50 {:?}", s.requests, s.latency.p50);
    /// }
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        let mut stats = self.inner.counters.read();
        if let Some(cache) = &self.inner.cache {
            stats.cache = cache.stats();
            stats = stats.with_cache_nodes(self.inner.registry.cache_counts());
        }
        stats.with_nodes(self.inner.registry.meters())
    }

    /// What the client saw of `node`: as in [`stats`](Self::stats), for one node. `None` if the
    /// client does not know the node (or no longer: its counts go when it leaves the topology).
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// let node = cluster.get_node_from_key("user:42", false)?;
    /// if let Some(s) = cluster.node_stats(&node) {
    ///     println!("{node}: {} requests, {} errors", s.requests, s.errors.total());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn node_stats(&self, node: &ClusterNode) -> Option<NodeStats> {
        let meter = self.inner.registry.meter(node.name())?;
        Some(meter.read().0)
    }

    pub(crate) fn default_entry(&self) -> Arc<NodeEntry> {
        self.inner.topology.default_entry()
    }
}

pub(crate) fn unknown_node(node: &ClusterNode) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{node} is not a node of the cluster"),
    )
}

impl Executor for RedisCluster {
    type Output<T: FromValue + Send + 'static> = CommandFuture<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
        if let Some(read) = lanes::CachedRead::of(self) {
            return CommandFuture::cacheable(read, cmd, T::from_value);
        }
        CommandFuture::direct(self.clone(), cmd, T::from_value)
    }
}

impl fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("RedisCluster")
            .field("primaries", &snapshot.primaries().count())
            .field("replicas", &snapshot.replicas().count())
            .field("default_node", &self.default_node())
            .field("read_from", self.strategy())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's future holds a clone of its handle (or, with the cache on, of one of its
    /// lanes): a strategy with a zone must not make the handle (and so every future) larger,
    /// nor its clone more than a copy and two `Arc`s (one without the cache).
    #[test]
    fn a_handle_stays_two_pointers_and_two_bytes() {
        assert!(std::mem::size_of::<RedisCluster>() <= 24);
        assert!(std::mem::size_of::<CachedRead>() <= 16);
    }
}
