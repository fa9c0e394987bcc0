//! One node's description of the cluster as plain data, its canonical form, and the choice
//! among the descriptions several nodes gave.
//!
//! Owns [`NodeDesc`], [`ShardDesc`], [`ClusterView`] and [`choose_view`]. It does not read
//! replies (`cluster_shards.rs`, `cluster_slots.rs`) and does not index slots (`map.rs`).

use std::collections::HashMap;

use crate::protocol::SLOT_COUNT;

/// The most shards a view may hold: the slot map indexes shards with `u16` and keeps
/// `u16::MAX` for "no shard".
pub(crate) const MAX_SHARDS: usize = u16::MAX as usize;

/// A node as the cluster describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodeDesc {
    /// The node id, empty when the reply has none.
    pub(crate) id: String,
    /// The host to connect to, already chosen from the reply's endpoint fields.
    pub(crate) host: String,
    /// The client port.
    pub(crate) port: u16,
    /// False for nodes the cluster reports as failed or loading.
    pub(crate) online: bool,
}

/// One shard: the slot ranges it serves, its primary and its replicas.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ShardDesc {
    /// Inclusive ranges, sorted.
    pub(crate) slots: Vec<(u16, u16)>,
    /// The node that serves the slots.
    pub(crate) primary: NodeDesc,
    /// Nodes that copy the primary, online or not.
    pub(crate) replicas: Vec<NodeDesc>,
}

impl ShardDesc {}

/// A shard's slot ranges and its primary's host and port (see [`ClusterView::ownership`]).
pub(crate) type Owner<'a> = (Vec<(u16, u16)>, &'a str, u16);

/// The whole cluster as one node sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct ClusterView {
    /// The shards; the parsers return them in canonical order (see [`ClusterView::normalized`]).
    pub(crate) shards: Vec<ShardDesc>,
}

impl ClusterView {
    /// The canonical form of this view, so that two nodes describing the same cluster in a
    /// different order compare equal: each shard's slot ranges sorted with overlapping and
    /// adjacent ranges merged, its replicas sorted, and the shards sorted by their first slot,
    /// shards without slots last (ordered by primary).
    pub(crate) fn normalized(mut self) -> ClusterView {
        for shard in &mut self.shards {
            shard.slots = merged(std::mem::take(&mut shard.slots));
            shard.replicas.sort();
        }
        self.shards.sort_by(|a, b| {
            let key = |s: &ShardDesc| (s.slots.is_empty(), s.slots.first().copied());
            key(a)
                .cmp(&key(b))
                .then_with(|| a.primary.cmp(&b.primary))
                .then_with(|| a.replicas.cmp(&b.replicas))
        });
        self
    }

    /// Who serves what: each shard's slot ranges with its primary's address, in canonical
    /// order, leaving out health and replicas. Two views with the same ownership route every
    /// command to a primary alike.
    pub(crate) fn ownership(&self) -> Vec<Owner<'_>> {
        let mut owners: Vec<Owner<'_>> = self
            .shards
            .iter()
            .filter(|s| !s.slots.is_empty())
            .map(|s| {
                (
                    merged(s.slots.clone()),
                    s.primary.host.as_str(),
                    s.primary.port,
                )
            })
            .collect();
        owners.sort();
        owners
    }

    /// True when the view lists the node at `host:port` and reports it failed.
    pub(crate) fn reports_failed(&self, host: &str, port: u16) -> bool {
        self.shards
            .iter()
            .flat_map(|s| std::iter::once(&s.primary).chain(&s.replicas))
            .any(|n| n.host == host && n.port == port && !n.online)
    }

    /// The address of the primary serving `slot`, if any.
    pub(crate) fn owner_of(&self, slot: u16) -> Option<(&str, u16)> {
        self.shards
            .iter()
            .find(|s| s.slots.iter().any(|&(a, b)| a <= slot && slot <= b))
            .map(|s| (s.primary.host.as_str(), s.primary.port))
    }

    /// The first slot two shards claim, with the two primaries, if any. A node's answer never
    /// gives one slot to two primaries, so the parsers refuse such an answer rather than guess
    /// which claim is the newer.
    pub(crate) fn overlap(&self) -> Option<(u16, &NodeDesc, &NodeDesc)> {
        let mut ranges: Vec<(u16, u16, usize)> = self
            .shards
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.slots.iter().map(move |&(a, b)| (a, b, i)))
            .collect();
        ranges.sort_unstable();
        // The furthest end so far, and whose: a range starting at or before it overlaps.
        let mut reach: Option<(u16, usize)> = None;
        for (start, end, shard) in ranges {
            if let Some((until, other)) = reach {
                if start <= until && other != shard {
                    return Some((
                        start,
                        &self.shards[other].primary,
                        &self.shards[shard].primary,
                    ));
                }
                if end <= until {
                    continue;
                }
            }
            reach = Some((end, shard));
        }
        None
    }

    /// How many distinct slots some shard serves.
    pub(crate) fn covered_count(&self) -> usize {
        let all = self.shards.iter().flat_map(|s| s.slots.iter().copied());
        merged(all.collect())
            .iter()
            .map(|&(start, end)| usize::from(end.saturating_sub(start)) + 1)
            .sum()
    }
}

/// Sorts inclusive ranges and merges those that overlap or touch.
pub(crate) fn merged(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            // u32 so that a range ending at u16::MAX in a hand-made view cannot overflow.
            Some(last) if u32::from(start) <= u32::from(last.1) + 1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Chooses the view of the cluster to act on from those several nodes reported, each with the
/// epoch its node reported (its `cluster_current_epoch`, or whatever the caller ranks views by).
///
/// Views are compared in canonical form ([`ClusterView::normalized`]), every field included,
/// health too. The winner is:
///
/// 1. the view reported by the most nodes;
/// 2. among those, the one whose highest reported epoch is highest, since a node that has seen a
///    later epoch has seen the later failover or migration;
/// 3. then the one that covers the most slots;
/// 4. then the one reported first, so the choice is deterministic for a given input.
///
/// Returns `None` only for an empty input. The view returned is in canonical form.
pub(crate) fn choose_view(views: Vec<(ClusterView, u64)>) -> Option<ClusterView> {
    struct Candidate {
        view: ClusterView,
        votes: usize,
        epoch: u64,
        covered: usize,
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut index: HashMap<ClusterView, usize> = HashMap::new();
    for (view, epoch) in views {
        let view = view.normalized();
        match index.get(&view) {
            Some(&i) => {
                if let Some(c) = candidates.get_mut(i) {
                    c.votes += 1;
                    c.epoch = c.epoch.max(epoch);
                }
            }
            None => {
                index.insert(view.clone(), candidates.len());
                let covered = view.covered_count();
                candidates.push(Candidate {
                    view,
                    votes: 1,
                    epoch,
                    covered,
                });
            }
        }
    }
    // `max_by_key` keeps the last of equal maxima; folding by hand keeps the first.
    let mut best: Option<Candidate> = None;
    for candidate in candidates {
        let better = best.as_ref().is_none_or(|b| {
            (candidate.votes, candidate.epoch, candidate.covered) > (b.votes, b.epoch, b.covered)
        });
        if better {
            best = Some(candidate);
        }
    }
    best.map(|c| c.view)
}

/// The view a newly elected primary gave, to act on instead of `chosen` while `chosen` still
/// gives that primary's slots to a failed node.
///
/// `answers` are the views nodes reported, each with the address of the node that reported it.
/// The other nodes learn of an election from the winner's broadcast, some of them a moment later
/// (up to a round of the cluster bus, ~100 ms); until then the majority still names the failed
/// primary, which cannot serve. The winner's word about itself can be acted on at once: a node
/// checks slot ownership on every command and redirects one sent to the wrong node, so acting on
/// it early can cost a redirection but never a wrong answer.
///
/// A view is taken when its author is an online primary in it, serving slots that `chosen`
/// gives to a failed primary, and it leaves fewer slots with failed primaries and no fewer
/// covered than `chosen` does. Returns `None` when no answer qualifies.
pub(crate) fn promoted_view<'a>(
    chosen: &ClusterView,
    answers: impl IntoIterator<Item = (&'a ClusterView, &'a str, u16)>,
) -> Option<ClusterView> {
    let stranded = |view: &ClusterView| -> Vec<(u16, u16)> {
        let ranges = view
            .shards
            .iter()
            .filter(|s| !s.primary.online)
            .flat_map(|s| s.slots.iter().copied());
        merged(ranges.collect())
    };
    let count = |ranges: &[(u16, u16)]| -> usize {
        ranges
            .iter()
            .map(|&(a, b)| usize::from(b.saturating_sub(a)) + 1)
            .sum()
    };
    let failed = stranded(chosen);
    if failed.is_empty() {
        return None;
    }
    let overlaps = |(a, b): (u16, u16)| failed.iter().any(|&(c, d)| a <= d && c <= b);
    for (view, host, port) in answers {
        let claims = view.shards.iter().any(|s| {
            s.primary.online
                && s.primary.host == host
                && s.primary.port == port
                && s.slots.iter().any(|&r| overlaps(r))
        });
        if claims
            && count(&stranded(view)) < count(&failed)
            && view.covered_count() >= chosen.covered_count()
        {
            return Some(view.clone().normalized());
        }
    }
    None
}

/// True when `next` gives a failed primary slots that `current` gives to an online primary
/// that `is_up` says is reachable: installing `next` would send those slots back to a node that
/// cannot serve them (nodes that have not yet heard of an election still describe the old
/// owner).
///
/// Linear in slots and shards: the failed primaries' claims are laid out by slot, then each
/// live range is read against them; `is_up` is asked only of an owner whose slots a failed
/// primary claims, and nothing is allocated when none claims any (the usual answer).
pub(crate) fn strands_live_slots(
    next: &ClusterView,
    current: &ClusterView,
    is_up: impl Fn(&NodeDesc) -> bool,
) -> bool {
    const NONE: u32 = u32::MAX;
    // Two different failed primaries claim the slot: any owner is another node than one of them.
    const SEVERAL: u32 = u32::MAX - 1;
    let same = |x: &NodeDesc, y: &NodeDesc| x.host == y.host && x.port == y.port;
    // By slot, the index in `next` of the failed primary that claims it.
    let mut claims: Option<Vec<u32>> = None;
    for (index, shard) in next.shards.iter().enumerate() {
        let Ok(index) = u32::try_from(index) else {
            break;
        };
        if shard.primary.online || index >= SEVERAL {
            continue;
        }
        for &(a, b) in &shard.slots {
            let claims = claims.get_or_insert_with(|| vec![NONE; usize::from(SLOT_COUNT)]);
            for claim in claims.get_mut(slots(a, b)).into_iter().flatten() {
                *claim = match *claim {
                    NONE => index,
                    SEVERAL => SEVERAL,
                    other => {
                        let first = next.shards.get(other as usize).map(|s| &s.primary);
                        if first.is_some_and(|f| same(f, &shard.primary)) {
                            other
                        } else {
                            SEVERAL
                        }
                    }
                };
            }
        }
    }
    let Some(claims) = claims else {
        return false;
    };
    // Only slots another node serves now: the cluster calling their own owner failed is news,
    // not a step back.
    let claimed_from = |owner: &NodeDesc, claim: u32| match claim {
        NONE => false,
        SEVERAL => true,
        failed => next
            .shards
            .get(failed as usize)
            .is_some_and(|f| !same(&f.primary, owner)),
    };
    current.shards.iter().filter(|s| s.primary.online).any(|s| {
        let taken = s.slots.iter().any(|&(c, d)| {
            claims
                .get(slots(c, d))
                .is_some_and(|range| range.iter().any(|&k| claimed_from(&s.primary, k)))
        });
        taken && is_up(&s.primary)
    })
}

/// The slots of the inclusive range `a..=b`, as indices; empty past the last slot.
fn slots(a: u16, b: u16) -> std::ops::Range<usize> {
    let end = usize::from(b.min(SLOT_COUNT - 1)) + 1;
    usize::from(a).min(end)..end
}

#[cfg(test)]
mod tests;
