//! Fault injection: killing, pausing, resuming and restarting nodes, and failovers.
//!
//! Every helper blocks until its effect is real — the process is gone, stopped, or back and the
//! cluster healthy again, or the replica promoted — or returns a [`Timeout`] error at the
//! deadline. This module decides when to signal and what to wait for; the signals themselves are
//! [`server`](crate::server)'s, and what "healthy" means is [`wait`](crate::wait)'s.
//!
//! [`Timeout`]: crate::ErrorKind::Timeout

use std::time::{Duration, Instant};

use slotwise::protocol::Cmd;

use crate::admin::addr;
use crate::cluster::not_a_member;
use crate::error::{Error, ErrorKind};
use crate::server::{Server, START_TIMEOUT};
use crate::view::Role;
use crate::wait::{pending, until, Pending};
use crate::LocalCluster;

impl LocalCluster {
    fn with_server<T>(
        &self,
        port: u16,
        f: impl FnOnce(&mut Server) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut nodes = self.lock();
        let node = nodes
            .iter_mut()
            .find(|n| n.server.port == port)
            .ok_or_else(|| not_a_member(port))?;
        f(&mut node.server)
    }

    /// Kills the node at `port` with SIGKILL and waits until the process is gone. The rest of
    /// the cluster notices after the node timeout; see
    /// [`wait_for_promotion`](LocalCluster::wait_for_promotion).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a port that is not a node of this cluster, or when the
    /// process cannot be signalled or reaped.
    pub fn kill(&self, port: u16) -> Result<(), Error> {
        self.pool.forget(port);
        self.with_server(port, Server::kill)
    }

    /// Freezes the node at `port` with SIGSTOP and waits until the kernel reports it stopped. It
    /// keeps its sockets open but answers nothing: the fault a slow or hung node looks like.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::State`] if the node is not running.
    pub fn pause(&self, port: u16) -> Result<(), Error> {
        self.pool.forget(port);
        self.with_server(port, Server::pause)
    }

    /// Continues a paused node with SIGCONT, then waits until it answers and the cluster is
    /// healthy again (a primary that was failed over while paused first becomes a replica).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::State`] if the node is not paused; [`ErrorKind::Timeout`] if the cluster does
    /// not settle.
    pub fn resume(&self, port: u16) -> Result<(), Error> {
        self.with_server(port, Server::resume)?;
        let deadline = self.deadline();
        until(deadline, format!("{} to answer again", addr(port)), || {
            self.admin_call(port, &Cmd::new("PING"))?;
            Ok(())
        })?;
        self.wait_healthy(deadline)
    }

    /// Restarts the node at `port`: kills it if it is running or paused, starts it again on the
    /// same ports and directory, and waits until the cluster is healthy. Its `nodes.conf` keeps
    /// its id, so it rejoins as the same node — as a replica if its slots were taken over while
    /// it was down. Its data is gone (nothing is saved), so a restarted replica resyncs.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Start`] if the server does not come back (its port was taken meanwhile, for
    /// example); [`ErrorKind::Timeout`] if the cluster does not settle.
    pub fn restart(&self, port: u16) -> Result<(), Error> {
        self.pool.forget(port);
        self.with_server(port, |server| server.respawn(&self.spec))?;
        let ready_by = Instant::now() + START_TIMEOUT;
        self.with_server(port, |server| {
            server.wait_ready(ready_by).map_err(Error::from)
        })
        .map_err(|e| e.context(format!("restarting {}", addr(port))))?;
        self.wait_for_cluster_ok()
    }

    /// Runs a coordinated manual failover (`CLUSTER FAILOVER`) on the replica at `port` and
    /// waits until it is a primary and the cluster is healthy (its old primary a replica of it).
    /// The old primary must be reachable; after a [`kill`](LocalCluster::kill) use
    /// [`wait_for_promotion`](LocalCluster::wait_for_promotion) instead.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::State`] if the node is not a replica; [`ErrorKind::Timeout`] if the failover
    /// does not complete.
    pub fn failover(&self, replica_port: u16) -> Result<(), Error> {
        let node = self.node(replica_port)?;
        if node.role != Role::Replica {
            return Err(Error::new(
                ErrorKind::State,
                format!(
                    "cannot fail over to {}: it is a {:?}, not a replica",
                    addr(replica_port),
                    node.role
                ),
            ));
        }
        self.admin_call(replica_port, &Cmd::new("CLUSTER").arg("FAILOVER"))?;
        let deadline = self.deadline();
        until(
            deadline,
            format!("{} to be promoted", addr(replica_port)),
            || self.check_promoted(replica_port),
        )?;
        self.wait_healthy(deadline)
    }

    /// Waits until the replica at `port` has been promoted to primary (after its primary was
    /// killed or paused, once the node timeout has passed and it won the election), then until
    /// the cluster is healthy, all within `timeout`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] if that does not happen within `timeout`.
    pub fn wait_for_promotion(&self, port: u16, timeout: Duration) -> Result<(), Error> {
        self.member(port)?;
        let deadline = Instant::now() + timeout;
        until(deadline, format!("{} to be promoted", addr(port)), || {
            self.check_promoted(port)
        })?;
        self.wait_healthy(deadline)
    }

    fn check_promoted(&self, port: u16) -> Result<(), Pending> {
        let view = self.view_of(port)?;
        match view.iter().find(|e| e.myself) {
            Some(me) if me.role == Role::Primary && !me.slots.is_empty() => Ok(()),
            Some(me) => pending!("{} is still a {:?}", addr(port), me.role),
            None => pending!("{} did not describe itself", addr(port)),
        }
    }
}
