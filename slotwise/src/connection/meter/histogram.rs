//! A latency histogram cheap enough to record every request: log-linear buckets of relaxed
//! atomic counters, so recording is a few shifts and one add, with no lock, no clock of its
//! own and, after the first value, no allocation.
//!
//! Values (nanoseconds) below 16 get a bucket each; above, every power of two is cut into 8
//! buckets of equal width, so a bucket spans at most 12.5 % of its values. Values from 2⁴⁰ ns
//! (about 18 minutes) on share the last bucket; the largest value is kept exactly beside the
//! buckets. That is 304 buckets, 2.4 KiB per node, allocated with the first value: a node a
//! client lists but never sends to (most of a big cluster's replicas) costs one pointer.
//!
//! A percentile is the upper end of the bucket that holds it, capped at the largest value seen:
//! never below the true one, and above it by less than 12.5 %. Percentiles of the same counts
//! are ordered (p50 ≤ p90 ≤ p99 ≤ max), since bucket ends grow with the bucket.
//!
//! Why not a crate: `hdrhistogram` records through `&mut self` (a lock, or a recorder per
//! thread and a merge step), where here many sockets' reader tasks record into one node's
//! histogram at once; a fixed array of atomics needs neither, and the precision of 8 buckets per
//! octave is what percentiles of request latency need.
//!
//! This module does not decide what is measured or when; see the parent module.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Bits of a value kept below its leading one: 2³ = 8 buckets per power of two.
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
/// Values of `2^TOP_BITS` ns and more go to the last bucket.
const TOP_BITS: u32 = 40;
const BUCKETS: usize = (TOP_BITS - SUB_BITS + 1) as usize * SUB;

/// The bucket of `value`.
#[inline]
fn index(value: u64) -> usize {
    if value < 2 * SUB as u64 {
        return value as usize;
    }
    let value = value.min((1 << TOP_BITS) - 1);
    let log = 63 - value.leading_zeros();
    let shift = log - SUB_BITS;
    (shift as usize + 1) * SUB + ((value >> shift) as usize - SUB)
}

/// The largest value bucket `i` holds.
fn upper_end(i: usize) -> u64 {
    if i < 2 * SUB {
        return i as u64;
    }
    let shift = (i / SUB - 1) as u32;
    let mantissa = (i % SUB + SUB) as u64;
    ((mantissa + 1) << shift) - 1
}

/// The live histogram, recorded into by any number of threads at once.
pub(crate) struct Histogram {
    /// Made by the first value recorded.
    buckets: OnceLock<Box<[AtomicU64; BUCKETS]>>,
    max: AtomicU64,
}

impl Histogram {
    pub(crate) fn new() -> Histogram {
        Histogram {
            buckets: OnceLock::new(),
            max: AtomicU64::new(0),
        }
    }

    /// Counts one value, in nanoseconds.
    #[inline]
    pub(crate) fn record(&self, nanos: u64) {
        let buckets = self
            .buckets
            .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        buckets[index(nanos)].fetch_add(1, Ordering::Relaxed);
        // A load first: once the maximum is known, a new one is rare, and a plain load is far
        // cheaper than the compare-and-swap loop a `fetch_max` compiles to.
        if nanos > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(nanos, Ordering::Relaxed);
        }
    }

    /// A copy of the counts. Values recorded meanwhile may or may not be in it.
    pub(crate) fn read(&self) -> Counts {
        let mut counts = Counts::default();
        if let Some(buckets) = self.buckets.get() {
            for (to, from) in counts.buckets.iter_mut().zip(buckets.iter()) {
                *to = from.load(Ordering::Relaxed);
            }
        }
        counts.max = self.max.load(Ordering::Relaxed);
        counts
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("latency", &self.read().latency())
            .finish()
    }
}

/// A copy of a histogram's counts, which can be merged with others' (a cluster's total).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Counts {
    buckets: Box<[u64; BUCKETS]>,
    max: u64,
}

impl Default for Counts {
    fn default() -> Counts {
        Counts {
            buckets: Box::new([0; BUCKETS]),
            max: 0,
        }
    }
}

impl Counts {
    /// Adds `other`'s values to these.
    pub(crate) fn merge(&mut self, other: &Counts) {
        for (to, from) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *to += from;
        }
        self.max = self.max.max(other.max);
    }

    /// How many values were counted.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The value (ns) at or below which a fraction `q` (0 to 1) of the values lie: the upper end
    /// of its bucket, capped at the largest value. 0 when nothing was counted.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        // The rank of the value sought, from 1 to `total`.
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return upper_end(i).min(self.max);
            }
        }
        self.max
    }

    /// The percentiles of these counts.
    pub(crate) fn latency(&self) -> Latency {
        Latency {
            count: self.count(),
            p50: Duration::from_nanos(self.quantile(0.50)),
            p90: Duration::from_nanos(self.quantile(0.90)),
            p99: Duration::from_nanos(self.quantile(0.99)),
            max: Duration::from_nanos(self.max),
        }
    }
}

/// Request latency percentiles: from when a request was queued on a node's connection to when
/// its (last) reply was read off the socket.
///
/// Each percentile is the upper end of a histogram bucket, capped at the largest latency: never
/// below the true value, and above it by less than 12.5 %. They are ordered: `p50 <= p90 <= p99
/// <= max`. All are zero while `count` is zero.
///
/// ```
/// let latency = slotwise::Latency::default();
/// assert_eq!(latency.count, 0);
/// assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Latency {
    /// Requests timed: one per request (a command, or a batch sent back to back) that got its
    /// replies, including those whose caller had stopped waiting.
    pub count: u64,
    /// The median.
    pub p50: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest latency seen.
    pub max: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_made_by_the_first_value() {
        let h = Histogram::new();
        assert!(h.buckets.get().is_none());
        assert_eq!(h.read().latency().count, 0);
        h.record(1_000);
        assert!(h.buckets.get().is_some());
        assert_eq!(h.read().latency().count, 1);
    }

    fn of(values: impl IntoIterator<Item = u64>) -> Counts {
        let h = Histogram::new();
        for v in values {
            h.record(v);
        }
        h.read()
    }

    #[test]
    fn buckets_cover_every_value_in_order_within_an_eighth() {
        let mut last = 0;
        let mut v = 0u64;
        while v < 1 << 42 {
            let i = index(v);
            assert!(
                i >= last,
                "bucket of {v} ({i}) is below the previous ({last})"
            );
            assert!(i < BUCKETS, "bucket of {v} is {i}, past {BUCKETS}");
            last = i;
            if v < 1 << TOP_BITS {
                let top = upper_end(i);
                assert!(top >= v, "bucket {i} ends at {top}, below {v}");
                assert!(
                    (top - v) as f64 <= v as f64 / 8.0,
                    "bucket {i} ends at {top}, more than an eighth above {v}"
                );
                assert_eq!(index(top), i, "the upper end of bucket {i} is in another");
                if i > 0 {
                    assert_eq!(
                        index(upper_end(i - 1) + 1),
                        i,
                        "bucket {i} starts past a gap"
                    );
                }
            }
            v = if v < 1000 { v + 1 } else { v + v / 97 };
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn small_values_are_exact() {
        let counts = of(1..=10);
        assert_eq!(counts.count(), 10);
        assert_eq!(counts.quantile(0.5), 5);
        assert_eq!(counts.quantile(0.9), 9);
        assert_eq!(counts.quantile(0.99), 10);
        assert_eq!(counts.quantile(1.0), 10);
        assert_eq!(counts.quantile(0.0), 1);
    }

    #[test]
    fn percentiles_of_known_samples() {
        // 1 µs to 1 ms in steps of 1 µs: the true p50 is 500 µs, p90 900 µs, p99 990 µs.
        let counts = of((1..=1000).map(|us| us * 1000));
        let latency = counts.latency();
        assert_eq!(latency.count, 1000);
        for (got, want) in [
            (latency.p50, 500_000),
            (latency.p90, 900_000),
            (latency.p99, 990_000),
        ] {
            let got = got.as_nanos() as f64;
            assert!(
                got >= want as f64 && got <= want as f64 * 1.125,
                "{got} ns for a true {want} ns"
            );
        }
        assert_eq!(latency.max, Duration::from_micros(1000));
        assert!(latency.p50 <= latency.p90 && latency.p90 <= latency.p99);
        assert!(latency.p99 <= latency.max);
    }

    #[test]
    fn a_percentile_never_exceeds_the_maximum() {
        // One value: every percentile is that value, not its bucket's end.
        let latency = of([1_234_567]).latency();
        assert_eq!(latency.p50, Duration::from_nanos(1_234_567));
        assert_eq!(latency.p99, latency.max);
    }

    #[test]
    fn a_long_tail_shows_in_the_upper_percentiles_only() {
        let counts = of((0..980).map(|_| 100_000).chain((0..20).map(|_| 50_000_000)));
        let latency = counts.latency();
        assert!(latency.p50 < Duration::from_micros(113), "{latency:?}");
        assert!(latency.p90 < Duration::from_micros(113), "{latency:?}");
        assert!(latency.p99 >= Duration::from_millis(50), "{latency:?}");
        assert_eq!(latency.max, Duration::from_millis(50));
    }

    #[test]
    fn huge_values_land_in_the_last_bucket_and_keep_their_maximum() {
        let counts = of([u64::MAX, 1 << 50]);
        assert_eq!(counts.count(), 2);
        assert_eq!(counts.quantile(0.5), upper_end(BUCKETS - 1));
        assert_eq!(counts.latency().max, Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn merged_counts_are_those_of_all_the_values() {
        let mut a = of(1..=500);
        let b = of(501..=1000);
        a.merge(&b);
        assert_eq!(a, of(1..=1000));
        assert_eq!(Counts::default().latency(), Latency::default());
    }
}
