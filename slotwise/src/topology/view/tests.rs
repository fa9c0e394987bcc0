use super::*;
use crate::topology::test_replies::{node, shard, HOST};

fn view(shards: Vec<ShardDesc>) -> ClusterView {
    ClusterView { shards }
}

/// Two primaries splitting the slots at `split`.
fn halves(split: u16) -> ClusterView {
    view(vec![
        shard(&[(0, split - 1)], node("a", 7000), &[node("a1", 7003)]),
        shard(&[(split, 16383)], node("b", 7001), &[node("b1", 7004)]),
    ])
}

#[test]
fn merged_joins_overlapping_and_adjacent_ranges() {
    assert_eq!(
        merged(vec![(10, 20), (0, 4), (5, 9), (15, 30), (40, 40)]),
        vec![(0, 30), (40, 40)]
    );
    assert_eq!(merged(vec![(0, u16::MAX), (3, 4)]), vec![(0, u16::MAX)]);
    assert_eq!(merged(vec![]), vec![]);
}

#[test]
fn normalized_ignores_reply_order() {
    let a = halves(8000);
    let mut b = a.clone();
    b.shards.reverse();
    b.shards[0].replicas.push(node("b2", 7005));
    b.shards[0].replicas.reverse();
    b.shards[1].slots = vec![(4000, 7999), (0, 3999)];
    let mut a = a;
    a.shards[1].replicas.push(node("b2", 7005));
    assert_eq!(a.normalized(), b.normalized());
}

#[test]
fn normalized_puts_slotless_shards_last() {
    let v = view(vec![
        shard(&[], node("z", 7009), &[]),
        shard(&[(100, 200)], node("b", 7001), &[]),
        shard(&[(0, 99)], node("a", 7000), &[]),
    ])
    .normalized();
    let ports: Vec<u16> = v.shards.iter().map(|s| s.primary.port).collect();
    assert_eq!(ports, [7000, 7001, 7009]);
}

#[test]
fn covered_count_counts_each_slot_once() {
    let v = view(vec![
        shard(&[(0, 9)], node("a", 7000), &[]),
        shard(&[(5, 14)], node("b", 7001), &[]),
    ]);
    assert_eq!(v.covered_count(), 15);
    assert_eq!(halves(8000).covered_count(), 16384);
}

#[test]
fn choose_view_of_nothing_is_none() {
    assert_eq!(choose_view(vec![]), None);
}

#[test]
fn choose_view_takes_the_majority_over_a_higher_epoch() {
    let majority = halves(8000);
    let minority = halves(9000);
    let chosen = choose_view(vec![
        (minority.clone(), 9),
        (majority.clone(), 1),
        (majority.clone(), 2),
    ]);
    assert_eq!(chosen, Some(majority.normalized()));
}

#[test]
fn choose_view_counts_views_equal_up_to_order_as_one() {
    let a = halves(8000);
    let mut shuffled = a.clone();
    shuffled.shards.reverse();
    let chosen = choose_view(vec![(halves(9000), 5), (a.clone(), 1), (shuffled, 1)]);
    assert_eq!(chosen, Some(a.normalized()));
}

#[test]
fn choose_view_breaks_ties_by_epoch() {
    let old = halves(8000);
    let new = halves(9000);
    let chosen = choose_view(vec![(old.clone(), 3), (new.clone(), 4)]);
    assert_eq!(chosen, Some(new.clone().normalized()));
    let chosen = choose_view(vec![(new, 4), (old.clone(), 7)]);
    assert_eq!(chosen, Some(old.normalized()));
}

#[test]
fn choose_view_then_prefers_more_coverage_then_the_first() {
    let mut partial = halves(8000);
    partial.shards[1].slots = vec![(8000, 10000)];
    let full = halves(8000);
    let chosen = choose_view(vec![(partial.clone(), 2), (full.clone(), 2)]);
    assert_eq!(chosen, Some(full.normalized()), "more slots covered");

    let first = halves(7000);
    let second = halves(9000);
    let chosen = choose_view(vec![(first.clone(), 2), (second, 2)]);
    assert_eq!(chosen, Some(first.normalized()), "full tie: first reported");
}

#[test]
fn promoted_view_beats_a_majority_naming_a_failed_primary() {
    let mut old = halves(8000);
    old.shards[0].primary.online = false;
    // a1 won the election: it serves a's slots, a is a failed node without slots.
    let new = view(vec![
        shard(&[(0, 7999)], node("a1", 7003), &[]),
        shard(&[(8000, 16383)], node("b", 7001), &[node("b1", 7004)]),
        shard(
            &[],
            NodeDesc {
                online: false,
                ..node("a", 7000)
            },
            &[],
        ),
    ]);
    let answers = [(&new, HOST, 7003), (&old, HOST, 7001)];
    let chosen = promoted_view(&old, answers.iter().copied());
    assert_eq!(chosen, Some(new.clone().normalized()));
    // Only the winner's word about itself counts: b reporting a1's claim does not.
    let hearsay = [(&new, HOST, 7001)];
    assert_eq!(promoted_view(&old, hearsay.iter().copied()), None);
    // Nothing to replace when the chosen view has no failed owner.
    let healthy = halves(8000);
    assert_eq!(promoted_view(&healthy, answers.iter().copied()), None);
}

#[test]
fn promoted_view_must_not_lose_coverage() {
    let mut old = halves(8000);
    old.shards[0].primary.online = false;
    let partial = view(vec![shard(&[(0, 7999)], node("a1", 7003), &[])]);
    let answers = [(&partial, HOST, 7003)];
    assert_eq!(promoted_view(&old, answers.iter().copied()), None);
}

#[test]
fn a_view_naming_a_failed_owner_of_live_slots_is_stale() {
    let mut stale = halves(8000);
    stale.shards[0].primary.online = false;
    let promoted = view(vec![
        shard(&[(0, 7999)], node("a1", 7003), &[]),
        shard(&[(8000, 16383)], node("b", 7001), &[node("b1", 7004)]),
    ]);
    assert!(strands_live_slots(&stale, &promoted, |_| true));
    // Unless the current owner is unreachable too.
    assert!(!strands_live_slots(&stale, &promoted, |n| n.port != 7003));
    assert!(!strands_live_slots(&promoted, &stale, |_| true));
    assert!(!strands_live_slots(&halves(8000), &promoted, |_| true));
    // The installed owner itself reported failed: not a step back.
    assert!(!strands_live_slots(&stale, &halves(8000), |_| true));
}

#[test]
fn only_the_owners_of_claimed_slots_are_asked_whether_they_are_up() {
    let asked = std::cell::RefCell::new(Vec::new());
    let is_up = |n: &NodeDesc| {
        asked.borrow_mut().push(n.port);
        true
    };
    assert!(!strands_live_slots(&halves(8000), &halves(8000), is_up));
    assert!(asked.borrow().is_empty(), "no failed primary claims a slot");
    let mut stale = halves(8000);
    stale.shards[1].primary.online = false;
    let promoted = view(vec![
        shard(&[(0, 7999)], node("a", 7000), &[node("a1", 7003)]),
        shard(&[(8000, 16383)], node("b1", 7004), &[]),
    ]);
    assert!(strands_live_slots(&stale, &promoted, is_up));
    assert_eq!(*asked.borrow(), [7004], "only b1 serves slots b claims");
}

#[test]
fn two_failed_primaries_claiming_a_slot_strand_it_from_either() {
    let mut a = node("a", 7000);
    a.online = false;
    let mut c = node("c", 7002);
    c.online = false;
    let stale = view(vec![
        shard(&[(0, 7999)], a, &[]),
        shard(&[(7999, 7999)], c, &[]),
    ]);
    // `a` owns slot 7999 now and `c` claims it too.
    assert!(strands_live_slots(&stale, &halves(8000), |_| true));
    // A range past the last slot claims nothing there.
    let mut beyond = halves(8000);
    beyond.shards[0].primary.online = false;
    beyond.shards[0].slots = vec![(16384, u16::MAX)];
    assert!(!strands_live_slots(&beyond, &halves(8000), |_| true));
}

#[test]
fn a_thousand_shards_with_one_failed_claim() {
    let shards = |failed: bool| {
        let shards = (0..1000u16).map(|i| {
            let mut primary = node("p", 10_000 + i);
            primary.online = !(failed && i == 500);
            let (first, last) = (i * 16, i * 16 + 15);
            shard(&[(first, last)], primary, &[])
        });
        view(shards.collect())
    };
    let mut promoted = shards(false);
    promoted.shards[500].primary = node("r", 20_000);
    assert!(strands_live_slots(&shards(true), &promoted, |_| true));
    assert!(!strands_live_slots(&shards(true), &shards(false), |_| true));
}

#[test]
fn ownership_ignores_health_and_replicas() {
    let a = halves(8000);
    let mut b = halves(8000);
    b.shards.reverse();
    b.shards[0].replicas.clear();
    b.shards[1].primary.online = false;
    assert_eq!(a.ownership(), b.ownership());
    assert_ne!(a.ownership(), halves(8001).ownership());
}
