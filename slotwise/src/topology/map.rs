//! The slot map: each of the 16,384 slots to the index of the shard that serves it.
//!
//! Owns the O(1) slot lookup, coverage, and the one-slot patch a `MOVED` reply calls for. It
//! does not parse replies or choose among views (`view.rs`), and it does not hold connections or
//! decide when to refresh: the cluster module wraps a map in an `Arc` and swaps it whole.

#[cfg(test)]
use std::collections::HashSet;
use std::fmt;

use super::view::{ClusterView, NodeDesc, ShardDesc, MAX_SHARDS};
use crate::protocol::SLOT_COUNT;

/// The shard index of a slot no shard serves.
const UNCOVERED: u16 = u16::MAX;

/// Slot → shard, built from a [`ClusterView`].
///
/// Each shard's `slots` always lists exactly the slots the map gives it, as sorted, merged
/// ranges, so the shards can be shown or compared without consulting the index.
#[derive(Clone)]
pub(crate) struct SlotMap {
    shards: Vec<ShardDesc>,
    /// One entry per slot: an index into `shards`, or [`UNCOVERED`]. 32 KiB, so a lookup on the
    /// hot path is one load with no search.
    owners: Box<[u16]>,
    covered: usize,
}

impl SlotMap {
    /// Builds the map; slots no shard claims are uncovered.
    ///
    /// When two shards claim the same slot, the one later in `view.shards` wins, and the slot is
    /// removed from the earlier shard's ranges. A view from the parsers is in canonical order,
    /// so the outcome does not depend on the order nodes listed shards in. Slots over 16383 are
    /// ignored. Shards beyond the 65,535th are dropped: indices are `u16` (no real cluster
    /// comes near; the parsers reject such replies).
    pub(crate) fn new(view: ClusterView) -> SlotMap {
        let mut shards = view.shards;
        shards.truncate(MAX_SHARDS);
        let mut owners = vec![UNCOVERED; usize::from(SLOT_COUNT)].into_boxed_slice();
        for (index, shard) in shards.iter().enumerate() {
            let Ok(index) = u16::try_from(index) else {
                break;
            };
            for &(start, end) in &shard.slots {
                // A hand-made range may run past the last slot: keep the part that exists.
                let end = end.min(SLOT_COUNT - 1);
                if start > end {
                    continue;
                }
                if let Some(owned) = owners.get_mut(usize::from(start)..=usize::from(end)) {
                    owned.fill(index);
                }
            }
        }
        let mut map = SlotMap {
            shards,
            owners,
            covered: 0,
        };
        map.covered = map.owners.iter().filter(|&&o| o != UNCOVERED).count();
        for shard in &mut map.shards {
            shard.slots.clear();
        }
        for (start, end, owner) in runs(&map.owners) {
            if let Some(shard) = map.shards.get_mut(usize::from(owner)) {
                shard.slots.push((start, end));
            }
        }
        map
    }

    /// The shards, in the order their indices refer to.
    pub(crate) fn shards(&self) -> &[ShardDesc] {
        &self.shards
    }

    /// The index of the shard serving `slot`, if any.
    pub(crate) fn shard_of(&self, slot: u16) -> Option<usize> {
        match self.owners.get(usize::from(slot)) {
            Some(&owner) if owner != UNCOVERED => Some(usize::from(owner)),
            _ => None,
        }
    }

    #[cfg(test)]
    /// The shard serving `slot`, if any.
    pub(crate) fn shard_for(&self, slot: u16) -> Option<&ShardDesc> {
        self.shard_of(slot).and_then(|i| self.shards.get(i))
    }

    /// Inclusive ranges of slots that no shard serves, in order.
    pub(crate) fn uncovered(&self) -> Vec<(u16, u16)> {
        runs(&self.owners)
            .filter(|&(_, _, owner)| owner == UNCOVERED)
            .map(|(start, end, _)| (start, end))
            .collect()
    }

    #[cfg(test)]
    /// How many slots some shard serves; 16,384 when the cluster is fully covered.
    pub(crate) fn covered_count(&self) -> usize {
        self.covered
    }

    /// The index of the shard whose primary is `host:port`. Hosts compare without regard to
    /// ASCII case, as host names do. When a slot-less shard and a serving one share a primary,
    /// the first in index order is returned (the serving one, for a parsed view).
    pub(crate) fn shard_by_primary(&self, host: &str, port: u16) -> Option<usize> {
        self.shards
            .iter()
            .position(|s| s.primary.port == port && s.primary.host.eq_ignore_ascii_case(host))
    }

    /// The shards whose primary raises the cluster's events now: those serving slots, less a
    /// shard whose replica serves slots of its own. That is a failover a `MOVED` showed before
    /// a refresh did: the replica is the new primary, and the old one (a replica now, or dead)
    /// keeps the slots not yet redirected only in this map. Shard indices, in order.
    pub(crate) fn serving_shards(&self) -> Vec<usize> {
        let serving = |s: &ShardDesc| !s.slots.is_empty();
        let is_primary_elsewhere = |node: &NodeDesc| {
            self.shards.iter().any(|s| {
                serving(s)
                    && s.primary.port == node.port
                    && s.primary.host.eq_ignore_ascii_case(&node.host)
            })
        };
        self.shards
            .iter()
            .enumerate()
            .filter(|(_, s)| serving(s) && !s.replicas.iter().any(is_primary_elsewhere))
            .map(|(i, _)| i)
            .collect()
    }

    #[cfg(test)]
    /// Every distinct node (by host and port), primaries and replicas, in shard order with each
    /// shard's primary before its replicas.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &NodeDesc> {
        let mut seen: HashSet<(&str, u16)> = HashSet::new();
        self.shards
            .iter()
            .flat_map(|s| std::iter::once(&s.primary).chain(&s.replicas))
            .filter(move |n| seen.insert((n.host.as_str(), n.port)))
    }

    /// A copy in which `slot` is served by the shard whose primary is `host:port`, as a `MOVED`
    /// reply says; nothing else changes. `host` must already be resolved: a `MOVED` with an empty
    /// host (`:port`) means the host the command was sent to.
    ///
    /// If no shard has that primary, a shard is added for it: that primary (online, id unknown
    /// until the next full refresh) and no replicas. The shard that served the slot keeps its
    /// other slots, and keeps its replicas even if one of them is `host:port`: a promoted
    /// replica still holds the data of its old shard, and the refresh a `MOVED` schedules redraws
    /// the picture. A slot over 16383 (or a map already at the shard limit) gives an unchanged
    /// copy.
    pub(crate) fn with_slot_moved(&self, slot: u16, host: &str, port: u16) -> SlotMap {
        let mut next = self.clone();
        if slot >= SLOT_COUNT {
            return next;
        }
        let target = match next.shard_by_primary(host, port) {
            Some(index) => index,
            None if next.shards.len() < MAX_SHARDS => {
                next.shards.push(ShardDesc {
                    slots: Vec::new(),
                    primary: NodeDesc {
                        id: String::new(),
                        host: host.to_owned(),
                        port,
                        online: true,
                    },
                    replicas: Vec::new(),
                });
                next.shards.len() - 1
            }
            None => return next,
        };
        let (Ok(target), Some(owner)) = (
            u16::try_from(target),
            next.owners.get_mut(usize::from(slot)),
        ) else {
            return next;
        };
        let previous = std::mem::replace(owner, target);
        if previous == target {
            return next;
        }
        if previous == UNCOVERED {
            next.covered += 1;
        } else {
            next.refresh_ranges(previous);
        }
        next.refresh_ranges(target);
        next
    }

    /// Recomputes the ranges of shard `index` from the index array.
    fn refresh_ranges(&mut self, index: u16) {
        let ranges = runs(&self.owners)
            .filter(|&(_, _, owner)| owner == index)
            .map(|(start, end, _)| (start, end))
            .collect();
        if let Some(shard) = self.shards.get_mut(usize::from(index)) {
            shard.slots = ranges;
        }
    }
}

/// The maximal runs of equal entries of `owners`: `(first slot, last slot, owner)`.
fn runs(owners: &[u16]) -> impl Iterator<Item = (u16, u16, u16)> + '_ {
    let mut start = 0usize;
    std::iter::from_fn(move || {
        let owner = *owners.get(start)?;
        let len = owners
            .get(start..)?
            .iter()
            .take_while(|&&o| o == owner)
            .count();
        let first = start;
        start += len;
        // Slots are below 16,384, so both bounds fit in a u16.
        let first = u16::try_from(first).ok()?;
        let last = u16::try_from(start - 1).ok()?;
        Some((first, last, owner))
    })
}

impl fmt::Debug for SlotMap {
    /// The shards and the coverage; the 16,384-entry index is left out as noise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotMap")
            .field("shards", &self.shards)
            .field("covered", &self.covered)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::test_replies::*;
    use proptest::prelude::*;

    /// Checks that the index, the shards' ranges and the coverage agree.
    fn assert_consistent(map: &SlotMap) {
        let mut covered = 0;
        for slot in 0..SLOT_COUNT {
            let listed: Vec<usize> = map
                .shards()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.slots.iter().any(|&(a, b)| a <= slot && slot <= b))
                .map(|(i, _)| i)
                .collect();
            match map.shard_of(slot) {
                Some(i) => {
                    covered += 1;
                    assert_eq!(listed, [i], "slot {slot} is listed by exactly its owner");
                }
                None => assert!(listed.is_empty(), "uncovered slot {slot} is listed by none"),
            }
        }
        assert_eq!(map.covered_count(), covered);
        let uncovered: usize = map
            .uncovered()
            .iter()
            .map(|&(a, b)| usize::from(b - a) + 1)
            .sum();
        assert_eq!(covered + uncovered, usize::from(SLOT_COUNT));
        for shard in map.shards() {
            assert_eq!(
                shard.slots,
                crate::topology::view::merged(shard.slots.clone())
            );
        }
    }

    fn fixture_map() -> SlotMap {
        SlotMap::new(fixture_view(|_| HOST.to_owned()))
    }

    #[test]
    fn a_full_view_covers_every_slot() {
        let map = fixture_map();
        assert_eq!(map.covered_count(), 16384);
        assert!(map.uncovered().is_empty());
        assert_eq!(map.shard_of(0), Some(0));
        assert_eq!(map.shard_of(5460), Some(0));
        assert_eq!(map.shard_of(5461), Some(1));
        assert_eq!(map.shard_of(16383), Some(2));
        assert_eq!(map.shard_of(16384), None);
        assert_eq!(map.shard_for(12739).map(|s| s.primary.port), Some(NODE2.1));
        assert_consistent(&map);
    }

    #[test]
    fn gaps_are_reported_as_uncovered_ranges() {
        let map = SlotMap::new(ClusterView {
            shards: vec![
                shard(&[(0, 99)], node("a", 7000), &[]),
                shard(&[(200, 300), (302, 302)], node("b", 7001), &[]),
            ],
        });
        assert_eq!(map.uncovered(), [(100, 199), (301, 301), (303, 16383)]);
        assert_eq!(map.covered_count(), 100 + 101 + 1);
        assert_eq!(map.shard_of(150), None);
        assert_consistent(&map);
        let empty = SlotMap::new(ClusterView::default());
        assert_eq!(empty.uncovered(), [(0, 16383)]);
        assert_eq!(empty.covered_count(), 0);
    }

    #[test]
    fn a_slot_claimed_twice_goes_to_the_later_shard() {
        let map = SlotMap::new(ClusterView {
            shards: vec![
                shard(&[(0, 200)], node("a", 7000), &[]),
                shard(&[(100, 16383)], node("b", 7001), &[]),
            ],
        });
        assert_eq!(map.shard_of(150), Some(1));
        assert_eq!(
            map.shards()[0].slots,
            [(0, 99)],
            "the loser no longer lists it"
        );
        assert_consistent(&map);
    }

    #[test]
    fn hand_made_ranges_out_of_bounds_are_clipped_or_ignored() {
        let map = SlotMap::new(ClusterView {
            shards: vec![shard(
                &[(16000, u16::MAX), (20000, 30000), (9, 3)],
                node("a", 7000),
                &[],
            )],
        });
        assert_eq!(map.shards()[0].slots, [(16000, 16383)]);
        assert_consistent(&map);
    }

    #[test]
    fn moving_a_slot_to_an_existing_primary() {
        let before = fixture_map();
        let after = before.with_slot_moved(100, HOST, NODE1.1);
        assert_eq!(after.shard_of(100), Some(1));
        assert_eq!(after.shards()[0].slots, [(0, 99), (101, 5460)]);
        assert_eq!(after.shards()[1].slots, [(100, 100), (5461, 10921)]);
        assert_eq!(after.shards().len(), 3);
        assert_eq!(after.covered_count(), 16384);
        assert_eq!(before.shard_of(100), Some(0), "the original is untouched");
        assert_consistent(&after);

        let back = after.with_slot_moved(100, HOST, NODE0.1);
        assert_eq!(
            back.shards(),
            before.shards(),
            "moving it back restores the ranges"
        );
    }

    #[test]
    fn serving_shards_leave_out_a_primary_whose_replica_took_over() {
        let map = fixture_map();
        assert_eq!(map.serving_shards(), [0, 1, 2]);
        // NODE3, NODE0's replica, is named by a MOVED: a failover seen before a refresh.
        let promoted = map.with_slot_moved(100, HOST, NODE3.1);
        assert_eq!(promoted.shards().len(), 4);
        assert_eq!(promoted.serving_shards(), [1, 2, 3]);
        // A slot moved to another primary leaves both serving.
        assert_eq!(
            map.with_slot_moved(100, HOST, NODE1.1).serving_shards(),
            [0, 1, 2]
        );
        // A new node given a slot serves; one given none does not.
        let grown = map.with_slot_moved(7, "10.1.1.1", 7100);
        assert_eq!(grown.serving_shards(), [0, 1, 2, 3]);
        let mut view = fixture_view(|_| HOST.to_owned());
        view.shards[2].slots.clear();
        assert_eq!(SlotMap::new(view).serving_shards(), [0, 1]);
    }

    #[test]
    fn moving_a_slot_to_an_unknown_node_adds_a_shard() {
        let after = fixture_map().with_slot_moved(5460, "10.1.1.1", 7100);
        assert_eq!(after.shards().len(), 4);
        assert_eq!(after.shard_of(5460), Some(3));
        assert_eq!(after.shard_by_primary("10.1.1.1", 7100), Some(3));
        let added = &after.shards()[3];
        assert_eq!(added.slots, [(5460, 5460)]);
        assert_eq!(added.primary.id, "");
        assert!(added.primary.online);
        assert!(added.replicas.is_empty());
        assert_eq!(after.shards()[0].slots, [(0, 5459)]);
        assert!(after
            .nodes()
            .any(|n| n.host == "10.1.1.1" && n.port == 7100));
        assert_consistent(&after);

        // A second slot to the same node joins the shard just added.
        let again = after.with_slot_moved(5459, "10.1.1.1", 7100);
        assert_eq!(again.shards().len(), 4);
        assert_eq!(again.shards()[3].slots, [(5459, 5460)]);
        assert_consistent(&again);
    }

    #[test]
    fn moving_an_uncovered_slot_covers_it() {
        let map = SlotMap::new(ClusterView {
            shards: vec![shard(&[(0, 99)], node("a", 7000), &[])],
        });
        let after = map.with_slot_moved(100, HOST, 7000);
        assert_eq!(after.covered_count(), 101);
        assert_eq!(after.shards()[0].slots, [(0, 100)]);
        assert_consistent(&after);
    }

    #[test]
    fn moving_to_the_current_owner_or_past_the_last_slot_changes_nothing() {
        let map = fixture_map();
        let same = map.with_slot_moved(0, HOST, NODE0.1);
        assert_eq!(same.shards(), map.shards());
        let out_of_range = map.with_slot_moved(16384, "10.1.1.1", 1);
        assert_eq!(out_of_range.shards(), map.shards());
    }

    #[test]
    fn shard_by_primary_ignores_host_case() {
        let map = SlotMap::new(ClusterView {
            shards: vec![shard(
                &[(0, 16383)],
                NodeDesc {
                    host: "Node-A.Example".into(),
                    ..node("a", 7000)
                },
                &[],
            )],
        });
        assert_eq!(map.shard_by_primary("node-a.example", 7000), Some(0));
        assert_eq!(map.shard_by_primary("node-a.example", 7001), None);
    }

    #[test]
    fn nodes_lists_each_node_once() {
        let shared = node("r", 7009);
        let map = SlotMap::new(ClusterView {
            shards: vec![
                shard(
                    &[(0, 8000)],
                    node("a", 7000),
                    &[shared.clone(), node("a1", 7002)],
                ),
                shard(&[(8001, 16383)], node("b", 7001), &[shared]),
            ],
        });
        let ports: Vec<u16> = map.nodes().map(|n| n.port).collect();
        assert_eq!(ports, [7000, 7009, 7002, 7001]);
        assert_eq!(fixture_map().nodes().count(), 6);
    }

    #[test]
    fn debug_leaves_out_the_index() {
        let shown = format!("{:?}", fixture_map());
        assert!(shown.contains("covered: 16384"), "{shown}");
        assert!(
            shown.len() < 2000,
            "no 16,384-entry dump: {} chars",
            shown.len()
        );
    }

    fn arbitrary_view() -> impl Strategy<Value = ClusterView> {
        let range =
            (0u16..16384, 0u16..400).prop_map(|(start, len)| (start, start.saturating_add(len)));
        let one_shard = (proptest::collection::vec(range, 0..4), 7000u16..7006)
            .prop_map(|(slots, port)| shard(&slots, node(&format!("n{port}"), port), &[]));
        proptest::collection::vec(one_shard, 0..6).prop_map(|shards| ClusterView { shards })
    }

    proptest! {
        #[test]
        fn maps_stay_consistent_through_moves(
            view in arbitrary_view(),
            moves in proptest::collection::vec((0u16..16384, 7000u16..7008), 0..6),
        ) {
            let mut map = SlotMap::new(view);
            assert_consistent(&map);
            for (slot, port) in moves {
                map = map.with_slot_moved(slot, HOST, port);
                let owner = map.shard_of(slot).map(|i| map.shards()[i].primary.port);
                prop_assert_eq!(owner, Some(port));
                assert_consistent(&map);
            }
        }
    }
}
