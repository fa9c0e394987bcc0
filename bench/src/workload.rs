//! What is measured: the workloads (rows of the table) and the clients (contenders).
//!
//! This module is the vocabulary shared by the orchestrator, the worker processes and the
//! report: names as they appear on the command line, in the JSON file and in the table. It
//! does not run anything.

use std::fmt;
use std::str::FromStr;

/// Keys are `key:%012d` over this many keys, so every client and `redis-benchmark -r` (which
/// substitutes a 12-digit number) read the same keyspace.
pub(crate) const KEYSPACE: u64 = 100_000;

/// The hot keyspace of the client-side cache rows: the first this many keys of [`KEYSPACE`],
/// fewer than the default cache holds (10,000), so every one of them can stay cached.
pub(crate) const HOT_KEYS: u64 = 1_000;

/// Every value written: 16 bytes, as `redis-benchmark -d 16` writes.
pub(crate) const VALUE: &[u8; 16] = b"0123456789abcdef";

/// The length of a key: `key:` and twelve digits.
pub(crate) const KEY_LEN: usize = 16;

/// One key, built on the stack so the harness allocates nothing per operation.
pub(crate) type Key = [u8; KEY_LEN];

/// The key numbered `n`: `key:000000012345`.
pub(crate) fn key(n: u64) -> Key {
    let mut out = *b"key:000000000000";
    let mut rest = n;
    for byte in out[4..].iter_mut().rev() {
        *byte = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out
}

/// A client under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Client {
    /// This library.
    Slotwise,
    /// This library with its client-side cache on (`CacheConfig::default()` unless the run
    /// sets `--cache-entries`); only in the workloads that compare caching.
    SlotwiseCached,
    /// The `redis` crate's async cluster connection.
    RedisRs,
    /// The same with its client-side cache on (`CacheConfig::new()`, RESP3); only in the
    /// workloads that compare caching, and only built with the feature `redis-rs-cache`.
    RedisRsCached,
    /// The `fred` crate.
    Fred,
    /// `redis-benchmark --cluster`, the server project's own C tool: a ceiling, not a library.
    RedisBenchmark,
}

impl Client {
    /// Every client, in the order of the first repetition.
    pub(crate) const ALL: [Client; 6] = [
        Client::Slotwise,
        Client::SlotwiseCached,
        Client::RedisRs,
        Client::RedisRsCached,
        Client::Fred,
        Client::RedisBenchmark,
    ];

    /// The name used on the command line, in JSON and in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Client::Slotwise => "slotwise",
            Client::SlotwiseCached => "slotwise-cached",
            Client::RedisRs => "redis-rs",
            Client::RedisRsCached => "redis-rs-cached",
            Client::Fred => "fred",
            Client::RedisBenchmark => "redis-benchmark",
        }
    }

    /// True for the Rust client libraries, which run inside a worker process of this binary.
    pub(crate) fn is_library(self) -> bool {
        self != Client::RedisBenchmark
    }

    /// True for the clients the recovery and pub/sub recovery comparisons run: the libraries,
    /// each as its users leave it by default (so without a client-side cache).
    pub(crate) fn has_recovery_mode(self) -> bool {
        matches!(self, Client::Slotwise | Client::RedisRs | Client::Fred)
    }

    /// True if this build can run the client (`redis-rs-cached` needs the feature
    /// `redis-rs-cache`).
    pub(crate) fn is_built(self) -> bool {
        self != Client::RedisRsCached || cfg!(feature = "redis-rs-cache")
    }

    /// Why [`Client::is_built`] is false.
    pub(crate) fn unavailable(self) -> String {
        format!("{self} needs a build with `--features redis-rs-cache`")
    }

    /// True for a library built with its client-side cache on.
    pub(crate) fn is_cached(self) -> bool {
        matches!(self, Client::SlotwiseCached | Client::RedisRsCached)
    }

    /// The same library without its cache, for a cached client.
    pub(crate) fn uncached(self) -> Option<Client> {
        match self {
            Client::SlotwiseCached => Some(Client::Slotwise),
            Client::RedisRsCached => Some(Client::RedisRs),
            _ => None,
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Client {
    type Err = String;

    fn from_str(s: &str) -> Result<Client, String> {
        Client::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown client {s:?}; expected one of {}",
                    list(Client::ALL)
                )
            })
    }
}

/// The operation a workload repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `GET` of one random key (or, in a workload with writes, sometimes a `SET`).
    Get,
    /// `SET` of one random key to [`VALUE`].
    Set,
    /// `MGET` of [`MGET_KEYS`] random keys in any slots.
    Mget,
    /// A pipeline of [`PIPELINE_COMMANDS`] commands on random keys: half `SET`, half `GET`.
    Pipeline,
}

/// Commands per pipeline.
pub(crate) const PIPELINE_COMMANDS: usize = 100;

/// Keys per `MGET`.
pub(crate) const MGET_KEYS: usize = 100;

/// The tokio runtime a workload runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Multi-thread, two workers: one per core of the reference machine.
    MultiThread,
    /// Everything on the thread that calls `block_on`.
    CurrentThread,
}

/// One row group of the table: an operation, how many tasks share the client, how many
/// operations each keeps in flight, and the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Workload {
    /// `GET`, one task, one at a time: latency-bound.
    Get1,
    /// `SET`, one task, one at a time.
    Set1,
    /// `GET`, 64 tasks, one in flight each.
    Get64,
    /// `SET`, 64 tasks, one in flight each.
    Set64,
    /// `GET`, 64 tasks on a current-thread runtime.
    Get64CurrentThread,
    /// `GET`, 64 tasks, 16 in flight each.
    Get64x16,
    /// `SET`, 64 tasks, 16 in flight each.
    Set64x16,
    /// `MGET` of 100 random keys, 8 tasks.
    Mget100,
    /// Pipelines of 50 `SET` and 50 `GET` on random keys, 8 tasks.
    Pipeline100,
    /// `GET` of one of [`HOT_KEYS`] keys, 64 tasks, one in flight each; one call in
    /// [`WRITES_PER`] a `SET` of one of them instead: the client-side cache's case.
    HotGet64,
    /// As [`Workload::HotGet64`] over the whole [`KEYSPACE`], ten times what the default cache
    /// holds: the cache's memory stays within its bound while it evicts.
    WideGet64,
}

/// In the workloads with writes, one call in this many is a `SET` (1 %).
pub(crate) const WRITES_PER: u32 = 100;

impl Workload {
    /// Every workload, in table order.
    pub(crate) const ALL: [Workload; 11] = [
        Workload::Get1,
        Workload::Set1,
        Workload::Get64,
        Workload::Set64,
        Workload::Get64CurrentThread,
        Workload::Get64x16,
        Workload::Set64x16,
        Workload::Mget100,
        Workload::Pipeline100,
        Workload::HotGet64,
        Workload::WideGet64,
    ];

    /// The workloads of `--quick`: one of each shape, so every code path runs.
    pub(crate) const QUICK: [Workload; 5] = [
        Workload::Get1,
        Workload::Set64,
        Workload::Get64x16,
        Workload::Mget100,
        Workload::HotGet64,
    ];

    /// The name used on the command line and in JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Get1 => "get-1",
            Workload::Set1 => "set-1",
            Workload::Get64 => "get-64",
            Workload::Set64 => "set-64",
            Workload::Get64CurrentThread => "get-64-current-thread",
            Workload::Get64x16 => "get-64x16",
            Workload::Set64x16 => "set-64x16",
            Workload::Mget100 => "mget-100",
            Workload::Pipeline100 => "pipeline-100",
            Workload::HotGet64 => "hot-get-64",
            Workload::WideGet64 => "wide-get-64",
        }
    }

    /// A longer label for the table.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Workload::Get1 => "GET, 1 task",
            Workload::Set1 => "SET, 1 task",
            Workload::Get64 => "GET, 64 tasks",
            Workload::Set64 => "SET, 64 tasks",
            Workload::Get64CurrentThread => "GET, 64 tasks, current-thread",
            Workload::Get64x16 => "GET, 64 tasks × 16 in flight",
            Workload::Set64x16 => "SET, 64 tasks × 16 in flight",
            Workload::Mget100 => "MGET 100 keys, 8 tasks",
            Workload::Pipeline100 => "pipeline of 50 SET + 50 GET, 8 tasks",
            Workload::HotGet64 => "GET of 1,000 hot keys, 1 % SET, 64 tasks",
            Workload::WideGet64 => "GET of 100,000 keys, 1 % SET, 64 tasks",
        }
    }

    pub(crate) fn op(self) -> Op {
        match self {
            Workload::Get1
            | Workload::Get64
            | Workload::Get64CurrentThread
            | Workload::Get64x16
            | Workload::HotGet64
            | Workload::WideGet64 => Op::Get,
            Workload::Set1 | Workload::Set64 | Workload::Set64x16 => Op::Set,
            Workload::Mget100 => Op::Mget,
            Workload::Pipeline100 => Op::Pipeline,
        }
    }

    /// Tasks sharing one client.
    pub(crate) fn tasks(self) -> usize {
        match self {
            Workload::Get1 | Workload::Set1 => 1,
            Workload::Mget100 | Workload::Pipeline100 => 8,
            _ => 64,
        }
    }

    /// Operations each task has in flight at once.
    pub(crate) fn depth(self) -> usize {
        match self {
            Workload::Get64x16 | Workload::Set64x16 => 16,
            _ => 1,
        }
    }

    /// The keys drawn from: `key(0)` to `key(keyspace - 1)`.
    pub(crate) fn keyspace(self) -> u64 {
        match self {
            Workload::HotGet64 => HOT_KEYS,
            _ => KEYSPACE,
        }
    }

    /// True if one call in [`WRITES_PER`] is a `SET` instead of the workload's `GET`.
    pub(crate) fn has_writes(self) -> bool {
        matches!(self, Workload::HotGet64 | Workload::WideGet64)
    }

    pub(crate) fn flavor(self) -> Flavor {
        match self {
            Workload::Get64CurrentThread => Flavor::CurrentThread,
            _ => Flavor::MultiThread,
        }
    }

    /// The `redis-benchmark` arguments comparable to this workload, if the issue pairs one
    /// with it: `-c 1` for one task, `-c 50 -P 16` for 16 in flight.
    pub(crate) fn redis_benchmark_args(self) -> Option<(&'static str, u32, u32)> {
        match self {
            Workload::Get1 => Some(("get", 1, 1)),
            Workload::Set1 => Some(("set", 1, 1)),
            Workload::Get64x16 => Some(("get", 50, 16)),
            Workload::Set64x16 => Some(("set", 50, 16)),
            _ => None,
        }
    }

    /// True if `client` takes part in this workload: the libraries everywhere but in the
    /// cache's memory row, which compares the caching clients with slotwise without its
    /// cache; the caching clients only in the two cache rows; `redis-benchmark` where the
    /// issue pairs it.
    pub(crate) fn has(self, client: Client) -> bool {
        match client {
            Client::Slotwise => true,
            Client::SlotwiseCached | Client::RedisRsCached => self.has_writes(),
            Client::RedisRs | Client::Fred => self != Workload::WideGet64,
            Client::RedisBenchmark => self.redis_benchmark_args().is_some(),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Workload, String> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown workload {s:?}; expected one of {}",
                    list(Workload::ALL)
                )
            })
    }
}

fn list<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_redis_benchmark_rand_int() {
        assert_eq!(&key(0), b"key:000000000000");
        assert_eq!(&key(12345), b"key:000000012345");
        assert_eq!(&key(KEYSPACE - 1), b"key:000000099999");
    }

    #[test]
    fn the_cache_rows_leave_the_others_alone() {
        for w in Workload::ALL {
            assert_eq!(w.has(Client::SlotwiseCached), w.has_writes(), "{w}");
            assert_eq!(w.has(Client::RedisRsCached), w.has_writes(), "{w}");
            if !w.has_writes() {
                assert_eq!(w.keyspace(), KEYSPACE, "{w}");
                assert!(w.has(Client::RedisRs) && w.has(Client::Fred), "{w}");
            }
        }
        assert!(
            Workload::HotGet64.keyspace() < 10_000,
            "the hot keys fit the default cache"
        );
        assert!(!Client::SlotwiseCached.has_recovery_mode());
        assert!(!Client::RedisRsCached.has_recovery_mode());
    }

    #[test]
    fn names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>().unwrap(), w);
        }
        for c in Client::ALL {
            assert_eq!(c.name().parse::<Client>().unwrap(), c);
        }
    }
}
