//! The invalidation mode's smoke run: `slotwise-bench invalidation` against a cluster of this
//! test's own must measure every round and print its table, so the mode cannot rot unnoticed.

use std::process::Command;

use slotwise_testkit::LocalCluster;

#[test]
fn invalidation_run_prints_its_table() {
    let cluster = LocalCluster::builder()
        .primaries(3)
        .replicas(0)
        .start()
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_slotwise-bench"))
        .args(["invalidation", "--rounds", "50"])
        .args(["--seed", &cluster.seed_url()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the run failed:\n{stderr}");
    assert!(
        stdout.contains("| Rounds | ack → invalidation p50 (µs) |"),
        "no table on stdout:\n{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| 50 |"))
        .unwrap_or_else(|| panic!("no row of 50 rounds:\n{stdout}"));
    assert_eq!(row.matches('|').count(), 10, "nine cells: {row}");
}
