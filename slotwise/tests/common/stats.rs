//! Reading a node's own counters (`INFO commandstats`), to check from the server's side where
//! commands went: through the client, or through the test kit (which sees the real ports of
//! nodes the client reaches through a proxy).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::protocol::{Cmd, Value};
use slotwise::{ClusterNode, RedisCluster, Target};
use slotwise_testkit::LocalCluster;

use super::SLACK;

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

/// `GET` calls each live node has served.
pub(crate) fn get_calls(kit: &LocalCluster, ports: &[u16]) -> HashMap<u16, u64> {
    let mut calls = HashMap::new();
    for &port in ports {
        let Ok(reply) = kit.call(port, &Cmd::new("INFO").arg("commandstats")) else {
            continue; // killed
        };
        let text = match reply {
            Value::Verbatim { text, .. } => String::from_utf8_lossy(&text).into_owned(),
            other => String::from_utf8_lossy(other.as_bytes().unwrap()).into_owned(),
        };
        let n = text
            .lines()
            .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        calls.insert(port, n);
    }
    calls
}

/// Which nodes served `rounds` `GET`s of each of `keys` through `client`: port → count.
pub(crate) async fn served_by(
    kit: &LocalCluster,
    client: &RedisCluster,
    keys: &[&str],
    rounds: usize,
) -> HashMap<u16, u64> {
    let ports = kit.ports();
    let before = get_calls(kit, &ports);
    for _ in 0..rounds {
        for key in keys {
            let v: Option<String> = client.get(*key).await.unwrap();
            assert_eq!(v.as_deref(), Some("v"), "GET {key}");
        }
    }
    let after = get_calls(kit, &ports);
    after
        .into_iter()
        .filter_map(|(port, n)| {
            let served = n - before.get(&port).copied().unwrap_or(0);
            (served > 0).then_some((port, served))
        })
        .collect()
}

/// Waits until ten `GET`s of `key` in a row are all served by `port`.
pub(crate) async fn until_served_by(
    kit: &LocalCluster,
    client: &RedisCluster,
    key: &str,
    port: u16,
) {
    let deadline = Instant::now() + SLACK * 10;
    loop {
        let served = served_by(kit, client, &[key], 10).await;
        if served.len() == 1 && served.get(&port) == Some(&10) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GET {key} expected on {port} only, served by {served:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
