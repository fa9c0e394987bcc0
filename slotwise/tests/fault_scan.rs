//! A cluster scan that survives resharding and failover: slots migrated, or a primary failed
//! over, in the middle of a scan of 10,000 keys, and still every key is returned; with
//! deduplication, none twice. Each test has a cluster of its own.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::faults::{primaries_only, slots_of, victim_and_heir};
use slotwise::{ClusterCommands, ClusterScan, RedisCluster, ScanCursor, ScanOptions};
use slotwise_testkit::LocalCluster;

const KEYS: usize = 10_000;
/// Keys under each primary's hash tag: enough that moving one slot moves many keys.
const TAGGED: usize = 1_500;

/// A hash tag per primary, each on a slot of that primary, and `KEYS` keys written: `TAGGED`
/// under each tag, the rest spread over every slot.
async fn fill(cluster: &LocalCluster, client: &RedisCluster) -> (Vec<String>, BTreeSet<Bytes>) {
    let mut tags = Vec::new();
    for primary in cluster.primaries().unwrap() {
        let slots = slots_of(&primary);
        let tag = (0..)
            .map(|i| format!("t{i}"))
            .find(|t| slots.contains(&RedisCluster::keyslot(t)))
            .unwrap();
        tags.push(tag);
    }
    let mut keys: Vec<String> = Vec::new();
    for tag in &tags {
        keys.extend((0..TAGGED).map(|i| format!("{{{tag}}}:{i}")));
    }
    let spread = KEYS - keys.len();
    keys.extend((0..spread).map(|i| format!("spread:{i}")));
    for chunk in keys.chunks(1_000) {
        let pairs: Vec<(&str, &str)> = chunk.iter().map(|k| (k.as_str(), "v")).collect();
        client.mset_nonatomic(&pairs).await.unwrap();
    }
    let all = keys.iter().map(|k| Bytes::from(k.clone())).collect();
    (tags, all)
}

/// Takes batches until `until` says so (given the cursor), counting every key returned.
async fn scan_until(
    scan: &mut ClusterScan,
    seen: &mut BTreeMap<Bytes, usize>,
    until: impl Fn(&ScanCursor) -> bool,
) -> bool {
    while !until(&scan.cursor()) {
        match scan.next_batch().await.unwrap() {
            Some(keys) => {
                for key in keys {
                    *seen.entry(key).or_default() += 1;
                }
            }
            None => return false,
        }
    }
    true
}

/// The primary whose every slot the scan is done with, if any.
fn scanned_primary(cluster: &LocalCluster, cursor: &ScanCursor) -> Option<u16> {
    cluster
        .primaries()
        .unwrap()
        .into_iter()
        .find(|p| slots_of(p).iter().all(|s| cursor.is_done(*s)))
        .map(|p| p.port)
}

/// Every key was returned; how many came more than once.
fn check(all: &BTreeSet<Bytes>, seen: &BTreeMap<Bytes, usize>) -> usize {
    let missed: Vec<&Bytes> = all.iter().filter(|k| !seen.contains_key(*k)).collect();
    assert!(
        missed.is_empty(),
        "{} of {} keys missed, e.g. {:?}",
        missed.len(),
        all.len(),
        missed.first()
    );
    seen.values().filter(|n| **n > 1).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_is_missed_when_slots_migrate_mid_scan() {
    let cluster = primaries_only();
    let client = common::faults::client_of(&cluster).await;
    let (tags, all) = fill(&cluster, &client).await;
    let mut scan = client.scan(ScanOptions::new().count(50));
    let mut seen = BTreeMap::new();
    let run = async {
        // Once one primary is scanned, a slot of a primary not yet scanned moves onto it: a
        // scan by node would never see those keys.
        assert!(
            scan_until(&mut scan, &mut seen, |c| scanned_primary(&cluster, c)
                .is_some())
            .await
        );
        let cursor = scan.cursor();
        let done_port = scanned_primary(&cluster, &cursor).unwrap();
        let first = tags
            .iter()
            .map(RedisCluster::keyslot)
            .find(|s| !cursor.is_done(*s))
            .unwrap();
        let moving = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || moving.migrate_slot(first, done_port).unwrap())
            .await
            .unwrap();
        // Some more of the scan.
        let more = scan.cursor().slots_done() + 1;
        assert!(scan_until(&mut scan, &mut seen, |c| c.slots_done() >= more).await);
        // And a slot already scanned moves to a node not scanned to its end: its keys may
        // come again there.
        let cursor = scan.cursor();
        let second = tags
            .iter()
            .map(RedisCluster::keyslot)
            .find(|s| cursor.is_done(*s) && *s != first)
            .unwrap_or(first);
        let owner = cluster.node_for_slot(second).unwrap().port;
        let to = cluster
            .primaries()
            .unwrap()
            .into_iter()
            .map(|p| p.port)
            .find(|p| *p != owner && scanned_primary(&cluster, &cursor) != Some(*p))
            .unwrap();
        // This one while the scan goes on.
        let moving = Arc::clone(&cluster);
        let migration =
            tokio::task::spawn_blocking(move || moving.migrate_slot(second, to).unwrap());
        scan_until(&mut scan, &mut seen, |_| migration.is_finished()).await;
        migration.await.unwrap();
        scan_until(&mut scan, &mut seen, |_| false).await;
        (first, second)
    };
    let (first, second) = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the scan did not end within 120 s");
    assert!(scan.cursor().is_finished());
    // Keys may come twice: those of the moved slots, and any that `SCAN` itself repeats on a
    // node whose table grew with the keys moved in.
    let twice = check(&all, &seen);
    eprintln!(
        "slots {first} and {second} moved: {} keys returned, {twice} of {} twice",
        seen.values().sum::<usize>(),
        all.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_is_missed_or_repeated_through_a_failover_mid_scan() {
    let cluster = common::faults::fault_cluster();
    let client = common::faults::client_of(&cluster).await;
    let (_, all) = fill(&cluster, &client).await;
    let mut scan = client.scan(ScanOptions::new().count(50).deduplicate(true));
    let mut seen = BTreeMap::new();
    let run = async {
        assert!(scan_until(&mut scan, &mut seen, |c| c.slots_done() > 0).await);
        // A primary not yet scanned hands over to its replica while the scan runs.
        let cursor = scan.cursor();
        let index = cluster
            .primaries()
            .unwrap()
            .iter()
            .position(|p| slots_of(p).iter().any(|s| !cursor.is_done(*s)))
            .unwrap();
        let (victim, heir) = victim_and_heir(&cluster, index);
        let moving = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || moving.failover(heir.port).unwrap())
            .await
            .unwrap();
        scan_until(&mut scan, &mut seen, |_| false).await;
        victim
    };
    let victim = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the scan did not end within 120 s");
    assert!(scan.cursor().is_finished());
    // With deduplication, not even the failed-over primary's keys come twice.
    assert_eq!(check(&all, &seen), 0, "failed over {}", victim.port);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_resumes_from_its_cursor_as_text() {
    let cluster = primaries_only();
    let client = common::faults::client_of(&cluster).await;
    let (_, all) = fill(&cluster, &client).await;
    let mut scan = client.scan(ScanOptions::new().count(200));
    let mut seen = BTreeMap::new();
    assert!(scan_until(&mut scan, &mut seen, |c| c.slots_done() > 0).await);
    let kept = scan.cursor().to_string();
    drop(scan);
    // Another client, as another process would, takes it up.
    let other = common::faults::client_of(&cluster).await;
    let cursor: ScanCursor = kept.parse().unwrap();
    let rest = other
        .scan_from(cursor, ScanOptions::new().count(200))
        .all_keys()
        .await
        .unwrap();
    for key in rest {
        *seen.entry(key).or_default() += 1;
    }
    check(&all, &seen);
    let bad = "v1 done=99999".parse::<ScanCursor>().unwrap_err();
    assert_eq!(bad.kind(), slotwise::ErrorKind::InvalidInput);
}
