//! Round trips for [`ReadFrom::LowestLatency`](crate::ReadFrom::LowestLatency): a smoothed value
//! per node ([`Smoothed`]) and the choice among a shard's nodes with hysteresis ([`choose`]).
//!
//! Smoothing: an exponentially weighted moving average, each sample weighing [`WEIGHT`], so a
//! single slow `PING` (a busy moment on a shared machine) moves the value by a third of the
//! difference, while a node that stays slow is seen as slow within a few probes.
//!
//! Hysteresis: the current choice stays until another node is faster by more than
//! [`SWITCH_RATIO`] of its round trip **and** by more than [`SWITCH_MARGIN`]. The ratio keeps
//! nodes of about equal speed from trading places on noise; the absolute margin does the same
//! where round trips are a fraction of a millisecond (one data centre), where a 20 % difference
//! is noise too. Across availability zones round trips differ by about a millisecond, which is
//! more than the margin, so the choice still finds the nearer node.
//!
//! Pure: no clock, no I/O. The probes that feed it are in `probe`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// "No choice yet", as the index a shard stores.
pub(crate) const NONE: usize = usize::MAX;

/// How much one sample weighs in the smoothed round trip.
pub(crate) const WEIGHT: f64 = 0.3;

/// Another node must be faster than the current choice by more than this fraction of the
/// current one's round trip…
pub(crate) const SWITCH_RATIO: f64 = 0.2;

/// …and by more than this.
pub(crate) const SWITCH_MARGIN: Duration = Duration::from_micros(500);

/// Stored for "not measured".
const UNKNOWN: u64 = u64::MAX;

/// One node's smoothed round trip, in microseconds; written by the probes, read by every pick.
#[derive(Debug)]
pub(crate) struct Smoothed(AtomicU64);

impl Default for Smoothed {
    fn default() -> Smoothed {
        Smoothed(AtomicU64::new(UNKNOWN))
    }
}

impl Smoothed {
    /// The smoothed round trip, once measured.
    pub(crate) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            UNKNOWN => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// Adds a sample: the first one is taken as it is.
    pub(crate) fn record(&self, sample: Duration) {
        let sample = u64::try_from(sample.as_micros()).unwrap_or(UNKNOWN - 1);
        let next = match self.0.load(Ordering::Relaxed) {
            UNKNOWN => sample,
            before => smooth(before, sample),
        };
        // Only one probe task writes a node's value, so load-then-store loses nothing.
        self.0.store(next.min(UNKNOWN - 1), Ordering::Relaxed);
    }

    /// Forgets the value: the node did not answer, and is measured afresh when it does.
    pub(crate) fn forget(&self) {
        self.0.store(UNKNOWN, Ordering::Relaxed);
    }
}

/// The moving average after `sample`, in microseconds.
fn smooth(before: u64, sample: u64) -> u64 {
    let next = before as f64 + (sample as f64 - before as f64) * WEIGHT;
    next.round() as u64
}

/// The node to read from among `count`, `current` being the choice so far ([`NONE`] for none)
/// and `latency(i)` node `i`'s round trip (`None` for a node not measured or unreachable, which
/// is never chosen). With no node measured, node 0 (the primary).
pub(crate) fn choose(
    current: usize,
    count: usize,
    latency: impl Fn(usize) -> Option<Duration>,
) -> usize {
    let best = (0..count)
        .filter_map(|i| latency(i).map(|l| (i, l)))
        .min_by_key(|&(_, l)| l);
    let Some((best, fastest)) = best else {
        return 0;
    };
    let Some(now) = (current < count).then(|| latency(current)).flatten() else {
        return best;
    };
    let clearly_faster =
        fastest < now.mul_f64(1.0 - SWITCH_RATIO) && now.saturating_sub(fastest) > SWITCH_MARGIN;
    if clearly_faster {
        best
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: f64) -> Option<Duration> {
        Some(Duration::from_secs_f64(ms / 1000.0))
    }

    #[test]
    fn smoothing_starts_at_the_first_sample_and_moves_by_its_weight() {
        let s = Smoothed::default();
        assert_eq!(s.get(), None);
        s.record(Duration::from_millis(10));
        assert_eq!(s.get(), Some(Duration::from_millis(10)));
        s.record(Duration::from_millis(20));
        assert_eq!(s.get(), Some(Duration::from_millis(13)));
        // A node that stays slow is seen as slow within a few samples.
        for _ in 0..10 {
            s.record(Duration::from_millis(50));
        }
        assert!(
            s.get().unwrap() > Duration::from_millis(45),
            "{:?}",
            s.get()
        );
        s.forget();
        assert_eq!(s.get(), None);
        s.record(Duration::MAX);
        assert!(s.get().is_some());
    }

    #[test]
    fn the_first_choice_is_the_fastest_measured_node() {
        let l = [ms(3.0), ms(1.0), None, ms(2.0)];
        assert_eq!(choose(NONE, 4, |i| l[i]), 1);
        assert_eq!(choose(NONE, 2, |_| None), 0);
        assert_eq!(choose(NONE, 0, |_| None), 0);
        // A stale index (the shard shrank) is no choice.
        assert_eq!(choose(7, 4, |i| l[i]), 1);
    }

    #[test]
    fn a_choice_moves_only_for_a_node_faster_by_the_ratio_and_the_margin() {
        // 20 % faster is not enough…
        assert_eq!(choose(0, 2, |i| [ms(10.0), ms(8.1)][i]), 0);
        // …more is, when it is also over the margin.
        assert_eq!(choose(0, 2, |i| [ms(10.0), ms(7.9)][i]), 1);
        // Sub-millisecond round trips: a 50 % difference of 0.3 ms is noise.
        assert_eq!(choose(0, 2, |i| [ms(0.6), ms(0.3)][i]), 0);
        assert_eq!(choose(0, 2, |i| [ms(1.2), ms(0.3)][i]), 1);
    }

    #[test]
    fn an_unmeasured_or_unreachable_choice_is_replaced() {
        assert_eq!(choose(0, 3, |i| [None, ms(5.0), ms(4.9)][i]), 2);
        assert_eq!(choose(2, 3, |i| [ms(9.0), ms(5.0), None][i]), 1);
    }

    #[test]
    fn reads_do_not_flap_between_nodes_of_about_equal_speed() {
        // Two nodes whose samples cross each other by up to 15 %: the choice never moves.
        let (a, b) = (Smoothed::default(), Smoothed::default());
        let mut chosen = NONE;
        let mut moves = 0;
        for round in 0..200u64 {
            let wobble = |phase: u64| 1000 + ((round * 37 + phase) % 150);
            a.record(Duration::from_micros(wobble(0)));
            b.record(Duration::from_micros(wobble(75)));
            let next = choose(chosen, 2, |i| [a.get(), b.get()][i]);
            if chosen != NONE && next != chosen {
                moves += 1;
            }
            chosen = next;
        }
        assert_eq!(moves, 0);
    }

    #[test]
    fn a_slowed_node_is_left_and_chosen_again_once_clearly_faster() {
        let (a, b) = (Smoothed::default(), Smoothed::default());
        a.record(Duration::from_millis(1));
        b.record(Duration::from_millis(10));
        let mut chosen = choose(NONE, 2, |i| [a.get(), b.get()][i]);
        assert_eq!(chosen, 0);
        let mut rounds = 0;
        while chosen == 0 {
            a.record(Duration::from_millis(40));
            b.record(Duration::from_millis(10));
            chosen = choose(chosen, 2, |i| [a.get(), b.get()][i]);
            rounds += 1;
        }
        assert!(rounds <= 3, "left after {rounds} probes");
        rounds = 0;
        while chosen == 1 {
            a.record(Duration::from_millis(1));
            b.record(Duration::from_millis(10));
            chosen = choose(chosen, 2, |i| [a.get(), b.get()][i]);
            rounds += 1;
        }
        assert!(rounds <= 10, "back after {rounds} probes");
    }
}
