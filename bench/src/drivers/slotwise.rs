//! The slotwise adapter: typed command methods on one shared [`RedisCluster`], concurrent
//! futures for several commands in flight (they are pipelined on each node's connection),
//! `mget_nonatomic` for a cross-slot `MGET`, and its cluster pipeline. Built with
//! [`Slotwise::connect_cached`], the same calls go through the client-side cache.

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use slotwise::commands::StringCommands;
use slotwise::{CacheConfig, ClusterCommands, RedisCluster};

use super::{fail, is_value, CacheCounts, Driver, OpResult};
use crate::workload::{Client, Key, VALUE};

/// A slotwise cluster client.
#[derive(Clone, Debug)]
pub(crate) struct Slotwise {
    cluster: RedisCluster,
    /// Built with a client-side cache.
    cached: bool,
}

impl Slotwise {
    fn new(cluster: RedisCluster) -> Slotwise {
        Slotwise {
            cluster,
            cached: false,
        }
    }

    /// Connects through the node at `seed` (`redis://host:port`).
    pub(crate) async fn connect(seed: &str) -> OpResult<Slotwise> {
        RedisCluster::from_url(seed)
            .await
            .map(Slotwise::new)
            .map_err(|e| fail(Client::Slotwise, e))
    }

    /// Connects with the client-side cache on, bounded by `config`.
    pub(crate) async fn connect_cached(seed: &str, config: CacheConfig) -> OpResult<Slotwise> {
        let cluster = RedisCluster::builder()
            .url(seed)
            .client_side_cache(config)
            .build()
            .await
            .map_err(|e| fail(Client::SlotwiseCached, e))?;
        Ok(Slotwise {
            cluster,
            cached: true,
        })
    }

    /// Connects with `timeout` as the connect and per-request response timeout; the retry
    /// settings stay at their defaults, as a user would leave them.
    pub(crate) async fn connect_bounded(seed: &str, timeout: Duration) -> OpResult<Slotwise> {
        RedisCluster::builder()
            .url(seed)
            .connect_timeout(timeout)
            .response_timeout(timeout)
            .build()
            .await
            .map(Slotwise::new)
            .map_err(|e| fail(Client::Slotwise, e))
    }
}

fn found(value: Option<Bytes>) -> bool {
    value.is_some_and(|v| is_value(&v))
}

impl Driver for Slotwise {
    async fn get(&mut self, key: &Key) -> OpResult<bool> {
        let value = self.cluster.get::<Bytes>(&key[..]).await;
        value.map(found).map_err(|e| fail(Client::Slotwise, e))
    }

    async fn set(&mut self, key: &Key) -> OpResult<()> {
        let done = self.cluster.set(&key[..], &VALUE[..]).await;
        done.map_err(|e| fail(Client::Slotwise, e))
    }

    async fn get_many(&mut self, keys: &[Key]) -> OpResult<usize> {
        let replies = join_all(keys.iter().map(|k| self.cluster.get::<Bytes>(&k[..]))).await;
        let mut count = 0;
        for reply in replies {
            count += usize::from(found(reply.map_err(|e| fail(Client::Slotwise, e))?));
        }
        Ok(count)
    }

    async fn set_many(&mut self, keys: &[Key]) -> OpResult<usize> {
        let replies = join_all(keys.iter().map(|k| self.cluster.set(&k[..], &VALUE[..]))).await;
        for reply in replies {
            reply.map_err(|e| fail(Client::Slotwise, e))?;
        }
        Ok(keys.len())
    }

    async fn mget(&mut self, keys: &[Key]) -> OpResult<usize> {
        let values = self
            .cluster
            .mget_nonatomic::<Option<Bytes>, _>(keys)
            .await
            .map_err(|e| fail(Client::Slotwise, e))?;
        Ok(values
            .into_iter()
            .filter(|v| v.as_deref().is_some_and(is_value))
            .count())
    }

    async fn pipeline(&mut self, keys: &[Key]) -> OpResult<usize> {
        let (sets, gets) = keys.split_at(keys.len() / 2);
        let pipe = self.cluster.pipeline();
        let written: Vec<_> = sets.iter().map(|k| pipe.set(&k[..], &VALUE[..])).collect();
        let queued: Vec<_> = gets.iter().map(|k| pipe.get::<Bytes>(&k[..])).collect();
        let mut replies = pipe.run().await.map_err(|e| fail(Client::Slotwise, e))?;
        for set in written {
            replies.take(set).map_err(|e| fail(Client::Slotwise, e))?;
        }
        let mut count = sets.len();
        for get in queued {
            count += usize::from(found(
                replies.take(get).map_err(|e| fail(Client::Slotwise, e))?,
            ));
        }
        Ok(count)
    }

    async fn get_value(&mut self, key: &[u8]) -> OpResult<Option<Bytes>> {
        let value = self.cluster.get::<Bytes>(key).await;
        value.map_err(|e| fail(Client::Slotwise, e))
    }

    async fn set_value(&mut self, key: &[u8], value: Bytes) -> OpResult<()> {
        let done = self.cluster.set(key, &value[..]).await;
        done.map_err(|e| fail(Client::Slotwise, e))
    }

    fn cache(&self) -> Option<CacheCounts> {
        if !self.cached {
            return None;
        }
        let stats = self.cluster.stats().cache;
        Some(CacheCounts {
            hits: stats.hits,
            misses: stats.misses,
            evictions: Some(stats.evictions),
            entries: Some(stats.entries),
            bytes: Some(stats.bytes),
        })
    }
}
