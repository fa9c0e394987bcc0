//! A transaction: `MULTI`, the commands, `EXEC`, as one write to the primary of the one slot
//! every key is in.
//!
//! The write is contiguous on the node's shared connection, so no other caller's command comes
//! between `MULTI` and `EXEC`. A node that redirects a queued command discards the whole
//! transaction (`EXECABORT`) without running any of it, so a redirection or a refusal
//! (`TRYAGAIN`, `CLUSTERDOWN` …) sends it all again, under the same budget as a single command.
//! After `ASK`, `ASKING` goes first: the permission lasts until `EXEC` inside a transaction.

use std::sync::Arc;
use std::time::Instant;

use crate::cluster::dispatch::backoff;
use crate::cluster::dispatch::classify::{classify, Action, Context};
use crate::cluster::dispatch::queueable;
use crate::cluster::node::NodeEntry;
use crate::cluster::stats::Counters;
use crate::cluster::RedisCluster;
use crate::connection::Connection;
use crate::connection::{command_name, deadline_in};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::{route, CommandInfo, Route};

/// What one attempt came to.
pub(super) enum Outcome {
    /// `EXEC` answered: one reply per command.
    Ran(Vec<Result<Value>>),
    /// Nothing ran, or it is safe to run again: `err` says why, the retry rules say what next.
    Retry(Error),
}

impl RedisCluster {
    /// Runs a transaction; one result per command, in queue order.
    pub(crate) async fn run_transaction(&self, cmds: &[Cmd]) -> Result<Vec<Result<Value>>> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        let (slot, readonly) = self.transaction_slot(cmds).await?;
        let settings = &self.inner.settings;
        let deadline = deadline_in(settings.retry_deadline);
        let context = Context {
            readonly,
            retry_writes: settings.retry_writes_on_io,
            via_replica: false,
            redirectable: true,
        };
        let mut asking: Option<Arc<NodeEntry>> = None;
        let mut attempt = 0u32;
        let mut counted = 0u32;
        let mut last: Option<Error> = None;
        loop {
            // A wait may have used up the deadline: sending now would leave no time for a reply,
            // and a transaction sent without one may still run after the caller heard it failed.
            if let Some(err) = last.take().filter(|_| Instant::now() >= deadline) {
                return Err(err);
            }
            let snapshot = self.snapshot();
            let serving = self.inner.serving_epoch();
            let asked = asking.is_some();
            let entry = match (asking.take(), slot) {
                (Some(entry), _) => Ok(entry),
                (None, Some(slot)) => snapshot.node_for_slot(slot, None).map(Arc::clone),
                (None, None) => Ok(self.default_entry()),
            };
            attempt += 1;
            let entry = match entry {
                Ok(entry) => entry,
                // A slot without a node, in a topology caught mid-change: wait for the next.
                Err(err) => {
                    if Instant::now() >= deadline {
                        return Err(err);
                    }
                    let wait = backoff::within(
                        backoff::delay(attempt, 20, settings.retry_max_backoff),
                        deadline,
                    );
                    self.inner.request_refresh();
                    self.inner
                        .wait_for_change_since(snapshot.generation, serving, wait)
                        .await;
                    last = Some(err);
                    continue;
                }
            };
            let err = match self
                .attempt_transaction(&entry.conn, cmds, asked, deadline)
                .await
            {
                Outcome::Ran(replies) => return Ok(replies),
                Outcome::Retry(err) => err,
            };
            // As for one command: lost connections are retried until the deadline, redirections
            // and refusals also only so many times.
            if !matches!(err.kind(), ErrorKind::Io | ErrorKind::Timeout) {
                counted += 1;
            }
            let action = classify(&err, context);
            if action == Action::Fail
                || counted > settings.retry_max_attempts
                || Instant::now() >= deadline
            {
                return Err(err);
            }
            match action {
                Action::Moved(redirect) => {
                    Counters::bump(&self.inner.counters.moved);
                    self.inner.apply_moved(&entry, &redirect);
                }
                Action::Ask(redirect) => {
                    Counters::bump(&self.inner.counters.ask);
                    asking = Some(self.inner.redirect_entry(&entry, &redirect));
                }
                Action::Retry {
                    base_ms, refresh, ..
                } => {
                    let wait = backoff::within(
                        backoff::delay(attempt, base_ms, settings.retry_max_backoff),
                        deadline,
                    );
                    self.inner
                        .pause_before_retry(refresh, wait, snapshot.generation, serving)
                        .await;
                }
                Action::Fail => return Err(err),
            }
            last = Some(err);
        }
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

    /// Sends `[ASKING] MULTI cmds… EXEC` on `conn` in one write and reads what came of it.
    pub(super) async fn attempt_transaction(
        &self,
        conn: &Connection,
        cmds: &[Cmd],
        asking: bool,
        deadline: Instant,
    ) -> Outcome {
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
        let timeout = backoff::within(self.inner.settings.connection.response_timeout, deadline);
        let node = conn.node();
        let values = match conn.send_batch_within(batch, timeout).await {
            Ok(values) => values,
            Err(e) => {
                return Outcome::Retry(
                    e.with_command("EXEC")
                        .with_note("the transaction may have run"),
                )
            }
        };
        let skip = usize::from(asking);
        let expected = skip + cmds.len() + 2;
        if values.len() != expected {
            return Outcome::Retry(
                Error::new(
                    ErrorKind::Protocol,
                    format!(
                        "a transaction of {} commands got {} replies",
                        cmds.len(),
                        values.len()
                    ),
                )
                .with_node(node),
            );
        }
        let mut values = values.into_iter().skip(skip);
        if let Some(Value::Error(e)) = values.next() {
            return Outcome::Retry(Error::from_server(e).with_node(node).with_command("MULTI"));
        }
        // A command refused while queueing: the node discarded the transaction. A redirection
        // or refusal is retried; anything else (a wrong argument count …) is the caller's.
        for (cmd, value) in cmds.iter().zip(values.by_ref()) {
            if let Value::Error(e) = value {
                let err = Error::from_server(e)
                    .with_node(node)
                    .with_command(command_name(cmd))
                    .with_note("the transaction was discarded: nothing of it ran");
                return Outcome::Retry(err);
            }
        }
        match values.next() {
            Some(Value::Array(replies)) if replies.len() == cmds.len() => Outcome::Ran(
                cmds.iter()
                    .zip(replies)
                    .map(|(cmd, reply)| match reply {
                        Value::Error(e) => Err(Error::from_server(e)
                            .with_node(node)
                            .with_command(command_name(cmd))),
                        v => Ok(v),
                    })
                    .collect(),
            ),
            Some(Value::Error(e)) => {
                Outcome::Retry(Error::from_server(e).with_node(node).with_command("EXEC"))
            }
            Some(Value::Nil) => Outcome::Retry(
                Error::new(
                    ErrorKind::Aborted,
                    "a watched key changed, so nothing of the transaction ran",
                )
                .with_node(node)
                .with_command("EXEC"),
            ),
            _ => Outcome::Retry(
                Error::new(ErrorKind::Protocol, "EXEC gave an unexpected reply")
                    .with_node(node)
                    .with_command("EXEC"),
            ),
        }
    }
}
