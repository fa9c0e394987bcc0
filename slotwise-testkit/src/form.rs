//! Bringing a cluster up: launching the servers and forming the cluster from blank nodes.
//!
//! The kit does what `redis-cli --cluster create` does, directly and without its fixed sleeps:
//! slots are assigned, each node gets a distinct config epoch, every node meets every earlier
//! one (a full mesh at once, instead of waiting for gossip to spread), replicas are attached once
//! everybody knows everybody, and then it waits for the cluster to be healthy. Most of the time
//! goes to Redis's own rule that a new primary waits 2 s before reporting `cluster_state:ok`.
//!
//! This module does not choose settings ([`builder`](crate::builder)) or define health
//! ([`wait`](crate::wait)).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use slotwise::protocol::{Cmd, SLOT_COUNT};

use crate::admin::{addr, Pool, HOST};
use crate::builder::ClusterBuilder;
use crate::cluster::Node;
use crate::error::{Error, ErrorKind};
use crate::server::{Server, ServerSpec, ServerTls, StartFailure, START_TIMEOUT};
use crate::wait::{pending, until};
use crate::{binary, persistent, ports, tls, valkey, workdir, LocalCluster};

/// How many times a node whose random port was taken by someone else is retried on new ports.
const PORT_RETRIES: usize = 5;

impl LocalCluster {
    /// Starts the servers of `settings` and forms the cluster.
    pub(crate) fn launch(settings: ClusterBuilder) -> Result<LocalCluster, Error> {
        let started = Instant::now();
        let binary = match (&settings.server_binary, settings.valkey) {
            (None, true) => binary::find(Some(&valkey::valkey_server()?))?,
            (given, _) => binary::find(given.as_deref())?,
        };
        let tls = if settings.tls {
            let dir = workdir::create_cluster_dir("tls")?;
            let files = tls::generate(&dir).inspect_err(|_| workdir::remove(&dir))?;
            Some(ServerTls {
                files,
                auth_clients: settings.tls_auth_clients,
            })
        } else {
            None
        };
        let spec = ServerSpec {
            binary,
            node_timeout: settings.node_timeout,
            extra_config: settings.extra_config.clone(),
            persistent: settings.persistent,
            tls,
        };
        let mut cluster = LocalCluster {
            nodes: Mutex::new(Vec::new()),
            spec,
            pool: Pool::default(),
            wait_timeout: settings.wait_timeout,
            persistent_base: settings.base_port.filter(|_| settings.persistent),
            startup_time: Duration::ZERO,
        };
        if let Err(e) = cluster.bring_up(&settings) {
            if let Some(base_port) = cluster.persistent_base {
                // Dropping a persistent cluster leaves its servers running, but a failed start
                // must not leave half a cluster behind. Only the servers this call started are
                // stopped: the failure may be that another cluster already runs at this base.
                let _ = cluster.teardown();
                workdir::remove_if_empty(&workdir::persistent_root(base_port));
            }
            return Err(e);
        }
        cluster.startup_time = started.elapsed();
        Ok(cluster)
    }

    fn bring_up(&self, settings: &ClusterBuilder) -> Result<(), Error> {
        if let Some(base_port) = self.persistent_base {
            persistent::prepare_root(base_port, settings)?;
        }
        let ready_by = Instant::now() + START_TIMEOUT;
        // Launch every server before waiting for any, so they boot in parallel.
        for index in 0..settings.node_count() {
            self.spawn_node(settings, index)?;
        }
        for index in 0..settings.node_count() {
            self.wait_node_ready(settings, index, ready_by)?;
        }
        self.form(settings.primaries, settings.replicas)
    }

    fn spawn_node(&self, settings: &ClusterBuilder, index: usize) -> Result<(), Error> {
        let server = self.new_server(settings, index)?;
        self.lock().push(Node {
            server,
            id: String::new(),
        });
        Ok(())
    }

    fn new_server(&self, settings: &ClusterBuilder, index: usize) -> Result<Server, Error> {
        let (port, bus_port) = match settings.fixed_ports(index) {
            Some(ports) => ports,
            None => (ports::free_port()?, ports::free_port()?),
        };
        let tls_port = if settings.tls {
            Some(ports::free_port()?)
        } else {
            None
        };
        let dir = match self.persistent_base {
            Some(base_port) => {
                let dir = workdir::persistent_node_dir(&workdir::persistent_root(base_port), port);
                workdir::recreate(&dir)?;
                dir
            }
            None => workdir::create_test_dir(port)?,
        };
        let config = settings.config_of(index);
        Server::spawn(&self.spec, port, bus_port, tls_port, dir.clone(), config).inspect_err(|_| {
            workdir::remove(&dir);
        })
    }

    /// Waits for node `index` to answer; a node whose random port was taken is started again on
    /// new ports.
    fn wait_node_ready(
        &self,
        settings: &ClusterBuilder,
        index: usize,
        deadline: Instant,
    ) -> Result<(), Error> {
        let mut retries = 0;
        loop {
            // Nobody else can reach the cluster before `start` returns, so holding the lock
            // while waiting blocks no one.
            let result = match self.lock().get_mut(index) {
                Some(node) => node.server.wait_ready(deadline),
                None => {
                    return Err(Error::new(
                        ErrorKind::Start,
                        "a node vanished while starting",
                    ))
                }
            };
            match result {
                Ok(()) => return Ok(()),
                Err(StartFailure::PortInUse(_))
                    if settings.base_port.is_none() && retries < PORT_RETRIES =>
                {
                    retries += 1;
                    let server = self.new_server(settings, index)?;
                    if let Some(node) = self.lock().get_mut(index) {
                        workdir::remove(&node.server.dir);
                        node.server = server;
                    }
                }
                Err(failure) => {
                    return Err(Error::from(failure).context(format!("starting node {index}")))
                }
            }
        }
    }

    /// Turns the running blank nodes into a cluster: the first `primaries` nodes share the
    /// slots, the rest replicate them in order, `replicas` each.
    fn form(&self, primaries: usize, replicas: usize) -> Result<(), Error> {
        let deadline = self.deadline();
        for (index, member) in self.members().iter().enumerate() {
            let id = self.admin_text(member.port, &Cmd::new("CLUSTER").arg("MYID"))?;
            if let Some(node) = self.lock().get_mut(index) {
                node.id = id;
            }
        }
        let members = self.members();
        for (index, member) in members.iter().enumerate() {
            // Distinct epochs up front; otherwise nodes with equal epochs settle the collision
            // one bump at a time.
            let epoch = index + 1;
            let cmd = Cmd::new("CLUSTER").arg("SET-CONFIG-EPOCH").arg(epoch);
            self.admin_call(member.port, &cmd)?;
        }
        let total = usize::from(SLOT_COUNT);
        for (index, member) in members.iter().take(primaries).enumerate() {
            let first = index * total / primaries;
            let last = (index + 1) * total / primaries - 1;
            let cmd = Cmd::new("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last);
            self.admin_call(member.port, &cmd)?;
        }
        for (index, member) in members.iter().enumerate() {
            for earlier in &members[..index] {
                let cmd = Cmd::new("CLUSTER")
                    .arg("MEET")
                    .arg(HOST)
                    .arg(earlier.port)
                    .arg(earlier.bus_port);
                self.admin_call(member.port, &cmd)?;
            }
        }
        until(deadline, "every node to know every other", || {
            for member in &members {
                let view = self.view_of(member.port)?;
                let known = view.iter().filter(|e| !e.joining && e.connected).count();
                if known < members.len() {
                    pending!(
                        "{} knows {known} of {} nodes",
                        addr(member.port),
                        members.len()
                    );
                }
            }
            Ok(())
        })?;
        for (offset, member) in members.iter().skip(primaries).enumerate() {
            let Some(primary) = members.get(offset / replicas.max(1)) else {
                break;
            };
            let cmd = Cmd::new("CLUSTER").arg("REPLICATE").arg(&primary.id);
            self.admin_call(member.port, &cmd)?;
        }
        self.wait_healthy(deadline)
    }
}
