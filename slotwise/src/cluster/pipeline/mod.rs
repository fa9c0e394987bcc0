//! Pipelines and transactions across the cluster: [`Pipeline`], [`Queued`], [`Replies`].
//!
//! A pipeline queues commands with the same typed methods as the client (each call returns a
//! [`Queued`] handle instead of a reply), then [`Pipeline::run`] sends them. `batch` runs a
//! plain pipeline: commands grouped by node, one write per node, every node at once; the
//! commands a node redirected or could not take are retried through the dispatcher, in their
//! order within each slot. `transaction` runs `MULTI` … `EXEC` on the one slot all its keys
//! share.

mod batch;
mod transaction;
mod watch;

pub use watch::Watch;

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{RedisCluster, Script};
use crate::commands::Executor;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs, Value};

/// Tells one pipeline's handles from another's.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Commands queued to be sent together: a plain pipeline ([`RedisCluster::pipeline`]) or a
/// transaction ([`RedisCluster::transaction`]).
///
/// Queue commands with the usual typed methods (bring the command traits into scope); each
/// returns a [`Queued`] handle for its reply. [`run`](Pipeline::run) sends them all and gives
/// back the [`Replies`].
///
/// In a plain pipeline each command is routed on its own: keys may live in any slot. Commands
/// go out grouped by node, one write per node, all nodes at once; the replies come back in the
/// order of the queue. A command that fails does not fail the others: its handle gives its
/// error.
///
/// - **Order.** Commands on one slot are sent in the order they were queued. A command the
///   node redirected (its slot moving or moved) or refused for now (`TRYAGAIN`,
///   `CLUSTERDOWN`) is sent again, with the others redirected on its slot, in queue order,
///   after the first pass: the commands queued after it that the node did run have run before
///   it. Commands that run on several nodes (`DBSIZE`, `KEYS`, multi-key `DEL` …) or that need
///   the server to find their keys run alone, after everything queued before them and before
///   everything queued after; so do blocking commands (`BLPOP` …), which hold the rest of the
///   pipeline until they return.
/// - **Reads from replicas.** On a [`readonly`](RedisCluster::readonly) handle, a read goes
///   to a replica unless a write on its slot was queued before it in the same pipeline.
/// - **Time.** The whole pipeline shares one retry deadline (the client's `retry_deadline`);
///   a command not sent by then fails with a timeout.
/// - **Lost connections.** When a node's connection fails under a batch, its read-only
///   commands are sent again; its writes fail with an error that says they may have run
///   (unless the client was built with `retry_writes_on_io`).
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::StringCommands;
///
/// let pipe = cluster.pipeline();
/// let set = pipe.set("a", 1);
/// let counter = pipe.incr("counter");
/// let a = pipe.get::<String>("a");
/// let mut replies = pipe.run().await?;
/// replies.take(set)?; // a SET's handle is how its error would come back
/// let n: i64 = replies.take(counter)?;
/// assert_eq!(replies.take(a)?.as_deref(), Some("1"));
/// # Ok(()) }
/// ```
#[must_use = "a pipeline sends nothing until it is run"]
pub struct Pipeline {
    cluster: RedisCluster,
    transaction: bool,
    /// A transaction guarded by a `WATCH`: it runs on the watching connection.
    watch: Option<Watch>,
    id: u64,
    cmds: Mutex<Vec<Cmd>>,
}

impl Pipeline {
    pub(crate) fn new(cluster: RedisCluster, transaction: bool) -> Pipeline {
        Pipeline {
            cluster,
            transaction,
            watch: None,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            cmds: Mutex::new(Vec::new()),
        }
    }

    fn watched(watch: Watch) -> Pipeline {
        Pipeline {
            watch: Some(watch.clone()),
            ..Pipeline::new(watch.cluster, true)
        }
    }

    /// Queues a command built by hand (for anything the typed methods do not cover).
    pub fn add(&self, cmd: Cmd) -> Queued<Value> {
        self.execute(cmd)
    }

    /// Queues `script` with `keys` and `args`, sent as `EVAL` with its source (a node without
    /// the script in its cache could not answer `EVALSHA` inside a batch).
    pub fn eval_script<T: FromValue + Send + 'static>(
        &self,
        script: &Script,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Queued<T> {
        self.execute(script.eval(keys, args))
    }

    /// How many commands are queued.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// True for a transaction (`MULTI` … `EXEC`), false for a plain pipeline.
    pub fn is_transaction(&self) -> bool {
        self.transaction
    }

    /// Sends every queued command and waits for all the replies.
    ///
    /// An error here means nothing useful came back for the pipeline as a whole: a command
    /// that cannot be routed (an atomic command across slots, a command that changes the shared
    /// connection's state), checked before anything is sent; for a transaction, also keys in
    /// several slots, a command the server refused to queue (nothing was run), or a lost
    /// connection after `EXEC` may have been sent; for a transaction of a [`Watch`],
    /// [`ErrorKind::Aborted`] when a watched key changed. Each command's own outcome is in the
    /// [`Replies`].
    pub async fn run(self) -> Result<Replies> {
        let cmds = std::mem::take(&mut *self.lock());
        let replies = if let Some(watch) = &self.watch {
            watch.run_transaction(&cmds).await?
        } else if self.transaction {
            self.cluster.run_transaction(&cmds).await?
        } else {
            self.cluster.run_batch(&cmds).await?
        };
        Ok(Replies {
            pipeline: self.id,
            replies: replies.into_iter().map(Some).collect(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Cmd>> {
        self.cmds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Executor for Pipeline {
    type Output<T: FromValue + Send + 'static> = Queued<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Queued<T> {
        let mut cmds = self.lock();
        cmds.push(cmd);
        Queued {
            pipeline: self.id,
            index: cmds.len() - 1,
            reply: PhantomData,
        }
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("transaction", &self.transaction)
            .field("queued", &self.len())
            .finish()
    }
}

/// The handle of one queued command: [`Replies::take`] turns it into the command's reply,
/// typed as the method that queued it said.
///
/// A command's error comes back only through its handle (or through [`Replies::query`], which
/// reads every reply at once), so a dropped handle is warned about, as an unused `Result` is:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::StringCommands;
///
/// let pipe = cluster.pipeline();
/// pipe.set("a", 1); // a failed SET would go unnoticed
/// pipe.run().await?.query::<Vec<slotwise::protocol::Value>>()?;
/// # Ok(()) }
/// ```
///
/// Take it, or bind it to `_` when the replies are read together:
///
/// ```no_run
/// #![deny(unused_must_use)]
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::StringCommands;
///
/// let pipe = cluster.pipeline();
/// let set = pipe.set("a", 1);
/// let _ = pipe.set("b", 2);
/// let mut replies = pipe.run().await?;
/// replies.take(set)?;
/// # Ok(()) }
/// ```
#[must_use = "the command's reply, and its error if it failed, are only read through `Replies::take`; to read every reply at once with `Replies::query`, or to ignore this one, bind it to `_`"]
pub struct Queued<T> {
    pipeline: u64,
    index: usize,
    reply: PhantomData<fn() -> T>,
}

impl<T> Queued<T> {
    /// The command's place in its pipeline, from 0.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<T> fmt::Debug for Queued<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued")
            .field("index", &self.index)
            .finish()
    }
}

/// The replies of a pipeline that ran, one per queued command, in the order they were queued.
#[derive(Debug)]
#[must_use = "each command's error is in its reply: take or query the replies"]
pub struct Replies {
    pipeline: u64,
    replies: Vec<Option<Result<Value>>>,
}

impl Replies {
    /// The reply of the command `queued` stands for, converted to its type; the command's error
    /// if it failed.
    pub fn take<T: FromValue>(&mut self, queued: Queued<T>) -> Result<T> {
        if queued.pipeline != self.pipeline {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "this handle was queued on another pipeline",
            ));
        }
        match self.replies.get_mut(queued.index).and_then(Option::take) {
            Some(reply) => T::from_value(reply?),
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("the reply of command {} was taken already", queued.index),
            )),
        }
    }

    /// How many commands ran.
    pub fn len(&self) -> usize {
        self.replies.len()
    }

    /// True when the pipeline was empty.
    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    /// Every reply not taken yet, in queue order, as its `Result`; `None` for those taken.
    pub fn into_results(self) -> Vec<Option<Result<Value>>> {
        self.replies
    }

    /// Every reply converted together, as if they were one array reply: `(A, B, C)` for a
    /// pipeline of three, `Vec<T>` for one of any length. The first failed command's error
    /// if any failed.
    pub fn query<T: FromValue>(self) -> Result<T> {
        let mut values = Vec::with_capacity(self.replies.len());
        for (i, reply) in self.replies.into_iter().enumerate() {
            match reply {
                Some(reply) => values.push(reply?),
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!("the reply of command {i} was taken already"),
                    ))
                }
            }
        }
        T::from_value(Value::Array(values))
    }
}

impl RedisCluster {
    /// A pipeline: commands queued, then sent together, grouped by node (see [`Pipeline`]).
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.clone(), false)
    }

    /// A transaction: commands queued, then run as one `MULTI` … `EXEC` on their slot's
    /// primary (also from a [`readonly`](Self::readonly) handle). Every key must be in one slot
    /// (use a hash tag, `{user1}:a` and `{user1}:b`); this is checked before anything is sent.
    /// A redirection (the slot moved or is moving) sends the whole transaction again to the
    /// right node; nothing of a transaction a node refused has run. A lost connection after
    /// `EXEC` was sent fails it with an error that says it may have run, unless every command
    /// only reads (or the client was built with `retry_writes_on_io`). For check-and-set, see
    /// [`watch`](Self::watch).
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::commands::StringCommands;
    ///
    /// let tx = cluster.transaction();
    /// // Every reply at once: `query` gives the first failed command's error, so the handles
    /// // are not needed.
    /// let _ = tx.decrby("{acct}:alice", 10);
    /// let _ = tx.incrby("{acct}:bob", 10);
    /// let (alice, bob): (i64, i64) = tx.run().await?.query()?;
    /// # Ok(()) }
    /// ```
    pub fn transaction(&self) -> Pipeline {
        Pipeline::new(self.clone(), true)
    }
}
