//! The path of one command: route it, send it, follow redirections, retry what is safe to
//! retry, merge the replies of several nodes.
//!
//! Every cluster command comes through [`RedisCluster::run`] (typed methods, raw requests,
//! targets, the cross-slot splitter), and every node command through [`RedisCluster::run_node`].
//! One attempt loop (`retry`) serves them all, and transactions, watches, pipelines and split
//! commands too; what to do about an error is decided in `classify`, how long to wait in
//! `backoff`, fan-outs live in `fanout`.
//!
//! This module does not discover topology (see `refresh`) or parse commands (see `routing`).

pub(super) mod backoff;
mod cached;
pub(super) mod classify;
mod direct;
mod fanout;
mod retry;
pub(super) mod scatter;

use std::sync::Arc;
use std::time::Duration;

use super::node::{ClusterNode, NodeEntry, Role};
use super::stats::Counters;
use super::target::Target;
use super::{Inner, RedisCluster};
use crate::error::{Error, ErrorKind, Redirect, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::{block_time, one_slot, route, Block, CommandInfo, CommandTable, Route};
pub(crate) use direct::InFlight;
pub(crate) use fanout::Merge;
pub(crate) use retry::{within_deadline, Attempt, Destination, HandleReads, Operation};

/// Commands that change the state of the connection they run on, which every caller shares.
const CONNECTION_STATE: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "monitor",
    "reset",
    "quit",
    "hello",
    "auth",
    "client|reply",
];

impl RedisCluster {
    /// Runs one command, routed by its keys or its routing tips, or to `target`.
    pub(crate) async fn run(&self, cmd: &Cmd, target: Option<&Target>) -> Result<Value> {
        if let (Some(cache), None) = (&self.inner.cache, target) {
            // Boxed, and decided here rather than deeper down: the cache's paths stay out of
            // the futures of a client without one.
            return Box::pin(self.run_caching(cache, cmd)).await;
        }
        let snapshot = self.snapshot();
        let info = snapshot.table.lookup(cmd);
        if let Some(info) = info {
            refuse_connection_state(info)?;
        }
        let readonly = info.is_some_and(CommandInfo::is_readonly);
        if let Some(target) = target {
            let merge = match info.and_then(CommandInfo::response_policy) {
                Some(policy) => Merge::Policy(policy),
                None => Merge::PerNode,
            };
            // Boxed, as every path but a slot's: the slot path's future is every command's.
            return Box::pin(self.run_target(cmd, target, merge, readonly)).await;
        }
        let route = route(info, cmd)?;
        self.run_routed(cmd, info, readonly, route).await
    }

    /// [`run`](Self::run) for a client with the cache on: a cacheable read is looked up before
    /// anything else (a hit needs no routing: an entry is dropped when its node loses the
    /// slot), a miss is sent and stored, and a write drops its keys' entries.
    async fn run_caching(&self, cache: &super::cache::Cache, cmd: &Cmd) -> Result<Value> {
        if let Some(value) = self.cache_hit(cmd) {
            // A hit waits on nothing: a task reading only hits still lets others run.
            tokio::task::coop::consume_budget().await;
            return Ok(value);
        }
        self.run_missed(cache, cmd).await
    }

    /// The reply to `cmd` from the client-side cache, if it has one to serve this handle.
    pub(crate) fn cache_hit(&self, cmd: &Cmd) -> Option<Value> {
        if !self.cached {
            return None;
        }
        self.inner.cache_hit(cmd, self.reads)
    }

    /// Runs `cmd`, which [`cache_hit`](Self::cache_hit) did not answer.
    pub(crate) async fn run_cache_missed(&self, cmd: &Cmd) -> Result<Value> {
        match &self.inner.cache {
            Some(cache) => self.run_missed(cache, cmd).await,
            None => self.run(cmd, None).await,
        }
    }

    /// The rest of [`run_caching`](Self::run_caching), after the lookup missed.
    async fn run_missed(&self, cache: &super::cache::Cache, cmd: &Cmd) -> Result<Value> {
        let key = super::cache::cached_key(cmd).filter(|_| self.cached);
        let replicas = self.strategy().uses_replicas();
        let snapshot = self.snapshot();
        let info = snapshot.table.lookup(cmd);
        if let Some(info) = info {
            refuse_connection_state(info)?;
        }
        let readonly = info.is_some_and(CommandInfo::is_readonly);
        let route = route(info, cmd)?;
        if !readonly {
            let result = self.run_routed(cmd, info, readonly, route).await;
            cache.forget_written(&self.snapshot(), cmd, info);
            return result;
        }
        if let (Some(key), Route::Slot(slot)) = (key, &route) {
            let read = replicas.then_some(HandleReads);
            return self.run_cached(cache, cmd, key, *slot, read).await;
        }
        self.run_routed(cmd, info, readonly, route).await
    }

    /// Runs `cmd` where `route` (from its keys or routing tips) sends it.
    async fn run_routed(
        &self,
        cmd: &Cmd,
        info: Option<&CommandInfo>,
        readonly: bool,
        route: Route,
    ) -> Result<Value> {
        match route {
            Route::Slot(slot) => self.run_slot(cmd, info, slot).await,
            // The fan-outs are boxed: inline, they would make every command's future larger
            // than the slot path's (see `a_get_future_fits_the_allocator_s_thread_cache`).
            Route::AllNodes(policy) => {
                let merge = Merge::Tip(policy);
                Box::pin(self.run_target(cmd, &Target::AllNodes, merge, readonly)).await
            }
            Route::AllShards(policy) => {
                let merge = Merge::Tip(policy);
                Box::pin(self.run_target(cmd, &Target::Primaries, merge, readonly)).await
            }
            Route::Default => {
                self.dispatch(cmd, Destination::Default, readonly, Block::Not)
                    .await
            }
            Route::Split | Route::NoKeys => self.run_split(cmd, info).await,
            Route::AskKeys => match self.slot_from_server(cmd).await? {
                Some(slot) => self.run_slot(cmd, info, slot).await,
                None => {
                    self.dispatch(cmd, Destination::Default, readonly, Block::Not)
                        .await
                }
            },
        }
    }

    /// The nodes `cmd` would go to now, routed as it would be, without sending it: the node
    /// serving its keys' slot (a replica for a read-only command on a handle that reads from
    /// replicas), every node or every primary for a command whose routing tips say so, each
    /// slot's node for a multi-key command split by slot (none if it has no keys: it is answered
    /// without sending), else the default node. A command
    /// whose keys the command table cannot locate asks the server (`COMMAND GETKEYS`).
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::protocol::Cmd;
    /// let nodes = cluster.nodes_for(&Cmd::new("GET").arg("user:42")).await?;
    /// println!("GET user:42 goes to {}", nodes[0].name());
    /// # Ok(()) }
    /// ```
    pub async fn nodes_for(&self, cmd: &Cmd) -> Result<Vec<ClusterNode>> {
        let snapshot = self.snapshot();
        let info = snapshot.table.lookup(cmd);
        let readonly = info.is_some_and(CommandInfo::is_readonly);
        let read = readonly
            .then(|| self.strategy())
            .filter(|r| r.uses_replicas());
        let of_slots = |slots: &[u16]| -> Result<Vec<ClusterNode>> {
            let mut nodes: Vec<ClusterNode> = Vec::new();
            for slot in slots {
                let node = snapshot.node_for_slot(*slot, read)?.node.clone();
                if !nodes.contains(&node) {
                    nodes.push(node);
                }
            }
            Ok(nodes)
        };
        match route(info, cmd)? {
            Route::Slot(slot) => of_slots(&[slot]),
            Route::AllNodes(_) => Ok(snapshot.all().map(|e| e.node.clone()).collect()),
            Route::AllShards(_) => Ok(snapshot.primaries().map(|e| e.node.clone()).collect()),
            Route::Default => Ok(vec![self.default_node()]),
            // Answered without sending anything.
            Route::NoKeys => Ok(Vec::new()),
            Route::Split => {
                let mut keys: Vec<&[u8]> = Vec::new();
                if let Some(info) = info {
                    info.for_each_key(cmd, |_, key| keys.push(key));
                }
                of_slots(&crate::routing::distinct_slots(keys))
            }
            Route::AskKeys => match self.slot_from_server(cmd).await? {
                Some(slot) => of_slots(&[slot]),
                None => Ok(vec![self.default_node()]),
            },
        }
    }

    /// Runs a command on the node serving `slot`, following redirections.
    pub(crate) async fn run_slot(
        &self,
        cmd: &Cmd,
        info: Option<&CommandInfo>,
        slot: u16,
    ) -> Result<Value> {
        let readonly = info.is_some_and(CommandInfo::is_readonly);
        let read = (readonly && self.strategy().uses_replicas()).then_some(HandleReads);
        let blocks = match info.is_some_and(CommandInfo::is_blocking) {
            true => block_time(cmd),
            false => Block::Not,
        };
        self.dispatch(cmd, Destination::Slot { slot, read }, readonly, blocks)
            .await
    }

    /// Runs a command on one node: retried if safe, never redirected elsewhere.
    pub(crate) async fn run_node(&self, entry: &Arc<NodeEntry>, cmd: &Cmd) -> Result<Value> {
        let snapshot = self.snapshot();
        let info = snapshot.table.lookup(cmd);
        let readonly = info.is_some_and(CommandInfo::is_readonly);
        let result = self.run_on(entry, cmd, readonly).await;
        if let (Some(cache), false) = (&self.inner.cache, readonly) {
            // As for a cluster command: the client reads this write at once.
            cache.forget_written(&self.snapshot(), cmd, info);
        }
        result
    }

    /// [`run_node`](Self::run_node) for a caller that already knows whether `cmd` only reads.
    pub(crate) async fn run_on(
        &self,
        entry: &Arc<NodeEntry>,
        cmd: &Cmd,
        readonly: bool,
    ) -> Result<Value> {
        self.dispatch(
            cmd,
            Destination::Node(Arc::clone(entry)),
            readonly,
            Block::Not,
        )
        .await
    }

    /// Finds a command's slot with `COMMAND GETKEYS` when the table cannot.
    pub(super) async fn slot_from_server(&self, cmd: &Cmd) -> Result<Option<u16>> {
        let mut ask = Cmd::new("COMMAND").arg("GETKEYS");
        for arg in cmd.args() {
            ask.push_bytes(arg);
        }
        let keys = match self
            .dispatch(&ask, Destination::Default, true, Block::Not)
            .await
        {
            Ok(Value::Array(keys)) | Ok(Value::Set(keys)) => keys,
            Ok(_) => return Ok(None),
            // "The command has no key arguments" and the like: route it as keyless.
            Err(e) if e.is_server_error() => return Ok(None),
            Err(e) => return Err(e),
        };
        one_slot(
            &String::from_utf8_lossy(cmd.name()),
            keys.iter().filter_map(|k| k.as_bytes()),
        )
    }
}

/// A queued command's table entry, after refusing before anything is sent what a batch on a
/// shared connection cannot carry: `SELECT`, and commands that change the connection's state.
pub(super) fn queueable<'t>(table: &'t CommandTable, cmd: &Cmd) -> Result<Option<&'t CommandInfo>> {
    crate::connection::refuse_in_cluster(cmd)?;
    let info = table.lookup(cmd);
    if let Some(info) = info {
        refuse_connection_state(info)?;
    }
    Ok(info)
}

pub(super) fn refuse_connection_state(info: &CommandInfo) -> Result<()> {
    if CONNECTION_STATE.contains(&info.name()) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} changes the state of a connection that all callers share; use the \
                 dedicated API (pub/sub, pipelines and transactions) instead",
                info.name().to_uppercase()
            ),
        ));
    }
    Ok(())
}

/// `ASKING` and the command as one write: no other caller's command can come between them and
/// use up the one-shot permission.
async fn send_asking(entry: &NodeEntry, cmd: &Cmd, timeout: Duration) -> Result<Value> {
    let asking = Cmd::new("ASKING");
    let replies = entry
        .conn
        .send_batch_within([&asking, cmd], timeout)
        .await?;
    match replies.into_iter().nth(1) {
        Some(Value::Error(e)) => Err(Error::from_server(e).with_node(entry.node.name())),
        Some(v) => Ok(v),
        None => Err(Error::new(ErrorKind::Protocol, "no reply after ASKING")),
    }
}

/// A blocking command gets a connection of its own, so it cannot stall other callers: an idle
/// one of the node's, else a new one. It waits the response timeout plus `blocks` (how long the
/// command may block) for the reply; the socket failing still ends it at once. The connection
/// goes back to the node's idle ones (at most `keep`) only after a reply: after a timeout, a
/// lost socket or a cancelled call, the server may still be running the command on it.
async fn send_dedicated(
    entry: &NodeEntry,
    cmd: &Cmd,
    blocks: Duration,
    keep: usize,
) -> Result<Value> {
    let idle = entry.blocking.lock().ok().and_then(|mut idle| idle.pop());
    let conn = match idle {
        Some(conn) => conn,
        None => crate::connection::Connection::connect(entry.conn.config().clone()).await?,
    };
    let response_timeout = entry.conn.config().response_timeout;
    let wait = response_timeout.checked_add(blocks).unwrap_or(blocks);
    let result = conn.send_within(cmd, wait).await;
    let replied = match &result {
        Ok(_) => true,
        Err(e) => e.server_error().is_some(),
    };
    if replied {
        if let Ok(mut idle) = entry.blocking.lock() {
            if idle.len() < keep {
                idle.push(conn);
            }
        }
    }
    result
}

impl Inner {
    /// The reply to `cmd` from the client-side cache, if it has one to serve a handle reading
    /// with `reads` through the cache.
    #[inline]
    pub(super) fn cache_hit(&self, cmd: &Cmd, reads: super::Reads) -> Option<Value> {
        let cache = self.cache.as_ref()?;
        let key = super::cache::cached_key(cmd)?;
        cache.lookup(key, cmd, reads.strategy(self).uses_replicas())
    }

    /// Waits before a retry: `wait`, or until a new topology (asking for one) or word that the
    /// cluster serves again, whichever comes first, when the retry needs one.
    pub(crate) async fn pause_before_retry(
        self: &Arc<Inner>,
        refresh: classify::Refresh,
        wait: Duration,
        generation: u64,
        serving: u64,
    ) {
        match refresh {
            classify::Refresh::No => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            classify::Refresh::AwaitChange => {
                self.request_refresh();
                self.wait_for_change_since(generation, serving, wait).await;
            }
        }
    }

    /// The entry to follow a redirection to; an empty host means the redirecting node's host.
    fn redirect_entry(&self, from: &NodeEntry, redirect: &Redirect) -> Arc<NodeEntry> {
        let host = if redirect.host.is_empty() {
            from.node.host()
        } else {
            redirect.host.as_str()
        };
        let (host, port) = match &self.settings.remap {
            Some(remap) if !redirect.host.is_empty() => remap(host, redirect.port),
            _ => (host.to_owned(), redirect.port),
        };
        self.registry.entry(&host, port, Role::Primary)
    }

    /// Follows a `MOVED` that `from` answered, whoever met it: counts it, moves the slot to the
    /// node it names at once, and asks for a full refresh.
    pub(crate) fn follow_moved(self: &Arc<Inner>, from: &NodeEntry, redirect: &Redirect) {
        Counters::bump(&self.counters.moved);
        let target = self.redirect_entry(from, redirect);
        self.apply_moved(redirect.slot, &target);
    }

    /// Follows an `ASK` that `from` answered: counts it and returns the node to ask.
    pub(crate) fn follow_ask(&self, from: &NodeEntry, redirect: &Redirect) -> Arc<NodeEntry> {
        Counters::bump(&self.counters.ask);
        self.redirect_entry(from, redirect)
    }
}

/// The read strategy's view of one attempt: did it go to a replica?
pub(super) fn via_replica(entry: &NodeEntry) -> bool {
    entry.node.role() == Role::Replica
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` returns, without calling it.
    fn future_size<'a, F, Fut>(_f: F) -> usize
    where
        F: FnOnce(&'a RedisCluster, &'a Cmd) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    /// A command's future is boxed once, with its handle and command: glibc serves blocks of up
    /// to 1,032 bytes from a per-thread cache, and one larger takes its slower path for every
    /// command. The rare paths (fan-outs, waits between attempts) are boxed where they are
    /// awaited so that they do not count.
    #[test]
    fn a_get_future_fits_the_allocator_s_thread_cache() {
        let run = future_size(|c, cmd| c.run(cmd, None));
        let boxed = run + std::mem::size_of::<RedisCluster>() + std::mem::size_of::<Cmd>();
        assert!(boxed <= 1_032, "a command's boxed future is {boxed} bytes");
    }
}
