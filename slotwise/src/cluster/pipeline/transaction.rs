//! A transaction: `MULTI`, the commands, `EXEC`, as one write to the primary of the one slot
//! every key is in.
//!
//! The write is contiguous on the node's shared connection, so no other caller's command comes
//! between `MULTI` and `EXEC`. A node that redirects a queued command discards the whole
//! transaction (`EXECABORT`) without running any of it, so a redirection or a refusal
//! (`TRYAGAIN`, `CLUSTERDOWN` …) sends it all again, under the same budget as a single command.
//! After `ASK`, `ASKING` goes first: the permission lasts until `EXEC` inside a transaction.

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::dispatch::{queueable, Destination, Operation};
use crate::cluster::node::NodeEntry;
use crate::cluster::RedisCluster;
use crate::connection::command_name;
use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::{no_keys, route, CommandInfo, Route};

/// One attempt of a transaction, for the attempt loop.
struct Attempt<'a> {
    cluster: &'a RedisCluster,
    cmds: &'a [Cmd],
}

impl crate::cluster::dispatch::Attempt for Attempt<'_> {
    type Output = Vec<Result<Value>>;

    async fn run(
        &mut self,
        entry: &Arc<NodeEntry>,
        asking: bool,
        timeout: Duration,
    ) -> Result<Vec<Result<Value>>> {
        self.cluster
            .attempt_transaction(&entry.conn, self.cmds, asking, timeout)
            .await
    }
}

impl RedisCluster {
    /// Runs a transaction; one result per command, in queue order.
    pub(crate) async fn run_transaction(&self, cmds: &[Cmd]) -> Result<Vec<Result<Value>>> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        let (slot, readonly) = self.transaction_slot(cmds).await?;
        let dest = match slot {
            Some(slot) => Destination::Slot { slot, read: None },
            None => Destination::Default,
        };
        let op = Operation {
            name: b"MULTI",
            readonly,
            follow_ask: true,
            lasts: Duration::ZERO,
        };
        self.run_attempts(
            op,
            dest,
            Attempt {
                cluster: self,
                cmds,
            },
        )
        .await
    }

    /// The one slot of a transaction's keys (`None` if it has none), and whether every command
    /// only reads. Refuses, before anything is sent, keys in several slots and commands that
    /// cannot run inside one node's transaction.
    pub(super) async fn transaction_slot(&self, cmds: &[Cmd]) -> Result<(Option<u16>, bool)> {
        let snapshot = self.snapshot();
        let mut slot: Option<(u16, usize)> = None;
        let mut readonly = true;
        for (i, cmd) in cmds.iter().enumerate() {
            let info = queueable(&snapshot.table, cmd)?;
            readonly &= info.is_some_and(CommandInfo::is_readonly);
            let this = match route(info, cmd)? {
                Route::Slot(s) => Some(s),
                Route::Default => None,
                Route::AskKeys => self.slot_from_server(cmd).await?,
                Route::NoKeys => return Err(no_keys(&command_name(cmd))),
                Route::AllNodes(_) | Route::AllShards(_) | Route::Split => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "{} runs on several nodes and cannot be part of a transaction, which \
                             runs on one",
                            command_name(cmd)
                        ),
                    ))
                }
            };
            match (slot, this) {
                (None, Some(s)) => slot = Some((s, i)),
                (Some((first, at)), Some(s)) if s != first => {
                    return Err(Error::new(
                        ErrorKind::CrossSlot,
                        format!(
                            "command {at} ({}) is on slot {first} and command {i} ({}) on slot \
                             {s}, but a transaction runs on one slot: give its keys a common \
                             {{hash tag}}",
                            command_name(&cmds[at]),
                            command_name(cmd)
                        ),
                    ))
                }
                _ => {}
            }
        }
        Ok((slot.map(|(s, _)| s), readonly))
    }

    /// Sends `[ASKING] MULTI cmds… EXEC` on `conn` in one write and reads what came of it: one
    /// reply per command once `EXEC` answered, or the error that kept it from running (or that
    /// may have cut it short) for the retry rules to judge.
    pub(super) async fn attempt_transaction(
        &self,
        conn: &Connection,
        cmds: &[Cmd],
        asking: bool,
        timeout: Duration,
    ) -> Result<Vec<Result<Value>>> {
        let asking_cmd = Cmd::new("ASKING");
        let multi = Cmd::new("MULTI");
        let exec = Cmd::new("EXEC");
        let mut batch: Vec<&Cmd> = Vec::with_capacity(cmds.len() + 3);
        if asking {
            batch.push(&asking_cmd);
        }
        batch.push(&multi);
        batch.extend(cmds);
        batch.push(&exec);
        let node = conn.node();
        let values = match conn.send_batch_within(batch, timeout).await {
            Ok(values) => values,
            Err(e) => {
                return Err(e
                    .with_command("EXEC")
                    .with_note("the transaction may have run"))
            }
        };
        let skip = usize::from(asking);
        let expected = skip + cmds.len() + 2;
        if values.len() != expected {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "a transaction of {} commands got {} replies",
                    cmds.len(),
                    values.len()
                ),
            )
            .with_node(node));
        }
        let mut values = values.into_iter().skip(skip);
        if let Some(Value::Error(e)) = values.next() {
            return Err(Error::from_server(e).with_node(node).with_command("MULTI"));
        }
        // A command refused while queueing: the node discarded the transaction. A redirection
        // or refusal is retried; anything else (a wrong argument count …) is the caller's.
        for (cmd, value) in cmds.iter().zip(values.by_ref()) {
            if let Value::Error(e) = value {
                let err = Error::from_server(e)
                    .with_node(node)
                    .with_command(command_name(cmd))
                    .with_note("the transaction was discarded: nothing of it ran");
                return Err(err);
            }
        }
        match values.next() {
            Some(Value::Array(replies)) if replies.len() == cmds.len() => Ok(cmds
                .iter()
                .zip(replies)
                .map(|(cmd, reply)| match reply {
                    Value::Error(e) => Err(Error::from_server(e)
                        .with_node(node)
                        .with_command(command_name(cmd))),
                    v => Ok(v),
                })
                .collect()),
            Some(Value::Error(e)) => {
                Err(Error::from_server(e).with_node(node).with_command("EXEC"))
            }
            Some(Value::Nil) => Err(Error::new(
                ErrorKind::Aborted,
                "a watched key changed, so nothing of the transaction ran",
            )
            .with_node(node)
            .with_command("EXEC")),
            _ => Err(
                Error::new(ErrorKind::Protocol, "EXEC gave an unexpected reply")
                    .with_node(node)
                    .with_command("EXEC"),
            ),
        }
    }
}
