//! One node: connect, handshake, multiplexing, timeouts and reconnects.
//!
//! A [`Connection`] is a cheap-to-clone handle to one node. All clones share one socket; any
//! number of tasks may send on it at once and their commands are pipelined automatically. When
//! the socket fails, every request waiting on it fails at once (no caller hangs on a dead socket)
//! and the next request reconnects, no sooner than the reconnect backoff allows.
//!
//! This module knows nothing of slots or redirections: a `MOVED` reply is handed back to the
//! caller like any other error.

mod auth;
mod config;
mod handshake;
pub(crate) mod meter;
mod mux;
#[cfg(feature = "tls")]
mod tls;
pub(crate) mod tracking;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use meter::Meter;

pub use auth::{Credentials, CredentialsFuture, CredentialsProvider};
pub use config::{ConnectionConfig, Protocol, Secret};
pub(crate) use config::{MeterSlot, Reachability, Watcher};
pub(crate) use handshake::auth_command;
use mux::{Multiplexer, Reply};
pub(crate) use mux::{PushSink, SinkEvent, FOREVER};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;

use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Cmd, ServerError, Value, WireReply};

/// A request [`Connection::start`] queued: where its reply comes, and when it was queued (its
/// timeout counts from then).
#[derive(Debug)]
pub(crate) struct Started {
    rx: tokio::sync::oneshot::Receiver<Result<Reply>>,
    pub(crate) at: Instant,
}

/// A multiplexed connection to one node, reconnecting on demand.
///
/// ```no_run
/// # async fn demo() -> slotwise::Result<()> {
/// use slotwise::connection::{Connection, ConnectionConfig};
/// use slotwise::protocol::Cmd;
///
/// let conn = Connection::connect(ConnectionConfig::new("127.0.0.1", 7000)).await?;
/// let pong = conn.send(&Cmd::new("PING")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnectionState>,
}

/// What every clone of one [`Connection`] shares.
struct ConnectionState {
    config: ConnectionConfig,
    node: Arc<str>,
    current: ArcSwapOption<Multiplexer>,
    reconnect: tokio::sync::Mutex<Backoff>,
    /// The last attempt to connect failed, and none has succeeded since.
    down: AtomicBool,
    push_sink: Option<PushSink>,
    /// One socket only: once it is lost, requests fail instead of reconnecting (the socket
    /// held state, such as a `WATCH`, that a new one would silently lack).
    single_socket: bool,
    /// A socket was opened at least once.
    opened: AtomicBool,
    /// The availability zone the node reported when last greeted.
    zone: ArcSwapOption<String>,
    /// The node's meter, which every socket of this connection records into.
    meter: Arc<Meter>,
    /// Client tracking on every socket of this connection, told of its invalidations.
    tracker: Option<Arc<dyn tracking::Tracker>>,
}

/// Reconnect pacing: after `failures` failed connects in a row, no new attempt before `retry_at`.
#[derive(Default)]
struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<Error>,
}

impl Connection {
    /// A connection that opens its socket on first use.
    pub fn new(config: ConnectionConfig) -> Connection {
        Connection::with_sink(config, None)
    }

    /// Opens the socket and greets the node now, so a wrong address or password shows here.
    pub async fn connect(config: ConnectionConfig) -> Result<Connection> {
        let conn = Connection::new(config);
        let timeout = conn.inner.config.connect_timeout;
        conn.mux(timeout).await?;
        Ok(conn)
    }

    pub(crate) fn with_sink(config: ConnectionConfig, push_sink: Option<PushSink>) -> Connection {
        Connection::build(config, push_sink, false, None)
    }

    /// A connection whose every socket turns client tracking on and tells `tracker` of its
    /// invalidations and its loss.
    pub(crate) fn with_tracker(
        config: ConnectionConfig,
        tracker: Arc<dyn tracking::Tracker>,
    ) -> Connection {
        Connection::build(config, None, false, Some(tracker))
    }

    /// Opens one socket now; once it is lost, requests fail with [`ErrorKind::Closed`] rather
    /// than reconnect.
    pub(crate) async fn connect_single(config: ConnectionConfig) -> Result<Connection> {
        let conn = Connection::build(config, None, true, None);
        let timeout = conn.inner.config.connect_timeout;
        conn.mux(timeout).await?;
        Ok(conn)
    }

    fn build(
        config: ConnectionConfig,
        push_sink: Option<PushSink>,
        single_socket: bool,
        tracker: Option<Arc<dyn tracking::Tracker>>,
    ) -> Connection {
        let node: Arc<str> = Arc::from(config.node_name());
        let meter = match &config.meter.0 {
            Some(meter) => Arc::clone(meter),
            None => Meter::new(&node),
        };
        Connection {
            inner: Arc::new(ConnectionState {
                config,
                node,
                current: ArcSwapOption::empty(),
                reconnect: tokio::sync::Mutex::new(Backoff::default()),
                down: AtomicBool::new(false),
                push_sink,
                single_socket,
                opened: AtomicBool::new(false),
                zone: ArcSwapOption::empty(),
                meter,
                tracker,
            }),
        }
    }

    /// The node's name, `host:port`.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// The settings this connection was made with.
    pub fn config(&self) -> &ConnectionConfig {
        &self.inner.config
    }

    /// The availability zone the node reported when this connection last greeted it
    /// (`availability_zone` in the `HELLO` reply: Valkey 8.1 and newer, with the server's
    /// `availability-zone` set). `None` before the first connect, with
    /// [`Protocol::Resp2`] (no `HELLO` is sent) and from servers that report none, such as
    /// Redis.
    pub fn zone(&self) -> Option<String> {
        self.inner.zone.load().as_deref().cloned()
    }

    /// Whether the node reported `zone` as its own; `None` when it reported none.
    pub(crate) fn zone_is(&self, zone: &str) -> Option<bool> {
        self.inner.zone.load().as_deref().map(|z| z == zone)
    }

    /// True while a socket is open (it may still fail on the next request).
    pub fn is_connected(&self) -> bool {
        self.inner
            .current
            .load()
            .as_ref()
            .is_some_and(|p| p.is_open())
    }

    /// True when the last attempt to connect failed and none has succeeded since: the node is
    /// unreachable as far as this connection knows.
    pub(crate) fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::Relaxed)
    }

    /// Sends one command and waits for its reply. An error reply is returned as an
    /// [`Error`] whose [`kind`](Error::kind) classifies it (`MOVED`, `ASK`, …).
    pub async fn send(&self, cmd: &Cmd) -> Result<Value> {
        self.send_within(cmd, self.inner.config.response_timeout)
            .await
    }

    /// Like [`send`](Self::send), waiting at most `timeout` for the reply.
    pub async fn send_within(&self, cmd: &Cmd, timeout: Duration) -> Result<Value> {
        self.check(cmd)?;
        let mux = self.mux(timeout).await?;
        let reply = mux.request(std::iter::once(cmd), false, timeout).await;
        self.one_reply(reply, cmd)
    }

    /// Queues `cmd` on the open socket without waiting for its reply, for a caller that polls
    /// it itself ([`poll_reply`](Self::poll_reply)): `None` when no socket is open (the caller
    /// takes [`send_within`](Self::send_within)'s way, which connects), else the request or
    /// why it was refused.
    pub(crate) fn start(&self, cmd: &Cmd, timeout: Duration) -> Option<Result<Started>> {
        let current = self.inner.current.load();
        let mux = current.as_ref().filter(|mux| mux.is_open())?;
        if let Err(e) = self.check(cmd) {
            return Some(Err(e));
        }
        let started = mux.queue_one(cmd, timeout).map(|(rx, at)| Started {
            rx,
            at: at.into_std(),
        });
        Some(started.map_err(|e| e.with_command(command_name(cmd))))
    }

    /// The reply to `cmd`, [`start`](Self::start)ed as `started`, once it comes: what
    /// [`send_within`](Self::send_within) would have returned.
    pub(crate) fn poll_reply(
        &self,
        started: &mut Started,
        cmd: &Cmd,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Value>> {
        use std::future::Future;
        let reply = match std::task::ready!(std::pin::Pin::new(&mut started.rx).poll(cx)) {
            Ok(reply) => reply,
            // The reader dropped the slot without answering: it only does so while closing,
            // after the request may have been written.
            Err(_) => Err(Error::new(ErrorKind::Closed, "connection closed")
                .with_node(self.node())
                .with_sent(Sent::Maybe)),
        };
        std::task::Poll::Ready(self.one_reply(reply, cmd))
    }

    /// One command's reply as the caller gets it: an error reply as an [`Error`].
    fn one_reply(&self, reply: Result<Reply>, cmd: &Cmd) -> Result<Value> {
        match reply.map_err(|e| e.with_command(command_name(cmd)))? {
            Reply::One(Value::Error(e)) => Err(self.server_error(e, cmd)),
            Reply::One(v) => Ok(v),
            Reply::Many(_) | Reply::Frames(_) => {
                Err(Error::new(ErrorKind::Protocol, "unexpected batch reply"))
            }
        }
    }

    /// The error for an error reply to `cmd`.
    fn server_error(&self, e: ServerError, cmd: &Cmd) -> Error {
        let err = Error::from_server(e)
            .with_node(self.node())
            .with_command(command_name(cmd));
        // A server that echoes what it was sent must not put the password in a log.
        match self.inner.config.auth.password() {
            Some(password) => err.redacting(password.expose()),
            None => err,
        }
    }

    /// Sends commands back to back, with no other caller's command between them, and returns
    /// every reply in order. Error replies stay in the list as [`Value::Error`].
    pub async fn send_batch<'a, I>(&self, cmds: I) -> Result<Vec<Value>>
    where
        I: IntoIterator<Item = &'a Cmd>,
        I::IntoIter: Clone,
    {
        self.send_batch_within(cmds, self.inner.config.response_timeout)
            .await
    }

    /// Like [`send_batch`](Self::send_batch), waiting at most `timeout` for all the replies.
    pub async fn send_batch_within<'a, I>(&self, cmds: I, timeout: Duration) -> Result<Vec<Value>>
    where
        I: IntoIterator<Item = &'a Cmd>,
        I::IntoIter: Clone,
    {
        let cmds = cmds.into_iter();
        for cmd in cmds.clone() {
            self.check(cmd)?;
        }
        let mux = self.mux(timeout).await?;
        match mux.request(cmds, true, timeout).await? {
            Reply::Many(values) => Ok(values),
            Reply::One(v) => Ok(vec![v]),
            Reply::Frames(_) => Err(Error::new(
                ErrorKind::Protocol,
                "unexpected undecoded reply",
            )),
        }
    }

    /// Like [`send`](Self::send), with the reply left as the bytes it came in, to be decoded
    /// piecemeal: for replies that can run to megabytes (see `protocol::WireReply`).
    pub(crate) async fn send_undecoded(&self, cmd: &Cmd) -> Result<WireReply> {
        let replies = self.send_batch_undecoded([cmd]).await;
        let mut replies = replies
            .map_err(|e| e.with_command(command_name(cmd)))?
            .into_iter();
        let Some(reply) = replies.next() else {
            return Err(Error::new(ErrorKind::Protocol, "no reply").with_node(self.node()));
        };
        match reply.server_error()? {
            Some(e) => Err(self.server_error(e, cmd)),
            None => Ok(reply),
        }
    }

    /// Like [`send_batch`](Self::send_batch), with every reply left as the bytes it came in;
    /// error replies are among them, undecoded too.
    pub(crate) async fn send_batch_undecoded<'a, I>(&self, cmds: I) -> Result<Vec<WireReply>>
    where
        I: IntoIterator<Item = &'a Cmd>,
        I::IntoIter: Clone,
    {
        let cmds = cmds.into_iter();
        for cmd in cmds.clone() {
            self.check(cmd)?;
        }
        let timeout = self.inner.config.response_timeout;
        let mux = self.mux(timeout).await?;
        mux.request_undecoded(cmds, timeout).await
    }

    /// Closes the socket now; the next request reconnects.
    pub fn disconnect(&self) {
        self.inner.current.store(None);
    }

    fn check(&self, cmd: &Cmd) -> Result<()> {
        if self.inner.config.cluster_mode {
            refuse_in_cluster(cmd).map_err(|e| e.with_node(self.node()))?;
        }
        Ok(())
    }

    /// The open multiplexer, reconnecting if there is none.
    async fn mux(&self, limit: Duration) -> Result<Arc<Multiplexer>> {
        if let Some(p) = self.inner.current.load_full() {
            if p.is_open() {
                return Ok(p);
            }
        }
        // Boxed because connecting and greeting make a large future, and every request's
        // future would otherwise carry that size though it almost never reconnects: the
        // difference decides whether a command's future fits the allocator's fast path.
        Box::pin(self.reconnect(limit)).await
    }

    /// Connects again, taking at most `limit` (and never more than the connect timeout).
    async fn reconnect(&self, limit: Duration) -> Result<Arc<Multiplexer>> {
        let mut backoff = self.inner.reconnect.lock().await;
        // Another caller may have reconnected while this one waited for the lock.
        if let Some(p) = self.inner.current.load_full() {
            if p.is_open() {
                return Ok(p);
            }
        }
        if self.inner.single_socket && self.inner.opened.load(Ordering::Relaxed) {
            return Err(Error::new(
                ErrorKind::Closed,
                "the connection was lost, and with it the state it held (a WATCH); it is not \
                 reopened",
            )
            .with_node(self.node())
            .with_sent(Sent::No));
        }
        if let (Some(retry_at), Some(last)) = (backoff.retry_at, &backoff.last_error) {
            if Instant::now() < retry_at {
                return Err(last
                    .clone()
                    .with_note("waiting out the reconnect backoff")
                    .with_node(self.node())
                    .with_sent(Sent::No));
            }
        }
        let timeout = self.inner.config.connect_timeout.min(limit);
        match handshake::open(
            timeout,
            &self.inner.config,
            Arc::clone(&self.inner.node),
            self.inner.push_sink.clone(),
            Arc::clone(&self.inner.meter),
            self.inner.tracker.as_ref(),
        )
        .await
        {
            Ok((mux, greeting)) => {
                self.inner.zone.store(greeting.zone.map(Arc::new));
                let mux = Arc::new(mux);
                self.inner.current.store(Some(Arc::clone(&mux)));
                if self.inner.opened.swap(true, Ordering::Relaxed) {
                    self.inner.meter.reconnected();
                }
                *backoff = Backoff::default();
                if self.inner.down.swap(false, Ordering::Relaxed) {
                    if let Some(watcher) = &self.inner.config.watcher.0 {
                        watcher(&self.inner.node, None);
                    }
                }
                Ok(mux)
            }
            Err(e) => {
                self.inner.meter.connect_failed();
                let config = &self.inner.config;
                let exp = backoff.failures.min(16);
                let wait = config
                    .reconnect_min_backoff
                    .saturating_mul(1u32 << exp)
                    .min(config.reconnect_max_backoff);
                backoff.failures = backoff.failures.saturating_add(1);
                backoff.retry_at = Some(Instant::now() + jitter(wait));
                backoff.last_error = Some(e.clone());
                self.inner.current.store(None);
                if !self.inner.down.swap(true, Ordering::Relaxed) {
                    if let Some(watcher) = &self.inner.config.watcher.0 {
                        watcher(&self.inner.node, Some(&e));
                    }
                }
                Err(e.with_sent(Sent::No))
            }
        }
    }
}

/// Spreads reconnects of many clients over time: 75–100 % of the nominal wait.
fn jitter(wait: std::time::Duration) -> std::time::Duration {
    use std::hash::{BuildHasher, Hasher};
    // Each `RandomState` is seeded afresh, which is all the randomness jitter needs.
    let noise = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    wait.mul_f64(0.75 + (noise % 1000) as f64 / 4000.0)
}

/// A subscriber socket: commands are only written, and every frame read (pushes, replies,
/// the close) goes to the sink it was opened with. It is never reopened.
#[derive(Debug)]
pub(crate) struct Subscriber {
    mux: Multiplexer,
    node: String,
}

impl Subscriber {
    /// Connects and greets the node as any connection does (RESP3 needed: a subscribed RESP2
    /// connection cannot tell messages from replies), then hands every frame to `sink`.
    pub(crate) async fn open(config: &ConnectionConfig, sink: PushSink) -> Result<Subscriber> {
        if config.protocol == config::Protocol::Resp2 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "pub/sub needs RESP3; the connection is configured for RESP2",
            ));
        }
        let node: Arc<str> = Arc::from(config.node_name());
        let (mux, _) = handshake::open(
            config.connect_timeout,
            config,
            Arc::clone(&node),
            Some(sink),
            Meter::detached(),
            None,
        )
        .await?;
        // The handshake falls back to RESP2 on servers without HELLO 3; ask which it is.
        let hello = Cmd::new("HELLO");
        let reply = mux
            .request([&hello], false, config.connect_timeout)
            .await
            .map_err(|e| e.with_node(node.as_ref()))?;
        if !matches!(reply, Reply::One(Value::Map(_))) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "pub/sub needs RESP3 (Redis 6 or newer), which this node does not speak",
            )
            .with_node(node.as_ref()));
        }
        mux.switch_to_raw();
        Ok(Subscriber {
            mux,
            node: node.to_string(),
        })
    }

    /// Writes `cmds`; their outcome comes to the sink.
    pub(crate) fn send<'a>(&self, cmds: impl IntoIterator<Item = &'a Cmd>) -> Result<()> {
        self.mux
            .send_raw(cmds)
            .map_err(|e| e.with_node(self.node.as_str()))
    }

    /// The node's name, `host:port`.
    pub(crate) fn node(&self) -> &str {
        &self.node
    }
}

/// `at` plus `wait`; a wait too long to add (a caller's "no limit") ends in a hundred years,
/// as a request's timeout does.
pub(crate) fn later_than(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait).unwrap_or(at + mux::FOREVER)
}

/// `wait` from now, as [`later_than`] adds it.
pub(crate) fn deadline_in(wait: Duration) -> Instant {
    later_than(Instant::now(), wait)
}

/// Refuses what a cluster node cannot do: `SELECT` (a cluster has only database 0).
pub(crate) fn refuse_in_cluster(cmd: &Cmd) -> Result<()> {
    if cmd.name().eq_ignore_ascii_case(b"SELECT") {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "SELECT is not available in cluster mode: a cluster has only database 0",
        ));
    }
    Ok(())
}

/// A command's name as errors show it: upper case.
pub(crate) fn command_name(cmd: &Cmd) -> String {
    String::from_utf8_lossy(cmd.name()).to_uppercase()
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("node", &self.inner.node)
            .field("connected", &self.is_connected())
            .field("config", &self.inner.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_too_long_to_add_ends_far_away_without_panicking() {
        let now = Instant::now();
        assert_eq!(
            later_than(now, Duration::from_secs(2)),
            now + Duration::from_secs(2)
        );
        let never = later_than(now, Duration::MAX);
        assert!(never > now + Duration::from_secs(50 * 365 * 24 * 3600));
        assert!(deadline_in(Duration::MAX) > now);
    }

    /// Every command's future contains this one; if the reconnect path were inline it would
    /// add ~500 bytes and push a GET's boxed future past glibc's per-thread cache (1 KiB).
    #[test]
    fn send_future_stays_small() {
        let conn = Connection::new(ConnectionConfig::new("127.0.0.1", 1));
        let cmd = Cmd::new("GET").arg("k");
        let send = conn.send(&cmd);
        let size = std::mem::size_of_val(&send);
        assert!(size <= 192, "Connection::send's future is {size} bytes");
    }
}
