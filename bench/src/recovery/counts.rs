//! What the nodes themselves counted during a recovery run: redirections and topology
//! queries, whatever the client (see [`ServerCounts`]).

use slotwise::protocol::Cmd;
use slotwise_testkit::{LocalCluster, NodeState};

/// What the nodes counted from just before the fault to the end of a run, summed over the
/// nodes still running then (a killed node's counters die with it).
///
/// `CLUSTER NODES` is not among the topology queries: the test kit itself sends it (to learn
/// the nodes' roles and slots, `slotwise-testkit/src/cluster.rs`), during the migration and
/// when this module reads the counters, so it would count the harness as well as the client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ServerCounts {
    /// `MOVED` replies (`errorstat_MOVED`).
    pub(crate) moved: u64,
    /// `ASK` replies (`errorstat_ASK`).
    pub(crate) ask: u64,
    /// `ASKING` calls (`cmdstat_asking`).
    pub(crate) asking: u64,
    /// `CLUSTER SHARDS` and `CLUSTER SLOTS` calls (`cmdstat_cluster|shards`,
    /// `cmdstat_cluster|slots`).
    pub(crate) topology: u64,
}

impl ServerCounts {
    /// The counts in the text of `INFO errorstats` or `INFO commandstats` (or both), from lines
    /// such as `errorstat_MOVED:count=12` and `cmdstat_cluster|shards:calls=3,usec=…`. Lines
    /// it does not know are skipped; a count it cannot read is 0.
    fn parse(info: &str) -> ServerCounts {
        let mut counts = ServerCounts::default();
        for line in info.lines() {
            let Some((name, fields)) = line.trim().split_once(':') else {
                continue;
            };
            let (total, field) = match name {
                "errorstat_MOVED" => (&mut counts.moved, "count"),
                "errorstat_ASK" => (&mut counts.ask, "count"),
                "cmdstat_asking" => (&mut counts.asking, "calls"),
                "cmdstat_cluster|shards" | "cmdstat_cluster|slots" => {
                    (&mut counts.topology, "calls")
                }
                _ => continue,
            };
            *total += info_field(fields, field).unwrap_or(0);
        }
        counts
    }

    fn add(&mut self, other: ServerCounts) {
        self.moved += other.moved;
        self.ask += other.ask;
        self.asking += other.asking;
        self.topology += other.topology;
    }
}

/// The number `name=` holds in `a=1,b=2` (the name matched whole: `calls` is not
/// `rejected_calls`).
fn info_field(fields: &str, name: &str) -> Option<u64> {
    fields.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if key.trim() == name {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

/// Zeroes the counters (`CONFIG RESETSTAT`) of the nodes at `ports`.
pub(super) fn reset_stats(cluster: &LocalCluster, ports: &[u16]) -> Result<(), String> {
    let reset = Cmd::new("CONFIG").arg("RESETSTAT");
    for &port in ports {
        cluster
            .call(port, &reset)
            .map_err(|e| format!("cannot reset the counters of {port}: {e}"))?;
    }
    Ok(())
}

/// Sums the counters of every node still running.
pub(super) fn read_stats(cluster: &LocalCluster) -> Result<ServerCounts, String> {
    let nodes = cluster
        .nodes()
        .map_err(|e| format!("cannot list the nodes to read their counters: {e}"))?;
    let mut total = ServerCounts::default();
    for node in nodes.iter().filter(|n| n.state == NodeState::Running) {
        for section in ["errorstats", "commandstats"] {
            let reply = cluster
                .call(node.port, &Cmd::new("INFO").arg(section))
                .map_err(|e| format!("cannot read INFO {section} of {}: {e}", node.port))?;
            let text = reply.as_bytes().ok_or_else(|| {
                format!(
                    "INFO {section} of {} is a {}, not a string",
                    node.port,
                    reply.type_name()
                )
            })?;
            total.add(ServerCounts::parse(&String::from_utf8_lossy(text)));
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_counts_parse() {
        let errorstats = "# Errorstats\r\n\
                          errorstat_ASK:count=7\r\n\
                          errorstat_CLUSTERDOWN:count=3\r\n\
                          errorstat_MOVED:count=12\r\n";
        let commandstats = "# Commandstats\r\n\
             cmdstat_get:calls=100,usec=50,usec_per_call=0.50,rejected_calls=9,failed_calls=0\r\n\
             cmdstat_asking:calls=7,usec=1,usec_per_call=0.14,rejected_calls=0,failed_calls=0\r\n\
             cmdstat_cluster|shards:calls=3,usec=90,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n\
             cmdstat_cluster|slots:calls=2,usec=40,usec_per_call=20.00,rejected_calls=5,failed_calls=0\r\n\
             cmdstat_cluster|nodes:calls=40,usec=900,usec_per_call=22.50,rejected_calls=0,failed_calls=0\r\n";
        let want = ServerCounts {
            moved: 12,
            ask: 7,
            asking: 7,
            topology: 5,
        };
        let mut both = ServerCounts::parse(errorstats);
        both.add(ServerCounts::parse(commandstats));
        assert_eq!(both, want);
        assert_eq!(
            ServerCounts::parse(&format!("{errorstats}{commandstats}")),
            want
        );
        assert_eq!(ServerCounts::parse(""), ServerCounts::default());
        // `calls` is read whole, not out of `rejected_calls`.
        assert_eq!(info_field("rejected_calls=5,calls=2", "calls"), Some(2));
        assert_eq!(info_field("rejected_calls=5", "calls"), None);
    }
}
