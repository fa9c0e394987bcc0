//! Routing: keys to their slot's owner (hash tags, key specs from `COMMAND`), keyless commands
//! by their tips or to the default node, targets, and reads from replicas.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::stats::command_stat;
use slotwise::protocol::Value;
use slotwise::{ClusterNode, ErrorKind, RedisCluster, Target};

async fn client() -> RedisCluster {
    let testkit = slotwise_testkit::shared();
    let port = testkit.primaries().unwrap()[0].port;
    RedisCluster::new("127.0.0.1", port).await.unwrap()
}

#[tokio::test]
async fn hash_tags_share_a_slot() {
    assert_eq!(
        RedisCluster::keyslot("{user1000}.following"),
        RedisCluster::keyslot("{user1000}.followers")
    );
    assert_eq!(RedisCluster::keyslot("123456789"), 12739);
    let cluster = client().await;
    // Same slot, so an atomic multi-key command is fine.
    cluster
        .cmd("MSET")
        .arg(["{user1000}.following", "a", "{user1000}.followers", "b"])
        .await
        .unwrap();
    let values: Vec<String> = cluster
        .cmd("MGET")
        .arg(["{user1000}.following", "{user1000}.followers"])
        .query()
        .await
        .unwrap();
    assert_eq!(values, ["a", "b"]);
}

#[tokio::test]
async fn keyed_commands_go_straight_to_the_owner() {
    let cluster = client().await;
    let before = cluster.stats();
    for i in 0..200 {
        let key = format!("route-direct:{i}");
        cluster.cmd("SET").arg(&key).arg(i).await.unwrap();
        let v: i64 = cluster.cmd("GET").arg(&key).query().await.unwrap();
        assert_eq!(v, i);
    }
    assert_eq!(
        cluster.stats().moved,
        before.moved,
        "no command should need MOVED"
    );
}

#[tokio::test]
async fn key_specs_route_commands_the_builtin_table_lacks() {
    let cluster = client().await;
    // Keys in one slot that the default node does not own, so a wrong route would show as
    // MOVED in the stats.
    let default = cluster.default_node();
    let tag = (0..)
        .map(|i| format!("spec{i}"))
        .find(|t| {
            cluster
                .get_node_from_key(format!("{{{t}}}"), false)
                .unwrap()
                != default
        })
        .unwrap();
    let (a, b) = (format!("{{{tag}}}:a"), format!("{{{tag}}}:b"));
    cluster
        .cmd("SADD")
        .arg(&a)
        .arg(["x", "y", "z"])
        .await
        .unwrap();
    cluster.cmd("SADD").arg(&b).arg(["y", "z"]).await.unwrap();
    cluster
        .cmd("SET")
        .arg(format!("{{{tag}}}:s1"))
        .arg("ohmytext")
        .await
        .unwrap();
    cluster
        .cmd("SET")
        .arg(format!("{{{tag}}}:s2"))
        .arg("mynewtext")
        .await
        .unwrap();
    let before = cluster.stats();
    // SINTERCARD numkeys key [key ...] [LIMIT n]: keys found through a keynum key spec.
    let n: i64 = cluster
        .cmd("SINTERCARD")
        .arg(2)
        .arg([&a, &b])
        .arg(["LIMIT", "10"])
        .query()
        .await
        .unwrap();
    assert_eq!(n, 2);
    // LCS key1 key2: a range key spec.
    let lcs: String = cluster
        .cmd("LCS")
        .arg(format!("{{{tag}}}:s1"))
        .arg(format!("{{{tag}}}:s2"))
        .query()
        .await
        .unwrap();
    assert_eq!(lcs, "mytext");
    assert_eq!(cluster.stats().moved, before.moved);
}

#[tokio::test]
async fn ping_all_nodes_info_per_node_random_and_explicit() {
    let cluster = client().await;
    let pong = cluster.cmd("PING").target(Target::AllNodes).await.unwrap();
    assert_eq!(pong, Value::SimpleString("PONG".into()));

    let info: HashMap<String, String> = cluster
        .cmd("INFO")
        .arg("server")
        .target(Target::AllNodes)
        .query()
        .await
        .unwrap();
    assert_eq!(info.len(), 6);
    for (node, text) in &info {
        let port = node.rsplit_once(':').unwrap().1;
        assert!(text.contains(&format!("tcp_port:{port}")), "{node}");
    }

    let replica = cluster.get_replicas()[0].clone();
    let text: String = cluster
        .cmd("INFO")
        .arg("replication")
        .target(Target::Node(replica.clone()))
        .query()
        .await
        .unwrap();
    assert!(text.contains("role:slave"), "{text}");

    let random: String = cluster
        .cmd("PING")
        .target(Target::Random)
        .query()
        .await
        .unwrap();
    assert_eq!(random, "PONG");

    let err = cluster
        .cmd("PING")
        .target(Target::Node(ClusterNode::new("127.0.0.1", 1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn replicas_target_and_readonly_reads() {
    let cluster = client().await;
    let roles: HashMap<String, String> = cluster
        .cmd("ROLE")
        .target(Target::Replicas)
        .query::<HashMap<String, Value>>()
        .await
        .unwrap()
        .into_iter()
        .map(|(node, v)| {
            let Value::Array(items) = v else {
                panic!("{v:?}")
            };
            (
                node,
                String::from_utf8(items[0].as_bytes().unwrap().to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(roles.len(), 3);
    assert!(roles.values().all(|r| r == "slave"), "{roles:?}");

    // Reads from replicas after readonly(): the replica's own counter of read commands grows.
    let key = "readonly-key";
    cluster.cmd("SET").arg(key).arg("v").await.unwrap();
    cluster
        .cmd("WAIT")
        .arg(1)
        .arg(2000)
        .target(Target::Node(cluster.get_node_from_key(key, false).unwrap()))
        .await
        .unwrap();
    let replica = cluster.get_node_from_key(key, true).unwrap();
    let before = command_stat(&cluster, replica.clone(), "get", "calls").await;
    let ro = cluster.readonly();
    for _ in 0..10 {
        let v: String = ro.cmd("GET").arg(key).query().await.unwrap();
        assert_eq!(v, "v");
    }
    let after = command_stat(&cluster, replica.clone(), "get", "calls").await;
    assert!(
        after >= before + 10,
        "replica served {} GETs",
        after - before
    );
    // readwrite() sends reads to the primary again.
    let rw = ro.readwrite();
    let before = command_stat(&cluster, replica.clone(), "get", "calls").await;
    for _ in 0..10 {
        let _: String = rw.cmd("GET").arg(key).query().await.unwrap();
    }
    let after = command_stat(&cluster, replica, "get", "calls").await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn commands_that_would_break_a_shared_connection_are_refused() {
    let cluster = client().await;
    for name in ["SUBSCRIBE", "MULTI", "MONITOR"] {
        let err = cluster.cmd(name).arg("x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{name}: {err}");
    }
    let err = cluster.cmd("SELECT").arg(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn typed_commands_on_the_cluster_and_on_targets() {
    use slotwise::commands::{HashCommands, ServerCommands, StringCommands};
    let cluster = client().await;
    cluster.set("typed:k", "v1").await.unwrap();
    let v: Option<String> = cluster.get("typed:k").await.unwrap();
    assert_eq!(v.as_deref(), Some("v1"));
    assert_eq!(cluster.incr("typed:n").await.unwrap(), 1);
    cluster
        .hset("typed:h", [("f1", "a"), ("f2", "b")])
        .await
        .unwrap();
    let all: HashMap<String, String> = cluster.hgetall("typed:h").await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        cluster.target(Target::AllNodes).ping().await.unwrap(),
        "PONG"
    );
    let total = cluster.target(Target::Primaries).dbsize().await.unwrap();
    assert!(total >= 3, "{total}");
    let node = cluster.get_primaries()[0].clone();
    let one = cluster.node_client(&node).unwrap().dbsize().await.unwrap();
    assert!(one <= total);
}

#[tokio::test]
async fn nodes_for_says_where_a_command_would_go() {
    use slotwise::protocol::Cmd;
    let cluster = client().await;
    let testkit = slotwise_testkit::shared();
    let owner = |key: &str| {
        testkit
            .node_for_slot(RedisCluster::keyslot(key))
            .unwrap()
            .port
    };
    let ports = |nodes: Vec<ClusterNode>| -> Vec<u16> { nodes.iter().map(|n| n.port()).collect() };

    let get = Cmd::new("GET").arg("routing:nodes-for");
    assert_eq!(
        ports(cluster.nodes_for(&get).await.unwrap()),
        [owner("routing:nodes-for")]
    );
    // A read from replicas goes to a replica of that owner.
    let replica = cluster.readonly().nodes_for(&get).await.unwrap();
    assert_eq!(replica.len(), 1);
    // Tips: every primary for DBSIZE, every node for SCRIPT FLUSH, the default node for ECHO.
    let dbsize = cluster.nodes_for(&Cmd::new("DBSIZE")).await.unwrap();
    assert_eq!(dbsize.len(), testkit.primaries().unwrap().len());
    let flush = Cmd::new("SCRIPT").arg("FLUSH");
    let every = cluster.nodes_for(&flush).await.unwrap();
    assert_eq!(every.len(), cluster.get_nodes().len());
    let echo = cluster.nodes_for(&Cmd::new("ECHO").arg("x")).await.unwrap();
    assert_eq!(echo, [cluster.default_node()]);
    // A split multi-key command goes to each of its keys' owners.
    let keys = ["routing:a", "routing:b", "routing:c", "routing:d"];
    let del = Cmd::new("DEL").arg(keys);
    let mut expected: Vec<u16> = keys.iter().map(|k| owner(k)).collect();
    expected.sort_unstable();
    expected.dedup();
    let mut got = ports(cluster.nodes_for(&del).await.unwrap());
    got.sort_unstable();
    assert_eq!(got, expected);
    // An atomic one across slots is the error sending it would be.
    let err = cluster
        .nodes_for(
            &Cmd::new("MSET")
                .arg("routing:a")
                .arg(1)
                .arg("routing:b")
                .arg(2),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CrossSlot);
}
