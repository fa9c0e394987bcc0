//! The blocking [`ClusterBuilder`]: the async builder's settings, and a `build` that blocks.
//!
//! The setters are generated from one list that forwards to [`crate::ClusterBuilder`], where
//! each is documented; only `build` differs.

use std::time::Duration;

use super::RedisCluster;
use crate::cluster::{ClusterNode, ReadFrom};
use crate::connection::Protocol;
use crate::error::Result;

/// Builds a blocking [`RedisCluster`]. Every setter is that of [`crate::ClusterBuilder`].
#[derive(Clone, Debug, Default)]
#[must_use = "a builder connects nothing until `build` is called"]
pub struct ClusterBuilder {
    inner: crate::ClusterBuilder,
}

macro_rules! forward {
    ($($(#[$meta:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            $(#[$meta])*
            #[doc = concat!("See [`crate::ClusterBuilder::", stringify!($name), "`].")]
            pub fn $name(self, $($arg: $ty),*) -> ClusterBuilder {
                ClusterBuilder { inner: self.inner.$name($($arg),*) }
            }
        )*
    };
}

impl ClusterBuilder {
    /// A builder with every setting at its default and no startup node.
    pub fn new() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    forward! {
        startup_node(node: ClusterNode);
        url(url: &str);
        username(username: impl Into<String>);
        password(password: impl Into<String>);
        credentials_provider(provider: impl crate::connection::CredentialsProvider);
        client_name(name: impl Into<String>);
        protocol(protocol: Protocol);
        connect_timeout(timeout: Duration);
        response_timeout(timeout: Duration);
        max_pending_bytes(bytes: usize);
        max_pending_requests(requests: usize);
        read_from(read_from: ReadFrom);
        latency_probe_interval(interval: Duration);
        require_full_coverage(require: bool);
        retry_max_attempts(attempts: u32);
        retry_deadline(deadline: Duration);
        retry_max_backoff(backoff: Duration);
        retry_writes_on_io(retry: bool);
        refresh_interval(interval: Option<Duration>);
        refresh_min_interval(interval: Duration);
        discovery_fanout(nodes: usize);
        startup_timeout(timeout: Duration);
        pubsub_queue_len(messages: usize);
        pubsub_spread_channels(spread: bool);
        blocking_connections(idle_per_node: usize);
        recovery_probe_interval(interval: Option<Duration>);
        client_side_cache(config: crate::CacheConfig);
        preconnect(preconnect: bool);
        #[cfg(feature = "tls")]
        tls(tls: crate::connection::TlsConfig);
    }

    /// See [`crate::ClusterBuilder::startup_nodes`].
    pub fn startup_nodes(self, nodes: impl IntoIterator<Item = ClusterNode>) -> ClusterBuilder {
        ClusterBuilder {
            inner: self.inner.startup_nodes(nodes),
        }
    }

    /// See [`crate::ClusterBuilder::node_zones`].
    pub fn node_zones(
        self,
        zones: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> ClusterBuilder {
        ClusterBuilder {
            inner: self.inner.node_zones(zones),
        }
    }

    /// See [`crate::ClusterBuilder::address_remap`].
    pub fn address_remap<F>(self, remap: F) -> ClusterBuilder
    where
        F: Fn(&str, u16) -> (String, u16) + Send + Sync + 'static,
    {
        ClusterBuilder {
            inner: self.inner.address_remap(remap),
        }
    }

    /// Connects to the startup nodes and loads the topology, blocking until done. Fails as
    /// [`crate::ClusterBuilder::build`] does.
    pub fn build(self) -> Result<RedisCluster> {
        RedisCluster::connect(self.inner)
    }
}
