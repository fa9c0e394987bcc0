//! The probes behind the zone- and latency-aware read strategies: a background task that,
//! every `latency_probe_interval`, connects to the nodes of the current snapshot that have no
//! open socket (so their zone is learned from the handshake) and, for
//! [`ReadFrom::LowestLatency`], times a `PING` to every node.
//!
//! Why `PING`s of its own rather than timing the replies already flowing: a node that reads
//! have left gets no traffic, so only a probe can tell when it is fast again; and a reply's time
//! includes the command's own work (an `MGET` of a thousand keys), which is not the node's
//! distance. The `PING` goes on the connection commands use, so it waits behind their requests
//! as a read would. One `PING` per node per second is nothing next to the traffic it steers.
//!
//! The task holds the client weakly and ends with it. This module decides nothing: the choice
//! is in `latency` and the strategy's `pick`.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use super::ReadFrom;
use crate::cluster::node::NodeEntry;
use crate::cluster::preconnect::PRECONNECT_CONCURRENCY;
use crate::cluster::Inner;
use crate::error::ErrorKind;
use crate::protocol::Cmd;

/// The shortest wait for a probe's reply, whatever the interval: a node this slow is measured
/// as this slow.
const MIN_TIMEOUT: Duration = Duration::from_millis(100);

/// What the probes of a strategy do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probes {
    /// Open a socket to every node that has none, to learn its zone.
    Connect,
    /// That, and time a `PING` to every node.
    Latency,
}

impl Probes {
    /// The probes `read_from` needs, if any.
    pub(crate) fn of(read_from: &ReadFrom) -> Option<Probes> {
        match read_from {
            ReadFrom::LowestLatency => Some(Probes::Latency),
            r if r.needs_zones() => Some(Probes::Connect),
            _ => None,
        }
    }
}

/// Runs one round of `probes` on every node of the current snapshot, as many at once as
/// `build` preconnects: a first round on a cluster of thousands of nodes opens its sockets in
/// waves, not in one burst against the file descriptor limit and the nodes' accept queues.
pub(crate) async fn round(inner: &Inner, probes: Probes) {
    let snapshot = inner.topology.snapshot();
    let waits = Waits {
        // Connecting is bounded by the connect timeout within this.
        connect: inner.settings.connection.response_timeout,
        reply: timeout(inner),
    };
    let nodes: Vec<Arc<NodeEntry>> = snapshot.all().cloned().collect();
    // Owned entries and a plain collect: with a stream of borrowed entries, the compiler
    // cannot prove the spawned probe task's future `Send` (a limit of its lifetime inference).
    stream::iter(nodes)
        .map(|e| async move { probe(&e, probes, waits).await })
        .buffer_unordered(PRECONNECT_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

/// How long a probe waits.
#[derive(Clone, Copy)]
struct Waits {
    /// To open a socket (and hear the node's zone).
    connect: Duration,
    /// For the reply to a timed `PING`.
    reply: Duration,
}

async fn probe(entry: &NodeEntry, probes: Probes, waits: Waits) {
    let ping = Cmd::new("PING");
    if !entry.conn.is_connected() {
        // Connecting greets the node, which tells its zone; the connect is not timed.
        if let Err(e) = entry.conn.send_within(&ping, waits.connect).await {
            tracing::debug!(node = entry.node.name(), error = %e, "read probe could not connect");
            entry.latency.forget();
            return;
        }
    }
    if probes != Probes::Latency {
        return;
    }
    let started = Instant::now();
    match entry.conn.send_within(&ping, waits.reply).await {
        Ok(_) => entry.latency.record(started.elapsed()),
        // As slow as the wait: slower than any node that answered.
        Err(e) if e.kind() == ErrorKind::Timeout => entry.latency.record(started.elapsed()),
        Err(e) => {
            tracing::debug!(node = entry.node.name(), error = %e, "latency probe failed");
            entry.latency.forget();
        }
    }
}

/// How long a timed `PING` waits for its reply.
fn timeout(inner: &Inner) -> Duration {
    let settings = &inner.settings;
    settings
        .latency_probe_interval
        .max(MIN_TIMEOUT)
        .min(settings.connection.response_timeout)
}

/// Starts the probes of the client's strategy, if it needs any, every `latency_probe_interval`.
pub(crate) fn spawn(inner: &Arc<Inner>, probes: Probes) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let interval = inner.settings.latency_probe_interval;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            round(&inner, probes).await;
        }
    });
}
