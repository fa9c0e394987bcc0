//! `slotwise cluster start|status|stop`: a local Redis Cluster that outlives the command.
//!
//! The servers are the test kit's persistent clusters ([`LocalCluster`] with `persistent(true)`),
//! named by their base port, so `status` and `stop` find a cluster that an earlier command
//! started. `status` talks to every node through slotwise's own [`Connection`], so a successful
//! status is also a smoke test of the client.
//!
//! This module decides what to do and what went wrong; how results look is [`output`]'s job, and
//! starting or forming the servers is the test kit's.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use slotwise::connection::{Connection, ConnectionConfig};
use slotwise::protocol::{Cmd, FromValue, Value};
use slotwise_testkit::{ErrorKind, LocalCluster};

use crate::output;
use crate::Failure;

/// How long one node may take to accept a connection or answer `PING` before `status` reports it
/// as not answering. A local node answers in well under a millisecond; a second is room for a
/// loaded 2-core machine without making a dead node's report slow.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// How long to wait for a TCP connection when checking whether a node still listens. Local
/// connects are refused or accepted at once; this only bounds a pathological case.
const LISTEN_PROBE_TIMEOUT: Duration = Duration::from_millis(200);

/// The result of pinging one node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ping {
    /// The node answered `PONG` after this round-trip time.
    Pong(Duration),
    /// Connecting or pinging failed; the reason.
    Failed(String),
}

impl Ping {
    fn is_pong(&self) -> bool {
        matches!(self, Ping::Pong(_))
    }
}

/// `cluster start`: starts `primaries` primaries with `replicas` replicas each on ports
/// `base_port..`, and prints the nodes and the seed URL.
pub(crate) fn start(primaries: usize, replicas: usize, base_port: u16) -> Result<(), Failure> {
    if let Some(cluster) = attach_running(base_port) {
        let ports = cluster.ports();
        return Err(Failure::new(format!(
            "a cluster is already running at base port {base_port} ({} nodes, {}); stop it \
             first with `slotwise cluster stop --port {base_port}`, or choose another --port",
            ports.len(),
            port_span(&ports),
        )));
    }
    let node_count = primaries * (1 + replicas);
    output::starting(node_count, primaries, replicas, base_port);
    let started = Instant::now();
    let cluster = LocalCluster::builder()
        .primaries(primaries)
        .replicas(replicas)
        .base_port(base_port)
        .persistent(true)
        .start()
        .map_err(|e| {
            if e.is_server_not_found() {
                // The kit's message already says how to install a server; add nothing to it.
                Failure::new(e.to_string())
            } else {
                Failure::new(format!("could not start the cluster: {e}"))
            }
        })?;
    let elapsed = started.elapsed();
    let nodes = cluster.nodes().map_err(|e| {
        Failure::new(format!(
            "the cluster started but its nodes could not be listed: {e}; \
             `slotwise cluster stop --port {base_port}` stops it"
        ))
    })?;
    output::started(&nodes, &cluster.seed_url(), elapsed, base_port);
    // Dropping a persistent cluster leaves its servers running, which is the point.
    Ok(())
}

/// `cluster status`: prints every node with its role, primary and slots, and pings each one.
/// Fails when no cluster runs at `base_port` or a node does not answer.
pub(crate) fn status(base_port: u16) -> Result<(), Failure> {
    let cluster = LocalCluster::attach(base_port).map_err(|e| {
        if e.kind() == ErrorKind::State {
            not_running(base_port)
        } else {
            Failure::new(format!(
                "cannot read the cluster at base port {base_port}: {e}"
            ))
        }
    })?;
    let ports = cluster.ports();
    if !ports.iter().any(|&port| is_listening(port)) {
        return Err(Failure::new(format!(
            "no cluster is running at base port {base_port}: its {} nodes ({}) have stopped \
             (killed, or the machine restarted); `slotwise cluster stop --port {base_port}` \
             removes what they left behind",
            ports.len(),
            port_span(&ports),
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    let nodes = match cluster.nodes() {
        Ok(nodes) => nodes,
        Err(e) => {
            // A node that hangs (paused, overloaded) makes the topology unreadable; pinging
            // every port still shows which one it is.
            let (pings, _) = runtime.block_on(ping_all(&ports));
            output::ping_only(base_port, &ports, &pings);
            return Err(Failure::new(format!(
                "the cluster at base port {base_port} could not describe itself: {e}"
            )));
        }
    };
    let node_ports: Vec<u16> = nodes.iter().map(|node| node.port).collect();
    let (pings, state) = runtime.block_on(ping_all(&node_ports));
    output::status(base_port, &nodes, &pings, state.as_deref());
    let silent = pings.iter().filter(|p| !p.is_pong()).count();
    if silent > 0 {
        return Err(Failure::new(format!(
            "{silent} of {} nodes did not answer PING",
            nodes.len()
        )));
    }
    Ok(())
}

/// `cluster stop`: stops the cluster at `base_port` and prints how many nodes were running.
/// Stopping where nothing runs is not an error, so cleanup scripts can call it unconditionally.
pub(crate) fn stop(base_port: u16) -> Result<(), Failure> {
    let started = Instant::now();
    let stopped = LocalCluster::stop_persistent(base_port).map_err(|e| {
        Failure::new(format!(
            "could not stop the cluster at base port {base_port}: {e}"
        ))
    })?;
    output::stopped(stopped, base_port, started.elapsed());
    Ok(())
}

/// The cluster at `base_port` if at least one of its nodes accepts connections.
fn attach_running(base_port: u16) -> Option<LocalCluster> {
    let cluster = LocalCluster::attach(base_port).ok()?;
    cluster
        .ports()
        .iter()
        .any(|&port| is_listening(port))
        .then_some(cluster)
}

fn not_running(base_port: u16) -> Failure {
    Failure::new(format!(
        "no cluster is running at base port {base_port}; start one with \
         `slotwise cluster start --port {base_port}`"
    ))
}

/// True if something accepts connections on `127.0.0.1:port`.
fn is_listening(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, LISTEN_PROBE_TIMEOUT).is_ok()
}

/// `ports 7000-7005`, or the list when the ports are not consecutive.
fn port_span(ports: &[u16]) -> String {
    let mut sorted = ports.to_vec();
    sorted.sort_unstable();
    let consecutive = sorted.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]));
    match sorted.as_slice() {
        [] => "no ports".to_owned(),
        [only] => format!("port {only}"),
        [first, .., last] if consecutive => format!("ports {first}-{last}"),
        _ => {
            let list: Vec<String> = sorted.iter().map(u16::to_string).collect();
            format!("ports {}", list.join(", "))
        }
    }
}

/// Pings every node on `127.0.0.1` at once, and asks the first node that answers for
/// `cluster_state`.
async fn ping_all(ports: &[u16]) -> (Vec<Ping>, Option<String>) {
    let tasks: Vec<_> = ports.iter().map(|&port| tokio::spawn(ping(port))).collect();
    let mut pings = Vec::with_capacity(tasks.len());
    let mut state = None;
    for task in tasks {
        let (result, conn) = match task.await {
            Ok(done) => done,
            Err(e) => (Ping::Failed(format!("the ping task failed: {e}")), None),
        };
        if state.is_none() {
            if let Some(conn) = conn {
                state = cluster_state(&conn).await;
            }
        }
        pings.push(result);
    }
    (pings, state)
}

/// Connects to one node and times a `PING`; the connection is handed back for reuse.
async fn ping(port: u16) -> (Ping, Option<Connection>) {
    let config = ConnectionConfig::new(Ipv4Addr::LOCALHOST.to_string(), port)
        .connect_timeout(PING_TIMEOUT)
        .response_timeout(PING_TIMEOUT);
    let conn = match Connection::connect(config).await {
        Ok(conn) => conn,
        Err(e) => return (Ping::Failed(format!("cannot connect: {e}")), None),
    };
    // Timed after the handshake, so the figure is one round trip, not connection setup.
    let sent = Instant::now();
    let result = match conn.send(&Cmd::new("PING")).await {
        Ok(reply) if reply.as_bytes() == Some(b"PONG".as_slice()) => Ping::Pong(sent.elapsed()),
        Ok(reply) => Ping::Failed(format!("unexpected {} reply to PING", reply.type_name())),
        Err(e) => Ping::Failed(e.to_string()),
    };
    (result, Some(conn))
}

/// The `cluster_state` field of `CLUSTER INFO` (`ok` or `fail`), if the node tells.
async fn cluster_state(conn: &Connection) -> Option<String> {
    let reply: Value = conn.send(&Cmd::new("CLUSTER").arg("INFO")).await.ok()?;
    let text = String::from_value(reply).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("cluster_state:"))
        .map(|state| state.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_spans_read_naturally() {
        assert_eq!(port_span(&[7001, 7000, 7002]), "ports 7000-7002");
        assert_eq!(port_span(&[7000]), "port 7000");
        assert_eq!(port_span(&[7000, 7002]), "ports 7000, 7002");
        assert_eq!(port_span(&[]), "no ports");
    }
}
