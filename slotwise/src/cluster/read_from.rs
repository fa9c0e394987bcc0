//! Where read-only commands go: [`ReadFrom`], and the choice of a node within a shard.
//!
//! Only commands the command table flags `readonly` are affected; writes always go to the
//! primary. The choice is pure: it sees each node through [`Candidate`] (its zone, whether it is
//! down, its measured round trip) and two per-shard counters, so it is unit-tested without a
//! server. What the zone-aware and latency-aware strategies need to know is gathered elsewhere:
//! zones by the connections' handshake (`HELLO`) or the builder's
//! [`node_zones`](crate::ClusterBuilder::node_zones), round trips by `probe`, smoothed and
//! compared with hysteresis in `latency`.
//!
//! This module does not send anything.

pub(crate) mod latency;
pub(crate) mod probe;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The read strategy of a cluster handle.
///
/// Cheap to clone: a zone is an `Arc<str>`, shared by every clone.
///
/// ```
/// use slotwise::ReadFrom;
///
/// let nearby = ReadFrom::AzAffinity("us-east-1b".into());
/// assert_eq!(nearby.zone(), Some("us-east-1b"));
/// assert_eq!(ReadFrom::default(), ReadFrom::Primary);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadFrom {
    /// Reads go to the primary, like writes.
    #[default]
    Primary,
    /// Reads go to the shard's replicas in turn, never to the primary: with no replica online,
    /// the read fails.
    Replica,
    /// Reads go to the shard's replicas in turn; with no replica online, or when the chosen
    /// replica cannot be reached, to the primary.
    PreferReplica,
    /// Reads go to the primary and the replicas in turn.
    RoundRobin,
    /// Reads go to the shard's replicas in this availability zone, in turn; with none there
    /// (or none reachable), to its other replicas in turn; with no replica left, to the primary.
    /// A replica that cannot be reached when chosen falls back to the primary, as with
    /// [`PreferReplica`](ReadFrom::PreferReplica).
    ///
    /// A node's zone is what it reports in its `HELLO` reply (Valkey 8.1 and newer with the
    /// server's `availability-zone` set), read during the handshake the client does anyway,
    /// else the one given in [`ClusterBuilder::node_zones`](crate::ClusterBuilder::node_zones).
    /// To know every replica's zone from the start, a client with this strategy connects to
    /// every node when it is built, and to nodes that join later within a
    /// [probe interval](crate::ClusterBuilder::latency_probe_interval).
    ///
    /// Redis reports no zone: without a map, no node is in the zone, and reads go to the
    /// replicas in turn as with [`PreferReplica`](ReadFrom::PreferReplica).
    AzAffinity(Arc<str>),
    /// Like [`AzAffinity`](ReadFrom::AzAffinity), but a primary in the zone comes before
    /// replicas elsewhere: the shard's replicas in the zone in turn, then its primary if it is in
    /// the zone, then its other replicas in turn, then the primary.
    AzAffinityReplicasAndPrimary(Arc<str>),
    /// Reads go to the node of the shard, primary or replica, with the lowest round trip.
    ///
    /// Every node is sent a `PING` every
    /// [`latency_probe_interval`](crate::ClusterBuilder::latency_probe_interval) on the
    /// connection commands use, and its round trip is smoothed (each sample weighs 30 %). The
    /// choice moves to another node only when that one is faster by more than 20 % **and**
    /// 0.5 ms, so reads do not flap between nodes that are about as fast. Nodes not yet
    /// measured, and nodes that cannot be reached, are passed over; with none measured, reads
    /// go to the primary. As with [`PreferReplica`](ReadFrom::PreferReplica), a chosen replica
    /// that cannot be reached falls back to the primary.
    LowestLatency,
}

/// What choosing a node needs to know of one node of a shard.
pub(crate) trait Candidate {
    /// True when the node's availability zone is `zone`; false when it is another or unknown.
    fn in_zone(&self, zone: &str) -> bool;
    /// True when the last attempt to connect to it failed.
    fn is_down(&self) -> bool;
    /// Its smoothed round trip, once measured.
    fn latency(&self) -> Option<Duration>;
}

/// The counters a shard keeps for the choice: whose turn it is among its replicas, and which
/// node is the lowest-latency choice now.
#[derive(Debug)]
pub(crate) struct ShardChoice {
    turn: AtomicUsize,
    /// `latency::NONE`, or 0 for the primary and `i + 1` for replica `i`.
    nearest: AtomicUsize,
}

impl ShardChoice {
    /// Counters starting at a random turn, so many clients do not all begin on one replica.
    pub(crate) fn new() -> ShardChoice {
        ShardChoice {
            turn: AtomicUsize::new(fastrand::usize(..)),
            nearest: AtomicUsize::new(latency::NONE),
        }
    }

    /// A copy of `self`'s counters, for the same nodes in a new snapshot: the turn goes on
    /// where it was, and the lowest-latency choice (an index into those nodes) stays valid.
    pub(crate) fn carried(&self) -> ShardChoice {
        ShardChoice {
            turn: AtomicUsize::new(self.turn.load(Ordering::Relaxed)),
            nearest: AtomicUsize::new(self.nearest.load(Ordering::Relaxed)),
        }
    }

    fn next_turn(&self) -> usize {
        self.turn.fetch_add(1, Ordering::Relaxed)
    }
}

impl ReadFrom {
    /// The zone of the zone-aware strategies.
    pub fn zone(&self) -> Option<&str> {
        match self {
            ReadFrom::AzAffinity(zone) | ReadFrom::AzAffinityReplicasAndPrimary(zone) => Some(zone),
            _ => None,
        }
    }

    /// True when reads may leave the primary.
    pub(crate) fn uses_replicas(&self) -> bool {
        !matches!(self, ReadFrom::Primary)
    }

    /// True when the strategy needs to know every node's zone.
    pub(crate) fn needs_zones(&self) -> bool {
        self.zone().is_some()
    }

    /// Picks among a shard's `primary` and its online `replicas`. `None` means the primary,
    /// `Some(i)` the i-th replica; `Err(())` means no node may serve the read.
    pub(crate) fn pick<N: Candidate>(
        &self,
        primary: &N,
        replicas: &[N],
        choice: &ShardChoice,
    ) -> Result<Option<usize>, ()> {
        match self {
            ReadFrom::Primary => Ok(None),
            ReadFrom::Replica if replicas.is_empty() => Err(()),
            ReadFrom::PreferReplica if replicas.is_empty() => Ok(None),
            ReadFrom::Replica | ReadFrom::PreferReplica => {
                Ok(Some(choice.next_turn() % replicas.len()))
            }
            ReadFrom::RoundRobin => match choice.next_turn() % (replicas.len() + 1) {
                0 => Ok(None),
                i => Ok(Some(i - 1)),
            },
            ReadFrom::AzAffinity(zone) => {
                let turn = choice.next_turn();
                Ok(in_turn(replicas, turn, |r| r.in_zone(zone))
                    .or_else(|| in_turn(replicas, turn, |_| true)))
            }
            ReadFrom::AzAffinityReplicasAndPrimary(zone) => {
                let turn = choice.next_turn();
                if let Some(i) = in_turn(replicas, turn, |r| r.in_zone(zone)) {
                    return Ok(Some(i));
                }
                if primary.in_zone(zone) && !primary.is_down() {
                    return Ok(None);
                }
                Ok(in_turn(replicas, turn, |_| true))
            }
            ReadFrom::LowestLatency => {
                let node = |i: usize| match i {
                    0 => Some(primary),
                    i => replicas.get(i - 1),
                };
                let now = choice.nearest.load(Ordering::Relaxed);
                let chosen = latency::choose(now, replicas.len() + 1, |i| {
                    node(i)
                        .filter(|n| !n.is_down())
                        .and_then(Candidate::latency)
                });
                if chosen != now {
                    choice.nearest.store(chosen, Ordering::Relaxed);
                }
                Ok(chosen.checked_sub(1))
            }
        }
    }
}

/// The `turn`-th (modulo their number) of the `replicas` that are not down and `fit`.
fn in_turn<N: Candidate>(replicas: &[N], turn: usize, fit: impl Fn(&N) -> bool) -> Option<usize> {
    let usable = |r: &&N| !r.is_down() && fit(r);
    let count = replicas.iter().filter(usable).count();
    if count == 0 {
        return None;
    }
    replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| usable(r))
        .nth(turn % count)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node as the pick sees it.
    #[derive(Clone, Copy, Default)]
    struct Fake {
        zone: Option<&'static str>,
        down: bool,
        ms: Option<u64>,
    }

    impl Candidate for Fake {
        fn in_zone(&self, zone: &str) -> bool {
            self.zone == Some(zone)
        }
        fn is_down(&self) -> bool {
            self.down
        }
        fn latency(&self) -> Option<Duration> {
            self.ms.map(Duration::from_millis)
        }
    }

    #[test]
    fn a_carried_choice_goes_on_where_it_was() {
        let choice = ShardChoice::new();
        let turn = choice.next_turn().wrapping_add(1);
        choice.nearest.store(2, Ordering::Relaxed);
        let carried = choice.carried();
        assert_eq!(carried.next_turn(), turn, "the turn goes on");
        assert_eq!(
            carried.nearest.load(Ordering::Relaxed),
            2,
            "the choice stays"
        );
    }

    fn zoned(zone: &'static str) -> Fake {
        Fake {
            zone: Some(zone),
            ..Fake::default()
        }
    }

    fn at(turn: usize) -> ShardChoice {
        ShardChoice {
            turn: AtomicUsize::new(turn),
            nearest: AtomicUsize::new(latency::NONE),
        }
    }

    /// The picks of `turns` reads in a row.
    fn picks(
        read: &ReadFrom,
        primary: Fake,
        replicas: &[Fake],
        turns: usize,
    ) -> Vec<Option<usize>> {
        let choice = at(0);
        (0..turns)
            .map(|_| read.pick(&primary, replicas, &choice).unwrap())
            .collect()
    }

    #[test]
    fn role_strategies_pick_as_before() {
        let p = Fake::default();
        let two = [Fake::default(); 2];
        assert_eq!(ReadFrom::Primary.pick(&p, &two, &at(5)), Ok(None));
        assert_eq!(ReadFrom::Replica.pick(&p, &two, &at(5)), Ok(Some(1)));
        assert_eq!(ReadFrom::Replica.pick(&p, &[], &at(5)), Err(()));
        assert_eq!(ReadFrom::PreferReplica.pick(&p, &[], &at(5)), Ok(None));
        assert_eq!(
            picks(&ReadFrom::RoundRobin, p, &two, 6),
            [None, Some(0), Some(1), None, Some(0), Some(1)]
        );
    }

    #[test]
    fn az_affinity_takes_the_zone_then_any_replica_then_the_primary() {
        let read = ReadFrom::AzAffinity("b".into());
        let p = zoned("b");
        // Replicas in the zone, in turn.
        let replicas = [zoned("a"), zoned("b"), zoned("c"), zoned("b")];
        assert_eq!(
            picks(&read, p, &replicas, 4),
            [Some(1), Some(3), Some(1), Some(3)]
        );
        // The zone's replicas down: the others in turn, not the primary in the zone.
        let replicas = [
            zoned("a"),
            Fake {
                down: true,
                ..zoned("b")
            },
            zoned("c"),
        ];
        assert_eq!(picks(&read, p, &replicas, 3), [Some(0), Some(2), Some(0)]);
        // No zone known (Redis): every replica in turn.
        let unknown = [Fake::default(); 2];
        assert_eq!(picks(&read, p, &unknown, 3), [Some(0), Some(1), Some(0)]);
        // No replica left: the primary.
        let gone = [Fake {
            down: true,
            ..zoned("b")
        }];
        assert_eq!(picks(&read, p, &gone, 2), [None, None]);
        assert_eq!(picks(&read, p, &[], 1), [None]);
    }

    #[test]
    fn the_primary_variant_prefers_a_primary_in_the_zone_to_replicas_elsewhere() {
        let read = ReadFrom::AzAffinityReplicasAndPrimary("b".into());
        let replicas = [zoned("a"), zoned("b")];
        assert_eq!(picks(&read, zoned("b"), &replicas, 2), [Some(1), Some(1)]);
        let b_down = [
            zoned("a"),
            Fake {
                down: true,
                ..zoned("b")
            },
        ];
        assert_eq!(picks(&read, zoned("b"), &b_down, 2), [None, None]);
        // The primary elsewhere (or down): any replica, then the primary.
        assert_eq!(picks(&read, zoned("a"), &b_down, 2), [Some(0), Some(0)]);
        let primary_down = Fake {
            down: true,
            ..zoned("b")
        };
        assert_eq!(picks(&read, primary_down, &b_down, 1), [Some(0)]);
        assert_eq!(picks(&read, zoned("a"), &[], 1), [None]);
    }

    #[test]
    fn lowest_latency_keeps_its_choice_until_another_is_clearly_faster() {
        let read = ReadFrom::LowestLatency;
        let choice = at(0);
        let ms = |ms| Fake {
            ms: Some(ms),
            ..Fake::default()
        };
        // Nothing measured: the primary.
        let none = [Fake::default()];
        assert_eq!(read.pick(&Fake::default(), &none, &choice), Ok(None));
        // The fastest, then kept while the other is only a little faster.
        assert_eq!(read.pick(&ms(10), &[ms(2), ms(5)], &choice), Ok(Some(0)));
        assert_eq!(read.pick(&ms(10), &[ms(2), ms(2)], &choice), Ok(Some(0)));
        assert_eq!(read.pick(&ms(10), &[ms(6), ms(5)], &choice), Ok(Some(0)));
        // Clearly faster: moves.
        assert_eq!(read.pick(&ms(10), &[ms(30), ms(5)], &choice), Ok(Some(1)));
        // The chosen one down: the fastest of the rest.
        let down = Fake {
            down: true,
            ..ms(1)
        };
        assert_eq!(read.pick(&ms(10), &[ms(30), down], &choice), Ok(None));
    }
}
