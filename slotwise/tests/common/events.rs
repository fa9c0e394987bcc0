//! Reading the client's cluster events in fault tests: collect them until what a scenario
//! should show is there (or a deadline passes), and find each kind with its nodes.

use std::time::{Duration, Instant};

use slotwise::events::{ChangeCause, ClusterEvent, ClusterEvents};

/// Receives events into `seen` until `done(seen)` holds or `limit` passes; returns whether it
/// held.
pub(crate) async fn collect_until(
    events: &mut ClusterEvents,
    seen: &mut Vec<ClusterEvent>,
    limit: Duration,
    done: impl Fn(&[ClusterEvent]) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(event)) => seen.push(event),
            Ok(None) | Err(_) => return done(seen),
        }
    }
    true
}

/// The position of the failover from the node on port `from` to the one on `to`.
pub(crate) fn failover(seen: &[ClusterEvent], from: u16, to: u16) -> Option<usize> {
    seen.iter().position(|e| {
        matches!(e, ClusterEvent::Failover { from: f, to: t } if f.port() == from && t.port() == to)
    })
}

/// The position of the first topology that gives `slot` to the node on port `to`, and what
/// brought it.
pub(crate) fn slot_moved(
    seen: &[ClusterEvent],
    slot: u16,
    to: u16,
) -> Option<(usize, ChangeCause)> {
    seen.iter().enumerate().find_map(|(i, e)| match e {
        ClusterEvent::TopologyChanged(change) => change
            .slots_moved
            .iter()
            .any(|m| {
                (m.first..=m.last).contains(&slot) && m.to.as_ref().is_some_and(|n| n.port() == to)
            })
            .then_some((i, change.cause)),
        _ => None,
    })
}

/// The position of the node on port `port` reported unreachable.
pub(crate) fn unreachable(seen: &[ClusterEvent], port: u16) -> Option<usize> {
    seen.iter().position(|e| {
        matches!(e, ClusterEvent::NodeUnreachable { node, .. } if node.ends_with(&format!(":{port}")))
    })
}

/// Every event, one per line, for a failure message.
pub(crate) fn shown(seen: &[ClusterEvent]) -> String {
    seen.iter()
        .map(|e| format!("{e:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}
