//! The client's only startup node is the primary that dies: it must rediscover the cluster from
//! the nodes it learned of, and recover as fast as when another node was the seed.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_only_startup_node_is_survived() {
    common::kill::primary_killed(true).await;
}
