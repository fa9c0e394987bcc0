//! Helpers for fault tests: picking a victim and its heir, watching a promotion from outside
//! the client, waiting for a replica to catch up, and the keys of a slot range.

use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise_testkit::{LocalCluster, NodeInfo};

/// A cluster of its own for a fault test: 3 primaries with a replica each, and a 2 s node
/// timeout so a dead primary is replaced in seconds.
pub(crate) fn fault_cluster() -> Arc<LocalCluster> {
    fault_cluster_with(Duration::from_millis(2000))
}

/// [`fault_cluster`] with another node timeout.
pub(crate) fn fault_cluster_with(node_timeout: Duration) -> Arc<LocalCluster> {
    Arc::new(
        LocalCluster::builder()
            .primaries(3)
            .replicas(1)
            .node_timeout(node_timeout)
            .start()
            .unwrap(),
    )
}

/// A cluster of its own of 3 primaries and no replicas, for a test that moves slots or kills
/// nodes without wanting a failover.
pub(crate) fn primaries_only() -> Arc<LocalCluster> {
    Arc::new(
        LocalCluster::builder()
            .primaries(3)
            .replicas(0)
            .start()
            .unwrap(),
    )
}

/// A primary and the replica that will take over when it dies.
pub(crate) fn victim_and_heir(cluster: &LocalCluster, index: usize) -> (NodeInfo, NodeInfo) {
    let victim = cluster.primaries().unwrap()[index].clone();
    let heir = cluster
        .replicas()
        .unwrap()
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(victim.id.as_str()))
        .expect("every primary has a replica");
    (victim, heir)
}

/// Every slot `node` serves.
pub(crate) fn slots_of(node: &NodeInfo) -> Vec<u16> {
    node.slots.iter().flat_map(|r| r.clone()).collect()
}

/// Polls the node's role until it is a primary; returns when that was first seen.
pub(crate) fn watch_promotion(cluster: &LocalCluster, port: u16, limit: Duration) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        let role = cluster.call(port, &slotwise::protocol::Cmd::new("ROLE"));
        if let Ok(slotwise::protocol::Value::Array(items)) = role {
            if items.first().and_then(|v| v.as_bytes()) == Some(b"master") {
                return Instant::now();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{port} was not promoted within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the replica at `replica` has everything its primary at `primary` had written
/// when this was called (`master_repl_offset` of both, from `INFO replication`). Call it with
/// writes held: replication is asynchronous, so a write acknowledged just before the primary
/// is killed may be lost by the server otherwise.
pub(crate) fn wait_replicated(cluster: &LocalCluster, primary: u16, replica: u16, limit: Duration) {
    let offset = |port: u16| -> Option<u64> {
        let reply = cluster
            .call(
                port,
                &slotwise::protocol::Cmd::new("INFO").arg("replication"),
            )
            .ok()?;
        String::from_utf8_lossy(reply.as_bytes()?)
            .lines()
            .find_map(|l| l.strip_prefix("master_repl_offset:"))?
            .trim()
            .parse()
            .ok()
    };
    let target = offset(primary).expect("the primary tells its replication offset");
    let deadline = Instant::now() + limit;
    loop {
        let reached = offset(replica);
        if reached.is_some_and(|r| r >= target) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{replica} reached offset {reached:?} of {primary}'s {target} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A client of `cluster`, seeded with its first primary, every setting at its default.
pub(crate) async fn client_of(cluster: &LocalCluster) -> slotwise::RedisCluster {
    let port = cluster.primaries().unwrap()[0].port;
    slotwise::RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", port))
        .build()
        .await
        .unwrap()
}

/// Kills `conn`'s socket from the server's side (`CLIENT KILL ID`, sent by the test kit to
/// the shared cluster's node `port`): a real lost socket, which the client has to notice.
pub(crate) async fn kill_connection(conn: &slotwise::connection::Connection, port: u16) {
    use slotwise::protocol::{Cmd, Value};
    let id = match conn.send(&Cmd::new("CLIENT").arg("ID")).await.unwrap() {
        Value::Int(id) => id,
        other => panic!("CLIENT ID answered {other:?}"),
    };
    let killed = tokio::task::spawn_blocking(move || {
        let kill = Cmd::new("CLIENT").arg("KILL").arg("ID").arg(id);
        slotwise_testkit::shared().call(port, &kill).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(killed, Value::Int(1), "CLIENT KILL killed {killed:?}");
}
