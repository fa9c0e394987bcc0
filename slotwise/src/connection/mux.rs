//! The multiplexer: one socket shared by any number of concurrent callers.
//!
//! Callers encode their commands straight into a shared output buffer and queue a reply slot,
//! both under one short lock that is never held across an await. A writer task takes the whole
//! buffer at once and writes it with one call, so whatever callers queued meanwhile leaves in one
//! syscall (automatic pipelining). A reader task decodes replies and hands them to the queued
//! slots in order. RESP3 push frames are not replies: they go to the push sink.
//!
//! Response timeouts cost no timer per request: each request records its deadline, and a
//! watchdog task per socket sleeps until the earliest one, fails whatever is overdue and sleeps
//! again. Replies come back in order, so in a healthy connection the watchdog wakes about once
//! per timeout period, finds nothing overdue and moves on.
//!
//! When the socket fails, every waiting caller gets the error at once, marked with whether its
//! request may have reached the server. This module does not reconnect; see
//! [`Connection`](super::Connection).
//!
//! What waits is bounded: past [`Limits`] (bytes not yet written, requests not yet answered) a
//! caller is refused at once with [`ErrorKind::Overloaded`], before anything is queued. A peer
//! that stops reading is closed like a silent one: when a request is overdue and the write that
//! was under way when it was queued has still not finished, bytes that trickle in do not keep
//! the socket alive.
//!
//! A request may ask for its replies undecoded ([`Multiplexer::request_undecoded`]), for those
//! of megabytes that are at once turned into something small (a topology, a command table): a
//! decoded `Value` tree takes several times the wire size. While one waits, the reader takes the
//! frames one at a time and hands such a request its replies' bytes, found by a `Scanner` with
//! the decoder's caps. Otherwise that costs other replies one check per read.
//!
//! Each socket records into its node's [`Meter`]: a request is counted as it is queued, its
//! latency when its reply is read, from two instants the multiplexer takes anyway (the
//! request's deadline is counted from the first; the second tells a silent socket).
//!
//! This file holds the state the three tasks share and the callers' side (queueing, limits,
//! closing); each task has a file of its own: [`reader`], [`writer`], [`watchdog`].

mod reader;
mod watchdog;
mod writer;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::meter::Meter;
use super::tracking::Tracker;
use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Cmd, Decoder, Value, WireReply};
use reader::read_loop;
use watchdog::watch_loop;
use writer::write_loop;

/// Read buffer growth step: large enough that a burst of small replies is one read.
const READ_CHUNK: usize = 16 * 1024;

/// How much may wait on one socket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Bytes queued and not yet handed to the socket.
    pub(crate) max_pending_bytes: usize,
    /// Requests queued or written and not yet answered.
    pub(crate) max_pending_requests: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_pending_bytes: 64 * 1024 * 1024,
            max_pending_requests: 100_000,
        }
    }
}

/// Where RESP3 push frames go, each tagged with the socket's id: one receiver serves many
/// sockets (a pub/sub task's) and must tell them apart without a task per socket to tag them.
#[derive(Clone, Debug)]
pub(crate) struct PushSink {
    id: u64,
    tx: mpsc::UnboundedSender<(u64, SinkEvent)>,
}

impl PushSink {
    /// A sink that passes each event on to `tx` as `(id, event)`.
    pub(crate) fn new(id: u64, tx: mpsc::UnboundedSender<(u64, SinkEvent)>) -> PushSink {
        PushSink { id, tx }
    }

    #[inline]
    fn send(&self, event: SinkEvent) {
        // A receiver that is gone wants nothing more from this socket.
        let _ = self.tx.send((self.id, event));
    }
}

/// What a socket tells its sink.
#[derive(Debug)]
pub(crate) enum SinkEvent {
    /// An out-of-band RESP3 push.
    Push(Vec<Value>),
    /// Any other frame, once the socket is in [raw](Multiplexer::switch_to_raw) mode.
    Frame(Value),
    /// The socket closed; nothing more comes.
    Closed(Error),
}

/// The replies of one request: one command or a batch sent back to back.
#[derive(Debug)]
pub(crate) enum Reply {
    One(Value),
    Many(Vec<Value>),
    /// Every reply of a [`request_undecoded`](Multiplexer::request_undecoded), as it came.
    Frames(Vec<WireReply>),
}

/// What a request's caller wants back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wants {
    /// [`Reply::One`]: one command's reply.
    One,
    /// [`Reply::Many`], even for one command.
    Many,
    /// [`Reply::Frames`]: the replies undecoded.
    Frames,
}

/// A running multiplexed socket. Dropping it stops its tasks and closes the socket.
#[derive(Debug)]
pub(crate) struct Multiplexer {
    shared: Arc<Shared>,
    tasks: [AbortHandle; 3],
}

#[derive(Debug)]
struct Shared {
    node: Arc<str>,
    state: Mutex<State>,
    wake_writer: Notify,
    /// Tells the watchdog that a request's deadline is earlier than the one it sleeps until.
    wake_watchdog: Notify,
    open: AtomicBool,
    /// Nanoseconds since `epoch` of the last successful read, to tell a silent socket from a
    /// slow command.
    last_read_ns: AtomicU64,
    /// Writes finished so far (see [`State::writes_started`]): a peer that stops reading leaves
    /// one unfinished.
    writes_done: AtomicU64,
    epoch: Instant,
    limits: Limits,
    push_sink: Option<PushSink>,
    /// Every frame goes to the sink and none is matched to a request (a subscriber socket).
    raw: AtomicBool,
    /// Requests for [undecoded](Multiplexer::request_undecoded) replies not yet answered,
    /// counted before the request can be written: while any waits, the reader looks up each
    /// frame's request before reading it.
    undecoded: AtomicUsize,
    /// What this socket tells of its node.
    meter: Arc<Meter>,
    /// Hears the `invalidate` pushes and the close of a socket with client tracking on; set
    /// before the handshake sends anything, so before any push can come.
    tracker: OnceLock<Arc<dyn Tracker>>,
}

#[derive(Debug)]
struct State {
    out: BytesMut,
    pending: VecDeque<Pending>,
    /// Commands queued so far; a request's commands are numbered `seq .. seq + n`.
    queued: u64,
    /// Commands handed to the socket: everything numbered below may have reached the server.
    handed: u64,
    closed: Option<Error>,
    /// The deadline the watchdog sleeps until; `None` while it waits for a request.
    armed: Option<Instant>,
    /// Writes the writer began so far, counted when it takes the buffer: a count, not a clock,
    /// so a write costs no reading of the time.
    writes_started: u64,
}

/// The replies a batch's request has so far: decoded, or as they came for one that wants
/// them undecoded. One field for both keeps a queued request, which every command moves into
/// the queue and out of it, within a few register copies.
#[derive(Debug, Default)]
enum Parts {
    #[default]
    None,
    Values(Vec<Value>),
    Frames(Vec<WireReply>),
}

impl Parts {
    fn push_value(&mut self, value: Value) {
        match self {
            Parts::Values(values) => values.push(value),
            _ => *self = Parts::Values(vec![value]),
        }
    }

    fn push_frame(&mut self, frame: WireReply) {
        match self {
            Parts::Frames(frames) => frames.push(frame),
            _ => *self = Parts::Frames(vec![frame]),
        }
    }

    fn into_values(self) -> Vec<Value> {
        match self {
            Parts::Values(values) => values,
            Parts::None | Parts::Frames(_) => Vec::new(),
        }
    }

    fn into_frames(self) -> Vec<WireReply> {
        match self {
            Parts::Frames(frames) => frames,
            Parts::None | Parts::Values(_) => Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    /// Replies still to come (a request of more than 2^32 commands cannot be held).
    remaining: u32,
    wants: Wants,
    /// The replies so far of a batch.
    parts: Parts,
    /// `None` once the caller was told it timed out: the reply, when it comes, is dropped.
    tx: Option<oneshot::Sender<Result<Reply>>>,
    /// Nanoseconds since `epoch` when the request was queued.
    started_ns: u64,
    /// [`State::writes_started`] when the request was queued: until that many writes are done,
    /// the write under way then has not finished.
    writes_before: u64,
    /// When the caller stops waiting: `timeout` after it was queued.
    deadline: Instant,
    timeout: Duration,
}

impl Multiplexer {
    /// Starts the reader and writer tasks over the two halves of an established stream.
    pub(crate) fn start<R, W>(
        reader: R,
        writer: W,
        node: Arc<str>,
        decoder: Decoder,
        push_sink: Option<PushSink>,
        limits: Limits,
        meter: Arc<Meter>,
    ) -> Multiplexer
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            node,
            state: Mutex::new(State {
                out: BytesMut::with_capacity(READ_CHUNK),
                pending: VecDeque::new(),
                queued: 0,
                handed: 0,
                closed: None,
                armed: None,
                writes_started: 0,
            }),
            wake_writer: Notify::new(),
            wake_watchdog: Notify::new(),
            open: AtomicBool::new(true),
            last_read_ns: AtomicU64::new(0),
            writes_done: AtomicU64::new(0),
            epoch: Instant::now(),
            limits,
            push_sink,
            raw: AtomicBool::new(false),
            undecoded: AtomicUsize::new(0),
            meter,
            tracker: OnceLock::new(),
        });
        let read_task = tokio::spawn(read_loop(reader, decoder, Arc::clone(&shared)));
        let write_task = tokio::spawn(write_loop(writer, Arc::clone(&shared)));
        let watch_task = tokio::spawn(watch_loop(Arc::clone(&shared)));
        Multiplexer {
            shared,
            tasks: [
                read_task.abort_handle(),
                write_task.abort_handle(),
                watch_task.abort_handle(),
            ],
        }
    }

    /// False once the socket failed or was closed.
    pub(crate) fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::Acquire)
    }

    /// Hands this socket's `invalidate` pushes and its close to `tracker`. Called before
    /// anything is sent (the handshake turns tracking on); a second call changes nothing.
    pub(crate) fn track(&self, tracker: Arc<dyn Tracker>) {
        let _ = self.shared.tracker.set(tracker);
    }

    /// From now on every frame read goes to the sink as it comes, and requests are only
    /// written ([`send_raw`](Self::send_raw)): the socket's owner reads the replies itself.
    pub(crate) fn switch_to_raw(&self) {
        self.shared.raw.store(true, Ordering::Release);
    }

    /// Writes `cmds` back to back without waiting for anything (raw mode).
    pub(crate) fn send_raw<'a>(&self, cmds: impl IntoIterator<Item = &'a Cmd>) -> Result<()> {
        let mut state = self.shared.lock();
        if let Some(err) = &state.closed {
            return Err(err.clone().with_sent(Sent::No));
        }
        let was_empty = state.out.is_empty();
        let mut count = 0u64;
        for cmd in cmds {
            cmd.encode(&mut state.out);
            count += 1;
        }
        state.queued += count;
        drop(state);
        if was_empty {
            self.shared.wake_writer.notify_one();
        }
        Ok(())
    }

    /// Sends commands back to back (no other caller's command comes between them) and waits
    /// up to `timeout` for all their replies.
    pub(crate) async fn request<'a, I>(
        &self,
        cmds: I,
        batch: bool,
        timeout: Duration,
    ) -> Result<Reply>
    where
        I: IntoIterator<Item = &'a Cmd>,
    {
        let wants = if batch { Wants::Many } else { Wants::One };
        let (seq, rx) = self.enqueue(cmds, wants, timeout)?;
        match rx.await {
            // An answer, or the watchdog's timeout error.
            Ok(reply) => reply,
            // The reader dropped the slot without answering: it only does so while closing.
            Err(_) => Err(self.shared.closed_error(seq)),
        }
    }

    /// Like [`request`](Self::request) for a batch, with every reply left as the bytes it came
    /// in. Error replies are among them, undecoded too.
    pub(crate) async fn request_undecoded<'a, I>(
        &self,
        cmds: I,
        timeout: Duration,
    ) -> Result<Vec<WireReply>>
    where
        I: IntoIterator<Item = &'a Cmd>,
    {
        let (seq, rx) = self.enqueue(cmds, Wants::Frames, timeout)?;
        match rx.await {
            Ok(Ok(Reply::Frames(frames))) => Ok(frames),
            Ok(Ok(_)) => Err(Error::new(ErrorKind::Protocol, "unexpected decoded reply")),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(self.shared.closed_error(seq)),
        }
    }

    /// Queues one command without waiting for its reply: the slot the reply comes to (as
    /// [`request`](Self::request) would return it) and the instant the request's timeout
    /// counts from.
    pub(crate) fn queue_one(
        &self,
        cmd: &Cmd,
        timeout: Duration,
    ) -> Result<(oneshot::Receiver<Result<Reply>>, Instant)> {
        let now = Instant::now();
        let (_, rx) = self.enqueue_at(std::iter::once(cmd), Wants::One, timeout, now)?;
        Ok((rx, now))
    }

    fn enqueue<'a, I>(
        &self,
        cmds: I,
        wants: Wants,
        timeout: Duration,
    ) -> Result<(u64, oneshot::Receiver<Result<Reply>>)>
    where
        I: IntoIterator<Item = &'a Cmd>,
    {
        self.enqueue_at(cmds, wants, timeout, Instant::now())
    }

    fn enqueue_at<'a, I>(
        &self,
        cmds: I,
        wants: Wants,
        timeout: Duration,
        now: Instant,
    ) -> Result<(u64, oneshot::Receiver<Result<Reply>>)>
    where
        I: IntoIterator<Item = &'a Cmd>,
    {
        let (tx, rx) = oneshot::channel();
        // A timeout too long to represent never fires.
        let deadline = now.checked_add(timeout).unwrap_or(now + FOREVER);
        let mut state = self.shared.lock();
        if let Some(err) = &state.closed {
            let err = err.clone().with_sent(Sent::No);
            drop(state);
            self.shared.meter.failed(err.kind());
            return Err(err);
        }
        if let Err(err) = self.shared.check_limits(&state) {
            drop(state);
            self.shared.meter.failed(err.kind());
            return Err(err);
        }
        let was_empty = state.out.is_empty();
        let mut count = 0;
        for cmd in cmds {
            cmd.encode(&mut state.out);
            count += 1;
        }
        if count == 0 {
            let none = match wants {
                Wants::Frames => Reply::Frames(Vec::new()),
                _ => Reply::Many(Vec::new()),
            };
            return Ok((state.queued, reply_now(tx, none, rx)));
        }
        if wants == Wants::Frames {
            // Under the lock, so before the writer can take the request's bytes.
            self.shared.undecoded.fetch_add(1, Ordering::Release);
        }
        let seq = state.queued;
        let writes_before = state.writes_started;
        state.queued += count as u64;
        state.pending.push_back(Pending {
            seq,
            remaining: u32::try_from(count).unwrap_or(u32::MAX),
            wants,
            parts: Parts::None,
            tx: Some(tx),
            started_ns: self.shared.ns_since_epoch(now),
            writes_before,
            deadline,
            timeout,
        });
        // Only a deadline earlier than the watchdog's needs it awake: with one timeout for
        // every request that is just the first request after an idle spell.
        let rearm = state.armed.is_none_or(|armed| deadline < armed);
        if rearm {
            state.armed = Some(deadline);
        }
        drop(state);
        self.shared.meter.sent(count as u64);
        if was_empty {
            self.shared.wake_writer.notify_one();
        }
        if rearm {
            self.shared.wake_watchdog.notify_one();
        }
        Ok((seq, rx))
    }
}

/// Far enough to never come, near enough that adding it to an instant cannot overflow.
pub(crate) const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Drop for Multiplexer {
    fn drop(&mut self) {
        self.shared.close(
            Error::new(ErrorKind::Closed, "connection closed").with_node(self.shared.node.as_ref()),
        );
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn reply_now(
    tx: oneshot::Sender<Result<Reply>>,
    reply: Reply,
    rx: oneshot::Receiver<Result<Reply>>,
) -> oneshot::Receiver<Result<Reply>> {
    // The receiver is alive (we hold it), so sending cannot fail.
    let _ = tx.send(Ok(reply));
    rx
}

impl Shared {
    #[inline]
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic while holding it; the state itself is still
        // consistent (every critical section leaves it whole), so keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a new request while too much waits on this socket already.
    fn check_limits(&self, state: &State) -> Result<()> {
        let limits = &self.limits;
        let why = if state.out.len() >= limits.max_pending_bytes {
            format!(
                "{} bytes wait to be written (the limit is {})",
                state.out.len(),
                limits.max_pending_bytes
            )
        } else if state.pending.len() >= limits.max_pending_requests {
            format!(
                "{} requests wait for replies (the limit is {})",
                state.pending.len(),
                limits.max_pending_requests
            )
        } else {
            return Ok(());
        };
        Err(Error::new(
            ErrorKind::Overloaded,
            format!("the node is not keeping up: {why}"),
        )
        .with_node(self.node.as_ref())
        .with_sent(Sent::No))
    }

    #[inline]
    fn ns_since_epoch(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    fn closed_error(&self, seq: u64) -> Error {
        let state = self.lock();
        let sent = if seq < state.handed {
            Sent::Maybe
        } else {
            Sent::No
        };
        match &state.closed {
            Some(err) => err.clone().with_sent(sent),
            None => Error::new(ErrorKind::Closed, "connection closed")
                .with_node(self.node.as_ref())
                .with_sent(sent),
        }
    }

    /// Marks the socket failed and fails every waiting request with `err`.
    fn close(&self, err: Error) {
        let (drained, handed): (Vec<Pending>, u64) = {
            let mut state = self.lock();
            if state.closed.is_some() {
                return;
            }
            self.open.store(false, Ordering::Release);
            state.closed = Some(err.clone());
            state.out.clear();
            (state.pending.drain(..).collect(), state.handed)
        };
        if let Some(sink) = &self.push_sink {
            sink.send(SinkEvent::Closed(err.clone()));
        }
        // Before the callers hear of the failure: a read they retry must not be served from
        // what this socket no longer tracks.
        if let Some(tracker) = self.tracker.get() {
            tracker.lost();
        }
        // Requests left unanswered leave the in-flight count; those whose callers still wait
        // failed with the socket.
        let unanswered: u64 = drained.iter().map(|p| u64::from(p.remaining)).sum();
        self.meter.answered(unanswered);
        for p in drained {
            let sent = if p.seq < handed {
                Sent::Maybe
            } else {
                Sent::No
            };
            if let Some(tx) = p.tx {
                self.meter.failed(err.kind());
                let _ = tx.send(Err(err.clone().with_sent(sent)));
            }
        }
        self.wake_writer.notify_one();
        self.wake_watchdog.notify_one();
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(e, Sent::Maybe).with_node(self.node.as_ref())
    }
}

#[cfg(test)]
mod tests;
