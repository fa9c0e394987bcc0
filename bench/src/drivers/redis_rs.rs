//! The redis-rs adapter: `AsyncCommands` on the async cluster connection (a cheap clone per
//! task, and per future when several are in flight, as its documentation shows). Its async
//! pipelines must stay in one slot, so concurrent futures are how a redis-rs user keeps random
//! keys in flight; its cluster routing splits a cross-slot `MGET` by itself. Built with
//! `RedisRs::connect_cached` (this crate's feature `redis-rs-cache`), the connection has its
//! client-side cache on (redis-rs's `cache-aio`, RESP3).

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::AsyncCommands;

#[cfg(feature = "redis-rs-cache")]
use super::CacheCounts;
use super::{fail, is_value, Driver, OpResult};
use crate::workload::{Client, Key, VALUE};

/// A redis-rs async cluster connection.
#[derive(Clone)]
pub(crate) struct RedisRs(ClusterConnection);

impl RedisRs {
    /// Connects through the node at `seed` (`redis://host:port`).
    pub(crate) async fn connect(seed: &str) -> OpResult<RedisRs> {
        let client = ClusterClient::new(vec![seed]).map_err(|e| fail(Client::RedisRs, e))?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(|e| fail(Client::RedisRs, e))?;
        Ok(RedisRs(conn))
    }

    /// Connects with its client-side cache on, at its defaults (`CacheConfig::new()`: every
    /// command it can cache, 10,000 keys, a 30-minute client TTL), over RESP3 as it requires.
    #[cfg(feature = "redis-rs-cache")]
    pub(crate) async fn connect_cached(seed: &str) -> OpResult<RedisRs> {
        let client = ClusterClient::builder(vec![seed])
            .use_protocol(redis::ProtocolVersion::RESP3)
            .cache_config(redis::caching::CacheConfig::new())
            .build()
            .map_err(|e| fail(Client::RedisRsCached, e))?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(|e| fail(Client::RedisRsCached, e))?;
        Ok(RedisRs(conn))
    }

    /// Connects with `timeout` as the connection and response timeout; the retry settings stay
    /// at their defaults.
    pub(crate) async fn connect_bounded(seed: &str, timeout: Duration) -> OpResult<RedisRs> {
        let client = ClusterClient::builder(vec![seed])
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .build()
            .map_err(|e| fail(Client::RedisRs, e))?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(|e| fail(Client::RedisRs, e))?;
        Ok(RedisRs(conn))
    }
}

fn found(value: Option<Bytes>) -> bool {
    value.is_some_and(|v| is_value(&v))
}

impl Driver for RedisRs {
    async fn get(&mut self, key: &Key) -> OpResult<bool> {
        let value: redis::RedisResult<Option<Bytes>> = self.0.get(&key[..]).await;
        value.map(found).map_err(|e| fail(Client::RedisRs, e))
    }

    async fn set(&mut self, key: &Key) -> OpResult<()> {
        let done: redis::RedisResult<()> = self.0.set(&key[..], &VALUE[..]).await;
        done.map_err(|e| fail(Client::RedisRs, e))
    }

    async fn get_many(&mut self, keys: &[Key]) -> OpResult<usize> {
        let replies = join_all(keys.iter().map(|k| {
            let mut conn = self.0.clone();
            async move { conn.get::<_, Option<Bytes>>(&k[..]).await }
        }))
        .await;
        let mut count = 0;
        for reply in replies {
            count += usize::from(found(reply.map_err(|e| fail(Client::RedisRs, e))?));
        }
        Ok(count)
    }

    async fn set_many(&mut self, keys: &[Key]) -> OpResult<usize> {
        let replies = join_all(keys.iter().map(|k| {
            let mut conn = self.0.clone();
            async move { conn.set::<_, _, ()>(&k[..], &VALUE[..]).await }
        }))
        .await;
        for reply in replies {
            reply.map_err(|e| fail(Client::RedisRs, e))?;
        }
        Ok(keys.len())
    }

    async fn pipeline(&mut self, keys: &[Key]) -> OpResult<usize> {
        // Its async cluster pipelines refuse keys in several slots: concurrent futures it is.
        let (sets, gets) = keys.split_at(keys.len() / 2);
        let mut other = self.clone();
        let (written, found) = tokio::join!(self.set_many(sets), other.get_many(gets));
        Ok(written? + found?)
    }

    async fn mget(&mut self, keys: &[Key]) -> OpResult<usize> {
        // Its argument traits take slices of byte slices, not of byte arrays.
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let values: Vec<Option<Bytes>> = self
            .0
            .mget(keys)
            .await
            .map_err(|e| fail(Client::RedisRs, e))?;
        Ok(values
            .into_iter()
            .filter(|v| v.as_deref().is_some_and(is_value))
            .count())
    }

    async fn get_value(&mut self, key: &[u8]) -> OpResult<Option<Bytes>> {
        let value: redis::RedisResult<Option<Bytes>> = self.0.get(key).await;
        value.map_err(|e| fail(Client::RedisRs, e))
    }

    async fn set_value(&mut self, key: &[u8], value: Bytes) -> OpResult<()> {
        let done: redis::RedisResult<()> = self.0.set(key, &value[..]).await;
        done.map_err(|e| fail(Client::RedisRs, e))
    }

    #[cfg(feature = "redis-rs-cache")]
    fn cache(&self) -> Option<CacheCounts> {
        // `None` unless the connection was built with a cache.
        let stats = self.0.get_cache_statistics()?;
        Some(CacheCounts {
            hits: stats.hit as u64,
            misses: stats.miss as u64,
            // Not reported by redis-rs.
            evictions: None,
            entries: None,
            bytes: None,
        })
    }
}
