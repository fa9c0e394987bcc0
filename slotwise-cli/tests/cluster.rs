//! `slotwise cluster start|status|stop` against real servers: the whole life of a local cluster
//! driven through the binary, as a user would, and the failure when no server binary exists.

use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use slotwise_testkit::LocalCluster;

mod common;

use common::slotwise;

const NODES: u16 = 6;

/// How many candidate bases this process has probed. Every candidate is probed at most once, so
/// the tests of this binary, running in parallel, never get the same base.
static PROBED: AtomicU32 = AtomicU32::new(0);

/// A base port in 20000..30000 such that it, the next five ports and their cluster bus ports
/// (+10000) are free right now.
fn free_base_port() -> Option<u16> {
    let candidates = 10_000 / u32::from(NODES);
    // Start where the process id points, so two test runs on one machine rarely probe the same
    // ports at the same time.
    let first = std::process::id() % candidates;
    for _ in 0..candidates {
        let n = PROBED.fetch_add(1, Ordering::Relaxed);
        let base = u16::try_from(20_000 + (first + n) % candidates * u32::from(NODES)).ok()?;
        let all_free = (base..base + NODES)
            .flat_map(|port| [port, port + 10_000])
            .all(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
        if all_free {
            return Some(base);
        }
    }
    None
}

/// Stops the cluster at its base port when the test ends, also when it fails half-way.
struct StopOnDrop(u16);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = LocalCluster::stop_persistent(self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn start_status_stop_a_cluster_that_outlives_each_command() {
    let base = free_base_port().expect("6 free consecutive ports (and bus ports) in 20000..30000");
    let port = base.to_string();
    let _guard = StopOnDrop(base);

    let start = slotwise(&["cluster", "start", "--port", &port]);
    let out = text(&start.stdout);
    assert!(
        start.status.success(),
        "cluster start failed: {}\n{out}",
        text(&start.stderr)
    );
    assert!(
        out.contains(&format!("Seed URL: redis://127.0.0.1:{base}")),
        "no seed URL in:\n{out}"
    );
    assert!(out.contains("Cluster ready in"), "no start time in:\n{out}");

    let status = slotwise(&["cluster", "status", "--port", &port]);
    let out = text(&status.stdout);
    assert!(
        status.status.success(),
        "cluster status failed: {}\n{out}",
        text(&status.stderr)
    );
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("127.0.0.1:")).collect();
    let primaries = rows.iter().filter(|l| l.contains(" primary ")).count();
    let replicas = rows.iter().filter(|l| l.contains(" replica ")).count();
    let pongs = rows.iter().filter(|l| l.contains("PONG in")).count();
    assert_eq!(
        (primaries, replicas, pongs),
        (3, 3, 6),
        "expected 3 primaries, 3 replicas and 6 PONGs in:\n{out}"
    );
    assert!(
        out.contains("cluster_state ok"),
        "no cluster_state in:\n{out}"
    );
    assert!(
        out.contains("0-5460") && out.contains("16383"),
        "slot ranges missing in:\n{out}"
    );

    let again = slotwise(&["cluster", "start", "--port", &port]);
    let err = text(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "second start: {err}");
    assert!(
        err.contains("already running") && err.contains("cluster stop"),
        "second start should say a cluster runs and how to stop it, said: {err}"
    );

    let stop = slotwise(&["cluster", "stop", "--port", &port]);
    let out = text(&stop.stdout);
    assert!(
        stop.status.success(),
        "cluster stop failed: {}",
        text(&stop.stderr)
    );
    assert!(out.contains("Stopped 6 nodes"), "stop said:\n{out}");

    let after = slotwise(&["cluster", "status", "--port", &port]);
    let err = text(&after.stderr);
    assert_eq!(after.status.code(), Some(1), "status after stop: {err}");
    assert!(
        err.contains("no cluster is running") && err.contains("cluster start"),
        "status after stop should say nothing runs and how to start, said: {err}"
    );

    let stop_again = slotwise(&["cluster", "stop", "--port", &port]);
    assert!(stop_again.status.success(), "a second stop is not an error");
    assert!(text(&stop_again.stdout).contains("nothing to stop"));
}

#[test]
fn a_missing_server_binary_fails_with_the_install_hint() {
    let base = free_base_port().expect("6 free consecutive ports (and bus ports) in 20000..30000");
    let output = Command::new(env!("CARGO_BIN_EXE_slotwise"))
        .args(["cluster", "start", "--port", &base.to_string()])
        .env("SLOTWISE_REDIS_SERVER", "/nonexistent/redis-server")
        .output()
        .expect("the slotwise binary runs");
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.contains("apt-get install -y redis-server"),
        "expected the install hint, got: {err}"
    );
}
