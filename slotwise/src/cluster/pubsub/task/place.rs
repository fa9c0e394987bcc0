//! Placing subscriptions: which socket each wanted name goes on, opening sockets in the
//! background, and the (un)subscribe commands that bring a socket in line.

use std::collections::{BTreeSet, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::shard::{lost, Outcome};
use super::{index, Outstanding, Socket, Task};
use crate::cluster::node::NodeEntry;
use crate::cluster::pubsub::MessageKind;
use crate::connection::{ConnectionConfig, PushSink, Subscriber};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::Cmd;
use crate::topology::keyslot;

/// What opening a socket in the background came to.
pub(super) struct Opened {
    /// The id of the attempt that opened it (the one its events carry), or of the first
    /// attempt if none did.
    id: u64,
    result: Result<Subscriber>,
}

/// What a socket is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Classic channels and patterns, on any node.
    Classic,
    /// Sharded channels, on their slot's primary.
    Shard,
    /// Node-local subscriptions and spread classic channels, on one given node.
    Local,
}

/// A socket being opened in the background: for the classic subscriptions, a shard's node, or
/// a node of node-local subscriptions.
pub(super) struct Opening {
    /// One id per node tried. Each attempt's socket sends its events to the task under its own
    /// id, so the close of a socket that failed its handshake is not taken for the close of
    /// the one a later attempt opened.
    ids: Range<u64>,
    pub(super) purpose: Purpose,
    pub(super) node: String,
    /// Sharded channels waiting for this socket, with the attempt waiting for each.
    pub(super) queued: Vec<(Bytes, Outcome)>,
}

impl Task {
    /// Brings the sockets in line with what is wanted: subscribes what is not subscribed where
    /// it belongs, unsubscribes what is no longer wanted, opens and closes sockets.
    pub(super) fn place(&mut self) {
        let mut ok = true;
        ok &= self.place_classic();
        ok &= self.place_sharded();
        ok &= self.place_local();
        self.settle(None);
        if ok {
            self.failures = 0;
            self.topology = None;
        } else {
            self.retry_later();
        }
    }

    fn place_classic(&mut self) -> bool {
        // Spread channels are not this socket's (`local`): patterns still are.
        let channels_here = !self.spread;
        let wants_any = (channels_here && !self.wanted[0].is_empty()) || !self.wanted[1].is_empty();
        if !wants_any {
            // Nothing left: the socket goes (its subscriptions with it).
            self.classic = None;
            return true;
        }
        if self.classic.is_none() {
            if self.opening.iter().any(|o| o.purpose == Purpose::Classic) {
                // Placed once it is open.
                return true;
            }
            // The first channel's slot owner, as redis-py picks it; if that node is down, any
            // other: the cluster delivers classic messages on every node.
            let snapshot = self.cluster.snapshot();
            let mut candidates: Vec<Arc<NodeEntry>> = Vec::new();
            if let Some(channel) = self.wanted[0].iter().next().filter(|_| channels_here) {
                if let Ok(entry) = snapshot.node_for_slot(keyslot(channel), None) {
                    candidates.push(Arc::clone(entry));
                }
            }
            candidates.push(self.cluster.default_entry());
            candidates.extend(snapshot.primaries().cloned());
            // Nodes known to be unreachable last.
            candidates.sort_by_key(|e| e.conn.is_down());
            let mut tried: Vec<String> = Vec::new();
            if let Some((node, until)) = &self.avoid {
                if Instant::now() < *until {
                    tried.push(node.clone());
                }
            }
            let mut configs = Vec::new();
            for entry in candidates {
                let name = entry.node.name().to_owned();
                if !tried.contains(&name) {
                    tried.push(name);
                    configs.push(entry.conn.config().clone());
                }
            }
            self.spawn_open(Purpose::Classic, String::new(), configs);
            return true;
        }
        let Some(socket) = self.classic.as_mut() else {
            return false;
        };
        let mut ok = true;
        let none = BTreeSet::new();
        for kind in [MessageKind::Message, MessageKind::Pattern] {
            let i = index(kind);
            let wanted = if kind == MessageKind::Message && !channels_here {
                &none
            } else {
                &self.wanted[i]
            };
            let add: Vec<Bytes> = wanted.difference(&socket.names[i]).cloned().collect();
            let remove: Vec<Bytes> = socket.names[i].difference(wanted).cloned().collect();
            ok &= send(socket, kind, true, add, None);
            ok &= send(socket, kind, false, remove, None);
        }
        ok
    }

    /// Sharded channels: those not wanted leave their sockets; those not subscribed where
    /// their slot lives get a runner (`shard`), which places them through the attempt loop.
    fn place_sharded(&mut self) -> bool {
        let kind = MessageKind::Sharded;
        let i = index(kind);
        self.stop_unwanted_runners();
        self.placed.retain(|c, _| self.wanted[i].contains(c));
        let mut ok = true;
        for socket in &mut self.shards {
            let here = socket.sub.node();
            let leave: Vec<Bytes> = socket.names[i]
                .iter()
                .filter(|c| {
                    // A channel whose runner moved it elsewhere leaves once it is confirmed
                    // there (`runner_done`); one no longer wanted leaves now.
                    !self.wanted[i].contains(*c)
                        || (!self.runners.contains_key(*c)
                            && self.placed.get(*c).is_some_and(|p| p != here)
                            && !awaits_confirmation(socket, c))
                })
                .cloned()
                .collect();
            // One command per channel: SUNSUBSCRIBE, too, takes channels of one slot only.
            for channel in leave {
                ok &= send(socket, kind, false, vec![channel], None);
            }
        }
        // A socket stays while it carries something.
        self.shards
            .retain(|s| !s.names[i].is_empty() || !s.outstanding.is_empty());
        let snapshot = self.cluster.snapshot();
        let unplaced: Vec<Bytes> = self.wanted[i]
            .iter()
            .filter(|c| !self.runners.contains_key(*c))
            .filter(|c| {
                let Some(node) = self.placed.get(*c) else {
                    return true;
                };
                let confirmed = self.shards.iter().any(|s| {
                    s.sub.node() == node && s.names[i].contains(*c) && !awaits_confirmation(s, c)
                });
                // Placed, unless the topology has since given its slot to another node.
                let owner = snapshot.node_for_slot(keyslot(c), None);
                !confirmed || owner.is_ok_and(|e| e.node.name() != node)
            })
            .cloned()
            .collect();
        for channel in &unplaced {
            self.start_runner(channel);
        }
        ok
    }

    /// Opens a socket in the background on the first of `configs` that answers; `opened`
    /// takes it when it is ready.
    pub(super) fn spawn_open(
        &mut self,
        purpose: Purpose,
        node: String,
        configs: Vec<ConnectionConfig>,
    ) {
        let count = configs.len().max(1) as u64;
        let ids = self.next_id + 1..self.next_id + 1 + count;
        self.next_id += count;
        let first = ids.start;
        self.opening.push(Opening {
            ids: ids.clone(),
            purpose,
            node,
            queued: Vec::new(),
        });
        let events = self.events_tx.clone();
        let opened = self.opened_tx.clone();
        tokio::spawn(async move {
            let mut last = Error::new(ErrorKind::NoReachableNode, "no node to subscribe on");
            for (id, config) in ids.zip(configs) {
                match Subscriber::open(&config, PushSink::new(id, events.clone())).await {
                    Ok(sub) => {
                        let _ = opened.send(Opened {
                            id,
                            result: Ok(sub),
                        });
                        return;
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "cannot open a pub/sub socket");
                        last = err;
                    }
                }
            }
            let _ = opened.send(Opened {
                id: first,
                result: Err(last),
            });
        });
    }

    /// A socket opened in the background is ready (or could not be opened).
    pub(super) fn opened(&mut self, opened: Opened) {
        let Some(pos) = self.opening.iter().position(|o| o.ids.contains(&opened.id)) else {
            return;
        };
        let opening = self.opening.swap_remove(pos);
        let sub = match opened.result {
            Ok(sub) => sub,
            Err(err) => {
                tracing::debug!(error = %err, "no pub/sub socket could be opened; retrying");
                if opening.purpose == Purpose::Local {
                    self.down.insert(
                        opening.node.clone(),
                        Instant::now() + super::health::AVOID_FOR,
                    );
                }
                if opening.purpose != Purpose::Shard {
                    self.refresh_and_retry();
                }
                // The attempts waiting for it hear why, and decide what comes next.
                for (_, done) in opening.queued {
                    let _ = done.send(Err(err.clone()));
                }
                return;
            }
        };
        let now = Instant::now();
        let socket = Socket {
            id: opened.id,
            node: Arc::from(sub.node()),
            sub,
            role_due: (opening.purpose == Purpose::Local)
                .then(|| now + super::health::ROLE_INTERVAL),
            heard: now,
            pinged: None,
            names: [BTreeSet::new(), BTreeSet::new(), BTreeSet::new()],
            outstanding: VecDeque::new(),
        };
        match opening.purpose {
            Purpose::Classic => {
                if self.classic.is_none() {
                    self.classic = Some(socket);
                }
                // What waits for this socket is sent now.
                self.dirty = true;
                return;
            }
            Purpose::Local => {
                self.down.remove(&*socket.node);
                if !self.locals.iter().any(|s| s.node == socket.node) {
                    self.locals.push(socket);
                }
                self.dirty = true;
                return;
            }
            Purpose::Shard => {}
        }
        let i = match self
            .shards
            .iter()
            .position(|s| s.sub.node() == opening.node)
        {
            Some(i) => i,
            None => {
                self.shards.push(socket);
                self.shards.len() - 1
            }
        };
        for (channel, done) in opening.queued {
            self.subscribe_at(i, channel, done);
        }
        // Anything else to bring in line (an unsubscribe meanwhile) is done now too.
        self.dirty = true;
    }
}

/// True while an `SSUBSCRIBE` of `channel` on `socket` has not been confirmed.
pub(super) fn awaits_confirmation(socket: &Socket, channel: &Bytes) -> bool {
    socket
        .outstanding
        .iter()
        .any(|o| o.subscribe && o.names.contains(channel))
}

/// Sends one (un)subscribe command for `names` on `socket`, recording what it expects;
/// `placing` is told its outcome (a sharded channel's attempt). False if the socket is closed.
pub(super) fn send(
    socket: &mut Socket,
    kind: MessageKind,
    subscribe: bool,
    names: Vec<Bytes>,
    placing: Option<Outcome>,
) -> bool {
    if names.is_empty() {
        return true;
    }
    let name = if subscribe {
        kind.subscribe()
    } else {
        kind.unsubscribe()
    };
    let mut cmd = Cmd::new(name);
    for n in &names {
        cmd.push_bytes(n);
    }
    if socket.sub.send([&cmd]).is_err() {
        if let Some(done) = placing {
            let _ = done.send(Err(lost()));
        }
        return false;
    }
    let set = &mut socket.names[index(kind)];
    for n in &names {
        if subscribe {
            set.insert(n.clone());
        } else {
            set.remove(n);
        }
    }
    socket.outstanding.push_back(Outstanding {
        kind,
        subscribe,
        ping: false,
        role: false,
        names: names.into_iter().collect(),
        placing: placing.into_iter().collect(),
    });
    true
}
