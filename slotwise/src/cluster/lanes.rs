//! What the future of a cacheable read holds instead of a clone of its handle.
//!
//! A cache hit costs a fraction of a microsecond, and most of it is cache lines that every
//! core writes: a future holding a clone of its handle adds one to the client's `Arc<Inner>`
//! count when made and takes it off when dropped, and with every worker thread doing that for
//! every read, the count's line moves between cores twice per hit. A client with the cache on
//! keeps a few more references to its `Inner` instead, each in its own reference-counted
//! allocation alone on its cache lines, and a read's future clones the one of its thread's
//! lane: threads on different lanes write different lines. A miss, which waits on the network
//! anyway, makes an ordinary handle from the lane's reference.
//!
//! The lanes are owned by the handles, not by `Inner` (that would be a cycle): a future keeps
//! its client alive as a clone of the handle would.

use std::sync::Arc;

use super::cache::striped;
use super::{Inner, Reads, RedisCluster};
use crate::protocol::{Cmd, Value};

/// One reference to a client's `Inner`, padded so that the count of the `Arc` it lives in
/// shares its cache lines with nothing else (128 bytes: some cores fetch lines in pairs).
#[repr(align(128))]
struct Lane(Arc<Inner>);

/// One [`Lane`] per lane of [`striped`]'s, shared by a client's handles.
pub(crate) struct Lanes([Arc<Lane>; striped::LANES]);

impl Lanes {
    pub(crate) fn new(inner: &Arc<Inner>) -> Lanes {
        Lanes(std::array::from_fn(|_| Arc::new(Lane(Arc::clone(inner)))))
    }
}

/// A cacheable read's hold on its client: its thread's lane, and what the handle it came from
/// decides about reads.
pub(crate) struct CachedRead {
    lane: Arc<Lane>,
    reads: Reads,
}

impl CachedRead {
    /// The hold of a read made through `handle`, or `None` if its reads are not served from
    /// the cache (it has none, or bypasses it).
    #[inline]
    pub(crate) fn of(handle: &RedisCluster) -> Option<CachedRead> {
        let lanes = handle.lanes.as_ref().filter(|_| handle.cached)?;
        Some(CachedRead {
            lane: Arc::clone(&lanes.0[striped::lane()]),
            reads: handle.reads,
        })
    }

    /// The cached reply to `cmd`, if the cache has one this read may be served.
    #[inline]
    pub(crate) fn hit(&self, cmd: &Cmd) -> Option<Value> {
        self.lane.0.cache_hit(cmd, self.reads)
    }

    /// The handle to send the read through after a miss.
    pub(crate) fn into_handle(self) -> RedisCluster {
        RedisCluster {
            inner: Arc::clone(&self.lane.0),
            lanes: None,
            reads: self.reads,
            cached: true,
        }
    }
}
