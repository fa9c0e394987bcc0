//! [`Target`]: the nodes a command is sent to when the caller chooses them, and the handle that
//! carries a target ([`TargetedCluster`]).
//!
//! Flags (`Primaries`, `Replicas`, `AllNodes`, `Random`, `DefaultNode`) name roles and are
//! resolved against the topology at send time, again after a topology change. Explicit nodes
//! are sent to as given and never redirected elsewhere.

use super::node::ClusterNode;
use super::RedisCluster;
use crate::commands::{CommandFuture, Executor};
use crate::protocol::{Cmd, FromValue};

/// The nodes a command goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// Every primary; replies merged by the command's response policy.
    Primaries,
    /// Every replica; replies merged.
    Replicas,
    /// Every node; replies merged.
    AllNodes,
    /// One node chosen at random.
    Random,
    /// The default node (see [`RedisCluster::default_node`]).
    DefaultNode,
    /// This node only.
    Node(ClusterNode),
    /// These nodes; replies merged.
    Nodes(Vec<ClusterNode>),
}

impl Target {
    /// True when the target is one node, so the reply is that node's reply, not a merge.
    pub(crate) fn is_single(&self) -> bool {
        matches!(self, Target::Random | Target::DefaultNode | Target::Node(_))
    }
}

/// A cluster handle whose commands go to a chosen [`Target`].
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::ServerCommands;
/// use slotwise::Target;
///
/// let keys: i64 = cluster.target(Target::Primaries).dbsize().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TargetedCluster {
    cluster: RedisCluster,
    target: Target,
}

impl TargetedCluster {
    pub(crate) fn new(cluster: RedisCluster, target: Target) -> TargetedCluster {
        TargetedCluster { cluster, target }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

impl Executor for TargetedCluster {
    type Output<T: FromValue + Send + 'static> = CommandFuture<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
        let cluster = self.cluster.clone();
        let target = self.target.clone();
        CommandFuture::new(async move { T::from_value(cluster.run(&cmd, Some(&target)).await?) })
    }
}
