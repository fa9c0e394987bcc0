//! The `subscribe` calls waiting on the task: when each name counts as placed, completing the
//! calls whose names all are, failing those the server refused, and timing out the rest (their
//! names are then not kept, so nothing is subscribed behind a caller's back).
//!
//! This module does not place names (`place`, `local`) nor read confirmations (`events`).

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::Bytes;

use super::{index, Socket, Task};
use crate::cluster::pubsub::{MessageKind, Nodes};
use crate::error::{Error, ErrorKind};

impl Task {
    /// True if `name` is subscribed as asked: classic and sharded names on a socket and not
    /// waiting for their confirmation; node-local ones so on every node placing planned.
    pub(super) fn is_placed(&self, kind: MessageKind, on: Option<Nodes>, name: &Bytes) -> bool {
        let holds = |s: &Socket| {
            s.names[index(kind)].contains(name)
                && !s
                    .outstanding
                    .iter()
                    .any(|o| o.kind == kind && o.names.contains(name))
        };
        if on.is_some() {
            let mut nodes = self.planned_nodes(kind, name).peekable();
            return nodes.peek().is_some()
                && nodes.all(|node| self.locals.iter().any(|s| &*s.node == node && holds(s)));
        }
        match kind {
            MessageKind::Message if self.spread => self.locals.iter().any(holds),
            MessageKind::Message | MessageKind::Pattern => self.classic.iter().any(holds),
            MessageKind::Sharded => self.shards.iter().any(holds),
        }
    }

    /// The nodes the last placement planned `name`'s node-local subscription on.
    fn planned_nodes<'a>(
        &'a self,
        kind: MessageKind,
        name: &'a Bytes,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.planned
            .range((kind, name.clone(), String::new())..)
            .take_while(move |(k, n, _)| *k == kind && n == name)
            .map(|(_, _, node)| node.as_str())
    }

    /// Completes the waiters whose names are all placed: those waiting for `name` after its
    /// confirmation, or every node-local one after a placement (`None`), whose plan may have
    /// changed.
    pub(super) fn settle(&mut self, confirmed: Option<(MessageKind, &Bytes)>) {
        let mut i = 0;
        while i < self.waiters.len() {
            let waiter = &self.waiters[i];
            let (kind, on) = (waiter.kind, waiter.on);
            let done: Vec<Bytes> = match confirmed {
                Some((k, name)) if k == kind && waiter.names.contains(name) => {
                    if self.is_placed(kind, on, name) {
                        vec![name.clone()]
                    } else {
                        Vec::new()
                    }
                }
                None if on.is_some() => waiter
                    .names
                    .iter()
                    .filter(|n| self.is_placed(kind, on, n))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            let waiter = &mut self.waiters[i];
            for name in &done {
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

    pub(super) fn fail_waiters(&mut self, kind: MessageKind, names: &BTreeSet<Bytes>, err: &Error) {
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

    pub(super) fn expire_waiters(&mut self) {
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
                    .any(|w| w.kind == waiter.kind && w.on == waiter.on && w.names.contains(name));
                if !still_waited {
                    self.wanted_mut(waiter.kind, waiter.on).remove(name);
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
}
