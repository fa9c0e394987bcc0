//! Pipelines and transactions while a slot migrates: the commands a node redirects (ASK while
//! the slot is half-moved, MOVED once it is reassigned) are sent again to the right node, in
//! their order within the slot, and every reply is the right one. A pipeline with commands for
//! a dead shard ends within one retry deadline, however many of its commands wait.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use slotwise::commands::StringCommands;
use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

const TASKS: usize = 16;
const KEYS: usize = 8;

#[derive(Default)]
struct Counts {
    pipelines: AtomicU64,
    transactions: AtomicU64,
}

/// One task: a pipeline writing then reading its keys in the migrating slot and elsewhere, then
/// a transaction on the slot; every reply checked. Returns the first failure.
async fn work(client: RedisCluster, task: usize, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let pipe = client.pipeline();
        let mut writes = Vec::new();
        let mut reads = Vec::new();
        for j in 0..KEYS {
            let moving = format!("{{mig}}:t{task}:k{j}");
            let elsewhere = format!("other:t{task}:k{j}");
            for key in [moving, elsewhere] {
                writes.push((key.clone(), pipe.set(key.as_str(), format!("{task}:{seq}"))));
                reads.push((key.clone(), pipe.get::<String>(key.as_str())));
            }
        }
        let mut replies = pipe.run().await.unwrap();
        for (key, write) in writes {
            replies
                .take(write)
                .unwrap_or_else(|e| panic!("SET {key}: {e}"));
        }
        for (key, read) in reads {
            let value = replies
                .take(read)
                .unwrap_or_else(|e| panic!("GET {key}: {e}"));
            assert_eq!(value, Some(format!("{task}:{seq}")), "GET {key}");
        }
        counts.pipelines.fetch_add(1, Ordering::Relaxed);

        let counter = format!("{{mig}}:t{task}:counter");
        let tx = client.transaction();
        // Read together by query() below.
        let _ = tx.incr(counter.as_str());
        let _ = tx.get::<u64>(counter.as_str());
        let (n, read): (u64, Option<u64>) = tx
            .run()
            .await
            .unwrap_or_else(|e| panic!("transaction: {e}"))
            .query()
            .unwrap();
        assert_eq!(n, seq, "the counter of task {task}");
        assert_eq!(
            read,
            Some(seq),
            "the counter of task {task}, read in the transaction"
        );
        counts.transactions.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_and_transactions_follow_a_slot_migration() {
    let cluster = common::faults::primaries_only();
    let slot = RedisCluster::keyslot("{mig}");
    let source = cluster.node_for_slot(slot).unwrap();
    let target = cluster.other_primary(source.port).unwrap();
    let client = RedisCluster::new("127.0.0.1", source.port).await.unwrap();

    // Fill the slot so the migration takes a while.
    for chunk in 0..5 {
        let pairs: Vec<(String, String)> = (0..1000)
            .map(|i| (format!("{{mig}}:fill:{}", chunk * 1000 + i), "v".to_owned()))
            .collect();
        client.mset(&pairs).await.unwrap();
    }

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            tokio::spawn(work(
                client.clone(),
                t,
                Arc::clone(&stop),
                Arc::clone(&counts),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = counts.pipelines.load(Ordering::Relaxed);
    let migrated = {
        let cluster = Arc::clone(&cluster);
        let to = target.port;
        tokio::task::spawn_blocking(move || {
            let mut migration = cluster.begin_migration(slot, to).unwrap();
            let mut moved = 0;
            while migration.keys_left().unwrap() > 0 {
                moved += migration.move_keys(200).unwrap();
            }
            moved + migration.finish().unwrap()
        })
        .await
        .unwrap()
    };
    let during = counts.pipelines.load(Ordering::Relaxed) - before;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        // A failed check panics inside the task: surface it here.
        task.await.unwrap();
    }
    let stats = client.stats();
    println!(
        "migrated {migrated} keys; {} pipelines ({during} during the migration), {} \
         transactions; stats {stats:?}",
        counts.pipelines.load(Ordering::Relaxed),
        counts.transactions.load(Ordering::Relaxed)
    );
    assert!(during > 0, "no pipeline ran during the migration");
    assert!(stats.ask > 0, "the ASK path was not exercised: {stats:?}");
    assert!(
        stats.moved > 0,
        "the MOVED path was not exercised: {stats:?}"
    );
    assert_eq!(
        client.get_node_from_key("{mig}", false).unwrap().port(),
        target.port
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_waits_for_a_dead_shard_once() {
    let cluster = LocalCluster::builder()
        .primaries(3)
        .replicas(0)
        .start()
        .unwrap();
    let dead = cluster
        .node_for_slot(RedisCluster::keyslot("{dead}"))
        .unwrap();
    let alive = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .find(|p| p.port != dead.port)
        .unwrap();
    let deadline = Duration::from_millis(1500);
    let client = RedisCluster::builder()
        .startup_node(slotwise::ClusterNode::new("127.0.0.1", alive.port))
        .retry_deadline(deadline)
        .build()
        .await
        .unwrap();
    let live_key = (0..)
        .map(|i| format!("live{i}"))
        .find(|k| {
            cluster
                .node_for_slot(RedisCluster::keyslot(k))
                .unwrap()
                .port
                == alive.port
        })
        .unwrap();
    client.set(live_key.as_str(), "here").await.unwrap();
    cluster.kill(dead.port).unwrap();

    let pipe = client.pipeline();
    let lost: Vec<_> = (0..10)
        .map(|i| pipe.get::<String>(format!("{{dead}}:{i}")))
        .collect();
    let live = pipe.get::<String>(live_key.as_str());
    let started = std::time::Instant::now();
    let mut replies = pipe.run().await.unwrap();
    let took = started.elapsed();
    println!("a pipeline with 10 reads for a dead shard took {took:?}");
    assert_eq!(replies.take(live).unwrap().as_deref(), Some("here"));
    for read in lost {
        assert!(replies.take(read).is_err());
    }
    assert!(
        took < deadline + common::SLACK,
        "10 reads on a dead shard took {took:?} with a {deadline:?} deadline"
    );
}
