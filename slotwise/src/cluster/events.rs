//! Cluster events: what the client saw happen to the cluster, for anyone who listens
//! ([`RedisCluster::events`]): topologies installed (which slots moved, which nodes came and
//! went), failovers, nodes lost and found again, failed refreshes, a new default node.
//!
//! One `tokio::sync::broadcast` channel per client. Nothing is built or sent while nobody
//! listens. A listener that falls more than [`CAPACITY`] events behind loses the oldest and is
//! told how many with [`ClusterEvent::Lagged`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::node::{ClusterNode, Role};
use super::snapshot::Snapshot;
use super::RedisCluster;
use crate::error::Error;
use crate::protocol::SLOT_COUNT;

/// How many events a listener may fall behind before it loses the oldest.
pub const CAPACITY: usize = 1024;

/// Something the client saw happen to the cluster.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClusterEvent {
    /// A new topology is installed: routing follows it from now on.
    TopologyChanged(TopologyChange),
    /// A replica took over the slots of its primary (`from`): the slots now go to `to`.
    Failover {
        /// The primary that served the slots.
        from: ClusterNode,
        /// Its replica that serves them now.
        to: ClusterNode,
    },
    /// A connection to this node (`host:port`) could not be opened: it is down as far as the
    /// client knows. Told once until it is reachable again.
    NodeUnreachable {
        /// The node, `host:port`.
        node: String,
        /// Why the connection failed.
        error: Error,
    },
    /// A connection to a node that was unreachable opened again.
    NodeReachable {
        /// The node, `host:port`.
        node: String,
    },
    /// Asking the nodes for the topology failed; the installed one stays.
    RefreshFailed {
        /// Why.
        error: Error,
    },
    /// Keyless commands without a routing tip go to another node from now on.
    DefaultNodeChanged {
        /// The previous default node.
        from: ClusterNode,
        /// The new one.
        to: ClusterNode,
    },
    /// This listener fell behind: the `missed` events before the next one were lost.
    Lagged {
        /// How many.
        missed: u64,
    },
}

/// What a new topology changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopologyChange {
    /// Its generation: one more than the last for a `MOVED`, more for a refresh.
    pub generation: u64,
    /// Where it came from.
    pub cause: ChangeCause,
    /// Slot ranges now served by another primary, in slot order.
    pub slots_moved: Vec<SlotsMoved>,
    /// Nodes (with their role) in this topology and not the last.
    pub nodes_added: Vec<ClusterNode>,
    /// Nodes (with their role) in the last topology and not this one.
    pub nodes_removed: Vec<ClusterNode>,
}

/// Where a new topology came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeCause {
    /// The nodes were asked (a refresh).
    Refresh,
    /// A `MOVED` named the slot's new owner.
    Redirect,
}

/// A range of slots that changed primary.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotsMoved {
    /// The first slot of the range.
    pub first: u16,
    /// The last slot of the range (inclusive).
    pub last: u16,
    /// The primary that served them; `None` if nothing did.
    pub from: Option<ClusterNode>,
    /// The primary that serves them now; `None` if nothing does.
    pub to: Option<ClusterNode>,
}

/// A subscription to a stream of events: the cluster's ([`ClusterEvents`], from
/// [`RedisCluster::events`]) or a [`PubSub`](crate::PubSub)'s
/// ([`PubSubEvents`](crate::PubSubEvents)).
#[derive(Debug)]
pub struct Events<E> {
    rx: broadcast::Receiver<E>,
}

/// A subscription to the cluster's events; see [`RedisCluster::events`].
pub type ClusterEvents = Events<ClusterEvent>;

/// An event type that can say its listener fell behind.
pub trait Lagging: Clone + Send + 'static {
    /// The event that stands for `missed` events lost.
    fn lagged(missed: u64) -> Self;
}

impl Lagging for ClusterEvent {
    fn lagged(missed: u64) -> ClusterEvent {
        ClusterEvent::Lagged { missed }
    }
}

impl<E: Lagging> Events<E> {
    pub(crate) fn new(rx: broadcast::Receiver<E>) -> Events<E> {
        Events { rx }
    }

    /// The next event, waiting for it; `None` once its source is gone.
    pub async fn recv(&mut self) -> Option<E> {
        match self.rx.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(E::lagged(missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<E> {
        match self.rx.try_recv() {
            Ok(event) => Some(event),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => Some(E::lagged(missed)),
            Err(_) => None,
        }
    }

    /// The events as a [`Stream`](futures_util::Stream); it ends when their source is gone.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = E> + Send {
        futures_util::stream::unfold(self, |mut events| async move {
            let event = events.recv().await?;
            Some((event, events))
        })
    }
}

/// The sending side, shared by the client and its connections.
#[derive(Clone, Debug)]
pub(crate) struct EventBus {
    tx: broadcast::Sender<ClusterEvent>,
    /// The last failover told (primary, replica, by name): a failover shows in several
    /// topologies (a `MOVED` per slot, then a refresh), and is told once.
    last_failover: Arc<Mutex<Option<(String, String)>>>,
}

impl EventBus {
    pub(crate) fn new() -> EventBus {
        let (tx, _) = broadcast::channel(CAPACITY);
        EventBus {
            tx,
            last_failover: Arc::new(Mutex::new(None)),
        }
    }

    /// True while someone listens: only then are events built.
    pub(crate) fn listened(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Sends the event `make` builds, if anyone listens.
    pub(crate) fn emit(&self, make: impl FnOnce() -> Option<ClusterEvent>) {
        if self.listened() {
            if let Some(event) = make() {
                let _ = self.tx.send(event);
            }
        }
    }

    fn subscribe(&self) -> ClusterEvents {
        Events::new(self.tx.subscribe())
    }

    /// A hook for connections: tells of a node lost and found again.
    pub(crate) fn reachability(&self) -> crate::connection::Reachability {
        let bus = self.clone();
        Arc::new(move |node: &str, error: Option<&Error>| {
            bus.emit(|| {
                Some(match error {
                    Some(error) => ClusterEvent::NodeUnreachable {
                        node: node.to_owned(),
                        error: error.clone(),
                    },
                    None => ClusterEvent::NodeReachable {
                        node: node.to_owned(),
                    },
                })
            });
        })
    }

    /// The events of replacing `old` with `new`: what changed, and each failover in it.
    pub(crate) fn topology_changed(&self, old: &Snapshot, new: &Snapshot, cause: ChangeCause) {
        if !self.listened() {
            return;
        }
        let change = diff(old, new, cause);
        if change.slots_moved.is_empty()
            && change.nodes_added.is_empty()
            && change.nodes_removed.is_empty()
        {
            return;
        }
        let mut failovers: Vec<(ClusterNode, ClusterNode)> = Vec::new();
        for moved in &change.slots_moved {
            let (Some(from), Some(to)) = (&moved.from, &moved.to) else {
                continue;
            };
            let was_its_replica = old
                .shards
                .iter()
                .find(|s| s.primary.node.name() == from.name())
                .is_some_and(|s| s.replicas.iter().any(|r| r.node.name() == to.name()));
            let pair = (from.clone(), to.clone());
            if was_its_replica && !failovers.contains(&pair) {
                failovers.push(pair);
            }
        }
        let _ = self.tx.send(ClusterEvent::TopologyChanged(change));
        for (from, to) in failovers {
            let names = (from.name().to_owned(), to.name().to_owned());
            let mut last = self.last_failover.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_ref() != Some(&names) {
                *last = Some(names);
                let _ = self.tx.send(ClusterEvent::Failover { from, to });
            }
        }
    }
}

/// The primary serving `slot` in `snapshot`.
fn owner(snapshot: &Snapshot, slot: u16) -> Option<&ClusterNode> {
    let shard = snapshot.map.shard_of(slot)?;
    snapshot.shards.get(shard).map(|s| &s.primary.node)
}

fn diff(old: &Snapshot, new: &Snapshot, cause: ChangeCause) -> TopologyChange {
    let mut slots_moved: Vec<SlotsMoved> = Vec::new();
    for slot in 0..SLOT_COUNT {
        let (from, to) = (owner(old, slot), owner(new, slot));
        if from.map(ClusterNode::name) == to.map(ClusterNode::name) {
            continue;
        }
        match slots_moved.last_mut() {
            Some(run)
                if run.last + 1 == slot && run.from.as_ref() == from && run.to.as_ref() == to =>
            {
                run.last = slot;
            }
            _ => slots_moved.push(SlotsMoved {
                first: slot,
                last: slot,
                from: from.cloned(),
                to: to.cloned(),
            }),
        }
    }
    let names = |s: &Snapshot| -> HashSet<(String, Role)> {
        s.all()
            .map(|e| (e.node.name().to_owned(), e.node.role()))
            .collect()
    };
    let (before, after) = (names(old), names(new));
    let key = |n: &ClusterNode| (n.name().to_owned(), n.role());
    let in_old = |n: &ClusterNode| before.contains(&key(n));
    let in_new = |n: &ClusterNode| after.contains(&key(n));
    TopologyChange {
        generation: new.generation,
        cause,
        slots_moved,
        nodes_added: new
            .all()
            .map(|e| e.node.clone())
            .filter(|n| !in_old(n))
            .collect(),
        nodes_removed: old
            .all()
            .map(|e| e.node.clone())
            .filter(|n| !in_new(n))
            .collect(),
    }
}

impl RedisCluster {
    /// The cluster's events from now on: topologies installed, failovers, nodes lost and found
    /// again, failed refreshes, a new default node. Each call is a listener of its own; events
    /// cost nothing while there is none. A listener more than [`CAPACITY`] events behind gets
    /// [`ClusterEvent::Lagged`] in place of those it lost.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) {
    /// use slotwise::ClusterEvent;
    /// let mut events = cluster.events();
    /// while let Some(event) = events.recv().await {
    ///     match event {
    ///         ClusterEvent::Failover { from, to } => {
    ///             println!("{} took over from {}", to.name(), from.name())
    ///         }
    ///         ClusterEvent::TopologyChanged(change) => {
    ///             println!("{} slot ranges moved", change.slots_moved.len())
    ///         }
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> ClusterEvents {
        self.inner.events.subscribe()
    }
}
