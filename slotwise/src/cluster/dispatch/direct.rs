//! The common case of a typed command, without the attempt loop's future: a command of known
//! keys in one slot, on a client without a cache, whose node has a socket open. Its first
//! attempt is queued on that socket when the command's future is first polled, and the future
//! polls the reply slot itself; a reply is the result. Anything else (no open socket, a command
//! routed another way, tracing at debug level, which wants the attempt loop's span) takes
//! [`RedisCluster::run`]'s way from the start, and a first attempt that fails goes on in the
//! attempt loop ([`RedisCluster::run_after`]) exactly as if the loop had made it.
//!
//! What this saves is a boxed future of about a kilobyte per command and the polls through
//! the layers of `run`; what a command does on the wire is the same.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::retry::{HandleReads, Tried, SHARED_DEADLINE};
use super::{refuse_connection_state, RedisCluster};
use crate::cluster::node::NodeEntry;
use crate::connection::Started;
use crate::error::{Error, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::{route, CommandInfo, Route};

/// A command's first attempt, queued on its node's socket, or refused there.
#[derive(Debug)]
pub(crate) struct InFlight {
    entry: Arc<NodeEntry>,
    reply: Outcome,
    generation: u64,
    serving: u64,
    slot: u16,
    read: Option<HandleReads>,
    readonly: bool,
}

#[derive(Debug)]
enum Outcome {
    Waiting(Started),
    /// The socket refused the request (closed, overloaded, a command not allowed): nothing was
    /// queued; the instant is when it was tried, which the retry deadline counts from.
    Refused(Error, Instant),
}

/// A first attempt that failed, and what the attempt loop needs to go on from it.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) tried: Tried,
    pub(crate) slot: u16,
    pub(crate) read: Option<HandleReads>,
    pub(crate) readonly: bool,
}

impl RedisCluster {
    /// Queues `cmd`'s first attempt if it is the common case (see the module's docs); `None`
    /// if it is not, and nothing was sent.
    pub(crate) fn send_direct(&self, cmd: &Cmd) -> Option<InFlight> {
        let inner = &self.inner;
        if inner.cache.is_some()
            || tracing::level_enabled!(tracing::Level::DEBUG)
            || SHARED_DEADLINE.try_with(|_| ()).is_ok()
        {
            return None;
        }
        let snapshot = inner.topology.current();
        let info = snapshot.table.lookup(cmd)?;
        if info.is_blocking() || refuse_connection_state(info).is_err() {
            return None;
        }
        let Ok(Route::Slot(slot)) = route(Some(info), cmd) else {
            return None;
        };
        let readonly = CommandInfo::is_readonly(info);
        let strategy = self.strategy();
        let read = (readonly && strategy.uses_replicas()).then_some(HandleReads);
        let entry = snapshot.node_for_slot(slot, read.map(|_| strategy)).ok()?;
        let settings = &inner.settings;
        // The attempt loop's first timeout: the response timeout, within the retry deadline.
        let timeout = settings
            .connection
            .response_timeout
            .min(settings.retry_deadline);
        let reply = match entry.conn.start(cmd, timeout)? {
            Ok(started) => Outcome::Waiting(started),
            Err(e) => Outcome::Refused(e, Instant::now()),
        };
        Some(InFlight {
            entry: Arc::clone(entry),
            reply,
            generation: snapshot.generation,
            serving: inner.serving_epoch(),
            slot,
            read,
            readonly,
        })
    }
}

impl InFlight {
    /// The reply to `cmd`, or the failure to go on from.
    pub(crate) fn poll(&mut self, cmd: &Cmd, cx: &mut Context<'_>) -> Poll<Result<Value, Failed>> {
        let (result, started) = match &mut self.reply {
            Outcome::Waiting(started) => {
                let result = std::task::ready!(self.entry.conn.poll_reply(started, cmd, cx));
                (result, started.at)
            }
            Outcome::Refused(e, at) => (Err(e.clone()), *at),
        };
        Poll::Ready(result.map_err(|error| Failed {
            tried: Tried {
                entry: Arc::clone(&self.entry),
                error,
                started,
                generation: self.generation,
                serving: self.serving,
            },
            slot: self.slot,
            read: self.read,
            readonly: self.readonly,
        }))
    }
}
