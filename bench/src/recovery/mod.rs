//! The recovery comparison: how each client lives through a primary being killed, a slot
//! being migrated under it, and a graceful failover.
//!
//! For every scenario and client this module starts a fresh cluster (3 primaries × 1 replica,
//! 2 s node timeout), starts a worker process for the client (see [`worker`]), injects the
//! fault when the worker is loaded, watches the cluster recover from outside the client, and
//! tells the worker the fault and recovery instants. The worker measures; this module builds
//! the table. It does not take part in the throughput comparison (`runner`).

pub(crate) mod worker;

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use slotwise::protocol::{Cmd, Value};
use slotwise::{ClusterCommands, RedisCluster};
use slotwise_testkit::{LocalCluster, NodeInfo};

use crate::workload::Client;

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
    /// SIGKILL a primary; its replica takes over after the node timeout.
    Kill,
    /// Move a slot holding ~20,000 keys to another primary, in batches, then finish.
    Migrate,
    /// `CLUSTER FAILOVER` on a replica.
    Failover,
}

impl Scenario {
    /// Every scenario, in table order.
    pub(crate) const ALL: [Scenario; 3] = [Scenario::Kill, Scenario::Migrate, Scenario::Failover];

    fn name(self) -> &'static str {
        match self {
            Scenario::Kill => "kill",
            Scenario::Migrate => "migrate",
            Scenario::Failover => "failover",
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
            .ok_or_else(|| format!("unknown scenario {s:?} (kill, migrate, failover)"))
    }
}

/// What a worker measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Outcome {
    /// From the recovery instant to the first success on an affected slot.
    pub(crate) lag_ms: Option<f64>,
    /// The longest time without a success on an affected slot, from the fault on.
    pub(crate) stall_ms: f64,
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
        Ok(Outcome {
            lag_ms: v["lag_ms"].as_f64(),
            stall_ms: v["stall_ms"].as_f64().unwrap_or(0.0),
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

/// One row of the table.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) scenario: Scenario,
    pub(crate) client: Client,
    /// From the fault to the recovery instant, as the cluster saw it.
    pub(crate) cluster_ms: f64,
    pub(crate) outcome: Outcome,
}

/// Runs every scenario for every client, each on a fresh cluster.
pub(crate) fn run(scenarios: &[Scenario], clients: &[Client]) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for &scenario in scenarios {
        for &client in clients {
            eprintln!("recovery: {scenario} with {client}…");
            match run_one(scenario, client) {
                Ok(row) => {
                    if let Some(e) = &row.outcome.first_error {
                        eprintln!("  first error: {e}");
                    }
                    rows.push(row);
                }
                Err(e) => eprintln!("warning: {scenario} {client}: {e}"),
            }
        }
    }
    Ok(rows)
}

fn run_one(scenario: Scenario, client: Client) -> Result<Row, String> {
    let cluster = crate::start_cluster()?;
    let primaries = cluster.primaries().map_err(|e| e.to_string())?;
    // Not the seed node: losing the only startup node is a different scenario from losing a
    // primary, and one some clients do not survive at all.
    let seed_port = crate::runner::host_port(&cluster.seed_url())?.1;
    let victim = primaries
        .iter()
        .find(|p| p.port != seed_port)
        .cloned()
        .ok_or_else(|| "the cluster has no primary besides the seed".to_owned())?;
    let heir = cluster
        .replicas()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(victim.id.as_str()))
        .ok_or_else(|| "the victim has no replica".to_owned())?;
    let slot = fred::util::redis_keyslot(TAG.as_bytes());
    let (affected, tag) = match scenario {
        Scenario::Kill | Scenario::Failover => (ranges(&victim), None),
        Scenario::Migrate => {
            fill_slot(&cluster.seed_url())?;
            (format!("{slot}-{slot}"), Some(TAG))
        }
    };

    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut command = Command::new(exe);
    command
        .arg("recovery-worker")
        .args(["--client", client.name()])
        .args(["--seed", &cluster.seed_url()])
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
    let fault = now_ns();
    tell(format!("fault {fault}"));
    let recovered = inject(&cluster, scenario, &victim, &heir, slot);
    let recovered = match recovered {
        Ok(at) => {
            tell(format!("recovered {at}"));
            Some(at)
        }
        Err(e) => {
            eprintln!("warning: {scenario} {client}: {e}");
            None
        }
    };
    // Closing stdin ends a worker that never heard of a recovery.
    drop(stdin);
    let result = lines.last().and_then(Result::ok);
    let _ = child.wait();
    let outcome = Outcome::from_json(&result.ok_or("the worker printed no result")?)?;
    Ok(Row {
        scenario,
        client,
        cluster_ms: recovered.map_or(0.0, |at| at.saturating_sub(fault) as f64 / 1e6),
        outcome,
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
        Scenario::Kill => {
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

/// Polls `port`'s `ROLE` until it says `master`; that instant is the election's.
fn watch_promotion(cluster: &LocalCluster, port: u16) -> Result<u64, String> {
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

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) => format!("{v:.0} ms"),
        None => "—".to_owned(),
    }
}

/// The markdown table.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | client | cluster recovered after | lag after recovery | longest stall \
         | errors (healthy slots) | wrong | stale | recovered |\n\
         |---|---|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for r in rows {
        let o = &r.outcome;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} |\n",
            r.scenario,
            r.client,
            ms(Some(r.cluster_ms)),
            ms(o.lag_ms),
            ms(Some(o.stall_ms)),
            o.errors,
            o.healthy_errors,
            o.wrong,
            o.stale,
            if o.recovered {
                "yes"
            } else {
                "did not recover"
            },
        ));
    }
    out
}

/// The rows as JSON.
pub(crate) fn json(rows: &[Row]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                let mut v = r.outcome.to_json();
                v["scenario"] = r.scenario.name().into();
                v["client"] = r.client.name().into();
                v["cluster_ms"] = r.cluster_ms.into();
                v
            })
            .collect(),
    )
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
}
