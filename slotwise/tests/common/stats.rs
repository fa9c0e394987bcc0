//! Reading a node's own counters (`INFO commandstats`), to check from the server's side where
//! commands went.

use slotwise::{ClusterNode, RedisCluster, Target};

/// The `field` (`calls`, `rejected_calls` …) of `command`'s line in `node`'s `INFO
/// commandstats`; 0 when the node has not seen the command.
pub(crate) async fn command_stat(
    cluster: &RedisCluster,
    node: ClusterNode,
    command: &str,
    field: &str,
) -> u64 {
    let stats: String = cluster
        .cmd("INFO")
        .arg("commandstats")
        .target(Target::Node(node))
        .query()
        .await
        .unwrap();
    let prefix = format!("cmdstat_{command}:");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|fields| {
            fields
                .split(',')
                .find_map(|kv| kv.trim().strip_prefix(field)?.strip_prefix('='))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
