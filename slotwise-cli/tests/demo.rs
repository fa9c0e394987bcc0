//! `slotwise` with no arguments runs the demo end to end: a cluster of its own on free ports
//! (so it can run beside other tests), every section, the teardown, exit code 0. And without a
//! server binary it fails with the install hint.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The section headings the demo must print, in order.
const SECTIONS: [&str; 8] = [
    "[1/8] Creating a client",
    "[2/8] Key slots and hash tags",
    "[3/8] Target nodes",
    "[4/8] KEYS across nodes",
    "[5/8] Multi-key commands",
    "[6/8] Reading from replicas",
    "[7/8] Direct node access",
    "[8/8] Live failover",
];

/// Far above the demo's usual 5-10 s, for a loaded machine; only a hung demo reaches it.
const DEMO_LIMIT: Duration = Duration::from_secs(120);

/// Runs `command` to completion, killing it after `limit`, and returns what it printed.
// Test helper, outside any #[test]: the workspace lints cannot tell, but failing to run the
// binary must fail the calling test.
#[allow(clippy::expect_used, clippy::panic)]
fn run_within(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the slotwise binary starts");
    // Drained on threads so a chatty child never blocks on a full pipe while we wait.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for slotwise") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let out = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
            panic!("slotwise did not finish within {limit:?}; it printed:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

#[test]
fn no_arguments_runs_the_whole_demo() {
    let started = Instant::now();
    let output = run_within(Command::new(env!("CARGO_BIN_EXE_slotwise")), DEMO_LIMIT);
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the demo failed ({:?}): {err}\n{out}",
        output.status
    );
    let mut rest: &str = &out;
    for heading in SECTIONS {
        let at = rest
            .find(heading)
            .unwrap_or_else(|| panic!("`{heading}` missing or out of order in:\n{out}"));
        rest = &rest[at + heading.len()..];
    }
    for evidence in [
        "Cluster ready in",
        "@ 127.0.0.1:",
        "one reply per node:",
        "is_cross_slot() = true",
        "replica 127.0.0.1:",
        "MOVED",
        "SIGKILL → primary",
        "won the election",
        "The counter was served again",
        "Stopped the cluster's servers",
        "Demo done in",
    ] {
        assert!(out.contains(evidence), "`{evidence}` missing from:\n{out}");
    }
    assert!(
        !out.contains('\x1b'),
        "colour codes in output that is not a terminal:\n{out}"
    );
    // The measured pause is printed for people; here it only needs to be there and plausible.
    println!("demo took {:?}", started.elapsed());
}

#[test]
fn the_demo_without_a_server_binary_says_how_to_install_one() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slotwise"));
    command
        .arg("demo")
        .env("SLOTWISE_REDIS_SERVER", "/nonexistent/redis-server");
    let output = run_within(command, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.contains("apt-get install -y redis-server"),
        "expected the install hint, got: {err}"
    );
}
