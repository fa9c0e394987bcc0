//! The fred adapter: `KeysInterface` on one shared client (automatic pipelining on, fred's
//! default), its `Pipeline` or concurrent futures for several commands in flight, and the
//! by-slot split of a cross-slot `MGET` that fred leaves to its users.

use std::time::Duration;

use bytes::Bytes;
use fred::prelude::{Builder, ClientLike, Config, KeysInterface, ReconnectPolicy};
use fred::types::Key as FredKey;
use futures_util::future::join_all;

use super::{fail, is_value, Driver, OpResult};
use crate::workload::{Client, Key, VALUE};

/// How the fred adapter keeps several commands in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FredBatch {
    /// `client.pipeline()`: the commands queued, then sent together with `all()`.
    Pipeline,
    /// One future per command, joined (fred pipelines them itself).
    Futures,
}

/// A fred client in clustered mode.
#[derive(Clone)]
pub(crate) struct Fred {
    client: fred::prelude::Client,
    batch: FredBatch,
}

impl Fred {
    /// Connects through the node at `seed` (`redis://host:port`).
    pub(crate) async fn connect(seed: &str, batch: FredBatch) -> OpResult<Fred> {
        let config = Config::from_url_clustered(seed).map_err(|e| fail(Client::Fred, e))?;
        let client = Builder::from_config(config)
            .build()
            .map_err(|e| fail(Client::Fred, e))?;
        // The connection task runs until the client is dropped; its handle is not needed.
        let _task = client.init().await.map_err(|e| fail(Client::Fred, e))?;
        Ok(Fred { client, batch })
    }

    /// Connects with `timeout` as the connection, internal-command and default command
    /// timeout, and a reconnect policy that keeps trying every 100 ms: without one, fred never
    /// reconnects to a node it lost.
    pub(crate) async fn connect_bounded(seed: &str, timeout: Duration) -> OpResult<Fred> {
        let config = Config::from_url_clustered(seed).map_err(|e| fail(Client::Fred, e))?;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = timeout;
                c.internal_command_timeout = timeout;
            })
            .with_performance_config(|p| p.default_command_timeout = timeout)
            // 0 attempts: no limit.
            .set_policy(ReconnectPolicy::new_constant(0, 100))
            .build()
            .map_err(|e| fail(Client::Fred, e))?;
        let _task = client.init().await.map_err(|e| fail(Client::Fred, e))?;
        Ok(Fred {
            client,
            batch: FredBatch::Futures,
        })
    }
}

fn found(value: Option<Bytes>) -> bool {
    value.is_some_and(|v| is_value(&v))
}

fn value() -> Bytes {
    Bytes::from_static(VALUE)
}

impl Driver for Fred {
    async fn get(&mut self, key: &Key) -> OpResult<bool> {
        let value = self.client.get::<Option<Bytes>, _>(&key[..]).await;
        value.map(found).map_err(|e| fail(Client::Fred, e))
    }

    async fn set(&mut self, key: &Key) -> OpResult<()> {
        let done = self
            .client
            .set::<(), _, _>(&key[..], value(), None, None, false)
            .await;
        done.map_err(|e| fail(Client::Fred, e))
    }

    async fn get_many(&mut self, keys: &[Key]) -> OpResult<usize> {
        let values: Vec<Option<Bytes>> = match self.batch {
            FredBatch::Pipeline => {
                let pipeline = self.client.pipeline();
                for k in keys {
                    // Queued, not sent: the reply of a queued command is nothing.
                    let () = pipeline
                        .get(&k[..])
                        .await
                        .map_err(|e| fail(Client::Fred, e))?;
                }
                pipeline.all().await.map_err(|e| fail(Client::Fred, e))?
            }
            FredBatch::Futures => {
                let replies = join_all(
                    keys.iter()
                        .map(|k| self.client.get::<Option<Bytes>, _>(&k[..])),
                )
                .await;
                let mut values = Vec::with_capacity(replies.len());
                for reply in replies {
                    values.push(reply.map_err(|e| fail(Client::Fred, e))?);
                }
                values
            }
        };
        Ok(values
            .into_iter()
            .filter(|v| v.as_deref().is_some_and(is_value))
            .count())
    }

    async fn set_many(&mut self, keys: &[Key]) -> OpResult<usize> {
        match self.batch {
            FredBatch::Pipeline => {
                let pipeline = self.client.pipeline();
                for k in keys {
                    let () = pipeline
                        .set(&k[..], value(), None, None, false)
                        .await
                        .map_err(|e| fail(Client::Fred, e))?;
                }
                let _: Vec<fred::prelude::Value> =
                    pipeline.all().await.map_err(|e| fail(Client::Fred, e))?;
            }
            FredBatch::Futures => {
                let replies = join_all(keys.iter().map(|k| {
                    self.client
                        .set::<(), _, _>(&k[..], value(), None, None, false)
                }))
                .await;
                for reply in replies {
                    reply.map_err(|e| fail(Client::Fred, e))?;
                }
            }
        }
        Ok(keys.len())
    }

    async fn pipeline(&mut self, keys: &[Key]) -> OpResult<usize> {
        let (sets, gets) = keys.split_at(keys.len() / 2);
        match self.batch {
            FredBatch::Pipeline => {
                let pipeline = self.client.pipeline();
                for k in sets {
                    let () = pipeline
                        .set(&k[..], value(), None, None, false)
                        .await
                        .map_err(|e| fail(Client::Fred, e))?;
                }
                for k in gets {
                    let () = pipeline
                        .get(&k[..])
                        .await
                        .map_err(|e| fail(Client::Fred, e))?;
                }
                let values: Vec<fred::prelude::Value> =
                    pipeline.all().await.map_err(|e| fail(Client::Fred, e))?;
                let found = values
                    .iter()
                    .skip(sets.len())
                    .filter(|v| v.as_bytes().is_some_and(is_value))
                    .count();
                Ok(sets.len() + found)
            }
            FredBatch::Futures => {
                let mut other = self.clone();
                let (written, found) = tokio::join!(self.set_many(sets), other.get_many(gets));
                Ok(written? + found?)
            }
        }
    }

    async fn mget(&mut self, keys: &[Key]) -> OpResult<usize> {
        // fred sends a cross-slot MGET to one node, which refuses it with CROSSSLOT, so its
        // users group the keys by slot, send one MGET per slot and put the values back in order.
        let mut groups: Vec<(u16, Vec<usize>)> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let slot = fred::util::redis_keyslot(&k[..]);
            match groups.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, members)) => members.push(i),
                None => groups.push((slot, vec![i])),
            }
        }
        let replies = join_all(groups.iter().map(|(_, members)| {
            let group: Vec<FredKey> = members
                .iter()
                .map(|&i| FredKey::from(&keys[i][..]))
                .collect();
            self.client.mget::<Vec<Option<Bytes>>, _>(group)
        }))
        .await;
        let mut values: Vec<Option<Bytes>> = vec![None; keys.len()];
        for ((_, members), reply) in groups.iter().zip(replies) {
            let reply = reply.map_err(|e| fail(Client::Fred, e))?;
            if reply.len() != members.len() {
                return Err(fail(Client::Fred, "an MGET reply has the wrong length"));
            }
            for (&i, v) in members.iter().zip(reply) {
                values[i] = v;
            }
        }
        Ok(values
            .into_iter()
            .filter(|v| v.as_deref().is_some_and(is_value))
            .count())
    }

    async fn get_value(&mut self, key: &[u8]) -> OpResult<Option<Bytes>> {
        let value = self.client.get::<Option<Bytes>, _>(key).await;
        value.map_err(|e| fail(Client::Fred, e))
    }

    async fn set_value(&mut self, key: &[u8], value: Bytes) -> OpResult<()> {
        let done = self
            .client
            .set::<(), _, _>(key, value, None, None, false)
            .await;
        done.map_err(|e| fail(Client::Fred, e))
    }
}
