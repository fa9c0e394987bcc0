//! One node's description of the cluster, parsed from `CLUSTER SHARDS` or `CLUSTER SLOTS`.

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::Value;

/// A node as the cluster describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct NodeDesc {
    /// The node id, empty when the reply has none.
    pub(crate) id: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// False for nodes the cluster reports as failed or loading.
    pub(crate) online: bool,
}

/// One shard: the slot ranges it serves, its primary and its replicas.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ShardDesc {
    /// Inclusive ranges, sorted.
    pub(crate) slots: Vec<(u16, u16)>,
    pub(crate) primary: NodeDesc,
    pub(crate) replicas: Vec<NodeDesc>,
}

/// The whole cluster as one node sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct ClusterView {
    pub(crate) shards: Vec<ShardDesc>,
}

/// Parses a `CLUSTER SHARDS` reply (RESP2 or RESP3). Endpoints given as `?` or empty are
/// replaced by `answered_host`, the host the reply came from.
pub(crate) fn parse_shards(reply: Value, answered_host: &str) -> Result<ClusterView> {
    let _ = (reply, answered_host);
    Err(Error::new(ErrorKind::Protocol, "not yet"))
}

/// Parses a `CLUSTER SLOTS` reply (RESP2 or RESP3), same endpoint rule.
pub(crate) fn parse_slots(reply: Value, answered_host: &str) -> Result<ClusterView> {
    let _ = (reply, answered_host);
    Err(Error::new(ErrorKind::Protocol, "not yet"))
}

/// The view most nodes agree on; ties go to the view reported with the highest epoch.
pub(crate) fn choose_view(views: Vec<(ClusterView, u64)>) -> Option<ClusterView> {
    views.into_iter().next().map(|(v, _)| v)
}
