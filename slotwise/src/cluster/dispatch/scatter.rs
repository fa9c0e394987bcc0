//! Many commands at once, one write per node: the first pass of a pipeline and of a command
//! split by slot.
//!
//! The commands are grouped by the node each goes to, every node's share goes out in one write,
//! all nodes at once, and each reply is judged by the same rules as one command's attempt
//! (`classify`): a reply or an error the caller keeps is done; a `MOVED` is followed (the slot
//! map patched and counted) and, like every other redirection or refusal and every lost command
//! that is safe to send again, the command is handed back for the caller to retry through the
//! attempt loop, in whatever order it must keep.
//!
//! This module does not decide where a command goes (the callers do, from their own plans) and
//! does not retry (the attempt loop does).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::classify::{classify, Action, Context};
use super::via_replica;
use crate::cluster::node::NodeEntry;
use crate::cluster::RedisCluster;
use crate::connection::command_name;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};

/// Commands grouped by the node they go to: each node with the indices of its commands, in
/// order.
#[derive(Debug, Default)]
pub(crate) struct Groups(Vec<(Arc<NodeEntry>, Vec<usize>)>);

impl Groups {
    /// Adds command `index` to `entry`'s share.
    pub(crate) fn push(&mut self, entry: &Arc<NodeEntry>, index: usize) {
        match self.0.iter_mut().find(|(e, _)| Arc::ptr_eq(e, entry)) {
            Some((_, list)) => list.push(index),
            None => self.0.push((Arc::clone(entry), vec![index])),
        }
    }
}

/// A command of a scatter, as the reply rules need to know it.
pub(crate) trait Item {
    /// What is sent.
    fn cmd(&self) -> &Cmd;
    /// It only reads: safe to send again after a lost connection.
    fn readonly(&self) -> bool;
}

impl RedisCluster {
    /// Sends every group's commands to its node in one write, all nodes at once, each waiting at
    /// most `timeout`. Writes the outcome of each command that is done into `out` (by index) and
    /// returns, in queue order, the indices of those to retry.
    pub(crate) async fn scatter<I: Item>(
        &self,
        items: &[I],
        groups: Groups,
        timeout: Duration,
        out: &mut [Option<Result<Value>>],
    ) -> Vec<usize> {
        let batches = join_all(groups.0.iter().map(|(entry, list)| {
            let batch: Vec<&Cmd> = list.iter().map(|&i| items[i].cmd()).collect();
            async move { entry.conn.send_batch_within(batch, timeout).await }
        }))
        .await;
        let mut again = Vec::new();
        for ((entry, list), batch) in groups.0.iter().zip(batches) {
            let context = |i: usize| Context {
                readonly: items[i].readonly(),
                retry_writes: self.inner.settings.retry_writes_on_io,
                via_replica: via_replica(entry),
                redirectable: true,
            };
            match batch {
                Ok(values) if values.len() == list.len() => {
                    for (&i, value) in list.iter().zip(values) {
                        let Value::Error(e) = value else {
                            out[i] = Some(Ok(value));
                            continue;
                        };
                        let err = Error::from_server(e)
                            .with_node(entry.node.name())
                            .with_command(command_name(items[i].cmd()));
                        match classify(&err, context(i)) {
                            Action::Fail => out[i] = Some(Err(err)),
                            Action::Moved(redirect) => {
                                self.inner.follow_moved(entry, &redirect);
                                again.push(i);
                            }
                            _ => again.push(i),
                        }
                    }
                }
                Ok(_) => {
                    let err = Error::new(
                        ErrorKind::Protocol,
                        "a batch got the wrong number of replies",
                    )
                    .with_node(entry.node.name());
                    for &i in list {
                        out[i] = Some(Err(err.clone()));
                    }
                }
                // The node failed as a whole: what may have run is sent again only if safe.
                Err(e) => {
                    for &i in list {
                        let err = e.clone().with_command(command_name(items[i].cmd()));
                        match classify(&err, context(i)) {
                            Action::Fail => out[i] = Some(Err(err)),
                            _ => again.push(i),
                        }
                    }
                }
            }
        }
        again.sort_unstable();
        again
    }
}
