//! slotwise: a Redis Cluster (and Valkey Cluster) client.
//!
//! The async core runs on tokio. It speaks RESP2 and RESP3 through its own codec, keeps one
//! multiplexed, automatically pipelined connection per node, sends each command to the node that
//! owns its slot (learning key positions and routing tips from the server's `COMMAND`), and
//! follows the cluster through resharding and failover: `MOVED` and `ASK` are followed, lost
//! primaries are waited out within each command's deadline, and a new primary is served as soon
//! as the nodes report it.
//!
//! # Quick start
//!
//! ```no_run
//! use slotwise::commands::StringCommands;
//! use slotwise::{ClusterCommands, RedisCluster, Target};
//!
//! # async fn demo() -> slotwise::Result<()> {
//! let cluster = RedisCluster::from_url("redis://127.0.0.1:7000").await?;
//! cluster.set("foo", "bar").await?; // sent to the node that serves slot 12182
//! let foo: Option<String> = cluster.get("foo").await?;
//! let all: Vec<Option<String>> = cluster.mget_nonatomic(["foo", "bar", "zzz"]).await?;
//! let pong = cluster.cmd("PING").target(Target::Primaries).await?;
//! # Ok(()) }
//! ```
//!
//! The same without an async runtime, with [`blocking::RedisCluster`]:
//!
//! ```no_run
//! use slotwise::blocking::RedisCluster;
//! use slotwise::commands::StringCommands;
//!
//! let cluster = RedisCluster::from_url("redis://127.0.0.1:7000")?;
//! cluster.set("foo", "bar")?;
//! let foo: Option<String> = cluster.get("foo")?;
//! # Ok::<(), slotwise::Error>(())
//! ```
//!
//! # From redis-py
//!
//! | redis-py `RedisCluster` | slotwise |
//! |---|---|
//! | `RedisCluster(host, port)`, `from_url`, `startup_nodes=[…]` | [`RedisCluster::new`], [`RedisCluster::from_url`], [`RedisCluster::from_nodes`], [`RedisCluster::builder`] |
//! | `get_nodes()`, `get_primaries()`, `get_replicas()`, `get_node(host, port)` | [`RedisCluster::get_nodes`], [`RedisCluster::get_primaries`], [`RedisCluster::get_replicas`], [`RedisCluster::get_node`] |
//! | `get_random_node()`, `get_node_from_key(key, replica)` | [`RedisCluster::get_random_node`], [`RedisCluster::get_node_from_key`] |
//! | `get_default_node()`, `set_default_node(node)` | [`RedisCluster::default_node`], [`RedisCluster::set_default_node`] |
//! | `target_nodes=RedisCluster.PRIMARIES` (`REPLICAS`, `ALL_NODES`, `RANDOM`, `DEFAULT_NODE`, nodes) | [`RedisCluster::target`] with a [`Target`]; raw commands: [`Request::target`] |
//! | `keyslot(key)` | [`RedisCluster::keyslot`], [`keyslot`] |
//! | `mget_nonatomic`, `mset_nonatomic` | [`ClusterCommands::mget_nonatomic`], [`ClusterCommands::mset_nonatomic`] |
//! | `scan_iter(match=…, count=…, _type=…)` | [`RedisCluster::scan`] with [`ScanOptions`]: slot by slot, through migrations and failovers; resumable ([`ScanCursor`]) |
//! | `readonly()`, `readwrite()`, `read_from_replicas=True` | [`RedisCluster::readonly`], [`RedisCluster::readwrite`], [`ClusterBuilder::read_from`] |
//! | `get_redis_connection(node)` | [`RedisCluster::node_client`] |
//! | `pipeline()`, `pipeline(transaction=True)` | [`RedisCluster::pipeline`], [`RedisCluster::transaction`]: a [`Pipeline`] whose calls return [`Queued`] handles for the [`Replies`] |
//! | `pipe.watch(key)` … `pipe.multi()` … `execute()`, `WatchError` | [`RedisCluster::watch`] → [`Watch`]: reads, then [`Watch::transaction`]; [`ErrorKind::Aborted`] |
//! | `pubsub()`, `subscribe`, `psubscribe`, `ssubscribe`, `get_message()` | [`RedisCluster::pubsub`] → [`PubSub`]: [`PubSub::next_message`] gives a [`Message`]; subscriptions follow failovers and slot migrations; keyspace notifications from every primary: [`PubSub::psubscribe_on`] with [`Nodes::Primaries`] |
//! | `register_script(lua)`, `script(keys=…, args=…)` | [`Script::new`], [`RedisCluster::eval_script`] (`EVALSHA`, then `EVAL` on `NOSCRIPT`), [`RedisCluster::load_script`] |
//! | command methods (`rc.get`, `rc.hset` …) | the traits of [`commands`], on every client and handle |
//! | the synchronous client | [`blocking::RedisCluster`], same names |
//!
//! # Layout
//!
//! - [`protocol`]: RESP values, the incremental decoder, the command encoder, conversions.
//! - [`connection`]: one node: connect, handshake, multiplexing, timeouts, reconnects.
//! - `topology`: slots, shards and nodes as plain data; [`keyslot`].
//! - `routing`: the command table from `COMMAND`, key positions, where a command goes, reply
//!   merging.
//! - [`RedisCluster`] (`cluster`): discovery, the live topology and its one owner (snapshot,
//!   refresh, recovery probes), the dispatcher (one attempt loop, classify, backoff, fan-out,
//!   scatter), cross-slot splitting, targets, pipelines and transactions, scripts, pub/sub.
//!
//! `docs/ARCHITECTURE.md` in the repository follows a command, a redirect, a refresh and a
//! pub/sub message through these modules.
//! - [`commands`]: typed command methods shared by every executor.
//! - [`blocking`]: the same client for code without an async runtime.
//! - [`Error`]: the one error type, with a matchable [`ErrorKind`].
//!
//! # Features
//!
//! - `blocking` (default): [`blocking::RedisCluster`].
//! - `tls`: `rediss://` connections with rustls (see *TLS* below).
//! - `metrics`: records what [`RedisCluster::stats`] counts into the
//!   [`metrics`](https://docs.rs/metrics) facade too (see *Metrics* below).
//!
//! # Client-side caching
//!
//! [`ClusterBuilder::client_side_cache`] serves single-key reads (`GET`, `HGET`, `HGETALL`,
//! `SMEMBERS`, `ZRANGE` …) from memory, bounded by a [`CacheConfig`]; each node tells the
//! client when a key read through its connection changes (`CLIENT TRACKING`, RESP3), and the
//! entry goes. A client reads its own writes; across clients the cache is eventually
//! consistent, as the server's tracking is. [`RedisCluster::no_cache`] bypasses it, and
//! [`Stats::cache`] counts hits, misses, invalidations and evictions.
//!
//! ```no_run
//! # async fn demo() -> slotwise::Result<()> {
//! use slotwise::{CacheConfig, RedisCluster};
//!
//! let cluster = RedisCluster::builder()
//!     .url("redis://127.0.0.1:7000")
//!     .client_side_cache(CacheConfig::new().max_entries(100_000).max_bytes(64 << 20))
//!     .build()
//!     .await?;
//! # let _ = cluster;
//! # Ok(()) }
//! ```
//!
//! # Metrics
//!
//! [`RedisCluster::stats`] returns the client's [`Stats`]: cluster-wide counters (redirections
//! followed, retries by cause, refreshes) and, for each node it knows ([`Stats::nodes`],
//! [`RedisCluster::node_stats`]) and all together ([`Stats::total`]), a [`NodeStats`]: requests
//! sent, [`ErrorCounts`] by kind, `MOVED` and `ASK` received, reconnects, requests in flight and
//! [`Latency`] percentiles (p50, p90, p99, max) from a histogram of 8 buckets per power of two.
//! Counting costs a few relaxed atomic adds per request and reads no clock of its own. The
//! counts of a node that leaves the topology are dropped with it.
//!
//! ```no_run
//! # async fn demo(cluster: slotwise::RedisCluster) {
//! let stats = cluster.stats();
//! for (node, s) in stats.nodes() {
//!     let (errors, p99) = (s.errors.total(), s.latency.p99);
//!     println!("{node}: {} requests, {errors} errors, p99 {p99:?}", s.requests);
//! }
//! # }
//! ```
//!
//! With the `metrics` feature the same goes to the [`metrics`](https://docs.rs/metrics) facade,
//! for whichever recorder the application installs (`metrics-exporter-prometheus`, an
//! OpenTelemetry bridge such as `metrics-exporter-opentelemetry`, …): counters
//! `slotwise_requests_total{node}`, `slotwise_errors_total{node, kind}` (`server`, `refused`,
//! `timeout`, `io`, `connect`, `overloaded`), `slotwise_redirects_total{node, kind}` (`moved`,
//! `ask`), `slotwise_reconnects_total{node}`, the gauge `slotwise_in_flight{node}`, the
//! histogram `slotwise_request_duration_seconds{node}`, and the cluster-wide
//! `slotwise_redirects_followed_total{kind}`, `slotwise_retries_total{cause}` and
//! `slotwise_topology_refreshes_total`. Install the recorder before building the client: a
//! node's handles are registered when the client first meets it. Without the feature none of
//! this is compiled.
//!
//! Why `metrics` rather than OpenTelemetry: it is a facade, like `log`, so a library records
//! and the application alone picks the backend; it is small (no runtime, no exporter, no
//! protocol in the dependency tree); exporters exist for Prometheus and a bridge to
//! OpenTelemetry, so OTel users lose nothing; and its API has stayed put where the
//! `opentelemetry` crates' still changes from release to release, which would tie this
//! crate's releases to theirs.
//!
//! # TLS
//!
//! With the `tls` feature, a `rediss://` URL connects with TLS and trusts the public web's
//! certificate authorities; [`ClusterBuilder::tls`] with a
//! [`TlsConfig`](connection::TlsConfig) trusts your own CA instead, adds a client certificate
//! for mutual TLS, or checks the certificates against another name. Every node is then reached
//! with TLS, also through `redis://` URLs, and on its TLS port when it lists a plain-text one
//! too.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn demo(ca_pem: &[u8]) -> slotwise::Result<()> {
//! use slotwise::connection::TlsConfig;
//! use slotwise::RedisCluster;
//!
//! let cluster = RedisCluster::builder()
//!     .url("rediss://10.0.0.5:6380")
//!     .tls(TlsConfig::from_ca_pem(ca_pem)?)
//!     .build()
//!     .await?;
//! # let _ = cluster;
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]

#[doc(hidden)]
#[path = "bench_support.rs"]
pub mod bench;
#[cfg(feature = "blocking")]
pub mod blocking;
mod cluster;
pub mod commands;
pub mod connection;
mod error;
pub mod protocol;
mod routing;
mod slot_count;
mod topology;

pub use cluster::events;
pub use cluster::events::{ClusterEvent, ClusterEvents};
pub use cluster::{CacheConfig, CacheStats};
pub use cluster::{
    ClusterBuilder, ClusterCommands, ClusterNode, ClusterScan, Message, MessageKind, NodeClient,
    Nodes, NonAtomicExecutor, Pipeline, PubSub, Queued, ReadFrom, RedisCluster, Replies, Request,
    Role, ScanCursor, ScanOptions, Script, Stats, Target, TargetedCluster, Watch,
};
pub use cluster::{LossReason, PubSubEvent, PubSubEvents};
pub use connection::meter::{ErrorCounts, Latency, NodeStats};
pub use error::{Error, ErrorKind, Redirect, Result};
pub use topology::keyslot;
