//! Nodes: [`ClusterNode`] (what users see and name), the internal entry that pairs a node with its
//! connection, the registry that keeps those entries (and so their sockets) and each node's
//! meter across topology refreshes, and [`NodeClient`], a plain client for one node.
//!
//! This module does not decide which node serves a command; see the dispatcher.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use super::cache::{Cache, NodeCounts, NodeTracker};
use super::read_from::latency::Smoothed;
use super::read_from::Candidate;
use super::snapshot::Snapshot;
use super::RedisCluster;
use crate::commands::{CommandFuture, Executor};
use crate::connection::meter::Meter;
use crate::connection::{Connection, ConnectionConfig, MeterSlot};
use crate::protocol::{Cmd, FromValue};

/// The role a node plays in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Serves its slots for reads and writes.
    Primary,
    /// Copies a primary; serves reads on `READONLY` connections.
    Replica,
}

/// A node of the cluster, named `host:port`.
///
/// Nodes compare equal by host and port; the role is what the cluster last reported (a node
/// made with [`ClusterNode::new`] is taken to be a primary until the topology says otherwise).
#[derive(Clone)]
pub struct ClusterNode {
    host: Arc<str>,
    port: u16,
    name: Arc<str>,
    role: Role,
}

impl ClusterNode {
    /// A node at `host:port`, e.g. a startup node.
    pub fn new(host: impl Into<String>, port: u16) -> ClusterNode {
        ClusterNode::with_role(host, port, Role::Primary)
    }

    /// The node of a `redis://[user[:password]@]host[:port]` URL (`rediss://` too), without its
    /// credentials: what to show of a seed URL.
    ///
    /// ```
    /// let node = slotwise::ClusterNode::from_url("redis://app:s3cr3t@10.0.0.5:7000")?;
    /// assert_eq!(node.to_string(), "10.0.0.5:7000");
    /// # Ok::<(), slotwise::Error>(())
    /// ```
    pub fn from_url(url: &str) -> crate::Result<ClusterNode> {
        let parsed = super::builder::parse_url(url)?;
        Ok(ClusterNode::new(parsed.host, parsed.port))
    }

    pub(crate) fn with_role(host: impl Into<String>, port: u16, role: Role) -> ClusterNode {
        let host: String = host.into();
        let name = node_name(&host, port);
        ClusterNode {
            host: Arc::from(host),
            port,
            name: Arc::from(name),
            role,
        }
    }

    /// The host, as the cluster reports it (after any address remap).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` (`[v6addr]:port` is not used: the last colon separates the port).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Primary or replica.
    pub fn role(&self) -> Role {
        self.role
    }

    /// True for a primary.
    pub fn is_primary(&self) -> bool {
        self.role == Role::Primary
    }
}

/// `host:port`, the name every part of slotwise uses for a node.
pub(crate) fn node_name(host: &str, port: u16) -> String {
    format!("{host}:{port}")
}

impl PartialEq for ClusterNode {
    fn eq(&self, other: &ClusterNode) -> bool {
        self.port == other.port && self.host == other.host
    }
}

impl Eq for ClusterNode {}

impl std::hash::Hash for ClusterNode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.host.hash(state);
        self.port.hash(state);
    }
}

impl fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterNode")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish()
    }
}

impl fmt::Display for ClusterNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A node with its connection.
#[derive(Debug)]
pub(crate) struct NodeEntry {
    pub(crate) node: ClusterNode,
    pub(crate) conn: Connection,
    /// Idle connections of blocking commands (`BLPOP` …), kept for the next one.
    pub(crate) blocking: Mutex<Vec<Connection>>,
    /// The zone given for this address in the builder's `node_zones`, for nodes that report
    /// none.
    pub(crate) given_zone: Option<Arc<str>>,
    /// The smoothed `PING` round trip, kept by the latency probes.
    pub(crate) latency: Smoothed,
    /// With the client-side cache on, the connection tracks the keys read through it; this
    /// hears its invalidations.
    pub(crate) tracker: Option<Arc<NodeTracker>>,
}

impl NodeEntry {
    /// The node's availability zone: the one it reported in its greeting, else the one given.
    pub(crate) fn zone(&self) -> Option<String> {
        self.conn
            .zone()
            .or_else(|| self.given_zone.as_deref().map(str::to_owned))
    }
}

impl Candidate for Arc<NodeEntry> {
    fn in_zone(&self, zone: &str) -> bool {
        match self.conn.zone_is(zone) {
            Some(reported) => reported,
            None => self.given_zone.as_deref() == Some(zone),
        }
    }

    fn is_down(&self) -> bool {
        self.conn.is_down()
    }

    fn latency(&self) -> Option<std::time::Duration> {
        self.latency.get()
    }
}

/// Every node entry made so far, by name and role, so a refresh that still lists a node keeps
/// its open socket. A node whose role changed gets a new entry: replica connections are
/// `READONLY`, primary connections must not be.
///
/// Each node name also has one [`Meter`], which every connection to it records into (its
/// entries' of either role, and those made from their settings: blocking commands', watches'),
/// so a node's counts outlive a failover. A meter goes when the node's last entry does: the
/// counts of a node no topology lists are dropped, not kept for ever.
#[derive(Debug)]
pub(crate) struct Registry {
    base: ConnectionConfig,
    /// Zones given by address (`host:port`), for nodes that report none.
    zones: HashMap<String, Arc<str>>,
    /// The client-side cache, if on: every node connection then tracks what it reads.
    cache: Option<Cache>,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Node entries by name and role.
    by_role: HashMap<(Arc<str>, Role), Arc<NodeEntry>>,
    /// Meters by node name.
    meters: HashMap<Arc<str>, Arc<Meter>>,
    /// The client-side cache's counts by node name, with the cache on.
    cache_counts: HashMap<Arc<str>, Arc<NodeCounts>>,
    /// An entry may be here that the installed snapshot does not use: one was made, or the
    /// topology or the default node changed outside an install, since the last sweep.
    maybe_unused: bool,
}

impl Registry {
    pub(crate) fn new(
        base: ConnectionConfig,
        zones: HashMap<String, Arc<str>>,
        cache: Option<Cache>,
    ) -> Registry {
        Registry {
            base,
            zones,
            cache,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The entry for `host:port` in `role`, made (not yet connected) if new.
    pub(crate) fn entry(&self, host: &str, port: u16, role: Role) -> Arc<NodeEntry> {
        let node = ClusterNode::with_role(host, port, role);
        let mut entries = self.lock();
        let key = (Arc::clone(&node.name), role);
        if let Some(e) = entries.by_role.get(&key) {
            return Arc::clone(e);
        }
        let meter = Arc::clone(
            entries
                .meters
                .entry(Arc::clone(&node.name))
                .or_insert_with(|| Meter::new(&node.name)),
        );
        let mut config = self
            .base
            .for_node(host, port)
            .readonly(role == Role::Replica);
        let given_zone = self.zones.get(node.name()).cloned();
        config.meter = MeterSlot(Some(meter));
        let tracker = self.cache.as_ref().map(|cache| {
            let counts = entries
                .cache_counts
                .entry(Arc::clone(&node.name))
                .or_default();
            cache.tracker(Arc::clone(counts), role == Role::Replica)
        });
        let conn = match &tracker {
            Some(tracker) => Connection::with_tracker(config, Arc::clone(tracker) as _),
            None => Connection::new(config),
        };
        let entry = Arc::new(NodeEntry {
            node,
            conn,
            blocking: Mutex::new(Vec::new()),
            given_zone,
            latency: Smoothed::default(),
            tracker,
        });
        entries.by_role.insert(key, Arc::clone(&entry));
        entries.maybe_unused = true;
        entry
    }

    /// Notes that an entry may have fallen out of use outside an install (a `MOVED` patched the
    /// snapshot, the default node changed): the next [`drop_unused`](Self::drop_unused) looks.
    pub(crate) fn note_maybe_unused(&self) {
        self.lock().maybe_unused = true;
    }

    /// Drops the entries `snapshot` does not use, except the node named `keep` (the default
    /// node), closing their sockets. Nothing can be unused when `snapshot` has the nodes of the
    /// one before it (`Snapshot::nodes_unchanged`) and nothing was made or fell out of use since
    /// the last sweep: then no entry is looked at.
    pub(crate) fn drop_unused(&self, snapshot: &Snapshot, keep: Option<&str>) {
        if snapshot.nodes_unchanged && !self.lock().maybe_unused {
            return;
        }
        // A set, not a search per entry: a cluster can have thousands of nodes.
        let used: HashSet<(&str, Role)> = snapshot
            .all()
            .map(|e| (e.node.name(), e.node.role()))
            .collect();
        self.retain(|e| {
            used.contains(&(e.node.name(), e.node.role())) || Some(e.node.name()) == keep
        });
    }

    /// False when an entry may be here that the last sweep did not look at.
    #[cfg(test)]
    pub(crate) fn is_swept(&self) -> bool {
        !self.lock().maybe_unused
    }

    /// Every entry, for an action on all of them.
    pub(crate) fn all(&self) -> Vec<Arc<NodeEntry>> {
        self.lock().by_role.values().cloned().collect()
    }

    /// Every node's meter, by node name.
    pub(crate) fn meters(&self) -> Vec<(Arc<str>, Arc<Meter>)> {
        let entries = self.lock();
        let meters = entries.meters.iter();
        meters
            .map(|(n, m)| (Arc::clone(n), Arc::clone(m)))
            .collect()
    }

    /// Every node's client-side cache counts, by node name (none with the cache off).
    pub(crate) fn cache_counts(&self) -> Vec<(Arc<str>, Arc<NodeCounts>)> {
        let entries = self.lock();
        let counts = entries.cache_counts.iter();
        counts
            .map(|(n, c)| (Arc::clone(n), Arc::clone(c)))
            .collect()
    }

    /// The meter of the node named `name`, if it has an entry.
    pub(crate) fn meter(&self, name: &str) -> Option<Arc<Meter>> {
        self.lock().meters.get(name).cloned()
    }

    /// Drops entries no longer in use, closing their sockets, and the meters of nodes left
    /// with no entry.
    fn retain(&self, keep: impl Fn(&NodeEntry) -> bool) {
        let mut entries = self.lock();
        entries.by_role.retain(|_, e| keep(e));
        entries.maybe_unused = false;
        let Entries {
            by_role,
            meters,
            cache_counts,
            ..
        } = &mut *entries;
        // A set, not a search per meter: a cluster can have thousands of nodes.
        let named: HashSet<&str> = by_role.keys().map(|(name, _)| name.as_ref()).collect();
        meters.retain(|name, _| named.contains(name.as_ref()));
        cache_counts.retain(|name, _| named.contains(name.as_ref()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Every critical section leaves the map whole, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A plain client for one node: commands go to that node only, never redirected.
///
/// It shares the node's connection with the cluster client that made it, and its retry rules:
/// a command that certainly did not reach the node, or only reads, is sent again within the
/// retry deadline.
#[derive(Clone, Debug)]
pub struct NodeClient {
    cluster: RedisCluster,
    entry: Arc<NodeEntry>,
}

impl NodeClient {
    pub(crate) fn new(cluster: RedisCluster, entry: Arc<NodeEntry>) -> NodeClient {
        NodeClient { cluster, entry }
    }

    /// The node this client talks to.
    pub fn node(&self) -> &ClusterNode {
        &self.entry.node
    }

    /// The underlying connection.
    pub fn connection(&self) -> &Connection {
        &self.entry.conn
    }
}

impl Executor for NodeClient {
    type Output<T: FromValue + Send + 'static> = CommandFuture<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
        let cluster = self.cluster.clone();
        let entry = Arc::clone(&self.entry);
        CommandFuture::new(async move { T::from_value(cluster.run_node(&entry, &cmd).await?) })
    }
}
