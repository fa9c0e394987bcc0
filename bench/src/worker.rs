//! One measurement of one client on one workload, in a process of its own.
//!
//! The orchestrator starts this binary again as `slotwise-bench worker …` for every
//! measurement, so each client's allocations, threads and CPU time are its own: the peak
//! resident memory and CPU per operation it reports belong to that client alone.
//!
//! The timed loop: N tasks share one client; each repeats its operation on random keys,
//! timing every call. After a warm-up (connections open, caches warm) the tasks start
//! counting; after the duration they stop. CPU time is read from `getrusage` at both edges, so
//! connecting, filling and warming up are excluded. An operation counts if it completes inside
//! the window, which makes the count an unbiased estimate of throughput.
//!
//! A client with a cache of its own (slotwise's) also reports what its cache did inside the
//! window: hits and misses between the two edges, and what it held at the end.
//!
//! With a fixed operation count instead of a duration (for instruction counting under
//! valgrind) there is no warm-up: the tasks run until that many operations are done.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use slotwise::CacheConfig;

use crate::drivers::{CacheCounts, Driver, Fred, FredBatch, RedisRs, Slotwise};
use crate::measure::{cpu_time, status_kib};
use crate::workload::{
    key, Client, Flavor, Key, Op, Workload, MGET_KEYS, PIPELINE_COMMANDS, WRITES_PER,
};

/// How long a measurement runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Length {
    /// A warm-up, then a timed window.
    Timed { warmup: Duration, window: Duration },
    /// Exactly this many operations, no warm-up.
    Ops(u64),
}

/// What one worker reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sample {
    pub(crate) ops: u64,
    pub(crate) seconds: f64,
    pub(crate) ops_per_sec: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) cpu_us_per_op: f64,
    /// Peak resident memory above the worker's baseline before the client was made, KiB.
    pub(crate) rss_kib: u64,
    pub(crate) errors: u64,
    /// Values that should have been found and were not: a wrong answer, not a slow one.
    pub(crate) misses: u64,
    /// The first error, to show the operator.
    pub(crate) first_error: Option<String>,
    /// What the client's cache did inside the window, for a client with one.
    pub(crate) cache: Option<CacheCounts>,
}

impl Sample {
    /// The JSON line a worker prints.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ops": self.ops,
            "seconds": self.seconds,
            "ops_per_sec": self.ops_per_sec,
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
            "cpu_us_per_op": self.cpu_us_per_op,
            "rss_kib": self.rss_kib,
            "errors": self.errors,
            "misses": self.misses,
            "first_error": self.first_error,
            "cache": self.cache.map(|c| serde_json::json!({
                "hits": c.hits,
                "misses": c.misses,
                "evictions": c.evictions,
                "entries": c.entries,
                "bytes": c.bytes,
            })),
        })
    }

    /// Reads what [`Sample::to_json`] wrote.
    pub(crate) fn from_json(text: &str) -> Result<Sample, String> {
        let v: serde_json::Value =
            serde_json::from_str(text.trim()).map_err(|e| format!("bad worker output: {e}"))?;
        let f = |name: &str| v[name].as_f64().unwrap_or(0.0);
        let u = |name: &str| v[name].as_u64().unwrap_or(0);
        Ok(Sample {
            ops: u("ops"),
            seconds: f("seconds"),
            ops_per_sec: f("ops_per_sec"),
            p50_us: f("p50_us"),
            p99_us: f("p99_us"),
            cpu_us_per_op: f("cpu_us_per_op"),
            rss_kib: u("rss_kib"),
            errors: u("errors"),
            misses: u("misses"),
            first_error: v["first_error"].as_str().map(str::to_owned),
            cache: v["cache"].as_object().map(|c| {
                let u = |name: &str| c.get(name).and_then(|x| x.as_u64());
                CacheCounts {
                    hits: u("hits").unwrap_or(0),
                    misses: u("misses").unwrap_or(0),
                    evictions: u("evictions"),
                    entries: u("entries"),
                    bytes: u("bytes"),
                }
            }),
        })
    }
}

/// How the clients under test are set up, where the run can change it.
#[derive(Clone, Debug)]
pub(crate) struct Setup {
    /// How the fred adapter keeps several commands in flight.
    pub(crate) fred_batch: FredBatch,
    /// The bounds of `slotwise-cached`'s cache.
    pub(crate) cache: CacheConfig,
    /// Leave out a workload's writes, so that on the hot keys every `GET` after the first
    /// read of each key is a cache hit: for measuring a hit alone (a hit takes a unit of its
    /// task's scheduling budget, so a timed window still ends).
    pub(crate) read_only: bool,
}

/// Runs one measurement in this process.
pub(crate) fn run(
    client: Client,
    workload: Workload,
    seed: &str,
    length: Length,
    setup: &Setup,
) -> Result<Sample, String> {
    let writes = workload.has_writes() && !setup.read_only;
    let runtime = match workload.flavor() {
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .map_err(|e| format!("cannot build the runtime: {e}"))?;
    runtime.block_on(async {
        // Histograms first, so their memory is part of the baseline, not the client's.
        let histograms: Vec<Histogram<u64>> = (0..workload.tasks())
            .map(|_| new_histogram())
            .collect::<Result<_, _>>()?;
        let baseline_kib = status_kib("VmRSS").unwrap_or(0);
        let mut sample = match client {
            Client::Slotwise => {
                let driver = Slotwise::connect(seed).await?;
                measure(driver, workload, writes, length, histograms).await
            }
            Client::SlotwiseCached => {
                let driver = Slotwise::connect_cached(seed, setup.cache.clone()).await?;
                measure(driver, workload, writes, length, histograms).await
            }
            Client::RedisRs => {
                let driver = RedisRs::connect(seed).await?;
                measure(driver, workload, writes, length, histograms).await
            }
            #[cfg(feature = "redis-rs-cache")]
            Client::RedisRsCached => {
                let driver = RedisRs::connect_cached(seed).await?;
                measure(driver, workload, writes, length, histograms).await
            }
            #[cfg(not(feature = "redis-rs-cache"))]
            Client::RedisRsCached => return Err(Client::RedisRsCached.unavailable()),
            Client::Fred => {
                let driver = Fred::connect(seed, setup.fred_batch).await?;
                measure(driver, workload, writes, length, histograms).await
            }
            Client::RedisBenchmark => {
                return Err("redis-benchmark is not run inside a worker".to_owned())
            }
        }?;
        sample.rss_kib = status_kib("VmHWM")
            .unwrap_or(0)
            .saturating_sub(baseline_kib);
        Ok(sample)
    })
}

/// Latencies in nanoseconds, 1 ns to 60 s, two significant digits: 1 % resolution is plenty
/// for p50 and p99, and keeps each task's histogram small.
fn new_histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 60_000_000_000, 2).map_err(|e| format!("histogram: {e}"))
}

const WARMING: u8 = 0;
const COUNTING: u8 = 1;
const STOPPED: u8 = 2;

/// What the tasks share: the phase, and for a fixed operation count, how many are left.
struct Control {
    phase: AtomicU8,
    /// Operations still to do in [`Length::Ops`] mode; unused in timed mode.
    left: AtomicU64,
    fixed: bool,
    /// One call in [`WRITES_PER`] is a `SET` (only in a workload with writes).
    writes: bool,
}

impl Control {
    fn phase(&self) -> u8 {
        self.phase.load(Ordering::Relaxed)
    }

    /// Takes `n` operations from the budget; false once it is spent.
    fn take(&self, n: u64) -> bool {
        if !self.fixed {
            return true;
        }
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            });
        if !matches!(taken, Ok(before) if before > n) {
            self.phase.store(STOPPED, Ordering::Relaxed);
        }
        taken.is_ok()
    }
}

/// What one task measured.
struct TaskResult {
    histogram: Histogram<u64>,
    ops: u64,
    errors: u64,
    misses: u64,
    first_error: Option<String>,
}

async fn measure<D: Driver>(
    driver: D,
    workload: Workload,
    writes: bool,
    length: Length,
    histograms: Vec<Histogram<u64>>,
) -> Result<Sample, String> {
    let (phase, left, fixed) = match length {
        Length::Timed { .. } => (WARMING, 0, false),
        Length::Ops(n) => (COUNTING, n, true),
    };
    let control = Arc::new(Control {
        phase: AtomicU8::new(phase),
        left: AtomicU64::new(left),
        fixed,
        writes,
    });
    let mut tasks = Vec::with_capacity(histograms.len());
    for (i, histogram) in histograms.into_iter().enumerate() {
        let driver = driver.clone();
        let control = Arc::clone(&control);
        tasks.push(tokio::spawn(task(
            driver,
            workload,
            control,
            histogram,
            0x5107_0000 + i as u64,
        )));
    }
    let (cpu_start, started) = match length {
        Length::Timed { warmup, .. } => {
            tokio::time::sleep(warmup).await;
            let edge = (cpu_time(), Instant::now());
            control.phase.store(COUNTING, Ordering::Relaxed);
            edge
        }
        Length::Ops(_) => (cpu_time(), Instant::now()),
    };
    // Read after the CPU edge, so the reading's own cost is outside the window's CPU time.
    let cache_start = driver.cache();
    // Timed: the window closes when the phase changes, and both edges are read there; calls
    // still in flight then finish uncounted. Fixed count: the window ends with the last task.
    let mut end = None;
    if let Length::Timed { window, .. } = length {
        tokio::time::sleep(window).await;
        control.phase.store(STOPPED, Ordering::Relaxed);
        end = Some((cpu_time(), started.elapsed(), driver.cache()));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.map_err(|e| format!("a task failed: {e}"))?);
    }
    let (cpu_end, elapsed, cache_end) =
        end.unwrap_or_else(|| (cpu_time(), started.elapsed(), driver.cache()));
    let seconds = elapsed.as_secs_f64();
    let cpu = cpu_end.saturating_sub(cpu_start);
    let mut sample = summarize(results, seconds, cpu)?;
    sample.cache = cache_end
        .zip(cache_start)
        .map(|(end, start)| end.since(start));
    Ok(sample)
}

fn summarize(results: Vec<TaskResult>, seconds: f64, cpu: Duration) -> Result<Sample, String> {
    let mut merged = new_histogram()?;
    let mut sample = Sample::default();
    for r in results {
        merged
            .add(&r.histogram)
            .map_err(|e| format!("merging histograms: {e}"))?;
        sample.ops += r.ops;
        sample.errors += r.errors;
        sample.misses += r.misses;
        if sample.first_error.is_none() {
            sample.first_error = r.first_error;
        }
    }
    sample.seconds = seconds;
    if sample.ops > 0 && seconds > 0.0 {
        sample.ops_per_sec = sample.ops as f64 / seconds;
        sample.cpu_us_per_op = cpu.as_secs_f64() * 1e6 / sample.ops as f64;
    }
    sample.p50_us = merged.value_at_quantile(0.50) as f64 / 1000.0;
    sample.p99_us = merged.value_at_quantile(0.99) as f64 / 1000.0;
    Ok(sample)
}

async fn task<D: Driver>(
    mut driver: D,
    workload: Workload,
    control: Arc<Control>,
    mut histogram: Histogram<u64>,
    seed: u64,
) -> TaskResult {
    let mut rng = fastrand::Rng::with_seed(seed);
    let op = workload.op();
    let keyspace = workload.keyspace();
    let writes = control.writes;
    let width = match op {
        Op::Mget => MGET_KEYS,
        Op::Pipeline => PIPELINE_COMMANDS,
        Op::Get | Op::Set => workload.depth(),
    };
    // One `MGET` is one operation; otherwise each key is one.
    let per_call = if op == Op::Mget { 1 } else { width as u64 };
    let mut keys: Vec<Key> = vec![key(0); width];
    let mut result = TaskResult {
        histogram: Histogram::new_from(&histogram),
        ops: 0,
        errors: 0,
        misses: 0,
        first_error: None,
    };
    loop {
        if control.phase() == STOPPED || !control.take(per_call) {
            break;
        }
        for k in keys.iter_mut() {
            *k = key(rng.u64(..keyspace));
        }
        // Drawn only in the workloads with writes, so the others' keys stay as they were.
        let op = if writes && rng.u32(..WRITES_PER) == 0 {
            Op::Set
        } else {
            op
        };
        let start = Instant::now();
        let outcome = match (op, width) {
            (Op::Get, 1) => driver.get(&keys[0]).await.map(usize::from),
            (Op::Set, 1) => driver.set(&keys[0]).await.map(|()| 1),
            (Op::Get, _) => driver.get_many(&keys).await,
            (Op::Set, _) => driver.set_many(&keys).await,
            (Op::Mget, _) => driver.mget(&keys).await,
            (Op::Pipeline, _) => driver.pipeline(&keys).await,
        };
        let nanos = start.elapsed().as_nanos() as u64;
        // A fixed count counts every call it admitted; a timed run only those that end inside
        // the window.
        if !control.fixed && control.phase() != COUNTING {
            continue;
        }
        match outcome {
            Ok(found) => {
                // Saturating: a latency beyond the histogram's range still counts, at its top.
                let _ = histogram.record_n(nanos.clamp(1, histogram.high()), per_call);
                result.ops += per_call;
                result.misses += width as u64 - found as u64;
            }
            Err(e) => {
                result.errors += 1;
                if result.first_error.is_none() {
                    result.first_error = Some(e);
                }
            }
        }
    }
    result.histogram = histogram;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_through_json() {
        let sample = Sample {
            ops: 10,
            ops_per_sec: 5.0,
            cache: Some(CacheCounts {
                hits: 9,
                misses: 1,
                evictions: None,
                entries: Some(7),
                bytes: Some(700),
            }),
            ..Sample::default()
        };
        let back = Sample::from_json(&sample.to_json().to_string()).unwrap();
        assert_eq!((back.ops, back.ops_per_sec), (10, 5.0));
        assert_eq!(back.cache, sample.cache);
        let plain = Sample::from_json(&Sample::default().to_json().to_string()).unwrap();
        assert_eq!(plain.cache, None, "no cache, no cache counts");
    }
}
