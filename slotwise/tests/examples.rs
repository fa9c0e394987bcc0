//! Every example in `examples/` runs against a real cluster and exits 0.
//!
//! `cargo test` builds the examples along with the tests, into `target/<profile>/examples/`
//! next to this test's own `deps/` directory. When this test runs alone (`cargo test --test
//! examples`) cargo does not build them, so a missing or outdated example is built here with
//! the same cargo first.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// The examples, one per topic of redis-py's clustering guide.
const EXAMPLES: [&str; 15] = [
    "create_client",
    "keyslot_hash_tags",
    "target_nodes",
    "multi_key",
    "scan_cluster",
    "pipelines",
    "pubsub",
    "keyspace_notifications",
    "read_from_replicas",
    "az_reads",
    "direct_node_access",
    "blocking",
    "cluster_events",
    "node_stats",
    "client_cache",
];

/// An example talks to a local cluster for well under a second; this only bounds a hang.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// `target/<profile>/examples/`: this test is `target/<profile>/deps/examples-<hash>`.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps/");
    profile_dir.join("examples")
}

fn source_of(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.rs"))
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The example binaries, built first if any is missing or older than its source.
fn binaries() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = examples_dir();
        let stale = EXAMPLES.iter().any(|name| {
            match (modified(&dir.join(name)), modified(&source_of(name))) {
                (Some(binary), Some(source)) => binary < source,
                _ => true,
            }
        });
        if stale {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "slotwise", "--examples"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the examples failed: {status}");
        }
        dir
    })
}

/// Runs one example against the shared cluster and checks it exits 0 having printed something.
fn run(name: &str) {
    let seed = slotwise_testkit::shared().seed_url();
    let binary = binaries().join(name);
    let mut child = Command::new(&binary)
        .arg(&seed)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let deadline = Instant::now() + RUN_LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("example {name} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "example {name} failed ({}) against {seed}:\nstdout:\n{out}\nstderr:\n{err}",
        output.status
    );
    assert!(!out.trim().is_empty(), "example {name} printed nothing");
}

#[test]
fn every_example_file_is_run_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "rs" {
                return None;
            }
            Some(path.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    found.sort();
    let mut listed: Vec<String> = EXAMPLES.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(found, listed, "examples/ and EXAMPLES differ");
    // And each has a test of its own below.
    let tests = include_str!("examples.rs");
    for name in EXAMPLES {
        assert!(
            tests.contains(&format!("run(\"{name}\")")),
            "no test runs the example {name}"
        );
    }
}

#[test]
fn create_client() {
    run("create_client");
}

#[test]
fn keyslot_hash_tags() {
    run("keyslot_hash_tags");
}

#[test]
fn target_nodes() {
    run("target_nodes");
}

#[test]
fn multi_key() {
    run("multi_key");
}

#[test]
fn scan_cluster() {
    run("scan_cluster");
}

#[test]
fn read_from_replicas() {
    run("read_from_replicas");
}

#[test]
fn az_reads() {
    run("az_reads");
}

#[test]
fn direct_node_access() {
    run("direct_node_access");
}

#[test]
fn blocking() {
    run("blocking");
}

#[test]
fn pipelines() {
    run("pipelines");
}

#[test]
fn pubsub() {
    run("pubsub");
}

#[test]
fn keyspace_notifications() {
    run("keyspace_notifications");
}

#[test]
fn cluster_events() {
    run("cluster_events");
}

#[test]
fn node_stats() {
    run("node_stats");
}

#[test]
fn client_cache() {
    run("client_cache");
}
