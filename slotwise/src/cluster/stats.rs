//! Counters of what the client did to keep commands flowing: redirections followed, retries by
//! cause, topology refreshes. Every path that meets a redirection or retries (single commands,
//! pipelines, split commands, transactions, watches, pub/sub) counts through the same methods of
//! the dispatcher.
//!
//! Counting is a relaxed atomic add on paths that are already slow (a redirection, a retry), so
//! it costs nothing on the path of a command that succeeds at once.

use std::sync::atomic::{AtomicU64, Ordering};

/// A copy of a client's counters, from [`RedisCluster::stats`](super::RedisCluster::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) moved: AtomicU64,
    pub(crate) ask: AtomicU64,
    pub(crate) try_again: AtomicU64,
    pub(crate) cluster_down: AtomicU64,
    pub(crate) loading: AtomicU64,
    pub(crate) readonly: AtomicU64,
    pub(crate) io_retries: AtomicU64,
    pub(crate) refreshes: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            moved: get(&self.moved),
            ask: get(&self.ask),
            try_again: get(&self.try_again),
            cluster_down: get(&self.cluster_down),
            loading: get(&self.loading),
            readonly: get(&self.readonly),
            io_retries: get(&self.io_retries),
            refreshes: get(&self.refreshes),
        }
    }
}
