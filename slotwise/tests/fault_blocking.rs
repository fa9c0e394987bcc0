//! Blocking commands through a failover, on a cluster of their own: a `BLPOP` and an
//! `XREAD … BLOCK` blocked on a primary when its replica takes over are sent again to the new
//! primary and get what is pushed there; when the primary is killed, the read is sent again, and
//! the pop fails with an error saying it may have run (it pops: sending it again could lose an
//! element).
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::faults::{fault_cluster, victim_and_heir};
use slotwise::commands::{Executor, ListCommands};
use slotwise::protocol::{Cmd, Value};
use slotwise::{ErrorKind, RedisCluster};
use slotwise_testkit::LocalCluster;

/// A key on the slots of the primary at `index`.
fn key_on(cluster: &LocalCluster, index: usize, name: &str) -> String {
    let slots = common::faults::slots_of(&cluster.primaries().unwrap()[index]);
    (0..)
        .map(|i| format!("{{{name}{i}}}"))
        .find(|k| slots.contains(&RedisCluster::keyslot(k)))
        .unwrap()
}

fn blpop(client: &RedisCluster, key: &str) -> tokio::task::JoinHandle<slotwise::Result<Value>> {
    let (client, key) = (client.clone(), key.to_owned());
    tokio::spawn(async move { client.cmd("BLPOP").arg(key).arg(0).query::<Value>().await })
}

fn xread(client: &RedisCluster, stream: &str) -> tokio::task::JoinHandle<slotwise::Result<Value>> {
    let (client, stream) = (client.clone(), stream.to_owned());
    tokio::spawn(async move {
        let cmd = Cmd::new("XREAD")
            .arg("BLOCK")
            .arg(0)
            .arg("STREAMS")
            .arg(stream)
            .arg("$");
        client.execute::<Value>(cmd).await
    })
}

/// Waits until the node serving `key` has `n` clients blocked.
fn wait_blocked(cluster: &LocalCluster, port: u16, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let info = cluster
            .call(port, &Cmd::new("INFO").arg("clients"))
            .unwrap();
        let text = String::from_utf8_lossy(info.as_bytes().unwrap()).into_owned();
        let blocked: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if blocked >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not blocked on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn add(client: &RedisCluster, stream: &str) {
    let cmd = Cmd::new("XADD").arg(stream).arg("*").arg("f").arg("v");
    client.execute::<Value>(cmd).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_commands_follow_a_failover() {
    let cluster = fault_cluster();
    let client = common::faults::client_of(&cluster).await;
    let (victim, heir) = victim_and_heir(&cluster, 0);
    let list = key_on(&cluster, 0, "list");
    let stream = key_on(&cluster, 0, "stream");
    add(&client, &stream).await;
    let pop = blpop(&client, &list);
    let read = xread(&client, &stream);
    wait_blocked(&cluster, victim.port, 2);

    let moving = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || moving.failover(heir.port).unwrap())
        .await
        .unwrap();
    // What is pushed on the new primary reaches the commands blocked on the old one. Pushed
    // until seen: they may still be on their way to the new primary.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !(pop.is_finished() && read.is_finished()) {
        if !pop.is_finished() {
            client.rpush(list.as_str(), ["x"]).await.unwrap();
        }
        if !read.is_finished() {
            add(&client, &stream).await;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the blocked commands did not follow the failover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let popped = pop.await.unwrap().unwrap();
    assert!(
        matches!(popped, Value::Array(ref kv) if kv.len() == 2),
        "{popped:?}"
    );
    let entries = read.await.unwrap().unwrap();
    assert!(!matches!(entries, Value::Nil), "{entries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_fails_a_blocked_pop_and_retries_a_blocked_read() {
    let cluster = fault_cluster();
    let client = common::faults::client_of(&cluster).await;
    let (victim, _) = victim_and_heir(&cluster, 1);
    let list = key_on(&cluster, 1, "list");
    let stream = key_on(&cluster, 1, "stream");
    add(&client, &stream).await;
    let pop = blpop(&client, &list);
    let read = xread(&client, &stream);
    wait_blocked(&cluster, victim.port, 2);

    cluster.kill(victim.port).unwrap();
    let err = tokio::time::timeout(Duration::from_secs(20), pop)
        .await
        .expect("the pop on a killed node did not end")
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Io | ErrorKind::Closed),
        "{err}"
    );
    assert!(err.may_have_run(), "{err}");
    // The read goes on at the new primary once it is elected.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !read.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(2), add(&client, &stream)).await;
        assert!(
            std::time::Instant::now() < deadline,
            "the blocked read did not come back after the election"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let entries = read.await.unwrap().unwrap();
    assert!(!matches!(entries, Value::Nil), "{entries:?}");
}
