//! A counter that threads add to without sharing a cache line: every cache hit counts, and on
//! several cores one shared atomic would bounce between them on each hit.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Lanes per counter: threads beyond this share lanes, which stays correct.
pub(crate) const LANES: usize = 4;

/// One lane, alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Lane(AtomicU64);

/// A `u64` counter in [`LANES`] lanes; a thread always adds to the same one.
#[derive(Debug, Default)]
pub(crate) struct Striped([Lane; LANES]);

impl Striped {
    /// Adds one.
    pub(crate) fn incr(&self) {
        self.0[lane()].0.fetch_add(1, Ordering::Relaxed);
    }

    /// The count: the lanes' sum (each read on its own, so not one instant's).
    pub(crate) fn get(&self) -> u64 {
        self.0.iter().map(|l| l.0.load(Ordering::Relaxed)).sum()
    }
}

/// This thread's lane: threads take lanes in the order they first count.
pub(crate) fn lane() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static LANE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LANES;
    }
    LANE.with(|l| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_add_up() {
        let counter = std::sync::Arc::new(Striped::default());
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let c = std::sync::Arc::clone(&counter);
                std::thread::spawn(move || (0..1_000).for_each(|_| c.incr()))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(counter.get(), 6_000);
    }
}
