//! The shared client cases (tests/common/cases.rs) on the async client.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use slotwise::RedisCluster;

macro_rules! call {
    ($e:expr) => {
        $e.await.unwrap()
    };
}

macro_rules! call_err {
    ($e:expr) => {
        $e.await.unwrap_err()
    };
}

#[tokio::test]
async fn async_client_passes_the_shared_cases() {
    let port = slotwise_testkit::shared().primaries().unwrap()[0].port;
    let cluster = RedisCluster::new("127.0.0.1", port).await.unwrap();
    common::cases::client_cases!(cluster, "cases-async", call, call_err);
}

#[tokio::test]
async fn async_pipelines_pass_the_shared_cases() {
    let port = slotwise_testkit::shared().primaries().unwrap()[0].port;
    let cluster = RedisCluster::new("127.0.0.1", port).await.unwrap();
    common::cases::pipeline_cases!(cluster, "pipe-async", call, call_err);
}

#[tokio::test]
async fn async_scripts_pass_the_shared_cases() {
    let port = slotwise_testkit::shared().primaries().unwrap()[0].port;
    let cluster = RedisCluster::new("127.0.0.1", port).await.unwrap();
    common::cases::script_cases!(cluster, "script-async", call, call_err);
}
