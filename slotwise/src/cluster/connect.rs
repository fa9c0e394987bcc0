//! Connecting a client: discovery through the startup nodes, the first snapshot and default
//! node, the background tasks (periodic refresh, latency probes, a late command table), and
//! the optional pre-connection, all before [`RedisCluster::connect`] returns.

use std::sync::Arc;

use super::discovery::{check_coverage, discover, load_commands, no_reachable_node};
use super::node::{NodeEntry, Registry, Role as NodeRole};
use super::snapshot::Snapshot;
use super::topology::{spawn_periodic_refresh, Topology};
use super::{
    cache, events, lanes, preconnect, read_from, stats, ClusterBuilder, ClusterNode, Inner, Reads,
    RedisCluster,
};
use crate::error::{Error, ErrorKind, Result};

impl RedisCluster {
    /// What [`ClusterBuilder::build`] runs.
    pub(crate) async fn connect(mut settings: ClusterBuilder) -> Result<RedisCluster> {
        let events = events::EventBus::new();
        settings.connection.watcher = crate::connection::Watcher(Some(events.reachability()));
        let cache = settings.cache.as_ref().map(cache::Cache::new);
        let registry = Registry::new(
            settings.connection.clone(),
            settings.node_zones.clone(),
            cache.clone(),
        );
        let candidates: Vec<Arc<NodeEntry>> = settings
            .startup
            .iter()
            .map(|n| registry.entry(n.host(), n.port(), NodeRole::Primary))
            .collect();
        let started = std::time::Instant::now();
        let limit = settings.startup_timeout;
        let discovery = match tokio::time::timeout(limit, discover(&settings, &registry, candidates))
            .await
        {
            Ok(found) => found
                .map_err(|failures| no_reachable_node("no startup node answered", &failures))?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no startup node described the cluster within the startup timeout ({limit:?}); tried: {}",
                        settings
                            .startup
                            .iter()
                            .map(ClusterNode::name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        };
        let left = limit.saturating_sub(started.elapsed());
        let (table, late) = match tokio::time::timeout(left, load_commands(&discovery.first)).await
        {
            Ok(table) => (Arc::new(table), false),
            Err(_) => {
                tracing::warn!(
                        node = discovery.first.node.name(),
                        "the server's command table did not come within the startup timeout; starting on the built-in one and reading it in the background"
                    );
                (Arc::new(crate::routing::CommandTable::builtin()), true)
            }
        };
        let first = Arc::clone(&discovery.first);
        let view = discovery.view.clone();
        let snapshot = Snapshot::from_view(discovery.view, &registry, table, 1);
        if settings.require_full_coverage {
            check_coverage(&snapshot.map)?;
        }
        let Some(default) = snapshot.primaries().next().cloned() else {
            return Err(Error::new(
                ErrorKind::SlotNotCovered,
                "the cluster reported no primary",
            ));
        };
        let probes = read_from::probe::Probes::of(&settings.read_from);
        let interval = settings.refresh_interval;
        let inner = Arc::new(Inner {
            settings,
            registry,
            topology: Topology::new(snapshot, view, default),
            counters: stats::Counters::default(),
            events,
            cache,
        });
        inner.choose_default_node(true);
        inner.drop_unused_entries();
        if let Some(interval) = interval {
            spawn_periodic_refresh(&inner, interval);
        }
        if inner.settings.preconnect {
            let left = limit.saturating_sub(started.elapsed());
            preconnect::preconnect(&inner, left).await;
        }
        if let Some(probes) = probes {
            // Zones and round trips known before the first read; a node that does not answer
            // in time is only passed over until the next round.
            let left = limit.saturating_sub(started.elapsed());
            let _ = tokio::time::timeout(left, read_from::probe::round(&inner, probes)).await;
            read_from::probe::spawn(&inner, probes);
        }
        if late {
            let weak = Arc::downgrade(&inner);
            tokio::spawn(async move {
                let table = load_commands(&first).await;
                if let Some(inner) = weak.upgrade() {
                    inner.set_table(Arc::new(table));
                }
            });
        }
        Ok(RedisCluster {
            lanes: inner
                .cache
                .is_some()
                .then(|| Arc::new(lanes::Lanes::new(&inner))),
            inner,
            reads: Reads::Configured,
            cached: true,
        })
    }
}
