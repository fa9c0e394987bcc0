//! The recovery comparison: how each client lives through a primary being killed (one that is
//! not the client's startup node, then the startup node itself), a slot being migrated under
//! it, and a graceful failover.
//!
//! `--runs` times, for every scenario and every client, this module starts a fresh cluster
//! (3 primaries × 1 replica, 2 s node timeout), starts a worker process for the client (see
//! [`worker`]), zeroes every node's counters (`CONFIG RESETSTAT`), injects the fault when the
//! worker is loaded, watches the cluster recover from outside the client, tells the worker the
//! fault and recovery instants and, when the worker is done, reads the counters of the nodes
//! still running. The run is the outer loop and the client the inner one, so the clients
//! interleave and a drift of the machine spreads over all of them. The worker measures; this
//! module builds the tables. It does not take part in the throughput comparison (`runner`).
//!
//! The summary has one row per scenario × client; its cells are medians over the runs that
//! have the value, except *wrong* and *stale*, which are totals, and "—" where no run has one:
//!
//! - *runs recovered*: runs in which the client served an affected slot again within the
//!   worker's cap after the recovery instant, of `--runs`;
//! - *cluster recovered after*: from the fault to the recovery instant, as the cluster saw it
//!   (the replica's promotion, the end of the migration);
//! - *lag after recovery*: from the recovery instant to the client's first success on an
//!   affected slot, with the smallest and largest run's;
//! - *longest stall*: the longest time without a success on an affected slot, from the fault
//!   to the end of the run;
//! - *client's stall*: for kill, kill-seed and failover, the same longest gap with every gap's
//!   part inside the cluster's own outage left out: from the fault until the promotion and every
//!   running node reports `cluster_state:ok` (the per-run table's *all nodes ok*; the other
//!   nodes refuse with `CLUSTERDOWN` until they hear of the election, some tens of milliseconds
//!   after it), since no client can be served then; for migrate, the longest stall itself, since
//!   the cluster serves the slot throughout (through `ASK`);
//! - *errors (healthy slots)*: failed calls, in brackets those on slots the fault did not touch;
//! - *wrong*, *stale*: reads of a value never written by the task, and reads older than its
//!   last acknowledged write;
//! - *MOVED*, *ASK*: the redirections the nodes answered (`INFO errorstats`), summed over the
//!   nodes; *topology queries*: `CLUSTER SHARDS` and `CLUSTER SLOTS` calls (`INFO
//!   commandstats`), summed over the nodes. These are counted by the servers, from just before
//!   the fault to the end of the run, whatever the client; a killed node's counters die with
//!   it. See [`ServerCounts`].
//!
//! A second table lists every run.

mod counts;
pub(crate) mod table;
pub(crate) mod worker;

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use slotwise::protocol::{Cmd, Value};
use slotwise::{ClusterCommands, RedisCluster};
use slotwise_testkit::{LocalCluster, NodeInfo, NodeState};

use crate::workload::Client;

use counts::{read_stats, reset_stats, ServerCounts};
pub(crate) use table::{json, markdown};

/// Tasks in each worker, all on one client.
pub(crate) const TASKS: usize = 16;
/// Keys each task owns and cycles through.
pub(crate) const KEYS_PER_TASK: usize = 256;
/// The hash tag of the migrated slot's keys.
const TAG: &str = "rec";
/// Keys put in the migrated slot before the run.
const MIGRATE_FILL: usize = 20_000;
/// Keys moved per `MIGRATE`.
const MIGRATE_BATCH: usize = 500;
/// How long a replica may take to win its election before the run is abandoned.
const ELECTION_LIMIT: Duration = Duration::from_secs(30);

/// The request timeout every client gets.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Now, as nanoseconds since the Unix epoch: the one clock parent and worker share.
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A fault the cluster recovers from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scenario {
    /// SIGKILL a primary other than the client's startup node; its replica takes over after
    /// the node timeout.
    Kill,
    /// SIGKILL the primary that is the client's only startup node (the seed URL's); its
    /// replica takes over after the node timeout.
    KillSeed,
    /// Move a slot holding ~20,000 keys to another primary, in batches, then finish.
    Migrate,
    /// `CLUSTER FAILOVER` on a replica.
    Failover,
}

impl Scenario {
    /// Every scenario, in table order.
    pub(crate) const ALL: [Scenario; 4] = [
        Scenario::Kill,
        Scenario::KillSeed,
        Scenario::Migrate,
        Scenario::Failover,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Kill => "kill",
            Scenario::KillSeed => "kill-seed",
            Scenario::Migrate => "migrate",
            Scenario::Failover => "failover",
        }
    }

    /// True if the cluster itself cannot serve the affected slots between the fault and the
    /// recovery instant (until the replica is promoted), so that window is not the client's
    /// stall.
    pub(crate) fn has_outage(self) -> bool {
        match self {
            Scenario::Kill | Scenario::KillSeed | Scenario::Failover => true,
            Scenario::Migrate => false,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Scenario, String> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| format!("unknown scenario {s:?} (kill, kill-seed, migrate, failover)"))
    }
}

/// What a worker measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Outcome {
    /// From the recovery instant to the first success on an affected slot.
    pub(crate) lag_ms: Option<f64>,
    /// The longest time without a success on an affected slot, from the fault to the end.
    pub(crate) stall_ms: f64,
    /// As `stall_ms`, with every gap's part between the fault and the recovery instant left
    /// out (the same as `stall_ms` when the cluster did not recover).
    pub(crate) own_stall_ms: f64,
    /// True if the affected slots served again within the cap.
    pub(crate) recovered: bool,
    pub(crate) ops: u64,
    pub(crate) errors: u64,
    pub(crate) healthy_errors: u64,
    pub(crate) healthy_ok: u64,
    pub(crate) wrong: u64,
    pub(crate) stale: u64,
    pub(crate) first_error: Option<String>,
}

impl Outcome {
    /// The JSON line a worker prints.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "lag_ms": self.lag_ms,
            "stall_ms": self.stall_ms,
            "own_stall_ms": self.own_stall_ms,
            "recovered": self.recovered,
            "ops": self.ops,
            "errors": self.errors,
            "healthy_errors": self.healthy_errors,
            "healthy_ok": self.healthy_ok,
            "wrong": self.wrong,
            "stale": self.stale,
            "first_error": self.first_error,
        })
    }

    /// Reads what [`Outcome::to_json`] wrote.
    fn from_json(text: &str) -> Result<Outcome, String> {
        let v: serde_json::Value =
            serde_json::from_str(text.trim()).map_err(|e| format!("bad worker output: {e}"))?;
        let u = |name: &str| v[name].as_u64().unwrap_or(0);
        let stall_ms = v["stall_ms"].as_f64().unwrap_or(0.0);
        Ok(Outcome {
            lag_ms: v["lag_ms"].as_f64(),
            stall_ms,
            own_stall_ms: v["own_stall_ms"].as_f64().unwrap_or(stall_ms),
            recovered: v["recovered"].as_bool().unwrap_or(false),
            ops: u("ops"),
            errors: u("errors"),
            healthy_errors: u("healthy_errors"),
            healthy_ok: u("healthy_ok"),
            wrong: u("wrong"),
            stale: u("stale"),
            first_error: v["first_error"].as_str().map(str::to_owned),
        })
    }
}

/// One run of one scenario with one client.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// Which run, from 1.
    pub(crate) run: usize,
    pub(crate) scenario: Scenario,
    pub(crate) client: Client,
    /// From the fault to the recovery instant, as the cluster saw it; `None` if the cluster did
    /// not recover.
    pub(crate) cluster_ms: Option<f64>,
    /// From the fault until every running node reported its cluster state ok after the
    /// recovery (kill, kill-seed, failover).
    pub(crate) settled_ms: Option<f64>,
    pub(crate) outcome: Outcome,
    /// What the nodes counted; `None` if they could not be reset or read.
    pub(crate) server: Option<ServerCounts>,
}

impl Row {
    /// The client's stall: the stall outside the cluster's own outage where the scenario has
    /// one, else the longest stall.
    fn client_stall_ms(&self) -> f64 {
        if self.scenario.has_outage() {
            self.outcome.own_stall_ms
        } else {
            self.outcome.stall_ms
        }
    }
}

/// Runs every scenario for every client `runs` times, each on a fresh cluster: for each run,
/// for each scenario, for each client.
pub(crate) fn run(scenarios: &[Scenario], clients: &[Client], runs: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    for run in 1..=runs {
        for &scenario in scenarios {
            for &client in clients {
                eprintln!("recovery: run {run}/{runs}, {scenario} with {client}…");
                match run_one(scenario, client, run) {
                    Ok(row) => {
                        if let Some(e) = &row.outcome.first_error {
                            eprintln!("  first error: {e}");
                        }
                        rows.push(row);
                    }
                    Err(e) => eprintln!("warning: run {run}, {scenario} {client}: {e}"),
                }
            }
        }
    }
    rows
}

fn run_one(scenario: Scenario, client: Client, run: usize) -> Result<Row, String> {
    let cluster = crate::start_cluster()?;
    let seed = cluster.seed_url();
    let primaries = cluster.primaries().map_err(|e| e.to_string())?;
    let seed_port = crate::runner::host_port(&seed)?.1;
    // `kill` spares the seed node: losing the only startup node is its own scenario
    // (`kill-seed`), and one some clients do not survive at all.
    let victim = match scenario {
        Scenario::KillSeed => primaries
            .iter()
            .find(|p| p.port == seed_port)
            .cloned()
            .ok_or_else(|| format!("the seed node ({seed_port}) is not a primary"))?,
        _ => primaries
            .iter()
            .find(|p| p.port != seed_port)
            .cloned()
            .ok_or_else(|| "the cluster has no primary besides the seed".to_owned())?,
    };
    let heir = cluster
        .replicas()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(victim.id.as_str()))
        .ok_or_else(|| "the victim has no replica".to_owned())?;
    let slot = fred::util::redis_keyslot(TAG.as_bytes());
    let (affected, tag) = match scenario {
        Scenario::Kill | Scenario::KillSeed | Scenario::Failover => (ranges(&victim), None),
        Scenario::Migrate => {
            fill_slot(&seed)?;
            (format!("{slot}-{slot}"), Some(TAG))
        }
    };

    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut command = Command::new(exe);
    command
        .arg("recovery-worker")
        .args(["--client", client.name()])
        .args(["--seed", &seed])
        .args(["--affected", &affected]);
    if let Some(tag) = tag {
        command.args(["--tag", tag]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the worker: {e}"))?;
    let mut stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().ok_or("no worker stdout")?).lines();
    let ready = lines.next().and_then(Result::ok);
    if ready.as_deref() != Some("ready") {
        let _ = child.wait();
        return Err("the worker did not start".to_owned());
    }

    let mut tell = |line: String| {
        if let Some(pipe) = stdin.as_mut() {
            let _ = writeln!(pipe, "{line}").and_then(|()| pipe.flush());
        }
    };
    // The worker's connecting and warm-up are not counted.
    let reset = reset_stats(&cluster, &cluster.ports());
    if let Err(e) = &reset {
        eprintln!("warning: run {run}, {scenario} {client}: {e}");
    }
    let fault = now_ns();
    tell(format!("fault {fault}"));
    let recovered = inject(&cluster, scenario, &victim, &heir, slot);
    let recovered = match recovered {
        Ok(at) => {
            tell(format!("recovered {at}"));
            Some(at)
        }
        Err(e) => {
            eprintln!("warning: run {run}, {scenario} {client}: {e}");
            None
        }
    };
    let settled = match recovered {
        Some(_) if scenario.has_outage() => match watch_settled(&cluster) {
            Ok(at) => {
                tell(format!("settled {at}"));
                Some(at)
            }
            Err(e) => {
                eprintln!("warning: run {run}, {scenario} {client}: {e}");
                None
            }
        },
        _ => None,
    };
    // Closing stdin ends a worker that never heard of a recovery.
    drop(stdin);
    let result = lines.last().and_then(Result::ok);
    let _ = child.wait();
    let server = match reset.and_then(|()| read_stats(&cluster)) {
        Ok(counts) => Some(counts),
        Err(e) => {
            eprintln!("warning: run {run}, {scenario} {client}: {e}");
            None
        }
    };
    let outcome = Outcome::from_json(&result.ok_or("the worker printed no result")?)?;
    Ok(Row {
        run,
        scenario,
        client,
        cluster_ms: recovered.map(|at| at.saturating_sub(fault) as f64 / 1e6),
        settled_ms: settled.map(|at| at.saturating_sub(fault) as f64 / 1e6),
        outcome,
        server,
    })
}

/// Injects the fault and returns the instant (unix ns) the cluster recovered.
fn inject(
    cluster: &LocalCluster,
    scenario: Scenario,
    victim: &NodeInfo,
    heir: &NodeInfo,
    slot: u16,
) -> Result<u64, String> {
    match scenario {
        Scenario::Kill | Scenario::KillSeed => {
            cluster.kill(victim.port).map_err(|e| e.to_string())?;
            watch_promotion(cluster, heir.port)
        }
        Scenario::Failover => {
            let failover = Cmd::new("CLUSTER").arg("FAILOVER");
            cluster
                .call(heir.port, &failover)
                .map_err(|e| format!("CLUSTER FAILOVER: {e}"))?;
            watch_promotion(cluster, heir.port)
        }
        Scenario::Migrate => {
            let owner = cluster.node_for_slot(slot).map_err(|e| e.to_string())?;
            let target = cluster
                .primaries()
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|p| p.port != owner.port)
                .ok_or("no other primary to migrate to")?;
            let mut migration = cluster
                .begin_migration(slot, target.port)
                .map_err(|e| format!("begin migration: {e}"))?;
            while migration
                .move_keys(MIGRATE_BATCH)
                .map_err(|e| format!("moving keys: {e}"))?
                > 0
            {}
            migration.finish().map_err(|e| format!("finish: {e}"))?;
            Ok(now_ns())
        }
    }
}

/// Polls `CLUSTER INFO` on every running node until all say `cluster_state:ok`; that instant
/// is the one the whole cluster serves again (the other nodes refuse with `CLUSTERDOWN` until
/// they hear of the election).
pub(crate) fn watch_settled(cluster: &LocalCluster) -> Result<u64, String> {
    let deadline = Instant::now() + ELECTION_LIMIT;
    let info = Cmd::new("CLUSTER").arg("INFO");
    let ports: Vec<u16> = cluster
        .nodes()
        .map_err(|e| format!("cannot list the nodes: {e}"))?
        .into_iter()
        .filter(|n| n.state == NodeState::Running)
        .map(|n| n.port)
        .collect();
    loop {
        let ok = ports.iter().all(|&port| {
            cluster.call(port, &info).is_ok_and(|reply| {
                reply
                    .as_bytes()
                    .is_some_and(|text| String::from_utf8_lossy(text).contains("cluster_state:ok"))
            })
        });
        if ok {
            return Ok(now_ns());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the nodes did not all report ok within {ELECTION_LIMIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `port`'s `ROLE` until it says `master`; that instant is the election's.
pub(crate) fn watch_promotion(cluster: &LocalCluster, port: u16) -> Result<u64, String> {
    let deadline = Instant::now() + ELECTION_LIMIT;
    let role = Cmd::new("ROLE");
    loop {
        if let Ok(Value::Array(items)) = cluster.call(port, &role) {
            if items.first().and_then(|v| v.as_bytes()) == Some(b"master") {
                return Ok(now_ns());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{port} was not promoted within {ELECTION_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The victim's slots as `a-b,c-d`.
fn ranges(node: &NodeInfo) -> String {
    let parts: Vec<String> = node
        .slots
        .iter()
        .map(|r| format!("{}-{}", r.start(), r.end()))
        .collect();
    parts.join(",")
}

/// Parses what [`ranges`] wrote.
pub(crate) fn parse_ranges(text: &str) -> Result<Vec<std::ops::RangeInclusive<u16>>, String> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let a = a.parse().map_err(|_| format!("bad slot range {part:?}"))?;
            let b = b.parse().map_err(|_| format!("bad slot range {part:?}"))?;
            Ok(a..=b)
        })
        .collect()
}

/// Puts [`MIGRATE_FILL`] keys in the migrated slot, so the migration takes many batches.
fn fill_slot(seed: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    runtime.block_on(async {
        let cluster = RedisCluster::from_url(seed)
            .await
            .map_err(|e| format!("fill: cannot connect: {e}"))?;
        let value = Bytes::from_static(crate::workload::VALUE);
        for start in (0..MIGRATE_FILL).step_by(1000) {
            let pairs: Vec<(Bytes, Bytes)> = (start..(start + 1000).min(MIGRATE_FILL))
                .map(|i| (Bytes::from(format!("{{{TAG}}}:fill:{i}")), value.clone()))
                .collect();
            cluster
                .mset_nonatomic(&pairs)
                .await
                .map_err(|e| format!("fill: {e}"))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ranges_round_trip() {
        assert_eq!(
            parse_ranges("0-5460,6000-6000").unwrap(),
            vec![0..=5460, 6000..=6000]
        );
        assert_eq!(parse_ranges("42").unwrap(), vec![42..=42]);
        assert!(parse_ranges("x-1").is_err());
    }

    #[test]
    fn outcome_round_trips() {
        let o = Outcome {
            lag_ms: Some(12.5),
            stall_ms: 3000.0,
            own_stall_ms: 1200.0,
            recovered: true,
            ops: 10,
            errors: 2,
            healthy_errors: 1,
            healthy_ok: 5,
            wrong: 0,
            stale: 1,
            first_error: Some("boom".to_owned()),
        };
        assert_eq!(Outcome::from_json(&o.to_json().to_string()).unwrap(), o);
    }

    #[test]
    fn scenario_names_round_trip() {
        for sc in Scenario::ALL {
            assert_eq!(sc.name().parse::<Scenario>().unwrap(), sc);
        }
        assert_eq!("kill-seed".parse::<Scenario>().unwrap(), Scenario::KillSeed);
        assert!("kill_seed".parse::<Scenario>().is_err());
    }
}
