//! The multiplexer: one socket shared by any number of concurrent callers.
//!
//! Callers encode their commands straight into a shared output buffer and queue a reply slot,
//! both under one short lock that is never held across an await. A writer task takes the whole
//! buffer at once and writes it with one call, so whatever callers queued meanwhile leaves in one
//! syscall (automatic pipelining). A reader task decodes replies and hands them to the queued
//! slots in order. RESP3 push frames are not replies: they go to the push sink.
//!
//! When the socket fails, every waiting caller gets the error at once, marked with whether its
//! request may have reached the server. This module does not reconnect; see
//! [`Connection`](super::Connection).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::AbortHandle;

use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Cmd, Decoder, Value};

/// Read buffer growth step: large enough that a burst of small replies is one read.
const READ_CHUNK: usize = 16 * 1024;

/// Where RESP3 push frames go.
pub(crate) type PushSink = mpsc::UnboundedSender<Value>;

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
    tasks: [AbortHandle; 2],
}

#[derive(Debug)]
struct Shared {
    node: Arc<str>,
    state: Mutex<State>,
    wake_writer: Notify,
    open: AtomicBool,
    /// Milliseconds since `epoch` of the last successful read, to tell a silent socket from a
    /// slow command.
    last_read_ms: AtomicU64,
    epoch: Instant,
    push_sink: Option<PushSink>,
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
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    remaining: usize,
    /// True when the caller sent a batch and wants `Reply::Many` even for one command.
    batch: bool,
    values: Vec<Value>,
    tx: oneshot::Sender<Result<Reply>>,
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
            }),
            wake_writer: Notify::new(),
            open: AtomicBool::new(true),
            last_read_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            push_sink,
        });
        let read_task = tokio::spawn(read_loop(reader, decoder, Arc::clone(&shared)));
        let write_task = tokio::spawn(write_loop(writer, Arc::clone(&shared)));
        Pipeline {
            shared,
            tasks: [read_task.abort_handle(), write_task.abort_handle()],
        }
    }

    /// False once the socket failed or was closed.
    pub(crate) fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::Acquire)
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
        let started = self.shared.elapsed_ms();
        let (seq, rx) = self.enqueue(cmds, batch)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            // The reader dropped the slot without answering: it only does so while closing.
            Ok(Err(_)) => Err(self.shared.closed_error(seq)),
            Err(_) => Err(self.timed_out(seq, started, timeout)),
        }
    }

    fn enqueue<'a, I>(
        &self,
        cmds: I,
        batch: bool,
    ) -> Result<(u64, oneshot::Receiver<Result<Reply>>)>
    where
        I: IntoIterator<Item = &'a Cmd>,
    {
        let (tx, rx) = oneshot::channel();
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
            tx,
        });
        drop(state);
        if was_empty {
            self.shared.wake_writer.notify_one();
        }
        Ok((seq, rx))
    }

    /// The error for a request that got no reply in time. If nothing at all was read from the
    /// socket while the request waited, the socket is presumed dead (a half-open connection, a
    /// frozen or unplugged peer) and is closed, so the next request reconnects.
    fn timed_out(&self, seq: u64, started_ms: u64, timeout: Duration) -> Error {
        let sent = {
            let state = self.shared.lock();
            if seq < state.handed {
                Sent::Maybe
            } else {
                Sent::No
            }
        };
        let err = Error::new(
            ErrorKind::Timeout,
            format!("no reply within {} ms", timeout.as_millis()),
        )
        .with_node(self.shared.node.as_ref())
        .with_sent(sent);
        if self.shared.last_read_ms.load(Ordering::Acquire) <= started_ms {
            self.shared.close(err.clone());
        }
        err
    }
}

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

    fn elapsed_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
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
        for p in drained {
            let sent = if p.seq < handed {
                Sent::Maybe
            } else {
                Sent::No
            };
            let _ = p.tx.send(Err(err.clone().with_sent(sent)));
        }
        self.wake_writer.notify_one();
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

async fn read_loop<R: AsyncRead + Unpin>(mut reader: R, mut decoder: Decoder, shared: Arc<Shared>) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut replies: Vec<Value> = Vec::new();
    let mut done: Vec<(oneshot::Sender<Result<Reply>>, Reply)> = Vec::new();
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Value::Push(items))) => {
                    if let Some(sink) = &shared.push_sink {
                        let _ = sink.send(Value::Push(items));
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
                    .store(shared.elapsed_ms(), Ordering::Release);
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
            done.push((p.tx, reply));
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
        assert!(matches!(push, Value::Push(items) if items.len() == 3));
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

    /// Reads commands until `n` have arrived, then answers them all in one write.
    async fn answer(
        server: &mut tokio::io::DuplexStream,
        decoder: &mut Decoder,
        buf: &mut BytesMut,
        n: usize,
    ) {
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
        server.write_all(&out).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_woken_together_share_a_write() {
        const CALLERS: usize = 50;
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
                // The second command is sent as soon as the first is answered: every caller
                // is woken by the same read.
                for _ in 0..2 {
                    let cmd = Cmd::new("SET").arg(i).arg(i);
                    p.request([&cmd], false, WAIT).await.unwrap();
                }
            }));
        }
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        answer(&mut server, &mut decoder, &mut buf, CALLERS).await;
        let before = writes.load(Ordering::Relaxed);
        answer(&mut server, &mut decoder, &mut buf, CALLERS).await;
        let second_round = writes.load(Ordering::Relaxed) - before;
        for caller in callers {
            caller.await.unwrap();
        }
        assert!(
            second_round <= CALLERS as u64 / 5,
            "{CALLERS} commands from callers woken together took {second_round} writes"
        );
    }
}
