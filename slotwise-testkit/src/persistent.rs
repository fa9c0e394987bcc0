//! Persistent clusters: the ones the CLI's `cluster start` leaves running after it exits, found
//! again by their base port alone.
//!
//! Their servers daemonize (no death signal ties them to the process that started them) and keep
//! their pid files and `nodes.conf` in `<temp dir>/slotwise-cluster-<base_port>/node-<port>`. This
//! module prepares that directory, attaches to a running cluster and stops one. Starting the
//! servers is the same path as for test clusters ([`form`](crate::form)).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use slotwise::protocol::Cmd;

use crate::admin::{addr, Admin, Pool};
use crate::builder::ClusterBuilder;
use crate::cluster::Node;
use crate::error::{Error, ErrorKind};
use crate::server::{NodeState, Server, ServerSpec};
use crate::wait::{pending, until};
use crate::{binary, ports, view, workdir, LocalCluster};

/// Bus port of a persistent node: the Redis convention.
const BUS_OFFSET: u16 = 10_000;

/// How long a node gets to shut down before it is killed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuses to start over a cluster that is still running, then empties the directory.
pub(crate) fn prepare_root(base_port: u16, settings: &ClusterBuilder) -> Result<(), Error> {
    for index in 0..settings.node_count() {
        let Some((port, bus_port)) = settings.fixed_ports(index) else {
            continue;
        };
        for taken in [port, bus_port] {
            if ports::is_listening(taken) {
                return Err(Error::new(
                    ErrorKind::Start,
                    format!(
                        "something already listens on {}: a cluster may already run at base port \
                         {base_port}; stop it with `slotwise cluster stop` \
                         (LocalCluster::stop_persistent({base_port})) or pick another base port",
                        addr(taken)
                    ),
                ));
            }
        }
    }
    workdir::recreate(&workdir::persistent_root(base_port))
}

/// The node directories of a persistent cluster, by port.
fn node_dirs(root: &Path) -> Result<Vec<(u16, PathBuf)>, Error> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", root.display()), e)),
    };
    let mut dirs: Vec<(u16, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let port = workdir::persistent_node_port(entry.file_name().to_str()?)?;
            Some((port, entry.path()))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The node id recorded in a node's `nodes.conf` (its `myself` line).
fn recorded_id(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("nodes.conf")).ok()?;
    let line = text.lines().find(|line| line.contains("myself"))?;
    Some(view::parse(line).ok()?.pop()?.id)
}

fn bus_port(port: u16) -> u16 {
    port.checked_add(BUS_OFFSET).unwrap_or(0)
}

impl LocalCluster {
    /// Attaches to the persistent cluster started at `base_port` (by this or another process),
    /// to inspect it ([`nodes`](LocalCluster::nodes)) or inject faults. Dropping the result
    /// leaves the servers running.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::State`] if no persistent cluster was started at `base_port`.
    pub fn attach(base_port: u16) -> Result<LocalCluster, Error> {
        let root = workdir::persistent_root(base_port);
        let dirs = node_dirs(&root)?;
        if dirs.is_empty() {
            return Err(Error::new(
                ErrorKind::State,
                format!(
                    "no persistent cluster at base port {base_port} ({} has no nodes)",
                    root.display()
                ),
            ));
        }
        let nodes = dirs
            .into_iter()
            .map(|(port, dir)| Node {
                id: recorded_id(&dir).unwrap_or_default(),
                server: Server::attach(port, bus_port(port), dir),
            })
            .collect();
        let defaults = ClusterBuilder::default();
        Ok(LocalCluster {
            nodes: Mutex::new(nodes),
            spec: ServerSpec {
                // Needed only to restart a node; an attach for status must not fail without it.
                binary: binary::locate(None).unwrap_or_else(|_| PathBuf::from("redis-server")),
                node_timeout: defaults.node_timeout,
                extra_config: Vec::new(),
                persistent: true,
                tls: None,
            },
            pool: Pool::default(),
            wait_timeout: defaults.wait_timeout,
            persistent_base: Some(base_port),
            startup_time: Duration::ZERO,
        })
    }

    /// Stops the persistent cluster started at `base_port`: `SHUTDOWN NOSAVE` to each of its
    /// nodes (SIGKILL if one does not exit), then deletes its directory. Returns how many nodes
    /// were running. Stopping a cluster that is not there returns `Ok(0)`.
    ///
    /// Only processes running in the cluster's node directories are touched: a stale pid file
    /// whose pid now belongs to another program is ignored.
    ///
    /// # Errors
    ///
    /// When a node survives SIGKILL or the directory cannot be read.
    pub fn stop_persistent(base_port: u16) -> Result<usize, Error> {
        let root = workdir::persistent_root(base_port);
        let mut stopped = 0;
        for (port, dir) in node_dirs(&root)? {
            let mut server = Server::attach(port, bus_port(port), dir);
            if server.state() != NodeState::Running {
                continue;
            }
            if !shut_down(&server) {
                server.kill()?;
            }
            stopped += 1;
        }
        workdir::remove(&root);
        Ok(stopped)
    }
}

/// Asks the node to shut down and waits until its process is gone; false if it did not go (it
/// may be paused, or too busy to answer).
fn shut_down(server: &Server) -> bool {
    let Ok(mut admin) = Admin::connect(server.port) else {
        return false;
    };
    // The reply to a successful SHUTDOWN is the connection closing, so an error is expected.
    let _ = admin.call_raw(&Cmd::new("SHUTDOWN").arg("NOSAVE"));
    let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
    until(deadline, "the node to shut down", || {
        if server.is_process_alive() {
            pending!("{} is still running", addr(server.port));
        }
        Ok(())
    })
    .is_ok()
}
