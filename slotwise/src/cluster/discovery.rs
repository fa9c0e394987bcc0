//! Discovery: asking nodes what the cluster looks like and choosing among their answers, and
//! reading the server's command table.
//!
//! Several nodes are asked at once (`CLUSTER SHARDS`, or `CLUSTER SLOTS` on servers before 7,
//! with `CLUSTER INFO` for the epoch); the view most of them agree on wins, unless a newly
//! elected primary's own view says otherwise (see `crate::topology::promoted_view`).
//!
//! The replies can run to megabytes (a large cluster's `CLUSTER SHARDS`, a fragmented
//! `CLUSTER SLOTS`, `COMMAND`), so they are asked for undecoded (`Connection::send_undecoded`)
//! and read one element at a time: what a reply costs is about its size on the wire and what
//! is made of it, not the several times more a decoded value tree takes.
//!
//! This module holds no state: what to make of an answer once the client runs (install it,
//! keep looking) is the topology owner's (`topology::refresh`).

use std::sync::Arc;

use futures_util::future::join_all;

use super::builder::{AddressRemap, ClusterBuilder};
use super::node::{NodeEntry, Registry, Role};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::routing::CommandTable;
use crate::topology::{
    choose_view, parse_shards_wire, parse_slots_wire, promoted_view, ClusterView, Origin, SlotMap,
};

/// One node's answer: its view and its current epoch. `tls` says whether the client connects
/// with TLS, which picks the port of nodes that list both.
async fn ask(entry: &NodeEntry, tls: bool) -> Result<(ClusterView, u64)> {
    let shards = Cmd::new("CLUSTER").arg("SHARDS");
    let info = Cmd::new("CLUSTER").arg("INFO");
    let replies = entry.conn.send_batch_undecoded([&shards, &info]).await?;
    let mut replies = replies.into_iter();
    let (Some(shards_reply), Some(info_reply)) = (replies.next(), replies.next()) else {
        return Err(Error::new(
            ErrorKind::Protocol,
            "short reply to CLUSTER SHARDS/INFO",
        ));
    };
    let epoch = match info_reply.into_value()? {
        Value::Error(e) => return Err(Error::from_server(e).with_node(entry.node.name())),
        v => current_epoch(&v),
    };
    let origin = Origin::new(entry.node.host(), entry.node.port()).over_tls(tls);
    let view = match shards_reply.server_error()? {
        Some(e) if e.code() == "ERR" => {
            // Before Redis 7 there is no CLUSTER SHARDS.
            let slots = Cmd::new("CLUSTER").arg("SLOTS");
            parse_slots_wire(entry.conn.send_undecoded(&slots).await?, origin)?
        }
        Some(e) => return Err(Error::from_server(e).with_node(entry.node.name())),
        None => parse_shards_wire(shards_reply, origin)?,
    };
    Ok((view, epoch))
}

/// `cluster_current_epoch` from a `CLUSTER INFO` reply; 0 if absent.
fn current_epoch(info: &Value) -> u64 {
    let Some(text) = info.as_bytes().and_then(|b| std::str::from_utf8(b).ok()) else {
        return 0;
    };
    text.lines()
        .find_map(|line| line.strip_prefix("cluster_current_epoch:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn remap_view(view: &mut ClusterView, remap: Option<&AddressRemap>) {
    let Some(remap) = remap else { return };
    for shard in &mut view.shards {
        for node in std::iter::once(&mut shard.primary).chain(shard.replicas.iter_mut()) {
            let (host, port) = remap(&node.host, node.port);
            node.host = host;
            node.port = port;
        }
    }
}

/// The outcome of discovery: the chosen view, and every node that failed with why.
pub(crate) struct Discovery {
    pub(crate) view: ClusterView,
    /// The node whose answer was used first (for the command table).
    pub(crate) first: Arc<NodeEntry>,
    /// Every node that answered gave the slots to the same primaries (health and replicas
    /// may differ while the nodes gossip).
    pub(crate) agreed: bool,
    /// When they did not agree, every answer, in canonical form.
    pub(crate) others: Vec<ClusterView>,
}

/// How many groups of `discovery_fanout` known nodes one discovery asks at most before it
/// gives up on them (the startup nodes are asked all the same): with the default fanout, 12
/// nodes, whatever the cluster's size. A refresh that finds them all unreachable fails; the
/// next one asks others first, since nodes whose connect failed go last.
pub(crate) const DISCOVERY_GROUPS: usize = 4;

/// Asks `candidates` (in groups of `fanout`, until one answers; at most `DISCOVERY_GROUPS`
/// groups of them besides the startup nodes, each node once), then enough nodes of the
/// answered view to make `fanout` answers, and returns the view most agree on. So a discovery
/// asks at most `fanout × (DISCOVERY_GROUPS + 1)` nodes and the startup nodes, and a healthy
/// cluster's `2 × fanout` at most.
pub(crate) async fn discover(
    settings: &ClusterBuilder,
    registry: &Registry,
    candidates: Vec<Arc<NodeEntry>>,
) -> std::result::Result<Discovery, Vec<(String, Error)>> {
    let fanout = settings.discovery_fanout;
    let candidates = bounded(candidates, settings, fanout * DISCOVERY_GROUPS);
    let tls = settings.connection.is_tls();
    let mut failures = Vec::new();
    // Each answer, in canonical form, with the address of the node that gave it.
    let mut answers: Vec<(ClusterView, u64, Author)> = Vec::new();
    let mut asked: Vec<String> = Vec::new();
    let mut first = None;
    for group in candidates.chunks(fanout) {
        let results = join_all(group.iter().map(|e| ask(e, tls))).await;
        for (entry, result) in group.iter().zip(results) {
            asked.push(entry.node.name().to_owned());
            match result {
                Ok((mut view, epoch)) => {
                    remap_view(&mut view, settings.remap.as_ref());
                    first.get_or_insert_with(|| Arc::clone(entry));
                    answers.push((view.normalized(), epoch, author(entry)));
                }
                Err(e) => failures.push((entry.node.name().to_owned(), e)),
            }
        }
        if !answers.is_empty() {
            break;
        }
    }
    let Some(first) = first else {
        return Err(failures);
    };
    // Too few answers for a majority: ask more nodes of the view we have.
    if answers.len() < fanout {
        let more: Vec<Arc<NodeEntry>> = answers[0]
            .0
            .shards
            .iter()
            .map(|s| &s.primary)
            .filter(|n| !asked.iter().any(|a| *a == format!("{}:{}", n.host, n.port)))
            .take(fanout - answers.len())
            .map(|n| registry.entry(&n.host, n.port, Role::Primary))
            .collect();
        let results = join_all(more.iter().map(|e| ask(e, tls))).await;
        for (entry, result) in more.iter().zip(results) {
            if let Ok((mut view, epoch)) = result {
                remap_view(&mut view, settings.remap.as_ref());
                answers.push((view.normalized(), epoch, author(entry)));
            }
        }
    }
    let owners: Vec<_> = answers.iter().map(|(v, ..)| v.ownership()).collect();
    let agreed = owners.windows(2).all(|w| w[0] == w[1]);
    let views = answers.iter().map(|(v, e, _)| (v.clone(), *e)).collect();
    let Some(chosen) = choose_view(views) else {
        return Err(failures);
    };
    let claims = answers
        .iter()
        .map(|(view, _, (host, port))| (view, host.as_str(), *port));
    let view = promoted_view(&chosen, claims).unwrap_or(chosen);
    let others = if agreed {
        Vec::new()
    } else {
        answers.into_iter().map(|(v, ..)| v).collect()
    };
    Ok(Discovery {
        view,
        first,
        agreed,
        others,
    })
}

/// `candidates` in order, each once, with no more than `known` of those that are not startup
/// nodes. What it keeps is a few entries, so a linear look at them is cheaper than a set of
/// every candidate (thousands, on a large cluster).
fn bounded(
    candidates: Vec<Arc<NodeEntry>>,
    settings: &ClusterBuilder,
    known: usize,
) -> Vec<Arc<NodeEntry>> {
    let mut kept: Vec<Arc<NodeEntry>> = Vec::with_capacity(known + settings.startup.len());
    let mut others = 0;
    for entry in candidates {
        if kept.iter().any(|k| Arc::ptr_eq(k, &entry)) {
            continue;
        }
        if settings.startup.iter().any(|n| *n == entry.node) {
            kept.push(entry);
        } else if others < known {
            others += 1;
            kept.push(entry);
        }
    }
    kept
}

/// The address of the node that gave an answer.
type Author = (String, u16);

fn author(entry: &NodeEntry) -> Author {
    (entry.node.host().to_owned(), entry.node.port())
}

/// How many commands one `COMMAND INFO` asks about.
const COMMAND_INFO_BATCH: usize = 40;

/// The command table, from the server on `entry`, or the built-in one if that fails.
pub(crate) async fn load_commands(entry: &NodeEntry) -> CommandTable {
    match read_commands(entry).await {
        Ok(table) => table,
        Err(e) => {
            tracing::warn!(node = entry.node.name(), error = %e, "cannot read the server's commands; using the built-in command table");
            CommandTable::builtin()
        }
    }
}

/// The server's commands: their names from `COMMAND LIST`, then `COMMAND INFO` on a batch of
/// them at a time, each reply turned into table entries before the next is asked for. The
/// whole `COMMAND` reply is some 15,000 values, the largest thing a client holds at connect,
/// for no use once the table is built. Servers before 7 have no `COMMAND LIST`: `COMMAND`,
/// read one entry at a time.
async fn read_commands(entry: &NodeEntry) -> Result<CommandTable> {
    let whole = || async {
        let reply = entry.conn.send_undecoded(&Cmd::new("COMMAND")).await?;
        CommandTable::from_wire(reply)
    };
    let names: Vec<bytes::Bytes> = match entry.conn.send(&Cmd::new("COMMAND").arg("LIST")).await {
        Ok(Value::Array(names) | Value::Set(names)) if !names.is_empty() => names
            .iter()
            .filter_map(|n| match n {
                Value::Bulk(b) | Value::SimpleString(b) => Some(b.clone()),
                _ => None,
            })
            .collect(),
        Ok(_) | Err(_) => return whole().await,
    };
    let mut table = CommandTable::default();
    for batch in names.chunks(COMMAND_INFO_BATCH) {
        let mut info = Cmd::new("COMMAND").arg("INFO");
        for name in batch {
            info.push_bytes(name);
        }
        let added = match entry.conn.send_undecoded(&info).await {
            Ok(reply) => table.add_wire(reply),
            Err(e) => Err(e),
        };
        match added {
            Ok(()) => {}
            // A server that lists commands it cannot describe one by one: the whole reply.
            Err(e) if e.is_server_error() || e.kind() == ErrorKind::Protocol => {
                return whole().await
            }
            Err(e) => return Err(e),
        }
    }
    Ok(table)
}

/// Checks slot coverage; the error names the uncovered ranges.
pub(crate) fn check_coverage(map: &SlotMap) -> Result<()> {
    let uncovered = map.uncovered();
    if uncovered.is_empty() {
        return Ok(());
    }
    let ranges: Vec<String> = uncovered
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    Err(Error::new(
        ErrorKind::SlotNotCovered,
        format!(
            "slots not served by any node: {} (set require_full_coverage(false) to serve the rest)",
            ranges.join(", ")
        ),
    ))
}

/// The error for "nobody answered", naming every node tried and why it failed.
pub(crate) fn no_reachable_node(what: &str, failures: &[(String, Error)]) -> Error {
    let tried: Vec<String> = failures
        .iter()
        .map(|(node, e)| format!("{node} ({})", e.summary()))
        .collect();
    Error::new(
        ErrorKind::NoReachableNode,
        format!("{what}; tried: {}", tried.join("; ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterNode;
    use crate::connection::ConnectionConfig;

    /// However many nodes a cluster has, one discovery asks a bounded few of them, each once,
    /// and every startup node.
    #[test]
    fn candidates_are_bounded_and_keep_the_startup_nodes() {
        let registry = Registry::new(ConnectionConfig::new("", 0), Default::default(), None);
        let settings = ClusterBuilder::new()
            .startup_node(ClusterNode::new("10.0.0.1", 7000))
            .startup_node(ClusterNode::new("seed.example", 7000));
        let known: Vec<Arc<NodeEntry>> = (0..3000)
            .map(|i| registry.entry("10.0.0.1", 7000 + i, Role::Primary))
            .collect();
        let mut candidates = known.clone();
        candidates.extend(known.iter().take(5).cloned());
        for node in &settings.startup {
            candidates.push(registry.entry(node.host(), node.port(), Role::Primary));
        }
        let limit = settings.discovery_fanout * DISCOVERY_GROUPS;
        let asked: Vec<String> = bounded(candidates, &settings, limit)
            .iter()
            .map(|e| e.node.name().to_owned())
            .collect();
        // The first known node is the first startup node too: asked once, in its place.
        let mut expected: Vec<String> = (0..=limit as u16)
            .map(|i| format!("10.0.0.1:{}", 7000 + i))
            .collect();
        expected.push("seed.example:7000".to_owned());
        assert_eq!(asked, expected);
    }
}
