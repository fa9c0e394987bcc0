//! What a node's connections measure: requests, replies, errors by kind, redirections received,
//! reconnects and request latency, counted in one [`Meter`] per node that every connection to
//! that node (the shared one, blocking commands' own, a watch's) records into.
//!
//! The multiplexer records where it already is: a request is counted when it is queued, under
//! the lock it takes anyway, and its latency when its reply is read, from the time it was queued
//! (taken for its deadline) to the time the read returned (taken to tell a silent socket), so
//! measuring reads no clock of its own. Counters are relaxed atomic adds; replies read together
//! are counted with one add. With the `metrics` feature the same is recorded into the `metrics`
//! facade too (see `facade`); without it none of that is compiled.
//!
//! This module does not keep meters of several nodes nor decide when one is dropped: the
//! cluster's registry does (`cluster/node.rs`), and `Stats` (`cluster/stats.rs`) adds them up.

#[cfg(feature = "metrics")]
mod facade;
mod histogram;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub(crate) use histogram::Counts;
pub use histogram::Latency;

use crate::error::ErrorKind;

/// Kinds of failure counted apart, as [`ErrorCounts`] shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Server,
    Refused,
    Timeout,
    Io,
    Connect,
    Overloaded,
}

impl Family {
    const ALL: [Family; 6] = [
        Family::Server,
        Family::Refused,
        Family::Timeout,
        Family::Io,
        Family::Connect,
        Family::Overloaded,
    ];

    /// The family of a request's failure; `None` for a redirection, counted apart.
    fn of(kind: ErrorKind) -> Option<Family> {
        Some(match kind {
            ErrorKind::Moved | ErrorKind::Ask => return None,
            ErrorKind::TryAgain
            | ErrorKind::ClusterDown
            | ErrorKind::MasterDown
            | ErrorKind::Loading
            | ErrorKind::ReadOnly => Family::Refused,
            ErrorKind::Timeout => Family::Timeout,
            ErrorKind::Io | ErrorKind::Protocol | ErrorKind::Closed => Family::Io,
            ErrorKind::Overloaded => Family::Overloaded,
            _ => Family::Server,
        })
    }

    /// The `kind` label of the `metrics` facade.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn label(self) -> &'static str {
        match self {
            Family::Server => "server",
            Family::Refused => "refused",
            Family::Timeout => "timeout",
            Family::Io => "io",
            Family::Connect => "connect",
            Family::Overloaded => "overloaded",
        }
    }
}

/// The live counters of one node.
pub(crate) struct Meter {
    /// Commands queued on the node's connections.
    requests: AtomicU64,
    /// Commands whose replies came, or that will never get one (their socket closed).
    answered: AtomicU64,
    moved: AtomicU64,
    ask: AtomicU64,
    reconnects: AtomicU64,
    errors: [AtomicU64; Family::ALL.len()],
    latency: histogram::Histogram,
    #[cfg(feature = "metrics")]
    facade: Option<facade::NodeMetrics>,
}

impl Meter {
    /// A node's meter, also recording into the `metrics` facade (with that feature) under the
    /// node's name.
    pub(crate) fn new(node: &str) -> Arc<Meter> {
        #[cfg(not(feature = "metrics"))]
        let _ = node;
        Arc::new(Meter {
            #[cfg(feature = "metrics")]
            facade: Some(facade::NodeMetrics::new(node)),
            ..Meter::blank()
        })
    }

    /// A meter nobody reads, for a socket that is not one of a node's (a subscriber).
    pub(crate) fn detached() -> Arc<Meter> {
        Arc::new(Meter::blank())
    }

    fn blank() -> Meter {
        Meter {
            requests: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            moved: AtomicU64::new(0),
            ask: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: histogram::Histogram::new(),
            #[cfg(feature = "metrics")]
            facade: None,
        }
    }

    /// `n` commands were queued.
    #[inline]
    pub(crate) fn sent(&self, n: u64) {
        self.requests.fetch_add(n, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if let Some(f) = &self.facade {
            f.sent(n);
        }
    }

    /// `n` commands left the in-flight count: answered, or failed with their socket.
    #[inline]
    pub(crate) fn answered(&self, n: u64) {
        self.answered.fetch_add(n, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if let Some(f) = &self.facade {
            f.answered(n);
        }
    }

    /// A request got its replies `nanos` after it was queued.
    #[inline]
    pub(crate) fn timed(&self, nanos: u64) {
        self.latency.record(nanos);
        #[cfg(feature = "metrics")]
        if let Some(f) = &self.facade {
            f.timed(nanos);
        }
    }

    /// The node answered a command with an error reply whose code is `code`.
    #[cold]
    pub(crate) fn error_reply(&self, code: &str) {
        self.failed(ErrorKind::of_code(code));
    }

    /// A request failed with an error of `kind`: a redirection, or an error of its family.
    #[cold]
    pub(crate) fn failed(&self, kind: ErrorKind) {
        match Family::of(kind) {
            Some(family) => self.count(family),
            None => {
                let moved = kind == ErrorKind::Moved;
                let counter = if moved { &self.moved } else { &self.ask };
                counter.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                if let Some(f) = &self.facade {
                    f.redirect(moved);
                }
            }
        }
    }

    /// An attempt to connect failed.
    #[cold]
    pub(crate) fn connect_failed(&self) {
        self.count(Family::Connect);
    }

    /// A connection that had been open was opened again.
    #[cold]
    pub(crate) fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if let Some(f) = &self.facade {
            f.reconnected();
        }
    }

    fn count(&self, family: Family) {
        self.errors[family as usize].fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if let Some(f) = &self.facade {
            f.failed(family);
        }
    }

    /// A copy of the counters, with the latency histogram's counts for adding up nodes.
    pub(crate) fn read(&self) -> (NodeStats, Counts) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        // Answered first: it never passes requests, which only grow, so in flight is never
        // made negative by a request counted between the two loads.
        let answered = get(&self.answered);
        let requests = get(&self.requests);
        let error = |f: Family| get(&self.errors[f as usize]);
        let counts = self.latency.read();
        let stats = NodeStats {
            requests,
            in_flight: requests.saturating_sub(answered),
            errors: ErrorCounts {
                server: error(Family::Server),
                refused: error(Family::Refused),
                timeouts: error(Family::Timeout),
                io: error(Family::Io),
                connect: error(Family::Connect),
                overloaded: error(Family::Overloaded),
            },
            moved: get(&self.moved),
            ask: get(&self.ask),
            reconnects: get(&self.reconnects),
            latency: counts.latency(),
        };
        (stats, counts)
    }
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Meter").field(&self.read().0).finish()
    }
}

/// What the client saw of one node (or, from [`Stats::total`](crate::Stats::total), of all),
/// from [`RedisCluster::stats`](crate::RedisCluster::stats) or
/// [`RedisCluster::node_stats`](crate::RedisCluster::node_stats).
///
/// Counted on every connection of the client to the node: the shared one, those of blocking
/// commands and watches, and the client's own discovery requests. Pub/sub sockets are not
/// counted. The counts start when the node first appears to the client and are dropped with it
/// when a topology no longer lists it.
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) {
/// for (node, stats) in cluster.stats().nodes() {
///     println!(
///         "{node}: {} requests, {} errors, p99 {:?}",
///         stats.requests,
///         stats.errors.total(),
///         stats.latency.p99
///     );
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Commands sent (queued on a connection to the node); each command of a pipeline or
    /// transaction counts.
    pub requests: u64,
    /// Commands sent whose replies have not come yet.
    pub in_flight: u64,
    /// Failed requests by kind of failure.
    pub errors: ErrorCounts,
    /// `MOVED` replies received from the node.
    pub moved: u64,
    /// `ASK` replies received from the node.
    pub ask: u64,
    /// Times a connection to the node that had been open was opened again.
    pub reconnects: u64,
    /// Request latency percentiles.
    pub latency: Latency,
}

impl NodeStats {
    /// Adds `other`'s counts (not the latency, which does not add up) to these.
    pub(crate) fn add_counts(&mut self, other: &NodeStats) {
        self.requests += other.requests;
        self.in_flight += other.in_flight;
        self.moved += other.moved;
        self.ask += other.ask;
        self.reconnects += other.reconnects;
        let (to, from) = (&mut self.errors, &other.errors);
        to.server += from.server;
        to.refused += from.refused;
        to.timeouts += from.timeouts;
        to.io += from.io;
        to.connect += from.connect;
        to.overloaded += from.overloaded;
    }
}

/// Failed requests to a node by kind of failure; redirections are counted apart
/// ([`NodeStats::moved`], [`NodeStats::ask`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorCounts {
    /// Error replies about the command itself: `ERR`, `WRONGTYPE`, `NOSCRIPT`, `CROSSSLOT`,
    /// `NOAUTH` … ([`ErrorKind::Response`] and the other command errors).
    pub server: u64,
    /// Error replies refusing for the node's or cluster's state: `TRYAGAIN`, `CLUSTERDOWN`,
    /// `MASTERDOWN`, `LOADING`, `READONLY`.
    pub refused: u64,
    /// Requests that got no reply within the response timeout.
    pub timeouts: u64,
    /// Requests failed by a lost connection (reset, closed, bytes that are not RESP).
    pub io: u64,
    /// Failed attempts to connect (or reconnect) to the node.
    pub connect: u64,
    /// Requests refused before they were queued because too much already waited on the
    /// connection ([`ErrorKind::Overloaded`]).
    pub overloaded: u64,
}

impl ErrorCounts {
    /// Every failure counted.
    pub fn total(&self) -> u64 {
        self.server + self.refused + self.timeouts + self.io + self.connect + self.overloaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_family_and_redirections_apart() {
        let meter = Meter::detached();
        meter.error_reply("MOVED");
        meter.error_reply("ASK");
        meter.error_reply("ASK");
        meter.error_reply("WRONGTYPE");
        meter.error_reply("ERR");
        meter.error_reply("LOADING");
        meter.failed(ErrorKind::Timeout);
        meter.failed(ErrorKind::Io);
        meter.failed(ErrorKind::Closed);
        meter.failed(ErrorKind::Overloaded);
        meter.connect_failed();
        let (stats, _) = meter.read();
        assert_eq!((stats.moved, stats.ask), (1, 2));
        let e = stats.errors;
        assert_eq!(e.server, 2, "{e:?}");
        assert_eq!(e.refused, 1, "{e:?}");
        assert_eq!(e.timeouts, 1, "{e:?}");
        assert_eq!(e.io, 2, "{e:?}");
        assert_eq!(e.overloaded, 1, "{e:?}");
        assert_eq!(e.connect, 1, "{e:?}");
        assert_eq!(e.total(), 8);
    }

    #[test]
    fn in_flight_is_what_was_sent_and_not_answered() {
        let meter = Meter::detached();
        meter.sent(5);
        meter.answered(3);
        meter.timed(1_000);
        let (stats, counts) = meter.read();
        assert_eq!((stats.requests, stats.in_flight), (5, 2));
        assert_eq!(stats.latency.count, 1);
        assert_eq!(counts.count(), 1);
        let mut total = NodeStats::default();
        total.add_counts(&stats);
        total.add_counts(&stats);
        assert_eq!((total.requests, total.in_flight), (10, 4));
    }
}
