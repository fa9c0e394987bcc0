//! Telling a socket that went quiet from one that is gone: a `PING` after [`HEALTH_INTERVAL`] of
//! quiet, and the socket dropped when the answer does not come within the response timeout (a
//! frozen or cut-off node sends no close).
//!
//! This module does not place what a dropped socket carried again; `place` does, after the
//! retry it schedules.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{Outstanding, Task};
use crate::cluster::pubsub::{LossReason, MessageKind};
use crate::connection::later_than;
use crate::protocol::Cmd;

/// How long classic subscriptions stay away from a node whose socket stopped answering.
const AVOID_FOR: Duration = Duration::from_secs(10);

/// How often a socket that has been quiet is asked `PING`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

impl Task {
    /// When the next socket is due a `PING` or a verdict on one.
    pub(super) fn next_health_check(&self) -> Option<Instant> {
        let timeout = self.cluster.inner.settings.connection.response_timeout;
        self.sockets()
            .map(|s| match s.pinged {
                Some(at) => later_than(at, timeout),
                None => s.heard + HEALTH_INTERVAL,
            })
            .min()
    }

    /// Pings quiet sockets; drops those that did not answer in time (a frozen or cut-off
    /// node sends no close), so their subscriptions are made again elsewhere.
    pub(super) fn check_health(&mut self) {
        // Frames already here count: a socket is not judged on a queue this task was slow to
        // read.
        while let Ok((id, event)) = self.events.try_recv() {
            self.event(id, event);
        }
        let now = Instant::now();
        let timeout = self.cluster.inner.settings.connection.response_timeout;
        let ping = Cmd::new("PING");
        let mut dead: Vec<u64> = Vec::new();
        for socket in self.classic.iter_mut().chain(self.shards.iter_mut()) {
            match socket.pinged {
                Some(at) if now >= later_than(at, timeout) => dead.push(socket.id),
                Some(_) => {}
                None if now >= socket.heard + HEALTH_INTERVAL => {
                    if socket.sub.send([&ping]).is_err() {
                        dead.push(socket.id);
                    } else {
                        socket.pinged = Some(now);
                        socket.outstanding.push_back(Outstanding {
                            kind: MessageKind::Message,
                            subscribe: false,
                            ping: true,
                            names: BTreeSet::new(),
                            placing: Vec::new(),
                        });
                    }
                }
                None => {}
            }
        }
        for id in dead {
            tracing::debug!("a subscriber socket stopped answering; subscribing elsewhere");
            if let Some(socket) = self.classic.as_ref().filter(|s| s.id == id) {
                self.avoid = Some((socket.sub.node().to_owned(), now + AVOID_FOR));
            }
            self.drop_socket(id, &super::shard::lost(), LossReason::Unresponsive);
        }
    }
}
