//! [`ClusterBuilder`]: every setting of a cluster client, and URL parsing.
//!
//! Setters never fail; a bad URL is remembered and reported by [`ClusterBuilder::build`], the
//! one fallible step, which connects to the startup nodes and loads the topology. Error messages
//! show URLs with the password replaced by `***`.
//!
//! This module does not connect; [`RedisCluster`](super::RedisCluster) does.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::node::ClusterNode;
use super::read_from::ReadFrom;
use super::RedisCluster;
use crate::connection::{ConnectionConfig, Protocol};
use crate::error::{Error, ErrorKind, Result};

/// Maps an address the cluster reports to the address to dial (NAT, port forwarding,
/// containers).
pub(crate) type AddressRemap = Arc<dyn Fn(&str, u16) -> (String, u16) + Send + Sync>;

/// Builds a [`RedisCluster`].
///
/// ```no_run
/// # async fn demo() -> slotwise::Result<()> {
/// use std::time::Duration;
/// use slotwise::{ClusterNode, ReadFrom, RedisCluster};
///
/// let cluster = RedisCluster::builder()
///     .startup_node(ClusterNode::new("127.0.0.1", 7000))
///     .startup_node(ClusterNode::new("127.0.0.1", 7001))
///     .password("s3cret")
///     .read_from(ReadFrom::Replica)
///     .response_timeout(Duration::from_millis(500))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a builder connects nothing until `build` is awaited"]
pub struct ClusterBuilder {
    pub(crate) startup: Vec<ClusterNode>,
    pub(crate) connection: ConnectionConfig,
    pub(crate) read_from: ReadFrom,
    pub(crate) node_zones: HashMap<String, Arc<str>>,
    pub(crate) latency_probe_interval: Duration,
    pub(crate) require_full_coverage: bool,
    pub(crate) remap: Option<AddressRemap>,
    pub(crate) retry_max_attempts: u32,
    pub(crate) retry_deadline: Duration,
    pub(crate) retry_max_backoff: Duration,
    pub(crate) retry_writes_on_io: bool,
    pub(crate) refresh_interval: Option<Duration>,
    pub(crate) refresh_min_interval: Duration,
    pub(crate) discovery_fanout: usize,
    pub(crate) startup_timeout: Duration,
    pub(crate) pubsub_queue_len: usize,
    pub(crate) pubsub_spread_channels: bool,
    pub(crate) blocking_idle: usize,
    pub(crate) recovery_probe_interval: Option<Duration>,
    pub(crate) cache: Option<super::cache::CacheConfig>,
    pub(crate) preconnect: bool,
    tls_wanted: bool,
    error: Option<Error>,
}

impl Default for ClusterBuilder {
    fn default() -> ClusterBuilder {
        ClusterBuilder::new()
    }
}

impl ClusterBuilder {
    /// A builder with every setting at its default and no startup node.
    pub fn new() -> ClusterBuilder {
        ClusterBuilder {
            startup: Vec::new(),
            connection: ConnectionConfig::new("", 0),
            read_from: ReadFrom::Primary,
            node_zones: HashMap::new(),
            latency_probe_interval: Duration::from_secs(1),
            require_full_coverage: true,
            remap: None,
            retry_max_attempts: 16,
            retry_deadline: Duration::from_secs(5),
            retry_max_backoff: Duration::from_millis(500),
            retry_writes_on_io: false,
            refresh_interval: Some(Duration::from_secs(30)),
            refresh_min_interval: Duration::from_millis(100),
            discovery_fanout: 3,
            startup_timeout: Duration::from_secs(10),
            pubsub_queue_len: 10_000,
            pubsub_spread_channels: false,
            blocking_idle: 4,
            recovery_probe_interval: Some(Duration::from_millis(10)),
            cache: None,
            preconnect: false,
            tls_wanted: false,
            error: None,
        }
    }

    /// Adds a startup node. Startup nodes are tried in turn until one answers.
    pub fn startup_node(mut self, node: ClusterNode) -> ClusterBuilder {
        self.startup.push(node);
        self
    }

    /// Adds several startup nodes.
    pub fn startup_nodes(mut self, nodes: impl IntoIterator<Item = ClusterNode>) -> ClusterBuilder {
        self.startup.extend(nodes);
        self
    }

    /// Adds the node of a `redis://[user[:password]@]host[:port]` URL (`rediss://` for TLS) as a
    /// startup node, and takes its user and password. A database other than 0 is refused: a
    /// cluster has only database 0.
    pub fn url(mut self, url: &str) -> ClusterBuilder {
        match parse_url(url) {
            Ok(parsed) => {
                self.startup
                    .push(ClusterNode::new(parsed.host, parsed.port));
                if let Some(user) = parsed.username {
                    self.connection = self.connection.username(user);
                }
                if let Some(password) = parsed.password {
                    self.connection = self.connection.password(password);
                }
                self.tls_wanted |= parsed.tls;
            }
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(e);
                }
            }
        }
        self
    }

    /// The ACL user. Default is none (the `default` user).
    pub fn username(mut self, username: impl Into<String>) -> ClusterBuilder {
        self.connection = self.connection.username(username);
        self
    }

    /// The password. Default is none.
    pub fn password(mut self, password: impl Into<String>) -> ClusterBuilder {
        self.connection = self.connection.password(password);
        self
    }

    /// The name every connection sets with `CLIENT SETNAME`. Default is none.
    pub fn client_name(mut self, name: impl Into<String>) -> ClusterBuilder {
        self.connection = self.connection.client_name(name);
        self
    }

    /// The RESP version. Default is RESP3 with fallback to RESP2.
    pub fn protocol(mut self, protocol: Protocol) -> ClusterBuilder {
        self.connection = self.connection.protocol(protocol);
        self
    }

    /// Serves reads from memory: replies of the cacheable reads (`GET`, `HGET`, `HGETALL`,
    /// `SMEMBERS`, `ZRANGE` …, one key each) are kept within `config`'s bounds and dropped when
    /// the node that served them says their key changed (`CLIENT TRACKING`, turned on for
    /// every node connection; replica reads are cached too, and invalidated by the replica).
    /// Needs RESP3: with [`Protocol::Resp2`], [`build`](Self::build) fails with
    /// [`ErrorKind::InvalidInput`]; a node that cannot speak RESP3 fails its connect with
    /// [`ErrorKind::Unsupported`].
    ///
    /// What it guarantees: a client reads its own writes; a read that starts after the
    /// connection received a key's invalidation never returns the value from before it; nothing
    /// read through a lost connection, or from a node that lost the key's slot, is served after
    /// that is known. [`mget_nonatomic`](crate::ClusterCommands::mget_nonatomic) reads each
    /// key through the cache. What it does not: across clients it is eventually consistent, as the
    /// server's tracking is: right after another client's write, this one may still serve the
    /// old value until the invalidation arrives; a read from a replica lags the primary as
    /// the replica does. Targets, pipelines, transactions and [`RedisCluster::no_cache`]
    /// handles bypass it; [`Stats::cache`](crate::Stats::cache) counts hits, misses,
    /// invalidations and evictions, and [`Stats::cache_nodes`](crate::Stats::cache_nodes) each
    /// node's share. The store is a
    /// [`quick_cache`](https://docs.rs/quick_cache) cache (concurrent, bounded by weight,
    /// small without its default features). Default is off.
    ///
    /// ```no_run
    /// # async fn demo() -> slotwise::Result<()> {
    /// use slotwise::commands::StringCommands;
    /// use slotwise::{CacheConfig, RedisCluster};
    ///
    /// let cluster = RedisCluster::builder()
    ///     .url("redis://127.0.0.1:7000")
    ///     .client_side_cache(CacheConfig::new().max_entries(100_000))
    ///     .build()
    ///     .await?;
    /// let first: Option<String> = cluster.get("config:flags").await?; // from the node
    /// let again: Option<String> = cluster.get("config:flags").await?; // from memory
    /// # Ok(()) }
    /// ```
    pub fn client_side_cache(mut self, config: super::cache::CacheConfig) -> ClusterBuilder {
        self.cache = Some(config);
        self
    }

    /// How long connecting to a node may take. Default is 1 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClusterBuilder {
        self.connection = self.connection.connect_timeout(timeout);
        self
    }

    /// How long one request may wait for its reply. Default is 2 s.
    pub fn response_timeout(mut self, timeout: Duration) -> ClusterBuilder {
        self.connection = self.connection.response_timeout(timeout);
        self
    }

    /// Asks `provider` for the user and password at every new connection and reconnect, for
    /// credentials that expire (IAM or Entra ID tokens); what it returns wins over
    /// [`username`](Self::username) and [`password`](Self::password). See
    /// [`CredentialsProvider`](crate::connection::CredentialsProvider) and, for connections
    /// already open, [`RedisCluster::update_credentials`]. Default is none.
    pub fn credentials_provider(
        mut self,
        provider: impl crate::connection::CredentialsProvider,
    ) -> ClusterBuilder {
        self.connection = self.connection.credentials_provider(provider);
        self
    }

    /// The most bytes of requests that may wait to be written to one node; past it a command
    /// fails at once with [`ErrorKind::Overloaded`] rather than grow the buffer without bound
    /// (a node that stopped reading). Default is 64 MiB.
    pub fn max_pending_bytes(mut self, bytes: usize) -> ClusterBuilder {
        self.connection = self.connection.max_pending_bytes(bytes);
        self
    }

    /// The most requests that may wait for their replies from one node; past it a command
    /// fails at once with [`ErrorKind::Overloaded`]. Default is 100,000.
    pub fn max_pending_requests(mut self, requests: usize) -> ClusterBuilder {
        self.connection = self.connection.max_pending_requests(requests);
        self
    }

    /// Where read-only commands go. Default is [`ReadFrom::Primary`].
    pub fn read_from(mut self, read_from: ReadFrom) -> ClusterBuilder {
        self.read_from = read_from;
        self
    }

    /// The availability zone of nodes that report none, by address (`host:port`, as
    /// [`ClusterNode::name`] shows it: after any [address remap](Self::address_remap)), for
    /// [`ReadFrom::AzAffinity`] and [`ReadFrom::AzAffinityReplicasAndPrimary`]. Redis reports
    /// no zone; Valkey 8.1 and newer report the server's `availability-zone`, which wins over
    /// the map. Calls add up; a later zone for an address replaces an earlier one.
    /// Default is none.
    ///
    /// ```no_run
    /// # async fn demo() -> slotwise::Result<()> {
    /// use slotwise::{ReadFrom, RedisCluster};
    ///
    /// let cluster = RedisCluster::builder()
    ///     .url("redis://10.0.1.5:6379")
    ///     .node_zones([("10.0.1.5:6379", "use1-az1"), ("10.0.2.7:6379", "use1-az2")])
    ///     .read_from(ReadFrom::AzAffinity("use1-az1".into()))
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn node_zones(
        mut self,
        zones: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> ClusterBuilder {
        self.node_zones.extend(
            zones
                .into_iter()
                .map(|(addr, zone)| (addr.into(), Arc::from(zone.into()))),
        );
        self
    }

    /// How often every node is sent a `PING` to measure its round trip, with
    /// [`ReadFrom::LowestLatency`]; with the zone-aware strategies, how soon a node that joined
    /// is connected to, to learn its zone. Other strategies send no probe. At least 10 ms.
    /// Default is 1 s.
    pub fn latency_probe_interval(mut self, interval: Duration) -> ClusterBuilder {
        self.latency_probe_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Whether building fails when some slots have no node. When false, covered slots are
    /// served and commands on uncovered ones fail with
    /// [`ErrorKind::SlotNotCovered`](crate::ErrorKind::SlotNotCovered). Default is true.
    pub fn require_full_coverage(mut self, require: bool) -> ClusterBuilder {
        self.require_full_coverage = require;
        self
    }

    /// Rewrites every node address the cluster reports before dialing it (NAT, containers,
    /// port forwarding). Default is none.
    pub fn address_remap<F>(mut self, remap: F) -> ClusterBuilder
    where
        F: Fn(&str, u16) -> (String, u16) + Send + Sync + 'static,
    {
        self.remap = Some(Arc::new(remap));
        self
    }

    /// How many times one command may be redirected (`MOVED`, `ASK`) or retried at the
    /// server's request (`TRYAGAIN`, `CLUSTERDOWN`, `LOADING`) before its last error is
    /// returned. Lost connections are retried until the [deadline](Self::retry_deadline)
    /// instead. Default is 16.
    pub fn retry_max_attempts(mut self, attempts: u32) -> ClusterBuilder {
        self.retry_max_attempts = attempts;
        self
    }

    /// How long one command may take, all its redirections, retries and backoff included. A
    /// command aimed at a failed primary waits up to this long for its replica to take over.
    /// Default is 5 s.
    pub fn retry_deadline(mut self, deadline: Duration) -> ClusterBuilder {
        self.retry_deadline = deadline;
        self
    }

    /// The longest wait between two attempts of one command (backoff doubles from a few
    /// milliseconds up to this, with jitter). Default is 500 ms.
    pub fn retry_max_backoff(mut self, backoff: Duration) -> ClusterBuilder {
        self.retry_max_backoff = backoff;
        self
    }

    /// Whether a write whose connection failed after it was sent is sent again. It may then
    /// run twice (an `INCR` counted twice); only enable this when every write you send is
    /// idempotent. Read-only commands are always retried. Default is false: such a write fails
    /// with an error whose [`may_have_run`](crate::Error::may_have_run) is true.
    pub fn retry_writes_on_io(mut self, retry: bool) -> ClusterBuilder {
        self.retry_writes_on_io = retry;
        self
    }

    /// How often the topology is checked in the background, to notice changes no command ran
    /// into; `None` turns the check off. Errors trigger refreshes on their own. Default is
    /// 30 s.
    pub fn refresh_interval(mut self, interval: Option<Duration>) -> ClusterBuilder {
        self.refresh_interval = interval;
        self
    }

    /// The shortest time between two topology refreshes, however many commands ask for one.
    /// Default is 100 ms.
    pub fn refresh_min_interval(mut self, interval: Duration) -> ClusterBuilder {
        self.refresh_min_interval = interval;
        self
    }

    /// How many nodes are asked for the topology at once; the view most of them agree on
    /// wins. It bounds what discovery costs whatever the cluster's size: a check of a healthy
    /// cluster asks this many nodes (the same ones each time, on sockets kept open), and one
    /// that meets unreachable nodes at most four groups of this many besides the startup
    /// nodes. Default is 3.
    pub fn discovery_fanout(mut self, nodes: usize) -> ClusterBuilder {
        self.discovery_fanout = nodes.max(1);
        self
    }

    /// How long [`build`](Self::build) may take in all: asking the startup nodes for the
    /// topology, then reading the server's command table. A topology that does not come in
    /// time fails the build with a timeout; a command table that does not is read on in the
    /// background while the client starts on its built-in one. Default is 10 s.
    pub fn startup_timeout(mut self, timeout: Duration) -> ClusterBuilder {
        self.startup_timeout = timeout;
        self
    }

    /// How many received messages a [`PubSub`](crate::PubSub) keeps for its consumer; past that
    /// the oldest is dropped and counted in
    /// [`dropped_messages`](crate::PubSub::dropped_messages). At least 1. Default is 10,000.
    pub fn pubsub_queue_len(mut self, messages: usize) -> ClusterBuilder {
        self.pubsub_queue_len = messages.max(1);
        self
    }

    /// Whether a [`PubSub`](crate::PubSub)'s classic channels go each on the primary of its
    /// channel name's slot (and move to another node while that one is lost), so one node does
    /// not carry every subscriber's traffic; patterns stay on one socket. Off, they share one
    /// socket on one node. Default is false.
    pub fn pubsub_spread_channels(mut self, spread: bool) -> ClusterBuilder {
        self.pubsub_spread_channels = spread;
        self
    }

    /// Idle connections each node keeps for blocking commands (`BLPOP`, `XREAD … BLOCK` …), which
    /// run on connections of their own and wait the response timeout plus their block time.
    /// Only one that ended with a reply is kept (after a timeout or a cancel the server may still
    /// run the command). 0 opens one per command. Default is 4.
    pub fn blocking_connections(mut self, idle_per_node: usize) -> ClusterBuilder {
        self.blocking_idle = idle_per_node;
        self
    }

    /// While commands wait for the cluster to recover, how often the client asks the replicas
    /// of an unreachable primary whether one was promoted (`ROLE`), and nodes that refused
    /// with `CLUSTERDOWN` whether they serve again (`CLUSTER INFO`); `None` turns the probes
    /// off, leaving recovery to topology refreshes every
    /// [`refresh_min_interval`](Self::refresh_min_interval). Default is 10 ms.
    ///
    /// The probes are what lets the client serve a failed primary's slots within milliseconds
    /// of the election. They only run during an outage, go to those few nodes, and replace
    /// most full refreshes meanwhile (one every 500 ms instead): with a great many client
    /// instances, a longer interval spreads that load.
    pub fn recovery_probe_interval(mut self, interval: Option<Duration>) -> ClusterBuilder {
        self.recovery_probe_interval = interval.filter(|d| !d.is_zero());
        self
    }

    /// Connects to every node with TLS, `redis://` URLs too; a node that lists both a
    /// plain-text and a TLS port is reached on the TLS one. Default is plain TCP (or TLS with
    /// the bundled web roots for a `rediss://` URL).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::connection::TlsConfig) -> ClusterBuilder {
        self.connection = self.connection.tls(tls);
        self
    }

    /// Connects to the startup nodes, loads the topology and the command table.
    ///
    /// Fails when the settings are invalid (a bad URL), when no startup node answers (the
    /// error names every node tried and why it failed), or when slots are uncovered while
    /// full coverage is required.
    pub async fn build(self) -> Result<RedisCluster> {
        if let Some(e) = self.error.clone() {
            return Err(e);
        }
        if self.startup.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "no startup node: give a URL, a host and port, or startup nodes",
            ));
        }
        if self.cache.is_some() && self.connection.protocol == Protocol::Resp2 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the client-side cache needs RESP3 (invalidations come as pushes on the \
                 connection that read the key), but the protocol is set to RESP2",
            ));
        }
        let builder = self.with_tls_if_wanted()?;
        RedisCluster::connect(builder).await
    }

    #[cfg(feature = "tls")]
    fn with_tls_if_wanted(mut self) -> Result<ClusterBuilder> {
        if self.tls_wanted && self.connection.tls.is_none() {
            self.connection = self
                .connection
                .tls(crate::connection::TlsConfig::with_web_roots()?);
        }
        Ok(self)
    }

    #[cfg(not(feature = "tls"))]
    fn with_tls_if_wanted(self) -> Result<ClusterBuilder> {
        if self.tls_wanted {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "rediss:// needs TLS, but slotwise was built without the `tls` feature",
            ));
        }
        Ok(self)
    }
}

impl fmt::Debug for ClusterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterBuilder")
            .field("startup", &self.startup)
            .field("connection", &self.connection)
            .field("read_from", &self.read_from)
            .field("node_zones", &self.node_zones)
            .field("latency_probe_interval", &self.latency_probe_interval)
            .field("require_full_coverage", &self.require_full_coverage)
            .field("address_remap", &self.remap.is_some())
            .field("retry_max_attempts", &self.retry_max_attempts)
            .field("retry_deadline", &self.retry_deadline)
            .field("retry_writes_on_io", &self.retry_writes_on_io)
            .field("refresh_interval", &self.refresh_interval)
            .field("refresh_min_interval", &self.refresh_min_interval)
            .field("discovery_fanout", &self.discovery_fanout)
            .field("startup_timeout", &self.startup_timeout)
            .field("pubsub_queue_len", &self.pubsub_queue_len)
            .field("pubsub_spread_channels", &self.pubsub_spread_channels)
            .field("blocking_idle", &self.blocking_idle)
            .field("recovery_probe_interval", &self.recovery_probe_interval)
            .field("cache", &self.cache)
            .field("preconnect", &self.preconnect)
            .finish_non_exhaustive()
    }
}

/// The parts of a `redis://` or `rediss://` URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) tls: bool,
}

/// Parses a node URL. Errors show the URL with its password masked.
pub(crate) fn parse_url(text: &str) -> Result<ParsedUrl> {
    let shown = redact_url(text);
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("invalid URL {shown}: {why}"),
        )
    };
    let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        other => return Err(bad(&format!("scheme must be redis or rediss, not {other}"))),
    };
    let host = match url.host() {
        Some(url::Host::Ipv6(addr)) => addr.to_string(),
        Some(h) => h.to_string(),
        None => return Err(bad("no host")),
    };
    let port = url.port().unwrap_or(6379);
    match url.path().trim_start_matches('/') {
        "" | "0" => {}
        db => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("URL {shown} selects database {db}, but a cluster has only database 0"),
            ))
        }
    }
    if url.query().is_some() {
        return Err(bad(
            "query parameters are not supported; use the builder's settings",
        ));
    }
    let username = match url.username() {
        "" => None,
        u => Some(percent_decode(u).map_err(|why| bad(&format!("the user name {why}")))?),
    };
    let password = match url.password() {
        None | Some("") => None,
        Some(p) => Some(percent_decode(p).map_err(|why| bad(&format!("the password {why}")))?),
    };
    Ok(ParsedUrl {
        host,
        port,
        username,
        password,
        tls,
    })
}

/// The URL with any password replaced by `***` and any query or fragment left out (a
/// `?password=` is a secret too), for messages.
pub(crate) fn redact_url(text: &str) -> String {
    let text = match text.find(['?', '#']) {
        Some(at) => &text[..at],
        None => text,
    };
    let Some((scheme, rest)) = text.split_once("://") else {
        // Without `user:password@` there is nothing to hide.
        return if text.contains('@') {
            "(unparsable URL)".to_owned()
        } else {
            format!("{text:?}")
        };
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => text.to_owned(),
    }
}

/// Percent-decodes a URL's user name or password to UTF-8; on failure, why (without the text).
///
/// A `%` must start an escape, two hex digits. The `url` crate leaves a bare one as typed; a
/// secret with a bare `%` was likely pasted unencoded, and then any `%41` in it would be decoded
/// to something the user did not write, so it is refused rather than guessed at (`%25` is a
/// `%`).
fn percent_decode(text: &str) -> std::result::Result<String, &'static str> {
    let bytes = text.as_bytes();
    let escaped = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escaped {
        return Err("has a `%` not followed by two hex digits (write `%25` for a `%`)");
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(String::from)
        .map_err(|_| "is not valid UTF-8 once percent-decoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = parse_url("redis://127.0.0.1:7000").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 7000, false));
        let u = parse_url("rediss://alice:p%40ss@cache.example:6380/0").unwrap();
        assert_eq!(u.host, "cache.example");
        assert_eq!(u.username.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert!(u.tls);
        let u = parse_url("redis://:only-pass@h").unwrap();
        assert_eq!(
            (u.username, u.password.as_deref(), u.port),
            (None, Some("only-pass"), 6379)
        );
        let u = parse_url("redis://[::1]:7000").unwrap();
        assert_eq!(u.host, "::1");
    }

    #[test]
    fn decodes_percent_encoded_credentials() {
        // Multibyte UTF-8, percent-encoded: "用户" and "päss🔑".
        let u = parse_url("redis://%E7%94%A8%E6%88%B7:p%C3%A4ss%F0%9F%94%91@h:7000").unwrap();
        assert_eq!(u.username.as_deref(), Some("\u{7528}\u{6237}"));
        assert_eq!(u.password.as_deref(), Some("p\u{e4}ss\u{1f511}"));
        // The same typed as they are: the url crate encodes them, the decoder gives them back.
        let u = parse_url("redis://\u{7528}\u{6237}:p\u{e4}ss\u{1f511}@h:7000").unwrap();
        assert_eq!(u.username.as_deref(), Some("\u{7528}\u{6237}"));
        assert_eq!(u.password.as_deref(), Some("p\u{e4}ss\u{1f511}"));
        // Reserved characters, and a `%` written as `%25`.
        let u = parse_url("redis://a%3Ab:%2F%3F%23%5B%5D%40%25@h").unwrap();
        assert_eq!(u.username.as_deref(), Some("a:b"));
        assert_eq!(u.password.as_deref(), Some("/?#[]@%"));
    }

    #[test]
    fn refuses_credentials_that_do_not_decode() {
        for (url, part) in [
            // Not UTF-8: a lone continuation byte, a truncated two-byte sequence, 0xFF.
            ("redis://u:hunter2%80@h", "password"),
            ("redis://u:hunter2%C3@h", "password"),
            ("redis://%FFhunter2:pw@h", "user name"),
            // A `%` that starts no escape.
            ("redis://u:hunter2%zz@h", "password"),
            ("redis://u:hunter2%4@h", "password"),
            ("redis://u:hunter2%@h", "password"),
        ] {
            let e = parse_url(url).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{url}: {e}");
            let text = format!("{e} {e:?}");
            assert!(text.contains(part), "{url}: {text}");
            if part == "password" {
                assert!(!text.contains("hunter2"), "{url}: {text}");
            }
        }
    }

    #[test]
    fn rejects_bad_urls_without_showing_the_password() {
        for (url, needle) in [
            ("http://u:hunter2@h:1", "scheme"),
            ("redis://u:hunter2@h:1/3", "database 3"),
            ("redis://u:hunter2@h:1?x=1", "query"),
            ("redis://u:hunter2@:1", "invalid URL"),
            ("u:hunter2@no-scheme", "invalid URL"),
            ("not a url", "invalid URL"),
        ] {
            let e = parse_url(url).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(text.contains(needle), "{url}: {text}");
            assert!(!text.contains("hunter2"), "{url}: {text}");
        }
    }

    #[test]
    fn redacts() {
        assert_eq!(redact_url("redis://u:pw@h:1"), "redis://u:***@h:1");
        assert_eq!(redact_url("redis://u@h:1"), "redis://u@h:1");
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
        assert_eq!(redact_url("nope"), "\"nope\"");
        assert_eq!(redact_url("u:pw@h"), "(unparsable URL)");
        assert_eq!(redact_url("redis://h:1?password=pw"), "redis://h:1");
        assert_eq!(redact_url("redis://u:pw@h:1/#pw"), "redis://u:***@h:1/");
    }
}
