//! The command table: what the server's `COMMAND` says about each command.

use crate::error::Result;
use crate::protocol::{Cmd, Value};

/// Where a command may be sent when it has no keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestPolicy {
    AllNodes,
    AllShards,
    MultiShard,
    Special,
}

/// How the replies of several nodes become one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponsePolicy {
    OneSucceeded,
    AllSucceeded,
    AggSum,
    AggMin,
    AggMax,
    AggLogicalAnd,
    AggLogicalOr,
    Special,
}

/// The outcome of looking for a command's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyScan {
    /// Every key was reported (possibly none).
    Done,
    /// The keys cannot be found from the table (movable keys the specs cannot resolve):
    /// ask the server with `COMMAND GETKEYS`.
    Unknown,
}

/// What the table knows of one command (or subcommand).
#[derive(Clone, Debug)]
pub(crate) struct CommandInfo {
    name: String,
}

impl CommandInfo {
    /// The full name, lower case, subcommands as `parent|sub` (e.g. `cluster|info`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
    /// The command only reads (flag `readonly`).
    pub(crate) fn is_readonly(&self) -> bool {
        false
    }
    /// The command writes (flag `write`).
    pub(crate) fn is_write(&self) -> bool {
        false
    }
    /// The command may block (flag `blocking`).
    pub(crate) fn is_blocking(&self) -> bool {
        false
    }
    /// The `request_policy` tip, if any.
    pub(crate) fn request_policy(&self) -> Option<RequestPolicy> {
        None
    }
    /// The `response_policy` tip, if any.
    pub(crate) fn response_policy(&self) -> Option<ResponsePolicy> {
        None
    }
    /// Calls `f(arg_index, key)` for each key argument of `cmd`, in argument order.
    pub(crate) fn for_each_key<'c>(
        &self,
        cmd: &'c Cmd,
        mut f: impl FnMut(usize, &'c [u8]),
    ) -> KeyScan {
        if let Some(k) = cmd.arg_at(1) {
            f(1, k);
        }
        KeyScan::Done
    }
}

/// Every command the server knows, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommandTable {}

impl CommandTable {
    /// Builds the table from a `COMMAND` reply (RESP2 or RESP3).
    pub(crate) fn from_reply(reply: Value) -> Result<CommandTable> {
        let _ = reply;
        Ok(CommandTable {})
    }

    /// A table from built-in knowledge only, for servers whose `COMMAND` cannot be read.
    pub(crate) fn builtin() -> CommandTable {
        CommandTable {}
    }

    /// The entry for `cmd`, resolving subcommands (`CLUSTER INFO` → `cluster|info`).
    pub(crate) fn lookup(&self, cmd: &Cmd) -> Option<&CommandInfo> {
        let _ = cmd;
        None
    }
}
