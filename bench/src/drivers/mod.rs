//! One adapter per client library, all behind [`Driver`], so the timed loop is the same code
//! for every contender and only the calls a user of that library would write differ.
//!
//! Each adapter is written the way that library's documentation suggests for the job: the
//! typed command methods, the library's own way to keep several commands in flight, and, where
//! the library does not split a cross-slot `MGET` itself, the split its users must write. This
//! module does not time anything; see `worker`.

mod fred;
mod redis_rs;
mod slotwise;

use std::future::Future;

use bytes::Bytes;

use crate::workload::{Client, Key};

pub(crate) use self::fred::{Fred, FredBatch};
pub(crate) use self::redis_rs::RedisRs;
pub(crate) use self::slotwise::Slotwise;

/// The result of one driver call: a count on success, a printable error otherwise.
pub(crate) type OpResult<T> = Result<T, String>;

/// The operations the workloads need from a client. A task owns its clone of the driver.
///
/// Each method returns how many values it found (or wrote), so the worker can tell a client
/// that answers fast but wrongly (nil for keys that exist) from one that works.
pub(crate) trait Driver: Clone + Send + Sync + 'static {
    /// `GET key`: true if a 16-byte value came back.
    fn get(&mut self, key: &Key) -> impl Future<Output = OpResult<bool>> + Send;

    /// `SET key value`.
    fn set(&mut self, key: &Key) -> impl Future<Output = OpResult<()>> + Send;

    /// One `GET` per key, all in flight at once; the number of values found.
    fn get_many(&mut self, keys: &[Key]) -> impl Future<Output = OpResult<usize>> + Send;

    /// One `SET` per key, all in flight at once; the number written.
    fn set_many(&mut self, keys: &[Key]) -> impl Future<Output = OpResult<usize>> + Send;

    /// `MGET` of keys in any slots; the number of values found.
    fn mget(&mut self, keys: &[Key]) -> impl Future<Output = OpResult<usize>> + Send;

    /// One pipeline: `SET` of the first half of `keys`, `GET` of the second half, as the
    /// library's users keep a batch of commands on keys in any slots in flight. The number
    /// written plus the number of values found.
    fn pipeline(&mut self, keys: &[Key]) -> impl Future<Output = OpResult<usize>> + Send;

    /// `GET key` of any key: the value itself, for the recovery mode's checks.
    fn get_value(&mut self, key: &[u8]) -> impl Future<Output = OpResult<Option<Bytes>>> + Send;

    /// `SET key value` of any key and value.
    fn set_value(&mut self, key: &[u8], value: Bytes) -> impl Future<Output = OpResult<()>> + Send;

    /// What the client's own cache has done so far, for a client built with one; `None` for
    /// one without.
    fn cache(&self) -> Option<CacheCounts> {
        None
    }
}

/// A client-side cache's counts, as the client reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CacheCounts {
    /// Reads served from memory.
    pub(crate) hits: u64,
    /// Cacheable reads sent to a node.
    pub(crate) misses: u64,
    /// Entries dropped to stay within the bounds, if the client counts them.
    pub(crate) evictions: Option<u64>,
    /// Keys held, if the client says.
    pub(crate) entries: Option<u64>,
    /// Estimated bytes of the replies held, if the client says.
    pub(crate) bytes: Option<u64>,
}

impl CacheCounts {
    /// The counts from `start` to `self`: hits, misses and evictions in between, and what is
    /// held at `self`.
    pub(crate) fn since(self, start: CacheCounts) -> CacheCounts {
        CacheCounts {
            hits: self.hits.saturating_sub(start.hits),
            misses: self.misses.saturating_sub(start.misses),
            evictions: self
                .evictions
                .zip(start.evictions)
                .map(|(end, start)| end.saturating_sub(start)),
            ..self
        }
    }

    /// Hits over cacheable reads; `None` before the first.
    pub(crate) fn hit_ratio(self) -> Option<f64> {
        let reads = self.hits + self.misses;
        (reads > 0).then(|| self.hits as f64 / reads as f64)
    }
}

/// True for a reply holding the value every key was filled with.
pub(crate) fn is_value(value: &[u8]) -> bool {
    value == crate::workload::VALUE
}

/// Prefixes a client error with the client's name, for the worker's error log.
pub(crate) fn fail(client: Client, e: impl std::fmt::Display) -> String {
    format!("{client}: {e}")
}
