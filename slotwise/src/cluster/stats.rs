//! Counters of what the client did to keep commands flowing (redirections followed, retries by
//! cause, topology refreshes), and [`Stats`], their copy with every node's own counts
//! ([`NodeStats`]: requests, errors, redirections received, reconnects, in flight, latency).
//!
//! Every path that meets a redirection or retries (single commands, pipelines, split commands,
//! transactions, watches, pub/sub) counts through the same methods of the dispatcher. Counting
//! is a relaxed atomic add on paths that are already slow (a redirection, a retry), so it costs
//! nothing on the path of a command that succeeds at once. Nodes' counts are kept by their
//! connections (`connection/meter.rs`); this module only adds them up.
//!
//! With the `metrics` feature the counters here are recorded into the `metrics` facade too:
//! `slotwise_redirects_followed_total{kind}` (`moved`, `ask`),
//! `slotwise_retries_total{cause}` (`try_again`, `cluster_down`, `loading`, `readonly`, `io`)
//! and `slotwise_topology_refreshes_total`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::cache::{CacheStats, NodeCounts};
use crate::connection::meter::{Counts, Meter, NodeStats};

/// A copy of a client's counters, from [`RedisCluster::stats`](super::RedisCluster::stats): what
/// it did to keep commands flowing, and what it saw of each node.
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) {
/// let stats = cluster.stats();
/// println!("{} MOVED followed, {} refreshes", stats.moved, stats.refreshes);
/// let total = stats.total();
/// println!("{} requests, p99 {:?}", total.requests, total.latency.p99);
/// for (node, s) in stats.nodes() {
///     println!("{node}: {} requests, {} in flight", s.requests, s.in_flight);
/// }
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// `MOVED` redirections followed.
    pub moved: u64,
    /// `ASK` redirections followed (or, by a [`Watch`](crate::Watch), waited out).
    pub ask: u64,
    /// Retries after `TRYAGAIN`.
    pub try_again: u64,
    /// Retries after `CLUSTERDOWN` or `MASTERDOWN`.
    pub cluster_down: u64,
    /// Retries after `LOADING` (a node loading its data set).
    pub loading: u64,
    /// Retries after `READONLY` (a write reached a node that had turned replica).
    pub readonly: u64,
    /// Retries after a lost connection or a timeout.
    pub io_retries: u64,
    /// Full topology refreshes completed.
    pub refreshes: u64,
    /// What the client-side cache did; all zero when it is off. Each node's share is in
    /// [`cache_nodes`](Self::cache_nodes).
    pub cache: CacheStats,
    nodes: BTreeMap<String, NodeStats>,
    cache_nodes: BTreeMap<String, CacheStats>,
    total: NodeStats,
}

impl Stats {
    /// Each node's counts, by name (`host:port`), in name order: the nodes the client knows
    /// now. A node that left the topology is dropped with its counts.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &NodeStats)> {
        self.nodes
            .iter()
            .map(|(name, stats)| (name.as_str(), stats))
    }

    /// The counts of the node named `host:port`, if the client knows it.
    pub fn node(&self, name: &str) -> Option<&NodeStats> {
        self.nodes.get(name)
    }

    /// Every node's counts added up, with the latency percentiles of all their requests
    /// together: the sum of [`nodes`](Self::nodes), so it goes down when a node is dropped.
    pub fn total(&self) -> &NodeStats {
        &self.total
    }

    /// Each node's share of the client-side cache's counts, by name, in name order (none with
    /// the cache off): hits served from replies read through the node, cacheable reads sent
    /// to it for want of one (retries included), its invalidations (one per key, and one per
    /// flush of everything read through a connection to it: a lost socket, its slots moved
    /// away), evictions of its entries, and the entries and bytes held now.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) {
    /// for (node, cache) in cluster.stats().cache_nodes() {
    ///     println!("{node}: {} hits, {} entries", cache.hits, cache.entries);
    /// }
    /// # }
    /// ```
    pub fn cache_nodes(&self) -> impl Iterator<Item = (&str, &CacheStats)> {
        self.cache_nodes.iter().map(|(name, s)| (name.as_str(), s))
    }

    /// The client-side cache's counts of the node named `host:port`, if it has any.
    pub fn cache_node(&self, name: &str) -> Option<&CacheStats> {
        self.cache_nodes.get(name)
    }

    /// These counters with `counts`' nodes' shares of the cache.
    pub(crate) fn with_cache_nodes(mut self, counts: Vec<(Arc<str>, Arc<NodeCounts>)>) -> Stats {
        for (name, counts) in counts {
            self.cache_nodes.insert(name.to_string(), counts.read());
        }
        self
    }

    /// These counters with `meters`' nodes and their total.
    pub(crate) fn with_nodes(mut self, meters: Vec<(Arc<str>, Arc<Meter>)>) -> Stats {
        let mut latency = Counts::default();
        for (name, meter) in meters {
            let (stats, counts) = meter.read();
            self.total.add_counts(&stats);
            latency.merge(&counts);
            self.nodes.insert(name.to_string(), stats);
        }
        self.total.latency = latency.latency();
        self
    }
}

/// One live counter.
#[derive(Debug)]
pub(crate) struct Count {
    value: AtomicU64,
    #[cfg(feature = "metrics")]
    facade: metrics::Counter,
}

impl Count {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    fn new(name: &'static str, label: Option<(&'static str, &'static str)>) -> Count {
        Count {
            value: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            facade: match label {
                Some((key, value)) => metrics::counter!(name, key => value),
                None => metrics::counter!(name),
            },
        }
    }

    fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

/// The live counters.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) moved: Count,
    pub(crate) ask: Count,
    pub(crate) try_again: Count,
    pub(crate) cluster_down: Count,
    pub(crate) loading: Count,
    pub(crate) readonly: Count,
    pub(crate) io_retries: Count,
    pub(crate) refreshes: Count,
}

impl Default for Counters {
    fn default() -> Counters {
        const FOLLOWED: &str = "slotwise_redirects_followed_total";
        const RETRIES: &str = "slotwise_retries_total";
        let retry = |cause| Count::new(RETRIES, Some(("cause", cause)));
        #[cfg(feature = "metrics")]
        describe();
        Counters {
            moved: Count::new(FOLLOWED, Some(("kind", "moved"))),
            ask: Count::new(FOLLOWED, Some(("kind", "ask"))),
            try_again: retry("try_again"),
            cluster_down: retry("cluster_down"),
            loading: retry("loading"),
            readonly: retry("readonly"),
            io_retries: retry("io"),
            refreshes: Count::new("slotwise_topology_refreshes_total", None),
        }
    }
}

impl Counters {
    pub(crate) fn bump(counter: &Count) {
        counter.value.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        counter.facade.increment(1);
    }

    /// The counters alone, without any node's.
    pub(crate) fn read(&self) -> Stats {
        Stats {
            moved: self.moved.get(),
            ask: self.ask.get(),
            try_again: self.try_again.get(),
            cluster_down: self.cluster_down.get(),
            loading: self.loading.get(),
            readonly: self.readonly.get(),
            io_retries: self.io_retries.get(),
            refreshes: self.refreshes.get(),
            ..Stats::default()
        }
    }
}

/// Describes the cluster-wide metrics to the recorder, once per process.
#[cfg(feature = "metrics")]
fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        metrics::describe_counter!(
            "slotwise_redirects_followed_total",
            "MOVED and ASK redirections the client followed"
        );
        metrics::describe_counter!(
            "slotwise_retries_total",
            "Commands sent again, by the cause of the retry"
        );
        metrics::describe_counter!(
            "slotwise_topology_refreshes_total",
            "Full topology refreshes completed"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_adds_up_the_nodes() {
        let a = Meter::detached();
        let b = Meter::detached();
        a.sent(3);
        a.answered(3);
        a.timed(1_000);
        b.sent(2);
        b.timed(9_000_000);
        b.failed(crate::ErrorKind::Moved);
        let stats = Counters::default()
            .read()
            .with_nodes(vec![(Arc::from("a:1"), a), (Arc::from("b:2"), b)]);
        let total = stats.total();
        assert_eq!((total.requests, total.in_flight, total.moved), (5, 2, 1));
        assert_eq!(total.latency.count, 2);
        assert_eq!(total.latency.max.as_nanos(), 9_000_000);
        assert_eq!(stats.node("a:1").map(|s| s.requests), Some(3));
        let names: Vec<&str> = stats.nodes().map(|(n, _)| n).collect();
        assert_eq!(names, ["a:1", "b:2"]);
        assert!(stats.node("c:3").is_none());
    }
}
