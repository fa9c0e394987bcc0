//! The watchdog task: enforces the response timeouts of one socket with one sleep, not a timer
//! per request (see the parent module's docs).
//!
//! It owns the rule for what an overdue request means: the caller is failed, and the socket is
//! closed when nothing was read (or the write under way never finished) since the request was
//! queued. It does not read or write the socket; the reader and writer tasks do.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::time::Instant;

use super::{Pending, Shared};
use crate::error::{Error, ErrorKind, Sent};

impl Shared {
    /// Fails every request whose deadline has passed, and returns the earliest deadline still
    /// to come (`None`: nothing is waiting), which the watchdog then sleeps until.
    ///
    /// A timed-out request keeps its place in the queue, so its reply, when it comes, is
    /// matched to it and dropped. If nothing at all was read from the socket while it waited,
    /// the socket is presumed dead (a half-open connection, a frozen or unplugged peer) and is
    /// closed, so the next request reconnects.
    fn expire(&self, now: Instant) -> Watch {
        let mut overdue = Vec::new();
        let mut dead = None;
        let next = {
            let mut state = self.lock();
            if state.closed.is_some() {
                return Watch::Closed;
            }
            let last_read_ns = self.last_read_ns.load(Ordering::Acquire);
            let writes_done = self.writes_done.load(Ordering::Acquire);
            // Nothing read since the request was made, or the write under way when it was made
            // still unfinished (a peer that stopped reading, however it trickles bytes back).
            let stalled =
                |p: &Pending| last_read_ns <= p.started_ns || writes_done < p.writes_before;
            let handed = state.handed;
            // Nothing read since an overdue request was made: the socket is presumed dead and
            // is closed below, and what was never handed to it is then never sent. While it
            // lives, a command not handed yet still goes out with the next write.
            let closing = state
                .pending
                .iter()
                .any(|p| p.tx.is_some() && p.deadline <= now && stalled(p));
            let mut next: Option<Instant> = None;
            for p in state.pending.iter_mut() {
                if p.tx.is_none() {
                    continue;
                }
                if p.deadline > now {
                    next = Some(next.map_or(p.deadline, |n| n.min(p.deadline)));
                    continue;
                }
                let sent = if p.seq < handed || !closing {
                    Sent::Maybe
                } else {
                    Sent::No
                };
                let err = Error::new(
                    ErrorKind::Timeout,
                    format!("no reply within {} ms", p.timeout.as_millis()),
                )
                .with_node(self.node.as_ref())
                .with_sent(sent);
                if stalled(p) && dead.is_none() {
                    dead = Some(err.clone());
                }
                overdue.extend(p.tx.take().map(|tx| (tx, err)));
            }
            state.armed = next;
            next
        };
        for (tx, err) in overdue {
            self.meter.failed(ErrorKind::Timeout);
            let _ = tx.send(Err(err));
        }
        if let Some(err) = dead {
            self.close(err);
            return Watch::Closed;
        }
        match next {
            Some(at) => Watch::Until(at),
            None => Watch::Idle,
        }
    }
}

/// What the watchdog does next.
enum Watch {
    /// Sleep until this deadline (or until told of an earlier one).
    Until(Instant),
    /// Nothing is waiting: sleep until a request comes.
    Idle,
    /// The socket is closed: stop.
    Closed,
}

/// Enforces the response timeouts of one socket (see the module docs).
pub(super) async fn watch_loop(shared: Arc<Shared>) {
    loop {
        match shared.expire(Instant::now()) {
            Watch::Closed => return,
            Watch::Idle => shared.wake_watchdog.notified().await,
            Watch::Until(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = shared.wake_watchdog.notified() => {}
                }
            }
        }
    }
}
