//! What one node says about the cluster: its `CLUSTER NODES` reply, parsed, and the public
//! [`NodeInfo`] built from it.
//!
//! Parsing is pure (text in, entries out). This module does not decide whose view to trust or
//! whether views agree: that is [`wait`](crate::wait)'s job.

use std::ops::RangeInclusive;

use crate::error::{Error, ErrorKind};
use crate::server::NodeState;

/// Whether a node serves slots or copies another node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A primary (`master` in `CLUSTER NODES`).
    Primary,
    /// A replica (`slave` in `CLUSTER NODES`).
    Replica,
}

/// One node of a [`LocalCluster`](crate::LocalCluster) as the cluster sees it now.
///
/// Roles and slots change with failovers and migrations, so this is a snapshot: ask
/// [`LocalCluster::nodes`](crate::LocalCluster::nodes) again after a fault.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeInfo {
    /// The host clients connect to (always `127.0.0.1`).
    pub host: String,
    /// The plain-text client port, which also names the node in the kit's methods.
    pub port: u16,
    /// The TLS client port, for a cluster built with [`tls`](crate::ClusterBuilder::tls).
    pub tls_port: Option<u16>,
    /// The cluster node id (40 hex characters).
    pub id: String,
    /// Primary or replica.
    pub role: Role,
    /// For a replica, the id of its primary.
    pub primary_id: Option<String>,
    /// The slot ranges this node serves (empty for replicas).
    pub slots: Vec<RangeInclusive<u16>>,
    /// Slots this node is migrating away, with the id of the node they go to.
    pub migrating: Vec<(u16, String)>,
    /// Slots this node is importing, with the id of the node they come from.
    pub importing: Vec<(u16, String)>,
    /// Whether the process is running, paused or stopped.
    pub state: NodeState,
}

impl NodeInfo {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// True for a primary.
    pub fn is_primary(&self) -> bool {
        self.role == Role::Primary
    }

    /// True if this node serves `slot`.
    pub fn owns_slot(&self, slot: u16) -> bool {
        self.slots.iter().any(|range| range.contains(&slot))
    }

    /// How many slots this node serves.
    pub fn slot_count(&self) -> usize {
        self.slots.iter().map(|r| r.len()).sum()
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// This line describes the node that was asked.
    pub(crate) myself: bool,
    pub(crate) role: Role,
    pub(crate) primary_id: Option<String>,
    /// Flagged `fail` or `fail?` by the node that was asked.
    pub(crate) failing: bool,
    /// Still being introduced (`handshake`) or without a known address (`noaddr`).
    pub(crate) joining: bool,
    /// The cluster bus link to this node is up (always true for `myself`).
    pub(crate) connected: bool,
    pub(crate) slots: Vec<RangeInclusive<u16>>,
    pub(crate) migrating: Vec<(u16, String)>,
    pub(crate) importing: Vec<(u16, String)>,
}

impl Entry {
    pub(crate) fn into_info(self, state: NodeState) -> NodeInfo {
        NodeInfo {
            host: self.host,
            port: self.port,
            tls_port: None,
            id: self.id,
            role: self.role,
            primary_id: self.primary_id,
            slots: self.slots,
            migrating: self.migrating,
            importing: self.importing,
            state,
        }
    }
}

/// Parses a `CLUSTER NODES` reply.
pub(crate) fn parse(text: &str) -> Result<Vec<Entry>, Error> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            parse_line(line).ok_or_else(|| {
                Error::new(
                    ErrorKind::Protocol,
                    format!("cannot parse this CLUSTER NODES line: {line:?}"),
                )
            })
        })
        .collect()
}

/// `<id> <ip:port@cport[,hostname]> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...`
fn parse_line(line: &str) -> Option<Entry> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [id, address, flags, primary, _ping, _pong, _epoch, link, slots @ ..] = fields.as_slice()
    else {
        return None;
    };
    let endpoint = address.split(['@', ',']).next()?;
    let (host, port) = endpoint.rsplit_once(':')?;
    let flags: Vec<&str> = flags.split(',').collect();
    let has = |flag: &str| flags.contains(&flag);
    let mut entry = Entry {
        id: (*id).to_owned(),
        host: host.to_owned(),
        port: port.parse().ok()?,
        myself: has("myself"),
        role: if has("slave") {
            Role::Replica
        } else {
            Role::Primary
        },
        primary_id: Some((*primary).to_owned()).filter(|p| p != "-"),
        failing: has("fail") || has("fail?"),
        joining: has("handshake") || has("noaddr"),
        connected: *link == "connected",
        slots: Vec::new(),
        migrating: Vec::new(),
        importing: Vec::new(),
    };
    for slot in slots {
        parse_slot(slot, &mut entry)?;
    }
    Some(entry)
}

/// `5461`, `0-5460`, `[93->-<id>]` (migrating) or `[93-<-<id>]` (importing).
fn parse_slot(text: &str, entry: &mut Entry) -> Option<()> {
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if let Some((slot, to)) = inner.split_once("->-") {
            entry.migrating.push((slot.parse().ok()?, to.to_owned()));
        } else {
            let (slot, from) = inner.split_once("-<-")?;
            entry.importing.push((slot.parse().ok()?, from.to_owned()));
        }
        return Some(());
    }
    let range = match text.split_once('-') {
        Some((start, end)) => start.parse().ok()?..=end.parse().ok()?,
        None => {
            let slot = text.parse().ok()?;
            slot..=slot
        }
    };
    entry.slots.push(range);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-a slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 [5470-<-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 10923 [5000->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave,fail 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 disconnected
a2e2fcf8f5ff6d0c1c1bf5d0a4ee8c6bd0a0b1c2 :0@0 handshake,noaddr - 0 0 0 disconnected
";

    #[test]
    fn parses_roles_slots_and_migrations() {
        let entries = parse(NODES).unwrap();
        assert_eq!(entries.len(), 5);
        let replica = &entries[0];
        assert_eq!(replica.role, Role::Replica);
        assert_eq!(replica.port, 30004);
        assert_eq!(replica.host, "127.0.0.1");
        assert_eq!(
            replica.primary_id.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        let me = &entries[2];
        assert!(me.myself);
        assert_eq!(me.slots, vec![0..=5460, 10923..=10923]);
        assert_eq!(me.migrating[0].0, 5000);
        assert_eq!(entries[1].importing[0].0, 5470);
        assert!(entries[3].failing && !entries[3].connected);
        assert!(entries[4].joining);
        let info = me.clone().into_info(NodeState::Running);
        assert!(info.owns_slot(10923) && !info.owns_slot(10922));
        assert_eq!(info.slot_count(), 5462);
    }

    #[test]
    fn rejects_truncated_lines() {
        assert!(parse("abc 127.0.0.1:1@2 master -").is_err());
    }
}
