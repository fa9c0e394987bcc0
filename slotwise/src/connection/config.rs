//! How to reach and greet one node: address, credentials, protocol, timeouts, limits.
//!
//! [`ConnectionConfig`] is plain data shared by every connection of a client. The password lives
//! in a [`Secret`], whose `Debug` and `Display` print `***`, so printing a configuration (or an
//! error that mentions one) can never leak it.
//!
//! This module does not open sockets; see [`Connection`](super::Connection).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_REPLY_LEN};

/// A password or other secret: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(Arc::from(secret.into()))
    }

    /// The secret itself, for sending it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Which RESP version to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// RESP3 through `HELLO 3`, falling back to RESP2 on servers without `HELLO`.
    #[default]
    Resp3,
    /// RESP2 only: `HELLO` is never sent.
    Resp2,
}

/// The settings of a connection to one node.
///
/// ```
/// use std::time::Duration;
/// use slotwise::connection::ConnectionConfig;
///
/// let config = ConnectionConfig::new("127.0.0.1", 7000)
///     .password("s3cret")
///     .response_timeout(Duration::from_millis(500));
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, Debug)]
#[must_use = "settings take effect only when passed to `Connection::connect`"]
pub struct ConnectionConfig {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) auth: super::auth::Auth,
    pub(crate) client_name: Option<String>,
    pub(crate) protocol: Protocol,
    pub(crate) readonly: bool,
    pub(crate) cluster_mode: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) max_bulk_len: usize,
    pub(crate) max_reply_len: usize,
    pub(crate) limits: super::mux::Limits,
    pub(crate) reconnect_min_backoff: Duration,
    pub(crate) reconnect_max_backoff: Duration,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<super::tls::TlsConfig>,
    pub(crate) watcher: Watcher,
    pub(crate) meter: MeterSlot,
}

/// Told when a node (`host:port`) becomes unreachable, with why, or reachable again (`None`).
pub(crate) type Reachability = Arc<dyn Fn(&str, Option<&crate::Error>) + Send + Sync>;

/// Who hears of a connection's node becoming unreachable and reachable again: the cluster's
/// events, for its connections.
#[derive(Clone, Default)]
pub(crate) struct Watcher(pub(crate) Option<Reachability>);

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Watcher" } else { "None" })
    }
}

/// The meter a connection records into: its node's, shared by every connection of a cluster
/// client to that node. `None`: the connection makes one of its own.
#[derive(Clone, Default)]
pub(crate) struct MeterSlot(pub(crate) Option<Arc<super::meter::Meter>>);

impl fmt::Debug for MeterSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Meter" } else { "None" })
    }
}

impl ConnectionConfig {
    /// Settings for `host:port` with every other setting at its default.
    pub fn new(host: impl Into<String>, port: u16) -> ConnectionConfig {
        ConnectionConfig {
            host: host.into(),
            port,
            auth: super::auth::Auth::default(),
            client_name: None,
            protocol: Protocol::default(),
            readonly: false,
            cluster_mode: true,
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_reply_len: DEFAULT_MAX_REPLY_LEN,
            limits: super::mux::Limits::default(),
            reconnect_min_backoff: Duration::from_millis(50),
            reconnect_max_backoff: Duration::from_secs(2),
            #[cfg(feature = "tls")]
            tls: None,
            watcher: Watcher::default(),
            meter: MeterSlot::default(),
        }
    }

    /// The same settings for another node.
    pub fn for_node(&self, host: impl Into<String>, port: u16) -> ConnectionConfig {
        ConnectionConfig {
            host: host.into(),
            port,
            ..self.clone()
        }
    }

    /// The ACL user name to authenticate as. Default is none (the `default` user).
    pub fn username(mut self, username: impl Into<String>) -> ConnectionConfig {
        self.auth = self.auth.with_username(username.into());
        self
    }

    /// The password to authenticate with. Default is none.
    pub fn password(mut self, password: impl Into<String>) -> ConnectionConfig {
        self.auth = self.auth.with_password(Secret::new(password));
        self
    }

    /// Asks `provider` for the credentials at every new connection and reconnect (tokens that
    /// expire: IAM, Entra ID); what it returns wins over [`username`](Self::username) and
    /// [`password`](Self::password). A provider that fails or does not answer within the
    /// connect timeout fails the connection with [`ErrorKind::Auth`](crate::ErrorKind::Auth).
    /// Default is none.
    pub fn credentials_provider(
        mut self,
        provider: impl super::auth::CredentialsProvider,
    ) -> ConnectionConfig {
        self.auth = self.auth.with_provider(Arc::new(provider));
        self
    }

    /// The name set with `CLIENT SETNAME` (seen in `CLIENT LIST`). Default is none.
    pub fn client_name(mut self, name: impl Into<String>) -> ConnectionConfig {
        self.client_name = Some(name.into());
        self
    }

    /// The RESP version. Default is [`Protocol::Resp3`] with fallback to RESP2.
    pub fn protocol(mut self, protocol: Protocol) -> ConnectionConfig {
        self.protocol = protocol;
        self
    }

    /// Sends `READONLY` after connecting, so a replica serves reads. Default is false.
    pub fn readonly(mut self, readonly: bool) -> ConnectionConfig {
        self.readonly = readonly;
        self
    }

    /// Whether the node is part of a cluster, where `SELECT` is refused before it is sent.
    /// Default is true.
    pub fn cluster_mode(mut self, cluster_mode: bool) -> ConnectionConfig {
        self.cluster_mode = cluster_mode;
        self
    }

    /// How long connecting (TCP, TLS and the handshake) may take. Default is 1 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> ConnectionConfig {
        self.connect_timeout = timeout;
        self
    }

    /// How long a request may wait for its reply. Default is 2 s.
    pub fn response_timeout(mut self, timeout: Duration) -> ConnectionConfig {
        self.response_timeout = timeout;
        self
    }

    /// The most bytes of requests that may wait to be written to the node; past it a request
    /// fails at once with [`ErrorKind::Overloaded`](crate::ErrorKind::Overloaded) instead of
    /// growing the buffer (a node that stopped reading). Default is 64 MiB.
    pub fn max_pending_bytes(mut self, bytes: usize) -> ConnectionConfig {
        self.limits.max_pending_bytes = bytes;
        self
    }

    /// The most requests that may wait for their replies from the node; past it a request
    /// fails at once with [`ErrorKind::Overloaded`](crate::ErrorKind::Overloaded). Default is
    /// 100,000.
    pub fn max_pending_requests(mut self, requests: usize) -> ConnectionConfig {
        self.limits.max_pending_requests = requests;
        self
    }

    /// The largest bulk string (and aggregate length) accepted from the server. Default is
    /// 512 MiB.
    pub fn max_bulk_len(mut self, len: usize) -> ConnectionConfig {
        self.max_bulk_len = len;
        self
    }

    /// The largest whole reply accepted from the server, counted on the wire; a larger one
    /// fails its command with a protocol error and closes the connection. Default is 1 GiB.
    pub fn max_reply_len(mut self, len: usize) -> ConnectionConfig {
        self.max_reply_len = len;
        self
    }

    /// The first wait before reconnecting after a failed connect; it doubles on every further
    /// failure, up to [`reconnect_max_backoff`](Self::reconnect_max_backoff). Default is 50 ms.
    pub fn reconnect_min_backoff(mut self, backoff: Duration) -> ConnectionConfig {
        self.reconnect_min_backoff = backoff;
        self
    }

    /// The longest wait between reconnect attempts. Default is 2 s.
    pub fn reconnect_max_backoff(mut self, backoff: Duration) -> ConnectionConfig {
        self.reconnect_max_backoff = backoff;
        self
    }

    /// Connects with TLS. Default is plain TCP.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: super::tls::TlsConfig) -> ConnectionConfig {
        self.tls = Some(tls);
        self
    }

    /// True when connections use TLS.
    pub(crate) fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        return false;
    }

    /// The node's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The node's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, the node's name.
    pub fn node_name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_printed() {
        let config = ConnectionConfig::new("h", 1)
            .username("alice")
            .password("hunter2-secret");
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
        let secret = Secret::new("hunter2-secret");
        assert_eq!(secret.to_string(), "***");
        assert_eq!(secret.expose(), "hunter2-secret");
    }
}
