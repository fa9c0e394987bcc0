//! Watching a cluster recover: while commands wait through an outage, the few nodes that
//! will end it are asked about it every `recovery_probe_interval`, rather than the whole
//! topology being fetched again and again.
//!
//! Two things end an outage without a command noticing in time. A replica of an unreachable
//! primary wins its election: it knows first, and the other nodes hear of it from its broadcast
//! some milliseconds later; asking it (`ROLE`) lets the refresh run at once and act on its word
//! (see `refresh`). And nodes that refused with `CLUSTERDOWN` turn ok once they hear of the
//! election, without a topology change a waiting command could see; asking them (`CLUSTER
//! INFO`) wakes the commands they refused.
//!
//! This module decides nothing about routing; it tells `refresh` whom to ask first and wakes
//! waiters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::cluster::node::{NodeEntry, Role};
use crate::cluster::snapshot::Snapshot;
use crate::cluster::Inner;
use crate::protocol::{Cmd, Value};

/// What watching an outage end remembers.
#[derive(Default)]
pub(super) struct State {
    /// Nodes that answered `CLUSTERDOWN` and have not yet been seen serving again.
    refusing: Mutex<Vec<Arc<NodeEntry>>>,
    /// Wakes commands waiting for the cluster to serve again without a new topology (a node
    /// that refused with `CLUSTERDOWN` reports its cluster state ok).
    serving_again: tokio::sync::Notify,
    /// Bumped before each `serving_again` notification.
    serving_epoch: AtomicU64,
}

/// True when a `ROLE` reply says `master`.
fn says_primary(reply: &Value) -> bool {
    match reply {
        Value::Array(items) => items.first().and_then(Value::as_bytes) == Some(&b"master"[..]),
        _ => false,
    }
}

/// True when a `CLUSTER INFO` reply says `cluster_state:ok`.
fn state_ok(reply: &Value) -> bool {
    reply
        .as_bytes()
        .and_then(|b| std::str::from_utf8(b).ok())
        .is_some_and(|text| text.lines().any(|l| l.trim_end() == "cluster_state:ok"))
}

impl Inner {
    /// Waits `wait`, meanwhile watching every `recovery_probe_interval` for the cluster to serve
    /// again: returns early with a replica of an unreachable primary that says it is a primary
    /// now, and wakes waiting commands when a node that refused with `CLUSTERDOWN` reports its
    /// cluster state ok.
    ///
    /// A replica knows of its election before any other node, and the other nodes learn of it
    /// from its broadcast: asking it lets the refresh run the moment the cluster has a new
    /// topology rather than at the next rate-limited round. The probe goes over the connection
    /// commands will use once the replica is a primary, so that one is open by then. The nodes
    /// that refused turn ok some tens of milliseconds after the election, without a topology
    /// change a waiting command could see.
    pub(crate) async fn watch_for_recovery(&self, wait: Duration) -> Option<Arc<NodeEntry>> {
        let until = Instant::now() + wait;
        let Some(every) = self.settings.recovery_probe_interval else {
            tokio::time::sleep_until(until.into()).await;
            return None;
        };
        loop {
            let heirs = self.heirs_of_unreachable_primaries();
            let refusing = self.refusing_nodes();
            // Nothing to ask yet; commands may meet a refusing node any moment.
            if !heirs.is_empty() || !refusing.is_empty() {
                if let Some(heir) = self.probe_once(&heirs, &refusing).await {
                    return Some(heir);
                }
            }
            let next = Instant::now() + every;
            if next >= until {
                tokio::time::sleep_until(until.into()).await;
                return None;
            }
            tokio::time::sleep_until(next.into()).await;
        }
    }

    /// One round of [`watch_for_recovery`](Self::watch_for_recovery): asks `heirs` for their
    /// role and `refusing` for their cluster state, wakes waiting commands if a refusing node
    /// serves again, and returns an heir that says it is a primary.
    async fn probe_once(
        &self,
        heirs: &[Arc<NodeEntry>],
        refusing: &[Arc<NodeEntry>],
    ) -> Option<Arc<NodeEntry>> {
        let role = Cmd::new("ROLE");
        let info = Cmd::new("CLUSTER").arg("INFO");
        // The full timeouts, not what is left of the wait: a connect cut short would put the
        // connection the promoted node's commands will use into reconnect backoff.
        let config = &self.settings.connection;
        let limit = config.connect_timeout.min(config.response_timeout);
        let roles = join_all(heirs.iter().map(|e| e.conn.send_within(&role, limit)));
        let states = join_all(refusing.iter().map(|e| e.conn.send_within(&info, limit)));
        let (roles, states) = futures_util::future::join(roles, states).await;
        let mut serving = Vec::new();
        for (entry, reply) in refusing.iter().zip(states) {
            // A probe that fails is no news: the node stays watched.
            if reply.is_ok_and(|r| state_ok(&r)) {
                serving.push(entry.node.name().to_owned());
            }
        }
        if !serving.is_empty() {
            self.topology
                .recovery
                .refusing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|e| !serving.iter().any(|n| n == e.node.name()));
            self.topology
                .recovery
                .serving_epoch
                .fetch_add(1, Ordering::AcqRel);
            self.topology.recovery.serving_again.notify_waiters();
        }
        for (entry, reply) in heirs.iter().zip(roles) {
            if reply.is_ok_and(|r| says_primary(&r)) {
                tracing::debug!(
                    node = entry.node.name(),
                    "a replica of an unreachable primary was promoted"
                );
                return Some(Arc::clone(entry));
            }
        }
        None
    }

    /// Counts the times refusing nodes were seen serving again.
    pub(crate) fn serving_epoch(&self) -> u64 {
        self.topology.recovery.serving_epoch.load(Ordering::Acquire)
    }

    /// Remembers that `entry` refused a command with `CLUSTERDOWN`.
    pub(crate) fn note_refusing(&self, entry: &Arc<NodeEntry>) {
        let mut refusing = self
            .topology
            .recovery
            .refusing
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !refusing.iter().any(|e| Arc::ptr_eq(e, entry)) {
            refusing.push(Arc::clone(entry));
        }
    }

    /// Forgets refusing nodes that are not in `snapshot`.
    pub(super) fn forget_refusing_outside(&self, snapshot: &Snapshot) {
        self.topology
            .recovery
            .refusing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|e| snapshot.find(e.node.name()).is_some());
    }

    /// A wake-up for when refusing nodes are seen serving again (see
    /// [`serving_epoch`](Self::serving_epoch) for the wake-up a caller would otherwise miss).
    pub(super) fn serving_again(&self) -> tokio::sync::futures::Notified<'_> {
        self.topology.recovery.serving_again.notified()
    }

    pub(crate) fn refusing_nodes(&self) -> Vec<Arc<NodeEntry>> {
        self.topology
            .recovery
            .refusing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The replicas (as primary-role entries) of every primary whose connection is down.
    pub(crate) fn heirs_of_unreachable_primaries(&self) -> Vec<Arc<NodeEntry>> {
        let snapshot = self.topology.snapshot.load();
        snapshot
            .shards
            .iter()
            .filter(|s| s.is_listed() && s.primary.conn.is_down())
            .flat_map(|s| s.replicas.iter())
            .map(|r| {
                self.registry
                    .entry(r.node.host(), r.node.port(), Role::Primary)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn role_replies_are_read() {
        let primary = Value::Array(vec![
            Value::Bulk(Bytes::from_static(b"master")),
            Value::Int(0),
        ]);
        let replica = Value::Array(vec![Value::Bulk(Bytes::from_static(b"slave"))]);
        assert!(says_primary(&primary));
        assert!(!says_primary(&replica));
        assert!(!says_primary(&Value::Nil));
    }

    #[test]
    fn cluster_state_is_read() {
        let ok = Value::Bulk(Bytes::from_static(
            b"cluster_state:ok\r\ncluster_slots_assigned:16384\r\n",
        ));
        let fail = Value::Bulk(Bytes::from_static(b"cluster_state:fail\r\n"));
        assert!(state_ok(&ok));
        assert!(!state_ok(&fail));
        assert!(!state_ok(&Value::Int(1)));
    }
}
