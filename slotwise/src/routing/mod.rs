//! How a command is routed: the command table built from `COMMAND`, where a command's keys are,
//! and how the replies of several nodes are merged.
//!
//! Pure: no sockets. The cluster module fetches `COMMAND` and sends what this module decides.

mod merge;
mod table;

pub(crate) use merge::merge_replies;
pub(crate) use table::{CommandInfo, CommandTable, KeyScan, RequestPolicy, ResponsePolicy};
