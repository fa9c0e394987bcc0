//! [`FakeTopology`]: an in-process stand-in for a cluster far larger than this machine could
//! run (1,000 shards × 3 nodes), for what a client does with the topology rather than the data:
//! how many sockets it opens, what it asks in the background, how long it takes to start.
//!
//! Every advertised node is one listening socket on `127.0.0.1`, all served by one tokio
//! runtime on a thread of its own (so it works under a blocking client and a paused test
//! clock alike). It answers the handshake (`HELLO`, `AUTH`, `CLIENT …`, `READONLY`), the
//! cluster's description (`CLUSTER SHARDS`, `SLOTS`, `NODES`, `INFO`, `MYID`), `PING`, `ROLE`,
//! `COMMAND` (an error unless a reply was given, so the client falls back on its built-in
//! table) and `GET`/`SET`/`DEL` on one shared map, with `MOVED` for a key another shard owns.
//! It counts, per node, the connections accepted and the commands received.
//!
//! It does not replicate, fail over, migrate or expire anything: use [`LocalCluster`] for
//! that.
//!
//! [`LocalCluster`]: crate::LocalCluster

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use slotwise::protocol::{Decoder, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, ErrorKind};

/// One advertised node of a [`FakeTopology`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeNode {
    /// The port it listens on (the host is `127.0.0.1`).
    pub port: u16,
    /// Its shard, from 0.
    pub shard: usize,
    /// True for the shard's primary.
    pub primary: bool,
}

/// What the fake counts for one node.
#[derive(Default)]
struct Counts {
    accepted: AtomicU64,
    commands: AtomicU64,
    written: AtomicU64,
}

/// What every connection handler shares.
struct Shared {
    nodes: Vec<FakeNode>,
    counts: Vec<Counts>,
    /// Commands received by name (upper case, with the subcommand for `CLUSTER`, `CLIENT`,
    /// `COMMAND`).
    by_name: Mutex<HashMap<String, u64>>,
    data: Mutex<HashMap<Bytes, Bytes>>,
    shards_resp3: Bytes,
    shards_resp2: Bytes,
    slots: Bytes,
    cluster_nodes: Bytes,
    command: Option<Bytes>,
    /// First slot of each shard, and one past the last shard's last (16384).
    bounds: Vec<u16>,
}

/// A fake cluster of `shards` shards of one primary and `replicas` replicas each, the slots
/// dealt out in contiguous ranges. Dropping it closes every socket.
///
/// ```no_run
/// use slotwise_testkit::FakeTopology;
///
/// let fake = FakeTopology::start(1_000, 2)?;
/// let seed = fake.seed_url(); // the first shard's primary
/// // … build a client on `seed`, send a command …
/// println!("{} sockets opened", fake.connections());
/// # let _ = seed;
/// # Ok::<(), slotwise_testkit::Error>(())
/// ```
pub struct FakeTopology {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeTopology {
    /// Starts the fake: binds one port per node (so `shards × (1 + replicas)` of them) and
    /// serves them until dropped. `shards` must be 1 to 16,384.
    ///
    /// # Errors
    ///
    /// If `shards` is out of range, or a port cannot be bound (too few file descriptors:
    /// each node takes one, each connection one more).
    pub fn start(shards: usize, replicas: usize) -> Result<FakeTopology, Error> {
        FakeTopology::start_with(shards, replicas, None)
    }

    /// Like [`start`](Self::start), answering `COMMAND` with `command`: a whole `COMMAND`
    /// reply as a server writes it (RESP3), for a client that reads the server's table.
    /// `COMMAND LIST` is refused, as a server before 7 does, so the client asks for it whole.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with(
        shards: usize,
        replicas: usize,
        command: Option<Bytes>,
    ) -> Result<FakeTopology, Error> {
        if shards == 0 || shards > 16384 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("a fake topology has 1 to 16384 shards, not {shards}"),
            ));
        }
        let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("fake topology: {e}"));
        let mut listeners = Vec::new();
        let mut nodes = Vec::new();
        for shard in 0..shards {
            for r in 0..=replicas {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io)?;
                listener.set_nonblocking(true).map_err(io)?;
                let port = listener.local_addr().map_err(io)?.port();
                nodes.push(FakeNode {
                    port,
                    shard,
                    primary: r == 0,
                });
                listeners.push(listener);
            }
        }
        let bounds: Vec<u16> = (0..=shards).map(|i| (i * 16384 / shards) as u16).collect();
        let shared = Arc::new(Shared {
            shards_resp3: shards_reply(&nodes, &bounds, true),
            shards_resp2: shards_reply(&nodes, &bounds, false),
            slots: slots_reply(&nodes, &bounds),
            cluster_nodes: nodes_reply(&nodes, &bounds),
            counts: nodes.iter().map(|_| Counts::default()).collect(),
            nodes,
            by_name: Mutex::new(HashMap::new()),
            data: Mutex::new(HashMap::new()),
            command,
            bounds,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-topology".into())
            .spawn(move || {
                runtime.block_on(async move {
                    for (index, listener) in listeners.into_iter().enumerate() {
                        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                            continue;
                        };
                        tokio::spawn(accept(listener, index, Arc::clone(&serving)));
                    }
                    let _ = stopped.await;
                });
                // Dropping the runtime here closes every listener and connection.
            })
            .map_err(io)?;
        Ok(FakeTopology {
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Every node: each shard's primary, then its replicas, shard by shard.
    pub fn nodes(&self) -> &[FakeNode] {
        &self.shared.nodes
    }

    /// The first shard's primary, as a `redis://127.0.0.1:PORT` URL.
    pub fn seed_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.shared.nodes[0].port)
    }

    /// The node listening on `port`, if it is one of the fake's.
    pub fn node(&self, port: u16) -> Option<&FakeNode> {
        self.shared.nodes.iter().find(|n| n.port == port)
    }

    /// The primary of the shard serving `slot`.
    pub fn primary_of_slot(&self, slot: u16) -> &FakeNode {
        let shard = shard_of(&self.shared.bounds, slot);
        let nodes = &self.shared.nodes;
        nodes
            .iter()
            .find(|n| n.shard == shard && n.primary)
            .unwrap_or(&nodes[0])
    }

    /// Connections accepted so far, by every node.
    pub fn connections(&self) -> u64 {
        let counts = self.shared.counts.iter();
        counts.map(|c| c.accepted.load(Ordering::SeqCst)).sum()
    }

    /// Connections accepted so far by the node on `port` (0 for a port not the fake's).
    pub fn connections_to(&self, port: u16) -> u64 {
        self.count(port, |c| &c.accepted)
    }

    /// Commands received so far, by every node.
    pub fn commands(&self) -> u64 {
        let counts = self.shared.counts.iter();
        counts.map(|c| c.commands.load(Ordering::SeqCst)).sum()
    }

    /// Commands received so far by the node on `port`.
    pub fn commands_to(&self, port: u16) -> u64 {
        self.count(port, |c| &c.commands)
    }

    /// Bytes of replies written so far, by every node.
    pub fn bytes_sent(&self) -> u64 {
        let counts = self.shared.counts.iter();
        counts.map(|c| c.written.load(Ordering::SeqCst)).sum()
    }

    /// Commands received so far, by name: upper case, with the subcommand for `CLUSTER`,
    /// `CLIENT` and `COMMAND` (`"CLUSTER SHARDS"`, `"GET"`).
    pub fn commands_by_name(&self) -> HashMap<String, u64> {
        lock(&self.shared.by_name).clone()
    }

    fn count(&self, port: u16, which: fn(&Counts) -> &AtomicU64) -> u64 {
        let shared = &self.shared;
        let at = shared.nodes.iter().position(|n| n.port == port);
        at.and_then(|i| shared.counts.get(i))
            .map_or(0, |c| which(c).load(Ordering::SeqCst))
    }
}

impl std::fmt::Debug for FakeTopology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTopology")
            .field("nodes", &self.shared.nodes.len())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Drop for FakeTopology {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn shard_of(bounds: &[u16], slot: u16) -> usize {
    bounds.partition_point(|&b| b <= slot).saturating_sub(1)
}

async fn accept(listener: tokio::net::TcpListener, index: usize, shared: Arc<Shared>) {
    while let Ok((socket, _)) = listener.accept().await {
        if let Some(c) = shared.counts.get(index) {
            c.accepted.fetch_add(1, Ordering::SeqCst);
        }
        let _ = socket.set_nodelay(true);
        tokio::spawn(serve(socket, index, Arc::clone(&shared)));
    }
}

/// Answers one connection's commands in order until it closes.
async fn serve(mut socket: tokio::net::TcpStream, index: usize, shared: Arc<Shared>) {
    let mut decoder = Decoder::new();
    let mut input = BytesMut::with_capacity(4096);
    let mut output = Vec::new();
    let mut resp3 = false;
    loop {
        while let Ok(Some(Value::Array(items))) = decoder.decode(&mut input) {
            let args: Vec<Bytes> = items
                .iter()
                .map(|v| Bytes::copy_from_slice(v.as_bytes().unwrap_or_default()))
                .collect();
            if let Some(c) = shared.counts.get(index) {
                c.commands.fetch_add(1, Ordering::SeqCst);
            }
            answer(&shared, index, &args, &mut resp3, &mut output);
        }
        if !output.is_empty() {
            if socket.write_all(&output).await.is_err() {
                return;
            }
            if let Some(c) = shared.counts.get(index) {
                c.written.fetch_add(output.len() as u64, Ordering::SeqCst);
            }
            output.clear();
            // A topology reply runs to megabytes; an idle connection keeps none of it.
            output.shrink_to(64 * 1024);
        }
        match socket.read_buf(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn word(args: &[Bytes], i: usize) -> String {
    args.get(i)
        .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
        .unwrap_or_default()
}

/// Appends the reply to `args`, sent to node `index`, to `out`.
fn answer(shared: &Shared, index: usize, args: &[Bytes], resp3: &mut bool, out: &mut Vec<u8>) {
    let name = word(args, 0);
    let sub = word(args, 1);
    let counted = match name.as_str() {
        "CLUSTER" | "CLIENT" | "COMMAND" if !sub.is_empty() => format!("{name} {sub}"),
        _ => name.clone(),
    };
    *lock(&shared.by_name).entry(counted).or_default() += 1;
    let node = &shared.nodes[index];
    let ok = b"+OK\r\n";
    match (name.as_str(), sub.as_str()) {
        ("HELLO", version) => {
            *resp3 = version == "3";
            let header = if *resp3 { "%3\r\n" } else { "*6\r\n" };
            let role = if node.primary { "master" } else { "replica" };
            let _ = write!(
                Text(out),
                "{header}$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:{}\r\n$4\r\nrole\r\n${}\r\n{role}\r\n",
                if *resp3 { 3 } else { 2 },
                role.len()
            );
        }
        ("AUTH" | "CLIENT" | "READONLY" | "READWRITE" | "ASKING", _) => out.extend_from_slice(ok),
        ("PING", _) => out.extend_from_slice(b"+PONG\r\n"),
        ("ROLE", _) => {
            let role = if node.primary { "master" } else { "slave" };
            let _ = write!(Text(out), "*1\r\n${}\r\n{role}\r\n", role.len());
        }
        ("CLUSTER", "SHARDS") if *resp3 => out.extend_from_slice(&shared.shards_resp3),
        ("CLUSTER", "SHARDS") => out.extend_from_slice(&shared.shards_resp2),
        ("CLUSTER", "SLOTS") => out.extend_from_slice(&shared.slots),
        ("CLUSTER", "NODES") => out.extend_from_slice(&shared.cluster_nodes),
        ("CLUSTER", "MYID") => bulk(out, &node_id(index)),
        ("CLUSTER", "INFO") => {
            let shards = shared.bounds.len() - 1;
            bulk(out, &format!("cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_known_nodes:{}\r\ncluster_size:{shards}\r\ncluster_current_epoch:1\r\n", shared.nodes.len()));
        }
        ("COMMAND", "") => match &shared.command {
            Some(reply) => out.extend_from_slice(reply),
            None => out.extend_from_slice(b"-ERR unknown command 'COMMAND'\r\n"),
        },
        ("GET" | "SET" | "DEL", _) => data(shared, index, &name, args, out),
        _ => out.extend_from_slice(b"-ERR unknown command\r\n"),
    }
}

/// `GET`, `SET` and `DEL` of one key, or `MOVED` to the owner of its slot.
fn data(shared: &Shared, index: usize, name: &str, args: &[Bytes], out: &mut Vec<u8>) {
    let Some(key) = args.get(1) else {
        out.extend_from_slice(b"-ERR wrong number of arguments\r\n");
        return;
    };
    let slot = slotwise::RedisCluster::keyslot(key);
    let shard = shard_of(&shared.bounds, slot);
    let node = &shared.nodes[index];
    if node.shard != shard || (!node.primary && name != "GET") {
        let owner = shared.nodes.iter().find(|n| n.shard == shard && n.primary);
        let port = owner.map_or(0, |n| n.port);
        let _ = write!(Text(out), "-MOVED {slot} 127.0.0.1:{port}\r\n");
        return;
    }
    let mut data = lock(&shared.data);
    match (name, args.get(2)) {
        ("GET", _) => match data.get(key) {
            Some(value) => {
                let _ = write!(Text(out), "${}\r\n", value.len());
                out.extend_from_slice(value);
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(b"_\r\n"),
        },
        ("SET", Some(value)) => {
            data.insert(key.clone(), value.clone());
            out.extend_from_slice(b"+OK\r\n");
        }
        ("DEL", _) => {
            let removed = data.remove(key).is_some();
            let _ = write!(Text(out), ":{}\r\n", u8::from(removed));
        }
        _ => out.extend_from_slice(b"-ERR wrong number of arguments\r\n"),
    }
}

/// `fmt::Write` into a byte buffer.
struct Text<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn bulk(out: &mut Vec<u8>, s: &str) {
    let _ = write!(Text(out), "${}\r\n{s}\r\n", s.len());
}

fn node_id(index: usize) -> String {
    format!("{index:040x}")
}

/// The slot range of `shard`, inclusive.
fn range(bounds: &[u16], shard: usize) -> (u16, u16) {
    (bounds[shard], bounds[shard + 1] - 1)
}

/// `CLUSTER SHARDS` as Redis 7 writes it: a map per shard and node in RESP3, a flat array of
/// fields and values in RESP2.
fn shards_reply(nodes: &[FakeNode], bounds: &[u16], resp3: bool) -> Bytes {
    let record = |out: &mut Vec<u8>, fields: usize| {
        let _ = match resp3 {
            true => write!(Text(out), "%{fields}\r\n"),
            false => write!(Text(out), "*{}\r\n", fields * 2),
        };
    };
    let shards = bounds.len() - 1;
    let mut out = Vec::new();
    let _ = write!(Text(&mut out), "*{shards}\r\n");
    for shard in 0..shards {
        let (first, last) = range(bounds, shard);
        let members = shard_members(nodes, shard);
        record(&mut out, 2);
        bulk(&mut out, "slots");
        let _ = write!(Text(&mut out), "*2\r\n:{first}\r\n:{last}\r\n");
        bulk(&mut out, "nodes");
        let _ = write!(Text(&mut out), "*{}\r\n", members.len());
        for (index, node) in members {
            record(&mut out, 7);
            bulk(&mut out, "id");
            bulk(&mut out, &node_id(index));
            bulk(&mut out, "port");
            let _ = write!(Text(&mut out), ":{}\r\n", node.port);
            bulk(&mut out, "ip");
            bulk(&mut out, "127.0.0.1");
            bulk(&mut out, "endpoint");
            bulk(&mut out, "127.0.0.1");
            bulk(&mut out, "role");
            bulk(&mut out, if node.primary { "master" } else { "replica" });
            bulk(&mut out, "replication-offset");
            out.extend_from_slice(b":1000\r\n");
            bulk(&mut out, "health");
            bulk(&mut out, "online");
        }
    }
    Bytes::from(out)
}

/// The nodes of `shard`, with their indexes (which name them), primary first.
fn shard_members(nodes: &[FakeNode], shard: usize) -> Vec<(usize, &FakeNode)> {
    let members = nodes.iter().enumerate();
    members.filter(|(_, n)| n.shard == shard).collect()
}

/// `CLUSTER SLOTS`: one entry per shard's range, primary first.
fn slots_reply(nodes: &[FakeNode], bounds: &[u16]) -> Bytes {
    let shards = bounds.len() - 1;
    let mut out = Vec::new();
    let _ = write!(Text(&mut out), "*{shards}\r\n");
    for shard in 0..shards {
        let (first, last) = range(bounds, shard);
        let members = shard_members(nodes, shard);
        let _ = write!(
            Text(&mut out),
            "*{}\r\n:{first}\r\n:{last}\r\n",
            members.len() + 2
        );
        for (index, node) in members {
            let _ = write!(
                Text(&mut out),
                "*3\r\n$9\r\n127.0.0.1\r\n:{}\r\n",
                node.port
            );
            bulk(&mut out, &node_id(index));
        }
    }
    Bytes::from(out)
}

/// `CLUSTER NODES`: one line per node.
fn nodes_reply(nodes: &[FakeNode], bounds: &[u16]) -> Bytes {
    let mut text = String::new();
    for (index, node) in nodes.iter().enumerate() {
        let primary = nodes
            .iter()
            .position(|n| n.shard == node.shard && n.primary);
        let (flags, of, slots) = match node.primary {
            true => {
                let (first, last) = range(bounds, node.shard);
                ("master", "-".to_owned(), format!(" {first}-{last}"))
            }
            false => ("slave", node_id(primary.unwrap_or(0)), String::new()),
        };
        let _ = writeln!(
            text,
            "{} 127.0.0.1:{}@{} {flags} {of} 0 0 1 connected{slots}",
            node_id(index),
            node.port,
            u32::from(node.port) + 10000
        );
    }
    let mut out = Vec::new();
    bulk(&mut out, &text);
    Bytes::from(out)
}
