//! Connecting to the nodes at start instead of on first use: the
//! [`preconnect`](ClusterBuilder::preconnect) setting and the fan-out `build` runs for it.
//!
//! Without it, `build` opens only the sockets discovery needs (the startup node it reached and
//! up to [`discovery_fanout`](ClusterBuilder::discovery_fanout) primaries in all, the command
//! table read on one of them), and every other node's socket opens on its first command:
//! concurrent first commands share one attempt (`Connection` connects under its reconnect
//! lock, and those waiting find the socket open). A 1,000-shard cluster then costs a client a
//! few sockets, not thousands, until it uses them.
//!
//! This module does not keep sockets open or reopen them: a node that fails here is just not
//! connected yet, and its next command connects (after the reconnect backoff).

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::builder::ClusterBuilder;
use super::node::NodeEntry;
use super::Inner;
use crate::protocol::Cmd;

/// How many nodes are connected to at once: enough to connect a thousand nodes on a local
/// network in well under a second, few enough not to open a burst of thousands of sockets
/// (and handshakes) against the client's file descriptor limit and the nodes' accept queues.
pub(crate) const PRECONNECT_CONCURRENCY: usize = 64;

impl ClusterBuilder {
    /// Whether [`build`](Self::build) connects to every primary (and, when
    /// [`read_from`](Self::read_from) uses replicas, every replica) before it returns, rather
    /// than each node on its first command. The connects run
    /// 64 at a time, each bounded by the [connect timeout](Self::connect_timeout), all within
    /// what is left of the [startup timeout](Self::startup_timeout); a node that fails is not an
    /// error of `build`: it is connected to on first use, as without this setting.
    ///
    /// Turn it on to take the connect cost at start rather than on the first command to each
    /// shard (a latency-sensitive service that warms up before taking traffic); leave it off for
    /// large clusters of which a client uses a few shards. Default is false.
    ///
    /// ```no_run
    /// # async fn demo() -> slotwise::Result<()> {
    /// use slotwise::RedisCluster;
    ///
    /// let cluster = RedisCluster::builder()
    ///     .url("redis://127.0.0.1:7000")
    ///     .preconnect(true)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn preconnect(mut self, preconnect: bool) -> ClusterBuilder {
        self.preconnect = preconnect;
        self
    }
}

/// Connects to every primary of the installed topology, and every replica if reads go to
/// replicas, `PRECONNECT_CONCURRENCY` at a time, within `limit`. Returns how many nodes are
/// connected; the others connect on use.
pub(crate) async fn preconnect(inner: &Inner, limit: Duration) -> usize {
    let snapshot = inner.topology.snapshot();
    let replicas = inner.settings.read_from.uses_replicas();
    let nodes: Vec<Arc<NodeEntry>> = match replicas {
        true => snapshot.all().cloned().collect(),
        false => snapshot.primaries().cloned().collect(),
    };
    let wait = inner.settings.connection.connect_timeout.min(limit);
    let ping = Cmd::new("PING");
    let connects = stream::iter(&nodes)
        .map(|entry| {
            let ping = &ping;
            async move {
                if entry.conn.is_connected() {
                    return;
                }
                // A command opens the socket and greets the node; a `PING` changes nothing.
                if let Err(e) = entry.conn.send_within(ping, wait).await {
                    tracing::debug!(node = entry.node.name(), error = %e, "could not preconnect; connecting on first use");
                }
            }
        })
        .buffer_unordered(PRECONNECT_CONCURRENCY)
        .collect::<Vec<()>>();
    if tokio::time::timeout(limit, connects).await.is_err() {
        tracing::debug!("the startup timeout ended preconnecting; the rest connect on first use");
    }
    nodes.iter().filter(|e| e.conn.is_connected()).count()
}
