//! The part of a refresh the topology benchmark times, without a running client or sockets:
//! the view compared with the last one installed (an equal one installs nothing, as in
//! `refresh_locked_from`), else a slot map and a snapshot built from it and the last one
//! against the node registry, and the registry's unused entries dropped, as a refresh and
//! [`Inner::install`](super::Inner::install) do.

use std::collections::HashMap;
use std::sync::Arc;

use super::node::Registry;
use super::snapshot::Snapshot;
use crate::connection::ConnectionConfig;
use crate::routing::CommandTable;
use crate::topology::{ClusterView, SlotMap};

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
    let table = Arc::clone(&nodes.table);
    let snapshot = match &nodes.last {
        Some(last) => Snapshot::updated(
            last,
            SlotMap::new(view),
            &nodes.registry,
            table,
            last.generation + 1,
        ),
        None => Snapshot::from_view(view, &nodes.registry, table, 0),
    };
    nodes.registry.drop_unused(&snapshot, None);
    let shards = snapshot.shards.len();
    nodes.last = Some(snapshot);
    shards
}
