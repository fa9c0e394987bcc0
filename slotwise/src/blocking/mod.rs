//! The blocking facade: [`RedisCluster`] with the same names and behaviour as the async
//! [`crate::RedisCluster`], for code that does not run on an async runtime.
//!
//! Each client owns a small tokio runtime (one worker thread) that drives its sockets; a call
//! blocks the calling thread until the async core has the answer. Nothing of the cluster logic is
//! written twice: every handle here wraps its async twin, and the typed command methods come from
//! the same traits ([`StringCommands`](crate::commands::StringCommands) …), because these
//! handles implement [`Executor`] with `Output<T> = Result<T>` where the async ones return a
//! future.
//!
//! Calling a blocking client from inside an async runtime would stall that runtime's thread, so
//! every call checks first and returns an [`ErrorKind::Unsupported`] error instead.
//!
//! ```no_run
//! use slotwise::blocking::RedisCluster;
//! use slotwise::commands::StringCommands;
//!
//! let cluster = RedisCluster::from_url("redis://127.0.0.1:7000")?;
//! cluster.set("greeting", "hello")?;
//! let value: Option<String> = cluster.get("greeting")?;
//! # Ok::<(), slotwise::Error>(())
//! ```

mod builder;
mod handles;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

pub use builder::ClusterBuilder;
pub use handles::{NodeClient, Pipeline, PubSub, Request, TargetedCluster, Watch};

use bytes::Bytes;

use crate::cluster::{ClusterNode, ReadFrom, ScanOptions, Script, Stats, Target};
use crate::commands::Executor;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs};
use crate::{NodeStats, NonAtomicExecutor};

/// The runtime behind a blocking client and every handle made from it.
pub(crate) struct Runtime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Runtime {
    fn new() -> Result<Arc<Runtime>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("slotwise-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start a runtime: {e}")))?;
        Ok(Arc::new(Runtime {
            runtime: Some(runtime),
        }))
    }

    /// Runs `f` to completion on this runtime, blocking the calling thread.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the blocking client was called from inside an async runtime, which it would \
                 stall; use the async slotwise::RedisCluster there",
            ));
        }
        match &self.runtime {
            Some(rt) => Ok(rt.block_on(f)),
            None => Err(Error::new(
                ErrorKind::Closed,
                "the blocking client is shut down",
            )),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropping a runtime inside an async context panics; shutting it down in the
        // background does not, wherever the last handle is dropped.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Runtime")
    }
}

/// A blocking Redis Cluster client: [`crate::RedisCluster`], one call at a time per thread.
///
/// Cheap to clone; clones share the topology, the connections and the runtime. Many threads
/// may use one client at once: their commands share each node's connection.
#[derive(Clone)]
pub struct RedisCluster {
    inner: crate::RedisCluster,
    rt: Arc<Runtime>,
}

impl RedisCluster {
    /// A builder with every setting at its default.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::new()
    }

    /// Connects through the node at `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Result<RedisCluster> {
        ClusterBuilder::new()
            .startup_node(ClusterNode::new(host, port))
            .build()
    }

    /// Connects through the node of a `redis://[user[:password]@]host[:port]` URL.
    pub fn from_url(url: &str) -> Result<RedisCluster> {
        ClusterBuilder::new().url(url).build()
    }

    /// Connects through the first of `nodes` that answers.
    pub fn from_nodes(nodes: impl IntoIterator<Item = ClusterNode>) -> Result<RedisCluster> {
        ClusterBuilder::new().startup_nodes(nodes).build()
    }

    pub(crate) fn connect(builder: crate::ClusterBuilder) -> Result<RedisCluster> {
        let rt = Runtime::new()?;
        let inner = rt.block_on(builder.build())??;
        Ok(RedisCluster { inner, rt })
    }

    /// The hash slot of `key`.
    pub fn keyslot(key: impl AsRef<[u8]>) -> u16 {
        crate::RedisCluster::keyslot(key)
    }

    /// Every node of the cluster: primaries first.
    pub fn get_nodes(&self) -> Vec<ClusterNode> {
        self.inner.get_nodes()
    }

    /// Every primary.
    pub fn get_primaries(&self) -> Vec<ClusterNode> {
        self.inner.get_primaries()
    }

    /// Every replica the cluster reports online.
    pub fn get_replicas(&self) -> Vec<ClusterNode> {
        self.inner.get_replicas()
    }

    /// The node at `host:port`, if the cluster has it.
    pub fn get_node(&self, host: &str, port: u16) -> Option<ClusterNode> {
        self.inner.get_node(host, port)
    }

    /// A node chosen at random.
    pub fn get_random_node(&self) -> ClusterNode {
        self.inner.get_random_node()
    }

    /// The node serving `key` (a replica of it with `replica`).
    pub fn get_node_from_key(&self, key: impl AsRef<[u8]>, replica: bool) -> Result<ClusterNode> {
        self.inner.get_node_from_key(key, replica)
    }

    /// The nodes `cmd` would go to now, without sending it; see
    /// [`crate::RedisCluster::nodes_for`].
    pub fn nodes_for(&self, cmd: &crate::protocol::Cmd) -> Result<Vec<ClusterNode>> {
        self.rt.block_on(self.inner.nodes_for(cmd))?
    }

    /// The slot ranges (inclusive) `node` serves as a primary.
    pub fn slot_ranges(&self, node: &ClusterNode) -> Vec<(u16, u16)> {
        self.inner.slot_ranges(node)
    }

    /// The node that keyless commands without a routing tip go to.
    pub fn default_node(&self) -> ClusterNode {
        self.inner.default_node()
    }

    /// Makes `node` (a primary) the default node.
    pub fn set_default_node(&self, node: &ClusterNode) -> Result<()> {
        self.inner.set_default_node(node)
    }

    /// A plain client for `node` alone, sharing its connection.
    pub fn node_client(&self, node: &ClusterNode) -> Result<NodeClient> {
        Ok(NodeClient::new(
            self.inner.node_client(node)?,
            Arc::clone(&self.rt),
        ))
    }

    /// A handle whose read-only commands go to replicas.
    #[must_use = "it returns a new handle; this one reads as before"]
    pub fn readonly(&self) -> RedisCluster {
        self.wrap(self.inner.readonly())
    }

    /// A handle whose commands all go to primaries.
    #[must_use = "it returns a new handle; this one reads as before"]
    pub fn readwrite(&self) -> RedisCluster {
        self.wrap(self.inner.readwrite())
    }

    /// A handle whose commands never use the client-side cache; see
    /// [`crate::RedisCluster::no_cache`].
    #[must_use = "it returns a new handle; this one reads as before"]
    pub fn no_cache(&self) -> RedisCluster {
        self.wrap(self.inner.no_cache())
    }

    /// This handle's read strategy.
    pub fn read_from(&self) -> ReadFrom {
        self.inner.read_from()
    }

    /// The availability zone of `node`; see [`crate::RedisCluster::node_zone`].
    pub fn node_zone(&self, node: &ClusterNode) -> Option<String> {
        self.inner.node_zone(node)
    }

    /// The smoothed round trip of `node`; see [`crate::RedisCluster::node_latency`].
    pub fn node_latency(&self, node: &ClusterNode) -> Option<std::time::Duration> {
        self.inner.node_latency(node)
    }

    /// A handle whose commands go to `target`.
    pub fn target(&self, target: Target) -> TargetedCluster {
        TargetedCluster::new(self.inner.target(target), Arc::clone(&self.rt))
    }

    /// A raw command, for anything the typed methods do not cover.
    pub fn cmd(&self, name: &str) -> Request {
        Request::new(self.inner.cmd(name), Arc::clone(&self.rt))
    }

    /// A pipeline: commands queued, then sent together; see [`crate::RedisCluster::pipeline`].
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.inner.pipeline(), Arc::clone(&self.rt))
    }

    /// A transaction on one slot; see [`crate::RedisCluster::transaction`].
    pub fn transaction(&self) -> Pipeline {
        Pipeline::new(self.inner.transaction(), Arc::clone(&self.rt))
    }

    /// A pub/sub connection; see [`crate::PubSub`]. Its task runs on this client's runtime.
    pub fn pubsub(&self) -> Result<PubSub> {
        let inner = self.rt.block_on(async { self.inner.pubsub() })??;
        Ok(PubSub::new(inner, Arc::clone(&self.rt)))
    }

    /// Runs `script`: `EVALSHA`, then `EVAL` if the node lacks it; see
    /// [`crate::RedisCluster::eval_script`].
    pub fn eval_script<T: FromValue>(
        &self,
        script: &Script,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Result<T> {
        self.rt
            .block_on(self.inner.eval_script(script, keys, args))?
    }

    /// Loads `script` on every primary; see [`crate::RedisCluster::load_script`].
    pub fn load_script(&self, script: &Script) -> Result<String> {
        self.rt.block_on(self.inner.load_script(script))?
    }

    /// Watches `keys` (one slot) for a check-and-set transaction; see
    /// [`crate::RedisCluster::watch`].
    pub fn watch(&self, keys: impl ToArgs) -> Result<Watch> {
        Ok(Watch::new(
            self.rt.block_on(self.inner.watch(keys))??,
            Arc::clone(&self.rt),
        ))
    }

    /// Scans every key of the cluster; see [`crate::RedisCluster::scan`]. The scan is an
    /// iterator of keys, asking the next node or batch as it goes.
    ///
    /// ```no_run
    /// # fn demo(cluster: slotwise::blocking::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::ScanOptions;
    /// for key in cluster.scan(ScanOptions::new().pattern("user:*")) {
    ///     println!("{}", String::from_utf8_lossy(&key?));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn scan(&self, options: ScanOptions) -> ClusterScan {
        self.scan_from(crate::ScanCursor::start(), options)
    }

    /// The cluster's events from now on, as an iterator that blocks for the next one; see
    /// [`crate::RedisCluster::events`].
    ///
    /// ```no_run
    /// # fn demo(cluster: slotwise::blocking::RedisCluster) {
    /// for event in cluster.events() {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> ClusterEvents {
        Events::new(self.inner.events(), Arc::clone(&self.rt))
    }

    /// Resumes a scan from its cursor; see [`crate::RedisCluster::scan_from`].
    pub fn scan_from(&self, cursor: crate::ScanCursor, options: ScanOptions) -> ClusterScan {
        ClusterScan {
            inner: Some(self.inner.scan_from(cursor, options)),
            rt: Arc::clone(&self.rt),
            batch: std::collections::VecDeque::new(),
            before: None,
        }
    }

    /// Reloads the topology now.
    pub fn refresh_topology(&self) -> Result<()> {
        self.rt.block_on(self.inner.refresh_topology())?
    }

    /// Authenticates with `credentials` from now on, open connections included; see
    /// [`crate::RedisCluster::update_credentials`].
    pub fn update_credentials(&self, credentials: crate::connection::Credentials) -> Result<()> {
        self.rt
            .block_on(self.inner.update_credentials(credentials))?
    }

    /// What the client did to keep commands flowing, and what it saw of each node (see
    /// [`crate::RedisCluster::stats`]).
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// What the client saw of `node` (see [`crate::RedisCluster::node_stats`]).
    pub fn node_stats(&self, node: &ClusterNode) -> Option<NodeStats> {
        self.inner.node_stats(node)
    }

    fn wrap(&self, inner: crate::RedisCluster) -> RedisCluster {
        RedisCluster {
            inner,
            rt: Arc::clone(&self.rt),
        }
    }
}

/// A stream of events as an iterator that blocks for the next one: the cluster's
/// ([`ClusterEvents`], from [`RedisCluster::events`]) or a [`PubSub`]'s (from
/// [`PubSub::events`]). It ends when their source is gone.
#[derive(Debug)]
pub struct Events<E> {
    inner: crate::events::Events<E>,
    rt: Arc<Runtime>,
}

/// The cluster's events; see [`RedisCluster::events`].
pub type ClusterEvents = Events<crate::ClusterEvent>;

impl<E: crate::events::Lagging> Events<E> {
    pub(crate) fn new(inner: crate::events::Events<E>, rt: Arc<Runtime>) -> Events<E> {
        Events { inner, rt }
    }

    /// The next event, waiting at most `timeout` for it.
    pub fn recv_timeout(&mut self, timeout: std::time::Duration) -> Option<E> {
        let inner = &mut self.inner;
        self.rt
            .block_on(async move { tokio::time::timeout(timeout, inner.recv()).await })
            .ok()
            .and_then(|r| r.ok())
            .flatten()
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<E> {
        self.inner.try_recv()
    }
}

impl<E: crate::events::Lagging> Iterator for Events<E> {
    type Item = E;

    fn next(&mut self) -> Option<E> {
        self.rt.block_on(self.inner.recv()).ok().flatten()
    }
}

/// A scan of every key of the cluster, as an iterator; see [`RedisCluster::scan`]. After an
/// error it ends.
#[derive(Debug)]
#[must_use = "iterators are lazy: a scan does nothing until iterated"]
pub struct ClusterScan {
    /// `None` once the scan ended (at its end or at an error).
    inner: Option<crate::ClusterScan>,
    rt: Arc<Runtime>,
    batch: std::collections::VecDeque<Bytes>,
    /// The cursor from before the batch being taken.
    before: Option<crate::ScanCursor>,
}

impl ClusterScan {
    /// The next batch of keys, `None` once every node has been scanned to its end.
    pub fn next_batch(&mut self) -> Result<Option<Vec<Bytes>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(None);
        };
        self.before = Some(inner.cursor());
        let batch = self.rt.block_on(inner.next_batch())?;
        if !matches!(batch, Ok(Some(_))) {
            self.inner = None;
        }
        batch
    }
}

impl ClusterScan {
    /// Where the scan stands, to resume it with [`RedisCluster::scan_from`]. While keys of
    /// a batch are still to be taken from the iterator, it is the cursor from before that batch:
    /// resuming from it may return some keys again, never miss one. `None` once the scan ended.
    pub fn cursor(&self) -> Option<crate::ScanCursor> {
        if self.batch.is_empty() {
            self.inner.as_ref().map(crate::ClusterScan::cursor)
        } else {
            self.before.clone()
        }
    }

    /// Every key the rest of the scan finds, in one vector.
    pub fn all_keys(self) -> Result<Vec<Bytes>> {
        self.collect()
    }
}

impl Iterator for ClusterScan {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Result<Bytes>> {
        loop {
            if let Some(key) = self.batch.pop_front() {
                return Some(Ok(key));
            }
            match self.next_batch() {
                Ok(Some(keys)) => self.batch.extend(keys),
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Executor for RedisCluster {
    type Output<T: FromValue + Send + 'static> = Result<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Result<T> {
        self.rt.block_on(self.inner.execute::<T>(cmd))?
    }
}

impl NonAtomicExecutor for RedisCluster {
    fn execute_nonatomic<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Result<T> {
        self.rt.block_on(self.inner.execute_nonatomic::<T>(cmd))?
    }
}

impl fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::RedisCluster")
            .field(&self.inner)
            .finish()
    }
}
