//! The command table: what the server says about each command (arity, flags, tips, where the
//! keys are, subcommands), and the lookup of a [`Cmd`] in it.
//!
//! This file owns the table's types and its hot-path lookup. Reading the `COMMAND` reply is in
//! `parse`, the built-in fallback data in `builtin`, finding keys in `keys`. Nothing here talks to
//! a server or decides where a command goes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::keys::KeySource;
use crate::error::Result;
use crate::protocol::{Cmd, WireReply};

/// Where a command goes when it is not routed by a key (the `request_policy` tip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestPolicy {
    /// To every node, primaries and replicas (`SCRIPT LOAD`, `CONFIG SET`).
    AllNodes,
    /// To every primary (`KEYS`, `DBSIZE`, `FLUSHALL`).
    AllShards,
    /// Split by key across the shards owning them (`MGET`, `DEL`).
    MultiShard,
    /// Needs a routing of its own (`SCAN`).
    Special,
}

impl RequestPolicy {
    fn from_tip(value: &[u8]) -> Option<RequestPolicy> {
        Some(match value {
            b"all_nodes" => RequestPolicy::AllNodes,
            b"all_shards" => RequestPolicy::AllShards,
            b"multi_shard" => RequestPolicy::MultiShard,
            b"special" => RequestPolicy::Special,
            _ => return None,
        })
    }
}

/// How the replies of several nodes become one (the `response_policy` tip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponsePolicy {
    /// The first success; an error only if every node failed.
    OneSucceeded,
    /// Success only if every node succeeded.
    AllSucceeded,
    /// The sum of the integer replies.
    AggSum,
    /// The smallest integer reply.
    AggMin,
    /// The largest integer reply.
    AggMax,
    /// Logical AND of the 0/1 replies.
    AggLogicalAnd,
    /// Logical OR of the 0/1 replies.
    AggLogicalOr,
    /// Needs a merge of its own (`INFO`, `MEMORY STATS`): the replies are given per node.
    Special,
}

impl ResponsePolicy {
    fn from_tip(value: &[u8]) -> Option<ResponsePolicy> {
        Some(match value {
            b"one_succeeded" => ResponsePolicy::OneSucceeded,
            b"all_succeeded" => ResponsePolicy::AllSucceeded,
            b"agg_sum" => ResponsePolicy::AggSum,
            b"agg_min" => ResponsePolicy::AggMin,
            b"agg_max" => ResponsePolicy::AggMax,
            b"agg_logical_and" => ResponsePolicy::AggLogicalAnd,
            b"agg_logical_or" => ResponsePolicy::AggLogicalOr,
            b"special" => ResponsePolicy::Special,
            _ => return None,
        })
    }
}

/// The outcome of looking for a command's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyScan {
    /// Every key was reported (possibly none).
    Done,
    /// The keys cannot be found from the table (movable keys the specs cannot resolve):
    /// ask the server with `COMMAND GETKEYS`. No key was reported.
    Unknown,
}

/// The command flags of `COMMAND`, as a bitset.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CommandFlags(u32);

impl CommandFlags {
    pub(crate) const WRITE: CommandFlags = CommandFlags(1);
    pub(crate) const READONLY: CommandFlags = CommandFlags(1 << 1);
    pub(crate) const DENYOOM: CommandFlags = CommandFlags(1 << 2);
    pub(crate) const MODULE: CommandFlags = CommandFlags(1 << 3);
    pub(crate) const ADMIN: CommandFlags = CommandFlags(1 << 4);
    pub(crate) const PUBSUB: CommandFlags = CommandFlags(1 << 5);
    pub(crate) const NOSCRIPT: CommandFlags = CommandFlags(1 << 6);
    pub(crate) const BLOCKING: CommandFlags = CommandFlags(1 << 7);
    pub(crate) const LOADING: CommandFlags = CommandFlags(1 << 8);
    pub(crate) const STALE: CommandFlags = CommandFlags(1 << 9);
    pub(crate) const SKIP_MONITOR: CommandFlags = CommandFlags(1 << 10);
    pub(crate) const SKIP_SLOWLOG: CommandFlags = CommandFlags(1 << 11);
    pub(crate) const ASKING: CommandFlags = CommandFlags(1 << 12);
    pub(crate) const FAST: CommandFlags = CommandFlags(1 << 13);
    pub(crate) const NO_AUTH: CommandFlags = CommandFlags(1 << 14);
    pub(crate) const MAY_REPLICATE: CommandFlags = CommandFlags(1 << 15);
    pub(crate) const NO_MANDATORY_KEYS: CommandFlags = CommandFlags(1 << 16);
    pub(crate) const NO_ASYNC_LOADING: CommandFlags = CommandFlags(1 << 17);
    pub(crate) const NO_MULTI: CommandFlags = CommandFlags(1 << 18);
    pub(crate) const MOVABLEKEYS: CommandFlags = CommandFlags(1 << 19);
    pub(crate) const ALLOW_BUSY: CommandFlags = CommandFlags(1 << 20);
    /// Redis 6 only (dropped in 7 for the `nondeterministic_output` tip).
    pub(crate) const RANDOM: CommandFlags = CommandFlags(1 << 21);
    /// Redis 6 only (dropped in 7 for the `nondeterministic_output_order` tip).
    pub(crate) const SORT_FOR_SCRIPT: CommandFlags = CommandFlags(1 << 22);

    /// Flag names as `COMMAND` spells them. Names not listed (a newer server's) are ignored.
    const NAMES: [(&'static str, CommandFlags); 23] = [
        ("write", CommandFlags::WRITE),
        ("readonly", CommandFlags::READONLY),
        ("denyoom", CommandFlags::DENYOOM),
        ("module", CommandFlags::MODULE),
        ("admin", CommandFlags::ADMIN),
        ("pubsub", CommandFlags::PUBSUB),
        ("noscript", CommandFlags::NOSCRIPT),
        ("blocking", CommandFlags::BLOCKING),
        ("loading", CommandFlags::LOADING),
        ("stale", CommandFlags::STALE),
        ("skip_monitor", CommandFlags::SKIP_MONITOR),
        ("skip_slowlog", CommandFlags::SKIP_SLOWLOG),
        ("asking", CommandFlags::ASKING),
        ("fast", CommandFlags::FAST),
        ("no_auth", CommandFlags::NO_AUTH),
        ("may_replicate", CommandFlags::MAY_REPLICATE),
        ("no_mandatory_keys", CommandFlags::NO_MANDATORY_KEYS),
        ("no_async_loading", CommandFlags::NO_ASYNC_LOADING),
        ("no_multi", CommandFlags::NO_MULTI),
        ("movablekeys", CommandFlags::MOVABLEKEYS),
        ("allow_busy", CommandFlags::ALLOW_BUSY),
        ("random", CommandFlags::RANDOM),
        ("sort_for_script", CommandFlags::SORT_FOR_SCRIPT),
    ];

    /// The flag named `name` (any case), or the empty set for a name this version does not know.
    pub(crate) fn from_name(name: &[u8]) -> CommandFlags {
        CommandFlags::NAMES
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map_or(CommandFlags::default(), |(_, f)| *f)
    }

    /// True when every flag of `other` is set.
    pub(crate) fn contains(self, other: CommandFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags.
    pub(crate) const fn union(self, other: CommandFlags) -> CommandFlags {
        CommandFlags(self.0 | other.0)
    }
}

impl std::fmt::Debug for CommandFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = CommandFlags::NAMES
            .iter()
            .filter(|(_, flag)| self.contains(*flag));
        f.debug_set().entries(names.map(|(n, _)| n)).finish()
    }
}

/// The command tips of `COMMAND` (Redis 7): routing and merge policies, and whether the output
/// may differ between runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tips {
    request_policy: Option<RequestPolicy>,
    response_policy: Option<ResponsePolicy>,
    nondeterministic_output: bool,
    nondeterministic_output_order: bool,
}

impl Tips {
    /// Tips with the two policies only.
    pub(crate) const fn policies(
        request_policy: Option<RequestPolicy>,
        response_policy: Option<ResponsePolicy>,
    ) -> Tips {
        Tips {
            request_policy,
            response_policy,
            nondeterministic_output: false,
            nondeterministic_output_order: false,
        }
    }

    /// Adds one tip as `COMMAND` writes it (`request_policy:all_shards`). Tips this version does
    /// not know are ignored: they are hints, and a newer server may add some.
    pub(crate) fn add(&mut self, tip: &[u8]) {
        let lower = tip.to_ascii_lowercase();
        match lower.iter().position(|&b| b == b':') {
            Some(colon) => {
                let (key, value) = (&lower[..colon], &lower[colon + 1..]);
                match key {
                    b"request_policy" => {
                        if let Some(p) = RequestPolicy::from_tip(value) {
                            self.request_policy = Some(p);
                        }
                    }
                    b"response_policy" => {
                        if let Some(p) = ResponsePolicy::from_tip(value) {
                            self.response_policy = Some(p);
                        }
                    }
                    _ => {}
                }
            }
            None => match lower.as_slice() {
                b"nondeterministic_output" => self.nondeterministic_output = true,
                b"nondeterministic_output_order" => self.nondeterministic_output_order = true,
                _ => {}
            },
        }
    }

    #[cfg(test)]
    /// The `request_policy` tip.
    pub(crate) fn request_policy(&self) -> Option<RequestPolicy> {
        self.request_policy
    }

    #[cfg(test)]
    /// The `response_policy` tip.
    pub(crate) fn response_policy(&self) -> Option<ResponsePolicy> {
        self.response_policy
    }

    #[cfg(test)]
    /// The `nondeterministic_output` tip: two runs on the same data may answer differently.
    pub(crate) fn is_nondeterministic_output(&self) -> bool {
        self.nondeterministic_output
    }

    #[cfg(test)]
    /// The `nondeterministic_output_order` tip: the reply's elements come in no fixed order.
    pub(crate) fn is_nondeterministic_output_order(&self) -> bool {
        self.nondeterministic_output_order
    }
}

/// Command names to entries. Names are short ASCII from a trusted server, so a simple FNV-1a
/// hash beats the default SipHash on this per-command path.
pub(super) type Names = HashMap<Box<[u8]>, CommandInfo, BuildHasherDefault<NameHasher>>;

/// FNV-1a, 64 bits.
#[derive(Debug)]
pub(super) struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> NameHasher {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the table knows of one command (or subcommand).
#[derive(Clone, Debug)]
pub(crate) struct CommandInfo {
    pub(super) name: Box<str>,
    #[cfg_attr(not(test), allow(dead_code))] // Checked by the table's tests.
    pub(super) arity: i64,
    pub(super) flags: CommandFlags,
    pub(super) tips: Tips,
    pub(super) keys: KeySource,
    /// Keyed by the part after `|`, lower case.
    pub(super) subcommands: Option<Box<Names>>,
}

impl CommandInfo {
    /// The full name, lower case, subcommands as `parent|sub` (e.g. `cluster|info`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    #[cfg(test)]
    /// The arity: the exact argument count (the name included) when positive, the minimum when
    /// negative.
    pub(crate) fn arity(&self) -> i64 {
        self.arity
    }

    #[cfg(test)]
    /// Whether `argc` arguments (the name included) satisfy the arity.
    pub(crate) fn accepts_argc(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= self.arity.saturating_neg()
        }
    }

    /// The command only reads (flag `readonly`): it may be served by a replica.
    pub(crate) fn is_readonly(&self) -> bool {
        self.flags.contains(CommandFlags::READONLY)
    }

    #[cfg(test)]
    /// The command writes (flag `write`).
    pub(crate) fn is_write(&self) -> bool {
        self.flags.contains(CommandFlags::WRITE)
    }

    /// The command may block (flag `blocking`, or ACL category `@blocking` on servers before 7).
    pub(crate) fn is_blocking(&self) -> bool {
        self.flags.contains(CommandFlags::BLOCKING)
    }

    #[cfg(test)]
    /// A pub/sub command (flag `pubsub`).
    pub(crate) fn is_pubsub(&self) -> bool {
        self.flags.contains(CommandFlags::PUBSUB)
    }

    #[cfg(test)]
    /// Not allowed in scripts (flag `noscript`).
    pub(crate) fn is_noscript(&self) -> bool {
        self.flags.contains(CommandFlags::NOSCRIPT)
    }

    #[cfg(test)]
    /// An administrative command (flag `admin`).
    pub(crate) fn is_admin(&self) -> bool {
        self.flags.contains(CommandFlags::ADMIN)
    }

    #[cfg(test)]
    /// The keys' positions depend on the arguments (flag `movablekeys`).
    pub(crate) fn has_movable_keys(&self) -> bool {
        self.flags.contains(CommandFlags::MOVABLEKEYS)
    }

    /// The `request_policy` tip, if any.
    pub(crate) fn request_policy(&self) -> Option<RequestPolicy> {
        self.tips.request_policy
    }

    /// The `response_policy` tip, if any.
    pub(crate) fn response_policy(&self) -> Option<ResponsePolicy> {
        self.tips.response_policy
    }

    #[cfg(test)]
    /// The subcommand named `name` (any case), e.g. `info` of `cluster`.
    pub(crate) fn subcommand(&self, name: &[u8]) -> Option<&CommandInfo> {
        find(self.subcommands.as_deref()?, name)
    }

    /// Calls `f(arg_index, key)` for each key argument of `cmd`, in argument order, each
    /// argument once.
    ///
    /// Keys are found by the command's key specs, including the ones flagged `not_key`: those
    /// are channels (`SPUBLISH`, `SSUBSCRIBE`) that a cluster routes as if they were keys. A
    /// command given too few arguments, or a non-numeric key count, reports the keys that are
    /// there. [`KeyScan::Unknown`] means nothing was reported and only the server can tell.
    pub(crate) fn for_each_key<'c>(
        &self,
        cmd: &'c Cmd,
        mut f: impl FnMut(usize, &'c [u8]),
    ) -> KeyScan {
        self.keys.for_each_key(cmd, &mut f)
    }
}

/// Every command the server knows, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommandTable {
    commands: Names,
    /// The longest name, command or subcommand: a longer name cannot match, so it needs no
    /// lower-casing.
    longest: usize,
}

impl CommandTable {
    /// Builds the table from a `COMMAND` reply (RESP2 or RESP3, Redis 6 or 7 shape) kept as it
    /// came: each entry is decoded, read and added before the next, so the reply is never
    /// decoded whole.
    ///
    /// Whatever the reply lacks is filled from the built-in data, and only then: tips for a
    /// server without tips, key layouts for movable-key commands of a server without key specs,
    /// subcommands for a server that lists none. A reply of the wrong shape is an
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) error; an error reply (`COMMAND`
    /// refused) is returned as the server's error.
    pub(crate) fn from_wire(reply: WireReply) -> Result<CommandTable> {
        let mut table = CommandTable::default();
        table.add_wire(reply)?;
        Ok(table)
    }

    /// Adds the entries of a `COMMAND` or `COMMAND INFO` reply kept as it came, as
    /// [`from_wire`](Self::from_wire) reads them. On an error some may have been added.
    pub(crate) fn add_wire(&mut self, reply: WireReply) -> Result<()> {
        for info in super::parse::parse_wire(reply)? {
            self.insert(info?);
        }
        Ok(())
    }

    /// The table of built-in data alone, for a server whose `COMMAND` cannot be read. It knows
    /// the common commands only; others are not found.
    pub(crate) fn builtin() -> CommandTable {
        CommandTable::from_entries(super::builtin::commands())
    }

    /// A table of these entries (later entries replace earlier ones of the same name).
    #[cfg(test)]
    /// [`from_wire`](Self::from_wire) for a reply decoded already.
    pub(crate) fn from_reply(reply: crate::protocol::Value) -> Result<CommandTable> {
        Ok(CommandTable::from_entries(super::parse::parse_reply(
            &reply,
        )?))
    }

    pub(super) fn from_entries(entries: Vec<CommandInfo>) -> CommandTable {
        let mut table = CommandTable::default();
        for info in entries {
            table.insert(info);
        }
        table
    }

    /// Adds `info`, in place of any entry of the same name.
    fn insert(&mut self, info: CommandInfo) {
        self.longest = self.longest.max(info.name.len());
        for sub in info.subcommands.iter().flat_map(|s| s.keys()) {
            self.longest = self.longest.max(sub.len());
        }
        self.commands.insert(info.name.as_bytes().into(), info);
    }

    /// The entry for `cmd`, resolving subcommands (`CLUSTER INFO` → `cluster|info`): when the
    /// command has subcommands and argument 1 names one, its entry, else the command's own.
    /// Names match in any case.
    pub(crate) fn lookup(&self, cmd: &Cmd) -> Option<&CommandInfo> {
        let name = cmd.arg_at(0)?;
        if name.len() > self.longest {
            return None;
        }
        let info = find(&self.commands, name)?;
        match info.subcommands.as_deref() {
            Some(subs) => Some(cmd.arg_at(1).and_then(|s| find(subs, s)).unwrap_or(info)),
            None => Some(info),
        }
    }
}

/// Looks `name` up in any case. Names that fit are lower-cased on the stack: this runs for every
/// command sent.
fn find<'t>(names: &'t Names, name: &[u8]) -> Option<&'t CommandInfo> {
    const STACK: usize = 32;
    if name.len() <= STACK {
        let mut buf = [0u8; STACK];
        let lower = &mut buf[..name.len()];
        // One pass, inline: a copy and a second pass would call `memcpy` for three bytes.
        for (to, from) in lower.iter_mut().zip(name) {
            *to = from.to_ascii_lowercase();
        }
        names.get(&*lower)
    } else {
        names.get(&*name.to_ascii_lowercase())
    }
}

/// What tests ask of a table.
#[cfg(test)]
impl CommandTable {
    /// The number of commands (subcommands not counted).
    pub(crate) fn len(&self) -> usize {
        self.commands.len()
    }

    /// The entry named `name` (any case), subcommands written `parent|sub`.
    pub(crate) fn get(&self, name: &str) -> Option<&CommandInfo> {
        match name.split_once('|') {
            Some((parent, sub)) => {
                find(&self.commands, parent.as_bytes())?.subcommand(sub.as_bytes())
            }
            None => find(&self.commands, name.as_bytes()),
        }
    }

    /// Every command, in no particular order (subcommands through their parent).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &CommandInfo> {
        self.commands.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tips_parse_and_ignore_unknown() {
        let mut t = Tips::default();
        for tip in [
            &b"request_policy:all_shards"[..],
            b"RESPONSE_POLICY:agg_sum",
            b"nondeterministic_output_order",
            b"request_policy:sometimes",
            b"future_tip:x",
        ] {
            t.add(tip);
        }
        assert_eq!(t.request_policy(), Some(RequestPolicy::AllShards));
        assert_eq!(t.response_policy(), Some(ResponsePolicy::AggSum));
        assert!(t.is_nondeterministic_output_order());
        assert!(!t.is_nondeterministic_output());
    }

    #[test]
    fn flags_by_name() {
        let f = CommandFlags::from_name(b"READONLY").union(CommandFlags::from_name(b"fast"));
        assert!(f.contains(CommandFlags::READONLY));
        assert!(f.contains(CommandFlags::FAST));
        assert!(!f.contains(CommandFlags::WRITE));
        assert_eq!(
            CommandFlags::from_name(b"no_such_flag"),
            CommandFlags::default()
        );
        assert_eq!(format!("{f:?}"), r#"{"readonly", "fast"}"#);
    }

    #[test]
    fn fnv_vectors() {
        let mut h = NameHasher::default();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
