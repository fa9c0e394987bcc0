//! [`LocalCluster`]: the server processes of one cluster, what the cluster looks like now, and
//! tearing it down.
//!
//! Starting and forming the cluster is in [`form`](crate::form), waiting for it to settle in
//! [`wait`](crate::wait), faults in [`fault`](crate::fault), slot migration in
//! [`migrate`](crate::migrate) and the detached CLI clusters in [`persistent`](crate::persistent);
//! each adds methods to `LocalCluster`. This module owns the node list and the read-only
//! accessors.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use slotwise::protocol::{Cmd, Value};

use crate::admin::{addr, Pool, HOST};
use crate::builder::ClusterBuilder;
use crate::error::{Error, ErrorKind};
use crate::server::{NodeState, Server, ServerSpec};
use crate::tls::TlsFiles;
use crate::view::{self, Entry, NodeInfo, Role};
use crate::workdir;

/// A Redis Cluster of real `redis-server` (or `valkey-server`) processes on `127.0.0.1`.
///
/// Test servers die with the test process at the latest — even when it is killed — and
/// dropping the cluster (which also happens while a failing test unwinds) kills them and deletes
/// their directories. Methods take `&self`, so a cluster behind [`shared`](crate::shared) can be
/// used from every test; only tests that own their cluster should inject faults.
///
/// ```no_run
/// use slotwise_testkit::LocalCluster;
///
/// let cluster = LocalCluster::start()?;
/// println!("seed: {}", cluster.seed_url());
/// let replica = cluster.replicas()?[0].port;
/// cluster.failover(replica)?;
/// # Ok::<(), slotwise_testkit::Error>(())
/// ```
#[must_use = "dropping a LocalCluster stops its nodes"]
pub struct LocalCluster {
    pub(crate) nodes: Mutex<Vec<Node>>,
    pub(crate) spec: ServerSpec,
    pub(crate) pool: Pool,
    pub(crate) wait_timeout: Duration,
    /// For a persistent cluster, the base port that names its directory.
    pub(crate) persistent_base: Option<u16>,
    pub(crate) startup_time: Duration,
}

/// One managed process and its cluster node id (fixed for its life: `nodes.conf` keeps it).
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) server: Server,
    pub(crate) id: String,
}

/// A copy of what the kit knows about one node, taken without holding the lock for long.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) port: u16,
    pub(crate) bus_port: u16,
    pub(crate) tls_port: Option<u16>,
    pub(crate) id: String,
    pub(crate) state: NodeState,
}

impl LocalCluster {
    /// Settings for a new cluster; see [`ClusterBuilder`].
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// Starts a cluster with the defaults: 3 primaries with 1 replica each, a node timeout of
    /// 2000 ms, free ports.
    ///
    /// # Errors
    ///
    /// As [`ClusterBuilder::start`].
    pub fn start() -> Result<LocalCluster, Error> {
        LocalCluster::builder().start()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<Node>> {
        // Every change to the list is a single field update, so it is consistent even if a
        // holder panicked.
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn members(&self) -> Vec<Member> {
        self.lock()
            .iter()
            .map(|node| Member {
                port: node.server.port,
                bus_port: node.server.bus_port,
                tls_port: node.server.tls_port,
                id: node.id.clone(),
                state: node.server.state(),
            })
            .collect()
    }

    pub(crate) fn member(&self, port: u16) -> Result<Member, Error> {
        self.members()
            .into_iter()
            .find(|m| m.port == port)
            .ok_or_else(|| not_a_member(port))
    }

    /// Runs one command on one node over a pooled admin connection.
    pub(crate) fn admin_call(&self, port: u16, cmd: &Cmd) -> Result<Value, Error> {
        self.pool.with(port, |admin| admin.call(cmd))
    }

    pub(crate) fn admin_text(&self, port: u16, cmd: &Cmd) -> Result<String, Error> {
        self.pool.with(port, |admin| admin.call_text(cmd))
    }

    /// The node's own `CLUSTER NODES` view.
    pub(crate) fn view_of(&self, port: u16) -> Result<Vec<Entry>, Error> {
        let text = self.admin_text(port, &Cmd::new("CLUSTER").arg("NODES"))?;
        view::parse(&text).map_err(|e| e.context(format!("CLUSTER NODES of {}", addr(port))))
    }

    /// Runs one command on the node at `port` and returns its reply, for setup and checks in
    /// tests (`SET` on a given primary, `CLUSTER COUNTKEYSINSLOT` …). No redirects are followed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Server`] if the node answers with an error (the message includes the reply,
    /// e.g. `MOVED …` or `ASK …`), [`ErrorKind::InvalidInput`] if `port` is not a node of this
    /// cluster, or an I/O error.
    pub fn call(&self, port: u16, cmd: &Cmd) -> Result<Value, Error> {
        self.member(port)?;
        self.admin_call(port, cmd)
    }

    /// Every node of the cluster with its current role and slots.
    ///
    /// A running node describes itself (its own `CLUSTER NODES` line); a paused or stopped one
    /// is described by the first running node. The order is the order the nodes were started
    /// in: primaries first, then replicas.
    ///
    /// # Errors
    ///
    /// When a running node does not answer, or no running node knows a stopped one.
    pub fn nodes(&self) -> Result<Vec<NodeInfo>, Error> {
        let members = self.members();
        let mut own: Vec<Option<Entry>> = Vec::with_capacity(members.len());
        let mut reference: Option<Vec<Entry>> = None;
        for member in &members {
            if member.state == NodeState::Running {
                let view = self.view_of(member.port)?;
                own.push(view.iter().find(|e| e.myself).cloned());
                reference.get_or_insert(view);
            } else {
                own.push(None);
            }
        }
        members
            .iter()
            .zip(own)
            .map(|(member, own)| {
                let entry = own.or_else(|| {
                    reference
                        .as_ref()
                        .and_then(|view| view.iter().find(|e| e.id == member.id).cloned())
                });
                let mut info = entry
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::State,
                            format!(
                                "no running node can describe {} ({:?})",
                                addr(member.port),
                                member.state
                            ),
                        )
                    })?
                    .into_info(member.state);
                // A node that has not learned its own address yet reports an empty host.
                info.host = HOST.to_owned();
                info.port = member.port;
                info.tls_port = member.tls_port;
                Ok(info)
            })
            .collect()
    }

    /// The nodes that serve slots now (primaries with at least one slot).
    ///
    /// After a failover the promoted replica is here and the old primary is not.
    ///
    /// # Errors
    ///
    /// As [`nodes`](LocalCluster::nodes).
    pub fn primaries(&self) -> Result<Vec<NodeInfo>, Error> {
        let nodes = self.nodes()?;
        Ok(nodes
            .into_iter()
            .filter(|n| n.role == Role::Primary && !n.slots.is_empty())
            .collect())
    }

    /// The nodes that are replicas now.
    ///
    /// # Errors
    ///
    /// As [`nodes`](LocalCluster::nodes).
    pub fn replicas(&self) -> Result<Vec<NodeInfo>, Error> {
        let nodes = self.nodes()?;
        Ok(nodes
            .into_iter()
            .filter(|n| n.role == Role::Replica)
            .collect())
    }

    /// The node at `port`, as [`nodes`](LocalCluster::nodes) describes it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] if `port` is not a node of this cluster; otherwise as
    /// [`nodes`](LocalCluster::nodes).
    pub fn node(&self, port: u16) -> Result<NodeInfo, Error> {
        self.member(port)?;
        self.nodes()?
            .into_iter()
            .find(|n| n.port == port)
            .ok_or_else(|| not_a_member(port))
    }

    /// The primary serving `slot` now; a running node is preferred when two claim the slot
    /// (a paused old primary still believes it owns its slots).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a slot above 16383, [`ErrorKind::State`] when no node
    /// serves it; otherwise as [`nodes`](LocalCluster::nodes).
    pub fn node_for_slot(&self, slot: u16) -> Result<NodeInfo, Error> {
        if slot >= slotwise::protocol::SLOT_COUNT {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("slot {slot} is out of range (0..=16383)"),
            ));
        }
        let mut owners: Vec<NodeInfo> = self
            .nodes()?
            .into_iter()
            .filter(|n| n.role == Role::Primary && n.owns_slot(slot))
            .collect();
        owners.sort_by_key(|n| n.state != NodeState::Running);
        owners
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorKind::State, format!("no node serves slot {slot}")))
    }

    /// A primary other than the one at `port`: where to move a slot to, say.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::State`] when the cluster has no other primary; otherwise as
    /// [`nodes`](LocalCluster::nodes).
    pub fn other_primary(&self, port: u16) -> Result<NodeInfo, Error> {
        self.primaries()?
            .into_iter()
            .find(|p| p.port != port)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::State,
                    format!("the cluster has no primary but {}", addr(port)),
                )
            })
    }

    /// The hash slot of `key`, computed by a node (`CLUSTER KEYSLOT`).
    ///
    /// # Errors
    ///
    /// When no node is running or the node fails to answer.
    pub fn slot_of_key(&self, key: impl AsRef<[u8]>) -> Result<u16, Error> {
        let port = self.running_port()?;
        let cmd = Cmd::new("CLUSTER").arg("KEYSLOT").arg(key.as_ref());
        match self.admin_call(port, &cmd)? {
            Value::Int(slot) => u16::try_from(slot).map_err(|_| {
                Error::new(
                    ErrorKind::Protocol,
                    format!("CLUSTER KEYSLOT returned {slot}"),
                )
            }),
            other => Err(Error::new(
                ErrorKind::Protocol,
                format!("CLUSTER KEYSLOT returned {}", other.type_name()),
            )),
        }
    }

    /// Deletes every key: `FLUSHALL` on each running primary, then waits (up to 2 s) until its
    /// running replicas have applied it too.
    ///
    /// # Errors
    ///
    /// When a primary fails to answer.
    pub fn flushall(&self) -> Result<(), Error> {
        let nodes = self.nodes()?;
        for primary in nodes
            .iter()
            .filter(|n| n.role == Role::Primary && n.state == NodeState::Running)
        {
            self.admin_call(primary.port, &Cmd::new("FLUSHALL"))?;
            let replicas = nodes
                .iter()
                .filter(|n| {
                    n.state == NodeState::Running
                        && n.primary_id.as_deref() == Some(primary.id.as_str())
                })
                .count();
            if replicas > 0 {
                self.admin_call(primary.port, &Cmd::new("WAIT").arg(replicas).arg(2000))?;
            }
        }
        Ok(())
    }

    /// `redis://127.0.0.1:PORT` of a running node (the first one), for a client's seed list.
    pub fn seed_url(&self) -> String {
        let members = self.members();
        let port = members
            .iter()
            .find(|m| m.state == NodeState::Running)
            .or(members.first())
            .map_or(0, |m| m.port);
        format!("redis://{}", addr(port))
    }

    /// `rediss://127.0.0.1:TLS_PORT` of a running node (the first one), for a TLS client's seed
    /// list; `None` unless the cluster was built with [`tls`](ClusterBuilder::tls).
    pub fn tls_seed_url(&self) -> Option<String> {
        let members = self.members();
        let member = members
            .iter()
            .find(|m| m.state == NodeState::Running)
            .or(members.first())?;
        Some(format!("rediss://{}", addr(member.tls_port?)))
    }

    /// The TLS port of the node whose plain-text port is `port`; `None` for a port that is not
    /// a node of this cluster, or a cluster without [`tls`](ClusterBuilder::tls).
    pub fn tls_port(&self, port: u16) -> Option<u16> {
        self.member(port).ok()?.tls_port
    }

    /// The CA, certificate and key of a cluster built with [`tls`](ClusterBuilder::tls);
    /// `None` for a plain-text one.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.spec.tls.as_ref().map(|tls| &tls.files)
    }

    /// The (plain-text) client ports of all nodes, in start order.
    pub fn ports(&self) -> Vec<u16> {
        self.members().iter().map(|m| m.port).collect()
    }

    /// `127.0.0.1:PORT` of all nodes, in start order.
    pub fn addrs(&self) -> Vec<String> {
        self.members().iter().map(|m| addr(m.port)).collect()
    }

    /// `127.0.0.1:PORT`: the address a client uses for the node at `port`.
    pub fn client_addr_for(&self, port: u16) -> String {
        addr(port)
    }

    /// How long [`start`](ClusterBuilder::start) took, from launching the servers to a healthy
    /// cluster.
    pub fn startup_time(&self) -> Duration {
        self.startup_time
    }

    /// True for a cluster that outlives this process (see [`ClusterBuilder::persistent`]).
    pub fn is_persistent(&self) -> bool {
        self.spec.persistent
    }

    pub(crate) fn running_port(&self) -> Result<u16, Error> {
        self.members()
            .iter()
            .find(|m| m.state == NodeState::Running)
            .map(|m| m.port)
            .ok_or_else(|| Error::new(ErrorKind::State, "no node of the cluster is running"))
    }

    /// Kills every process and deletes the directories. The cluster is unusable afterwards;
    /// dropping it does the same. For a persistent cluster this shuts the servers down, unlike
    /// dropping it.
    ///
    /// # Errors
    ///
    /// The first failure to stop a process; the others are still stopped.
    pub fn stop(&self) -> Result<(), Error> {
        if let Some(base_port) = self.persistent_base {
            self.pool.clear();
            return LocalCluster::stop_persistent(base_port).map(|_| {
                for node in self.lock().iter_mut() {
                    node.server.mark_stopped();
                }
            });
        }
        self.teardown()
    }

    /// Kills the processes this cluster knows and deletes their directories.
    pub(crate) fn teardown(&self) -> Result<(), Error> {
        self.pool.clear();
        let mut first_error = None;
        for node in self.lock().iter_mut() {
            if let Err(e) = node.server.kill() {
                first_error.get_or_insert(e);
            }
            workdir::remove(&node.server.dir);
        }
        if let Some(files) = self.tls_files() {
            workdir::remove(files.dir());
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if !self.spec.persistent {
            // Nobody to report to in Drop; the kernel's death signal is the fallback.
            let _ = self.teardown();
        }
    }
}

impl fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCluster")
            .field("members", &self.members())
            .field("persistent", &self.spec.persistent)
            .finish_non_exhaustive()
    }
}

pub(crate) fn not_a_member(port: u16) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{} is not a node of this cluster", addr(port)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<LocalCluster>();
        assert_send_sync::<crate::Error>();
    }
}
