//! A plain pipeline: each command routed on its own, grouped by node, one write per node.
//!
//! The queue is cut into segments at every command that runs alone (on several nodes, after a
//! server-side key lookup, or blocking); a segment's commands go out at once, the lone command
//! after it, then the next segment. Within a segment, the commands that came back redirected
//! (or whose node could not take them, when resending is safe) are retried through the
//! dispatcher: one slot's commands one after another in queue order, slots side by side. The
//! whole pipeline shares one deadline.

use std::ops::Range;
use std::time::Instant;

use futures_util::future::join_all;

use crate::cluster::dispatch::backoff;
use crate::cluster::dispatch::scatter::{Groups, Item};
use crate::cluster::dispatch::{queueable, within_deadline};
use crate::cluster::RedisCluster;
use crate::connection::{command_name, deadline_in};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::{route, CommandInfo, Route};

/// How one queued command is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// With the other commands for the node serving the slot.
    Slot {
        slot: u16,
        readonly: bool,
        /// A read that may go to a replica: no write on its slot was queued before it.
        replica: bool,
    },
    /// With the other commands for the default node.
    Default { readonly: bool },
    /// Alone, through the dispatcher, between the segments before and after it.
    Alone,
}

impl Plan {
    fn readonly(self) -> bool {
        match self {
            Plan::Slot { readonly, .. } | Plan::Default { readonly } => readonly,
            Plan::Alone => false,
        }
    }

    /// The order retries keep: one slot's commands (or the default node's) in sequence.
    fn chain(self) -> Option<u16> {
        match self {
            Plan::Slot { slot, .. } => Some(slot),
            _ => None,
        }
    }
}

/// A queued command and how it is sent.
struct Queued<'a> {
    cmd: &'a Cmd,
    plan: Plan,
}

impl Item for Queued<'_> {
    fn cmd(&self) -> &Cmd {
        self.cmd
    }

    fn readonly(&self) -> bool {
        self.plan.readonly()
    }
}

impl RedisCluster {
    /// Runs a plain pipeline; one result per command, in queue order.
    pub(crate) async fn run_batch(&self, cmds: &[Cmd]) -> Result<Vec<Result<Value>>> {
        let deadline = deadline_in(self.inner.settings.retry_deadline);
        let snapshot = self.snapshot();
        let mut queue = Vec::with_capacity(cmds.len());
        // Slots written so far: a read queued after a write on its slot must see it, so it
        // goes to the primary even on a handle that reads from replicas.
        let mut written: Vec<u16> = Vec::new();
        for cmd in cmds {
            let info = queueable(&snapshot.table, cmd)?;
            let readonly = info.is_some_and(CommandInfo::is_readonly);
            let blocking = info.is_some_and(CommandInfo::is_blocking);
            let plan = match route(info, cmd)? {
                Route::Slot(slot) if !blocking => {
                    if !readonly && !written.contains(&slot) {
                        written.push(slot);
                    }
                    let replica = readonly && !written.contains(&slot);
                    Plan::Slot {
                        slot,
                        readonly,
                        replica,
                    }
                }
                Route::Default if !blocking => Plan::Default { readonly },
                _ => Plan::Alone,
            };
            queue.push(Queued { cmd, plan });
        }
        drop(snapshot);

        let mut out: Vec<Option<Result<Value>>> = (0..cmds.len()).map(|_| None).collect();
        let mut start = 0;
        while start < cmds.len() {
            let end = queue[start..]
                .iter()
                .position(|q| q.plan == Plan::Alone)
                .map_or(cmds.len(), |i| start + i);
            if end > start {
                self.run_segment(&queue, start..end, deadline, &mut out)
                    .await;
            }
            if end < cmds.len() {
                out[end] = Some(within_deadline(deadline, self.run(&cmds[end], None)).await);
            }
            start = end + 1;
        }
        Ok(out
            .into_iter()
            .map(|reply| {
                reply.unwrap_or_else(|| Err(Error::new(ErrorKind::Protocol, "no reply came")))
            })
            .collect())
    }

    /// Sends the commands of `range` grouped by node, then retries what needs it.
    async fn run_segment(
        &self,
        queue: &[Queued<'_>],
        range: Range<usize>,
        deadline: Instant,
        out: &mut [Option<Result<Value>>],
    ) {
        if Instant::now() >= deadline {
            let late = Error::new(
                ErrorKind::Timeout,
                "the pipeline's deadline passed before this command was sent",
            );
            for i in range {
                out[i] = Some(Err(late.clone().with_command(command_name(queue[i].cmd))));
            }
            return;
        }
        let snapshot = self.snapshot();
        let read = Some(self.strategy()).filter(|r| r.uses_replicas());
        let mut groups = Groups::default();
        let mut unplaced: Vec<usize> = Vec::new();
        for i in range {
            match queue[i].plan {
                Plan::Slot { slot, replica, .. } => {
                    match snapshot.node_for_slot(slot, read.filter(|_| replica)) {
                        Ok(entry) => groups.push(entry, i),
                        // Not served in this snapshot: the attempt loop waits for one that is.
                        Err(_) => unplaced.push(i),
                    }
                }
                Plan::Default { .. } => groups.push(&self.default_entry(), i),
                Plan::Alone => {}
            }
        }
        drop(snapshot);
        let timeout = backoff::within(self.inner.settings.connection.response_timeout, deadline);
        let mut again = self.scatter(queue, groups, timeout, out).await;
        if again.is_empty() && unplaced.is_empty() {
            return;
        }
        again.extend(unplaced);
        again.sort_unstable();

        // One chain per slot (and one for the default node), each in queue order.
        let mut chains: Vec<(Option<u16>, Vec<usize>)> = Vec::new();
        for i in again {
            let key = queue[i].plan.chain();
            match chains.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(i),
                None => chains.push((key, vec![i])),
            }
        }
        // A read queued after a write on its slot stays on the primary when retried, too.
        let primary = self.readwrite();
        let results = join_all(chains.iter().map(|(_, list)| {
            let primary = &primary;
            async move {
                let mut results = Vec::with_capacity(list.len());
                for &i in list {
                    let handle = match queue[i].plan {
                        Plan::Slot { replica: false, .. } => primary,
                        _ => self,
                    };
                    results.push(within_deadline(deadline, handle.run(queue[i].cmd, None)).await);
                }
                results
            }
        }))
        .await;
        for ((_, list), results) in chains.iter().zip(results) {
            for (&i, result) in list.iter().zip(results) {
                out[i] = Some(result);
            }
        }
    }
}
