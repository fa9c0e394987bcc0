//! `slotwise-bench invalidation`: how long after another client's write is acknowledged the
//! caching client's connection has the node's invalidation of the key, the window in which the
//! client-side cache may still serve the old value.
//!
//! Each round takes the next of [`KEYS`] keys (spread over every primary): the caching client
//! reads it until a read is served from memory; a second client, without a cache, writes a new
//! value and notes when the write's reply is back (the *ack*); then the caching client reads the
//! key again and again, each read served from memory (about a microsecond) until the
//! invalidation has dropped it, when the read goes to the node and returns the new value. The
//! start of that first fresh read, less the ack, is the round's window: an upper bound on when
//! the invalidation arrived, off by at most one cached read. A first read already fresh means
//! the invalidation came no later than the ack (the node sends it when the write runs, before
//! the write's reply), and counts as 0.
//!
//! One task does everything, on a multi-thread runtime with 2 workers: the connections' reader
//! tasks hand the invalidation over on their own. Between two reads the task yields its
//! thread too, so that polling does not take the core a server needs. This mode measures; the fault tests
//! (`slotwise/tests/fault_client_cache.rs`) check correctness.

use std::time::{Duration, Instant};

use slotwise::commands::StringCommands;
use slotwise::{CacheConfig, RedisCluster};

/// Keys the rounds cycle through.
const KEYS: usize = 100;
/// Rounds run first and not counted: connections open, the command table loaded.
const WARMUP_ROUNDS: usize = 100;
/// Reads of a key that should be cached before the round gives up on it.
const MAX_WARM_READS: usize = 10;
/// Reads after the ack before the round gives up: the invalidation never came.
const MAX_POLLS: u64 = 10_000_000;

/// What the rounds measured.
#[derive(Debug)]
pub(crate) struct Windows {
    /// Each round's window, sorted.
    pub(crate) windows: Vec<Duration>,
    /// Rounds whose first read after the ack was already fresh.
    pub(crate) by_the_ack: usize,
    /// Each round's write, from the call to its reply, sorted.
    pub(crate) writes: Vec<Duration>,
    /// Cached reads made while waiting for the invalidations, over all rounds.
    pub(crate) polls: u64,
}

/// Runs `rounds` rounds against the cluster at `seed`.
pub(crate) fn run(seed: &str, rounds: usize) -> Result<Windows, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    runtime.block_on(measure(seed, rounds))
}

async fn measure(seed: &str, rounds: usize) -> Result<Windows, String> {
    let caching = RedisCluster::builder()
        .url(seed)
        .client_side_cache(CacheConfig::new())
        .build()
        .await
        .map_err(|e| format!("cannot connect the caching client: {e}"))?;
    let writer = RedisCluster::from_url(seed)
        .await
        .map_err(|e| format!("cannot connect the writer: {e}"))?;
    let keys: Vec<String> = (0..KEYS).map(|i| format!("csc-window:{i}")).collect();
    let mut out = Windows {
        windows: Vec::with_capacity(rounds),
        by_the_ack: 0,
        writes: Vec::with_capacity(rounds),
        polls: 0,
    };
    for round in 0..WARMUP_ROUNDS + rounds {
        let key = &keys[round % KEYS];
        let value = round as u64;
        cached(&caching, key).await?;
        let sent = Instant::now();
        writer
            .set(key, value)
            .await
            .map_err(|e| format!("SET {key}: {e}"))?;
        let acked = Instant::now();
        let mut polls = 0u64;
        let fresh_at = loop {
            let started = Instant::now();
            let got: Option<u64> = caching
                .get(key)
                .await
                .map_err(|e| format!("GET {key}: {e}"))?;
            if got == Some(value) {
                break started;
            }
            polls += 1;
            if polls >= MAX_POLLS {
                return Err(format!("{key}: no invalidation after {polls} cached reads"));
            }
            // Both yields: a tight loop of cached reads would otherwise hold a core the node
            // needs to send the invalidation (on two cores that alone adds milliseconds to
            // the tail); a yield costs about as much as a cached read, so the resolution
            // stays a few microseconds.
            std::thread::yield_now();
            tokio::task::yield_now().await;
        };
        if round < WARMUP_ROUNDS {
            continue;
        }
        out.polls += polls;
        if polls == 0 {
            out.by_the_ack += 1;
            out.windows.push(Duration::ZERO);
        } else {
            out.windows.push(fresh_at - acked);
        }
        out.writes.push(acked - sent);
    }
    out.windows.sort_unstable();
    out.writes.sort_unstable();
    Ok(out)
}

/// Reads `key` through the cache until a read is served from memory.
async fn cached(caching: &RedisCluster, key: &str) -> Result<(), String> {
    for _ in 0..MAX_WARM_READS {
        let hits = caching.stats().cache.hits;
        let _: Option<u64> = caching
            .get(key)
            .await
            .map_err(|e| format!("GET {key}: {e}"))?;
        if caching.stats().cache.hits > hits {
            return Ok(());
        }
    }
    Err(format!(
        "{key} was not served from memory in {MAX_WARM_READS} reads"
    ))
}

/// The value at quantile `q` of sorted `values`.
fn quantile(values: &[Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let i = ((values.len() - 1) as f64 * q).round() as usize;
    values[i.min(values.len() - 1)]
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// The result as a markdown table.
pub(crate) fn markdown(w: &Windows) -> String {
    let n = w.windows.len();
    let polls = match n {
        0 => 0.0,
        n => w.polls as f64 / n as f64,
    };
    let share = match n {
        0 => 0.0,
        n => 100.0 * w.by_the_ack as f64 / n as f64,
    };
    let mut table = String::from(
        "| Rounds | ack → invalidation p50 (µs) | p90 | p99 | max | arrived by the ack | \
         cached reads per round | write p50 (µs) | write p99 |\n\
         |--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    table.push_str(&format!(
        "| {n} | {} | {} | {} | {} | {share:.0} % | {polls:.1} | {} | {} |",
        micros(quantile(&w.windows, 0.5)),
        micros(quantile(&w.windows, 0.9)),
        micros(quantile(&w.windows, 0.99)),
        micros(quantile(&w.windows, 1.0)),
        micros(quantile(&w.writes, 0.5)),
        micros(quantile(&w.writes, 0.99)),
    ));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_from_the_sorted_values() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(quantile(&values, 0.5), Duration::from_micros(51));
        assert_eq!(quantile(&values, 0.99), Duration::from_micros(99));
        assert_eq!(quantile(&values, 1.0), Duration::from_micros(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }
}
