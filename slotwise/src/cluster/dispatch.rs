//! The path of one command: route it, send it, follow redirections, retry what is safe to
//! retry, merge the replies of several nodes.
//!
//! Every way of sending a cluster command comes through [`RedisCluster::run`]: typed methods,
//! raw requests, targets and the cross-slot splitter. Redirections are always safe to follow
//! (the server did not run the command); after an I/O error only a request that certainly did
//! not reach the server, or a read-only command, is sent again.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::node::{NodeEntry, Role};
use super::read_from::ReadFrom;
use super::snapshot::Snapshot;
use super::stats::Counters;
use super::target::Target;
use super::{unknown_node, Inner, RedisCluster};
use crate::error::{Error, ErrorKind, Redirect, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::{merge_replies, CommandInfo, KeyScan, RequestPolicy, ResponsePolicy};
use crate::topology::keyslot;

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

/// How the replies of several nodes become one.
enum Merge {
    /// By the command's response policy.
    Policy(ResponsePolicy),
    /// Fanned out because its tips said so: by the policy, or the default aggregation of nested
    /// replies (`KEYS` arrays concatenated).
    Tip(Option<ResponsePolicy>),
    /// Sent where the caller chose, with no policy: a map of node name to reply, so each
    /// node's answer stays whole (`ROLE`, `CLIENT LIST`).
    PerNode,
}

/// Where a command goes.
enum Route {
    /// The node serving this slot.
    Slot(u16),
    /// Several nodes chosen by role; replies merged.
    Fanout(Target, Option<ResponsePolicy>),
    /// The default node.
    Default,
    /// Keys in several slots of a command that may be split per slot (`DEL`, `EXISTS` …).
    Split,
    /// The command table cannot find the keys: ask the server.
    AskKeys,
}

impl RedisCluster {
    /// Runs one command, routed by its keys or its routing tips, or to `target`.
    pub(crate) async fn run(&self, cmd: &Cmd, target: Option<&Target>) -> Result<Value> {
        let snapshot = self.snapshot();
        let info = snapshot.table.lookup(cmd);
        if let Some(info) = info {
            refuse_connection_state(info)?;
        }
        if let Some(target) = target {
            let merge = match info.and_then(CommandInfo::response_policy) {
                Some(policy) => Merge::Policy(policy),
                None => Merge::PerNode,
            };
            return self.run_target(cmd, target, merge).await;
        }
        let read = self.read_strategy(info);
        match route(info, cmd)? {
            Route::Slot(slot) => self.run_slot(cmd, slot, read, blocking(info)).await,
            Route::Fanout(target, policy) => {
                self.run_target(cmd, &target, Merge::Tip(policy)).await
            }
            Route::Default => self.run_on(&self.default_entry(), cmd).await,
            Route::Split => self.run_split(cmd, info).await,
            Route::AskKeys => {
                let slot = self.slot_from_server(cmd).await?;
                match slot {
                    Some(slot) => self.run_slot(cmd, slot, read, blocking(info)).await,
                    None => self.run_on(&self.default_entry(), cmd).await,
                }
            }
        }
    }

    /// The read strategy for this command: this handle's, if the command only reads.
    fn read_strategy(&self, info: Option<&CommandInfo>) -> Option<ReadFrom> {
        match info {
            Some(i) if i.is_readonly() && self.read_from.uses_replicas() => Some(self.read_from),
            _ => None,
        }
    }

    /// Sends a command on one slot, following redirections.
    pub(crate) async fn run_slot(
        &self,
        cmd: &Cmd,
        slot: u16,
        mut read: Option<ReadFrom>,
        dedicated: bool,
    ) -> Result<Value> {
        let max = self.inner.settings.max_redirects;
        let mut asking: Option<Arc<NodeEntry>> = None;
        let mut attempt = 0u32;
        loop {
            let snapshot = self.snapshot();
            let (entry, result) = match asking.take() {
                Some(entry) => {
                    let result = send_asking(&entry, cmd).await;
                    (entry, result)
                }
                None => {
                    let entry = Arc::clone(snapshot.node_for_slot(slot, read)?);
                    let result = if dedicated {
                        send_dedicated(&entry, cmd).await
                    } else {
                        entry.conn.send(cmd).await
                    };
                    (entry, result)
                }
            };
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            attempt += 1;
            if attempt > max {
                return Err(err);
            }
            match err.kind() {
                ErrorKind::Moved => {
                    let Some(redirect) = err.redirect().cloned() else {
                        return Err(err);
                    };
                    Counters::bump(&self.inner.counters.moved);
                    self.inner.apply_moved(&entry, &redirect);
                }
                ErrorKind::Ask => {
                    let Some(redirect) = err.redirect().cloned() else {
                        return Err(err);
                    };
                    Counters::bump(&self.inner.counters.ask);
                    asking = Some(self.inner.redirect_entry(&entry, &redirect));
                }
                ErrorKind::Loading if read.is_some() => {
                    // A replica still loading its data: read from the primary instead.
                    read = None;
                }
                ErrorKind::TryAgain => {
                    Counters::bump(&self.inner.counters.try_again);
                    backoff(attempt, 50).await;
                }
                ErrorKind::ClusterDown | ErrorKind::MasterDown => {
                    Counters::bump(&self.inner.counters.cluster_down);
                    self.inner.schedule_refresh();
                    backoff(attempt, 250).await;
                }
                ErrorKind::Io | ErrorKind::Timeout
                    if !err.may_have_run() || read.is_some() || is_readonly(&snapshot, cmd) =>
                {
                    Counters::bump(&self.inner.counters.io_retries);
                    if entry.node.role() == Role::Replica && read != Some(ReadFrom::Replica) {
                        // A replica that cannot be reached: read from the primary instead.
                        read = None;
                    }
                    let seen = snapshot.generation;
                    let _ = self.inner.refresh(seen).await;
                    backoff(attempt, 25).await;
                }
                _ => return Err(err),
            }
        }
    }

    /// Sends to one node, no redirections.
    async fn run_on(&self, entry: &NodeEntry, cmd: &Cmd) -> Result<Value> {
        entry.conn.send(cmd).await
    }

    /// Sends to the nodes of `target`; merges their replies unless it is a single node.
    async fn run_target(&self, cmd: &Cmd, target: &Target, merge: Merge) -> Result<Value> {
        let snapshot = self.snapshot();
        let nodes: Vec<Arc<NodeEntry>> = match target {
            Target::Primaries => snapshot.primaries().cloned().collect(),
            Target::Replicas => snapshot.replicas().cloned().collect(),
            Target::AllNodes => snapshot.all().cloned().collect(),
            Target::Random => {
                let all: Vec<&Arc<NodeEntry>> = snapshot.all().collect();
                match all.get(fastrand::usize(..all.len().max(1))) {
                    Some(e) => vec![Arc::clone(e)],
                    None => vec![self.default_entry()],
                }
            }
            Target::DefaultNode => vec![self.default_entry()],
            Target::Node(node) => match snapshot.find(node.name()) {
                Some(e) => vec![Arc::clone(e)],
                None => return Err(unknown_node(node)),
            },
            Target::Nodes(list) => {
                let mut found = Vec::with_capacity(list.len());
                for node in list {
                    match snapshot.find(node.name()) {
                        Some(e) => found.push(Arc::clone(e)),
                        None => return Err(unknown_node(node)),
                    }
                }
                found
            }
        };
        if target.is_single() {
            if let Some(entry) = nodes.first() {
                return entry.conn.send(cmd).await;
            }
        }
        if nodes.is_empty() {
            return Err(Error::new(
                ErrorKind::NoReachableNode,
                format!("no node matches the target {target:?}"),
            ));
        }
        let replies = join_all(
            nodes
                .iter()
                .map(|e| async move { (e.node.name().to_owned(), e.conn.send(cmd).await) }),
        )
        .await;
        match merge {
            Merge::Policy(policy) => merge_replies(Some(policy), replies),
            Merge::Tip(policy) => merge_replies(policy, replies),
            Merge::PerNode => {
                let mut map = Vec::with_capacity(replies.len());
                for (node, reply) in replies {
                    map.push((Value::Bulk(node.into()), reply?));
                }
                Ok(Value::Map(map))
            }
        }
    }

    /// Finds a command's slot with `COMMAND GETKEYS` when the table cannot.
    async fn slot_from_server(&self, cmd: &Cmd) -> Result<Option<u16>> {
        let mut ask = Cmd::new("COMMAND").arg("GETKEYS");
        for arg in cmd.args() {
            ask.push_bytes(arg);
        }
        let keys = match self.default_entry().conn.send(&ask).await {
            Ok(Value::Array(keys)) | Ok(Value::Set(keys)) => keys,
            Ok(_) => return Ok(None),
            // "The command has no key arguments" and the like: route it as keyless.
            Err(e) if e.is_server_error() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut slots = keys.iter().filter_map(|k| k.as_bytes()).map(keyslot);
        let Some(first) = slots.next() else {
            return Ok(None);
        };
        let mut all: Vec<u16> = vec![first];
        for s in slots {
            if !all.contains(&s) {
                all.push(s);
            }
        }
        if all.len() > 1 {
            return Err(cross_slot(&String::from_utf8_lossy(cmd.name()), &all));
        }
        Ok(Some(first))
    }
}

/// Decides where a command goes from what the table knows of it.
fn route(info: Option<&CommandInfo>, cmd: &Cmd) -> Result<Route> {
    let Some(info) = info else {
        return Ok(Route::Default);
    };
    let mut first: Option<u16> = None;
    let mut crossed = false;
    let scan = info.for_each_key(cmd, |_, key| {
        let slot = keyslot(key);
        match first {
            None => first = Some(slot),
            Some(f) if f != slot => crossed = true,
            Some(_) => {}
        }
    });
    if scan == KeyScan::Unknown {
        return Ok(Route::AskKeys);
    }
    if crossed {
        if info.request_policy() == Some(RequestPolicy::MultiShard)
            && info.response_policy() == Some(ResponsePolicy::AggSum)
        {
            return Ok(Route::Split);
        }
        let mut slots = Vec::new();
        info.for_each_key(cmd, |_, key| {
            let s = keyslot(key);
            if !slots.contains(&s) {
                slots.push(s);
            }
        });
        return Err(cross_slot(info.name(), &slots));
    }
    if let Some(slot) = first {
        return Ok(Route::Slot(slot));
    }
    Ok(match info.request_policy() {
        Some(RequestPolicy::AllNodes) => Route::Fanout(Target::AllNodes, info.response_policy()),
        Some(RequestPolicy::AllShards) => Route::Fanout(Target::Primaries, info.response_policy()),
        _ => Route::Default,
    })
}

/// The error for keys in several slots, raised before anything is sent.
pub(crate) fn cross_slot(command: &str, slots: &[u16]) -> Error {
    let list: Vec<String> = slots.iter().map(u16::to_string).collect();
    Error::new(
        ErrorKind::CrossSlot,
        format!(
            "the keys of {} hash to different slots ({}); give them a common {{hash tag}}, or use \
             the *_nonatomic methods to split the work by slot",
            command.to_uppercase(),
            list.join(", ")
        ),
    )
}

fn refuse_connection_state(info: &CommandInfo) -> Result<()> {
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

fn blocking(info: Option<&CommandInfo>) -> bool {
    info.is_some_and(CommandInfo::is_blocking)
}

fn is_readonly(snapshot: &Snapshot, cmd: &Cmd) -> bool {
    snapshot
        .table
        .lookup(cmd)
        .is_some_and(CommandInfo::is_readonly)
}

/// `ASKING` and the command as one write: no other caller's command can come between them and
/// use up the one-shot permission.
async fn send_asking(entry: &NodeEntry, cmd: &Cmd) -> Result<Value> {
    let asking = Cmd::new("ASKING");
    let replies = entry.conn.send_batch([&asking, cmd]).await?;
    match replies.into_iter().nth(1) {
        Some(Value::Error(e)) => Err(Error::from_server(e).with_node(entry.node.name())),
        Some(v) => Ok(v),
        None => Err(Error::new(ErrorKind::Protocol, "no reply after ASKING")),
    }
}

/// A blocking command gets a connection of its own, so it cannot stall other callers.
async fn send_dedicated(entry: &NodeEntry, cmd: &Cmd) -> Result<Value> {
    // The command may legitimately wait as long as it was told to; the socket failing still
    // ends it at once.
    let config = entry
        .conn
        .config()
        .clone()
        .response_timeout(Duration::from_secs(24 * 3600));
    let conn = crate::connection::Connection::connect(config).await?;
    conn.send(cmd).await
}

async fn backoff(attempt: u32, base_ms: u64) {
    let exp = attempt.saturating_sub(1).min(5);
    let ms = (base_ms << exp).min(1000);
    let jittered = ms / 2 + fastrand::u64(..=ms / 2);
    tokio::time::sleep(Duration::from_millis(jittered)).await;
}

impl Inner {
    /// The entry to follow a redirection to; an empty host means the redirecting node's host.
    pub(crate) fn redirect_entry(&self, from: &NodeEntry, redirect: &Redirect) -> Arc<NodeEntry> {
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

    /// Moves one slot to the node a `MOVED` named, at once, and schedules a full refresh.
    pub(crate) fn apply_moved(self: &Arc<Inner>, from: &NodeEntry, redirect: &Redirect) {
        let target = self.redirect_entry(from, redirect);
        let (host, port) = (target.node.host(), target.node.port());
        self.snapshot.rcu(|current| {
            let owner = current
                .map
                .shard_of(redirect.slot)
                .and_then(|i| current.shards.get(i));
            if owner.is_some_and(|s| s.primary.node == target.node) {
                // Another caller already applied this redirection.
                return Arc::clone(current);
            }
            let map = current.map.with_slot_moved(redirect.slot, host, port);
            Arc::new(Snapshot::new(
                map,
                &self.registry,
                Arc::clone(&current.table),
                current.generation + 1,
            ))
        });
        self.schedule_refresh();
    }
}
