//! Discovery and refresh: asking nodes what the cluster looks like and installing a new
//! snapshot.
//!
//! Several nodes are asked at once (`CLUSTER SHARDS`, or `CLUSTER SLOTS` on servers before 7,
//! with `CLUSTER INFO` for the epoch); the view most of them agree on wins, with three
//! exceptions for a cluster caught mid-change: a newly elected primary's own view beats a
//! majority that still names the failed one, a view that gives back to a failed primary slots
//! the installed topology gives a live one is not installed, and neither is one that
//! contradicts a `MOVED` seen since the last install. Refreshes are coalesced: however many
//! callers ask for one while one is running, they share it; while commands wait, or the
//! nodes disagree, they go on at the rate limit (slower while `recovery` watches the nodes that
//! will end the outage).
//!
//! The dispatcher asks for refreshes; the builder starts the periodic one.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::builder::AddressRemap;
use super::node::{node_name, NodeEntry, Role};
use super::snapshot::Snapshot;
use super::stats::Counters;
use super::Inner;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::CommandTable;
use crate::topology::{
    choose_view, parse_shards_from, parse_slots_from, promoted_view, strands_live_slots,
    ClusterView, NodeDesc, Origin, SlotMap,
};

/// The shortest time between two full refreshes while the recovery probes watch the nodes
/// that matter (see [`ClusterBuilder::recovery_probe_interval`]).
///
/// [`ClusterBuilder::recovery_probe_interval`]: super::ClusterBuilder::recovery_probe_interval
const PROBED_REFRESH_INTERVAL: Duration = Duration::from_millis(500);

/// Refreshes in a row a promotion may ask for ahead of the rate limit without finding a change
/// (the other nodes are a moment behind the promoted one).
const MAX_EARLY_REFRESHES: u32 = 5;

/// How long after a change (an install, or a slot a `MOVED` patched in) disagreeing nodes keep
/// the refreshes going at the rate limit.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// One node's answer: its view and its current epoch.
async fn ask(entry: &NodeEntry) -> Result<(ClusterView, u64)> {
    let shards = Cmd::new("CLUSTER").arg("SHARDS");
    let info = Cmd::new("CLUSTER").arg("INFO");
    let replies = entry.conn.send_batch([&shards, &info]).await?;
    let mut replies = replies.into_iter();
    let (Some(shards_reply), Some(info_reply)) = (replies.next(), replies.next()) else {
        return Err(Error::new(
            ErrorKind::Protocol,
            "short reply to CLUSTER SHARDS/INFO",
        ));
    };
    let epoch = match &info_reply {
        Value::Error(e) => return Err(Error::from_server(e.clone()).with_node(entry.node.name())),
        v => current_epoch(v),
    };
    let origin = Origin::new(entry.node.host(), entry.node.port());
    let view = match shards_reply {
        Value::Error(e) if e.code() == "ERR" => {
            // Before Redis 7 there is no CLUSTER SHARDS.
            let slots = entry.conn.send(&Cmd::new("CLUSTER").arg("SLOTS")).await?;
            parse_slots_from(slots, origin)?
        }
        Value::Error(e) => return Err(Error::from_server(e).with_node(entry.node.name())),
        reply => parse_shards_from(reply, origin)?,
    };
    Ok((view, epoch))
}

/// `cluster_current_epoch` from a `CLUSTER INFO` reply; 0 if absent.
fn current_epoch(info: &Value) -> u64 {
    let Some(text) = info.as_bytes().and_then(|b| std::str::from_utf8(b).ok()) else {
        return 0;
    };
    text.lines()
        .find_map(|line| line.strip_prefix("cluster_current_epoch:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn remap_view(view: &mut ClusterView, remap: Option<&AddressRemap>) {
    let Some(remap) = remap else { return };
    for shard in &mut view.shards {
        for node in std::iter::once(&mut shard.primary).chain(shard.replicas.iter_mut()) {
            let (host, port) = remap(&node.host, node.port);
            node.host = host;
            node.port = port;
        }
    }
}

/// The outcome of discovery: the chosen view, and every node that failed with why.
pub(crate) struct Discovery {
    pub(crate) view: ClusterView,
    /// The node whose answer was used first (for the command table).
    pub(crate) first: Arc<NodeEntry>,
    /// Every node that answered gave the slots to the same primaries (health and replicas
    /// may differ while the nodes gossip).
    pub(crate) agreed: bool,
    /// When they did not agree, every answer, in canonical form.
    pub(crate) others: Vec<ClusterView>,
}

/// Asks `candidates` (in groups of `fanout`, until one answers), then enough nodes of the
/// answered view to make `fanout` answers, and returns the view most agree on.
pub(crate) async fn discover(
    inner: &Inner,
    candidates: Vec<Arc<NodeEntry>>,
) -> std::result::Result<Discovery, Vec<(String, Error)>> {
    let fanout = inner.settings.discovery_fanout;
    let mut failures = Vec::new();
    // Each answer, in canonical form, with the address of the node that gave it.
    let mut answers: Vec<(ClusterView, u64, Author)> = Vec::new();
    let mut asked: Vec<String> = Vec::new();
    let mut first = None;
    for group in candidates.chunks(fanout) {
        let results = join_all(group.iter().map(|e| ask(e))).await;
        for (entry, result) in group.iter().zip(results) {
            asked.push(entry.node.name().to_owned());
            match result {
                Ok((mut view, epoch)) => {
                    remap_view(&mut view, inner.settings.remap.as_ref());
                    first.get_or_insert_with(|| Arc::clone(entry));
                    answers.push((view.normalized(), epoch, author(entry)));
                }
                Err(e) => failures.push((entry.node.name().to_owned(), e)),
            }
        }
        if !answers.is_empty() {
            break;
        }
    }
    let Some(first) = first else {
        return Err(failures);
    };
    // Too few answers for a majority: ask more nodes of the view we have.
    if answers.len() < fanout {
        let more: Vec<Arc<NodeEntry>> = answers[0]
            .0
            .shards
            .iter()
            .map(|s| &s.primary)
            .filter(|n| !asked.iter().any(|a| *a == format!("{}:{}", n.host, n.port)))
            .take(fanout - answers.len())
            .map(|n| inner.registry.entry(&n.host, n.port, Role::Primary))
            .collect();
        let results = join_all(more.iter().map(|e| ask(e))).await;
        for (entry, result) in more.iter().zip(results) {
            if let Ok((mut view, epoch)) = result {
                remap_view(&mut view, inner.settings.remap.as_ref());
                answers.push((view.normalized(), epoch, author(entry)));
            }
        }
    }
    let owners: Vec<_> = answers.iter().map(|(v, ..)| v.ownership()).collect();
    let agreed = owners.windows(2).all(|w| w[0] == w[1]);
    let views = answers.iter().map(|(v, e, _)| (v.clone(), *e)).collect();
    let Some(chosen) = choose_view(views) else {
        return Err(failures);
    };
    let claims = answers
        .iter()
        .map(|(view, _, (host, port))| (view, host.as_str(), *port));
    let view = promoted_view(&chosen, claims).unwrap_or(chosen);
    let others = if agreed {
        Vec::new()
    } else {
        answers.into_iter().map(|(v, ..)| v).collect()
    };
    Ok(Discovery {
        view,
        first,
        agreed,
        others,
    })
}

/// How long a `MOVED` outweighs the nodes' description of the cluster when they contradict
/// it; gossip settles well within this.
const MOVE_MEMORY: Duration = Duration::from_secs(3);

/// A slot's owner as a `MOVED` named it.
#[derive(Clone, Debug)]
pub(crate) struct Move {
    slot: u16,
    host: String,
    port: u16,
    at: Instant,
}

/// True when `view` gives every slot in `moves` to the node the `MOVED` named, leaving out
/// moves to a node `view` reports failed (a later failover overrides the redirection).
fn follows_moves(view: &ClusterView, moves: &[Move]) -> bool {
    moves
        .iter()
        .filter(|m| !view.reports_failed(&m.host, m.port))
        .all(|m| view.owner_of(m.slot) == Some((m.host.as_str(), m.port)))
}

/// True when `view` lists as a primary without slots an online node that `before` listed as a
/// primary with slots (a failover's old primary, until the others hear that it turned replica)
/// or as a replica (a view from a node that has not heard that yet, answering after one that
/// had), or, while a demotion is already under way (`demoting`), as a slotless primary too: a
/// view that changed in some other way (a replica's state) while the old primary still calls
/// itself one does not end the demotion.
fn lost_its_slots(view: &ClusterView, before: &ClusterView, demoting: bool) -> bool {
    view.shards
        .iter()
        .filter(|s| s.slots.is_empty() && s.primary.online)
        .any(|s| {
            let same = |n: &NodeDesc| n.host == s.primary.host && n.port == s.primary.port;
            before.shards.iter().any(|b| {
                ((demoting || !b.slots.is_empty()) && same(&b.primary))
                    || b.replicas.iter().any(same)
            })
        })
}

/// The address of the node that gave an answer.
type Author = (String, u16);

fn author(entry: &NodeEntry) -> Author {
    (entry.node.host().to_owned(), entry.node.port())
}

/// How many commands one `COMMAND INFO` asks about.
const COMMAND_INFO_BATCH: usize = 40;

/// The command table, from the server on `entry`, or the built-in one if that fails.
pub(crate) async fn load_commands(entry: &NodeEntry) -> CommandTable {
    match read_commands(entry).await {
        Ok(table) => table,
        Err(e) => {
            tracing::warn!(node = entry.node.name(), error = %e, "cannot read the server's commands; using the built-in command table");
            CommandTable::builtin()
        }
    }
}

/// The server's commands: their names from `COMMAND LIST`, then `COMMAND INFO` on a batch of
/// them at a time, each reply turned into table entries before the next is asked for. The
/// whole `COMMAND` reply is some 15,000 values, the largest thing a client holds at connect,
/// for no use once the table is built. Servers before 7 have no `COMMAND LIST`: `COMMAND`.
async fn read_commands(entry: &NodeEntry) -> Result<CommandTable> {
    let names: Vec<bytes::Bytes> = match entry.conn.send(&Cmd::new("COMMAND").arg("LIST")).await {
        Ok(Value::Array(names) | Value::Set(names)) if !names.is_empty() => names
            .iter()
            .filter_map(|n| match n {
                Value::Bulk(b) | Value::SimpleString(b) => Some(b.clone()),
                _ => None,
            })
            .collect(),
        Ok(_) | Err(_) => {
            let reply = entry.conn.send(&Cmd::new("COMMAND")).await?;
            return CommandTable::from_reply(reply);
        }
    };
    let mut parts = Vec::with_capacity(names.len().div_ceil(COMMAND_INFO_BATCH));
    for batch in names.chunks(COMMAND_INFO_BATCH) {
        let mut info = Cmd::new("COMMAND").arg("INFO");
        for name in batch {
            info.push_bytes(name);
        }
        let part = match entry.conn.send(&info).await {
            Ok(reply) => CommandTable::parse_entries(&reply),
            Err(e) => Err(e),
        };
        match part {
            Ok(part) => parts.push(part),
            // A server that lists commands it cannot describe one by one: the whole reply.
            Err(e) if e.is_server_error() || e.kind() == ErrorKind::Protocol => {
                let reply = entry.conn.send(&Cmd::new("COMMAND")).await?;
                return CommandTable::from_reply(reply);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(CommandTable::from_replies(parts))
}

/// Checks slot coverage; the error names the uncovered ranges.
pub(crate) fn check_coverage(map: &SlotMap) -> Result<()> {
    let uncovered = map.uncovered();
    if uncovered.is_empty() {
        return Ok(());
    }
    let ranges: Vec<String> = uncovered
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    Err(Error::new(
        ErrorKind::SlotNotCovered,
        format!(
            "slots not served by any node: {} (set require_full_coverage(false) to serve the rest)",
            ranges.join(", ")
        ),
    ))
}

impl Inner {
    /// Refreshes the topology now, unless a refresh completed after `seen` was current.
    /// Returns whether the topology changed.
    pub(crate) async fn refresh(&self, seen: u64) -> Result<bool> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let current = self.snapshot.load_full();
        if current.generation > seen {
            return Ok(false);
        }
        self.refresh_locked(&current).await
    }

    async fn refresh_locked(&self, current: &Snapshot) -> Result<bool> {
        self.refresh_locked_from(current, None).await
    }

    /// Like `refresh_locked`, asking `first` before any other node.
    async fn refresh_locked_from(
        &self,
        current: &Snapshot,
        first: Option<Arc<NodeEntry>>,
    ) -> Result<bool> {
        let started = Instant::now();
        // Ask the nodes we know, primaries first and unreachable ones last; the startup nodes
        // after them, in case every known node is gone (e.g. a DNS name behind a load
        // balancer).
        let mut candidates: Vec<Arc<NodeEntry>> = first.into_iter().collect();
        candidates.extend(current.all().cloned());
        candidates.sort_by_key(|e| e.conn.is_down());
        for node in &self.settings.startup {
            candidates.push(self.registry.entry(node.host(), node.port(), Role::Primary));
        }
        let outcome = discover(self, candidates).await;
        self.note_refresh_done();
        let discovery = outcome.map_err(|failures| {
            no_reachable_node("could not refresh the cluster topology", &failures)
        })?;
        Counters::bump(&self.counters.refreshes);
        // A `MOVED` is the word of a node that knows: a view that contradicts one seen since
        // the last install is behind it (the nodes asked have not heard of the failover or the
        // end of the migration yet). Take an answer that agrees with them all, or keep the
        // snapshot and look again.
        let moves = self.pending_moves();
        let mut discovery = discovery;
        if !follows_moves(&discovery.view, &moves) {
            match discovery.others.iter().find(|v| follows_moves(v, &moves)) {
                Some(view) => discovery.view = view.clone(),
                None => {
                    self.unsettled.store(true, Ordering::Release);
                    return Ok(false);
                }
            }
        }
        // Nothing changed: keep the snapshot (and every waiter's view of it) as it is.
        if self.same_view(&discovery.view) {
            // Settled once the nodes agree, unless the installed view still lists a failover's
            // old primary as a primary.
            let demoting = self.demoting.load(Ordering::Acquire);
            self.unsettled
                .store(!discovery.agreed || demoting, Ordering::Release);
            return Ok(false);
        }
        // The nodes asked have not heard of an election the installed topology already follows:
        // keep it, and look again shortly.
        let stale = {
            let last = self.last_view.lock().unwrap_or_else(|p| p.into_inner());
            strands_live_slots(&discovery.view, &last, |n| {
                current
                    .find(&node_name(&n.host, n.port))
                    .is_some_and(|e| !e.conn.is_down())
            })
        };
        if stale {
            tracing::debug!("a refresh described a failed primary the topology has replaced");
            self.unsettled.store(true, Ordering::Release);
            return Ok(false);
        }
        let map = SlotMap::new(discovery.view.clone());
        if self.settings.require_full_coverage {
            if let Err(e) = check_coverage(&map) {
                tracing::warn!(error = %e, "topology refresh found uncovered slots");
            }
        }
        let snapshot = Snapshot::new(
            map,
            &self.registry,
            Arc::clone(&current.table),
            current.generation + 1,
        );
        // The nodes' own description now replaces any slot a `MOVED` patched in; it may still
        // be a step of a change in progress: nodes that disagree, or a primary that lost its
        // slots and still calls itself a primary (a failover's old primary, until the others
        // hear that it turned replica).
        let demoting = {
            let last = self.last_view.lock().unwrap_or_else(|p| p.into_inner());
            lost_its_slots(
                &discovery.view,
                &last,
                self.demoting.load(Ordering::Acquire),
            )
        };
        self.demoting.store(demoting, Ordering::Release);
        self.unsettled
            .store(!discovery.agreed || demoting, Ordering::Release);
        // Moves seen while this refresh ran are not in what the nodes said.
        self.moves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|m| m.at > started);
        self.remember_view(discovery.view);
        tracing::debug!(
            generation = snapshot.generation,
            "installed a new cluster topology"
        );
        self.install(snapshot);
        Ok(true)
    }

    /// Asks for a refresh without waiting for it. However many callers ask, one refresh runs
    /// at a time, and no sooner than `refresh_min_interval` after the previous one; callers
    /// learn of the result through [`Inner::wait_for_change`].
    pub(crate) fn request_refresh(self: &Arc<Inner>) {
        if self.refresh_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            // Bounds the follow-up refreshes of one request (at the rate limit: seconds).
            let mut rounds = 0u32;
            // Refreshes in a row that a promotion seen early asked for and that found nothing
            // new: after a few, the rate limit applies again.
            let mut early = 0u32;
            loop {
                rounds += 1;
                let probing = early < MAX_EARLY_REFRESHES;
                let wait = inner.until_refresh_allowed(probing);
                let mut promoted = None;
                if !wait.is_zero() {
                    if probing && inner.topology.receiver_count() > 0 {
                        promoted = inner.watch_for_recovery(wait).await;
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                }
                let by_promotion = promoted.is_some();
                let changed = {
                    let _one_at_a_time = inner.refresh_lock.lock().await;
                    // Requests from now on are served by another refresh after this one.
                    inner.refresh_pending.store(false, Ordering::Release);
                    let current = inner.snapshot.load_full();
                    match inner.refresh_locked_from(&current, promoted).await {
                        Ok(changed) => changed,
                        Err(e) => {
                            tracing::warn!(error = %e, "topology refresh failed");
                            false
                        }
                    }
                };
                // Look again at the refresh rate limit while commands wait for a new topology
                // (a failover in progress: the promotion is seen as soon as the nodes report
                // it), while the topology is unsettled (see `Inner::unsettled`), and once after
                // a first change, since a failover is reported in steps.
                if changed {
                    early = 0;
                } else if by_promotion {
                    early += 1;
                }
                let waiting = !changed && inner.topology.receiver_count() > 0;
                // A change settles within seconds; nodes that disagree for longer (one cut off
                // from the others, a primary left without slots) are not followed at this pace.
                let unsettled =
                    inner.unsettled.load(Ordering::Acquire) && inner.changed_within(SETTLE_LIMIT);
                let again = (waiting || unsettled || (changed && rounds == 1)) && rounds < 50;
                if !again || inner.refresh_pending.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
        });
    }

    /// Waits until the snapshot is replaced (its generation passes `seen`) or `limit` passes.
    /// Also ends when nodes that refused with `CLUSTERDOWN` serve again.
    pub(crate) async fn wait_for_change(&self, seen: u64, limit: Duration) {
        self.wait_for_change_since(seen, self.serving_epoch(), limit)
            .await;
    }

    /// Like [`wait_for_change`](Self::wait_for_change), also ending at once if a refusing node
    /// was seen serving again since `serving` was read (see [`Inner::serving_epoch`]): a caller
    /// reads it before its attempt, so a wake-up between the refusal and the wait is not lost.
    pub(crate) async fn wait_for_change_since(&self, seen: u64, serving: u64, limit: Duration) {
        let serving_again = self.serving_again.notified();
        tokio::pin!(serving_again);
        serving_again.as_mut().enable();
        if self.serving_epoch() != serving {
            return;
        }
        let mut rx = self.topology.subscribe();
        if *rx.borrow_and_update() > seen {
            return;
        }
        tokio::select! {
            _ = rx.changed() => {}
            () = &mut serving_again => {}
            () = tokio::time::sleep(limit) => {}
        }
    }

    /// How long until the next refresh may run: `refresh_min_interval` after the last one, or
    /// longer while the recovery probes (`probing`) watch nodes: they notice what matters
    /// sooner.
    fn until_refresh_allowed(&self, probing: bool) -> Duration {
        let last = *self.last_refresh.lock().unwrap_or_else(|p| p.into_inner());
        let mut interval = self.settings.refresh_min_interval;
        if probing
            && self.settings.recovery_probe_interval.is_some()
            && self.topology.receiver_count() > 0
            && (!self.heirs_of_unreachable_primaries().is_empty()
                || !self.refusing_nodes().is_empty())
        {
            interval = interval.max(PROBED_REFRESH_INTERVAL);
        }
        match last {
            Some(at) => (at + interval).saturating_duration_since(Instant::now()),
            None => Duration::ZERO,
        }
    }

    fn note_refresh_done(&self) {
        *self.last_refresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    fn same_view(&self, view: &ClusterView) -> bool {
        *self.last_view.lock().unwrap_or_else(|p| p.into_inner()) == *view
    }

    /// Remembers that a `MOVED` said `slot` is served by `host:port`.
    pub(crate) fn note_move(&self, slot: u16, host: &str, port: u16) {
        let mut moves = self.moves.lock().unwrap_or_else(|p| p.into_inner());
        moves.retain(|m| m.slot != slot);
        moves.push(Move {
            slot,
            host: host.to_owned(),
            port,
            at: Instant::now(),
        });
    }

    /// The `MOVED`s seen since the last install, newer than [`MOVE_MEMORY`].
    fn pending_moves(&self) -> Vec<Move> {
        let mut moves = self.moves.lock().unwrap_or_else(|p| p.into_inner());
        moves.retain(|m| m.at.elapsed() < MOVE_MEMORY);
        moves.clone()
    }

    pub(crate) fn remember_view(&self, view: ClusterView) {
        *self.last_view.lock().unwrap_or_else(|p| p.into_inner()) = view;
        self.note_change();
    }

    /// Notes that the topology changed now (see [`Inner::changed_at`]).
    pub(crate) fn note_change(&self) {
        *self.changed_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// True when the topology changed within `limit`.
    fn changed_within(&self, limit: Duration) -> bool {
        self.changed_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
            < limit
    }
}

/// Checks the topology every `interval` while the client lives.
pub(crate) fn spawn_periodic_refresh(inner: &Arc<Inner>, interval: Duration) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let seen = inner.snapshot.load().generation;
            if let Err(e) = inner.refresh(seen).await {
                tracing::warn!(error = %e, "periodic topology check failed");
            }
        }
    });
}

/// The error for "nobody answered", naming every node tried and why it failed.
pub(crate) fn no_reachable_node(what: &str, failures: &[(String, Error)]) -> Error {
    let tried: Vec<String> = failures
        .iter()
        .map(|(node, e)| format!("{node} ({})", e.summary()))
        .collect();
    Error::new(
        ErrorKind::NoReachableNode,
        format!("{what}; tried: {}", tried.join("; ")),
    )
}

#[cfg(test)]
mod tests;
