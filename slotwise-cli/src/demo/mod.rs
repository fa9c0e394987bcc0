//! `slotwise demo` (and `slotwise` alone): a throwaway local cluster, and a walk through
//! redis-py's clustering guide with slotwise on it, naming the node that served each command.
//!
//! This module owns the demo's life: starting the cluster (3 primaries with 1 replica each, on
//! free ports, through the test kit) behind a spinner, running the sections in order, and
//! stopping the servers at the end, after a failure, and on Ctrl-C. The sections themselves
//! live in [`nodes`] (clients, targets, `KEYS`, direct node access), [`keys`] (slots, multi-key
//! commands, replicas) and [`failover`]; how they talk is [`narrator`]'s job.
//!
//! Every "served by" the demo prints is either the node that answered (a fan-out's reply map,
//! `CLUSTER MYID`, a node's own `INFO`) or, for a keyed command, the node that owns the key's
//! slot in the client's view, which is where the client sent it.

mod failover;
mod keys;
mod narrator;
mod nodes;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

use crate::output;
use crate::Failure;
use narrator::Narrator;

/// The sections, in order; each heading is printed as `[n/8] title`.
const SECTIONS: [&str; 8] = [
    "Creating a client",
    "Key slots and hash tags",
    "Target nodes",
    "KEYS across nodes",
    "Multi-key commands",
    "Reading from replicas",
    "Direct node access",
    "Live failover",
];

/// The cluster's `cluster-node-timeout`: how long a primary may be silent before the others
/// declare it failed and its replica is elected. Redis's default is 15 s; 1 s keeps the
/// failover section short while staying well clear of false failovers on a busy machine (a node
/// would have to miss every ping for a whole second).
const NODE_TIMEOUT: Duration = Duration::from_millis(1000);

/// What every section works with.
struct Tour<'a> {
    /// The servers; shared with the blocking threads that kill a node and watch the election.
    cluster: Arc<LocalCluster>,
    /// The client the sections use, made in the first section.
    client: RedisCluster,
    /// Each node's name by its cluster node id, to say which node answered `CLUSTER MYID`.
    names_by_id: HashMap<String, String>,
    /// How the sections talk.
    say: &'a Narrator,
}

/// Runs the demo; the cluster is stopped before this returns, whatever happened.
pub(crate) fn run() -> Result<(), Failure> {
    let say = Narrator::new(SECTIONS.len());
    say.margin(
        &say.style()
            .heading("slotwise demo: a Redis Cluster client, live on a throwaway local cluster"),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    let (cluster, outcome) = runtime.block_on(session(&say));
    // Threads left waiting on a node after an interrupt must not hold the exit up.
    runtime.shutdown_background();
    if let Some(cluster) = cluster {
        teardown(&cluster, &say, outcome.is_ok());
    }
    outcome
}

/// Starts the cluster and walks through the sections, until done, failed or interrupted.
/// Hands the cluster back so the caller stops it outside the runtime.
async fn session(say: &Narrator) -> (Option<Arc<LocalCluster>>, Result<(), Failure>) {
    let started = tokio::select! {
        started = start_cluster(say) => started,
        _ = tokio::signal::ctrl_c() => {
            // The servers being started were forked to die with this process, which exits now.
            let failure = Failure::interrupted("interrupted while the cluster was starting");
            return (None, Err(failure));
        }
    };
    let cluster = match started {
        Ok(cluster) => Arc::new(cluster),
        Err(failure) => return (None, Err(failure)),
    };
    let outcome = tokio::select! {
        outcome = walk(Arc::clone(&cluster), say) => outcome,
        _ = tokio::signal::ctrl_c() => Err(Failure::interrupted("interrupted")),
    };
    (Some(cluster), outcome)
}

/// Starts 3 primaries with 1 replica each on free ports, with a spinner meanwhile.
async fn start_cluster(say: &Narrator) -> Result<LocalCluster, Failure> {
    // Short enough for an 80-column terminal: a wrapped spinner line redraws badly.
    let spinner = say.spinner("Starting a local cluster: 3 primaries, 3 replicas, free ports");
    let started = tokio::task::spawn_blocking(|| {
        LocalCluster::builder()
            .primaries(3)
            .replicas(1)
            .node_timeout(NODE_TIMEOUT)
            .start()
    })
    .await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let cluster = match started {
        Ok(Ok(cluster)) => cluster,
        // The kit's message says exactly how to install a server; add nothing to it.
        Ok(Err(e)) if e.is_server_not_found() => return Err(Failure::new(e.to_string())),
        Ok(Err(e)) => return Err(Failure::new(format!("could not start the cluster: {e}"))),
        Err(e) => return Err(Failure::new(format!("the start-up thread failed: {e}"))),
    };
    let ports: Vec<String> = cluster.ports().iter().map(u16::to_string).collect();
    say.margin(&format!(
        "Cluster ready in {}: 6 redis-server processes on 127.0.0.1, ports {}.",
        output::duration(cluster.startup_time()),
        ports.join(", ")
    ));
    Ok(cluster)
}

/// The sections, in order.
async fn walk(cluster: Arc<LocalCluster>, say: &Narrator) -> Result<(), Failure> {
    let client = nodes::creating_a_client(&cluster, say, SECTIONS[0]).await?;
    let mut tour = Tour {
        cluster,
        client,
        names_by_id: HashMap::new(),
        say,
    };
    keys::key_slots(&tour, SECTIONS[1]).await?;
    nodes::target_nodes(&mut tour, SECTIONS[2]).await?;
    nodes::keys_across_nodes(&tour, SECTIONS[3]).await?;
    keys::multi_key(&tour, SECTIONS[4]).await?;
    keys::read_from_replicas(&tour, SECTIONS[5]).await?;
    nodes::direct_access(&tour, SECTIONS[6]).await?;
    failover::live_failover(&tour, SECTIONS[7]).await?;
    Ok(())
}

/// Stops every server and deletes their files, and says so.
fn teardown(cluster: &LocalCluster, say: &Narrator, finished: bool) {
    let stopping = Instant::now();
    let stopped = cluster.stop();
    say.margin("");
    match stopped {
        Ok(()) => say.margin(&format!(
            "Stopped the cluster's servers and deleted their files in {}.",
            output::duration(stopping.elapsed())
        )),
        Err(e) => say.margin(&format!(
            "Stopping the cluster failed ({e}); its servers die with this process."
        )),
    }
    if finished {
        say.margin(&say.style().good(&format!(
            "Demo done in {}.",
            output::duration(say.elapsed())
        )));
    }
}

/// Turns any error into the demo's failure, naming the step that failed.
trait OrFail<T> {
    fn or_fail(self, step: &str) -> Result<T, Failure>;
}

impl<T, E: fmt::Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, step: &str) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(format!("the demo failed at {step}: {e}")))
    }
}

/// Runs a test-kit call (blocking: it talks to the servers over plain sockets) off the async
/// threads, naming `step` if it fails.
async fn kit<T, F>(cluster: &Arc<LocalCluster>, step: &str, call: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce(&LocalCluster) -> Result<T, slotwise_testkit::Error> + Send + 'static,
{
    let cluster = Arc::clone(cluster);
    tokio::task::spawn_blocking(move || call(&cluster))
        .await
        .or_fail(step)?
        .or_fail(step)
}

/// `node, slot N`: where a keyed command went.
fn at_slot(node: &str, key: &str) -> String {
    format!("{node}, slot {}", RedisCluster::keyslot(key))
}
