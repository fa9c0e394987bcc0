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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Cmd, Decoder, Value};

/// Read buffer growth step: large enough that a burst of small replies is one read.
const READ_CHUNK: usize = 16 * 1024;

/// Where RESP3 push frames go.
pub(crate) type PushSink = mpsc::UnboundedSender<SinkEvent>;

/// What a socket tells its sink.
#[derive(Debug)]
pub(crate) enum SinkEvent {
    /// An out-of-band RESP3 push.
    Push(Vec<Value>),
    /// Any other frame, once the socket is in [raw](Pipeline::switch_to_raw) mode.
    Frame(Value),
    /// The socket closed; nothing more comes.
    Closed(Error),
}

/// The replies of one request: one command or a batch sent back to back.
#[derive(Debug)]
pub(crate) enum Reply {
    One(Value),
    Many(Vec<Value>),
}

/// A running multiplexed socket. Dropping it stops its tasks and closes the socket.
#[derive(Debug)]
pub(crate) struct Pipeline {
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
    /// Milliseconds since `epoch` of the last successful read, to tell a silent socket from a
    /// slow command.
    last_read_ms: AtomicU64,
    epoch: Instant,
    push_sink: Option<PushSink>,
    /// Every frame goes to the sink and none is matched to a request (a subscriber socket).
    raw: AtomicBool,
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
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    remaining: usize,
    /// True when the caller sent a batch and wants `Reply::Many` even for one command.
    batch: bool,
    values: Vec<Value>,
    /// `None` once the caller was told it timed out: the reply, when it comes, is dropped.
    tx: Option<oneshot::Sender<Result<Reply>>>,
    /// Milliseconds since `epoch` when the request was queued.
    started_ms: u64,
    /// When the caller stops waiting: `timeout` after it was queued.
    deadline: Instant,
    timeout: Duration,
}

impl Pipeline {
    /// Starts the reader and writer tasks over the two halves of an established stream.
    pub(crate) fn start<R, W>(
        reader: R,
        writer: W,
        node: Arc<str>,
        decoder: Decoder,
        push_sink: Option<PushSink>,
    ) -> Pipeline
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
            }),
            wake_writer: Notify::new(),
            wake_watchdog: Notify::new(),
            open: AtomicBool::new(true),
            last_read_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            push_sink,
            raw: AtomicBool::new(false),
        });
        let read_task = tokio::spawn(read_loop(reader, decoder, Arc::clone(&shared)));
        let write_task = tokio::spawn(write_loop(writer, Arc::clone(&shared)));
        let watch_task = tokio::spawn(watch_loop(Arc::clone(&shared)));
        Pipeline {
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
        let (seq, rx) = self.enqueue(cmds, batch, timeout)?;
        match rx.await {
            // An answer, or the watchdog's timeout error.
            Ok(reply) => reply,
            // The reader dropped the slot without answering: it only does so while closing.
            Err(_) => Err(self.shared.closed_error(seq)),
        }
    }

    fn enqueue<'a, I>(
        &self,
        cmds: I,
        batch: bool,
        timeout: Duration,
    ) -> Result<(u64, oneshot::Receiver<Result<Reply>>)>
    where
        I: IntoIterator<Item = &'a Cmd>,
    {
        let (tx, rx) = oneshot::channel();
        let now = Instant::now();
        // A timeout too long to represent never fires.
        let deadline = now.checked_add(timeout).unwrap_or(now + FOREVER);
        let mut state = self.shared.lock();
        if let Some(err) = &state.closed {
            return Err(err.clone().with_sent(Sent::No));
        }
        let was_empty = state.out.is_empty();
        let mut count = 0;
        for cmd in cmds {
            cmd.encode(&mut state.out);
            count += 1;
        }
        if count == 0 {
            return Ok((state.queued, reply_now(tx, Reply::Many(Vec::new()), rx)));
        }
        let seq = state.queued;
        state.queued += count as u64;
        state.pending.push_back(Pending {
            seq,
            remaining: count,
            batch,
            values: Vec::new(),
            tx: Some(tx),
            started_ms: self.shared.ms_since_epoch(now),
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
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Drop for Pipeline {
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
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic while holding it; the state itself is still
        // consistent (every critical section leaves it whole), so keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ms_since_epoch(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
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
            let _ = sink.send(SinkEvent::Closed(err.clone()));
        }
        for p in drained {
            let sent = if p.seq < handed {
                Sent::Maybe
            } else {
                Sent::No
            };
            if let Some(tx) = p.tx {
                let _ = tx.send(Err(err.clone().with_sent(sent)));
            }
        }
        self.wake_writer.notify_one();
        self.wake_watchdog.notify_one();
    }

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
            let last_read_ms = self.last_read_ms.load(Ordering::Acquire);
            let handed = state.handed;
            // Nothing read since an overdue request was made: the socket is presumed dead and
            // is closed below, and what was never handed to it is then never sent. While it
            // lives, a command not handed yet still goes out with the next write.
            let closing = state
                .pending
                .iter()
                .any(|p| p.tx.is_some() && p.deadline <= now && last_read_ms <= p.started_ms);
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
                if last_read_ms <= p.started_ms && dead.is_none() {
                    dead = Some(err.clone());
                }
                overdue.extend(p.tx.take().map(|tx| (tx, err)));
            }
            state.armed = next;
            next
        };
        for (tx, err) in overdue {
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

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(e, Sent::Maybe).with_node(self.node.as_ref())
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(mut writer: W, shared: Arc<Shared>) {
    let mut batch = BytesMut::with_capacity(READ_CHUNK);
    loop {
        shared.wake_writer.notified().await;
        let mut yielded = false;
        loop {
            let wait_for_others = {
                let mut state = shared.lock();
                if state.closed.is_some() {
                    return;
                }
                if state.out.is_empty() {
                    break;
                }
                // Callers woken together (by one read that held many replies) queue their next
                // commands one after another, and the first of them wakes this task: taking the
                // buffer then would cost one write per command. While other requests are in
                // flight, let every task that is ready run first, so their commands leave in one
                // write. A lone request goes at once: nobody else is coming.
                let wait = !yielded && state.pending.len() > 1;
                if !wait {
                    std::mem::swap(&mut state.out, &mut batch);
                    state.handed = state.queued;
                }
                wait
            };
            if wait_for_others {
                yielded = true;
                tokio::task::yield_now().await;
                continue;
            }
            let written = match writer.write_all(&batch).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                shared.close(shared.io_error(e));
                return;
            }
            batch.clear();
            yielded = false;
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
async fn watch_loop(shared: Arc<Shared>) {
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

async fn read_loop<R: AsyncRead + Unpin>(mut reader: R, mut decoder: Decoder, shared: Arc<Shared>) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut replies: Vec<Value> = Vec::new();
    let mut done: Vec<(oneshot::Sender<Result<Reply>>, Reply)> = Vec::new();
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Value::Push(items))) => {
                    if let Some(sink) = &shared.push_sink {
                        let _ = sink.send(SinkEvent::Push(items));
                    }
                }
                Ok(Some(value)) if shared.raw.load(Ordering::Acquire) => {
                    if let Some(sink) = &shared.push_sink {
                        let _ = sink.send(SinkEvent::Frame(value));
                    }
                }
                Ok(Some(value)) => replies.push(value),
                Ok(None) => break,
                Err(e) => {
                    shared.close(e.with_node(shared.node.as_ref()).with_sent(Sent::Maybe));
                    return;
                }
            }
        }
        if !replies.is_empty() && !deliver(&shared, &mut replies, &mut done) {
            shared.close(
                Error::new(ErrorKind::Protocol, "reply without a request")
                    .with_node(shared.node.as_ref()),
            );
            return;
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                let eof = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                );
                shared.close(shared.io_error(eof));
                return;
            }
            Ok(_) => {
                shared
                    .last_read_ms
                    .store(shared.ms_since_epoch(Instant::now()), Ordering::Release);
            }
            Err(e) => {
                shared.close(shared.io_error(e));
                return;
            }
        }
    }
}

/// Matches replies to waiting requests in order; false if a reply had no request.
fn deliver(
    shared: &Shared,
    replies: &mut Vec<Value>,
    done: &mut Vec<(oneshot::Sender<Result<Reply>>, Reply)>,
) -> bool {
    let mut orphan = false;
    {
        let mut state = shared.lock();
        for value in replies.drain(..) {
            let Some(front) = state.pending.front_mut() else {
                orphan = true;
                break;
            };
            front.remaining -= 1;
            if front.remaining > 0 {
                front.values.push(value);
                continue;
            }
            let Some(p) = state.pending.pop_front() else {
                orphan = true;
                break;
            };
            let reply = if !p.batch {
                Reply::One(value)
            } else {
                let mut values = p.values;
                values.push(value);
                Reply::Many(values)
            };
            // No sender: the caller timed out and is gone; its late reply is dropped here.
            if let Some(tx) = p.tx {
                done.push((tx, reply));
            }
        }
    }
    // Wake callers outside the lock.
    for (tx, reply) in done.drain(..) {
        let _ = tx.send(Ok(reply));
    }
    !orphan
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn start_over_duplex(sink: Option<PushSink>) -> (Pipeline, tokio::io::DuplexStream) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (r, w) = tokio::io::split(client);
        let pipeline = Pipeline::start(r, w, Arc::from("test:1"), Decoder::new(), sink);
        (pipeline, server)
    }

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn pushes_go_to_the_sink_and_replies_to_callers() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (pipeline, mut server) = start_over_duplex(Some(tx));
        let cmd = Cmd::new("GET").arg("k");
        let request = pipeline.request([&cmd], false, WAIT);
        let serve = async {
            let mut buf = [0u8; 64];
            let n = server.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
            server
                .write_all(b">3\r\n+message\r\n+ch\r\n+hi\r\n$1\r\nv\r\n")
                .await
                .unwrap();
        };
        let (reply, ()) = tokio::join!(request, serve);
        assert!(matches!(reply.unwrap(), Reply::One(Value::Bulk(b)) if &b[..] == b"v"));
        let push = rx.recv().await.unwrap();
        assert!(matches!(push, SinkEvent::Push(items) if items.len() == 3));
    }

    #[tokio::test]
    async fn concurrent_requests_are_batched_and_answered_in_order() {
        let (pipeline, mut server) = start_over_duplex(None);
        let pipeline = Arc::new(pipeline);
        let mut waiting = Vec::new();
        for i in 0..50 {
            let p = Arc::clone(&pipeline);
            waiting.push(tokio::spawn(async move {
                let cmd = Cmd::new("ECHO").arg(i);
                (i, p.request([&cmd], false, WAIT).await)
            }));
        }
        // Answer every ECHO with its own argument, in the order the commands arrive.
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        let mut answered = 0;
        while answered < 50 {
            server.read_buf(&mut buf).await.unwrap();
            while let Some(Value::Array(args)) = decoder.decode(&mut buf).unwrap() {
                let arg = args[1].as_bytes().unwrap().to_vec();
                let mut out = format!("${}\r\n", arg.len()).into_bytes();
                out.extend_from_slice(&arg);
                out.extend_from_slice(b"\r\n");
                server.write_all(&out).await.unwrap();
                answered += 1;
            }
        }
        for task in waiting {
            let (i, reply) = task.await.unwrap();
            match reply.unwrap() {
                Reply::One(Value::Bulk(b)) => assert_eq!(&b[..], i.to_string().as_bytes()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn closing_fails_waiting_requests_as_maybe_sent() {
        let (pipeline, mut server) = start_over_duplex(None);
        let cmd = Cmd::new("INCR").arg("n");
        let request = pipeline.request([&cmd], false, WAIT);
        let serve = async {
            let mut buf = [0u8; 64];
            let _ = server.read(&mut buf).await.unwrap();
            drop(server);
        };
        let (reply, ()) = tokio::join!(request, serve);
        let err = reply.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.may_have_run());
        assert!(!pipeline.is_open());
        // After the close, nothing is sent: the error says so.
        let err = pipeline.request([&cmd], false, WAIT).await.unwrap_err();
        assert!(!err.may_have_run());
    }

    #[tokio::test]
    async fn batch_is_contiguous_and_answered_together() {
        let (pipeline, mut server) = start_over_duplex(None);
        let asking = Cmd::new("ASKING");
        let get = Cmd::new("GET").arg("k");
        let request = pipeline.request([&asking, &get], true, WAIT);
        let serve = async {
            let mut buf = BytesMut::new();
            while buf.len() < 36 {
                server.read_buf(&mut buf).await.unwrap();
            }
            assert_eq!(
                &buf[..],
                b"*1\r\n$6\r\nASKING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
            );
            server.write_all(b"+OK\r\n$-1\r\n").await.unwrap();
        };
        let (reply, ()) = tokio::join!(request, serve);
        match reply.unwrap() {
            Reply::Many(values) => {
                assert_eq!(values, [Value::SimpleString("OK".into()), Value::Nil])
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Counts the writes the pipeline makes to its socket.
    struct CountingWriter<W> {
        inner: W,
        writes: Arc<AtomicU64>,
    }

    impl<W: AsyncWrite + Unpin> AsyncWrite for CountingWriter<W> {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
        }

        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// Reads commands until `n` have arrived; returns the replies to send back in one write.
    async fn read_commands(
        server: &mut tokio::io::DuplexStream,
        decoder: &mut Decoder,
        buf: &mut BytesMut,
        n: usize,
    ) -> BytesMut {
        let mut out = BytesMut::new();
        let mut seen = 0;
        while seen < n {
            while let Some(Value::Array(_)) = decoder.decode(buf).unwrap() {
                out.extend_from_slice(b"+OK\r\n");
                seen += 1;
            }
            if seen < n {
                server.read_buf(buf).await.unwrap();
            }
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_woken_together_share_a_write() {
        const CALLERS: usize = 50;
        const ROUNDS: usize = 4;
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let (r, w) = tokio::io::split(client);
        let writes = Arc::new(AtomicU64::new(0));
        let w = CountingWriter {
            inner: w,
            writes: Arc::clone(&writes),
        };
        let pipeline = Arc::new(Pipeline::start(
            r,
            w,
            Arc::from("test:1"),
            Decoder::new(),
            None,
        ));
        let mut callers = Vec::new();
        for i in 0..CALLERS {
            let p = Arc::clone(&pipeline);
            callers.push(tokio::spawn(async move {
                // Each next command is sent as soon as the last is answered: every caller is
                // woken by the same read.
                for _ in 0..ROUNDS {
                    let cmd = Cmd::new("SET").arg(i).arg(i);
                    p.request([&cmd], false, WAIT).await.unwrap();
                }
            }));
        }
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        let mut replies = read_commands(&mut server, &mut decoder, &mut buf, CALLERS).await;
        // Writes per round after the first, each counted from the moment its callers are woken.
        let mut per_round = Vec::new();
        for _ in 1..ROUNDS {
            let before = writes.load(Ordering::Relaxed);
            server.write_all(&replies).await.unwrap();
            replies = read_commands(&mut server, &mut decoder, &mut buf, CALLERS).await;
            per_round.push(writes.load(Ordering::Relaxed) - before);
        }
        server.write_all(&replies).await.unwrap();
        for caller in callers {
            caller.await.unwrap();
        }
        // One write per command would be CALLERS writes a round. Scheduling on a loaded machine
        // can split a round, so the best round is the one held to the bound.
        let best = per_round.iter().copied().min().unwrap_or(u64::MAX);
        assert!(
            best <= CALLERS as u64 / 5,
            "{CALLERS} commands from callers woken together took {per_round:?} writes per round"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn silent_socket_times_out_and_closes() {
        let (pipeline, _server) = start_over_duplex(None);
        let cmd = Cmd::new("GET").arg("k");
        let started = Instant::now();
        let err = pipeline
            .request([&cmd], false, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.may_have_run(), "the command was written: {err}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_millis(1100),
            "timed out after {waited:?}"
        );
        assert!(
            !pipeline.is_open(),
            "nothing was read: the socket is presumed dead"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_reply_times_out_alone_and_is_dropped_when_it_comes() {
        let (pipeline, mut server) = start_over_duplex(None);
        let slow = Cmd::new("GET").arg("slow");
        let fast = Cmd::new("GET").arg("fast");
        let slow_request = pipeline.request([&slow], false, Duration::from_secs(1));
        let fast_request = pipeline.request([&fast], false, Duration::from_secs(10));
        let serve = async {
            let mut buf = BytesMut::new();
            let mut decoder = Decoder::new();
            let mut seen = 0;
            while seen < 2 {
                server.read_buf(&mut buf).await.unwrap();
                while decoder.decode(&mut buf).unwrap().is_some() {
                    seen += 1;
                }
            }
            // The socket is alive (a push arrives), but the slow command's reply is late.
            tokio::time::sleep(Duration::from_millis(500)).await;
            server.write_all(b">2\r\n+message\r\n+x\r\n").await.unwrap();
            tokio::time::sleep(Duration::from_millis(1000)).await;
            server
                .write_all(b"$4\r\nlate\r\n$4\r\nfast\r\n")
                .await
                .unwrap();
        };
        let (slow_reply, fast_reply, ()) = tokio::join!(slow_request, fast_request, serve);
        let err = slow_reply.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            matches!(fast_reply.unwrap(), Reply::One(Value::Bulk(b)) if &b[..] == b"fast"),
            "the late reply went to its own request, not the next"
        );
        assert!(
            pipeline.is_open(),
            "a slow command does not close a live socket"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_queued_later_is_kept() {
        let (pipeline, _server) = start_over_duplex(None);
        let cmd = Cmd::new("GET").arg("k");
        let long = pipeline.request([&cmd], false, Duration::from_secs(60));
        let started = Instant::now();
        let short = async {
            // Queued after the long one, due long before it.
            tokio::task::yield_now().await;
            let err = pipeline
                .request([&cmd], false, Duration::from_secs(1))
                .await
                .unwrap_err();
            (err, started.elapsed())
        };
        let (long_reply, (err, waited)) = tokio::join!(long, short);
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            waited < Duration::from_secs(2),
            "timed out after {waited:?}"
        );
        // Nothing was read, so the short timeout closed the socket and failed the long one too.
        assert!(long_reply.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_timed_out_command_still_queued_on_a_live_socket_may_run() {
        let (client, mut server) = tokio::io::duplex(16);
        let (r, w) = tokio::io::split(client);
        let pipeline = Arc::new(Pipeline::start(
            r,
            w,
            Arc::from("test:1"),
            Decoder::new(),
            None,
        ));
        let timeout = Duration::from_secs(1);
        let ping = Cmd::new("PING");
        let big = Cmd::new("SET").arg("k").arg(vec![b'x'; 4096]);
        let incr = Cmd::new("INCR").arg("n");
        let (p1, p2, p3) = (
            Arc::clone(&pipeline),
            Arc::clone(&pipeline),
            Arc::clone(&pipeline),
        );
        let first = tokio::spawn(async move { p1.request([&ping], false, timeout).await });
        tokio::task::yield_now().await;
        // The big write fills the socket, which the server does not read: the writer is stuck.
        let second = tokio::spawn(async move { p2.request([&big], false, timeout).await });
        tokio::task::yield_now().await;
        // Queued behind it, never handed to the socket before its deadline.
        let third = tokio::spawn(async move { p3.request([&incr], false, timeout).await });
        tokio::task::yield_now().await;
        // The socket is alive: a reply comes back, after the requests were made.
        tokio::time::sleep(Duration::from_millis(10)).await;
        server.write_all(b"+PONG\r\n").await.unwrap();
        assert!(first.await.unwrap().is_ok());
        let err = third.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(pipeline.is_open(), "replies came: the socket is alive");
        assert!(
            err.may_have_run(),
            "its bytes are still queued for the live socket: {err}"
        );
        assert!(second.await.unwrap().unwrap_err().may_have_run());
        // And indeed they go out once the server reads.
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"INCR") {
            let n = server.read(&mut buf).await.unwrap();
            assert!(n > 0, "the socket closed before INCR was written");
            seen.extend_from_slice(&buf[..n]);
        }
    }
}
