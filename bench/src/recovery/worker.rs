//! The recovery mode's worker: one client under verified load while its parent breaks the
//! cluster, in a process of its own.
//!
//! Sixteen tasks share one client. Each owns its keys and repeats `SET k <task>:<seq>` then
//! `GET k`, checking that the value read is this task's and not older than its last
//! acknowledged write. Every success on an affected slot is kept as a timestamp; errors are
//! counted by where they happened. The parent talks to the worker over stdin (see
//! [`Signal`]) and reads one JSON line ([`Outcome`]) from its stdout when the run is over.
//!
//! This module measures and summarises; the faults, the cluster and the table belong to the
//! parent (`recovery`).

use std::io::{BufRead, Write};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{now_ns, Outcome, KEYS_PER_TASK, TASKS};
use crate::drivers::{Driver, Fred, RedisRs, Slotwise};
use crate::workload::Client;

/// How long the worker keeps going after the client served the affected slots again.
const AFTER_RECOVERY: Duration = Duration::from_secs(2);
/// How long after the recovery instant a client may take before it counts as not recovered.
const RECOVERY_CAP: Duration = Duration::from_secs(15);
/// A call that has not returned after this long is abandoned and counted as an error: every
/// client is configured with a 1 s request timeout, so only a hang gets here.
const HANG_GUARD: Duration = Duration::from_secs(20);
/// Load before the worker says it is ready, so connections are open and maps are loaded.
const WARMUP: Duration = Duration::from_millis(500);

/// What the parent tells the worker, one line each on stdin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    /// `fault <unix ns>`: the fault was injected at this instant.
    Fault(u64),
    /// `recovered <unix ns>`: the cluster recovered (the replica won its election, the failover
    /// completed, the migration finished) at this instant.
    Recovered(u64),
    /// `settled <unix ns>`: after the recovery, every running node reported its cluster state
    /// ok (until then the other nodes may still refuse with `CLUSTERDOWN`).
    Settled(u64),
}

fn parse_signal(line: &str) -> Option<Signal> {
    let (word, ns) = line.trim().split_once(' ')?;
    let ns = ns.parse().ok()?;
    match word {
        "fault" => Some(Signal::Fault(ns)),
        "recovered" => Some(Signal::Recovered(ns)),
        "settled" => Some(Signal::Settled(ns)),
        _ => None,
    }
}

/// The worker's settings, from its command line.
#[derive(Clone, Debug)]
pub(crate) struct WorkerSettings {
    pub(crate) client: Client,
    pub(crate) seed: String,
    /// The slots the fault affects.
    pub(crate) affected: Vec<RangeInclusive<u16>>,
    /// A hash tag every key carries (the migrate scenario keeps all keys in one slot).
    pub(crate) tag: Option<String>,
    pub(crate) timeout: Duration,
}

/// What one task saw.
#[derive(Debug, Default)]
struct TaskLog {
    /// Completion times (unix ns) of successful calls on affected slots.
    successes: Vec<u64>,
    /// Successful calls on healthy slots (only counted).
    healthy_ok: u64,
    errors: u64,
    healthy_errors: u64,
    /// The first error, for the operator.
    first_error: Option<String>,
    wrong: u64,
    stale: u64,
    ops: u64,
}

/// One key a task owns, and what it knows of its value.
struct OwnKey {
    name: Bytes,
    affected: bool,
    /// The last sequence number acknowledged by a `SET`.
    acked: Option<u64>,
    /// The highest sequence number ever sent (a failed `SET` may still have been applied).
    sent: Option<u64>,
}

/// Runs the worker: connects, loads, reports ready, follows the parent's signals and prints
/// the outcome.
pub(crate) fn run(settings: &WorkerSettings) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    let outcome = runtime.block_on(async {
        match settings.client {
            Client::Slotwise => {
                let d = Slotwise::connect_bounded(&settings.seed, settings.timeout).await?;
                load(d, settings).await
            }
            Client::RedisRs => {
                let d = RedisRs::connect_bounded(&settings.seed, settings.timeout).await?;
                load(d, settings).await
            }
            Client::Fred => {
                let d = Fred::connect_bounded(&settings.seed, settings.timeout).await?;
                load(d, settings).await
            }
            Client::SlotwiseCached | Client::RedisRsCached | Client::RedisBenchmark => {
                Err(format!("{} has no recovery mode", settings.client))
            }
        }
    })?;
    // Some clients' background tasks may be stuck on a dead node; do not wait for them.
    runtime.shutdown_background();
    say(&outcome.to_json().to_string());
    Ok(())
}

/// The parent's lines on stdin, parsed by `parse` (lines it refuses are skipped), read on a
/// thread of their own since stdin is blocking; the channel closes with stdin.
pub(crate) fn read_signals<T: Send + 'static>(
    parse: fn(&str) -> Option<T>,
) -> tokio::sync::mpsc::UnboundedReceiver<T> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(signal) = parse(&line) {
                if tx.send(signal).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

#[allow(clippy::print_stdout)] // The parent reads the worker's lines from stdout.
pub(crate) fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

fn key_name(settings: &WorkerSettings, task: usize, i: usize) -> Bytes {
    match &settings.tag {
        Some(tag) => Bytes::from(format!("{{{tag}}}:rec:{task}:{i}")),
        None => Bytes::from(format!("rec:{task}:{i}")),
    }
}

async fn load<D: Driver>(driver: D, settings: &WorkerSettings) -> Result<Outcome, String> {
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        since: AtomicU64::new(u64::MAX),
        first: AtomicU64::new(u64::MAX),
    });
    let mut tasks = Vec::with_capacity(TASKS);
    for t in 0..TASKS {
        let keys = (0..KEYS_PER_TASK)
            .map(|i| {
                let name = key_name(settings, t, i);
                let slot = fred::util::redis_keyslot(&name);
                OwnKey {
                    name,
                    affected: settings.affected.iter().any(|r| r.contains(&slot)),
                    acked: None,
                    sent: None,
                }
            })
            .collect();
        tasks.push(tokio::spawn(task(
            driver.clone(),
            t,
            keys,
            Arc::clone(&shared),
        )));
    }
    tokio::time::sleep(WARMUP).await;
    say("ready");

    let mut rx = read_signals(parse_signal);
    let mut fault = None;
    let mut recovered = None;
    while recovered.is_none() {
        match rx.recv().await {
            Some(Signal::Fault(ns)) => fault = Some(ns),
            Some(Signal::Recovered(ns)) => recovered = Some(ns),
            Some(Signal::Settled(_)) => {}
            // The parent gave up (its fault failed); report what was seen so far.
            None => break,
        }
    }
    let fault = fault.unwrap_or_else(now_ns);
    if let Some(at) = recovered {
        shared.wait_for_recovery(at).await;
    }
    // The parent says so shortly after the recovery, well within the wait above.
    let mut settled = None;
    while let Ok(signal) = rx.try_recv() {
        if let Signal::Settled(ns) = signal {
            settled = Some(ns);
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    let end = now_ns();
    let mut logs = Vec::with_capacity(TASKS);
    for t in tasks {
        // A task whose call hangs ends at the hang guard at the latest.
        logs.push(t.await.map_err(|e| format!("a task failed: {e}"))?);
    }
    Ok(summarize(&logs, fault, recovered, settled, end))
}

/// What the tasks share with the worker's control loop.
#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    /// Successes on affected slots at or after this instant (unix ns) are noted in `first`.
    since: AtomicU64,
    /// The earliest such success, `u64::MAX` while there is none.
    first: AtomicU64,
}

impl Shared {
    fn note(&self, at: u64) {
        if at >= self.since.load(Ordering::Relaxed) {
            self.first.fetch_min(at, Ordering::Relaxed);
        }
    }

    /// Waits until [`AFTER_RECOVERY`] past the first success on an affected slot after `at`,
    /// or until [`RECOVERY_CAP`] after `at`.
    async fn wait_for_recovery(&self, at: u64) {
        self.since.store(at, Ordering::Relaxed);
        let cap = at + RECOVERY_CAP.as_nanos() as u64;
        loop {
            let first = self.first.load(Ordering::Relaxed);
            let until = first.saturating_add(AFTER_RECOVERY.as_nanos() as u64);
            if now_ns() >= until.min(cap) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn task<D: Driver>(
    mut driver: D,
    me: usize,
    mut keys: Vec<OwnKey>,
    shared: Arc<Shared>,
) -> TaskLog {
    let mut log = TaskLog::default();
    let mut seq = 0u64;
    let mine = format!("{me}:");
    for i in (0..keys.len()).cycle() {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let key = &mut keys[i];
        seq += 1;
        let value = Bytes::from(format!("{mine}{seq}"));
        key.sent = Some(seq);
        let set = tokio::time::timeout(HANG_GUARD, driver.set_value(&key.name, value)).await;
        let set = set.unwrap_or_else(|_| Err("no reply within the hang guard".to_owned()));
        let ok = set.is_ok();
        note(&mut log, &shared, key.affected, set);
        if ok {
            key.acked = Some(seq);
        }
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let get = tokio::time::timeout(HANG_GUARD, driver.get_value(&key.name)).await;
        let get = get.unwrap_or_else(|_| Err("no reply within the hang guard".to_owned()));
        if let Ok(value) = &get {
            match check(value.as_deref(), &mine, key.acked, key.sent) {
                Check::Fine => {}
                Check::Stale => log.stale += 1,
                Check::Wrong => log.wrong += 1,
            }
        }
        note(&mut log, &shared, key.affected, get.map(|_| ()));
    }
    log
}

fn note(log: &mut TaskLog, shared: &Shared, affected: bool, outcome: Result<(), String>) {
    log.ops += 1;
    match outcome {
        Ok(()) if affected => {
            let at = now_ns();
            log.successes.push(at);
            shared.note(at);
        }
        Ok(()) => log.healthy_ok += 1,
        Err(e) => {
            log.errors += 1;
            if !affected {
                log.healthy_errors += 1;
            }
            if log.first_error.is_none() {
                log.first_error = Some(e);
            }
        }
    }
}

/// What a read says about its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    Fine,
    /// An older value of this task's, or none after an acknowledged write: a lost write.
    Stale,
    /// Another task's value, garbage, or a value never sent.
    Wrong,
}

fn check(value: Option<&[u8]>, mine: &str, acked: Option<u64>, sent: Option<u64>) -> Check {
    let Some(value) = value else {
        return if acked.is_some() {
            Check::Stale
        } else {
            Check::Fine
        };
    };
    let seq = std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.strip_prefix(mine))
        .and_then(|s| s.parse::<u64>().ok());
    match seq {
        Some(s) if sent.is_some_and(|sent| s <= sent) => {
            if acked.is_some_and(|a| s < a) {
                Check::Stale
            } else {
                Check::Fine
            }
        }
        _ => Check::Wrong,
    }
}

fn summarize(
    logs: &[TaskLog],
    fault: u64,
    recovered: Option<u64>,
    settled: Option<u64>,
    end: u64,
) -> Outcome {
    let mut successes: Vec<u64> = logs
        .iter()
        .flat_map(|l| l.successes.iter().copied())
        .filter(|&t| t >= fault)
        .collect();
    successes.sort_unstable();
    let first_after = recovered.and_then(|at| successes.iter().copied().find(|&t| t >= at));
    let cap = recovered.map(|at| at + RECOVERY_CAP.as_nanos() as u64);
    let first_after = first_after.filter(|&t| cap.is_none_or(|c| t <= c));
    let stall = longest_gap(&successes, fault, end, None);
    // The cluster's own outage lasts until the promotion, and then until the other nodes stop
    // refusing with `CLUSTERDOWN`, which they do once they hear of it.
    let outage_end = recovered.map(|at| settled.map_or(at, |s| s.max(at)));
    let own_stall = longest_gap(&successes, fault, end, outage_end.map(|at| (fault, at)));
    Outcome {
        lag_ms: match (recovered, first_after) {
            (Some(at), Some(t)) => Some((t - at) as f64 / 1e6),
            _ => None,
        },
        stall_ms: stall as f64 / 1e6,
        own_stall_ms: own_stall as f64 / 1e6,
        recovered: first_after.is_some(),
        ops: logs.iter().map(|l| l.ops).sum(),
        errors: logs.iter().map(|l| l.errors).sum(),
        healthy_errors: logs.iter().map(|l| l.healthy_errors).sum(),
        healthy_ok: logs.iter().map(|l| l.healthy_ok).sum(),
        wrong: logs.iter().map(|l| l.wrong).sum(),
        stale: logs.iter().map(|l| l.stale).sum(),
        first_error: logs.iter().find_map(|l| l.first_error.clone()),
    }
}

/// The longest time without a success, from `start` to `end`, given the sorted success
/// instants (those after `end`, from calls that finished after the stop, count as at `end`).
/// With `outage`, the part of each gap that falls inside that window is left out: a gap
/// `[a, b]` counts as the length of `[a, b]` minus `outage`.
fn longest_gap(successes: &[u64], start: u64, end: u64, outage: Option<(u64, u64)>) -> u64 {
    let mut longest = 0;
    let mut last = start;
    for t in successes
        .iter()
        .chain(std::iter::once(&end))
        .map(|&t| t.min(end))
    {
        let gap = t.saturating_sub(last);
        let inside = outage.map_or(0, |(from, to)| t.min(to).saturating_sub(last.max(from)));
        longest = longest.max(gap.saturating_sub(inside));
        last = last.max(t);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        assert_eq!(check(Some(b"3:7"), "3:", Some(7), Some(7)), Check::Fine);
        assert_eq!(check(Some(b"3:7"), "3:", Some(6), Some(8)), Check::Fine);
        assert_eq!(check(Some(b"3:5"), "3:", Some(7), Some(7)), Check::Stale);
        assert_eq!(check(None, "3:", Some(7), Some(7)), Check::Stale);
        assert_eq!(check(None, "3:", None, Some(1)), Check::Fine);
        assert_eq!(check(Some(b"4:7"), "3:", Some(7), Some(7)), Check::Wrong);
        assert_eq!(check(Some(b"3:9"), "3:", Some(7), Some(8)), Check::Wrong);
        assert_eq!(
            check(Some(b"garbage"), "3:", Some(7), Some(7)),
            Check::Wrong
        );
        // "13:7" is not task 1's value.
        assert_eq!(check(Some(b"13:7"), "1:", Some(7), Some(7)), Check::Wrong);
    }

    #[test]
    fn signals_parse() {
        assert_eq!(parse_signal("fault 12\n"), Some(Signal::Fault(12)));
        assert_eq!(parse_signal("recovered 5"), Some(Signal::Recovered(5)));
        assert_eq!(parse_signal("settled 7"), Some(Signal::Settled(7)));
        assert_eq!(parse_signal("nonsense"), None);
    }

    #[test]
    fn stall_and_lag() {
        let log = TaskLog {
            successes: vec![100, 200, 1_000, 1_050],
            ..TaskLog::default()
        };
        let out = summarize(&[log], 150, Some(900), None, 1_200);
        assert_eq!(out.stall_ms, 800.0 / 1e6);
        assert_eq!(out.lag_ms, Some(100.0 / 1e6));
        assert!(out.recovered);
        // Outage [150, 900]: the gap 200–1000 keeps 100, the tail 1050–1200 keeps all 150.
        assert_eq!(out.own_stall_ms, 150.0 / 1e6);
    }

    #[test]
    fn own_stall_leaves_out_the_cluster_outage() {
        let successes = [100, 200, 1_000, 1_050];
        // Without an outage, every gap counts whole.
        assert_eq!(longest_gap(&successes, 150, 1_200, None), 800);
        // A gap wholly inside the outage counts nothing, one across its end only the part
        // after it.
        assert_eq!(longest_gap(&successes, 150, 1_200, Some((150, 900))), 150);
        // A gap across the outage's start keeps the part before it.
        assert_eq!(longest_gap(&[100, 900], 100, 950, Some((300, 2_000))), 200);
        // A gap around the whole outage keeps both sides.
        assert_eq!(
            longest_gap(&[100, 1_000], 100, 1_000, Some((400, 500))),
            800
        );
        // An outage outside every gap changes nothing.
        assert_eq!(
            longest_gap(&[100, 200], 100, 300, Some((5_000, 6_000))),
            100
        );
        // No success at all: the one gap, fault to end, minus the outage.
        assert_eq!(longest_gap(&[], 100, 2_000, Some((100, 1_500))), 500);
        // A success after the end counts as at the end.
        assert_eq!(longest_gap(&[100, 2_500], 100, 2_000, None), 1_900);
    }
}
