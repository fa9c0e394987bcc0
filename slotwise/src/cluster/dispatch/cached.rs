//! A read the client-side cache may serve: from memory if it holds a reply, else sent to the
//! slot's primary through the attempt loop like any command, its reply stored if no
//! invalidation came through that connection while it was in flight (see `cluster/cache.rs`
//! for why that suffices).
//!
//! This module decides nothing about what is cacheable (`cache/commands.rs`) or when an entry
//! is stale (`cache.rs`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::retry::{Attempt, Destination, Operation};
use super::send_asking;
use crate::cluster::cache::Cache;
use crate::cluster::node::NodeEntry;
use crate::cluster::RedisCluster;
use crate::error::Result;
use crate::protocol::{Cmd, Value};

/// One cacheable read, as an [`Attempt`].
struct CachedRead<'a> {
    cmd: &'a Cmd,
    key: &'a [u8],
    cache: &'a Cache,
}

impl Attempt for CachedRead<'_> {
    type Output = Value;

    fn run(
        &mut self,
        entry: &Arc<NodeEntry>,
        asking: bool,
        timeout: Duration,
    ) -> impl Future<Output = Result<Value>> + Send {
        let (cmd, key, cache) = (self.cmd, self.key, self.cache);
        async move {
            if asking {
                // The importing node, mid-migration: served, not cached.
                return send_asking(entry, cmd, timeout).await;
            }
            // Taken before the command can be written: an invalidation read from here on
            // keeps the reply out.
            let ticket = entry.tracker.as_ref().map(|t| (t, t.ticket()));
            let value = entry.conn.send_within(cmd, timeout).await?;
            if let Some((tracker, ticket)) = ticket {
                cache.store(tracker, ticket, key, cmd, &value);
            }
            Ok(value)
        }
    }
}

impl RedisCluster {
    /// Serves `cmd` on `key` from `cache`, else runs it on the primary serving `slot`.
    pub(super) async fn run_cached(
        &self,
        cache: &Cache,
        cmd: &Cmd,
        key: &[u8],
        slot: u16,
    ) -> Result<Value> {
        if let Some(value) = cache.lookup(key, cmd) {
            return Ok(value);
        }
        let op = Operation {
            name: cmd.name(),
            readonly: true,
            follow_ask: true,
            lasts: Duration::ZERO,
        };
        let dest = Destination::Slot { slot, read: None };
        self.run_attempts(op, dest, CachedRead { cmd, key, cache })
            .await
    }
}
