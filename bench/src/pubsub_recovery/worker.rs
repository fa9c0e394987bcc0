//! The pub/sub recovery mode's worker: one client's subscriptions, a publisher beside them, and
//! the count of what arrived while its parent breaks the cluster, in a process of its own.
//!
//! The client under test subscribes to every channel the way its documentation shows (slotwise
//! `PubSub`; redis-rs's RESP3 cluster connection with a push sender; fred's `SubscriberClient`
//! with `manage_subscriptions`). The publisher is a slotwise client on a thread and runtime of
//! its own, so the client under test shares no scheduler with it; every [`PERIOD`] it publishes
//! the round's number on every channel. The parent talks to the worker over stdin (`affected
//! i,j,…`, `fault <ns>`, `recovered <ns>`) and reads one JSON line ([`Outcome`]) when the run is
//! over.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use slotwise::commands::PubSubCommands;
use slotwise::RedisCluster;

use super::{Kind, Outcome};
use crate::recovery::now_ns;
use crate::recovery::worker::{read_signals, say};
use crate::workload::Client;

/// How often the publisher publishes on every channel.
pub(crate) const PERIOD: Duration = Duration::from_millis(4);
/// How long after the recovery instant a channel may stay deaf before it counts as lost.
pub(crate) const RECOVERY_CAP: Duration = Duration::from_secs(15);
/// How long the worker goes on once every affected channel delivers again.
const AFTER_RECOVERY: Duration = Duration::from_secs(2);
/// How long the last messages get to arrive once the publisher stops.
const DRAIN: Duration = Duration::from_millis(500);
/// How long the subscriptions may take to deliver on every channel before the run is
/// abandoned.
const START_LIMIT: Duration = Duration::from_secs(20);

/// The worker's settings, from its command line.
#[derive(Clone, Debug)]
pub(crate) struct WorkerSettings {
    pub(crate) client: Client,
    pub(crate) seed: String,
    pub(crate) kind: Kind,
    pub(crate) channels: Vec<String>,
    pub(crate) timeout: Duration,
}

/// What the parent tells the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Signal {
    Affected(Vec<usize>),
    Fault(u64),
    Recovered(u64),
}

fn parse_signal(line: &str) -> Option<Signal> {
    let (word, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
    match word {
        "affected" => Some(Signal::Affected(
            rest.split(',').filter_map(|i| i.parse().ok()).collect(),
        )),
        "fault" => rest.parse().ok().map(Signal::Fault),
        "recovered" => rest.parse().ok().map(Signal::Recovered),
        _ => None,
    }
}

/// A message received: channel index, round, unix ns.
type Receipt = (usize, u64, u64);

/// One publishing round: its number, when it started, and which channels' publishes the
/// server accepted.
struct Round {
    seq: u64,
    sent: u64,
    accepted: Vec<bool>,
}

/// The published channel name (for a pattern, the name the pattern matches).
fn published_name(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Pattern => format!("{name}:m"),
        Kind::Classic | Kind::Sharded => name.to_owned(),
    }
}

/// Receipts, as the client's callbacks and tasks note them.
#[derive(Clone)]
struct Inbox {
    index: Arc<HashMap<Vec<u8>, usize>>,
    receipts: Arc<Mutex<Vec<Receipt>>>,
}

impl Inbox {
    fn note(&self, channel: &[u8], payload: &[u8]) {
        let at = now_ns();
        let Some(&i) = self.index.get(channel) else {
            return;
        };
        let Some(seq) = std::str::from_utf8(payload)
            .ok()
            .and_then(|s| s.parse().ok())
        else {
            return;
        };
        self.receipts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((i, seq, at));
    }

    fn take(&self) -> Vec<Receipt> {
        std::mem::take(&mut *self.receipts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn channels_heard(&self) -> usize {
        let receipts = self.receipts.lock().unwrap_or_else(PoisonError::into_inner);
        receipts.iter().map(|r| r.0).collect::<HashSet<_>>().len()
    }

    /// True when every channel of `affected` has a message of a round sent at or after `at`.
    fn all_heard_since(&self, affected: &[usize], at: u64, rounds: &Mutex<Vec<Round>>) -> bool {
        let first_seq = rounds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|r| r.sent >= at)
            .map(|r| r.seq);
        let Some(first_seq) = first_seq else {
            return false;
        };
        let receipts = self.receipts.lock().unwrap_or_else(PoisonError::into_inner);
        affected
            .iter()
            .all(|&c| receipts.iter().any(|r| r.0 == c && r.1 >= first_seq))
    }
}

/// Runs the worker: subscribes, publishes, reports ready, follows the parent's signals and
/// prints the outcome.
pub(crate) fn run(settings: &WorkerSettings) -> Result<(), String> {
    let index: HashMap<Vec<u8>, usize> = settings
        .channels
        .iter()
        .enumerate()
        .map(|(i, n)| (published_name(settings.kind, n).into_bytes(), i))
        .collect();
    let inbox = Inbox {
        index: Arc::new(index),
        receipts: Arc::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    let outcome = runtime.block_on(async {
        let guard = subscribe(settings, inbox.clone()).await?;
        let outcome = measure(settings, &inbox).await;
        drop(guard);
        outcome
    })?;
    // Some clients' background tasks may be stuck on a dead node; do not wait for them.
    runtime.shutdown_background();
    say(&outcome.to_json().to_string());
    Ok(())
}

/// Keeps the client under test alive.
type Guard = Box<dyn std::any::Any + Send>;

async fn subscribe(settings: &WorkerSettings, inbox: Inbox) -> Result<Guard, String> {
    let names = settings.channels.clone();
    let patterns: Vec<String> = names.iter().map(|n| format!("{n}:*")).collect();
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", settings.client);
    match settings.client {
        Client::Slotwise => {
            let cluster = RedisCluster::builder()
                .url(&settings.seed)
                .connect_timeout(settings.timeout)
                .response_timeout(settings.timeout)
                .build()
                .await
                .map_err(|e| fail(&e))?;
            let mut pubsub = cluster.pubsub().map_err(|e| fail(&e))?;
            match settings.kind {
                Kind::Classic => pubsub.subscribe(names).await,
                Kind::Pattern => pubsub.psubscribe(patterns).await,
                Kind::Sharded => pubsub.ssubscribe(names).await,
            }
            .map_err(|e| fail(&e))?;
            let task = tokio::spawn(async move {
                while let Some(message) = pubsub.next_message().await {
                    inbox.note(message.channel(), message.payload());
                }
            });
            Ok(Box::new((cluster, AbortOnDrop(task))))
        }
        Client::RedisRs => {
            use redis::{PushKind, Value};
            let sink = inbox.clone();
            let push = move |info: redis::PushInfo| -> Result<(), redis::aio::SendError> {
                let fields = match info.kind {
                    PushKind::Message | PushKind::SMessage => info.data.get(0..2),
                    PushKind::PMessage => info.data.get(1..3),
                    _ => None,
                };
                if let Some([Value::BulkString(channel), Value::BulkString(payload)]) = fields {
                    sink.note(channel, payload);
                }
                Ok(())
            };
            let client = redis::cluster::ClusterClient::builder(vec![settings.seed.clone()])
                .use_protocol(redis::ProtocolVersion::RESP3)
                .push_sender(push)
                .connection_timeout(settings.timeout)
                .response_timeout(settings.timeout)
                .build()
                .map_err(|e| fail(&e))?;
            let mut conn = client.get_async_connection().await.map_err(|e| fail(&e))?;
            match settings.kind {
                Kind::Classic => conn.subscribe(names).await,
                Kind::Pattern => conn.psubscribe(patterns).await,
                // Its SSUBSCRIBE takes channels of one slot: one call per channel.
                Kind::Sharded => {
                    for name in &names {
                        conn.ssubscribe(name).await.map_err(|e| fail(&e))?;
                    }
                    Ok(())
                }
            }
            .map_err(|e| fail(&e))?;
            Ok(Box::new((client, conn)))
        }
        Client::Fred => {
            use fred::prelude::ReconnectPolicy;
            use fred::prelude::{Builder, ClientLike, Config, EventInterface, PubsubInterface};
            let config = Config::from_url_clustered(&settings.seed).map_err(|e| fail(&e))?;
            let timeout = settings.timeout;
            let subscriber = Builder::from_config(config)
                .with_connection_config(|c| {
                    c.connection_timeout = timeout;
                    c.internal_command_timeout = timeout;
                })
                .with_performance_config(|p| p.default_command_timeout = timeout)
                // 0 attempts: no limit; without a policy fred never reconnects.
                .set_policy(ReconnectPolicy::new_constant(0, 100))
                .build_subscriber_client()
                .map_err(|e| fail(&e))?;
            let _connection = subscriber.init().await.map_err(|e| fail(&e))?;
            let manager = subscriber.manage_subscriptions();
            let mut messages = subscriber.message_rx();
            let task = tokio::spawn(async move {
                loop {
                    match messages.recv().await {
                        Ok(m) => {
                            if let Some(payload) = m.value.as_bytes() {
                                inbox.note(m.channel.as_bytes(), payload);
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            match settings.kind {
                Kind::Classic => subscriber.subscribe(names).await,
                Kind::Pattern => subscriber.psubscribe(patterns).await,
                // Its SSUBSCRIBE takes channels of one slot: one call per channel.
                Kind::Sharded => {
                    for name in &names {
                        subscriber
                            .ssubscribe(name.as_str())
                            .await
                            .map_err(|e| fail(&e))?;
                    }
                    Ok(())
                }
            }
            .map_err(|e| fail(&e))?;
            Ok(Box::new((
                subscriber,
                AbortOnDrop(task),
                AbortOnDrop(manager),
            )))
        }
        Client::SlotwiseCached | Client::RedisRsCached | Client::RedisBenchmark => {
            Err(format!("{} has no pub/sub recovery mode", settings.client))
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Publishes a round every [`PERIOD`] until `stop`, on a thread and runtime of its own.
fn start_publisher(
    settings: &WorkerSettings,
    rounds: Arc<Mutex<Vec<Round>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<(), String>> {
    let seed = settings.seed.clone();
    let kind = settings.kind;
    let timeout = settings.timeout;
    let channels: Vec<Bytes> = settings
        .channels
        .iter()
        .map(|n| Bytes::from(published_name(kind, n)))
        .collect();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("publisher: cannot build the runtime: {e}"))?;
        runtime.block_on(async {
            let cluster = RedisCluster::builder()
                .url(&seed)
                .connect_timeout(timeout)
                .response_timeout(timeout)
                .build()
                .await
                .map_err(|e| format!("publisher: {e}"))?;
            let mut tick = tokio::time::interval(PERIOD);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                seq += 1;
                let sent = now_ns();
                let payload = Bytes::from(seq.to_string());
                let replies = join_all(channels.iter().map(|channel| {
                    let payload = payload.clone();
                    let cluster = &cluster;
                    async move {
                        match kind {
                            Kind::Sharded => cluster.spublish(channel.clone(), payload).await,
                            Kind::Classic | Kind::Pattern => {
                                cluster.publish(channel.clone(), payload).await
                            }
                        }
                    }
                }))
                .await;
                let accepted = replies.iter().map(Result::is_ok).collect();
                rounds
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Round {
                        seq,
                        sent,
                        accepted,
                    });
            }
            Ok(())
        })
    })
}

async fn measure(settings: &WorkerSettings, inbox: &Inbox) -> Result<Outcome, String> {
    let rounds = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = start_publisher(settings, Arc::clone(&rounds), Arc::clone(&stop));
    let started = now_ns();
    while inbox.channels_heard() < settings.channels.len() {
        if now_ns().saturating_sub(started) > START_LIMIT.as_nanos() as u64 {
            stop.store(true, Ordering::Relaxed);
            return Err(format!(
                "{}: only {} of {} channels delivered within {START_LIMIT:?}",
                settings.client,
                inbox.channels_heard(),
                settings.channels.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    say("ready");

    let mut rx = read_signals(parse_signal);
    let mut affected = Vec::new();
    let mut fault = None;
    let mut recovered = None;
    while recovered.is_none() {
        match rx.recv().await {
            Some(Signal::Affected(list)) => affected = list,
            Some(Signal::Fault(ns)) => fault = Some(ns),
            Some(Signal::Recovered(ns)) => recovered = Some(ns),
            None => break,
        }
    }
    let fault = fault.unwrap_or_else(now_ns);
    if let Some(at) = recovered {
        let cap = at + RECOVERY_CAP.as_nanos() as u64;
        while now_ns() < cap && !inbox.all_heard_since(&affected, at, &rounds) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(AFTER_RECOVERY).await;
    }
    stop.store(true, Ordering::Relaxed);
    let end = now_ns();
    let published = tokio::task::spawn_blocking(move || publisher.join())
        .await
        .map_err(|e| format!("publisher: {e}"))?;
    match published {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err("the publisher panicked".to_owned()),
    }
    tokio::time::sleep(DRAIN).await;
    let rounds = std::mem::take(&mut *rounds.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(summarize(
        settings.channels.len(),
        &affected,
        &rounds,
        &inbox.take(),
        fault,
        recovered,
        end,
    ))
}

/// The outcome of a run from what was published and received; `end` is when the publisher
/// stopped.
fn summarize(
    channels: usize,
    affected: &[usize],
    rounds: &[Round],
    receipts: &[Receipt],
    fault: u64,
    recovered: Option<u64>,
    end: u64,
) -> Outcome {
    let mut seen: HashSet<(usize, u64)> = HashSet::with_capacity(receipts.len());
    let mut duplicates = 0;
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); channels];
    let mut first_seq_at: Vec<HashMap<u64, u64>> = vec![HashMap::new(); channels];
    for &(c, seq, at) in receipts {
        if c >= channels {
            continue;
        }
        if !seen.insert((c, seq)) {
            duplicates += 1;
            continue;
        }
        times[c].push(at);
        first_seq_at[c].insert(seq, at);
    }
    let is_affected = |c: usize| affected.contains(&c);

    let mut lost = 0;
    let mut healthy_lost = 0;
    let mut published = 0;
    let mut received = 0;
    for round in rounds.iter().filter(|r| r.sent >= fault) {
        for (c, &ok) in round.accepted.iter().enumerate() {
            if !ok {
                continue;
            }
            published += 1;
            if seen.contains(&(c, round.seq)) {
                received += 1;
            } else {
                if is_affected(c) {
                    lost += 1;
                } else {
                    healthy_lost += 1;
                }
            }
        }
    }

    let mut deaf_ms: Option<f64> = None;
    for &c in affected.iter().filter(|&&c| c < channels) {
        let t = &mut times[c];
        t.sort_unstable();
        let from = t.iter().rposition(|&at| at <= fault).unwrap_or(0);
        let mut longest = 0u64;
        let mut last = t.get(from).copied().unwrap_or(fault).min(fault);
        for &at in &t[from..] {
            longest = longest.max(at.saturating_sub(last));
            last = at;
        }
        longest = longest.max(end.saturating_sub(last));
        let ms = longest as f64 / 1e6;
        deaf_ms = Some(deaf_ms.map_or(ms, |d| d.max(ms)));
    }

    let mut channels_lost = 0;
    let mut after: Option<f64> = Some(0.0);
    match recovered {
        Some(at) => {
            let first_seq = rounds.iter().find(|r| r.sent >= at).map(|r| r.seq);
            for &c in affected.iter().filter(|&&c| c < channels) {
                let first = first_seq.and_then(|s| {
                    first_seq_at[c]
                        .iter()
                        .filter(|(&seq, _)| seq >= s)
                        .map(|(_, &t)| t)
                        .min()
                });
                match first {
                    Some(t) => {
                        let ms = t.saturating_sub(at) as f64 / 1e6;
                        after = after.map(|a| a.max(ms));
                    }
                    None => {
                        channels_lost += 1;
                        after = None;
                    }
                }
            }
        }
        None => {
            after = None;
            channels_lost = affected
                .iter()
                .filter(|&&c| c < channels && !times[c].iter().any(|&t| t > fault))
                .count() as u64;
        }
    }
    if affected.is_empty() {
        after = None;
    }
    Outcome {
        affected: affected.len() as u64,
        deaf_ms,
        after_recovery_ms: after,
        lost,
        healthy_lost,
        duplicates,
        channels_lost,
        published,
        received,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn rounds(n: u64) -> Vec<Round> {
        (1..=n)
            .map(|seq| Round {
                seq,
                sent: seq * 10 * MS,
                accepted: vec![true, true],
            })
            .collect()
    }

    #[test]
    fn signals_parse() {
        assert_eq!(
            parse_signal("affected 1,4,7"),
            Some(Signal::Affected(vec![1, 4, 7]))
        );
        assert_eq!(parse_signal("affected "), Some(Signal::Affected(vec![])));
        assert_eq!(parse_signal("fault 12"), Some(Signal::Fault(12)));
        assert_eq!(parse_signal("recovered 13"), Some(Signal::Recovered(13)));
        assert_eq!(parse_signal("nonsense"), None);
    }

    #[test]
    fn a_deaf_channel_counts_its_gap_and_its_losses() {
        // Rounds every 10 ms; channel 0 misses rounds 4..=8 (fault at 35 ms, recovery at
        // 80 ms); channel 1 hears everything.
        let rounds = rounds(12);
        let mut receipts = Vec::new();
        for r in &rounds {
            receipts.push((1, r.seq, r.sent + MS));
            if !(4..=8).contains(&r.seq) {
                receipts.push((0, r.seq, r.sent + MS));
            }
        }
        receipts.push((0, 10, 101 * MS)); // a duplicate
        let o = summarize(
            2,
            &[0],
            &rounds,
            &receipts,
            35 * MS,
            Some(80 * MS),
            120 * MS,
        );
        assert_eq!(o.lost, 5);
        assert_eq!(o.healthy_lost, 0);
        assert_eq!(o.duplicates, 1);
        assert_eq!(o.channels_lost, 0);
        assert_eq!(o.deaf_ms, Some(60.0)); // from 31 ms to 91 ms
        assert_eq!(o.after_recovery_ms, Some(11.0)); // round 9 (90 ms) arrived at 91 ms
    }

    #[test]
    fn a_channel_that_never_comes_back_is_lost() {
        let rounds = rounds(10);
        let receipts: Vec<Receipt> = (1..=3).map(|s| (0, s, s * 10 * MS)).collect();
        let o = summarize(
            1,
            &[0],
            &rounds,
            &receipts,
            35 * MS,
            Some(50 * MS),
            110 * MS,
        );
        assert_eq!(o.channels_lost, 1);
        assert_eq!(o.after_recovery_ms, None);
        assert_eq!(o.lost, 7);
    }
}
