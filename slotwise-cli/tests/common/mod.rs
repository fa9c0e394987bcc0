//! Running the `slotwise` binary from the CLI's integration tests.
// Each test binary uses what it needs of these.
#![allow(dead_code)]

use std::process::{Command, Output};

// Test helper, outside any #[test]: the workspace lints cannot tell, but failing to run the
// binary must fail the calling test.
#[allow(clippy::expect_used)]
pub(crate) fn slotwise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slotwise"))
        .args(args)
        .output()
        .expect("the slotwise binary runs")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
