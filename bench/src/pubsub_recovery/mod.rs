//! The pub/sub recovery comparison: how long each client's subscriptions go deaf when the node
//! they sit on is killed or fails over, or when a sharded channel's slot migrates, and how many
//! messages they lose for it.
//!
//! `--runs` times, for every scenario, every subscription kind and every client, this module
//! starts a fresh cluster (3 primaries × 1 replica, 2 s node timeout) and a worker process for
//! the client (see [`worker`]). The worker subscribes to [`CHANNELS`] channels of the kind with
//! the client under test, and a publisher beside it (a slotwise client on a thread and runtime
//! of its own) publishes a numbered message on every channel every [`worker::PERIOD`]. When
//! every channel has delivered, this module picks what the fault hits and tells the worker
//! which channels that affects:
//!
//! - *sharded*: the channels are spread evenly over the three primaries; `kill` and `failover`
//!   hit a primary other than the seed, and the channels in its slots are affected; `migrate`
//!   moves the slot of the channels tagged `{psr}` (a third of them) to another primary;
//! - *classic* and *pattern*: the node holding most of the client's subscriptions (asked with
//!   `PUBSUB CHANNELS` / `PUBSUB NUMPAT` on every node) is the one the fault hits, and the
//!   channels it holds are affected. A killed replica needs no election: its recovery instant
//!   is the kill. `failover` promotes its replica (or, for a replica, the node itself);
//!   `migrate` moves one of its shard's slots away, which a classic subscription does not feel.
//!
//! The worker then measures, on the affected channels:
//!
//! - *deaf*: the longest time between two messages received on one channel, from the last
//!   message before the fault on; the cluster's own outage is inside it (for a kill, the
//!   election: no node accepts a sharded publish for those slots until it is over);
//! - *after recovery*: from the recovery instant (the promotion, the migration's end) to the
//!   first message published after it that reached the channel, the slowest channel's;
//! - *lost*: messages the server accepted (the publish returned) after the fault that never
//!   arrived; *duplicates*: messages received twice;
//! - *channels lost*: affected channels that delivered nothing published after the recovery
//!   before the worker gave up ([`worker::RECOVERY_CAP`]).

mod table;
pub(crate) mod worker;

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;

use slotwise::protocol::{Cmd, Value};
use slotwise_testkit::{LocalCluster, NodeInfo, Role};

use crate::recovery::{now_ns, watch_promotion, watch_settled, Scenario};
use crate::workload::Client;

pub(crate) use table::{json, markdown};

/// Channels each worker subscribes to.
pub(crate) const CHANNELS: usize = 12;
/// The hash tag of the channels whose slot the `migrate` scenario moves.
const TAG: &str = "psr";

/// The kind of subscription under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// `SUBSCRIBE` / `PUBLISH`.
    Classic,
    /// `PSUBSCRIBE` (one pattern per channel) / `PUBLISH`.
    Pattern,
    /// `SSUBSCRIBE` / `SPUBLISH`.
    Sharded,
}

impl Kind {
    /// Every kind, in table order.
    pub(crate) const ALL: [Kind; 3] = [Kind::Classic, Kind::Pattern, Kind::Sharded];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Classic => "classic",
            Kind::Pattern => "pattern",
            Kind::Sharded => "sharded",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown subscription kind {s:?} (classic, pattern, sharded)"))
    }
}

/// What a worker measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Outcome {
    /// Affected channels.
    pub(crate) affected: u64,
    /// The longest gap between two messages on an affected channel, from the fault on.
    pub(crate) deaf_ms: Option<f64>,
    /// From the recovery instant to the slowest affected channel's first message published
    /// after it; `None` if one never delivered or the cluster did not recover.
    pub(crate) after_recovery_ms: Option<f64>,
    /// Messages accepted after the fault on affected channels that never arrived.
    pub(crate) lost: u64,
    /// The same on the other channels.
    pub(crate) healthy_lost: u64,
    pub(crate) duplicates: u64,
    /// Affected channels that delivered nothing published after the recovery.
    pub(crate) channels_lost: u64,
    /// Publishes the server accepted after the fault, on every channel.
    pub(crate) published: u64,
    /// How many of those arrived.
    pub(crate) received: u64,
}

impl Outcome {
    /// The JSON line a worker prints.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "affected": self.affected,
            "deaf_ms": self.deaf_ms,
            "after_recovery_ms": self.after_recovery_ms,
            "lost": self.lost,
            "healthy_lost": self.healthy_lost,
            "duplicates": self.duplicates,
            "channels_lost": self.channels_lost,
            "published": self.published,
            "received": self.received,
        })
    }

    /// Reads what [`Outcome::to_json`] wrote.
    fn from_json(text: &str) -> Result<Outcome, String> {
        let v: serde_json::Value =
            serde_json::from_str(text.trim()).map_err(|e| format!("bad worker output: {e}"))?;
        let u = |name: &str| v[name].as_u64().unwrap_or(0);
        Ok(Outcome {
            affected: u("affected"),
            deaf_ms: v["deaf_ms"].as_f64(),
            after_recovery_ms: v["after_recovery_ms"].as_f64(),
            lost: u("lost"),
            healthy_lost: u("healthy_lost"),
            duplicates: u("duplicates"),
            channels_lost: u("channels_lost"),
            published: u("published"),
            received: u("received"),
        })
    }
}

/// One run of one scenario × kind with one client.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) run: usize,
    pub(crate) scenario: Scenario,
    pub(crate) kind: Kind,
    pub(crate) client: Client,
    /// From the fault to the recovery instant; `None` if the cluster did not recover.
    pub(crate) cluster_ms: Option<f64>,
    /// The port the fault hit.
    pub(crate) victim: u16,
    pub(crate) outcome: Outcome,
}

/// Runs every scenario × kind for every client `runs` times, each on a fresh cluster.
pub(crate) fn run(
    scenarios: &[Scenario],
    kinds: &[Kind],
    clients: &[Client],
    runs: usize,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for run in 1..=runs {
        for &scenario in scenarios {
            for &kind in kinds {
                for &client in clients {
                    eprintln!(
                        "pubsub-recovery: run {run}/{runs}, {scenario} {kind} with {client}…"
                    );
                    match run_one(scenario, kind, client, run) {
                        Ok(row) => rows.push(row),
                        Err(e) => eprintln!("warning: run {run}, {scenario} {kind} {client}: {e}"),
                    }
                }
            }
        }
    }
    rows
}

/// The channel names: [`CHANNELS`] of them, a third on each primary for the sharded kind
/// (the first third tagged `{psr}`, so they share one slot), any names for the others.
fn channel_names(cluster: &LocalCluster, kind: Kind) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = (0..CHANNELS / 3)
        .map(|i| format!("{{{TAG}}}:{i}"))
        .collect();
    if kind != Kind::Sharded {
        names.extend((names.len()..CHANNELS).map(|i| format!("psr:ch{i}")));
        return Ok(names);
    }
    let primaries = cluster.primaries().map_err(|e| e.to_string())?;
    let owner = |name: &str| -> Result<u16, String> {
        let slot = cluster.slot_of_key(name).map_err(|e| e.to_string())?;
        primaries
            .iter()
            .find(|p| p.slots.iter().any(|r| r.contains(&slot)))
            .map(|p| p.port)
            .ok_or_else(|| format!("no primary serves slot {slot}"))
    };
    let tagged_owner = owner(&names[0])?;
    let per_node = CHANNELS / primaries.len().max(1);
    let mut counts: Vec<(u16, usize)> = primaries.iter().map(|p| (p.port, 0)).collect();
    if let Some(c) = counts.iter_mut().find(|c| c.0 == tagged_owner) {
        c.1 = names.len();
    }
    let mut i = 0;
    while names.len() < CHANNELS && i < 10_000 {
        let name = format!("psr:ch{i}");
        let port = owner(&name)?;
        if let Some(c) = counts.iter_mut().find(|c| c.0 == port && c.1 < per_node) {
            c.1 += 1;
            names.push(name);
        }
        i += 1;
    }
    Ok(names)
}

fn run_one(scenario: Scenario, kind: Kind, client: Client, run: usize) -> Result<Row, String> {
    let cluster = crate::start_cluster()?;
    let seed = cluster.seed_url();
    let names = channel_names(&cluster, kind)?;

    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut child = Command::new(exe)
        .arg("pubsub-recovery-worker")
        .args(["--client", client.name()])
        .args(["--seed", &seed])
        .args(["--kind", kind.name()])
        .args(["--channels", &names.join(",")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the worker: {e}"))?;
    let mut stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().ok_or("no worker stdout")?).lines();
    if lines.next().and_then(Result::ok).as_deref() != Some("ready") {
        let _ = child.wait();
        return Err("the worker did not start".to_owned());
    }
    let mut tell = |line: String| {
        if let Some(pipe) = stdin.as_mut() {
            let _ = writeln!(pipe, "{line}").and_then(|()| pipe.flush());
        }
    };

    let plan = plan(&cluster, scenario, kind, &names);
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            drop(stdin);
            let _ = child.wait();
            return Err(e);
        }
    };
    let affected: Vec<String> = plan.affected.iter().map(usize::to_string).collect();
    tell(format!("affected {}", affected.join(",")));
    let fault = now_ns();
    tell(format!("fault {fault}"));
    let recovered = match inject(&cluster, scenario, &plan) {
        Ok(at) => {
            tell(format!("recovered {at}"));
            Some(at)
        }
        Err(e) => {
            eprintln!("warning: run {run}, {scenario} {kind} {client}: {e}");
            None
        }
    };
    if recovered.is_some() && scenario.has_outage() {
        if let Err(e) = watch_settled(&cluster) {
            eprintln!("warning: run {run}, {scenario} {kind} {client}: {e}");
        }
    }
    drop(stdin);
    let result = lines.last().and_then(Result::ok);
    let _ = child.wait();
    let outcome = Outcome::from_json(&result.ok_or("the worker printed no result")?)?;
    Ok(Row {
        run,
        scenario,
        kind,
        client,
        cluster_ms: recovered.map(|at| at.saturating_sub(fault) as f64 / 1e6),
        victim: plan.victim.port,
        outcome,
    })
}

/// What the fault hits.
struct Plan {
    victim: NodeInfo,
    /// The victim's replica (for a primary victim), which takes over.
    heir: Option<NodeInfo>,
    /// For `migrate`: the slot moved and the primary it goes to.
    slot: u16,
    /// Indices into the channel names.
    affected: Vec<usize>,
}

fn plan(
    cluster: &LocalCluster,
    scenario: Scenario,
    kind: Kind,
    names: &[String],
) -> Result<Plan, String> {
    let seed_port = crate::runner::host_port(&cluster.seed_url())?.1;
    let nodes = cluster.nodes().map_err(|e| e.to_string())?;
    let primaries: Vec<&NodeInfo> = nodes.iter().filter(|n| n.role == Role::Primary).collect();
    let tag_slot = cluster.slot_of_key(&names[0]).map_err(|e| e.to_string())?;
    let (victim, affected) = match kind {
        Kind::Sharded => {
            let victim = match scenario {
                Scenario::Migrate => primaries
                    .iter()
                    .find(|p| p.slots.iter().any(|r| r.contains(&tag_slot))),
                Scenario::KillSeed => primaries.iter().find(|p| p.port == seed_port),
                _ => primaries.iter().find(|p| p.port != seed_port),
            }
            .map(|p| (*p).clone())
            .ok_or("no primary to hit")?;
            let mut affected = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let slot = cluster.slot_of_key(name).map_err(|e| e.to_string())?;
                let hit = match scenario {
                    Scenario::Migrate => slot == tag_slot,
                    _ => victim.slots.iter().any(|r| r.contains(&slot)),
                };
                if hit {
                    affected.push(i);
                }
            }
            (victim, affected)
        }
        Kind::Classic | Kind::Pattern => {
            // Where the client put its subscriptions, as the nodes themselves say.
            let mut best: Option<(&NodeInfo, Vec<usize>)> = None;
            for node in &nodes {
                let held = held_by(cluster, node.port, kind, names)?;
                if best.as_ref().is_none_or(|(_, b)| held.len() > b.len()) {
                    best = Some((node, held));
                }
            }
            let (node, held) = best.ok_or("the cluster has no nodes")?;
            if held.is_empty() {
                return Err("no node holds the client's subscriptions".to_owned());
            }
            (node.clone(), held)
        }
    };
    let heir = match victim.role {
        Role::Primary => nodes
            .iter()
            .find(|n| n.primary_id.as_deref() == Some(victim.id.as_str()))
            .cloned(),
        Role::Replica => None,
    };
    let slot = match (kind, victim.role) {
        (Kind::Sharded, _) => tag_slot,
        (_, Role::Primary) => victim.slots.first().map_or(0, |r| *r.start()),
        (_, Role::Replica) => nodes
            .iter()
            .find(|n| Some(n.id.as_str()) == victim.primary_id.as_deref())
            .and_then(|p| p.slots.first())
            .map_or(0, |r| *r.start()),
    };
    Ok(Plan {
        victim,
        heir,
        slot,
        affected,
    })
}

/// Which of `names` node `port` holds a subscription of the client to.
fn held_by(
    cluster: &LocalCluster,
    port: u16,
    kind: Kind,
    names: &[String],
) -> Result<Vec<usize>, String> {
    let listed = match kind {
        Kind::Classic => cluster.call(port, &Cmd::new("PUBSUB").arg("CHANNELS")),
        // A pattern subscription is named by its pattern; `PUBSUB NUMSUB` does not see it, so
        // the node is asked for its clients' pattern counts instead.
        _ => cluster.call(port, &Cmd::new("CLIENT").arg("LIST")),
    }
    .map_err(|e| format!("asking {port} for its subscriptions: {e}"))?;
    let text = |v: &Value| {
        v.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    match kind {
        Kind::Classic => {
            let Value::Array(items) = listed else {
                return Err(format!("{port}: PUBSUB CHANNELS did not return a list"));
            };
            let held: Vec<String> = items.iter().filter_map(text).collect();
            Ok((0..names.len())
                .filter(|&i| held.contains(&names[i]))
                .collect())
        }
        _ => {
            let list = text(&listed).unwrap_or_default();
            let patterns: usize = list
                .lines()
                .filter_map(|line| {
                    line.split(' ')
                        .find_map(|field| field.strip_prefix("psub="))
                        .and_then(|n| n.parse::<usize>().ok())
                })
                .sum();
            // All of one client's patterns sit on one socket: the node holding them holds all.
            Ok(if patterns >= names.len() {
                (0..names.len()).collect()
            } else {
                Vec::new()
            })
        }
    }
}

/// Injects the fault and returns the instant (unix ns) the cluster recovered.
fn inject(cluster: &LocalCluster, scenario: Scenario, plan: &Plan) -> Result<u64, String> {
    match scenario {
        Scenario::Kill | Scenario::KillSeed => {
            cluster.kill(plan.victim.port).map_err(|e| e.to_string())?;
            match &plan.heir {
                Some(heir) => watch_promotion(cluster, heir.port),
                None => Ok(now_ns()),
            }
        }
        Scenario::Failover => {
            let promoted = match &plan.heir {
                Some(heir) => heir.port,
                None => plan.victim.port,
            };
            cluster
                .call(promoted, &Cmd::new("CLUSTER").arg("FAILOVER"))
                .map_err(|e| format!("CLUSTER FAILOVER: {e}"))?;
            watch_promotion(cluster, promoted)
        }
        Scenario::Migrate => {
            let owner = cluster
                .node_for_slot(plan.slot)
                .map_err(|e| e.to_string())?;
            let target = cluster
                .other_primary(owner.port)
                .map_err(|e| e.to_string())?;
            let mut migration = cluster
                .begin_migration(plan.slot, target.port)
                .map_err(|e| format!("begin migration: {e}"))?;
            while migration
                .move_keys(500)
                .map_err(|e| format!("moving keys: {e}"))?
                > 0
            {}
            migration.finish().map_err(|e| format!("finish: {e}"))?;
            Ok(now_ns())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_round_trips() {
        let o = Outcome {
            affected: 4,
            deaf_ms: Some(2100.5),
            after_recovery_ms: Some(12.0),
            lost: 3,
            healthy_lost: 0,
            duplicates: 1,
            channels_lost: 0,
            published: 1000,
            received: 990,
        };
        assert_eq!(Outcome::from_json(&o.to_json().to_string()).unwrap(), o);
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(kind.name().parse::<Kind>().unwrap(), kind);
        }
        assert!("shard".parse::<Kind>().is_err());
    }
}
