//! Telling a socket that went quiet from one that is gone: a `PING` after [`HEALTH_INTERVAL`] of
//! quiet, and the socket dropped when the answer does not come within the response timeout (a
//! frozen or cut-off node sends no close). A node-local socket is asked `ROLE` instead, every
//! [`ROLE_INTERVAL`] however busy it is: a primary that stepped down keeps its socket open and
//! keeps raising events (for the writes it now copies), so only its answer tells the task to
//! look for the new primary.
//!
//! This module does not place what a dropped socket carried again; `place` does, after the
//! retry it schedules.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{Outstanding, Task};
use crate::cluster::pubsub::{LossReason, MessageKind};
use crate::connection::later_than;
use crate::protocol::Cmd;

/// How long classic subscriptions stay away from a node whose socket stopped answering (spread
/// channels: whose socket was lost).
pub(super) const AVOID_FOR: Duration = Duration::from_secs(10);

/// How often a socket that has been quiet is asked `PING`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// How often a node-local socket asks its node `ROLE`.
pub(super) const ROLE_INTERVAL: Duration = Duration::from_secs(1);

impl Task {
    /// When the next socket is due a `PING` or a verdict on one.
    pub(super) fn next_health_check(&self) -> Option<Instant> {
        let timeout = self.cluster.inner.settings.connection.response_timeout;
        self.sockets()
            .map(|s| match s.pinged {
                Some(at) => later_than(at, timeout),
                None => s.role_due.map_or(s.heard + HEALTH_INTERVAL, |due| {
                    due.min(s.heard + HEALTH_INTERVAL)
                }),
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
        let role = Cmd::new("ROLE");
        let mut dead: Vec<u64> = Vec::new();
        let sockets = self
            .classic
            .iter_mut()
            .chain(self.shards.iter_mut())
            .chain(self.locals.iter_mut());
        for socket in sockets {
            let role_due = socket.role_due.is_some_and(|due| now >= due);
            match socket.pinged {
                Some(at) if now >= later_than(at, timeout) => dead.push(socket.id),
                Some(_) => {}
                None if role_due || now >= socket.heard + HEALTH_INTERVAL => {
                    let asks_role = socket.role_due.is_some();
                    let cmd = if asks_role { &role } else { &ping };
                    if socket.sub.send([cmd]).is_err() {
                        dead.push(socket.id);
                    } else {
                        socket.pinged = Some(now);
                        if asks_role {
                            socket.role_due = Some(now + ROLE_INTERVAL);
                        }
                        socket.outstanding.push_back(Outstanding {
                            kind: MessageKind::Message,
                            subscribe: false,
                            ping: true,
                            role: asks_role,
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
