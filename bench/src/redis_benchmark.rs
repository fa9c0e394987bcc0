//! `redis-benchmark --cluster`, the server project's C tool, as the ceiling the clients are
//! measured against.
//!
//! It runs a fixed number of requests rather than a fixed time, so the request count is chosen
//! from the rate measured last time to make each run last about the window the clients get.
//! Its latency percentiles come from its `--csv` report; its CPU time and peak memory come from
//! `wait4` on its process (they include its start-up, which is small next to the run).
//!
//! In cluster mode it puts one hash tag per node into its keys (`key:{06S}:000000012345`), so
//! its keys are not the clients' keyspace: its `GET`s find what its own `SET` rows wrote earlier
//! in the run and get the short nil reply for the rest. The request and the server's work per
//! command are otherwise the same.

use std::process::Command;
use std::time::Duration;

use crate::measure::run_child;
use crate::worker::Sample;
use crate::workload::{Workload, KEYSPACE, VALUE};

/// The program name on `PATH`.
const PROGRAM: &str = "redis-benchmark";

/// True if `redis-benchmark` can be run.
pub(crate) fn available() -> bool {
    Command::new(PROGRAM)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The install hint shown when it cannot.
pub(crate) const INSTALL_HINT: &str =
    "redis-benchmark not found; install it with `apt-get install -y redis-tools` to get its rows";

/// Runs `redis-benchmark` with the arguments paired with `workload` for about `window`, given
/// the rate it reached last time (or a guess).
pub(crate) fn run(
    workload: Workload,
    host: &str,
    port: u16,
    window: Duration,
    expected_rate: f64,
) -> Result<Sample, String> {
    let Some((test, connections, pipeline)) = workload.redis_benchmark_args() else {
        return Err(format!("redis-benchmark has no row for {workload}"));
    };
    // At least one request per connection and pipeline slot, so every connection takes part.
    let floor = u64::from(connections * pipeline) * 10;
    let requests = ((expected_rate * window.as_secs_f64()) as u64).max(floor);
    let mut command = Command::new(PROGRAM);
    command
        .arg("--cluster")
        .args(["-h", host])
        .args(["-p", &port.to_string()])
        .args(["-c", &connections.to_string()])
        .args(["-P", &pipeline.to_string()])
        .args(["-t", test])
        .args(["-d", &VALUE.len().to_string()])
        .args(["-r", &KEYSPACE.to_string()])
        .args(["-n", &requests.to_string()])
        .arg("--csv");
    let done = run_child(command)?;
    if !done.success {
        return Err(format!(
            "redis-benchmark failed: {}{}",
            done.stderr.trim(),
            done.stdout.trim()
        ));
    }
    let report = parse_csv(&done.stdout, test)?;
    let seconds = requests as f64 / report.rps;
    Ok(Sample {
        ops: requests,
        seconds,
        ops_per_sec: report.rps,
        p50_us: report.p50_ms * 1000.0,
        p99_us: report.p99_ms * 1000.0,
        cpu_us_per_op: done.cpu.as_secs_f64() * 1e6 / requests as f64,
        rss_kib: done.max_rss_kib,
        ..Sample::default()
    })
}

/// The figures read from one `--csv` report line.
#[derive(Debug, PartialEq)]
struct Report {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Finds the header and the line of `test` in a `--csv` report. Cluster mode prints the node
/// list first, so the header is searched for rather than assumed to be the first line.
fn parse_csv(output: &str, test: &str) -> Result<Report, String> {
    let cells = |line: &str| -> Vec<String> {
        line.split(',')
            .map(|c| c.trim().trim_matches('"').to_owned())
            .collect()
    };
    let mut lines = output.lines();
    let header = lines
        .by_ref()
        .map(cells)
        .find(|c| c.first().is_some_and(|f| f == "test"))
        .ok_or_else(|| format!("no CSV header in redis-benchmark output: {output:?}"))?;
    let row = lines
        .map(cells)
        .find(|c| c.first().is_some_and(|f| f.eq_ignore_ascii_case(test)))
        .ok_or_else(|| format!("no {test} line in redis-benchmark output: {output:?}"))?;
    let column = |name: &str| -> Result<f64, String> {
        let i = header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no {name} column in redis-benchmark output"))?;
        row.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("bad {name} value in redis-benchmark output"))
    };
    Ok(Report {
        rps: column("rps")?,
        p50_ms: column("p50_latency_ms")?,
        p99_ms: column("p99_latency_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_csv_report() {
        let output = "Cluster has 3 master nodes:\n\nMaster 0: abc 127.0.0.1:7000\n\
            \"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\
            \"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
            \"GET\",\"97087.38\",\"0.471\",\"0.088\",\"0.439\",\"0.735\",\"1.183\",\"5.599\"\n";
        let report = parse_csv(output, "get").unwrap();
        assert_eq!(
            report,
            Report {
                rps: 97087.38,
                p50_ms: 0.439,
                p99_ms: 1.183
            }
        );
        assert!(parse_csv(output, "set").is_err());
    }
}
