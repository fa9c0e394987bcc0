//! `slotwise-bench scale`: what a slotwise client costs on real clusters of several sizes
//! (each primary with one replica), before and between commands, and how soon it serves a
//! killed primary's slots again.
//!
//! Per cluster size, on a fresh cluster: `build()` (the median of several, each client dropped
//! before the next), the sockets the first `build()` opened (the nodes' `connected_clients`,
//! summed, before and after), the CPU the idle client uses (this process's, from `getrusage`,
//! over a window with the default settings: a topology check every 30 s), and after each
//! primary kill the time from the replica's election (its `ROLE` polled every 5 ms, as the
//! `recovery` mode polls it) to the first `GET` of a key of the killed shard, sent after the
//! kill, served; one task reads it all along.
//! Memory per node is the fake topology's measurement (`tests/cluster_connections.rs`), where
//! an allocator counts it; here the process's resident size would mostly show the runtime's
//! first use. Only slotwise: the peers' recovery at 3 shards is the `recovery` mode's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::protocol::Cmd;
use slotwise::RedisCluster;
use slotwise_testkit::{LocalCluster, NodeInfo};

use crate::measure::cpu_time;
use crate::recovery;

/// Builds timed per size.
const BUILDS: usize = 9;
/// How long a `GET` of the killed shard may wait before the round counts as not served.
const SERVE_LIMIT: Duration = Duration::from_secs(30);
/// How long the reader waits for the replica's election (node timeout 3 s, plus the vote);
/// `recovery::watch_promotion` has a bound of its own.
const ELECTION_LIMIT: Duration = Duration::from_secs(40);

/// What one cluster size measured.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) primaries: usize,
    /// The builds, sorted.
    pub(crate) builds: Vec<Duration>,
    pub(crate) sockets: u64,
    pub(crate) idle: Duration,
    pub(crate) idle_cpu: Duration,
    /// Election to served, per kill; `None` if not served within [`SERVE_LIMIT`].
    pub(crate) recoveries: Vec<Option<Duration>>,
}

/// Measures each size in `primaries`, idling `idle` and killing `kills` primaries on each.
pub(crate) fn run(primaries: &[usize], idle: Duration, kills: usize) -> Result<Vec<Row>, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    primaries
        .iter()
        .map(|&n| runtime.block_on(measure(n, idle, kills)))
        .collect()
}

async fn measure(primaries: usize, idle: Duration, kills: usize) -> Result<Row, String> {
    if kills >= primaries {
        return Err(format!(
            "--kills {kills} needs more than {kills} primaries (the seed is never killed)"
        ));
    }
    eprintln!("starting a local cluster ({primaries} primaries, {primaries} replicas)…");
    let cluster = tokio::task::spawn_blocking(move || {
        LocalCluster::builder()
            .primaries(primaries)
            .replicas(1)
            .node_timeout(Duration::from_millis(3000))
            .start()
    })
    .await
    .map_err(|e| format!("cluster start: {e}"))?
    .map_err(|e| format!("cannot start the cluster: {e}"))?;
    let cluster = Arc::new(cluster);
    let nodes = cluster.nodes().map_err(|e| e.to_string())?;
    let seed = cluster.seed_url();

    let clients_before = connected_clients(&cluster, &nodes)?;
    let client = RedisCluster::from_url(&seed)
        .await
        .map_err(|e| format!("build: {e}"))?;
    let sockets = connected_clients(&cluster, &nodes)?.saturating_sub(clients_before);

    let mut builds = Vec::with_capacity(BUILDS);
    for _ in 0..BUILDS {
        let started = Instant::now();
        let other = RedisCluster::from_url(&seed)
            .await
            .map_err(|e| format!("build: {e}"))?;
        builds.push(started.elapsed());
        drop(other);
    }
    builds.sort();

    let cpu_before = cpu_time();
    tokio::time::sleep(idle).await;
    let idle_cpu = cpu_time().saturating_sub(cpu_before);

    let mut recoveries = Vec::with_capacity(kills);
    for index in 1..=kills {
        recoveries.push(kill_and_recover(&cluster, &client, index).await?);
    }
    drop(client);
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .map_err(|e| format!("cluster stop: {e}"))?;
    Ok(Row {
        primaries,
        builds,
        sockets,
        idle,
        idle_cpu,
        recoveries,
    })
}

/// The nodes' `connected_clients`, summed (the test kit's own admin connections included, the
/// same before and after).
fn connected_clients(cluster: &LocalCluster, nodes: &[NodeInfo]) -> Result<u64, String> {
    let mut sum = 0;
    for node in nodes {
        let reply = cluster
            .call(node.port, &Cmd::new("INFO").arg("clients"))
            .map_err(|e| format!("INFO clients on {}: {e}", node.port))?;
        let text = match reply.as_bytes() {
            Some(b) => String::from_utf8_lossy(b).into_owned(),
            None => return Err(format!("INFO clients replied {reply:?}")),
        };
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("no connected_clients from {}", node.port))?;
        sum += count;
    }
    Ok(sum)
}

/// Kills the `index`-th primary (as started; not the seed), waits for its replica's election,
/// and times from it to the first `GET` of one of its keys, sent after the kill, served.
async fn kill_and_recover(
    cluster: &Arc<LocalCluster>,
    client: &RedisCluster,
    index: usize,
) -> Result<Option<Duration>, String> {
    let primaries = cluster.primaries().map_err(|e| e.to_string())?;
    let victim = primaries
        .get(index)
        .cloned()
        .ok_or_else(|| format!("no primary {index}"))?;
    let replicas = cluster.replicas().map_err(|e| e.to_string())?;
    let heir = replicas
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(victim.id.as_str()))
        .ok_or_else(|| format!("primary {} has no replica", victim.port))?;
    let slot = victim
        .slots
        .first()
        .map(|r| *r.start())
        .ok_or_else(|| format!("primary {} has no slot", victim.port))?;
    let key = key_in_slot(slot);
    client
        .set(key.as_str(), "scale")
        .await
        .map_err(|e| format!("SET {key}: {e}"))?;
    let killed = Arc::new(AtomicBool::new(false));
    // Reads the key over and over; returns when a read sent after the kill was served.
    let reader = {
        let (client, key, killed) = (client.clone(), key.clone(), Arc::clone(&killed));
        tokio::spawn(async move {
            let deadline = Instant::now() + ELECTION_LIMIT + SERVE_LIMIT;
            while Instant::now() < deadline {
                let after_kill = killed.load(Ordering::Acquire);
                let ok = client.get::<String>(key.as_str()).await.is_ok();
                if ok && after_kill {
                    return Some(recovery::now_ns());
                }
                tokio::task::yield_now().await;
            }
            None
        })
    };
    let elected = {
        let (cluster, killed) = (Arc::clone(cluster), Arc::clone(&killed));
        tokio::task::spawn_blocking(move || {
            cluster.kill(victim.port).map_err(|e| e.to_string())?;
            killed.store(true, Ordering::Release);
            recovery::watch_promotion(&cluster, heir.port)
        })
        .await
        .map_err(|e| format!("kill: {e}"))??
    };
    let served_at = reader.await.map_err(|e| format!("reader: {e}"))?;
    Ok(served_at.map(|at| Duration::from_nanos(at.saturating_sub(elected))))
}

/// A key of `slot` (its hash tag found by search).
fn key_in_slot(slot: u16) -> String {
    (0u64..)
        .map(|i| format!("{{scale-{i}}}:k"))
        .find(|k| RedisCluster::keyslot(k.as_bytes()) == slot)
        .unwrap_or_default()
}

/// The rows as a markdown table.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| Primaries × 1 replica | `build()`, median (min–max) | sockets opened by `build()` | idle CPU per minute | election → served, per kill |\n|--:|--:|--:|--:|--|\n",
    );
    for row in rows {
        let median = row.builds[row.builds.len() / 2];
        let (min, max) = (row.builds[0], row.builds[row.builds.len() - 1]);
        let per_minute =
            row.idle_cpu.as_secs_f64() * 60.0 / row.idle.as_secs_f64().max(f64::EPSILON);
        let recoveries: Vec<String> = row
            .recoveries
            .iter()
            .map(|r| match r {
                Some(d) => format!("{:.1} ms", d.as_secs_f64() * 1e3),
                None => "not served".to_owned(),
            })
            .collect();
        out.push_str(&format!(
            "| {} | {:.1} ms ({:.1}–{:.1}) | {} | {:.1} ms | {} |\n",
            row.primaries,
            median.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            row.sockets,
            per_minute * 1e3,
            recoveries.join(", "),
        ));
    }
    out
}
