//! What a topology costs the client to take in, by cluster size: parsing a `CLUSTER SLOTS`
//! reply and building the snapshot a refresh installs, for 3, 32 and 1,000 shards of one
//! primary and two replicas.
//!
//! Three cases per size:
//! - `first`: a client that has never seen the cluster (every node's entry is made);
//! - `unchanged`: the same reply again, as a periodic check of a quiet cluster brings: parsed
//!   and compared with the installed view, and nothing installed;
//! - `one-range-moved`: a reply that moves one slot from shard 0 to shard 1 (and back, every
//!   other iteration), parsed and installed.
//!
//! Asking the nodes (discovery, its sockets and their round trips) is not part of it.
//!
//! Before timing, each case's allocations are counted once (a counting global allocator) and
//! printed: how many, their bytes, and the bytes still held after the case (what it keeps).
//!
//! `cargo test` runs each case once (criterion's test mode), so the bench cannot rot;
//! `cargo bench -p slotwise-bench --bench topology` measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use slotwise::bench::{slots_reply, Topology};

const SIZES: [usize; 3] = [3, 32, 1_000];
const REPLICAS: usize = 2;

/// The system allocator, counting.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` once and prints its allocations, their bytes, and the bytes it left allocated.
#[allow(clippy::print_stdout)] // The counts are this bench's report.
fn count(what: &str, f: impl FnOnce()) {
    let (allocs, bytes, live) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
        LIVE.load(Ordering::Relaxed),
    );
    f();
    println!(
        "{what}: {} allocations, {} bytes, {} bytes kept",
        ALLOCS.load(Ordering::Relaxed) - allocs,
        BYTES.load(Ordering::Relaxed) - bytes,
        LIVE.load(Ordering::Relaxed) - live,
    );
}

/// Each case's allocations at each size, once.
fn allocations() {
    for shards in SIZES {
        let reply = slots_reply(shards, REPLICAS, false);
        let moved = slots_reply(shards, REPLICAS, true);
        let mut t = Topology::new();
        count(&format!("{shards} shards, first"), || {
            let _ = t.install_slots(&reply);
        });
        count(&format!("{shards} shards, unchanged"), || {
            let _ = t.install_slots(&reply);
        });
        count(&format!("{shards} shards, one range moved"), || {
            let _ = t.install_slots(&moved);
        });
    }
}

fn topology(c: &mut Criterion) {
    allocations();
    for shards in SIZES {
        let mut group = c.benchmark_group(format!("topology/{shards}-shards"));
        group.measurement_time(Duration::from_secs(3));
        let reply = slots_reply(shards, REPLICAS, false);
        let moved = slots_reply(shards, REPLICAS, true);
        group.bench_function("first", |b| {
            b.iter_batched(
                Topology::new,
                |mut t| black_box(t.install_slots(&reply)),
                BatchSize::SmallInput,
            )
        });
        let mut known = Topology::new();
        let _ = known.install_slots(&reply);
        group.bench_function("unchanged", |b| {
            b.iter(|| black_box(known.install_slots(&reply)))
        });
        group.bench_function("one-range-moved", |b| {
            let mut flip = false;
            b.iter(|| {
                flip = !flip;
                black_box(known.install_slots(if flip { &moved } else { &reply }))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, topology);
criterion_main!(benches);
