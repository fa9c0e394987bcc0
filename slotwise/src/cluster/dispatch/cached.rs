//! A cacheable read the cache did not hold (the lookup is `run_caching`'s): sent to the
//! slot's node (its primary, or a replica for a handle that reads from replicas) through the
//! attempt loop like any command, its reply stored unless an invalidation of its key came
//! through that connection while it was in flight (see `cluster/cache.rs` for why that
//! suffices).
//!
//! This module decides nothing about what is cacheable (`cache/commands.rs`) or when an entry
//! is stale (`cache.rs`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::retry::{Attempt, Destination, HandleReads, Operation};
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
            let ticket = entry.tracker.as_ref().map(|t| {
                t.missed();
                (t, t.ticket())
            });
            let value = entry.conn.send_within(cmd, timeout).await?;
            if let Some((tracker, ticket)) = ticket {
                cache.store(tracker, ticket, key, cmd, &value);
            }
            Ok(value)
        }
    }
}

impl RedisCluster {
    /// `MGET` of keys in any slots with the cache on: one `GET` per key, each served from
    /// memory or sent (the multiplexer pipelines them, so a node's keys still share a round
    /// trip) and stored as any `GET` is. A key holding another type reads as nil, as in `MGET`.
    pub(crate) fn run_mget_cached<'a>(
        &'a self,
        cmd: &'a Cmd,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>> {
        Box::pin(async move {
            let gets: Vec<Cmd> = cmd.args().skip(1).map(|k| Cmd::new("GET").arg(k)).collect();
            let replies =
                futures_util::future::join_all(gets.iter().map(|get| self.run(get, None))).await;
            let mut values = Vec::with_capacity(replies.len());
            for reply in replies {
                match reply {
                    Ok(value) => values.push(value),
                    Err(e) if e.server_error().is_some_and(|s| s.code() == "WRONGTYPE") => {
                        values.push(Value::Nil)
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(Value::Array(values))
        })
    }

    /// Runs `cmd` on `key`, which `cache` did not hold, on the node serving `slot` (chosen by
    /// the handle's `ReadFrom` with `read`), and stores its reply.
    pub(super) async fn run_cached(
        &self,
        cache: &Cache,
        cmd: &Cmd,
        key: &[u8],
        slot: u16,
        read: Option<HandleReads>,
    ) -> Result<Value> {
        let op = Operation {
            name: cmd.name(),
            readonly: true,
            follow_ask: true,
            lasts: Duration::ZERO,
        };
        let dest = Destination::Slot { slot, read };
        self.run_attempts(op, dest, CachedRead { cmd, key, cache })
            .await
    }
}
