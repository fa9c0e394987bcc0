//! Placing a sharded channel: each `SSUBSCRIBE` runs through the cluster's attempt loop
//! ([`RedisCluster::run_attempts`]), as any command to a slot does, so a `MOVED` is followed and
//! counted, a refusal for now (`TRYAGAIN`, `CLUSTERDOWN`) backed off, and a lost node waited out
//! until the topology names its successor, by the same code.
//!
//! One runner per channel being placed: a spawned future driving the attempt loop. Its
//! [`Subscribe`] attempt asks the task to subscribe the channel on the attempt's node (the task
//! owns the sockets) and waits for the outcome: the confirmation, the server's error reply, or the
//! socket's loss. When the loop is done the runner tells the task where the channel ended up.
//!
//! This module does not decide which channels need placing (`place`) nor read what the sockets
//! send (`events`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{index, Task};
use crate::cluster::dispatch::classify::{classify, Action, Context};
use crate::cluster::dispatch::{Attempt, Destination, Operation};
use crate::cluster::node::NodeEntry;
use crate::cluster::pubsub::MessageKind;
use crate::error::{Error, ErrorKind, Result};
use crate::topology::keyslot;

/// The outcome of one `SSUBSCRIBE` on one socket, for the attempt waiting on it.
pub(super) type Outcome = oneshot::Sender<Result<()>>;

/// What a runner tells the task.
pub(super) enum Note {
    /// Subscribe `channel` on `entry`'s node and report to `done`.
    Place {
        entry: Arc<NodeEntry>,
        channel: Bytes,
        done: Outcome,
    },
    /// The attempt loop is over: the channel is subscribed on this node, or it gave up.
    Done {
        channel: Bytes,
        result: Result<String>,
    },
}

/// One attempt to subscribe a sharded channel: on the node the attempt loop chose.
struct Subscribe {
    channel: Bytes,
    notes: mpsc::UnboundedSender<Note>,
}

impl Attempt for Subscribe {
    type Output = String;

    fn run(
        &mut self,
        entry: &Arc<NodeEntry>,
        _asking: bool,
        timeout: Duration,
    ) -> impl Future<Output = Result<String>> + Send {
        let (done, outcome) = oneshot::channel();
        let node = entry.node.name().to_owned();
        let asked = self.notes.send(Note::Place {
            entry: Arc::clone(entry),
            channel: self.channel.clone(),
            done,
        });
        async move {
            if asked.is_err() {
                return Err(Error::new(ErrorKind::Closed, "the subscriber is closed"));
            }
            match tokio::time::timeout(timeout, outcome).await {
                Ok(Ok(Ok(()))) => Ok(node),
                Ok(Ok(Err(e))) => Err(e),
                // The socket went before it said anything: a lost connection.
                Ok(Err(_)) => Err(lost()),
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    "SSUBSCRIBE was not confirmed in time",
                )
                .with_node(node.as_str())),
            }
        }
    }
}

/// The error an attempt hears when its socket closes before confirming.
pub(super) fn lost() -> Error {
    Error::io(
        std::io::Error::from(std::io::ErrorKind::ConnectionAborted),
        crate::error::Sent::Maybe,
    )
}

impl Task {
    /// Starts placing `channel` where its slot lives, unless a runner already is.
    pub(super) fn start_runner(&mut self, channel: &Bytes) {
        if self.runners.contains_key(channel) {
            return;
        }
        let cluster = self.cluster.clone();
        let notes = self.notes_tx.clone();
        let attempt = Subscribe {
            channel: channel.clone(),
            notes: notes.clone(),
        };
        let slot = keyslot(channel);
        let name = channel.clone();
        let runner = tokio::spawn(async move {
            let op = Operation {
                name: b"SSUBSCRIBE",
                // It changes no data: sending it again after a lost connection is safe.
                readonly: true,
                // During a migration it waits for the slot to settle: a subscription made
                // under `ASKING` would be dropped when the migration ends.
                follow_ask: false,
                lasts: Duration::ZERO,
            };
            let dest = Destination::Slot { slot, read: None };
            let result = cluster.run_attempts(op, dest, attempt).await;
            let _ = notes.send(Note::Done {
                channel: name,
                result,
            });
        });
        self.runners.insert(channel.clone(), runner.abort_handle());
    }

    /// Stops the runners of channels no longer wanted.
    pub(super) fn stop_unwanted_runners(&mut self) {
        let wanted = &self.wanted[index(MessageKind::Sharded)];
        self.runners.retain(|channel, runner| {
            let keep = wanted.contains(channel);
            if !keep {
                runner.abort();
            }
            keep
        });
    }

    pub(super) fn note(&mut self, note: Note) {
        match note {
            Note::Place {
                entry,
                channel,
                done,
            } => self.subscribe_on(&entry, channel, done),
            Note::Done { channel, result } => self.runner_done(channel, result),
        }
    }

    /// Subscribes `channel` on `entry`'s socket, opening it first if there is none.
    fn subscribe_on(&mut self, entry: &Arc<NodeEntry>, channel: Bytes, done: Outcome) {
        let node = entry.node.name();
        if let Some(i) = self.shards.iter().position(|s| s.sub.node() == node) {
            self.subscribe_at(i, channel, done);
            return;
        }
        if let Some(opening) = self
            .opening
            .iter_mut()
            .find(|o| o.purpose == super::place::Purpose::Shard && o.node == node)
        {
            opening.queued.push((channel, done));
            return;
        }
        let config = entry.conn.config().clone();
        self.spawn_open(super::place::Purpose::Shard, node.to_owned(), vec![config]);
        if let Some(opening) = self.opening.last_mut() {
            opening.queued.push((channel, done));
        }
    }

    /// Subscribes `channel` on the shard socket at `i`: at once if it is confirmed there, when
    /// the confirmation comes if it is on its way, or with a new `SSUBSCRIBE`.
    pub(super) fn subscribe_at(&mut self, i: usize, channel: Bytes, done: Outcome) {
        let Some(socket) = self.shards.get_mut(i) else {
            let _ = done.send(Err(lost()));
            return;
        };
        let kind = MessageKind::Sharded;
        if !self.wanted[index(kind)].contains(&channel) {
            // Unsubscribed since its runner asked: the runner is gone, nothing to do.
            return;
        }
        if socket.names[index(kind)].contains(&channel) {
            match socket
                .outstanding
                .iter_mut()
                .find(|o| o.kind == kind && o.subscribe && o.names.contains(&channel))
            {
                Some(o) => o.placing.push(done),
                None => {
                    let _ = done.send(Ok(()));
                }
            }
            return;
        }
        super::place::send(socket, kind, true, vec![channel], Some(done));
    }

    /// A runner is over: the channel is subscribed where it said, or the attempt loop gave up.
    fn runner_done(&mut self, channel: Bytes, result: Result<String>) {
        self.runners.remove(&channel);
        let kind = MessageKind::Sharded;
        match result {
            Ok(node) => {
                // Any other socket that carries it leaves it, at once.
                for socket in &mut self.shards {
                    let elsewhere = socket.sub.node() != node
                        && socket.names[index(kind)].contains(&channel)
                        && !super::place::awaits_confirmation(socket, &channel);
                    if elsewhere {
                        super::place::send(socket, kind, false, vec![channel.clone()], None);
                    }
                }
                self.placed.insert(channel, node);
                // A channel unsubscribed meanwhile leaves again.
                self.dirty = true;
            }
            Err(err) => {
                let context = Context {
                    readonly: true,
                    redirectable: true,
                    ..Context::default()
                };
                if err.server_error().is_some() && classify(&err, context) == Action::Fail {
                    // The server will not take it (an ACL, say): the caller hears why.
                    tracing::debug!(error = %err, "a sharded channel was refused");
                    self.wanted[index(kind)].remove(&channel);
                    self.fail_waiters(kind, &[channel].into_iter().collect(), &err);
                    self.dirty = true;
                } else {
                    // The attempts' budget ran out (a failover taking longer): start again.
                    tracing::debug!(error = %err, "a sharded channel is not placed yet; retrying");
                    self.retry_later();
                }
            }
        }
    }
}
