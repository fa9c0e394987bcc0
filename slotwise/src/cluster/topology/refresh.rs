//! Refreshing the topology: asking the nodes again (`discovery`) and deciding whether what they
//! said is installed.
//!
//! The view most nodes agree on wins, with exceptions for a cluster caught mid-change: a newly
//! elected primary's own view beats a majority that still names the failed one, a view that
//! gives back to a failed primary slots the installed topology gives a live one is not
//! installed, and neither is one that contradicts a `MOVED` seen since the last install.
//! Refreshes are coalesced: however many callers ask for one while one is running, they share
//! it; while commands wait, or the nodes disagree, they go on at the rate limit (slower while
//! `recovery` watches the nodes that will end the outage).
//!
//! The dispatcher asks for refreshes; `RedisCluster::connect` starts the periodic one.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::cluster::discovery::{check_coverage, discover, no_reachable_node};
use crate::cluster::node::{NodeEntry, Role};
use crate::cluster::snapshot::Snapshot;
use crate::cluster::stats::Counters;
use crate::cluster::Inner;
use crate::error::Result;
use crate::topology::{strands_live_slots, ClusterView, NodeDesc, SlotMap};

/// What refreshing remembers between refreshes.
pub(super) struct State {
    /// One refresh runs at a time.
    lock: tokio::sync::Mutex<()>,
    /// A refresh has been asked for and has not started yet.
    pending: AtomicBool,
    /// When the last refresh finished, for rate limiting.
    last_refresh: Mutex<Option<Instant>>,
    /// The view the current snapshot was built from, to tell whether a refresh changed anything.
    last_view: Mutex<ClusterView>,
    /// When the topology last changed: `last_view` was installed, or a `MOVED` patched a slot
    /// in (a failover that happens long after the last install starts there).
    changed_at: Mutex<Instant>,
    /// The topology is in the middle of a change: a `MOVED` patched a slot in that the nodes
    /// have not described yet, the nodes asked had not heard of an election the snapshot
    /// follows, or they disagreed. Refreshes go on (at the rate limit) until it settles.
    unsettled: AtomicBool,
    /// The installed view lists as a slotless primary a node that served slots (or was a
    /// replica) before it: a failover's old primary, until the nodes hear it turned replica.
    demoting: AtomicBool,
    /// Slot owners `MOVED` replies named since the last install.
    moves: Mutex<Vec<Move>>,
}

/// `mutex`, locked; a panic elsewhere while it was held leaves nothing half-written here.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    fn last_view(&self) -> MutexGuard<'_, ClusterView> {
        locked(&self.last_view)
    }

    fn moves(&self) -> MutexGuard<'_, Vec<Move>> {
        locked(&self.moves)
    }

    fn last_refresh(&self) -> MutexGuard<'_, Option<Instant>> {
        locked(&self.last_refresh)
    }

    fn changed_at(&self) -> MutexGuard<'_, Instant> {
        locked(&self.changed_at)
    }

    fn is_unsettled(&self) -> bool {
        self.unsettled.load(Ordering::Acquire)
    }

    fn set_unsettled(&self, unsettled: bool) {
        self.unsettled.store(unsettled, Ordering::Release);
    }

    fn is_demoting(&self) -> bool {
        self.demoting.load(Ordering::Acquire)
    }

    fn set_demoting(&self, demoting: bool) {
        self.demoting.store(demoting, Ordering::Release);
    }

    /// The state of a client that installed `view` just now.
    pub(super) fn new(view: ClusterView) -> State {
        State {
            lock: tokio::sync::Mutex::new(()),
            pending: AtomicBool::new(false),
            last_refresh: Mutex::new(None),
            last_view: Mutex::new(view),
            changed_at: Mutex::new(Instant::now()),
            unsettled: AtomicBool::new(false),
            demoting: AtomicBool::new(false),
            moves: Mutex::new(Vec::new()),
        }
    }
}

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

/// How long a `MOVED` outweighs the nodes' description of the cluster when they contradict
/// it; gossip settles well within this.
const MOVE_MEMORY: Duration = Duration::from_secs(3);

/// A slot's owner as a `MOVED` named it.
#[derive(Clone, Debug)]
struct Move {
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

impl Inner {
    fn refreshing(&self) -> &State {
        &self.topology.refresh
    }

    /// Refreshes the topology now, unless a refresh completed after `seen` was current.
    /// Returns whether the topology changed.
    pub(crate) async fn refresh(&self, seen: u64) -> Result<bool> {
        let _one_at_a_time = self.refreshing().lock.lock().await;
        let current = self.topology.snapshot.load_full();
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
        let outcome = discover(&self.settings, &self.registry, candidates).await;
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
                    self.refreshing().set_unsettled(true);
                    return Ok(false);
                }
            }
        }
        // Nothing changed: keep the snapshot (and every waiter's view of it) as it is.
        if self.same_view(&discovery.view) {
            // Settled once the nodes agree, unless the installed view still lists a failover's
            // old primary as a primary.
            let demoting = self.refreshing().is_demoting();
            self.refreshing()
                .set_unsettled(!discovery.agreed || demoting);
            return Ok(false);
        }
        // The nodes asked have not heard of an election the installed topology already follows:
        // keep it, and look again shortly.
        let stale = {
            let last = self.refreshing().last_view();
            // Made on the first question, and only for an answer that names a failed primary
            // with slots: a thousand-shard topology is not searched node by node.
            let by_address: OnceCell<HashMap<(&str, u16), &Arc<NodeEntry>>> = OnceCell::new();
            strands_live_slots(&discovery.view, &last, |n| {
                by_address
                    .get_or_init(|| current.by_address())
                    .get(&(n.host.as_str(), n.port))
                    .is_some_and(|e| !e.conn.is_down())
            })
        };
        if stale {
            tracing::debug!("a refresh described a failed primary the topology has replaced");
            self.refreshing().set_unsettled(true);
            return Ok(false);
        }
        let map = SlotMap::new(discovery.view.clone());
        if self.settings.require_full_coverage {
            if let Err(e) = check_coverage(&map) {
                tracing::warn!(error = %e, "topology refresh found uncovered slots");
            }
        }
        let snapshot = Snapshot::updated(
            current,
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
            let last = self.refreshing().last_view();
            lost_its_slots(&discovery.view, &last, self.refreshing().is_demoting())
        };
        self.refreshing().set_demoting(demoting);
        self.refreshing()
            .set_unsettled(!discovery.agreed || demoting);
        // Moves seen while this refresh ran are not in what the nodes said.
        self.refreshing().moves().retain(|m| m.at > started);
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
        if self.refreshing().pending.swap(true, Ordering::AcqRel) {
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
                    if probing && inner.topology.generation.receiver_count() > 0 {
                        promoted = inner.watch_for_recovery(wait).await;
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                }
                let by_promotion = promoted.is_some();
                let changed = {
                    let _one_at_a_time = inner.refreshing().lock.lock().await;
                    // Requests from now on are served by another refresh after this one.
                    inner.refreshing().pending.store(false, Ordering::Release);
                    let current = inner.topology.snapshot.load_full();
                    match inner.refresh_locked_from(&current, promoted).await {
                        Ok(changed) => changed,
                        Err(e) => {
                            tracing::warn!(error = %e, "topology refresh failed");
                            inner.events.emit(|| {
                                Some(crate::cluster::events::ClusterEvent::RefreshFailed {
                                    error: e,
                                })
                            });
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
                let waiting = !changed && inner.topology.generation.receiver_count() > 0;
                // A change settles within seconds; nodes that disagree for longer (one cut off
                // from the others, a primary left without slots) are not followed at this pace.
                let unsettled =
                    inner.refreshing().is_unsettled() && inner.changed_within(SETTLE_LIMIT);
                let again = (waiting || unsettled || (changed && rounds == 1)) && rounds < 50;
                if !again || inner.refreshing().pending.swap(true, Ordering::AcqRel) {
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
        let serving_again = self.serving_again();
        tokio::pin!(serving_again);
        serving_again.as_mut().enable();
        if self.serving_epoch() != serving {
            return;
        }
        let mut rx = self.topology.generation.subscribe();
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
        let last = *self.refreshing().last_refresh();
        let mut interval = self.settings.refresh_min_interval;
        if probing
            && self.settings.recovery_probe_interval.is_some()
            && self.topology.generation.receiver_count() > 0
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
        *self.refreshing().last_refresh() = Some(Instant::now());
    }

    fn same_view(&self, view: &ClusterView) -> bool {
        *self.refreshing().last_view() == *view
    }

    /// Remembers that a `MOVED` said `slot` is served by `host:port`.
    pub(super) fn note_move(&self, slot: u16, host: &str, port: u16) {
        let mut moves = self.refreshing().moves();
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
        let mut moves = self.refreshing().moves();
        moves.retain(|m| m.at.elapsed() < MOVE_MEMORY);
        moves.clone()
    }

    pub(crate) fn remember_view(&self, view: ClusterView) {
        *self.refreshing().last_view() = view;
        self.note_change();
    }

    /// Notes that a `MOVED` patched a slot in: the topology is changing, and refreshes go on
    /// until the nodes describe it.
    pub(super) fn note_patched(&self) {
        self.note_change();
        self.refreshing().set_unsettled(true);
    }

    /// Notes that the topology changed now (see [`State::changed_at`]).
    fn note_change(&self) {
        *self.refreshing().changed_at() = Instant::now();
    }

    /// True when the topology changed within `limit`.
    fn changed_within(&self, limit: Duration) -> bool {
        self.refreshing().changed_at().elapsed() < limit
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
            let seen = inner.topology.snapshot.load().generation;
            if let Err(e) = inner.refresh(seen).await {
                tracing::warn!(error = %e, "periodic topology check failed");
                inner.events.emit(|| {
                    Some(crate::cluster::events::ClusterEvent::RefreshFailed { error: e })
                });
            }
        }
    });
}

#[cfg(test)]
mod tests;
