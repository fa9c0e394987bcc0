//! A node connection against real cluster nodes: many concurrent callers on one socket, RESP2
//! and RESP3, replica reads, and a node killed while requests are in flight.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::connection::{Connection, ConnectionConfig, Protocol};
use slotwise::protocol::{Cmd, FromValue, Value};
use slotwise::ErrorKind;
use slotwise_testkit::LocalCluster;

/// A key tag served by the primary on `port`, found by asking the cluster.
fn tag_on(cluster: &LocalCluster, port: u16) -> String {
    (0..)
        .map(|i| format!("conn-test-{i}"))
        .find(|tag| {
            let slot = cluster.slot_of_key(tag).unwrap();
            cluster.node_for_slot(slot).unwrap().port == port
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_callers_each_get_their_own_reply() {
    let cluster = slotwise_testkit::shared();
    let primary = cluster.primaries().unwrap()[0].clone();
    let tag = tag_on(cluster, primary.port);
    let conn = Connection::connect(ConnectionConfig::new("127.0.0.1", primary.port))
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for i in 0..1000 {
        let conn = conn.clone();
        let key = format!("{{{tag}}}:{i}");
        tasks.push(tokio::spawn(async move {
            let value = format!("value-of-{key}");
            let set = conn.send(&Cmd::new("SET").arg(&key).arg(&value)).await?;
            assert_eq!(set, Value::SimpleString("OK".into()));
            let got = conn.send(&Cmd::new("GET").arg(&key)).await?;
            Ok::<_, slotwise::Error>((value, String::from_value(got)?))
        }));
    }
    for task in tasks {
        let (expected, got) = task.await.unwrap().unwrap();
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn resp3_and_resp2_shapes() {
    let cluster = slotwise_testkit::shared();
    let primary = cluster.primaries().unwrap()[1].clone();
    let key = format!("{{{}}}:hash", tag_on(cluster, primary.port));
    let resp3 = Connection::connect(ConnectionConfig::new("127.0.0.1", primary.port))
        .await
        .unwrap();
    resp3
        .send(&Cmd::new("HSET").arg(&key).arg(["f", "v"]))
        .await
        .unwrap();
    let map = resp3.send(&Cmd::new("HGETALL").arg(&key)).await.unwrap();
    assert!(
        matches!(map, Value::Map(ref pairs) if pairs.len() == 1),
        "{map:?}"
    );

    let resp2 = Connection::connect(
        ConnectionConfig::new("127.0.0.1", primary.port).protocol(Protocol::Resp2),
    )
    .await
    .unwrap();
    let flat = resp2.send(&Cmd::new("HGETALL").arg(&key)).await.unwrap();
    assert!(
        matches!(flat, Value::Array(ref items) if items.len() == 2),
        "{flat:?}"
    );

    // Either shape converts to the same Rust map.
    let a: std::collections::HashMap<String, String> = FromValue::from_value(map).unwrap();
    let b: std::collections::HashMap<String, String> = FromValue::from_value(flat).unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn replica_serves_reads_only_in_readonly_mode() {
    let cluster = slotwise_testkit::shared();
    let primary = cluster.primaries().unwrap()[2].clone();
    let replica = cluster
        .replicas()
        .unwrap()
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(primary.id.as_str()))
        .unwrap();
    let key = format!("{{{}}}:ro", tag_on(cluster, primary.port));
    let writer = Connection::connect(ConnectionConfig::new("127.0.0.1", primary.port))
        .await
        .unwrap();
    writer
        .send(&Cmd::new("SET").arg(&key).arg("x"))
        .await
        .unwrap();
    // WAIT until the replica has the write, so the read below cannot race replication.
    writer
        .send(&Cmd::new("WAIT").arg(1).arg(2000))
        .await
        .unwrap();

    let plain = Connection::connect(ConnectionConfig::new("127.0.0.1", replica.port))
        .await
        .unwrap();
    let err = plain.send(&Cmd::new("GET").arg(&key)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Moved, "{err}");
    let redirect = err.redirect().unwrap();
    assert_eq!(redirect.port, primary.port);

    let readonly =
        Connection::connect(ConnectionConfig::new("127.0.0.1", replica.port).readonly(true))
            .await
            .unwrap();
    let got = readonly.send(&Cmd::new("GET").arg(&key)).await.unwrap();
    assert_eq!(got, Value::Bulk("x".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_killed_mid_flight_fails_every_caller_fast_then_reconnects() {
    let cluster = LocalCluster::builder()
        .primaries(1)
        .replicas(0)
        .start()
        .unwrap();
    let port = cluster.ports()[0];
    let config = ConnectionConfig::new("127.0.0.1", port)
        // Long enough that only the lost socket, never a timeout, can end the calls below.
        .response_timeout(Duration::from_secs(10))
        .reconnect_min_backoff(Duration::from_millis(10));
    let conn = Connection::connect(config).await.unwrap();
    conn.send(&Cmd::new("SET").arg("n").arg(0)).await.unwrap();

    // Hold every command at the server so the requests below are in flight when it dies.
    cluster
        .call(port, &Cmd::new("CLIENT").arg(["PAUSE", "20000", "ALL"]))
        .unwrap();
    let mut callers = Vec::new();
    for i in 0..200 {
        let conn = conn.clone();
        callers.push(tokio::spawn(async move {
            let result = conn.send(&Cmd::new("INCR").arg("n")).await;
            (i, result, Instant::now())
        }));
    }
    // Let the writer put the INCRs on the wire (not a correctness wait: the assertions
    // below hold however many were written).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed_at = Instant::now();
    let killer = tokio::task::spawn_blocking({
        let cluster = Arc::new(cluster);
        move || {
            cluster.kill(port).unwrap();
            cluster
        }
    });
    let mut maybe_run = 0;
    for caller in callers {
        let (i, result, finished) = caller.await.unwrap();
        let err = match result {
            Ok(v) => panic!("caller {i} got {v:?} from a paused node"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), ErrorKind::Io, "caller {i}: {err}");
        assert!(
            finished.duration_since(killed_at) < Duration::from_secs(5),
            "caller {i} waited {:?} after the kill",
            finished.duration_since(killed_at)
        );
        if err.may_have_run() {
            maybe_run += 1;
        }
    }
    assert!(
        maybe_run > 0,
        "INCRs on the wire must be reported as possibly run"
    );
    let cluster = killer.await.unwrap();
    assert!(!conn.is_connected());

    // Once the node is back, the same handle reconnects by itself.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.restart(port).unwrap();
        cluster
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match conn.send(&Cmd::new("PING")).await {
            Ok(v) => {
                assert_eq!(v, Value::SimpleString("PONG".into()));
                break;
            }
            Err(e) if Instant::now() < deadline => {
                assert!(!e.may_have_run(), "{e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("no reconnect within 10 s: {e}"),
        }
    }
    drop(cluster);
}
