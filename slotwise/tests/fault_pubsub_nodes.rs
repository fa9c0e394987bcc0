//! Keyspace notifications from every primary: one `PubSub` subscribed on `Nodes::Primaries`
//! receives each `set`, `del` and `expired` event of keys on all three primaries exactly once,
//! each from the primary that holds the key. After a graceful failover the old primary is left
//! (told `Left`, its subscriptions gone from the server) before the new one is subscribed, and
//! events keep coming from every primary, none twice; after a primary is added and a slot moved
//! to it, it is subscribed too and its events arrive, none twice; after a primary is killed,
//! its subscriptions are lost, left, and made on the promoted replica.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::victim_and_heir;
use common::SLACK;
use slotwise::commands::{KeyCommands, StringCommands};
use slotwise::protocol::{Cmd, Value};
use slotwise::{Message, MessageKind, Nodes, PubSub, PubSubEvent, PubSubEvents, RedisCluster};
use slotwise_testkit::{LocalCluster, NodeState};
use tokio::sync::mpsc;

const EVENTS: [&str; 3] = [
    "__keyevent@0__:set",
    "__keyevent@0__:del",
    "__keyevent@0__:expired",
];
const KEYSPACE: &str = "__keyspace@0__:ks:*";

/// What a message says, comparable: kind, channel, payload.
type Seen = (MessageKind, String, String);

fn seen(m: &Message) -> Seen {
    (
        m.kind(),
        String::from_utf8_lossy(m.channel()).into_owned(),
        String::from_utf8_lossy(m.payload()).into_owned(),
    )
}

/// The messages a key's `SET` then `DEL` raise.
fn set_and_del(key: &str) -> [Seen; 4] {
    let keyspace = format!("__keyspace@0__:{key}");
    [
        (MessageKind::Message, EVENTS[0].into(), key.into()),
        (MessageKind::Pattern, keyspace.clone(), "set".into()),
        (MessageKind::Message, EVENTS[1].into(), key.into()),
        (MessageKind::Pattern, keyspace, "del".into()),
    ]
}

/// `n` keys matching the keyspace pattern on each primary, by port.
fn keys_on_each(cluster: &LocalCluster, tag: &str, n: usize) -> BTreeMap<u16, Vec<String>> {
    // A killed primary can still be listed with its slots by a node that has not heard of
    // the election: only running ones count.
    let primaries: Vec<_> = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .filter(|p| p.state == NodeState::Running)
        .collect();
    let mut keys: BTreeMap<u16, Vec<String>> =
        primaries.iter().map(|p| (p.port, Vec::new())).collect();
    for i in 0.. {
        if keys.values().all(|k| k.len() >= n) {
            break;
        }
        let key = format!("ks:{tag}:{i}");
        let slot = RedisCluster::keyslot(&key);
        let owner = primaries.iter().find(|p| p.owns_slot(slot)).unwrap();
        let list = keys.get_mut(&owner.port).unwrap();
        if list.len() < n {
            list.push(key);
        }
    }
    keys
}

/// Reads what the pub/sub forwards.
struct Inbox {
    rx: mpsc::UnboundedReceiver<Message>,
    /// Every message so far, with the node that delivered it.
    counts: BTreeMap<Seen, Vec<String>>,
}

impl Inbox {
    fn start(pubsub: PubSub) -> (Inbox, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut pubsub = pubsub;
            while let Some(m) = pubsub.next_message().await {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        let inbox = Inbox {
            rx,
            counts: BTreeMap::new(),
        };
        (inbox, task)
    }

    /// Receives until every one of `expected` came, within `limit`.
    async fn until(&mut self, expected: &[Seen], limit: Duration) {
        let deadline = Instant::now() + limit;
        while !expected.iter().all(|e| self.counts.contains_key(e)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(m)) => self
                    .counts
                    .entry(seen(&m))
                    .or_default()
                    .push(m.node().to_owned()),
                _ => {
                    let missing: Vec<&Seen> = expected
                        .iter()
                        .filter(|e| !self.counts.contains_key(*e))
                        .collect();
                    panic!("not received within {limit:?}: {missing:#?}")
                }
            }
        }
    }
}

/// Sets and deletes `keys` (by primary port), then checks that each event came exactly once,
/// from the key's primary; a marker key per primary, set last, makes sure anything sent twice
/// by a subscribed node has arrived by then (a node's messages come in order).
async fn round(client: &RedisCluster, inbox: &mut Inbox, keys: &BTreeMap<u16, Vec<String>>) {
    let mut expected: Vec<(Seen, u16)> = Vec::new();
    for (port, list) in keys {
        for key in list {
            let () = client.set(key.as_str(), "v").await.unwrap();
            let _: i64 = client.del(key.as_str()).await.unwrap();
            expected.extend(set_and_del(key).into_iter().map(|s| (s, *port)));
        }
    }
    let all: Vec<Seen> = expected.iter().map(|(s, _)| s.clone()).collect();
    inbox.until(&all, SLACK).await;
    let mut markers = Vec::new();
    for list in keys.values() {
        let marker = format!("{}:marker", list[0]);
        let () = client.set(marker.as_str(), "m").await.unwrap();
        markers.push((MessageKind::Message, EVENTS[0].to_owned(), marker));
    }
    inbox.until(&markers, SLACK).await;
    for (event, port) in &expected {
        let nodes = &inbox.counts[event];
        assert_eq!(
            nodes,
            &[format!("127.0.0.1:{port}")],
            "{event:?} should come once, from its primary"
        );
    }
}

/// Receives pub/sub events into `seen` until `done(seen)` holds.
async fn collect(
    events: &mut PubSubEvents,
    seen: &mut Vec<PubSubEvent>,
    limit: Duration,
    done: impl Fn(&[PubSubEvent]) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(event)) => seen.push(event),
            _ => panic!("the events never told it: {seen:#?}"),
        }
    }
}

/// The name and node of an event of one variant, picked by a function such as [`subscribed`].
type Pick = fn(&PubSubEvent) -> Option<(&[u8], &str)>;

/// Positions of the events of every subscription of this test on `node`, told by `pick`.
fn told_on(seen: &[PubSubEvent], node: u16, pick: Pick) -> Vec<usize> {
    let node = format!("127.0.0.1:{node}");
    let names: Vec<&[u8]> = EVENTS
        .iter()
        .map(|e| e.as_bytes())
        .chain([KEYSPACE.as_bytes()])
        .collect();
    names
        .iter()
        .filter_map(|name| {
            seen.iter()
                .position(|e| pick(e).is_some_and(|(n, at)| n == *name && at == node))
        })
        .collect()
}

fn subscribed(e: &PubSubEvent) -> Option<(&[u8], &str)> {
    match e {
        PubSubEvent::Subscribed { name, node, .. } => Some((name, node)),
        _ => None,
    }
}

fn left(e: &PubSubEvent) -> Option<(&[u8], &str)> {
    match e {
        PubSubEvent::Left { name, node, .. } => Some((name, node)),
        _ => None,
    }
}

/// How many subscriptions (channels and patterns) `port` holds for the test's names.
fn held_by(cluster: &LocalCluster, port: u16) -> i64 {
    let numsub = Cmd::new("PUBSUB").arg("NUMSUB").arg(EVENTS.as_slice());
    let channels: i64 = match cluster.call(port, &numsub).unwrap() {
        Value::Array(items) => items
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(Value::Int(n)) => *n,
                _ => 0,
            })
            .sum(),
        other => panic!("PUBSUB NUMSUB replied {other:?}"),
    };
    let patterns = match cluster
        .call(port, &Cmd::new("PUBSUB").arg("NUMPAT"))
        .unwrap()
    {
        Value::Int(n) => n,
        other => panic!("PUBSUB NUMPAT replied {other:?}"),
    };
    channels + patterns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyspace_events_from_every_primary_through_failover_and_growth() {
    let cluster = Arc::new(
        LocalCluster::builder()
            .primaries(3)
            .replicas(1)
            .extra_config(&[("notify-keyspace-events", "KEA")])
            .start()
            .unwrap(),
    );
    let port = cluster.primaries().unwrap()[0].port;
    let client = RedisCluster::new("127.0.0.1", port).await.unwrap();
    let pubsub = client.pubsub().unwrap();
    let mut events = pubsub.events();
    let mut seen = Vec::new();
    pubsub
        .subscribe_on(Nodes::Primaries, EVENTS.as_slice())
        .await
        .unwrap();
    pubsub
        .psubscribe_on(Nodes::Primaries, KEYSPACE)
        .await
        .unwrap();
    // Each name was told subscribed on each primary, and is held there (and nowhere else).
    let primaries: Vec<u16> = cluster
        .primaries()
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    collect(&mut events, &mut seen, SLACK, |seen| {
        primaries
            .iter()
            .all(|p| told_on(seen, *p, subscribed).len() == 4)
    })
    .await;
    for p in &primaries {
        assert_eq!(held_by(&cluster, *p), 4, "subscriptions on {p}");
    }
    for r in cluster.replicas().unwrap() {
        assert_eq!(
            held_by(&cluster, r.port),
            0,
            "subscriptions on replica {}",
            r.port
        );
    }
    let (mut inbox, receiver) = Inbox::start(pubsub);

    // Every primary's set and del events, once each.
    round(&client, &mut inbox, &keys_on_each(&cluster, "a", 5)).await;
    // Expiries, raised by the primaries on their own schedule: a generous deadline.
    let mut expiring = Vec::new();
    for (port, list) in keys_on_each(&cluster, "x", 1) {
        let key = &list[0];
        let () = client.psetex(key.as_str(), 50, "v").await.unwrap();
        expiring.push((
            (MessageKind::Message, EVENTS[2].to_owned(), key.clone()),
            port,
        ));
    }
    let wanted: Vec<Seen> = expiring.iter().map(|(s, _)| s.clone()).collect();
    inbox.until(&wanted, Duration::from_secs(10) + SLACK).await;
    for (event, port) in &expiring {
        assert_eq!(
            inbox.counts[event],
            [format!("127.0.0.1:{port}")],
            "{event:?}"
        );
    }

    // A graceful failover: the old primary stays up, as a replica raising events for the
    // writes it copies. Its `ROLE` tells the client to look again.
    let (old, heir) = victim_and_heir(&cluster, 0);
    seen.clear();
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.failover(heir.port).unwrap())
            .await
            .unwrap();
    }
    let promoted = Instant::now();
    collect(&mut events, &mut seen, Duration::from_secs(10), |seen| {
        told_on(seen, heir.port, subscribed).len() == 4 && told_on(seen, old.port, left).len() == 4
    })
    .await;
    println!(
        "the promoted replica was subscribed {:?} after the failover, with no command sent",
        promoted.elapsed()
    );
    let last_left = told_on(&seen, old.port, left).into_iter().max().unwrap();
    let first_joined = told_on(&seen, heir.port, subscribed)
        .into_iter()
        .min()
        .unwrap();
    assert!(
        last_left < first_joined,
        "the old primary is left before the new one is subscribed: {seen:#?}"
    );
    let deadline = Instant::now() + SLACK;
    while held_by(&cluster, old.port) > 0 {
        assert!(
            Instant::now() < deadline,
            "{} still holds subscriptions",
            old.port
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    round(&client, &mut inbox, &keys_on_each(&cluster, "b", 5)).await;

    // A fourth primary, given one slot.
    let added = {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || {
            let node = cluster.add_primary().unwrap();
            let slot = RedisCluster::keyslot("ks:{grow}");
            cluster.migrate_slot(slot, node.port).unwrap();
            node
        })
        .await
        .unwrap()
    };
    seen.clear();
    let refreshed = Instant::now();
    client.refresh_topology().await.unwrap();
    collect(&mut events, &mut seen, Duration::from_secs(10), |seen| {
        told_on(seen, added.port, subscribed).len() == 4
    })
    .await;
    println!(
        "the added primary was subscribed {:?} after the refresh began",
        refreshed.elapsed()
    );
    assert_eq!(held_by(&cluster, added.port), 4);
    let keys = keys_on_each(&cluster, "c", 3);
    assert_eq!(keys.len(), 4, "keys on every primary: {keys:?}");
    round(&client, &mut inbox, &keys).await;

    // A primary killed: its subscriptions are lost with its socket, then left once the
    // topology names its promoted replica, which is subscribed.
    let victim = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .find(|p| p.port != added.port)
        .unwrap();
    let heir = cluster
        .replicas()
        .unwrap()
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(victim.id.as_str()))
        .unwrap();
    seen.clear();
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.kill(victim.port).unwrap())
            .await
            .unwrap();
    }
    let killed = Instant::now();
    collect(&mut events, &mut seen, Duration::from_secs(20), |seen| {
        told_on(seen, heir.port, subscribed).len() == 4
            && told_on(seen, victim.port, left).len() == 4
    })
    .await;
    println!(
        "after a kill, the promoted replica was subscribed {:?} later",
        killed.elapsed()
    );
    let lost: Vec<usize> = told_on(&seen, victim.port, |e| match e {
        PubSubEvent::Lost { name, node, .. } => Some((name, node)),
        _ => None,
    });
    assert_eq!(lost.len(), 4, "each name lost with the victim: {seen:#?}");
    {
        let cluster = Arc::clone(&cluster);
        tokio::task::spawn_blocking(move || cluster.wait_for_cluster_ok().unwrap())
            .await
            .unwrap();
    }
    let keys = keys_on_each(&cluster, "d", 3);
    assert_eq!(keys.len(), 4, "keys on every primary: {keys:?}");
    round(&client, &mut inbox, &keys).await;

    // Nothing else arrived twice: every event of this test came from one node once.
    let twice: Vec<_> = inbox.counts.iter().filter(|(_, n)| n.len() > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:#?}");
    receiver.abort();
}
