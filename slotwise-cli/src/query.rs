//! `slotwise cli` and `slotwise nodes`: one command, or the topology, of any running cluster,
//! through the slotwise client.
//!
//! `cli` builds the command from its words and lets the client route it exactly as a program
//! using the library would (by key slot, by routing tip, or to the `--target` given), then
//! prints the reply through [`reply`]. `nodes` asks the cluster for `CLUSTER NODES`, and each
//! node for `DBSIZE`, and prints a table through [`output`].
//!
//! This module connects, runs and classifies failures (exit code 2 for a URL that cannot be
//! used, 1 for the rest); it does not format replies or tables itself.

use std::collections::HashMap;
use std::time::Duration;

use slotwise::commands::ServerCommands;
use slotwise::protocol::{Cmd, Value};
use slotwise::{ClusterNode, ErrorKind, RedisCluster, Role, Target};

use crate::output;
use crate::reply;
use crate::tls::TlsOptions;
use crate::Failure;

/// How long `nodes` waits for one node's `DBSIZE`. The client retries a read on an unreachable
/// node until its 5 s deadline; a table should not wait that long per dead node.
const DBSIZE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where `cli --target` sends the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TargetArg {
    /// Every primary.
    Primaries,
    /// Every replica.
    Replicas,
    /// Every node.
    All,
    /// One node chosen at random.
    Random,
    /// The client's default node.
    Default,
    /// One node, by address.
    Node {
        /// Host name or IP address.
        host: String,
        /// Port.
        port: u16,
    },
}

/// Parses `--target`: a role (`primaries`, `replicas`, `all`, `random`, `default`) or
/// `HOST:PORT`.
pub(crate) fn parse_target(text: &str) -> Result<TargetArg, String> {
    let role = match text.to_ascii_lowercase().as_str() {
        "primaries" => Some(TargetArg::Primaries),
        "replicas" => Some(TargetArg::Replicas),
        "all" => Some(TargetArg::All),
        "random" => Some(TargetArg::Random),
        "default" => Some(TargetArg::Default),
        _ => None,
    };
    if let Some(role) = role {
        return Ok(role);
    }
    let expected = "expected primaries, replicas, all, random, default or HOST:PORT";
    // The last colon separates the port, so `::1:7000` names an IPv6 host.
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("unknown target `{text}`: {expected}"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` in `{text}` is not a port number: {expected}"))?;
    if host.is_empty() {
        return Err(format!("`{text}` has no host: {expected}"));
    }
    Ok(TargetArg::Node {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port,
    })
}

/// What `slotwise cli` was asked to do.
#[derive(Debug)]
pub(crate) struct CliRequest {
    /// Seed URLs, tried in turn.
    pub(crate) urls: Vec<String>,
    /// TLS, from `--tls`, `--cacert` …
    pub(crate) tls: TlsOptions,
    /// Where to send the command instead of routing it.
    pub(crate) target: Option<TargetArg>,
    /// Send read-only commands to replicas.
    pub(crate) readonly: bool,
    /// The command name and its arguments.
    pub(crate) words: Vec<String>,
}

/// `slotwise cli`: runs one command and prints its reply; an error reply fails with the
/// server's message. With no command, reads commands from the prompt or from stdin
/// ([`crate::repl`]).
pub(crate) fn cli(request: CliRequest) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let cluster = connect(&request.urls, &request.tls).await?;
        let session = Session::new(cluster, request.readonly, request.target)?;
        if request.words.is_empty() {
            return crate::repl::run(&session).await;
        }
        let words: Vec<Vec<u8>> = request.words.into_iter().map(String::into_bytes).collect();
        let text = session.run(&words).await?;
        output::emit(&text);
        Ok(())
    })
}

/// A connected cluster and how `cli` sends commands to it.
pub(crate) struct Session {
    pub(crate) cluster: RedisCluster,
    /// The handle commands go through: the cluster, or its read-from-replicas twin.
    handle: RedisCluster,
    target: Option<Target>,
}

impl Session {
    fn new(
        cluster: RedisCluster,
        readonly: bool,
        target: Option<TargetArg>,
    ) -> Result<Session, Failure> {
        let handle = if readonly {
            cluster.readonly()
        } else {
            cluster.clone()
        };
        let target = match &target {
            Some(target) => Some(resolve_target(&cluster, target)?),
            None => None,
        };
        Ok(Session {
            cluster,
            handle,
            target,
        })
    }

    /// Runs one command (name, then arguments) and returns its reply as redis-cli prints it;
    /// an error reply is a failure with the server's message.
    pub(crate) async fn run(&self, words: &[Vec<u8>]) -> Result<String, Failure> {
        let reply = self.query(words).await?;
        let shown: Vec<String> = words
            .iter()
            .take(2)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        let raw = reply::prints_raw(&shown);
        let names: Vec<String> = self
            .cluster
            .get_nodes()
            .iter()
            .map(|n| n.name().to_owned())
            .collect();
        Ok(match reply::per_node(&reply, &names) {
            Some(by_node) => reply::format_per_node(&by_node, raw),
            None => reply::format_reply(&reply, raw),
        })
    }

    /// Runs one command and returns its reply; an error reply is a failure with the server's
    /// message.
    pub(crate) async fn query(&self, words: &[Vec<u8>]) -> Result<Value, Failure> {
        let Some((name, args)) = words.split_first() else {
            return Err(Failure::usage("no command given"));
        };
        let mut command = self.handle.cmd(&String::from_utf8_lossy(name));
        for arg in args {
            command = command.arg(&arg[..]);
        }
        if let Some(target) = &self.target {
            command = command.target(target.clone());
        }
        command.await.map_err(|e| match e.server_error() {
            Some(server) => Failure::bare(format!("(error) {}", server.message())),
            None => Failure::new(e.to_string()),
        })
    }

    /// Where `words` would be sent: one node's name, or how many nodes.
    pub(crate) async fn served_by(&self, words: &[Vec<u8>]) -> Option<String> {
        let nodes = match &self.target {
            Some(_) => return None,
            None => {
                let (name, args) = words.split_first()?;
                let mut cmd = Cmd::new(&name[..]);
                for arg in args {
                    cmd = cmd.arg(&arg[..]);
                }
                self.handle.nodes_for(&cmd).await.ok()?
            }
        };
        match nodes.as_slice() {
            [one] => Some(one.name().to_owned()),
            [] => None,
            many => Some(format!("{} nodes", many.len())),
        }
    }
}

/// `slotwise nodes`: every node with its role, primary, slots and key count.
pub(crate) fn nodes(urls: &[String], tls: &TlsOptions) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let cluster = connect(urls, tls).await?;
        let text: String = cluster
            .cmd("CLUSTER")
            .arg("NODES")
            .query()
            .await
            .map_err(|e| Failure::new(format!("CLUSTER NODES failed: {e}")))?;
        let mut rows = parse_cluster_nodes(&text);
        order_by_shard(&mut rows);
        let known = cluster.get_nodes();
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            keys.push(count_keys(&cluster, &known, &row.addr).await);
        }
        output::nodes(&rows, &keys, &seeds_shown(urls));
        Ok(())
    })
}

/// The seed URLs as `host:port`, without the credentials they may carry.
fn seeds_shown(urls: &[String]) -> String {
    let shown: Vec<String> = urls
        .iter()
        .map(|url| match ClusterNode::from_url(url) {
            Ok(node) => node.to_string(),
            Err(_) => "(a URL that cannot be shown)".to_owned(),
        })
        .collect();
    shown.join(", ")
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))
}

/// A client through the seed URLs, with TLS as `tls` says. A URL or TLS option the client
/// cannot use is a usage error (exit code 2); a cluster that does not answer (or fails the TLS
/// handshake) is a runtime failure whose message lists the nodes tried.
async fn connect(urls: &[String], tls: &TlsOptions) -> Result<RedisCluster, Failure> {
    let mut builder = RedisCluster::builder();
    for url in urls {
        builder = builder.url(url);
    }
    let builder = crate::tls::apply(builder, tls, urls)?;
    builder.build().await.map_err(|e| match e.kind() {
        // Before connecting, these can only come from the URL (the builder has nothing else).
        ErrorKind::InvalidInput | ErrorKind::Unsupported => Failure::usage(format!(
            "{e}; expected -u redis://HOST:PORT (rediss:// for TLS)"
        )),
        _ => Failure::new(format!("cannot reach the cluster: {e}")),
    })
}

/// The library's target for `arg`; an address that is not a node of the cluster fails with the
/// list of nodes that are.
fn resolve_target(cluster: &RedisCluster, arg: &TargetArg) -> Result<Target, Failure> {
    Ok(match arg {
        TargetArg::Primaries => Target::Primaries,
        TargetArg::Replicas => Target::Replicas,
        TargetArg::All => Target::AllNodes,
        TargetArg::Random => Target::Random,
        TargetArg::Default => Target::DefaultNode,
        TargetArg::Node { host, port } => match cluster.get_node(host, *port) {
            Some(node) => Target::Node(node),
            None => {
                let names: Vec<String> = cluster
                    .get_nodes()
                    .iter()
                    .map(|n| n.name().to_owned())
                    .collect();
                return Err(Failure::new(format!(
                    "{host}:{port} is not a node of this cluster; its nodes are {}",
                    names.join(", ")
                )));
            }
        },
    })
}

/// `DBSIZE` of the node at `addr`, as text for the table: `-` when the client does not know the
/// node (a failed one), the error when it does not answer in time.
async fn count_keys(cluster: &RedisCluster, known: &[ClusterNode], addr: &str) -> String {
    let Some(node) = known.iter().find(|n| n.name() == addr) else {
        return "-".to_owned();
    };
    let client = match cluster.node_client(node) {
        Ok(client) => client,
        Err(e) => return format!("? ({e})"),
    };
    match tokio::time::timeout(DBSIZE_TIMEOUT, client.dbsize()).await {
        Ok(Ok(count)) => count.to_string(),
        Ok(Err(e)) => format!("? ({e})"),
        Err(_) => "? (no answer)".to_owned(),
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeRow {
    /// The node's id.
    pub(crate) id: String,
    /// `host:port`, the name the client uses.
    pub(crate) addr: String,
    /// Primary or replica.
    pub(crate) role: Role,
    /// Flagged `fail` or `fail?` by the node asked.
    pub(crate) failing: bool,
    /// The primary's id, for a replica.
    pub(crate) primary_id: Option<String>,
    /// Slot ranges served, as `CLUSTER NODES` writes them (`0-5460`, `5461`).
    pub(crate) slots: Vec<String>,
}

/// Parses `CLUSTER NODES`: `id ip:port@bus[,hostname] flags primary ping pong epoch link
/// slot…`. Lines that do not have the fixed fields are skipped; slots being imported or migrated
/// (`[…]`) are not ranges a node serves, so they are left out.
pub(crate) fn parse_cluster_nodes(text: &str) -> Vec<NodeRow> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return None;
            }
            let addr = fields[1].split(['@', ',']).next()?.to_owned();
            let flags: Vec<&str> = fields[2].split(',').collect();
            let role = if flags.contains(&"master") {
                Role::Primary
            } else {
                Role::Replica
            };
            let failing = flags.iter().any(|f| *f == "fail" || *f == "fail?");
            let primary_id = (fields[3] != "-").then(|| fields[3].to_owned());
            let slots = fields[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .map(|s| (*s).to_owned())
                .collect();
            Some(NodeRow {
                id: fields[0].to_owned(),
                addr,
                role,
                failing,
                primary_id,
                slots,
            })
        })
        .collect()
}

/// Each primary (in slot order) followed by its replicas; nodes of neither kind (a replica of
/// a forgotten primary) come last, by address.
fn order_by_shard(rows: &mut [NodeRow]) {
    let first_slot = |row: &NodeRow| -> u32 {
        row.slots
            .first()
            .and_then(|s| s.split('-').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(u32::MAX)
    };
    let primaries: HashMap<String, (u32, String)> = rows
        .iter()
        .filter(|r| r.role == Role::Primary)
        .map(|r| (r.id.clone(), (first_slot(r), r.addr.clone())))
        .collect();
    rows.sort_by_key(|row| {
        let shard = match (&row.role, &row.primary_id) {
            (Role::Primary, _) => primaries.get(&row.id).cloned(),
            (_, Some(primary)) => primaries.get(primary).cloned(),
            _ => None,
        };
        let (slot, primary_addr) = shard.unwrap_or((u32::MAX, String::new()));
        (
            slot,
            primary_addr,
            row.role != Role::Primary,
            row.addr.clone(),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_shown_without_credentials() {
        let urls = [
            "redis://app:s3cr3t@10.0.0.5:7000".to_owned(),
            "rediss://:t0ken@cache.example:6380".to_owned(),
            "redis://h:1?password=q5ecret".to_owned(),
        ];
        let shown = seeds_shown(&urls);
        assert_eq!(
            shown,
            "10.0.0.5:7000, cache.example:6380, (a URL that cannot be shown)"
        );
    }

    #[test]
    fn targets_parse_by_role_or_address() {
        assert_eq!(parse_target("primaries"), Ok(TargetArg::Primaries));
        assert_eq!(parse_target("ALL"), Ok(TargetArg::All));
        assert_eq!(
            parse_target("127.0.0.1:7001"),
            Ok(TargetArg::Node {
                host: "127.0.0.1".to_owned(),
                port: 7001
            })
        );
        assert_eq!(
            parse_target("[::1]:7001"),
            Ok(TargetArg::Node {
                host: "::1".to_owned(),
                port: 7001
            })
        );
        assert!(parse_target("everyone").unwrap_err().contains("HOST:PORT"));
        assert!(parse_target("host:99999").is_err());
        assert!(parse_target(":7000").is_err());
    }

    const NODES: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-a slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave,fail 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
";

    #[test]
    fn cluster_nodes_lines_become_rows() {
        let rows = parse_cluster_nodes(NODES);
        assert_eq!(rows.len(), 5);
        let replica = &rows[0];
        assert_eq!(replica.addr, "127.0.0.1:30004");
        assert_eq!(replica.role, Role::Replica);
        assert_eq!(
            replica.primary_id.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        assert_eq!(rows[3].slots, ["0-5460"]);
        assert!(rows[4].failing);
        assert!(!rows[3].failing);
    }

    #[test]
    fn rows_are_grouped_by_shard_in_slot_order() {
        let mut rows = parse_cluster_nodes(NODES);
        order_by_shard(&mut rows);
        let addrs: Vec<&str> = rows.iter().map(|r| r.addr.as_str()).collect();
        assert_eq!(
            addrs,
            [
                "127.0.0.1:30001",
                "127.0.0.1:30004",
                "127.0.0.1:30002",
                "127.0.0.1:30005",
                "127.0.0.1:30003"
            ]
        );
    }
}
