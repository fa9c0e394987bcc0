//! The task behind a [`PubSub`](super::PubSub): its sockets, what each carries, and keeping
//! that in line with what the caller asked for (see the parent module's docs).
//!
//! This file holds the task's state, its loop and the `subscribe` calls waiting on it; what the
//! sockets send is handled in [`events`], their health in [`health`], where each name goes
//! in [`place`], sharded channels' attempts in [`shard`], node-local subscriptions and
//! classic channels spread by slot in [`local`], and when a `subscribe` call is done in
//! [`waiters`].

mod events;
mod health;
mod local;
mod place;
mod shard;
mod waiters;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{queue, Control, LossReason, MessageKind, Nodes, PubSubEvent};
use crate::cluster::dispatch::backoff;
use crate::cluster::events::ClusterEvents;
use crate::cluster::RedisCluster;
use crate::connection::{deadline_in, SinkEvent, Subscriber};
use crate::error::{Error, Result};
use place::{Opened, Opening};
use shard::{Note, Outcome};

/// The longest wait before placing again what is not placed.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// One subscriber socket and what it carries.
struct Socket {
    id: u64,
    sub: Subscriber,
    /// `host:port`, shared by the messages it delivers.
    node: Arc<str>,
    /// For a node-local socket: when to ask the node its `ROLE` next (see `health`).
    role_due: Option<Instant>,
    /// When anything last came from it.
    heard: Instant,
    /// When a `PING` went out that nothing has answered since.
    pinged: Option<Instant>,
    /// Names sent to it, by kind, confirmed or not.
    names: [BTreeSet<Bytes>; 3],
    /// Commands whose outcome has not all come back, oldest first: an error reply belongs to
    /// the first of them.
    outstanding: VecDeque<Outstanding>,
}

struct Outstanding {
    kind: MessageKind,
    subscribe: bool,
    /// A health `PING` (or `ROLE`): answered by a reply, not by confirmations.
    ping: bool,
    /// A `ROLE`: its reply says whether the node is still what the topology says it is.
    role: bool,
    /// Confirmations still to come.
    names: BTreeSet<Bytes>,
    /// The attempts (of a sharded channel's runner) waiting for its outcome.
    placing: Vec<Outcome>,
}

/// A `subscribe` call waiting for its confirmations.
struct Waiter {
    kind: MessageKind,
    /// `Some`: a node-local subscription, done once every node planned for it confirmed.
    on: Option<Nodes>,
    names: BTreeSet<Bytes>,
    done: oneshot::Sender<Result<()>>,
    deadline: Instant,
}

pub(super) struct Task {
    cluster: RedisCluster,
    controls: mpsc::UnboundedReceiver<Control>,
    messages: queue::Sender,
    /// Every subscriber socket's sink sends here, tagged with the socket's id.
    events_tx: mpsc::UnboundedSender<(u64, SinkEvent)>,
    events: mpsc::UnboundedReceiver<(u64, SinkEvent)>,
    next_id: u64,
    /// Sockets opening in the background (a slow or frozen node must not hold up messages).
    opening: Vec<Opening>,
    opened_tx: mpsc::UnboundedSender<Opened>,
    opened: mpsc::UnboundedReceiver<Opened>,
    /// The socket of classic channels and patterns.
    classic: Option<Socket>,
    /// The sockets of sharded channels, one per node.
    shards: Vec<Socket>,
    /// The sockets of node-local subscriptions and spread classic channels, one per node.
    locals: Vec<Socket>,
    /// Sharded channels being placed, each by a runner of its own (see `shard`).
    runners: BTreeMap<Bytes, tokio::task::AbortHandle>,
    /// Where each sharded channel's runner last subscribed it.
    placed: BTreeMap<Bytes, String>,
    /// What the runners ask of the task and tell it.
    notes_tx: mpsc::UnboundedSender<Note>,
    notes: mpsc::UnboundedReceiver<Note>,
    /// What the caller asked for, by kind (see `index`).
    wanted: [BTreeSet<Bytes>; 3],
    /// The node-local subscriptions asked for: by set (`Nodes::index`), then kind (channels,
    /// patterns).
    local: [[BTreeSet<Bytes>; 2]; 2],
    /// Node-local subscriptions by where the last placement put them: (kind, name, node).
    planned: BTreeSet<(MessageKind, Bytes, String)>,
    /// Node-local subscriptions told `Subscribed` and not `Left` since: (kind, name, node).
    told: BTreeSet<(MessageKind, Bytes, String)>,
    /// Classic channels go on the node of their slot (`pubsub_spread_channels`).
    spread: bool,
    /// Nodes whose local socket was lost, and until when spread channels avoid them.
    down: HashMap<String, Instant>,
    /// The cluster's events, heard while something follows the topology (node-local
    /// subscriptions, spread channels): a new topology is placed at once.
    cluster_events: Option<ClusterEvents>,
    waiters: Vec<Waiter>,
    /// Failed attempts to place everything, for the backoff.
    failures: u32,
    /// When to try again to place what is not placed.
    retry_at: Option<Instant>,
    /// New topologies, watched only while a retry waits (a receiver makes the refresh loop
    /// believe commands are waiting): the retry need not wait out its backoff once one is in.
    topology: Option<tokio::sync::watch::Receiver<u64>>,
    /// Something changed that placing may have to act on.
    dirty: bool,
    /// A node whose socket stopped answering, and until when classic subscriptions avoid it.
    avoid: Option<(String, Instant)>,
    /// What the `PubSub`'s listeners hear of the subscriptions.
    news: tokio::sync::broadcast::Sender<PubSubEvent>,
    /// Names lost and not yet subscribed again: where, and when the loss was seen. Keyed by
    /// kind, name, and for a node-local subscription its node (see `Key`).
    lost: HashMap<(MessageKind, Bytes, Key), (String, Instant)>,
}

/// Which subscription of a name an event is about: `None` for one that lives on one node at a
/// time (classic, pattern, sharded), `Some(node)` for a node-local one on that node.
type Key = Option<String>;

fn index(kind: MessageKind) -> usize {
    match kind {
        MessageKind::Message => 0,
        MessageKind::Pattern => 1,
        MessageKind::Sharded => 2,
    }
}

impl Task {
    pub(super) fn new(
        cluster: RedisCluster,
        controls: mpsc::UnboundedReceiver<Control>,
        messages: queue::Sender,
        news: tokio::sync::broadcast::Sender<PubSubEvent>,
    ) -> Task {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (opened_tx, opened) = mpsc::unbounded_channel();
        let (notes_tx, notes) = mpsc::unbounded_channel();
        let spread = cluster.inner.settings.pubsub_spread_channels;
        Task {
            cluster,
            controls,
            messages,
            events_tx,
            events,
            next_id: 0,
            opening: Vec::new(),
            opened_tx,
            opened,
            classic: None,
            shards: Vec::new(),
            locals: Vec::new(),
            runners: BTreeMap::new(),
            placed: BTreeMap::new(),
            notes_tx,
            notes,
            wanted: [BTreeSet::new(), BTreeSet::new(), BTreeSet::new()],
            local: Default::default(),
            planned: BTreeSet::new(),
            told: BTreeSet::new(),
            spread,
            down: HashMap::new(),
            cluster_events: None,
            waiters: Vec::new(),
            failures: 0,
            retry_at: None,
            topology: None,
            dirty: false,
            avoid: None,
            news,
            lost: HashMap::new(),
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            let wake = [
                self.retry_at,
                self.waiters.iter().map(|w| w.deadline).min(),
                self.next_health_check(),
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let topology = async {
                match self.topology.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let cluster_event = async {
                match self.cluster_events.as_mut() {
                    Some(events) => events.recv().await.is_some(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                control = self.controls.recv() => match control {
                    Some(control) => self.handle(control),
                    // The handle was dropped: the sockets close with the task.
                    None => return,
                },
                Some((id, event)) = self.events.recv() => self.event(id, event),
                Some(opened) = self.opened.recv() => self.opened(opened),
                Some(note) = self.notes.recv() => self.note(note),
                changed = topology => {
                    if changed {
                        self.retry_at = None;
                    } else {
                        self.topology = None;
                    }
                }
                heard = cluster_event => {
                    if heard {
                        // A new topology, a node lost or found: the sets node-local
                        // subscriptions cover, and the nodes of spread channels, may differ.
                        self.retry_at = None;
                        self.dirty = true;
                    } else {
                        self.cluster_events = None;
                    }
                }
                () = sleep => {}
            }
            self.expire_waiters();
            self.check_health();
            if self.dirty && self.retry_at.is_none_or(|at| at <= Instant::now()) {
                self.dirty = false;
                self.retry_at = None;
                self.place();
            }
        }
    }

    fn handle(&mut self, control: Control) {
        match control {
            Control::Subscribe {
                kind,
                on,
                names,
                done,
            } => {
                self.wanted_mut(kind, on).extend(names.iter().cloned());
                self.follow_topology();
                let deadline = deadline_in(self.cluster.inner.settings.retry_deadline);
                let mut names: BTreeSet<Bytes> = names.into_iter().collect();
                if on.is_none() {
                    // Names confirmed already need no wait (node-local ones are judged once
                    // placing has planned them).
                    names.retain(|n| !self.is_placed(kind, on, n));
                }
                if names.is_empty() {
                    let _ = done.send(Ok(()));
                    return;
                }
                self.waiters.push(Waiter {
                    kind,
                    on,
                    names,
                    done,
                    deadline,
                });
                // Place at once, whatever the backoff says: the caller is waiting.
                self.retry_at = None;
                self.dirty = true;
            }
            Control::Unsubscribe { kind, on, names } => {
                let wanted = self.wanted_mut(kind, on);
                if names.is_empty() {
                    wanted.clear();
                } else {
                    for name in &names {
                        wanted.remove(name);
                    }
                }
                self.follow_topology();
                self.retry_at = None;
                self.dirty = true;
            }
        }
    }

    /// The names asked for of `kind`, classic or sharded (`on` is `None`) or node-local.
    fn wanted_mut(&mut self, kind: MessageKind, on: Option<Nodes>) -> &mut BTreeSet<Bytes> {
        match (on, kind) {
            (Some(nodes), MessageKind::Message | MessageKind::Pattern) => {
                &mut self.local[nodes.index()][index(kind)]
            }
            _ => &mut self.wanted[index(kind)],
        }
    }

    /// Hears the cluster's events while something follows the topology, and only then (a
    /// listener makes the client build them).
    fn follow_topology(&mut self) {
        let follows = self.local.iter().flatten().any(|names| !names.is_empty())
            || (self.spread && !self.wanted[index(MessageKind::Message)].is_empty());
        match (follows, self.cluster_events.is_some()) {
            (true, false) => self.cluster_events = Some(self.cluster.events()),
            (false, true) => self.cluster_events = None,
            _ => {}
        }
    }

    fn sockets(&self) -> impl Iterator<Item = &Socket> {
        self.classic
            .iter()
            .chain(self.shards.iter())
            .chain(self.locals.iter())
    }

    fn socket_mut(&mut self, id: u64) -> Option<&mut Socket> {
        self.classic
            .iter_mut()
            .chain(self.shards.iter_mut())
            .chain(self.locals.iter_mut())
            .find(|s| s.id == id)
    }

    /// True if `id` is a node-local socket.
    fn is_local(&self, id: u64) -> bool {
        self.locals.iter().any(|s| s.id == id)
    }

    /// Forgets a socket (closed, or silent too long): what it carried is placed again, and
    /// the attempts waiting on it hear `err`.
    fn drop_socket(&mut self, id: u64, err: &Error, reason: LossReason) {
        let local = self.is_local(id);
        let socket = if self.classic.as_ref().is_some_and(|s| s.id == id) {
            self.classic.take()
        } else if local {
            self.locals
                .iter()
                .position(|s| s.id == id)
                .map(|i| self.locals.swap_remove(i))
        } else {
            self.shards
                .iter()
                .position(|s| s.id == id)
                .map(|i| self.shards.swap_remove(i))
        };
        if let Some(socket) = socket {
            let node = socket.node.to_string();
            if local {
                // Spread channels keep away from it for a while; its node-local
                // subscriptions are made again on it, or leave with it.
                self.down
                    .insert(node.clone(), Instant::now() + health::AVOID_FOR);
            }
            for kind in [
                MessageKind::Message,
                MessageKind::Pattern,
                MessageKind::Sharded,
            ] {
                for name in &socket.names[index(kind)] {
                    for key in self.stands_for(local, kind, name, &node) {
                        self.lose(kind, name, &node, reason, key);
                    }
                }
            }
            for done in socket.outstanding.into_iter().flat_map(|o| o.placing) {
                let _ = done.send(Err(err.clone()));
            }
        }
        self.refresh_and_retry();
    }

    /// The subscriptions `name` on a socket at `node` stands for, as `lost` keys them: on a
    /// local socket, a node-local subscription planned there and a spread channel; on any
    /// other, the one subscription of a name still wanted.
    fn stands_for(&self, local: bool, kind: MessageKind, name: &Bytes, node: &str) -> Vec<Key> {
        let classic = self.wanted[index(kind)].contains(name);
        if !local {
            return if classic { vec![None] } else { Vec::new() };
        }
        let mut keys = Vec::new();
        if self
            .planned
            .contains(&(kind, name.clone(), node.to_owned()))
        {
            keys.push(Some(node.to_owned()));
        }
        if self.spread && kind == MessageKind::Message && classic {
            keys.push(None);
        }
        keys
    }

    /// `name`, subscribed on `node`, is lost: told, and remembered until it is restored.
    fn lose(&mut self, kind: MessageKind, name: &Bytes, node: &str, reason: LossReason, key: Key) {
        let key = (kind, name.clone(), key);
        if self.lost.contains_key(&key) {
            return;
        }
        self.lost.insert(key, (node.to_owned(), Instant::now()));
        self.tell(|| PubSubEvent::Lost {
            kind,
            name: name.clone(),
            node: node.to_owned(),
            reason,
        });
    }

    /// `name` is confirmed on `node` (a local socket's if `local`): subscribed, or restored if
    /// it was lost; the calls waiting for it are told.
    fn subscribed(&mut self, local: bool, kind: MessageKind, name: &Bytes, node: &str) {
        let keys = if local {
            self.stands_for(true, kind, name, node)
        } else {
            vec![None]
        };
        for key in keys {
            if let Some(at) = &key {
                self.told.insert((kind, name.clone(), at.clone()));
            }
            match self.lost.remove(&(kind, name.clone(), key)) {
                Some((from, at)) => self.tell(|| PubSubEvent::Restored {
                    kind,
                    name: name.clone(),
                    node: node.to_owned(),
                    from,
                    deaf_for: at.elapsed(),
                }),
                None => self.tell(|| PubSubEvent::Subscribed {
                    kind,
                    name: name.clone(),
                    node: node.to_owned(),
                }),
            }
        }
        self.settle(Some((kind, name)));
    }

    /// Sends the event `make` builds, if anyone listens.
    fn tell(&self, make: impl FnOnce() -> PubSubEvent) {
        if self.news.receiver_count() > 0 {
            let _ = self.news.send(make());
        }
    }

    /// Something is not where it belongs (a node failed, a slot moved): asks for a new
    /// topology and places again after it, or after the backoff.
    fn refresh_and_retry(&mut self) {
        self.cluster.inner.request_refresh();
        self.retry_later();
    }

    /// Schedules another attempt to place everything, after a backoff or a new topology.
    fn retry_later(&mut self) {
        self.failures = self.failures.saturating_add(1);
        self.dirty = true;
        let at = Instant::now() + backoff::delay(self.failures, 10, MAX_BACKOFF);
        self.retry_at = Some(self.retry_at.map_or(at, |r| r.min(at)));
        if self.topology.is_none() {
            self.topology = Some(self.cluster.inner.topology.subscribe());
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // No runner outlives the subscriber it places channels for.
        for runner in self.runners.values() {
            runner.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_their_commands() {
        for kind in [
            MessageKind::Message,
            MessageKind::Pattern,
            MessageKind::Sharded,
        ] {
            assert!(kind.unsubscribe().ends_with(&kind.subscribe()[1..]));
        }
        assert_eq!(index(MessageKind::Sharded), 2);
    }
}
