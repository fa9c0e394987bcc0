//! A verified SET/GET load for fault tests: each task writes `<task>:<seq>` to keys of its own
//! and reads them back, and every outcome is classified: success, error, a wrong value (another
//! key's or caller's value, garbage), or a stale one (an older value of its own).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::RedisCluster;

/// What one load run saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct Report {
    pub(crate) ok: u64,
    /// Errors: the key's slot, the message, whether the call may have run, how long it took.
    pub(crate) errors: Vec<(u16, String, bool, Duration)>,
    /// Every error, including those past the ones kept in `errors`.
    pub(crate) error_count: u64,
    pub(crate) wrong: Vec<String>,
    pub(crate) stale: u64,
    /// The longest single call, and when it started.
    pub(crate) longest: Duration,
    /// The first success on the marked slots of a call started after the mark.
    pub(crate) first_ok_after_mark: Option<Instant>,
    /// The longest time without a successful call on the marked slots, from the mark on.
    pub(crate) max_gap: Duration,
    /// When the longest gap ended.
    pub(crate) max_gap_end: Option<Instant>,
    /// When each successful call on the marked slots finished.
    pub(crate) ok_times: Vec<Instant>,
    last_ok_on_marked: Option<Instant>,
}

/// Since when, and on which slots (a flag per slot), first successes are recorded.
type Mark = (Instant, Vec<bool>);

/// Errors kept with their details; more are only counted.
const MAX_KEPT_ERRORS: usize = 10_000;

/// A running load.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    /// Taken shared by every write while it runs; [`Load::hold_writes`] takes it whole.
    writes: Arc<tokio::sync::RwLock<()>>,
    mark: Arc<Mutex<Option<Mark>>>,
    report: Arc<Mutex<Report>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts `tasks` tasks; task `t` uses the keys `keys(t)` in turn.
    pub(crate) fn start(
        cluster: &RedisCluster,
        tasks: usize,
        keys: impl Fn(usize) -> Vec<String>,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(tokio::sync::RwLock::new(()));
        let mark: Arc<Mutex<Option<Mark>>> = Arc::new(Mutex::new(None));
        let report = Arc::new(Mutex::new(Report::default()));
        let handles = (0..tasks)
            .map(|t| {
                let cluster = cluster.clone();
                let stop = Arc::clone(&stop);
                let writes = Arc::clone(&writes);
                let mark = Arc::clone(&mark);
                let report = Arc::clone(&report);
                let keys = keys(t);
                tokio::spawn(async move {
                    // The last value this task wrote and had acknowledged, per key.
                    let mut acked: Vec<u64> = vec![0; keys.len()];
                    let mut seq = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for (k, key) in keys.iter().enumerate() {
                            seq += 1;
                            let value = format!("{t}:{seq}");
                            let slot = RedisCluster::keyslot(key);
                            let held = writes.read().await;
                            let started = Instant::now();
                            let set = cluster.set(key, &value).await;
                            drop(held);
                            note(&report, &mark, slot, started, set.as_ref().err());
                            if set.is_ok() {
                                acked[k] = seq;
                            }
                            let started = Instant::now();
                            let got: slotwise::Result<Option<String>> = cluster.get(key).await;
                            note(&report, &mark, slot, started, got.as_ref().err());
                            if let Ok(got) = got {
                                check(&report, t, acked[k], key, got);
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            writes,
            mark,
            report,
            tasks: handles,
        }
    }

    /// Waits for the writes in flight to return and holds back new ones until the guard is
    /// dropped (reads go on): for a fault that would lose writes the server acknowledged but
    /// did not replicate yet.
    pub(crate) async fn hold_writes(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        Arc::clone(&self.writes).write_owned().await
    }

    /// From now on, record the first success on any of `slots`.
    pub(crate) fn mark(&self, slots: impl IntoIterator<Item = u16>) {
        self.mark_since(Instant::now(), slots);
    }

    /// Records the first success on any of `slots` among calls started at `since` or later.
    pub(crate) fn mark_since(&self, since: Instant, slots: impl IntoIterator<Item = u16>) {
        let mut set = vec![false; 16384];
        for s in slots {
            set[usize::from(s)] = true;
        }
        *self.mark.lock().unwrap() = Some((since, set));
        let mut r = self.report.lock().unwrap();
        r.last_ok_on_marked = Some(since);
        r.max_gap = Duration::ZERO;
        r.ok_times.clear();
    }

    /// The report so far.
    pub(crate) fn report(&self) -> Report {
        self.report.lock().unwrap().clone()
    }

    /// Stops the tasks (each finishes its current call) and returns the report.
    pub(crate) async fn stop(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        let report = self.report.lock().unwrap().clone();
        report
    }
}

fn note(
    report: &Mutex<Report>,
    mark: &Mutex<Option<Mark>>,
    slot: u16,
    started: Instant,
    err: Option<&slotwise::Error>,
) {
    let took = started.elapsed();
    let mut r = report.lock().unwrap();
    if took > r.longest {
        r.longest = took;
    }
    match err {
        None => {
            r.ok += 1;
            let now = Instant::now();
            if let Some((at, slots)) = &*mark.lock().unwrap() {
                if slots[usize::from(slot)] {
                    if r.first_ok_after_mark.is_none() && started >= *at {
                        r.first_ok_after_mark = Some(now);
                    }
                    if let Some(last) = r.last_ok_on_marked {
                        let gap = now.saturating_duration_since(last);
                        if gap > r.max_gap {
                            r.max_gap = gap;
                            r.max_gap_end = Some(now);
                        }
                    }
                    r.last_ok_on_marked = Some(now);
                    r.ok_times.push(now);
                }
            }
        }
        Some(e) => {
            // Kept up to a bound, so a client failing fast in a loop cannot exhaust memory
            // before the test reports it; the count stays exact.
            if r.errors.len() < MAX_KEPT_ERRORS {
                r.errors.push((slot, e.to_string(), e.may_have_run(), took));
            }
            r.error_count += 1;
        }
    }
}

/// Checks a read: it must be a value this task wrote to this key, not older than the last one
/// acknowledged (else stale), never anything else (wrong).
fn check(report: &Mutex<Report>, task: usize, acked: u64, key: &str, got: Option<String>) {
    let mut r = report.lock().unwrap();
    let Some(got) = got else {
        if acked > 0 {
            r.stale += 1;
        }
        return;
    };
    let parsed = got
        .split_once(':')
        .and_then(|(t, s)| Some((t.parse::<usize>().ok()?, s.parse::<u64>().ok()?)));
    match parsed {
        Some((t, seq)) if t == task => {
            if seq < acked {
                r.stale += 1;
            }
        }
        _ => r.wrong.push(format!("{key}: {got:?}")),
    }
}
