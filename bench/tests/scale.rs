//! The scale mode's smoke run: `slotwise-bench scale` on a small cluster of its own, one kill,
//! must print its row with every kill served, so the mode cannot rot unnoticed.

use std::process::Command;

#[test]
fn scale_run_prints_its_row() {
    let out = Command::new(env!("CARGO_BIN_EXE_slotwise-bench"))
        .args([
            "scale",
            "--primaries",
            "3",
            "--idle-secs",
            "1",
            "--kills",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the run failed:\n{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| 3 |"))
        .unwrap_or_else(|| panic!("no row of 3 primaries:\n{stdout}"));
    assert_eq!(row.matches('|').count(), 6, "five cells: {row}");
    assert!(!row.contains("not served"), "a kill was not served: {row}");
}

#[test]
fn scale_refuses_killing_the_seed() {
    let out = Command::new(env!("CARGO_BIN_EXE_slotwise-bench"))
        .args(["scale", "--primaries", "2", "--kills", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--kills 2 needs more than 2 primaries"),
        "{stderr}"
    );
}
