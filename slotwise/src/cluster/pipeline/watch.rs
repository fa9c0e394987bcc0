//! Optimistic locking: [`Watch`], `WATCH` on a connection of its own to the keys' primary, reads
//! on that connection, then a transaction that runs only if no watched key changed.
//!
//! The connection is opened for the watch and never reopened: a new socket would not carry the
//! `WATCH`, so a lost one fails the transaction instead of running it unguarded.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Pipeline;
use crate::cluster::dispatch::classify::refused_for_now;
use crate::cluster::dispatch::{queueable, Attempt, Destination, Operation};
use crate::cluster::node::NodeEntry;
use crate::cluster::RedisCluster;
use crate::commands::{CommandFuture, Executor};
use crate::connection::{command_name, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs, Value};
use crate::routing::{no_keys, one_slot, route, Route};

/// Keys watched on their primary, for a check-and-set transaction: read with the typed methods
/// (they run at once, on the watching connection), then queue the writes on
/// [`transaction`](Watch::transaction) and run it. If a watched key changed in between (or the
/// slot moved), the transaction does not run and fails with [`ErrorKind::Aborted`]: watch
/// again, read again and retry.
///
/// Every key, watched, read or written, must be in the watched keys' slot. Only plain reads
/// run on the watch itself; writes go in the transaction. A watch runs one transaction: `EXEC`
/// ends the `WATCH`, so a second one is refused.
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::StringCommands;
/// use slotwise::ErrorKind;
///
/// loop {
///     let watch = cluster.watch("{acct}:alice").await?;
///     let balance: i64 = watch.get("{acct}:alice").await?.unwrap_or(0);
///     let tx = watch.transaction();
///     let set = tx.set("{acct}:alice", balance * 2);
///     match tx.run().await {
///         Ok(mut replies) => break replies.take(set)?,
///         Err(e) if e.kind() == ErrorKind::Aborted => continue, // changed meanwhile
///         Err(e) => return Err(e),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a watch guards only the transaction made from it"]
pub struct Watch {
    pub(super) cluster: RedisCluster,
    pub(super) slot: u16,
    pub(super) conn: Connection,
    /// A transaction ran (or was sent): `EXEC` ends every `WATCH`, so the watch is used up.
    spent: Arc<AtomicBool>,
}

impl RedisCluster {
    /// Watches `keys` (all in one slot) on a connection of its own to their primary; see
    /// [`Watch`].
    pub async fn watch(&self, keys: impl ToArgs) -> Result<Watch> {
        let cmd = Cmd::new("WATCH").arg(keys);
        let Some(slot) = one_slot("WATCH", cmd.args().skip(1))? else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "WATCH needs at least one key",
            ));
        };
        let op = Operation {
            name: b"WATCH",
            // WATCH changes no data, and each attempt opens a socket of its own.
            readonly: true,
            follow_ask: false,
            lasts: Duration::ZERO,
        };
        let dest = Destination::Slot { slot, read: None };
        let conn = self.run_attempts(op, dest, Open { cmd: &cmd }).await?;
        Ok(Watch {
            cluster: self.clone(),
            slot,
            conn,
            spent: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// One attempt to open a watch: a connection of its own to the slot's primary, and `WATCH`.
struct Open<'a> {
    cmd: &'a Cmd,
}

impl Attempt for Open<'_> {
    type Output = Connection;

    async fn run(
        &mut self,
        entry: &Arc<NodeEntry>,
        _asking: bool,
        timeout: Duration,
    ) -> Result<Connection> {
        let conn = Connection::connect_single(entry.conn.config().clone()).await?;
        conn.send_within(self.cmd, timeout).await?;
        Ok(conn)
    }
}

impl Watch {
    /// The watched keys' slot.
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The node the keys are watched on, `host:port`.
    pub fn node(&self) -> &str {
        self.conn.node()
    }

    /// A transaction to run on the watching connection: queue commands on it, then
    /// [`run`](Pipeline::run) it. It fails with [`ErrorKind::Aborted`] if a watched key changed.
    pub fn transaction(&self) -> Pipeline {
        Pipeline::watched(self.clone())
    }

    /// Sends a read on the watching connection, after checking its keys are in the slot.
    async fn send(&self, cmd: &Cmd) -> Result<Value> {
        self.check_unspent()?;
        // A write here would run outside the transaction, and one to a watched key would abort
        // it every time; a blocking command would hold the connection past its timeout.
        if !self.check(cmd)? {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} is not a plain read: queue it on the watch's transaction() instead",
                    command_name(cmd)
                ),
            ));
        }
        self.conn.send(cmd).await
    }

    fn check_unspent(&self) -> Result<()> {
        if self.spent.load(Ordering::Acquire) {
            return Err(spent());
        }
        Ok(())
    }

    /// Refuses a command whose keys are not in the watched slot, or that changes the
    /// connection's state.
    ///
    /// Returns whether it is a plain read (read-only, not blocking), the only kind that may be
    /// sent on the watch itself.
    pub(super) fn check(&self, cmd: &Cmd) -> Result<bool> {
        let snapshot = self.cluster.snapshot();
        let info = queueable(&snapshot.table, cmd)?;
        let plain_read = info.is_some_and(|info| info.is_readonly() && !info.is_blocking());
        match route(info, cmd)? {
            Route::Slot(slot) if slot == self.slot => Ok(plain_read),
            Route::Slot(slot) => Err(Error::new(
                ErrorKind::CrossSlot,
                format!(
                    "{} is on slot {slot}, but the watched keys are on slot {}",
                    command_name(cmd),
                    self.slot
                ),
            )),
            Route::Default => Ok(plain_read),
            Route::NoKeys => Err(no_keys(&command_name(cmd))),
            _ => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} does not run on one node and cannot be sent on a watching connection",
                    command_name(cmd)
                ),
            )),
        }
    }

    /// Runs `cmds` as `MULTI` … `EXEC` on the watching connection, once; the watch is used up.
    pub(super) async fn run_transaction(&self, cmds: &[Cmd]) -> Result<Vec<Result<Value>>> {
        self.check_unspent()?;
        for cmd in cmds {
            self.check(cmd)?;
        }
        if self.spent.swap(true, Ordering::AcqRel) {
            return Err(spent());
        }
        let outcome = self
            .cluster
            .attempt_transaction(&self.conn, cmds, false, self.conn.config().response_timeout)
            .await;
        // The WATCH is over either way: free the connection.
        self.conn.disconnect();
        match outcome {
            Ok(replies) => Ok(replies),
            // The slot moved or is moving, or the cluster refused: nothing ran, and the WATCH
            // ended with the transaction. Watching again is the caller's next step, as after a
            // change to a watched key.
            Err(err) if refused_for_now(err.kind()) => Err(Error::new(
                ErrorKind::Aborted,
                format!("nothing of the transaction ran ({err}); watch again"),
            )),
            Err(err) => Err(err),
        }
    }
}

impl Executor for Watch {
    type Output<T: FromValue + Send + 'static> = CommandFuture<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
        let watch = self.clone();
        CommandFuture::new(async move { T::from_value(watch.send(&cmd).await?) })
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("slot", &self.slot)
            .field("node", &self.conn.node())
            .finish()
    }
}

fn spent() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "this watch has run its transaction, which ended the WATCH; call watch() again",
    )
}
