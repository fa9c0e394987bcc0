//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Fault scenarios print what they measured: those figures go in reports.
#![allow(clippy::print_stdout)]

pub(crate) mod cases;
pub(crate) mod fake_node;
pub(crate) mod faults;
pub(crate) mod kill;
pub(crate) mod load;
pub(crate) mod node_exec;
pub(crate) mod stats;
