//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod fake_node;
pub(crate) mod node_exec;
