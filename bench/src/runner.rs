//! The orchestrator: fills the keyspace once, then for each repetition runs every workload
//! for every client back to back (the clients' order rotating from one repetition to the
//! next, so none always runs first or last), each measurement in a fresh worker process.
//!
//! It collects samples; it does not compute statistics or print tables (see `report`).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use slotwise::{ClusterCommands, RedisCluster};

use crate::drivers::FredBatch;
use crate::measure::run_child;
use crate::redis_benchmark;
use crate::worker::Sample;
use crate::workload::{key, Client, Workload, KEYSPACE, VALUE};

/// What to measure and for how long.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) reps: usize,
    pub(crate) warmup: Duration,
    pub(crate) window: Duration,
    pub(crate) workloads: Vec<Workload>,
    pub(crate) clients: Vec<Client>,
    pub(crate) fred_batch: FredBatch,
    /// `slotwise-cached`'s most keys, if not `CacheConfig`'s default.
    pub(crate) cache_entries: Option<u64>,
}

/// Every sample taken, by workload and client, plus what went wrong on the way.
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) samples: BTreeMap<(Workload, Client), Vec<Sample>>,
    /// Measurements that failed or returned errors, for the operator to see.
    pub(crate) problems: Vec<String>,
}

/// `host` and `port` of a `redis://[user[:password]@]host:port` URL.
pub(crate) fn host_port(url: &str) -> Result<(String, u16), String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split('/').next().unwrap_or(rest);
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("no port in {url:?}"))?;
    let port = port.parse().map_err(|_| format!("bad port in {url:?}"))?;
    Ok((host.to_owned(), port))
}

/// Writes every key of the keyspace once, so reads find values.
pub(crate) fn fill(seed: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    runtime.block_on(async {
        let cluster = RedisCluster::from_url(seed)
            .await
            .map_err(|e| format!("fill: cannot connect: {e}"))?;
        let value = Bytes::from_static(VALUE);
        let mut pairs = Vec::with_capacity(1000);
        for start in (0..KEYSPACE).step_by(1000) {
            pairs.clear();
            pairs.extend((start..(start + 1000).min(KEYSPACE)).map(|n| (key(n), value.clone())));
            cluster
                .mset_nonatomic(&pairs)
                .await
                .map_err(|e| format!("fill: {e}"))?;
        }
        Ok(())
    })
}

/// Runs every measurement of `settings` against the cluster at `seed`.
pub(crate) fn run(settings: &Settings, seed: &str) -> Result<Results, String> {
    let (host, port) = host_port(seed)?;
    let mut results = Results::default();
    let mut clients = settings.clients.clone();
    if clients.contains(&Client::RedisBenchmark) && !redis_benchmark::available() {
        results
            .problems
            .push(redis_benchmark::INSTALL_HINT.to_owned());
        clients.retain(|&c| c != Client::RedisBenchmark);
    }
    let per_rep: usize = settings
        .workloads
        .iter()
        .map(|w| clients.iter().filter(|&&c| w.has(c)).count())
        .sum();
    let progress = ProgressBar::new((per_rep * settings.reps) as u64);
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| format!("progress bar: {e}"))?
            .progress_chars("=> "),
    );
    // The last rate redis-benchmark reached per workload, to size its next run.
    let mut rates: BTreeMap<Workload, f64> = BTreeMap::new();
    for rep in 0..settings.reps {
        for &workload in &settings.workloads {
            let mut order: Vec<Client> = clients
                .iter()
                .copied()
                .filter(|&c| workload.has(c))
                .collect();
            if !order.is_empty() {
                let shift = rep % order.len();
                order.rotate_left(shift);
            }
            for client in order {
                progress.set_message(format!("rep {}: {workload} {client}", rep + 1));
                let sample = if client.is_library() {
                    run_worker(settings, client, workload, seed)
                } else {
                    let rate = match rates.get(&workload) {
                        Some(&rate) => rate,
                        None => calibrate(workload, &host, port)?,
                    };
                    redis_benchmark::run(workload, &host, port, settings.window, rate)
                };
                progress.inc(1);
                match sample {
                    Ok(sample) => {
                        if client == Client::RedisBenchmark {
                            rates.insert(workload, sample.ops_per_sec);
                        }
                        if sample.errors > 0 || sample.misses > 0 {
                            results.problems.push(format!(
                                "rep {}: {workload} {client}: {} errors, {} values missing{}",
                                rep + 1,
                                sample.errors,
                                sample.misses,
                                sample
                                    .first_error
                                    .as_deref()
                                    .map(|e| format!(" (first error: {e})"))
                                    .unwrap_or_default()
                            ));
                        }
                        results
                            .samples
                            .entry((workload, client))
                            .or_default()
                            .push(sample);
                    }
                    Err(e) => results
                        .problems
                        .push(format!("rep {}: {workload} {client}: {e}", rep + 1)),
                }
            }
        }
    }
    progress.finish_and_clear();
    Ok(results)
}

/// A short unrecorded run of `redis-benchmark`, for the rate that sizes the recorded ones.
fn calibrate(workload: Workload, host: &str, port: u16) -> Result<f64, String> {
    // A guess on the low side: the first run is short, never long.
    let guess = match workload.redis_benchmark_args() {
        Some((_, _, 1)) => 10_000.0,
        _ => 100_000.0,
    };
    let sample = redis_benchmark::run(workload, host, port, Duration::from_millis(300), guess)?;
    Ok(sample.ops_per_sec)
}

/// Runs one measurement in a fresh process of this binary and reads its result.
fn run_worker(
    settings: &Settings,
    client: Client,
    workload: Workload,
    seed: &str,
) -> Result<Sample, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut command = Command::new(exe);
    command
        .arg("worker")
        .args(["--client", client.name()])
        .args(["--workload", workload.name()])
        .args(["--seed", seed])
        .args(["--warmup", &settings.warmup.as_secs_f64().to_string()])
        .args(["--duration", &settings.window.as_secs_f64().to_string()])
        .args(["--fred-batch", fred_batch_name(settings.fred_batch)]);
    if let Some(entries) = settings.cache_entries {
        command.args(["--cache-entries", &entries.to_string()]);
    }
    let done = run_child(command)?;
    if !done.success {
        return Err(format!("worker failed: {}", done.stderr.trim()));
    }
    let line = done
        .stdout
        .lines()
        .last()
        .ok_or_else(|| "the worker printed nothing".to_owned())?;
    Sample::from_json(line)
}

fn fred_batch_name(batch: FredBatch) -> &'static str {
    match batch {
        FredBatch::Pipeline => "pipeline",
        FredBatch::Futures => "futures",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_urls() {
        assert_eq!(
            host_port("redis://127.0.0.1:7000").unwrap(),
            ("127.0.0.1".to_owned(), 7000)
        );
        assert_eq!(
            host_port("redis://u:p@host:7001/0").unwrap(),
            ("host".to_owned(), 7001)
        );
        assert!(host_port("redis://host").is_err());
    }
}
