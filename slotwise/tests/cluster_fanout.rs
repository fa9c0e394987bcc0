//! Commands fanned out to every primary by their routing tips: `DBSIZE` summed, `KEYS`
//! concatenated, `FLUSHALL` on all. One test: the counts must not be disturbed by other tests
//! writing to the same cluster.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use slotwise::RedisCluster;

#[tokio::test]
async fn dbsize_sums_and_keys_concatenate_across_primaries() {
    let testkit = slotwise_testkit::shared();
    let port = testkit.primaries().unwrap()[0].port;
    let cluster = RedisCluster::new("127.0.0.1", port).await.unwrap();
    cluster.cmd("FLUSHALL").await.unwrap();
    let dbsize: i64 = cluster.cmd("DBSIZE").query().await.unwrap();
    assert_eq!(dbsize, 0);

    let mut written = HashSet::new();
    for i in 0..300 {
        let key = format!("fanout:{i}");
        cluster.cmd("SET").arg(&key).arg(i).await.unwrap();
        written.insert(key);
    }
    // Keys landed on every primary.
    for node in cluster.get_primaries() {
        let n: i64 = cluster
            .cmd("DBSIZE")
            .target(slotwise::Target::Node(node.clone()))
            .query()
            .await
            .unwrap();
        assert!(n > 50, "{node} holds {n} keys");
    }
    let dbsize: i64 = cluster.cmd("DBSIZE").query().await.unwrap();
    assert_eq!(dbsize, 300);
    let keys: Vec<String> = cluster.cmd("KEYS").arg("fanout:*").query().await.unwrap();
    assert_eq!(keys.len(), 300);
    assert_eq!(keys.into_iter().collect::<HashSet<_>>(), written);

    cluster.cmd("FLUSHALL").await.unwrap();
    let dbsize: i64 = cluster.cmd("DBSIZE").query().await.unwrap();
    assert_eq!(dbsize, 0);
}
