//! How a command is routed: the command table built from `COMMAND` (flags, tips, subcommands),
//! where a command's keys are, and how the replies of several nodes are merged.
//!
//! Pure: no sockets, no tokio. The cluster module fetches `COMMAND`, picks nodes and sends;
//! this module only answers questions about commands and replies.
//!
//! - `table`: the table, its entries and the per-command lookup.
//! - `parse`: reading a `COMMAND` reply (RESP2 or RESP3, Redis 6 or 7).
//! - `keys`: key specs and finding keys in a command's arguments.
//! - `builtin`: the fallback data, used only where a server's reply is silent.
//! - `merge`: combining multi-node replies by response policy.
//! - `route`: where a command goes: its keys' slot, its tips, or the default node.
//! - `block`: how long a blocking command may wait, from its arguments.

mod block;
mod builtin;
mod keys;
mod merge;
mod parse;
mod route;
mod table;
#[cfg(test)]
mod tests;

pub(crate) use block::{block_time, Block};
pub(crate) use merge::merge_replies;
pub(crate) use route::{distinct_slots, no_keys, one_slot, route, Route};
pub(crate) use table::{CommandInfo, CommandTable, KeyScan, RequestPolicy, ResponsePolicy};
