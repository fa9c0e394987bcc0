//! What the sockets send: turning their events into messages for the caller, confirmations for
//! the waiting `subscribe` calls, and error replies and unasked-for unsubscriptions into a new
//! placement.
//!
//! This module does not decide where names go (`place`) nor judge a quiet socket (`health`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::{index, Task};
use crate::cluster::dispatch::classify::{classify, Action, Context};
use crate::cluster::pubsub::{LossReason, Message, MessageKind, PubSubEvent};
use crate::connection::SinkEvent;
use crate::error::Error;
use crate::protocol::Value;

impl Task {
    pub(super) fn event(&mut self, id: u64, event: SinkEvent) {
        let Some(socket) = self.socket_mut(id) else {
            // A socket already given up on (its close, late frames): nothing to do.
            return;
        };
        socket.heard = Instant::now();
        socket.pinged = None;
        match event {
            SinkEvent::Push(items) => self.push(id, items),
            // A reply, not a push: the answer to the oldest command still waiting for its
            // outcome (those before it completed with their confirmations, in order).
            SinkEvent::Frame(reply) => {
                let node = socket.node.to_string();
                let Value::Error(e) = reply else {
                    // A PONG or a ROLE: the answer to the oldest health check (subscribe
                    // commands before it confirm with pushes, not replies).
                    let Some(pos) = socket.outstanding.iter().position(|o| o.ping) else {
                        return;
                    };
                    if let Some(check) = socket.outstanding.remove(pos) {
                        if check.role {
                            self.role_reply(&node, &reply);
                        }
                    }
                    return;
                };
                let Some(front) = socket.outstanding.pop_front() else {
                    return;
                };
                if front.ping {
                    return;
                }
                // The names it carried are not subscribed there.
                for name in &front.names {
                    socket.names[index(front.kind)].remove(name);
                }
                let err = Error::from_server(e).with_node(node.as_str());
                if !front.placing.is_empty() {
                    // A sharded channel's attempt: the attempt loop decides what comes next
                    // (follow a `MOVED`, back off, give up).
                    for done in front.placing {
                        let _ = done.send(Err(err.clone()));
                    }
                    return;
                }
                // Judged as a read's attempt: a (re)subscribe changes no data.
                let context = Context {
                    readonly: true,
                    redirectable: true,
                    ..Context::default()
                };
                if classify(&err, context) == Action::Fail && front.subscribe {
                    // The server will not take these names: the caller hears why.
                    let local = self.is_local(id);
                    for name in &front.names {
                        if local {
                            for set in &mut self.local {
                                if let Some(names) = set.get_mut(index(front.kind)) {
                                    names.remove(name);
                                }
                            }
                        }
                        if !local || self.spread {
                            self.wanted[index(front.kind)].remove(name);
                        }
                    }
                    self.fail_waiters(front.kind, &front.names, &err);
                } else {
                    // A refusal for now, or something passing: try again after a new topology
                    // (a sharded channel gets a runner of its own then).
                    tracing::debug!(error = %err, "a (un)subscribe was refused; retrying");
                    self.refresh_and_retry();
                }
            }
            SinkEvent::Closed(err) => {
                tracing::debug!(error = %err, "a subscriber socket closed");
                self.drop_socket(id, &err, LossReason::Closed);
            }
        }
    }

    fn push(&mut self, id: u64, items: Vec<Value>) {
        let mut items = items.into_iter();
        let Some(name) = items.next().and_then(bytes_of) else {
            return;
        };
        let rest: Vec<Bytes> = items.filter_map(bytes_of).collect();
        let Some(socket) = self.socket_mut(id) else {
            return;
        };
        // A name this socket has left (or was never sent) is not delivered: what a node sends
        // after a name moved elsewhere would come twice.
        let here = |kind: MessageKind, name: Option<&Bytes>| {
            name.is_some_and(|n| socket.names[index(kind)].contains(n))
        };
        let message = |kind, channel: Option<&Bytes>, pattern, payload: Option<&Bytes>| {
            Some(Message {
                kind,
                channel: channel?.clone(),
                pattern,
                payload: payload?.clone(),
                node: Arc::clone(&socket.node),
            })
        };
        let delivered = match &name[..] {
            b"message" if here(MessageKind::Message, rest.first()) => {
                message(MessageKind::Message, rest.first(), None, rest.get(1))
            }
            b"smessage" if here(MessageKind::Sharded, rest.first()) => {
                message(MessageKind::Sharded, rest.first(), None, rest.get(1))
            }
            b"pmessage" if here(MessageKind::Pattern, rest.first()) => message(
                MessageKind::Pattern,
                rest.get(1),
                rest.first().cloned(),
                rest.get(2),
            ),
            b"message" | b"smessage" | b"pmessage" => return,
            _ => None,
        };
        if let Some(m) = delivered {
            if let Some(total) = self.messages.push(m) {
                if total.is_power_of_two() {
                    self.tell(|| PubSubEvent::Dropped { total });
                }
            }
            return;
        }
        let (kind, subscribe) = match &name[..] {
            b"subscribe" => (MessageKind::Message, true),
            b"psubscribe" => (MessageKind::Pattern, true),
            b"ssubscribe" => (MessageKind::Sharded, true),
            b"unsubscribe" => (MessageKind::Message, false),
            b"punsubscribe" => (MessageKind::Pattern, false),
            b"sunsubscribe" => (MessageKind::Sharded, false),
            _ => return,
        };
        let Some(channel) = rest.first().cloned() else {
            return;
        };
        let Some(socket) = self.socket_mut(id) else {
            return;
        };
        // The confirmation completes the oldest command waiting for it.
        let mut asked = false;
        if let Some(pos) = socket
            .outstanding
            .iter()
            .position(|o| o.kind == kind && o.subscribe == subscribe && o.names.contains(&channel))
        {
            asked = true;
            if let Some(o) = socket.outstanding.get_mut(pos) {
                o.names.remove(&channel);
                if o.names.is_empty() {
                    if let Some(done) = socket.outstanding.remove(pos) {
                        for placing in done.placing {
                            let _ = placing.send(Ok(()));
                        }
                    }
                }
            }
        }
        let node = socket.node.to_string();
        let local = self.is_local(id);
        if subscribe {
            self.subscribed(local, kind, &channel, &node);
            return;
        }
        if let Some(socket) = self.socket_mut(id) {
            socket.names[index(kind)].remove(&channel);
        }
        if !asked && local {
            // Not something a server does to a classic subscription: placed again.
            self.dirty = true;
        } else if !asked && self.wanted[index(kind)].contains(&channel) {
            self.lose(kind, &channel, &node, LossReason::DroppedByServer, None);
            if kind == MessageKind::Sharded {
                // Its slot moved away: its runner subscribes it again at once, and the `MOVED`
                // it meets at the old owner says where the slot went.
                self.retry_at = None;
                self.dirty = true;
            } else {
                self.refresh_and_retry();
            }
        }
    }
}

/// The bytes of a string-like frame element.
fn bytes_of(value: Value) -> Option<Bytes> {
    match value.into_inner() {
        Value::SimpleString(b) | Value::Bulk(b) => Some(b),
        Value::Verbatim { text, .. } => Some(text),
        _ => None,
    }
}
