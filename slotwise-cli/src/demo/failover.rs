//! The demo's last section: a primary killed while a counter on its slots keeps incrementing,
//! its replica elected, and the client serving the counter again; the pause measured.
//!
//! Three clocks are kept apart: the kill (when SIGKILL was sent), the election (when the replica
//! first answers `ROLE` as a primary, polled every few milliseconds from outside the client),
//! and the recovery (when the first `INCR` *sent after the kill* succeeded). An `INCR` sent
//! before the kill may have been answered by the old primary, so it proves nothing about
//! recovery.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::protocol::{Cmd, Value};
use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

use super::{kit, OrFail, Tour, NODE_TIMEOUT};
use crate::output;
use crate::Failure;

/// The key the counter task increments.
const COUNTER: &str = "counter";

/// Time between two `INCR`s of the counter task: fast enough to time the recovery to a few
/// milliseconds, slow enough to leave the 2-core machine to the servers' election.
const PACE: Duration = Duration::from_millis(2);

/// How often a progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// How often the main task looks for the election and the recovery.
const POLL: Duration = Duration::from_millis(10);

/// How often the election watcher asks the replica for its role.
const ROLE_POLL: Duration = Duration::from_millis(5);

/// The longest the demo waits for the election and the recovery. With a 1 s node timeout both
/// take about 2 s; this only bounds a cluster that never recovers.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// What the counter task has seen.
#[derive(Debug, Default)]
struct Tally {
    /// `INCR`s that succeeded.
    ok: u64,
    /// The counter's value after the last success.
    value: i64,
    /// When the last success came back.
    last_ok: Option<Instant>,
    /// When SIGKILL was sent, once it was.
    killed_at: Option<Instant>,
    /// The value of the last `INCR` sent before the kill that succeeded.
    value_before_kill: Option<i64>,
    /// The value of the first `INCR` sent after the kill that succeeded.
    value_after_kill: Option<i64>,
    /// The first `INCR` sent after the kill that succeeded: when it came back and how long it
    /// had waited inside the client.
    recovered: Option<(Instant, Duration)>,
    /// `INCR`s that failed: the error and whether the write may have run.
    failed: Vec<(String, bool)>,
}

type Shared = Arc<Mutex<Tally>>;

/// Tells the counter task to stop after its current `INCR`. Stopping it that way, rather than
/// aborting it, means every `INCR` the server ran is in the tally, so the final `GET` can be
/// compared with the last value seen.
type Stop = Arc<AtomicBool>;

fn lock(tally: &Shared) -> std::sync::MutexGuard<'_, Tally> {
    // Each update is a few field writes; a panicking holder cannot leave it half-made in a way
    // that matters for a printed report.
    tally.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Section 8.
pub(super) async fn live_failover(tour: &Tour<'_>, title: &str) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.section(8, title);
    say.say(&format!(
        "Now a primary dies. A task increments a counter on that primary's slots in a loop. \
         The cluster needs its node timeout ({} here) and an election to replace the primary \
         with its replica. Meanwhile slotwise holds the INCRs bound for those slots and retries \
         them within their deadline (5 s by default) instead of failing them, and it reloads \
         the topology as soon as the new primary shows.",
        output::seconds(NODE_TIMEOUT)
    ));
    let slot = RedisCluster::keyslot(COUNTER);
    let victim = kit(&tour.cluster, "finding the counter's primary", move |c| {
        c.node_for_slot(slot)
    })
    .await?;
    let victim_id = victim.id.clone();
    let heir = kit(&tour.cluster, "finding its replica", move |c| c.replicas())
        .await?
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(victim_id.as_str()))
        .ok_or_else(|| Failure::new(format!("{} has no replica", victim.addr())))?;
    say.line(&format!(
        "{COUNTER:?} is in slot {slot}, served by primary {} (slots {}); its replica {} will take over.",
        say.style().node(&victim.addr()),
        output::slot_ranges(&victim.slots),
        say.style().node(&heir.addr()),
    ));

    let tally: Shared = Arc::default();
    let stop: Stop = Arc::default();
    let counter = tokio::spawn(count(rc.clone(), Arc::clone(&tally), Arc::clone(&stop)));
    let start = Instant::now();
    let progress = Progress {
        say: tour.say,
        rc,
        start,
    };
    for _ in 0..2 {
        tokio::time::sleep(PROGRESS_EVERY).await;
        progress.line(&lock(&tally));
    }

    let killed_at = Instant::now();
    lock(&tally).killed_at = Some(killed_at);
    let victim_port = victim.port;
    kit(&tour.cluster, "killing the primary", move |c| {
        c.kill(victim_port)
    })
    .await?;
    progress.event(
        &say.style()
            .bad(&format!("SIGKILL → primary {}", victim.addr())),
    );

    let watcher = {
        let cluster = Arc::clone(&tour.cluster);
        let port = heir.port;
        tokio::task::spawn_blocking(move || watch_promotion(&cluster, port))
    };
    let mut watcher = Some(watcher);
    let mut elected_at = None;
    let mut recovered = None;
    let mut last_progress = Instant::now();
    let mut after_recovery = 0;
    while after_recovery < 2 {
        if killed_at.elapsed() > RECOVERY_LIMIT {
            counter.abort();
            return Err(Failure::new(format!(
                "the counter was not served again within {} of the kill",
                output::duration(RECOVERY_LIMIT)
            )));
        }
        tokio::time::sleep(POLL).await;
        if let Some(handle) = watcher.take_if(|h| h.is_finished()) {
            let at = handle
                .await
                .or_fail("watching the election")?
                .ok_or_else(|| Failure::new(format!("{} was never promoted", heir.addr())))?;
            elected_at = Some(at);
            progress.event_at(
                at,
                &say.style().good(&format!(
                    "{} won the election: it is a primary now",
                    heir.addr()
                )),
            );
        }
        if recovered.is_none() {
            if let Some((at, waited)) = lock(&tally).recovered {
                recovered = Some((at, waited));
                progress.event_at(
                    at,
                    &say.style().good(&format!(
                        "INCR served again, by {} in the client's view (that INCR waited {} in the client)",
                        owner(rc),
                        output::duration(waited)
                    )),
                );
            }
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            progress.line(&lock(&tally));
            if recovered.is_some() && elected_at.is_some() {
                after_recovery += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    counter.await.or_fail("the counter task")?;

    let (Some(elected_at), Some((recovered_at, _))) = (elected_at, recovered) else {
        return Err(Failure::new("the failover did not complete"));
    };
    report(tour, &tally, killed_at, elected_at, recovered_at).await
}

/// The measured pause, the failures (if any), what the counter holds now, and the client's
/// counters.
async fn report(
    tour: &Tour<'_>,
    tally: &Shared,
    killed_at: Instant,
    elected_at: Instant,
    recovered_at: Instant,
) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.line("");
    say.line(&say.style().good(&format!(
        "The counter was served again {} after the kill:",
        output::duration(recovered_at.saturating_duration_since(killed_at))
    )));
    say.detail(&format!(
        "kill → election:          {}  (the cluster: node timeout, then the replicas' vote)",
        output::duration(elected_at.saturating_duration_since(killed_at))
    ));
    say.detail(&format!(
        "election → INCR served:   {}  (the client: noticing the new primary)",
        output::duration(recovered_at.saturating_duration_since(elected_at))
    ));
    let (ok, last_value, failed, before, after) = {
        let t = lock(tally);
        let failed = t.failed.clone();
        (
            t.ok,
            t.value,
            failed,
            t.value_before_kill,
            t.value_after_kill,
        )
    };
    if failed.is_empty() {
        say.detail(&format!(
            "{ok} INCRs succeeded and none failed: those that found the primary gone were held \
             and retried."
        ));
    } else {
        say.detail(&format!("{ok} INCRs succeeded, {} failed:", failed.len()));
        for (message, may_have_run) in &failed {
            let why = if *may_have_run {
                "in flight when the primary died: a write that may have run is not sent twice \
                 (retry_writes_on_io(true) opts in)"
            } else {
                "it ran out of time before a new primary was elected"
            };
            say.detail(&format!("  {message}"));
            say.detail(&format!("    → {why}"));
        }
        if let (Some(before), Some(after)) = (before, after) {
            // Each success returns the count so far, so a jump across the kill counts the
            // increments that ran without the client seeing them succeed.
            let unseen = after - before - 1;
            say.detail(&format!(
                "The counter went from {before} (last INCR before the kill) to {after} (first \
                 after): {unseen} of the failed INCRs had run and reached the replica."
            ));
        }
    }
    let now: Option<i64> = rc.get(COUNTER).await.or_fail("GET counter")?;
    let now = now.unwrap_or(0);
    let verdict = if now == last_value {
        "every increment is there".to_owned()
    } else if now < last_value {
        format!(
            "{} acknowledged increments never reached the replica: replication is \
             asynchronous (WAIT trades latency for that)",
            last_value - now
        )
    } else {
        format!("{} more than the client saw", now - last_value)
    };
    say.call(
        &format!("cluster.get::<i64>({COUNTER:?})"),
        &format!("Some({now}); the last INCR returned {last_value}: {verdict}"),
        Some(&owner(rc)),
    );
    let stats = rc.stats();
    say.call(
        "cluster.stats()",
        &format!(
            "{} topology refreshes, {} retries after lost connections, {} MOVED followed",
            stats.refreshes, stats.io_retries, stats.moved
        ),
        None,
    );
    Ok(())
}

/// Increments the counter until told to stop, recording each outcome.
async fn count(rc: RedisCluster, tally: Shared, stop: Stop) {
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let outcome = rc.incr(COUNTER).await;
        let done = Instant::now();
        {
            let mut t = lock(&tally);
            match outcome {
                Ok(value) => {
                    t.ok += 1;
                    t.value = value;
                    t.last_ok = Some(done);
                    let after_kill = t.killed_at.is_some_and(|killed| sent >= killed);
                    if !after_kill {
                        t.value_before_kill = Some(value);
                    } else if t.recovered.is_none() {
                        t.recovered = Some((done, done - sent));
                        t.value_after_kill = Some(value);
                    }
                }
                Err(e) => t.failed.push((e.to_string(), e.may_have_run())),
            }
        }
        tokio::time::sleep(PACE).await;
    }
}

/// Polls the replica's `ROLE` until it says `master`; when it first did, or `None` after
/// [`RECOVERY_LIMIT`].
fn watch_promotion(cluster: &LocalCluster, port: u16) -> Option<Instant> {
    let deadline = Instant::now() + RECOVERY_LIMIT;
    while Instant::now() < deadline {
        if let Ok(Value::Array(role)) = cluster.call(port, &Cmd::new("ROLE")) {
            if role.first().and_then(Value::as_bytes) == Some(b"master".as_slice()) {
                return Some(Instant::now());
            }
        }
        std::thread::sleep(ROLE_POLL);
    }
    None
}

/// The node that owns the counter's slot in the client's view.
fn owner(rc: &RedisCluster) -> String {
    rc.get_node_from_key(COUNTER, false)
        .map_or_else(|e| format!("no node ({e})"), |n| n.name().to_owned())
}

/// Timestamped lines of the failover, relative to the start of the section.
struct Progress<'a> {
    say: &'a super::Narrator,
    rc: &'a RedisCluster,
    start: Instant,
}

impl Progress<'_> {
    /// Where the counter stands.
    fn line(&self, tally: &Tally) {
        let idle = tally.last_ok.map(|at| at.elapsed());
        let state = match idle {
            Some(idle) if idle > Duration::from_millis(100) => self.say.style().bad(&format!(
                "waiting {} (INCR held and retried by the client)",
                output::duration(idle)
            )),
            _ => format!("slot owner: {}", self.say.style().node(&owner(self.rc))),
        };
        self.say.line(&format!(
            "{}  counter = {:<6} {state}",
            self.stamp(Instant::now()),
            tally.value
        ));
    }

    /// Something that happened now.
    fn event(&self, text: &str) {
        self.event_at(Instant::now(), text);
    }

    /// Something that happened at `at`.
    fn event_at(&self, at: Instant, text: &str) {
        self.say.line(&format!("{}  {text}", self.stamp(at)));
    }

    fn stamp(&self, at: Instant) -> String {
        let t = at.saturating_duration_since(self.start);
        self.say.style().dim(&format!("+{:.2} s", t.as_secs_f64()))
    }
}
