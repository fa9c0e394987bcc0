//! Growing a running cluster: one more node, started blank and introduced to every other, a
//! primary without slots until a test moves some to it ([`migrate`](crate::migrate)).
//!
//! This module does not move slots or attach replicas; it only adds the node and waits until
//! the cluster is healthy with it.

use std::time::Instant;

use slotwise::protocol::Cmd;

use crate::admin::{addr, HOST};
use crate::cluster::Node;
use crate::error::{Error, ErrorKind};
use crate::server::{NodeState, Server, StartFailure, START_TIMEOUT};
use crate::view::NodeInfo;
use crate::{ports, workdir, LocalCluster};

/// How many times a new node whose random port was taken by someone else is started again.
const PORT_RETRIES: usize = 5;

impl LocalCluster {
    /// Starts one more node, with the cluster's settings, and adds it as a primary that serves
    /// no slot yet; returns once every node knows it and the cluster is healthy.
    ///
    /// ```no_run
    /// # let cluster = slotwise_testkit::LocalCluster::start()?;
    /// let node = cluster.add_primary()?;
    /// cluster.migrate_slot(0, node.port)?;
    /// # Ok::<(), slotwise_testkit::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::State`] for a persistent cluster (its node list is fixed by its
    /// directory); otherwise as [`LocalCluster::start`] for the new node, and a timeout if
    /// the cluster does not take it in within the builder's `wait_timeout`.
    pub fn add_primary(&self) -> Result<NodeInfo, Error> {
        if self.persistent_base.is_some() {
            return Err(Error::new(
                ErrorKind::State,
                "a persistent cluster cannot grow: its nodes are fixed by its directory",
            ));
        }
        let server = self.start_blank_node()?;
        let port = server.port;
        self.lock().push(Node {
            server,
            id: String::new(),
        });
        let id = self.admin_text(port, &Cmd::new("CLUSTER").arg("MYID"))?;
        if let Some(node) = self.lock().iter_mut().find(|n| n.server.port == port) {
            node.id = id;
        }
        // Meeting every running node at once, rather than one and waiting for gossip.
        for member in self.members() {
            if member.port == port || member.state != NodeState::Running {
                continue;
            }
            let meet = Cmd::new("CLUSTER")
                .arg("MEET")
                .arg(HOST)
                .arg(member.port)
                .arg(member.bus_port);
            self.admin_call(port, &meet)?;
        }
        self.wait_healthy(self.deadline())
            .map_err(|e| e.context(format!("adding {}", addr(port))))?;
        self.node(port)
    }

    /// A new blank server, answering, on free ports.
    fn start_blank_node(&self) -> Result<Server, Error> {
        let mut retries = 0;
        loop {
            let (port, bus_port) = (ports::free_port()?, ports::free_port()?);
            let tls_port = match self.spec.tls {
                Some(_) => Some(ports::free_port()?),
                None => None,
            };
            let dir = workdir::create_test_dir(port)?;
            let mut server = Server::spawn(
                &self.spec,
                port,
                bus_port,
                tls_port,
                dir.clone(),
                Vec::new(),
            )
            .inspect_err(|_| workdir::remove(&dir))?;
            match server.wait_ready(Instant::now() + START_TIMEOUT) {
                Ok(()) => return Ok(server),
                Err(StartFailure::PortInUse(_)) if retries < PORT_RETRIES => {
                    retries += 1;
                    let _ = server.kill();
                    workdir::remove(&dir);
                }
                Err(failure) => {
                    let _ = server.kill();
                    workdir::remove(&dir);
                    return Err(Error::from(failure).context("starting a new node"));
                }
            }
        }
    }
}
