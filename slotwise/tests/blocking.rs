//! The blocking facade: the shared client cases (tests/common/cases.rs) without an async
//! runtime, many threads on one client, its client-side cache, and a clear error instead of a
//! deadlock when called from inside a runtime.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use slotwise::blocking::RedisCluster;
use slotwise::commands::StringCommands;
use slotwise::ErrorKind;

macro_rules! call {
    ($e:expr) => {
        $e.unwrap()
    };
}

macro_rules! call_err {
    ($e:expr) => {
        $e.unwrap_err()
    };
}

fn seed() -> u16 {
    slotwise_testkit::shared().primaries().unwrap()[0].port
}

#[test]
fn blocking_client_passes_the_shared_cases() {
    let cluster = RedisCluster::new("127.0.0.1", seed()).unwrap();
    common::cases::client_cases!(cluster, "cases-blocking", call, call_err);
}

#[test]
fn blocking_pipelines_pass_the_shared_cases() {
    let cluster = RedisCluster::new("127.0.0.1", seed()).unwrap();
    common::cases::pipeline_cases!(cluster, "pipe-blocking", call, call_err);
}

#[test]
fn blocking_scripts_pass_the_shared_cases() {
    let cluster = RedisCluster::new("127.0.0.1", seed()).unwrap();
    common::cases::script_cases!(cluster, "script-blocking", call, call_err);
}

#[test]
fn many_threads_share_one_client() {
    let cluster = RedisCluster::builder()
        .url(&format!("redis://127.0.0.1:{}", seed()))
        .response_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let cluster = cluster.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let key = format!("blocking-threads:{t}:{i}");
                    cluster.set(&key, i).unwrap();
                    let v: i64 = cluster.get::<i64>(&key).unwrap().unwrap();
                    assert_eq!(v, i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn unreachable_cluster_is_a_clear_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = RedisCluster::new("127.0.0.1", port).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoReachableNode, "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[tokio::test]
async fn inside_a_runtime_it_refuses_instead_of_deadlocking() {
    let port = seed();
    // Built outside the runtime's threads, then used (and dropped) inside it.
    let cluster = std::thread::spawn(move || RedisCluster::new("127.0.0.1", port).unwrap())
        .join()
        .unwrap();
    let err = cluster.get::<String>("blocking-in-runtime").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("async"), "{err}");
    let err = RedisCluster::new("127.0.0.1", port).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    drop(cluster);
}

#[test]
fn blocking_pubsub_receives_what_is_published() {
    use slotwise::commands::PubSubCommands;
    let cluster = RedisCluster::new("127.0.0.1", seed()).unwrap();
    let mut pubsub = cluster.pubsub().unwrap();
    pubsub.ssubscribe("{blocking-ps}:ch").unwrap();
    pubsub.psubscribe("blocking-ps.*").unwrap();
    assert_eq!(cluster.spublish("{blocking-ps}:ch", "one").unwrap(), 1);
    let m = pubsub
        .next_message_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("the sharded message");
    assert_eq!(
        (m.channel(), m.payload()),
        (&b"{blocking-ps}:ch"[..], &b"one"[..])
    );
    cluster.publish("blocking-ps.x", "two").unwrap();
    let m = pubsub
        .next_message_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("the pattern message");
    assert_eq!(m.pattern(), Some(&b"blocking-ps.*"[..]));
    // Nothing else is coming.
    assert!(pubsub
        .next_message_timeout(Duration::from_millis(50))
        .unwrap()
        .is_none());
}

#[test]
fn the_blocking_client_serves_reads_from_its_cache() {
    let cluster = RedisCluster::builder()
        .url(&format!("redis://127.0.0.1:{}", seed()))
        .client_side_cache(slotwise::CacheConfig::new())
        .build()
        .unwrap();
    let writer = RedisCluster::new("127.0.0.1", seed()).unwrap();
    let key = "blocking-cache:k";
    writer.set(key, "old").unwrap();
    for _ in 0..10 {
        assert_eq!(cluster.get::<String>(key).unwrap().as_deref(), Some("old"));
    }
    let stats = cluster.stats().cache;
    assert!(stats.hits >= 9, "{stats:?}");
    // Another client's write shows once its invalidation arrived.
    writer.set(key, "new").unwrap();
    let deadline = std::time::Instant::now() + common::SLACK;
    while cluster.get::<String>(key).unwrap().as_deref() != Some("new") {
        assert!(std::time::Instant::now() < deadline, "never invalidated");
        std::thread::sleep(Duration::from_millis(5));
    }
    // A bypassing handle counts no hit.
    let hits = cluster.stats().cache.hits;
    for _ in 0..5 {
        let _: Option<String> = cluster.no_cache().get(key).unwrap();
    }
    assert_eq!(cluster.stats().cache.hits, hits);
}
