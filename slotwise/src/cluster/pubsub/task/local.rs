//! Node-local subscriptions ([`Nodes`]) and classic channels spread by slot: the names that go
//! on one given node, one socket per node, kept in line with the topology.
//!
//! Each placement draws a plan from the installed snapshot: every node of each set gets that
//! set's names (a primary serving slots for [`Nodes::Primaries`], every listed node for
//! [`Nodes::AllNodes`]), and with `pubsub_spread_channels` each classic channel goes to the
//! primary of its slot, or the next live primary while that one is lost. Then every socket
//! leaves what the plan no longer puts on its node before any socket subscribes what it adds:
//! a subscription moving from a primary that stepped down to its successor leaves the old one
//! first, and since a socket's messages are delivered only for the names it holds (`events`),
//! nothing the old node sends afterwards comes twice. During the handover an event may be
//! missed; none is duplicated. A node-local subscription on a node that leaves its set is told
//! [`PubSubEvent::Left`].
//!
//! This module does not open sockets (`place`), read what they send (`events`) or judge their
//! health (`health`); it reads the `ROLE` replies `health` asks for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::place::{send, Purpose};
use super::{index, Task};
use crate::cluster::node::NodeEntry;
use crate::cluster::pubsub::{MessageKind, Nodes, PubSubEvent};
use crate::cluster::snapshot::Snapshot;
use crate::protocol::Value;
use crate::topology::keyslot;

/// What one node's socket is to carry.
struct Plan {
    entry: Arc<NodeEntry>,
    /// Channels and patterns.
    names: [BTreeSet<Bytes>; 2],
    /// Those of them that are node-local subscriptions (the rest are spread channels).
    local: [BTreeSet<Bytes>; 2],
}

const KINDS: [MessageKind; 2] = [MessageKind::Message, MessageKind::Pattern];

/// The nodes a set covers in `snapshot`, by name.
fn members(snapshot: &Snapshot, nodes: Nodes) -> Vec<Arc<NodeEntry>> {
    match nodes {
        Nodes::Primaries => snapshot
            .serving_primaries()
            .into_iter()
            .map(Arc::clone)
            .collect(),
        Nodes::AllNodes => {
            let mut seen = BTreeSet::new();
            snapshot
                .all()
                .filter(|e| seen.insert(e.node.name().to_owned()))
                .map(Arc::clone)
                .collect()
        }
    }
}

impl Task {
    /// Brings the local sockets in line with the plan; false if a socket could not be written.
    pub(super) fn place_local(&mut self) -> bool {
        let snapshot = self.cluster.snapshot();
        let (plan, settled) = self.plan(&snapshot);
        self.planned = plan
            .iter()
            .flat_map(|(node, p)| {
                KINDS.into_iter().flat_map(move |kind| {
                    p.local[index(kind)]
                        .iter()
                        .map(move |name| (kind, name.clone(), node.clone()))
                })
            })
            .collect();
        self.tell_left();
        // A node out of the plan loses its socket, and with it every subscription there.
        self.locals.retain(|s| plan.contains_key(&*s.node));
        let mut ok = true;
        // Every leave before any join: see the module doc.
        for socket in &mut self.locals {
            let Some(p) = plan.get(&*socket.node) else {
                continue;
            };
            for kind in KINDS {
                let i = index(kind);
                let leave: Vec<Bytes> = socket.names[i].difference(&p.names[i]).cloned().collect();
                ok &= send(socket, kind, false, leave, None);
            }
        }
        for (node, p) in &plan {
            match self.locals.iter_mut().find(|s| &*s.node == node) {
                Some(socket) => {
                    for kind in KINDS {
                        let i = index(kind);
                        let join: Vec<Bytes> =
                            p.names[i].difference(&socket.names[i]).cloned().collect();
                        ok &= send(socket, kind, true, join, None);
                    }
                }
                None => {
                    let opening = self
                        .opening
                        .iter()
                        .any(|o| o.purpose == Purpose::Local && o.node == *node);
                    if !opening {
                        let config = p.entry.conn.config().clone();
                        self.spawn_open(Purpose::Local, node.clone(), vec![config]);
                    }
                }
            }
        }
        if !settled {
            // Nothing else may ask: no command need fail while the stand-in node serves.
            self.cluster.inner.request_refresh();
        }
        ok && settled
    }

    /// True if `name` is asked for on a set of nodes.
    fn is_local_name(&self, kind: MessageKind, name: &Bytes) -> bool {
        self.local
            .iter()
            .any(|set| set.get(index(kind)).is_some_and(|n| n.contains(name)))
    }

    /// Where each name goes: node-local names on every node of their set, spread channels on
    /// the primary of their slot. False with it if a spread channel stands in on another node
    /// for a lost primary: placing goes on (and refreshes with it) until the topology names
    /// the slot's new primary.
    fn plan(&self, snapshot: &Snapshot) -> (BTreeMap<String, Plan>, bool) {
        let mut settled = true;
        let mut plan: BTreeMap<String, Plan> = BTreeMap::new();
        let mut add =
            |entry: &Arc<NodeEntry>, kind: MessageKind, names: &BTreeSet<Bytes>, local| {
                let p = plan
                    .entry(entry.node.name().to_owned())
                    .or_insert_with(|| Plan {
                        entry: Arc::clone(entry),
                        names: [BTreeSet::new(), BTreeSet::new()],
                        local: [BTreeSet::new(), BTreeSet::new()],
                    });
                p.names[index(kind)].extend(names.iter().cloned());
                if local {
                    p.local[index(kind)].extend(names.iter().cloned());
                }
            };
        for nodes in [Nodes::Primaries, Nodes::AllNodes] {
            let wanted = &self.local[nodes.index()];
            if wanted.iter().all(BTreeSet::is_empty) {
                continue;
            }
            for entry in members(snapshot, nodes) {
                for kind in KINDS {
                    add(&entry, kind, &wanted[index(kind)], true);
                }
            }
        }
        if self.spread {
            let now = Instant::now();
            let primaries: Vec<&Arc<NodeEntry>> = snapshot.primaries().collect();
            let usable = |e: &Arc<NodeEntry>| {
                !e.conn.is_down()
                    && self
                        .down
                        .get(e.node.name())
                        .is_none_or(|until| *until <= now)
            };
            for channel in &self.wanted[index(MessageKind::Message)] {
                let Ok(owner) = snapshot.node_for_slot(keyslot(channel), None) else {
                    continue;
                };
                // While the owner is lost, the next live primary: the cluster passes classic
                // messages to every node, so any will hear it.
                let start = primaries
                    .iter()
                    .position(|e| Arc::ptr_eq(e, owner))
                    .unwrap_or(0);
                let live = (0..primaries.len())
                    .filter_map(|k| primaries.get((start + k) % primaries.len()))
                    .find(|e| usable(e));
                let entry = if usable(owner) {
                    owner
                } else {
                    settled = false;
                    live.copied().unwrap_or(owner)
                };
                add(
                    entry,
                    MessageKind::Message,
                    &BTreeSet::from([channel.clone()]),
                    false,
                );
            }
        }
        (plan, settled)
    }

    /// Node-local subscriptions told `Subscribed` whose node the plan no longer has for them:
    /// `Left` if the name is still asked for, forgotten either way.
    fn tell_left(&mut self) {
        let gone: Vec<(MessageKind, Bytes, String)> =
            self.told.difference(&self.planned).cloned().collect();
        for (kind, name, node) in gone {
            self.told.remove(&(kind, name.clone(), node.clone()));
            self.lost.remove(&(kind, name.clone(), Some(node.clone())));
            if self.is_local_name(kind, &name) {
                self.tell(|| PubSubEvent::Left { kind, name, node });
            }
        }
        // Losses of node-local subscriptions never told subscribed (lost before confirmed).
        let planned = &self.planned;
        self.lost.retain(|(kind, name, key), _| match key {
            Some(node) => planned.contains(&(*kind, name.clone(), node.clone())),
            None => true,
        });
    }

    /// A node-local socket's node answered `ROLE`: if that is not the role the topology gives
    /// it (a primary that stepped down, a replica promoted), a refresh is asked for, and the
    /// plan follows the topology it brings.
    pub(super) fn role_reply(&mut self, node: &str, reply: &Value) {
        let Value::Array(items) = reply else {
            return;
        };
        let Some(role) = items.first().and_then(Value::as_bytes) else {
            return;
        };
        let says_primary = role == b"master";
        let snapshot = self.cluster.snapshot();
        let serving = snapshot
            .serving_primaries()
            .iter()
            .any(|e| e.node.name() == node);
        if (serving && !says_primary) || (says_primary && !snapshot.is_primary(node)) {
            tracing::debug!(node, "a node's role differs from the topology; refreshing");
            self.cluster.inner.request_refresh();
        }
    }
}
