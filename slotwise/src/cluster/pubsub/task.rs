//! The task behind a [`PubSub`](super::PubSub): its sockets, what each carries, and keeping
//! that in line with what the caller asked for (see the parent module's docs).
//!
//! This file holds the task's state, its loop and the `subscribe` calls waiting on it; what the
//! sockets send is handled in [`events`], their health in [`health`], and where each name goes
//! in [`place`].

mod events;
mod health;
mod place;
mod shard;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{queue, Control, LossReason, MessageKind, PubSubEvent};
use crate::cluster::dispatch::backoff;
use crate::cluster::RedisCluster;
use crate::connection::{deadline_in, SinkEvent, Subscriber};
use crate::error::{Error, ErrorKind, Result};
use place::{Opened, Opening};
use shard::{Note, Outcome};

/// The longest wait before placing again what is not placed.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// One subscriber socket and what it carries.
struct Socket {
    id: u64,
    sub: Subscriber,
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
    /// A health `PING`: answered by a reply, not by confirmations.
    ping: bool,
    /// Confirmations still to come.
    names: BTreeSet<Bytes>,
    /// The attempts (of a sharded channel's runner) waiting for its outcome.
    placing: Vec<Outcome>,
}

/// A `subscribe` call waiting for its confirmations.
struct Waiter {
    kind: MessageKind,
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
    /// Sharded channels being placed, each by a runner of its own (see `shard`).
    runners: BTreeMap<Bytes, tokio::task::AbortHandle>,
    /// Where each sharded channel's runner last subscribed it.
    placed: BTreeMap<Bytes, String>,
    /// What the runners ask of the task and tell it.
    notes_tx: mpsc::UnboundedSender<Note>,
    notes: mpsc::UnboundedReceiver<Note>,
    /// What the caller asked for, by kind (see `index`).
    wanted: [BTreeSet<Bytes>; 3],
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
    /// Names lost and not yet subscribed again: where, and when the loss was seen.
    lost: HashMap<(MessageKind, Bytes), (String, Instant)>,
}

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
            runners: BTreeMap::new(),
            placed: BTreeMap::new(),
            notes_tx,
            notes,
            wanted: [BTreeSet::new(), BTreeSet::new(), BTreeSet::new()],
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
            Control::Subscribe { kind, names, done } => {
                let wanted = &mut self.wanted[index(kind)];
                wanted.extend(names.iter().cloned());
                let deadline = deadline_in(self.cluster.inner.settings.retry_deadline);
                let mut names: BTreeSet<Bytes> = names.into_iter().collect();
                // Names confirmed already need no wait.
                names.retain(|n| !self.confirmed(kind, n));
                if names.is_empty() {
                    let _ = done.send(Ok(()));
                    return;
                }
                self.waiters.push(Waiter {
                    kind,
                    names,
                    done,
                    deadline,
                });
                // Place at once, whatever the backoff says: the caller is waiting.
                self.retry_at = None;
                self.dirty = true;
            }
            Control::Unsubscribe { kind, names } => {
                let wanted = &mut self.wanted[index(kind)];
                if names.is_empty() {
                    wanted.clear();
                } else {
                    for name in &names {
                        wanted.remove(name);
                    }
                }
                self.retry_at = None;
                self.dirty = true;
            }
        }
    }

    /// True if `name` is on a socket and not waiting for its confirmation.
    fn confirmed(&self, kind: MessageKind, name: &Bytes) -> bool {
        self.sockets().any(|s| {
            s.names[index(kind)].contains(name)
                && !s
                    .outstanding
                    .iter()
                    .any(|o| o.kind == kind && o.names.contains(name))
        })
    }

    fn sockets(&self) -> impl Iterator<Item = &Socket> {
        self.classic.iter().chain(self.shards.iter())
    }

    fn socket_mut(&mut self, id: u64) -> Option<&mut Socket> {
        self.classic
            .iter_mut()
            .chain(self.shards.iter_mut())
            .find(|s| s.id == id)
    }

    /// Forgets a socket (closed, or silent too long): what it carried is placed again, and
    /// the attempts waiting on it hear `err`.
    fn drop_socket(&mut self, id: u64, err: &Error, reason: LossReason) {
        let socket = if self.classic.as_ref().is_some_and(|s| s.id == id) {
            self.classic.take()
        } else {
            self.shards
                .iter()
                .position(|s| s.id == id)
                .map(|i| self.shards.swap_remove(i))
        };
        if let Some(socket) = socket {
            let node = socket.sub.node().to_owned();
            for kind in [
                MessageKind::Message,
                MessageKind::Pattern,
                MessageKind::Sharded,
            ] {
                for name in &socket.names[index(kind)] {
                    self.lose(kind, name, &node, reason);
                }
            }
            for done in socket.outstanding.into_iter().flat_map(|o| o.placing) {
                let _ = done.send(Err(err.clone()));
            }
        }
        self.refresh_and_retry();
    }

    /// `name`, subscribed on `node`, is lost: told, and remembered until it is restored.
    fn lose(&mut self, kind: MessageKind, name: &Bytes, node: &str, reason: LossReason) {
        if !self.wanted[index(kind)].contains(name) {
            return;
        }
        let key = (kind, name.clone());
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

    /// `name` is confirmed on `node`: subscribed, or restored if it was lost.
    fn subscribed(&mut self, kind: MessageKind, name: &Bytes, node: &str) {
        match self.lost.remove(&(kind, name.clone())) {
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

    /// Sends the event `make` builds, if anyone listens.
    fn tell(&self, make: impl FnOnce() -> PubSubEvent) {
        if self.news.receiver_count() > 0 {
            let _ = self.news.send(make());
        }
    }

    fn confirm(&mut self, kind: MessageKind, name: &Bytes) {
        let mut i = 0;
        while i < self.waiters.len() {
            let waiter = &mut self.waiters[i];
            if waiter.kind == kind {
                waiter.names.remove(name);
            }
            if waiter.names.is_empty() {
                let waiter = self.waiters.swap_remove(i);
                let _ = waiter.done.send(Ok(()));
            } else {
                i += 1;
            }
        }
    }

    fn fail_waiters(&mut self, kind: MessageKind, names: &BTreeSet<Bytes>, err: &Error) {
        let mut i = 0;
        while i < self.waiters.len() {
            let waiter = &self.waiters[i];
            if waiter.kind == kind && waiter.names.iter().any(|n| names.contains(n)) {
                let waiter = self.waiters.swap_remove(i);
                let _ = waiter.done.send(Err(err.clone()));
            } else {
                i += 1;
            }
        }
    }

    fn expire_waiters(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.waiters.len() {
            if self.waiters[i].deadline > now {
                i += 1;
                continue;
            }
            let waiter = self.waiters.swap_remove(i);
            // The caller hears it failed, so it is not subscribed behind its back later
            // (unless another call still waits for the same name).
            for name in &waiter.names {
                let still_waited = self
                    .waiters
                    .iter()
                    .any(|w| w.kind == waiter.kind && w.names.contains(name));
                if !still_waited {
                    self.wanted[index(waiter.kind)].remove(name);
                    self.dirty = true;
                }
            }
            let names: Vec<String> = waiter
                .names
                .iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect();
            let _ = waiter.done.send(Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "{} of {} was not confirmed in time; it is not kept",
                    waiter.kind.subscribe(),
                    names.join(", ")
                ),
            )));
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
