//! A write whose connection is cut after it was sent is not sent again behind the caller's back:
//! an `INCR` is never applied twice by surprise. With `retry_writes_on_io(true)` the caller
//! accepts that risk and the write is retried. The same holds for an `INCR` in a pipeline (the
//! reads beside it are sent again) and in a transaction.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::protocol::{Cmd, Value};
use slotwise::{ErrorKind, RedisCluster};

/// The ids of the client connections named `name` on the node at `port`.
fn client_ids(port: u16, name: &str) -> Vec<String> {
    let cluster = slotwise_testkit::shared();
    let Ok(list) = cluster.call(port, &Cmd::new("CLIENT").arg("LIST")) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(list.as_bytes().unwrap_or_default()).into_owned();
    text.lines()
        .filter(|l| l.split(' ').any(|f| f == format!("name={name}")))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
        .collect()
}

/// The id of the client connection named `name` on the node at `port`.
fn client_id(port: u16, name: &str) -> Option<String> {
    client_ids(port, name).into_iter().next()
}

/// A client named `name` (so the test can find its connections) whose only startup node serves
/// `key`; returns that node's port too.
async fn named_client(key: &str, name: &str, retry_writes: bool) -> (u16, RedisCluster) {
    let port = slotwise_testkit::shared()
        .node_for_slot(RedisCluster::keyslot(key))
        .unwrap()
        .port;
    let client = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", port))
        .client_name(name)
        .retry_writes_on_io(retry_writes)
        .build()
        .await
        .unwrap();
    (port, client)
}

/// How the `INCR` is sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Alone,
    /// In a pipeline, followed by a `GET` of the same key.
    Pipeline,
    Transaction,
}

/// Sends `INCR key` while the node holds writes, cuts the client's connection, and returns the
/// call's result and the counter's final value.
async fn incr_with_connection_cut(
    name: &str,
    retry_writes: bool,
    how: How,
) -> (slotwise::Result<i64>, i64) {
    let testkit = slotwise_testkit::shared();
    let key = format!("write-once:{name}");
    let (port, client) = named_client(&key, name, retry_writes).await;
    client.set(&key, 0).await.unwrap();

    // Hold writes at the node, so the INCR is sent but not yet run when the connection is cut.
    testkit
        .call(port, &Cmd::new("CLIENT").arg(["PAUSE", "5000", "WRITE"]))
        .unwrap();
    let call = {
        let client = client.clone();
        let key = key.clone();
        tokio::spawn(async move {
            match how {
                How::Alone => client.incr(&key).await,
                How::Pipeline => {
                    let pipe = client.pipeline();
                    let incr = pipe.incr(&key);
                    let get = pipe.get::<i64>(&key);
                    let mut replies = pipe.run().await?;
                    // A read beside the cut write is sent again.
                    let read = replies.take(get);
                    assert!(matches!(read, Ok(Some(0 | 1))), "{read:?}");
                    replies.take(incr)
                }
                How::Transaction => {
                    let tx = client.transaction();
                    let incr = tx.incr(&key);
                    tx.run().await?.take(incr)
                }
            }
        })
    };

    // The INCR is on the wire once the node reports the client waiting on it (in a transaction
    // too: a paused node holds a write as it is queued).
    let deadline = Instant::now() + Duration::from_secs(5);
    let id = loop {
        let list = testkit.call(port, &Cmd::new("CLIENT").arg("LIST")).unwrap();
        let text = String::from_utf8(list.as_bytes().unwrap().to_vec()).unwrap();
        let waiting = text
            .lines()
            .any(|l| l.contains(&format!("name={name}")) && l.contains("cmd=incr"));
        if waiting {
            break client_id(port, name).unwrap();
        }
        if call.is_finished() {
            panic!("{name} finished early: {:?}", call.await);
        }
        assert!(
            Instant::now() < deadline,
            "the INCR of {name} never reached the node:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    testkit
        .call(port, &Cmd::new("CLIENT").arg(["KILL", "ID", &id]))
        .unwrap();
    testkit
        .call(port, &Cmd::new("CLIENT").arg("UNPAUSE"))
        .unwrap();
    let result = call.await.unwrap();
    let value = match testkit.call(port, &Cmd::new("GET").arg(&key)).unwrap() {
        Value::Bulk(b) => String::from_utf8(b.to_vec()).unwrap().parse().unwrap(),
        other => panic!("{other:?}"),
    };
    (result, value)
}

// One test, so the two scenarios' CLIENT PAUSE and UNPAUSE cannot interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_write_is_retried_only_when_the_caller_opts_in() {
    for (how, name) in [
        (How::Alone, "incr"),
        (How::Pipeline, "pipe"),
        (How::Transaction, "tx"),
    ] {
        incr_is_not_applied_twice_by_surprise(how, name).await;
        writes_are_retried_when_the_caller_opts_in(how, name).await;
    }
    a_lost_watch_is_not_reopened().await;
}

/// The connection a `WATCH` lives on is cut: the transaction fails instead of running on a new
/// connection that would not watch anything.
async fn a_lost_watch_is_not_reopened() {
    let testkit = slotwise_testkit::shared();
    let name = "watch-cut";
    let key = format!("write-once:{{{name}}}");
    let (port, client) = named_client(&key, name, false).await;
    client.set(&key, 1).await.unwrap();
    let watch = client.watch(&key).await.unwrap();
    // Every connection of this client on the node: the shared one and the watching one.
    let ids = client_ids(port, name);
    assert!(
        ids.len() >= 2,
        "the watching connection is missing: {ids:?}"
    );
    for id in &ids {
        testkit
            .call(port, &Cmd::new("CLIENT").arg(["KILL", "ID", id]))
            .unwrap();
    }
    let tx = watch.transaction();
    let _ = tx.set(&key, 2);
    let err = tx
        .run()
        .await
        .expect_err("the watch was lost with its connection");
    // Closed once the client has seen the socket end; a write racing that sees it fail.
    match err.kind() {
        ErrorKind::Closed => assert!(err.to_string().contains("WATCH"), "{err}"),
        ErrorKind::Io => {}
        _ => panic!("unexpected error: {err}"),
    }
    let again = watch.transaction();
    let _ = again.set(&key, 3);
    again.run().await.expect_err("a watch runs one transaction");
    // The shared connection reconnects; the value is untouched.
    assert_eq!(client.get::<i64>(&key).await.unwrap(), Some(1));
}

async fn incr_is_not_applied_twice_by_surprise(how: How, name: &str) {
    let (result, value) = incr_with_connection_cut(&format!("{name}-default"), false, how).await;
    let err = result.expect_err("the INCR's connection was cut: it must not report success");
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        err.may_have_run(),
        "the error must say the INCR may have run: {err}"
    );
    assert!(err.to_string().contains("may have been executed"), "{err}");
    assert!(value <= 1, "INCR applied {value} times");
}

async fn writes_are_retried_when_the_caller_opts_in(how: How, name: &str) {
    let (result, value) = incr_with_connection_cut(&format!("{name}-opt-in"), true, how).await;
    let n = result.expect("with retry_writes_on_io the INCR is sent again");
    assert!(
        n >= 1 && (1..=2).contains(&value),
        "reply {n}, value {value}"
    );
}
