//! Creating a cluster client and what it knows: startup nodes, URLs, the node caches, the
//! default node, direct node access.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use slotwise::protocol::{Cmd, FromValue, Value};
use slotwise::{ClusterNode, ErrorKind, RedisCluster, Role, Target};

fn seed() -> (String, u16) {
    let cluster = slotwise_testkit::shared();
    let port = cluster.primaries().unwrap()[0].port;
    ("127.0.0.1".to_owned(), port)
}

#[tokio::test]
async fn from_host_port_url_and_startup_nodes() {
    let (host, port) = seed();
    let a = RedisCluster::new(host.clone(), port).await.unwrap();
    let b = RedisCluster::from_url(&format!("redis://{host}:{port}"))
        .await
        .unwrap();
    let unreachable = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // The first startup node is down: the next one is used.
    let c = RedisCluster::from_nodes([
        ClusterNode::new("127.0.0.1", unreachable),
        ClusterNode::new(host, port),
    ])
    .await
    .unwrap();
    for cluster in [&a, &b, &c] {
        assert_eq!(cluster.get_primaries().len(), 3);
        assert_eq!(cluster.get_replicas().len(), 3);
        assert_eq!(cluster.get_nodes().len(), 6);
    }
}

#[tokio::test]
async fn no_startup_node_answers_names_every_node_tried() {
    let ports: Vec<u16> = (0..3)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        })
        .collect();
    let err = RedisCluster::builder()
        .startup_nodes(ports.iter().map(|&p| ClusterNode::new("127.0.0.1", p)))
        .connect_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoReachableNode, "{err}");
    let text = err.to_string();
    for p in ports {
        assert!(text.contains(&format!("127.0.0.1:{p}")), "{text}");
    }
}

#[tokio::test]
async fn bad_urls_are_clear_errors() {
    let err = RedisCluster::from_url("http://x:1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = RedisCluster::from_url("redis://u:secret-pw@h:1/2")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(!format!("{err} {err:?}").contains("secret-pw"));
    #[cfg(not(feature = "tls"))]
    {
        let err = RedisCluster::from_url("rediss://h:1").await.unwrap_err();
        assert!(err.to_string().contains("tls"), "{err}");
    }
}

#[tokio::test]
async fn node_cache_matches_the_cluster() {
    let testkit = slotwise_testkit::shared();
    let (host, port) = seed();
    let cluster = RedisCluster::new(host, port).await.unwrap();
    let expected: HashSet<u16> = testkit
        .primaries()
        .unwrap()
        .iter()
        .map(|n| n.port)
        .collect();
    let primaries: HashSet<u16> = cluster.get_primaries().iter().map(|n| n.port()).collect();
    assert_eq!(primaries, expected);
    for node in cluster.get_primaries() {
        assert_eq!(node.role(), Role::Primary);
        assert_eq!(node.name(), format!("{}:{}", node.host(), node.port()));
        assert_eq!(
            cluster.get_node(node.host(), node.port()),
            Some(node.clone())
        );
    }
    for node in cluster.get_replicas() {
        assert_eq!(node.role(), Role::Replica);
    }
    assert_eq!(cluster.get_node("127.0.0.1", 1), None);

    // The key's node is the slot's owner per the server itself.
    let key = "cache-test-key";
    let slot = RedisCluster::keyslot(key);
    assert_eq!(slot, testkit.slot_of_key(key).unwrap());
    let owner = testkit.node_for_slot(slot).unwrap();
    assert_eq!(
        cluster.get_node_from_key(key, false).unwrap().port(),
        owner.port
    );
    let replica = cluster.get_node_from_key(key, true).unwrap();
    assert_eq!(replica.role(), Role::Replica);
    let info = testkit.node(replica.port()).unwrap();
    assert_eq!(info.primary_id.as_deref(), Some(owner.id.as_str()));
}

#[tokio::test]
async fn default_node_is_a_primary_and_settable() {
    let (host, port) = seed();
    let cluster = RedisCluster::new(host, port).await.unwrap();
    let default = cluster.default_node();
    assert!(cluster.get_primaries().contains(&default));
    let other = cluster
        .get_primaries()
        .into_iter()
        .find(|n| *n != default)
        .unwrap();
    cluster.set_default_node(&other).unwrap();
    assert_eq!(cluster.default_node(), other);
    // Keyless commands without a tip go to the default node.
    let id: String = cluster.cmd("CLUSTER").arg("MYID").query().await.unwrap();
    let expected: String = cluster
        .cmd("CLUSTER")
        .arg("MYID")
        .target(Target::Node(other.clone()))
        .query()
        .await
        .unwrap();
    assert_eq!(id, expected);

    let replica = cluster.get_replicas()[0].clone();
    let err = cluster.set_default_node(&replica).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = cluster
        .set_default_node(&ClusterNode::new("127.0.0.1", 1))
        .unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}

#[tokio::test]
async fn node_client_talks_to_that_node_only() {
    let (host, port) = seed();
    let cluster = RedisCluster::new(host, port).await.unwrap();
    for node in cluster.get_nodes() {
        let client = cluster.node_client(&node).unwrap();
        assert_eq!(client.node(), &node);
        let reply = client
            .connection()
            .send(&Cmd::new("CONFIG").arg("GET").arg("port"))
            .await
            .unwrap();
        let pairs: Vec<(String, String)> = FromValue::from_value(reply).unwrap();
        assert_eq!(pairs[0].1, node.port().to_string());
    }
    let err = cluster
        .node_client(&ClusterNode::new("127.0.0.1", 1))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn password_never_shows() {
    let (host, port) = seed();
    let builder = RedisCluster::builder()
        .url(&format!("redis://someone:hunter2-pw@{host}:{port}"))
        .connect_timeout(Duration::from_millis(500));
    assert!(!format!("{builder:?}").contains("hunter2-pw"));
    // The server has no such user: the error is about auth and shows no password.
    let err = builder.build().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2-pw"), "{text}");
    assert!(
        text.to_lowercase().contains("auth") || text.contains("WRONGPASS"),
        "{text}"
    );
}

#[tokio::test]
async fn value_of_raw_request() {
    let (host, port) = seed();
    let cluster = RedisCluster::new(host, port).await.unwrap();
    cluster
        .cmd("SET")
        .arg("raw-request-key")
        .arg("v")
        .await
        .unwrap();
    let v = cluster.cmd("GET").arg("raw-request-key").await.unwrap();
    assert_eq!(v, Value::Bulk("v".into()));
}

#[test]
fn handles_are_send_sync_and_cheap_to_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<RedisCluster>();
    check::<slotwise::NodeClient>();
    check::<slotwise::TargetedCluster>();
    check::<slotwise::Error>();
}

#[tokio::test]
async fn slot_ranges_cover_every_slot_once() {
    let (host, port) = seed();
    let cluster = RedisCluster::new(host, port).await.unwrap();
    let mut covered = vec![0u8; 16384];
    for node in cluster.get_primaries() {
        for (a, b) in cluster.slot_ranges(&node) {
            for s in a..=b {
                covered[usize::from(s)] += 1;
            }
        }
    }
    assert!(covered.iter().all(|&c| c == 1));
    for replica in cluster.get_replicas() {
        assert!(cluster.slot_ranges(&replica).is_empty());
    }
}
