//! `slotwise-bench`: slotwise side by side with redis-rs, fred and `redis-benchmark` on one
//! local cluster, in one interleaved run.
//!
//! `cargo run --release -p slotwise-bench` starts a cluster (3 primaries, 3 replicas), fills
//! the keyspace, measures every workload for every client over several repetitions and prints
//! markdown tables (see `BENCHMARKS.md` for the method). Modes:
//!
//! - the default: the whole comparison; `--quick` for a one-repetition smoke run;
//! - `worker`: one measurement in this process, one JSON line on stdout (the default mode runs
//!   each measurement this way, in a process of its own);
//! - `serve`: a filled cluster kept up until stdin closes, for `bench/callgrind.sh`.
//!
//! - `recovery`: every client through a primary kill, a slot migration and a failover;
//! - `pubsub-recovery`: every client's subscriptions through the same faults: how long each
//!   channel went deaf and how many messages were lost.
//! - `invalidation`: slotwise's client-side cache, how long after another client's write is
//!   acknowledged the node's invalidation arrives.
//! - `scale`: slotwise on real clusters of 3 and 32 primaries: build time, sockets, memory,
//!   idle CPU, and serving a killed primary's slots again.
//!
//! The codec micro-benchmark is separate: `cargo bench -p slotwise-bench --bench codec`.

mod drivers;
mod invalidation;
mod measure;
mod pubsub_recovery;
mod recovery;
mod redis_benchmark;
mod report;
mod runner;
mod scale;
mod worker;
mod workload;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use slotwise_testkit::LocalCluster;

use drivers::FredBatch;
use runner::Settings;
use slotwise::CacheConfig;
use worker::{Length, Setup};
use workload::{Client, Workload};

#[derive(Parser, Debug)]
#[command(
    name = "slotwise-bench",
    about = "slotwise side by side with redis-rs, fred and redis-benchmark on a local cluster",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Runs one measurement in this process and prints its result as one JSON line.
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// Starts a cluster, fills the keyspace, prints the seed URL, and keeps the cluster up
    /// until stdin closes.
    Serve,
    /// Runs each client through a primary kill (not the seed node, then the seed node), a slot
    /// migration and a graceful failover, several times, and prints how each recovered.
    Recovery(RecoveryArgs),
    /// One client under verified load while the parent injects a fault.
    #[command(hide = true)]
    RecoveryWorker(RecoveryWorkerArgs),
    /// Runs each client's subscriptions (classic, pattern, sharded) through a kill, a
    /// graceful failover and a slot migration, several times, and prints how long each went
    /// deaf and what it lost.
    PubsubRecovery(PubsubRecoveryArgs),
    /// One client's subscriptions and a publisher while the parent injects a fault.
    #[command(hide = true)]
    PubsubRecoveryWorker(PubsubRecoveryWorkerArgs),
    /// Measures, with slotwise's client-side cache on, the window from another client's
    /// acknowledged write to the node's invalidation reaching the caching client.
    Invalidation(InvalidationArgs),
    /// Measures slotwise on real clusters of several sizes: build time, sockets, memory, idle
    /// CPU, and serving a killed primary's slots again.
    Scale(ScaleArgs),
}

/// The scale measurement.
#[derive(Args, Debug)]
struct ScaleArgs {
    /// Cluster sizes in primaries (one replica each), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [3, 32])]
    primaries: Vec<usize>,
    /// Seconds the client idles while its CPU is counted.
    #[arg(long, default_value_t = 60)]
    idle_secs: u64,
    /// Primaries killed one after the other on each cluster (never the seed).
    #[arg(long, default_value_t = 2)]
    kills: usize,
}

/// The invalidation window.
#[derive(Args, Debug)]
struct InvalidationArgs {
    /// Rounds measured (one write and its invalidation each).
    #[arg(long, default_value_t = 1000)]
    rounds: usize,
    /// Use the cluster at this URL instead of starting one.
    #[arg(long, value_name = "URL")]
    seed: Option<String>,
}

/// The pub/sub recovery comparison.
#[derive(Args, Debug)]
struct PubsubRecoveryArgs {
    /// The clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [Client::Slotwise, Client::RedisRs, Client::Fred])]
    clients: Vec<Client>,
    /// The scenarios, comma-separated: kill, kill-seed, migrate, failover.
    #[arg(long, value_delimiter = ',', default_values_t = [recovery::Scenario::Kill, recovery::Scenario::Failover, recovery::Scenario::Migrate])]
    scenarios: Vec<recovery::Scenario>,
    /// The subscription kinds, comma-separated: classic, pattern, sharded.
    #[arg(long, value_delimiter = ',', default_values_t = pubsub_recovery::Kind::ALL)]
    kinds: Vec<pubsub_recovery::Kind>,
    /// Runs of every scenario × kind with every client, each on a fresh cluster.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also write every run's row as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// One pub/sub recovery worker.
#[derive(Args, Debug)]
struct PubsubRecoveryWorkerArgs {
    #[arg(long)]
    client: Client,
    #[arg(long, value_name = "URL")]
    seed: String,
    #[arg(long)]
    kind: pubsub_recovery::Kind,
    /// The channel names, comma-separated.
    #[arg(long, value_delimiter = ',')]
    channels: Vec<String>,
}

/// The recovery comparison.
#[derive(Args, Debug)]
struct RecoveryArgs {
    /// The clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [Client::Slotwise, Client::RedisRs, Client::Fred])]
    clients: Vec<Client>,
    /// The scenarios, comma-separated: kill, kill-seed, migrate, failover.
    #[arg(long, value_delimiter = ',', default_values_t = recovery::Scenario::ALL)]
    scenarios: Vec<recovery::Scenario>,
    /// Runs of every scenario with every client, each on a fresh cluster; the summary shows
    /// medians over them.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also write every run's row as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// One recovery worker.
#[derive(Args, Debug)]
struct RecoveryWorkerArgs {
    #[arg(long)]
    client: Client,
    #[arg(long, value_name = "URL")]
    seed: String,
    /// The slots the fault affects, as `a-b,c-d`.
    #[arg(long)]
    affected: String,
    /// A hash tag for every key.
    #[arg(long)]
    tag: Option<String>,
}

/// The comparison.
#[derive(Args, Debug)]
struct RunArgs {
    /// Repetitions; each runs every client on every workload.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Seconds each timed loop lasts.
    #[arg(long, default_value_t = 2.0)]
    duration: f64,
    /// Seconds of unrecorded load before each timed loop.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// A one-repetition smoke run of a few workloads with short loops.
    #[arg(long)]
    quick: bool,
    /// Also write the rows as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Use the cluster at this URL (already filled or not) instead of starting one.
    #[arg(long, value_name = "URL")]
    seed: Option<String>,
    /// Only these workloads (repeatable).
    #[arg(long = "workload", value_name = "NAME")]
    workloads: Vec<Workload>,
    /// Only these clients (repeatable).
    #[arg(long = "client", value_name = "NAME")]
    clients: Vec<Client>,
    /// How the fred adapter keeps several commands in flight.
    #[arg(long, value_enum, default_value_t = FredBatch::Pipeline)]
    fred_batch: FredBatch,
    /// The most keys `slotwise-cached` keeps (`CacheConfig::max_entries`); default is
    /// `CacheConfig`'s own (10,000).
    #[arg(long, value_name = "N")]
    cache_entries: Option<u64>,
}

/// One measurement.
#[derive(Args, Debug)]
struct WorkerArgs {
    #[arg(long)]
    client: Client,
    #[arg(long)]
    workload: Workload,
    #[arg(long, value_name = "URL")]
    seed: String,
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    #[arg(long, default_value_t = 2.0)]
    duration: f64,
    /// Run exactly this many operations instead of a timed loop (no warm-up).
    #[arg(long)]
    ops: Option<u64>,
    #[arg(long, value_enum, default_value_t = FredBatch::Pipeline)]
    fred_batch: FredBatch,
    #[arg(long, value_name = "N")]
    cache_entries: Option<u64>,
    /// Leave out the workload's writes, for measuring a cache hit alone.
    #[arg(long)]
    read_only: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.mode {
        Some(Mode::Worker(args)) => worker_mode(args),
        Some(Mode::Serve) => serve_mode(),
        Some(Mode::Recovery(args)) => recovery_mode(args),
        Some(Mode::RecoveryWorker(args)) => recovery_worker_mode(args),
        Some(Mode::PubsubRecovery(args)) => pubsub_recovery_mode(args),
        Some(Mode::Invalidation(args)) => invalidation_mode(args),
        Some(Mode::Scale(args)) => scale_mode(args),
        Some(Mode::PubsubRecoveryWorker(args)) => {
            pubsub_recovery::worker::run(&pubsub_recovery::worker::WorkerSettings {
                client: args.client,
                seed: args.seed,
                kind: args.kind,
                channels: args.channels,
                timeout: recovery::REQUEST_TIMEOUT,
            })
        }
        None => run_mode(cli.run),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("slotwise-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn seconds(s: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("--{what} must be a number of seconds"))
}

/// The cluster the issue specifies: 3 primaries with a replica each, a 2 s node timeout, no
/// persistence (the kit's default for its servers).
pub(crate) fn start_cluster() -> Result<LocalCluster, String> {
    LocalCluster::builder()
        .primaries(3)
        .replicas(1)
        .node_timeout(Duration::from_millis(2000))
        .start()
        .map_err(|e| format!("cannot start the cluster: {e}"))
}

/// The cluster at `seed`, or a local one started now (kept alive by the returned handle).
fn seed_or_start(seed: Option<String>) -> Result<(String, Option<LocalCluster>), String> {
    match seed {
        Some(seed) => Ok((seed, None)),
        None => {
            eprintln!("starting a local cluster (3 primaries, 3 replicas)…");
            let cluster = start_cluster()?;
            Ok((cluster.seed_url(), Some(cluster)))
        }
    }
}

fn run_mode(args: RunArgs) -> Result<(), String> {
    let mut settings = Settings {
        reps: args.reps.max(1),
        warmup: seconds(args.warmup, "warmup")?,
        window: seconds(args.duration, "duration")?,
        workloads: if args.workloads.is_empty() {
            Workload::ALL.to_vec()
        } else {
            args.workloads
        },
        clients: if args.clients.is_empty() {
            Client::ALL.into_iter().filter(|c| c.is_built()).collect()
        } else {
            if let Some(c) = args.clients.iter().find(|c| !c.is_built()) {
                return Err(c.unavailable());
            }
            args.clients
        },
        fred_batch: args.fred_batch,
        cache_entries: args.cache_entries,
    };
    if args.quick {
        settings.reps = 1;
        settings.warmup = Duration::from_millis(200);
        settings.window = Duration::from_millis(500);
        settings.workloads.retain(|w| Workload::QUICK.contains(w));
    }
    // Bound before the results so the cluster outlives every measurement.
    let (seed, _cluster) = seed_or_start(args.seed)?;
    eprintln!("filling {} keys…", workload::KEYSPACE);
    runner::fill(&seed)?;
    let results = runner::run(&settings, &seed)?;
    for problem in &results.problems {
        eprintln!("warning: {problem}");
    }
    let rows = report::rows(&results);
    let cache_entries = settings
        .cache_entries
        .map_or(CacheConfig::default(), |n| {
            CacheConfig::default().max_entries(n)
        })
        .get_max_entries();
    print_table(&settings, &report::markdown(&rows, cache_entries));
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&report::json(&rows))
            .map_err(|e| format!("cannot encode the JSON: {e}"))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

#[allow(clippy::print_stdout)] // The table on stdout is this mode's output.
fn print_table(settings: &Settings, table: &str) {
    let cache = match settings.cache_entries {
        Some(n) => format!("; slotwise-cached keeps at most {n} keys"),
        None => String::new(),
    };
    println!(
        "{} repetitions, {:.1} s per timed loop after {:.1} s of warm-up{cache}; cells: median (min–max)\n",
        settings.reps,
        settings.window.as_secs_f64(),
        settings.warmup.as_secs_f64()
    );
    println!("{table}");
}

fn worker_mode(args: WorkerArgs) -> Result<(), String> {
    let length = match args.ops {
        Some(n) => Length::Ops(n),
        None => Length::Timed {
            warmup: seconds(args.warmup, "warmup")?,
            window: seconds(args.duration, "duration")?,
        },
    };
    let mut cache = CacheConfig::default();
    if let Some(entries) = args.cache_entries {
        cache = cache.max_entries(entries);
    }
    let setup = Setup {
        fred_batch: args.fred_batch,
        cache,
        read_only: args.read_only,
    };
    let sample = worker::run(args.client, args.workload, &args.seed, length, &setup)?;
    print_line(&sample.to_json().to_string());
    Ok(())
}

#[allow(clippy::print_stdout)] // The worker's result line is read from stdout by its parent.
fn print_line(line: &str) {
    println!("{line}");
}

fn serve_mode() -> Result<(), String> {
    let cluster = start_cluster()?;
    let seed = cluster.seed_url();
    runner::fill(&seed)?;
    print_line(&seed);
    // Blocks until the caller closes stdin (or exits); the cluster's servers die with us.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(cluster);
    Ok(())
}

fn recovery_mode(args: RecoveryArgs) -> Result<(), String> {
    if let Some(c) = args.clients.iter().find(|c| !c.has_recovery_mode()) {
        return Err(format!("{c} has no recovery mode"));
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".to_owned());
    }
    let rows = recovery::run(&args.scenarios, &args.clients, args.runs);
    print_line(&recovery::markdown(
        &rows,
        &args.scenarios,
        &args.clients,
        args.runs,
    ));
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&recovery::json(&rows))
            .map_err(|e| format!("cannot encode the JSON: {e}"))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn pubsub_recovery_mode(args: PubsubRecoveryArgs) -> Result<(), String> {
    if let Some(c) = args.clients.iter().find(|c| !c.has_recovery_mode()) {
        return Err(format!("{c} has no pub/sub recovery mode"));
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".to_owned());
    }
    let rows = pubsub_recovery::run(&args.scenarios, &args.kinds, &args.clients, args.runs);
    print_line(&pubsub_recovery::markdown(
        &rows,
        &args.scenarios,
        &args.kinds,
        &args.clients,
        args.runs,
    ));
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&pubsub_recovery::json(&rows))
            .map_err(|e| format!("cannot encode the JSON: {e}"))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn invalidation_mode(args: InvalidationArgs) -> Result<(), String> {
    if args.rounds == 0 {
        return Err("--rounds must be at least 1".to_owned());
    }
    // Bound first so the cluster outlives the measurement.
    let (seed, _cluster) = seed_or_start(args.seed)?;
    let windows = invalidation::run(&seed, args.rounds)?;
    print_line(&invalidation::markdown(&windows));
    Ok(())
}

fn scale_mode(args: ScaleArgs) -> Result<(), String> {
    if args.primaries.is_empty() || args.primaries.contains(&0) {
        return Err("--primaries needs sizes of at least 1".to_owned());
    }
    if args.idle_secs == 0 {
        return Err("--idle-secs must be at least 1".to_owned());
    }
    let rows = scale::run(
        &args.primaries,
        Duration::from_secs(args.idle_secs),
        args.kills,
    )?;
    print_line(&scale::markdown(&rows));
    Ok(())
}

fn recovery_worker_mode(args: RecoveryWorkerArgs) -> Result<(), String> {
    recovery::worker::run(&recovery::worker::WorkerSettings {
        client: args.client,
        seed: args.seed,
        affected: recovery::parse_ranges(&args.affected)?,
        tag: args.tag,
        timeout: recovery::REQUEST_TIMEOUT,
    })
}
