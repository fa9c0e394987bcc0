//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Fault scenarios print what they measured: those figures go in reports.
#![allow(clippy::print_stdout)]

pub(crate) mod cases;
pub(crate) mod delay_proxy;
pub(crate) mod events;
pub(crate) mod fake_node;
pub(crate) mod faults;
pub(crate) mod kill;
pub(crate) mod load;
pub(crate) mod node_exec;
pub(crate) mod stats;

use std::time::Duration;

/// How much later than its own deadline a call may return, or a client may serve again after
/// the cluster recovered, on a two-core machine shared with the cluster's servers and other
/// builds. Tests assert what the client does, with bounds of seconds; how fast it does it (the
/// goals of 250 ms after an election and 100 ms after a step-down) is measured side by side
/// with other clients by `slotwise-bench recovery`.
pub(crate) const SLACK: Duration = Duration::from_secs(3);
