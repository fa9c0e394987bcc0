//! The attempt loop: one attempt after another until a reply, an error that must not be
//! retried, or the end of the budget (attempts and deadline).
//!
//! Every operation that may meet a redirection runs through [`RedisCluster::run_attempts`]:
//! single commands, transactions (`MULTI` … `EXEC`), the opening of a [`Watch`], the commands
//! of a pipeline or a split command that came back redirected, and each sharded channel's
//! `SSUBSCRIBE`. What one attempt does is
//! an [`Attempt`]; what happens after it fails is decided here, once: follow a `MOVED` (patching
//! the slot map) or an `ASK`, wait for a new topology, back off, or give up, counting each in
//! [`Stats`](crate::Stats).
//!
//! Each attempt picks its node afresh from the current snapshot, so a retry after a topology
//! change goes to the new owner. Waits for a new topology end as soon as one is installed.
//!
//! [`Watch`]: crate::Watch

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::Either;
use tracing::Instrument;

use super::backoff;
use super::classify::{classify, Action, Cause, Context, Refresh};
use super::{send_asking, send_dedicated, via_replica};
use crate::cluster::node::NodeEntry;
use crate::cluster::read_from::ReadFrom;
use crate::cluster::stats::Counters;
use crate::cluster::RedisCluster;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::Block;

/// Where the attempts of one operation go.
#[derive(Clone, Debug)]
pub(crate) enum Destination {
    /// The node serving the slot; with `read`, chosen by the read strategy.
    Slot {
        slot: u16,
        read: Option<HandleReads>,
    },
    /// This node, never another.
    Node(Arc<NodeEntry>),
    /// The default node at each attempt: one that cannot be reached is replaced by another
    /// primary before the retry.
    Default,
}

/// A read whose node the strategy of the handle running the attempts chooses (its
/// [`ReadFrom`]): the strategy stays on the handle rather than being copied into every
/// destination, which keeps a command's future small whatever the strategy holds (a zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HandleReads;

/// One try of an operation on one node.
pub(crate) trait Attempt {
    type Output;

    /// Tries on `entry`, waiting at most `timeout` for the reply. `asking` is set when an
    /// `ASK` sent the operation there: `ASKING` goes first, in the same write.
    fn run(
        &mut self,
        entry: &Arc<NodeEntry>,
        asking: bool,
        timeout: Duration,
    ) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// What the attempt loop needs to know of an operation besides where it goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operation<'a> {
    /// Its name, for traces.
    pub(crate) name: &'a [u8],
    /// It only reads: sending it again after a lost connection is safe.
    pub(crate) readonly: bool,
    /// An `ASK` is followed to the importing node; otherwise the operation waits for the slot
    /// to settle on one node (a [`Watch`](crate::Watch), whose later reads carry no `ASKING`).
    pub(crate) follow_ask: bool,
    /// How long it may take besides the round trips (a blocking command's block time): the
    /// retry deadline is that much later.
    pub(crate) lasts: Duration,
}

/// One command, as an [`Attempt`].
struct OneCommand<'a> {
    cmd: &'a Cmd,
    /// A blocking command (a connection of its own), and how long it may block.
    blocks: Option<Duration>,
    /// How many idle connections of blocking commands a node keeps.
    keep: usize,
}

impl Attempt for OneCommand<'_> {
    type Output = Value;

    fn run(
        &mut self,
        entry: &Arc<NodeEntry>,
        asking: bool,
        timeout: Duration,
    ) -> impl Future<Output = Result<Value>> + Send {
        // The common case is the connection's own future, with nothing around it; the rare
        // ones (after an `ASK`, a blocking command) are boxed so they do not make it larger.
        if asking || self.blocks.is_some() {
            let (cmd, blocks, keep) = (self.cmd, self.blocks, self.keep);
            Either::Left(Box::pin(async move {
                match blocks {
                    Some(blocks) => send_dedicated(entry, cmd, blocks, keep).await,
                    None => send_asking(entry, cmd, timeout).await,
                }
            }))
        } else {
            Either::Right(entry.conn.send_within(self.cmd, timeout))
        }
    }
}

/// An attempt made outside the loop, which failed: where it went and what it met, and what
/// the loop would have noted before making it.
#[derive(Debug)]
pub(crate) struct Tried {
    pub(crate) entry: Arc<NodeEntry>,
    pub(crate) error: Error,
    /// When the operation began: its deadline counts from then.
    pub(crate) started: Instant,
    /// The generation of the snapshot the node was chosen from.
    pub(crate) generation: u64,
    /// The serving epoch then.
    pub(crate) serving: u64,
}

tokio::task_local! {
    /// A deadline several commands share (a pipeline's), for the commands run inside
    /// [`within_deadline`]: each ends by it or by its own, whichever comes first.
    pub(super) static SHARED_DEADLINE: Instant;
}

/// Runs `f` with every command it sends bound by `deadline` as well as by its own.
pub(crate) async fn within_deadline<F: std::future::Future>(deadline: Instant, f: F) -> F::Output {
    SHARED_DEADLINE.scope(deadline, f).await
}

impl RedisCluster {
    /// Runs `cmd` until it succeeds or its budget is spent; a command that `blocks` gets a
    /// connection of its own, and its budget is longer by the time it may block.
    pub(crate) async fn dispatch(
        &self,
        cmd: &Cmd,
        dest: Destination,
        readonly: bool,
        blocks: Block,
    ) -> Result<Value> {
        let (op, attempt) = self.one_command(cmd, readonly, blocks);
        self.run_attempts(op, dest, attempt).await
    }

    /// `cmd` as an operation of the attempt loop and its attempts.
    fn one_command<'c>(
        &self,
        cmd: &'c Cmd,
        readonly: bool,
        blocks: Block,
    ) -> (Operation<'c>, OneCommand<'c>) {
        let blocks = match blocks {
            Block::Not => None,
            Block::For(d) => Some(d),
            Block::Forever => Some(crate::connection::FOREVER),
        };
        let op = Operation {
            name: cmd.name(),
            readonly,
            follow_ask: true,
            lasts: blocks.unwrap_or_default(),
        };
        let keep = self.inner.settings.blocking_idle;
        (op, OneCommand { cmd, blocks, keep })
    }

    /// Runs `attempt` until it succeeds or the budget is spent, following redirections and
    /// retrying what is safe to retry.
    pub(crate) async fn run_attempts<A: Attempt>(
        &self,
        op: Operation<'_>,
        dest: Destination,
        attempt: A,
    ) -> Result<A::Output> {
        self.attempt_loop(op, dest, attempt, None)
            .instrument(command_span(op.name))
            .await
    }

    /// Goes on with a command whose first attempt, made without the attempt loop (see
    /// `direct`), failed as `first` tells: what the loop would have done after that attempt.
    pub(crate) async fn run_after(&self, cmd: &Cmd, first: super::direct::Failed) -> Result<Value> {
        // Only commands that do not block take the direct path.
        let (op, attempt) = self.one_command(cmd, first.readonly, Block::Not);
        let dest = Destination::Slot {
            slot: first.slot,
            read: first.read,
        };
        self.attempt_loop(op, dest, attempt, Some(Box::new(first.tried)))
            .instrument(command_span(op.name))
            .await
    }

    /// The loop itself; `first`, when given, is the outcome of an attempt already made (boxed:
    /// inline, it would make every command's future larger).
    async fn attempt_loop<A: Attempt>(
        &self,
        op: Operation<'_>,
        mut dest: Destination,
        mut op_attempt: A,
        mut first: Option<Box<Tried>>,
    ) -> Result<A::Output> {
        let settings = &self.inner.settings;
        // In a block: what only the deadline needs takes no room in the loop's future.
        let deadline = {
            let budget = settings.retry_deadline.checked_add(op.lasts);
            let started = first
                .as_ref()
                .map_or_else(Instant::now, |tried| tried.started);
            let own = crate::connection::later_than(started, budget.unwrap_or(op.lasts));
            SHARED_DEADLINE.try_with(|d| own.min(*d)).unwrap_or(own)
        };
        let mut asking: Option<Arc<NodeEntry>> = None;
        let mut attempt = 0u32;
        let mut counted = 0u32;
        loop {
            // The next attempt goes to another node at once: no reason to wait before it.
            let mut elsewhere = false;
            let asked = asking.take();
            let is_asking = asked.is_some();
            let (entry, result, generation, serving) = match first.take() {
                Some(tried) => {
                    let Tried {
                        entry,
                        error,
                        generation,
                        serving,
                        ..
                    } = *tried;
                    (entry, Err(error), generation, serving)
                }
                None => {
                    let snapshot = self.snapshot();
                    let serving = self.inner.serving_epoch();
                    let timeout = backoff::within(settings.connection.response_timeout, deadline);
                    let entry = match (asked, &dest) {
                        (Some(entry), _) => entry,
                        (None, Destination::Node(entry)) => Arc::clone(entry),
                        (None, Destination::Default) => self.default_entry(),
                        (None, Destination::Slot { slot, read }) => {
                            match snapshot.node_for_slot(*slot, read.map(|_| self.strategy())) {
                                Ok(entry) => Arc::clone(entry),
                                Err(e) => {
                                    // A slot without a node, in a topology caught mid-change:
                                    // wait for the next one within the deadline rather than
                                    // fail at once.
                                    attempt += 1;
                                    if e.kind() != ErrorKind::SlotNotCovered
                                        || Instant::now() >= deadline
                                    {
                                        return Err(e);
                                    }
                                    let wait = backoff::within(
                                        backoff::delay(attempt, 20, settings.retry_max_backoff),
                                        deadline,
                                    );
                                    self.inner.request_refresh();
                                    let generation = snapshot.generation;
                                    // The waits are boxed, so that the loop's future is no
                                    // larger than its send.
                                    Box::pin(
                                        self.inner.wait_for_change_since(generation, serving, wait),
                                    )
                                    .await;
                                    continue;
                                }
                            }
                        }
                    };
                    let generation = snapshot.generation;
                    drop(snapshot);
                    // One await point for every kind of destination keeps the loop's future
                    // small.
                    let result = op_attempt.run(&entry, is_asking, timeout).await;
                    (entry, result, generation, serving)
                }
            };
            // A lost or refused connection, not a slow reply: a default node that is only slow
            // (or paused) stays the default.
            if !is_asking
                && matches!(dest, Destination::Default)
                && result.as_ref().is_err_and(|e| e.kind() == ErrorKind::Io)
            {
                elsewhere = self.inner.default_unreachable(&entry);
            }
            let err = match result {
                Ok(value) => {
                    let span = tracing::Span::current();
                    span.record("node", entry.node.name());
                    span.record("attempts", attempt + 1);
                    return Ok(value);
                }
                Err(e) => e,
            };
            attempt += 1;
            if !matches!(err.kind(), ErrorKind::Io | ErrorKind::Timeout) {
                counted += 1;
            }
            let ctx = Context {
                readonly: op.readonly,
                retry_writes: settings.retry_writes_on_io,
                via_replica: via_replica(&entry),
                redirectable: matches!(dest, Destination::Slot { .. }),
            };
            let action = classify(&err, ctx);
            // Lost connections are retried until the deadline, however many attempts that
            // takes (a failover keeps a slot unreachable for seconds); redirections and the
            // server's own retry signals are also capped by count.
            let out_of_budget = counted > settings.retry_max_attempts || Instant::now() >= deadline;
            if action == Action::Fail || out_of_budget {
                tracing::debug!(node = entry.node.name(), attempt, error = %err, "command failed");
                return Err(exhausted(
                    err,
                    &entry,
                    attempt,
                    out_of_budget && action != Action::Fail,
                ));
            }
            match action {
                Action::Moved(redirect) => {
                    tracing::Span::current().record("redirect", "moved");
                    self.inner.follow_moved(&entry, &redirect);
                }
                Action::Ask(redirect) if op.follow_ask => {
                    tracing::Span::current().record("redirect", "ask");
                    asking = Some(self.inner.follow_ask(&entry, &redirect));
                }
                // A slot in migration: wait for it to settle on one node.
                Action::Ask(_) => {
                    Counters::bump(&self.inner.counters.ask);
                    let wait = backoff::within(
                        backoff::delay(attempt, 50, settings.retry_max_backoff),
                        deadline,
                    );
                    Box::pin(self.inner.pause_before_retry(
                        Refresh::AwaitChange,
                        wait,
                        generation,
                        serving,
                    ))
                    .await;
                }
                Action::Retry {
                    cause,
                    base_ms,
                    refresh,
                    to_primary,
                } => {
                    self.inner.count_retry(cause);
                    if refused_while_cluster_down(&err) {
                        self.inner.note_refusing(&entry);
                    }
                    if to_primary {
                        if let Destination::Slot { read, .. } = &mut dest {
                            // Keep a strict replica strategy strict; others fall back.
                            if !matches!(self.strategy(), ReadFrom::Replica) {
                                *read = None;
                            }
                        }
                    }
                    let wait = backoff::within(
                        backoff::delay(attempt, base_ms, settings.retry_max_backoff),
                        deadline,
                    );
                    if !elsewhere {
                        Box::pin(
                            self.inner
                                .pause_before_retry(refresh, wait, generation, serving),
                        )
                        .await;
                    }
                }
                Action::Fail => return Err(err),
            }
            // The wait may have used up the deadline: an attempt now would have no time for a
            // reply, and a write sent without one may still run after the caller heard it failed.
            if Instant::now() >= deadline {
                return Err(exhausted(err, &entry, attempt, true));
            }
        }
    }
}

/// The span of one operation's attempts, with the node that answered and how many attempts
/// it took recorded at the end.
fn command_span(name: &[u8]) -> tracing::Span {
    tracing::debug_span!(
        "slotwise.command",
        command = %String::from_utf8_lossy(name),
        node = tracing::field::Empty,
        attempts = tracing::field::Empty,
        redirect = tracing::field::Empty,
    )
}

impl crate::cluster::Inner {
    /// Counts a retry under its cause.
    pub(crate) fn count_retry(&self, cause: Cause) {
        let c = &self.counters;
        Counters::bump(match cause {
            Cause::TryAgain => &c.try_again,
            Cause::ClusterDown => &c.cluster_down,
            Cause::Loading => &c.loading,
            Cause::ReadOnly => &c.readonly,
            Cause::Io => &c.io_retries,
        });
    }
}

/// True for a node refusing because its cluster state is fail, which `CLUSTER INFO` shows
/// turning ok; not for `MASTERDOWN` or `CLUSTERDOWN Hash slot not served`, which it does not.
fn refused_while_cluster_down(err: &Error) -> bool {
    err.kind() == ErrorKind::ClusterDown
        && err
            .server_error()
            .is_some_and(|e| e.message().contains("The cluster is down"))
}

/// The error returned when a command gives up: the last error, with its node, saying that the
/// retry budget ran out when it did.
fn exhausted(err: Error, entry: &NodeEntry, attempts: u32, budget_spent: bool) -> Error {
    let err = if err.node().is_none() {
        err.with_node(entry.node.name())
    } else {
        err
    };
    if budget_spent && err.kind() != ErrorKind::Timeout {
        tracing::debug!(attempts, "retry budget spent");
    }
    err
}
