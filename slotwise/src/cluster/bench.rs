//! The part of a refresh the topology benchmark times, without a running client or sockets:
//! the view compared with the last one installed (an equal one installs nothing, as in
//! `refresh_locked_from`), else a slot map and a snapshot built from it against the node
//! registry and the registry's unused entries dropped, as [`Inner::install`](super::Inner::install)
//! does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::node::{Registry, Role};
use super::snapshot::Snapshot;
use crate::connection::ConnectionConfig;
use crate::routing::CommandTable;
use crate::topology::ClusterView;

/// A registry, the command table and the last snapshot built.
#[derive(Debug)]
pub(crate) struct NodeSet {
    registry: Registry,
    table: Arc<CommandTable>,
    last: Option<Snapshot>,
    last_view: Option<ClusterView>,
}

impl NodeSet {
    pub(crate) fn new(base: ConnectionConfig, zones: HashMap<String, Arc<str>>) -> NodeSet {
        NodeSet {
            registry: Registry::new(base, zones, None),
            table: Arc::new(CommandTable::builtin()),
            last: None,
            last_view: None,
        }
    }
}

/// Builds the snapshot of `view` and keeps it, unless `view` is the last one; returns the
/// installed snapshot's shard count.
pub(crate) fn install_snapshot(nodes: &mut NodeSet, view: ClusterView) -> usize {
    if let (Some(last), Some(snapshot)) = (&nodes.last_view, &nodes.last) {
        if *last == view {
            return snapshot.shards.len();
        }
    }
    nodes.last_view = Some(view.clone());
    let generation = nodes.last.as_ref().map_or(0, |s| s.generation + 1);
    let snapshot = Snapshot::from_view(view, &nodes.registry, Arc::clone(&nodes.table), generation);
    {
        let used: HashSet<(&str, Role)> = snapshot
            .all()
            .map(|e| (e.node.name(), e.node.role()))
            .collect();
        nodes
            .registry
            .retain(|e| used.contains(&(e.node.name(), e.node.role())));
    }
    let shards = snapshot.shards.len();
    nodes.last = Some(snapshot);
    shards
}
