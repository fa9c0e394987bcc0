//! What the `cluster` and `nodes` commands print on stdout: progress lines, node tables,
//! summaries; and [`emit`], through which everything the CLI prints on stdout goes.
//!
//! Every function here takes results that are already known and only formats them; none of them
//! talks to a server or decides whether something failed. Errors go to stderr from `main`, not
//! through this module. Replies of `cli` are formatted by [`reply`](crate::reply), the demo's
//! narration by [`demo`](crate::demo).

use std::io::Write;
use std::ops::RangeInclusive;
use std::time::Duration;

use slotwise_testkit::{NodeInfo, NodeState, Role};

use crate::cluster::Ping;
use crate::query::NodeRow;

/// Writes `text` to stdout and flushes it, so a progress line shows before a long wait.
///
/// A closed stdout (`slotwise cluster status | head -1`) is ignored instead of aborting the
/// command: the work it reports on has been done either way, and `println!` would panic.
pub(crate) fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// The line printed before a cluster starts, which takes a few seconds.
pub(crate) fn starting(node_count: usize, primaries: usize, replicas: usize, base_port: u16) {
    let offset = u16::try_from(node_count.saturating_sub(1)).unwrap_or(u16::MAX);
    let last_port = base_port.saturating_add(offset);
    emit(&format!(
        "Starting {node_count} {} ({primaries} {}, {replicas} {} each) on 127.0.0.1:{base_port}-{last_port} ...\n",
        plural(node_count, "node", "nodes"),
        plural(primaries, "primary", "primaries"),
        plural(replicas, "replica", "replicas"),
    ));
}

/// The report of `cluster start`: the nodes, the seed URL and what to do next.
pub(crate) fn started(nodes: &[NodeInfo], seed_url: &str, elapsed: Duration, base_port: u16) {
    let mut text = format!("Cluster ready in {}.\n\n", duration(elapsed));
    text.push_str(&node_table(nodes, None));
    text.push_str(&format!(
        "\nSeed URL: {seed_url}\n\
         It keeps running after this command: `slotwise cluster status --port {base_port}` \
         shows it, `slotwise cluster stop --port {base_port}` stops it.\n"
    ));
    emit(&text);
}

/// The report of `cluster status`: a summary line and the node table with a PING column.
pub(crate) fn status(base_port: u16, nodes: &[NodeInfo], pings: &[Ping], state: Option<&str>) {
    let answered = pings.iter().filter(|p| matches!(p, Ping::Pong(_))).count();
    let mut text = format!(
        "Cluster at base port {base_port}: {} {}, cluster_state {}, {answered}/{} answered PING\n\n",
        nodes.len(),
        plural(nodes.len(), "node", "nodes"),
        state.unwrap_or("unknown"),
        pings.len(),
    );
    text.push_str(&node_table(nodes, Some(pings)));
    emit(&text);
}

/// What `cluster status` can still show when the topology could not be read: each node's PING.
pub(crate) fn ping_only(base_port: u16, ports: &[u16], pings: &[Ping]) {
    let mut text = format!("Cluster at base port {base_port}: topology unknown\n\n");
    let rows = ports
        .iter()
        .zip(pings)
        .map(|(port, result)| vec![format!("127.0.0.1:{port}"), ping(result)]);
    text.push_str(&table(&["NODE", "PING"], rows));
    emit(&text);
}

/// The report of `cluster stop`.
pub(crate) fn stopped(count: usize, base_port: u16, elapsed: Duration) {
    if count == 0 {
        emit(&format!(
            "No cluster was running at base port {base_port}; nothing to stop.\n"
        ));
    } else {
        emit(&format!(
            "Stopped {count} {} of the cluster at base port {base_port} in {}.\n",
            plural(count, "node", "nodes"),
            duration(elapsed),
        ));
    }
}

/// The report of `nodes`: a summary line and one row per node, grouped by shard, with its key
/// count (`keys[i]` is the count of `rows[i]`).
pub(crate) fn nodes(rows: &[NodeRow], keys: &[String], seed: &str) {
    let primaries = rows
        .iter()
        .filter(|r| r.role == slotwise::Role::Primary && !r.slots.is_empty())
        .count();
    let mut text = format!(
        "Cluster via {seed}: {} {}, {primaries} serving slots\n\n",
        rows.len(),
        plural(rows.len(), "node", "nodes"),
    );
    let table_rows = rows.iter().enumerate().map(|(index, row)| {
        let role = match row.role {
            slotwise::Role::Primary => "primary",
            _ => "replica",
        };
        let primary = row.primary_id.as_deref().map_or_else(
            || "-".to_owned(),
            |id| {
                rows.iter()
                    .find(|r| r.id == id)
                    .map_or_else(|| id.chars().take(8).collect(), |r| r.addr.clone())
            },
        );
        let slots = if row.slots.is_empty() {
            "-".to_owned()
        } else {
            row.slots.join(",")
        };
        vec![
            row.addr.clone(),
            if row.failing {
                format!("{role} (failing)")
            } else {
                role.to_owned()
            },
            primary,
            slots,
            keys.get(index).cloned().unwrap_or_else(|| "-".to_owned()),
        ]
    });
    text.push_str(&table(
        &["NODE", "ROLE", "PRIMARY", "SLOTS", "KEYS"],
        table_rows,
    ));
    emit(&text);
}

/// One row per node: address, role, the primary a replica follows, slot ranges, and the PING
/// result when there is one.
fn node_table(nodes: &[NodeInfo], pings: Option<&[Ping]>) -> String {
    let mut header = vec!["NODE", "ROLE", "PRIMARY", "SLOTS"];
    if pings.is_some() {
        header.push("PING");
    }
    let rows = nodes.iter().enumerate().map(|(index, node)| {
        let mut row = vec![
            node.addr(),
            role(node),
            primary_of(node, nodes),
            slot_ranges(&node.slots),
        ];
        if let Some(pings) = pings {
            row.push(pings.get(index).map_or_else(|| "-".to_owned(), ping));
        }
        row
    });
    table(&header, rows)
}

fn role(node: &NodeInfo) -> String {
    let role = match node.role {
        Role::Primary => "primary",
        Role::Replica => "replica",
    };
    match node.state {
        NodeState::Running => role.to_owned(),
        NodeState::Paused => format!("{role} (paused)"),
        _ => format!("{role} (stopped)"),
    }
}

/// The address of the primary a replica follows, or `-` for a primary. An id no node in the
/// list has (a forgotten node) is shown shortened, as `redis-cli` does.
fn primary_of(node: &NodeInfo, nodes: &[NodeInfo]) -> String {
    let Some(id) = node.primary_id.as_deref() else {
        return "-".to_owned();
    };
    nodes
        .iter()
        .find(|candidate| candidate.id == id)
        .map_or_else(|| id.chars().take(8).collect(), NodeInfo::addr)
}

fn ping(result: &Ping) -> String {
    match result {
        Ping::Pong(rtt) => format!("PONG in {}", duration(*rtt)),
        Ping::Failed(reason) => format!("FAILED: {reason}"),
    }
}

/// `0-5460,10923`, or `-` for none.
pub(crate) fn slot_ranges(ranges: &[RangeInclusive<u16>]) -> String {
    if ranges.is_empty() {
        return "-".to_owned();
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|range| {
            if range.start() == range.end() {
                range.start().to_string()
            } else {
                format!("{}-{}", range.start(), range.end())
            }
        })
        .collect();
    parts.join(",")
}

/// A round duration as people say it: `1 s`, `1.5 s`.
pub(crate) fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// A duration at a precision that suits its size: `0.18 ms`, `42 ms`, `2.31 s`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

pub(crate) fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 {
        one
    } else {
        many
    }
}

/// Left-aligned columns, two spaces apart, indented by two; the last column is not padded so
/// long cells (an error message) do not leave trailing blanks.
fn table<R>(header: &[&str], rows: impl IntoIterator<Item = R>) -> String
where
    R: AsRef<[String]>,
{
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    lines.extend(rows.into_iter().map(|row| row.as_ref().to_vec()));
    let mut widths = vec![0; header.len()];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for line in &lines {
        let mut rendered = String::from(" ");
        for (index, cell) in line.iter().enumerate() {
            rendered.push(' ');
            if index + 1 == line.len() {
                rendered.push_str(cell);
            } else {
                let width = widths.get(index).copied().unwrap_or(0);
                rendered.push_str(&format!("{cell:<width$} "));
            }
        }
        text.push_str(rendered.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ranges_are_compact() {
        assert_eq!(slot_ranges(&[0..=5460, 10923..=10923]), "0-5460,10923");
        assert_eq!(slot_ranges(&[]), "-");
    }

    #[test]
    fn round_durations_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(1)), "1 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn durations_keep_meaningful_digits() {
        assert_eq!(duration(Duration::from_micros(180)), "0.18 ms");
        assert_eq!(duration(Duration::from_millis(42)), "42 ms");
        assert_eq!(duration(Duration::from_millis(2314)), "2.31 s");
    }

    #[test]
    fn tables_align_columns_and_leave_no_trailing_blanks() {
        let rows = vec![
            vec![
                "127.0.0.1:7000".to_owned(),
                "primary".to_owned(),
                "0-5460".to_owned(),
            ],
            vec![
                "127.0.0.1:7003".to_owned(),
                "replica".to_owned(),
                "-".to_owned(),
            ],
        ];
        let text = table(&["NODE", "ROLE", "SLOTS"], rows);
        assert_eq!(
            text,
            "  NODE            ROLE     SLOTS\n  \
             127.0.0.1:7000  primary  0-5460\n  \
             127.0.0.1:7003  replica  -\n"
        );
    }

    #[test]
    fn plurals_follow_the_count() {
        assert_eq!(plural(1, "node", "nodes"), "node");
        assert_eq!(plural(6, "node", "nodes"), "nodes");
        assert_eq!(plural(0, "replica", "replicas"), "replicas");
    }
}
