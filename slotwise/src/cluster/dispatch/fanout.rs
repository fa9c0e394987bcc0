//! Commands sent to several nodes at once: targets chosen by the caller, or fan-outs asked for
//! by a command's routing tips; replies merged into one.
//!
//! Targets named by role (`Primaries`, `Replicas`, `AllNodes`) are resolved against the current
//! topology; when a node fails in a way that a topology change explains, the roles are resolved
//! again and the command sent again, if that is safe. Explicit nodes are sent to as given.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;

use super::classify::{classify, Action, Context};

use crate::cluster::node::NodeEntry;
use crate::cluster::snapshot::Snapshot;
use crate::cluster::target::Target;
use crate::cluster::{unknown_node, RedisCluster};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::{merge_replies, ResponsePolicy};

/// How the replies of several nodes become one.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Merge {
    /// By the command's response policy.
    Policy(ResponsePolicy),
    /// Fanned out because its tips said so: by the policy, or the default aggregation of nested
    /// replies (`KEYS` arrays concatenated).
    Tip(Option<ResponsePolicy>),
    /// Sent where the caller chose, with no policy: a map of node name to reply, so each
    /// node's answer stays whole (`ROLE`, `CLIENT LIST`).
    PerNode,
}

impl Target {
    /// True when the target names roles, resolved afresh after a topology change.
    fn is_role(&self) -> bool {
        matches!(
            self,
            Target::Primaries | Target::Replicas | Target::AllNodes
        )
    }
}

/// The nodes `target` names in `snapshot`.
fn resolve(
    cluster: &RedisCluster,
    snapshot: &Snapshot,
    target: &Target,
) -> Result<Vec<Arc<NodeEntry>>> {
    Ok(match target {
        Target::Primaries => snapshot.primaries().cloned().collect(),
        Target::Replicas => snapshot.replicas().cloned().collect(),
        Target::AllNodes => snapshot.all().cloned().collect(),
        Target::Random => {
            let all: Vec<&Arc<NodeEntry>> = snapshot.all().collect();
            match all.get(fastrand::usize(..all.len().max(1))) {
                Some(e) => vec![Arc::clone(e)],
                None => vec![cluster.default_entry()],
            }
        }
        Target::DefaultNode => vec![cluster.default_entry()],
        Target::Node(node) => match snapshot.find(node.name()) {
            Some(e) => vec![Arc::clone(e)],
            None => return Err(unknown_node(node)),
        },
        Target::Nodes(list) => {
            let mut found = Vec::with_capacity(list.len());
            for node in list {
                match snapshot.find(node.name()) {
                    Some(e) => found.push(Arc::clone(e)),
                    None => return Err(unknown_node(node)),
                }
            }
            found
        }
    })
}

/// True for an error after which the fan-out may be sent again once the topology is newer:
/// the attempt rules (`classify`) would retry it rather than give up.
fn cured_by_refresh(err: &Error, readonly: bool, retry_writes: bool) -> bool {
    let ctx = Context {
        readonly,
        retry_writes,
        via_replica: false,
        redirectable: true,
    };
    classify(err, ctx) != Action::Fail
}

impl RedisCluster {
    /// Sends to the nodes of `target`; merges their replies unless it is a single node.
    /// `readonly` says whether the command only reads, so a failed fan-out may be sent again.
    pub(crate) async fn run_target(
        &self,
        cmd: &Cmd,
        target: &Target,
        merge: Merge,
        readonly: bool,
    ) -> Result<Value> {
        if matches!(target, Target::DefaultNode) {
            return self
                .dispatch(
                    cmd,
                    super::Destination::Default,
                    readonly,
                    crate::routing::Block::Not,
                )
                .await;
        }
        if target.is_single() {
            let snapshot = self.snapshot();
            let nodes = resolve(self, &snapshot, target)?;
            let Some(entry) = nodes.first() else {
                return Err(Error::new(ErrorKind::NoReachableNode, "no node to send to"));
            };
            return self.run_on(entry, cmd, readonly).await;
        }
        let deadline = crate::connection::deadline_in(self.inner.settings.retry_deadline);
        loop {
            let snapshot = self.snapshot();
            let nodes = resolve(self, &snapshot, target)?;
            if nodes.is_empty() {
                return Err(Error::new(
                    ErrorKind::NoReachableNode,
                    format!("no node matches the target {target:?}"),
                ));
            }
            let replies = join_all(
                nodes
                    .iter()
                    .map(|e| async move { (e.node.name().to_owned(), e.conn.send(cmd).await) }),
            )
            .await;
            let failed: Vec<&Error> = replies
                .iter()
                .filter_map(|(_, r)| r.as_ref().err())
                .collect();
            let retry = target.is_role()
                && !failed.is_empty()
                && failed
                    .iter()
                    .all(|e| cured_by_refresh(e, readonly, self.inner.settings.retry_writes_on_io))
                && Instant::now() < deadline;
            if retry {
                self.inner.request_refresh();
                let limit = deadline.saturating_duration_since(Instant::now());
                self.inner
                    .wait_for_change(
                        snapshot.generation,
                        limit.min(self.inner.settings.retry_max_backoff),
                    )
                    .await;
                continue;
            }
            return match merge {
                Merge::Policy(policy) => merge_replies(Some(policy), replies),
                Merge::Tip(policy) => merge_replies(policy, replies),
                Merge::PerNode => {
                    let mut map = Vec::with_capacity(replies.len());
                    for (node, reply) in replies {
                        map.push((Value::Bulk(node.into()), reply?));
                    }
                    Ok(Value::Map(map))
                }
            };
        }
    }
}
