//! The option types of the stream commands: trimming ([`StreamTrim`]) for `XADD` and `XTRIM`,
//! [`XAddOptions`], [`XReadOptions`], [`XReadGroupOptions`], [`XPendingOptions`],
//! [`XClaimOptions`] and [`XGroupCreateOptions`]. Each writes its tokens in the order the
//! server wants them; the commands are in [`StreamCommands`](super::StreamCommands).

use std::time::Duration;

use crate::protocol::{Cmd, ToArgs};

/// How `XADD` or `XTRIM` trims a stream: by length (`MAXLEN`) or by lowest id (`MINID`).
///
/// ```
/// use slotwise::commands::StreamTrim;
/// use slotwise::protocol::Cmd;
///
/// let trim = StreamTrim::maxlen(1000).approximate(true).limit(100);
/// let cmd = Cmd::new("XTRIM").arg("events").arg(&trim);
/// let args: Vec<&[u8]> = cmd.args().skip(2).collect();
/// assert_eq!(args, [&b"MAXLEN"[..], b"~", b"1000", b"LIMIT", b"100"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamTrim {
    strategy: Strategy,
    approximate: bool,
    limit: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Strategy {
    MaxLen(u64),
    MinId(Vec<u8>),
}

impl StreamTrim {
    /// `MAXLEN count`: keeps the newest `count` entries.
    pub fn maxlen(count: u64) -> StreamTrim {
        StreamTrim {
            strategy: Strategy::MaxLen(count),
            approximate: false,
            limit: None,
        }
    }

    /// `MINID id`: drops the entries with an id lower than `id`.
    pub fn minid(id: impl ToArgs) -> StreamTrim {
        StreamTrim {
            strategy: Strategy::MinId(Cmd::new(id).name().to_vec()),
            approximate: false,
            limit: None,
        }
    }

    /// `~`: trims only whole radix tree nodes, which is much cheaper and may keep a few
    /// entries more. Default is false: trims exactly.
    pub fn approximate(mut self, approximate: bool) -> StreamTrim {
        self.approximate = approximate;
        self
    }

    /// `LIMIT count`: evicts at most `count` entries per call; the server accepts it only
    /// with [`approximate`](Self::approximate). Default is the server's (100 times the node
    /// size).
    pub fn limit(mut self, count: u64) -> StreamTrim {
        self.limit = Some(count);
        self
    }
}

impl ToArgs for StreamTrim {
    fn write_args(&self, cmd: &mut Cmd) {
        match &self.strategy {
            Strategy::MaxLen(_) => cmd.push_bytes(b"MAXLEN"),
            Strategy::MinId(_) => cmd.push_bytes(b"MINID"),
        }
        if self.approximate {
            cmd.push_bytes(b"~");
        }
        match &self.strategy {
            Strategy::MaxLen(n) => cmd.push_uint(*n),
            Strategy::MinId(id) => cmd.push_bytes(id),
        }
        if let Some(limit) = self.limit {
            cmd.push_bytes(b"LIMIT");
            cmd.push_uint(limit);
        }
    }
}

/// The options of `XADD` (see [`StreamCommands::xadd_options`](super::StreamCommands::xadd_options)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct XAddOptions {
    nomkstream: bool,
    trim: Option<StreamTrim>,
}

impl XAddOptions {
    /// Options that add nothing: the stream is created if missing and not trimmed.
    pub fn new() -> XAddOptions {
        XAddOptions::default()
    }

    /// `NOMKSTREAM`: adds nothing (and replies nil) if the stream does not exist. Default is
    /// false: the stream is created.
    pub fn nomkstream(mut self, on: bool) -> XAddOptions {
        self.nomkstream = on;
        self
    }

    /// Trims the stream as the entry is added. Default is no trimming.
    pub fn trim(mut self, trim: StreamTrim) -> XAddOptions {
        self.trim = Some(trim);
        self
    }
}

impl ToArgs for XAddOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if self.nomkstream {
            cmd.push_bytes(b"NOMKSTREAM");
        }
        cmd.push_arg(&self.trim);
    }
}

/// Milliseconds for a `BLOCK` or `IDLE` argument, saturating rather than wrapping.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The options of `XREAD` (see [`StreamCommands::xread`](super::StreamCommands::xread)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct XReadOptions {
    count: Option<u64>,
    block: Option<Duration>,
}

impl XReadOptions {
    /// Options that add nothing: every new entry, without waiting.
    pub fn new() -> XReadOptions {
        XReadOptions::default()
    }

    /// `COUNT count`: at most `count` entries per stream. Default is no limit.
    pub fn count(mut self, count: u64) -> XReadOptions {
        self.count = Some(count);
        self
    }

    /// `BLOCK milliseconds`: waits up to this long for an entry if there is none
    /// ([`Duration::ZERO`]: forever). The cluster client runs a blocking read on a
    /// connection of its own. Default is not to wait.
    pub fn block(mut self, timeout: Duration) -> XReadOptions {
        self.block = Some(timeout);
        self
    }
}

impl ToArgs for XReadOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if let Some(count) = self.count {
            cmd.push_bytes(b"COUNT");
            cmd.push_uint(count);
        }
        if let Some(block) = self.block {
            cmd.push_bytes(b"BLOCK");
            cmd.push_uint(millis(block));
        }
    }
}

/// The options of `XREADGROUP` (see
/// [`StreamCommands::xreadgroup`](super::StreamCommands::xreadgroup)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct XReadGroupOptions {
    read: XReadOptions,
    noack: bool,
}

impl XReadGroupOptions {
    /// Options that add nothing: every entry asked for, without waiting, each pending until
    /// acknowledged.
    pub fn new() -> XReadGroupOptions {
        XReadGroupOptions::default()
    }

    /// `COUNT count`: at most `count` entries per stream. Default is no limit.
    pub fn count(mut self, count: u64) -> XReadGroupOptions {
        self.read = self.read.count(count);
        self
    }

    /// `BLOCK milliseconds`: waits up to this long for a new entry if there is none
    /// ([`Duration::ZERO`]: forever). Default is not to wait.
    pub fn block(mut self, timeout: Duration) -> XReadGroupOptions {
        self.read = self.read.block(timeout);
        self
    }

    /// `NOACK`: the entries are acknowledged as they are delivered, so none is left pending.
    /// Default is false.
    pub fn noack(mut self, on: bool) -> XReadGroupOptions {
        self.noack = on;
        self
    }
}

impl ToArgs for XReadGroupOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_arg(self.read);
        if self.noack {
            cmd.push_bytes(b"NOACK");
        }
    }
}

/// The filters of `XPENDING … start end count` (see
/// [`StreamCommands::xpending_range`](super::StreamCommands::xpending_range)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct XPendingOptions {
    idle: Option<Duration>,
    consumer: Option<Vec<u8>>,
}

impl XPendingOptions {
    /// Options that add nothing: the pending entries of every consumer.
    pub fn new() -> XPendingOptions {
        XPendingOptions::default()
    }

    /// `IDLE min-idle-time`: only entries not delivered for at least this long. Default is
    /// any idle time.
    pub fn idle(mut self, min_idle: Duration) -> XPendingOptions {
        self.idle = Some(min_idle);
        self
    }

    /// Only the entries of this consumer. Default is every consumer's.
    pub fn consumer(mut self, consumer: impl ToArgs) -> XPendingOptions {
        self.consumer = Some(Cmd::new(consumer).name().to_vec());
        self
    }
}

/// The options of `XCLAIM` (see [`StreamCommands::xclaim`](super::StreamCommands::xclaim)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct XClaimOptions {
    idle: Option<Duration>,
    time_ms: Option<u64>,
    retry_count: Option<u64>,
    force: bool,
    last_id: Option<Vec<u8>>,
}

impl XClaimOptions {
    /// Options that add nothing: claimed entries count as delivered now, once more.
    pub fn new() -> XClaimOptions {
        XClaimOptions::default()
    }

    /// `IDLE ms`: sets the claimed entries' idle time. Default is 0 (delivered now).
    pub fn idle(mut self, idle: Duration) -> XClaimOptions {
        self.idle = Some(idle);
        self
    }

    /// `TIME ms`: sets the claimed entries' last delivery to this Unix time in
    /// milliseconds. Default is now.
    pub fn time_ms(mut self, unix_ms: u64) -> XClaimOptions {
        self.time_ms = Some(unix_ms);
        self
    }

    /// `RETRYCOUNT count`: sets the delivery count. Default is to add one.
    pub fn retry_count(mut self, count: u64) -> XClaimOptions {
        self.retry_count = Some(count);
        self
    }

    /// `FORCE`: claims ids that are not pending yet (if their entries exist). Default is
    /// false.
    pub fn force(mut self, on: bool) -> XClaimOptions {
        self.force = on;
        self
    }

    /// `LASTID id`: advances the group's last delivered id. Default is to leave it.
    pub fn last_id(mut self, id: impl ToArgs) -> XClaimOptions {
        self.last_id = Some(Cmd::new(id).name().to_vec());
        self
    }
}

impl ToArgs for XClaimOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if let Some(idle) = self.idle {
            cmd.push_bytes(b"IDLE");
            cmd.push_uint(millis(idle));
        }
        if let Some(time) = self.time_ms {
            cmd.push_bytes(b"TIME");
            cmd.push_uint(time);
        }
        if let Some(count) = self.retry_count {
            cmd.push_bytes(b"RETRYCOUNT");
            cmd.push_uint(count);
        }
        if self.force {
            cmd.push_bytes(b"FORCE");
        }
        if let Some(id) = &self.last_id {
            cmd.push_bytes(b"LASTID");
            cmd.push_bytes(id);
        }
    }
}

/// The options of `XGROUP CREATE` (see
/// [`StreamCommands::xgroup_create`](super::StreamCommands::xgroup_create)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct XGroupCreateOptions {
    mkstream: bool,
    entries_read: Option<u64>,
}

impl XGroupCreateOptions {
    /// Options that add nothing: the stream must exist.
    pub fn new() -> XGroupCreateOptions {
        XGroupCreateOptions::default()
    }

    /// `MKSTREAM`: creates an empty stream if there is none. Default is false: a missing
    /// stream is an error.
    pub fn mkstream(mut self, on: bool) -> XGroupCreateOptions {
        self.mkstream = on;
        self
    }

    /// `ENTRIESREAD n`: how many entries the group counts as read, for its lag (Redis 7.0
    /// and later). Default is unknown.
    pub fn entries_read(mut self, n: u64) -> XGroupCreateOptions {
        self.entries_read = Some(n);
        self
    }
}

impl ToArgs for XGroupCreateOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if self.mkstream {
            cmd.push_bytes(b"MKSTREAM");
        }
        if let Some(n) = self.entries_read {
            cmd.push_bytes(b"ENTRIESREAD");
            cmd.push_uint(n);
        }
    }
}

/// `XPENDING key group [IDLE ms] start end count [consumer]`: the options go on both sides
/// of the range, so the command writes them itself.
pub(super) fn pending_range(
    cmd: &mut Cmd,
    options: &XPendingOptions,
    range: (impl ToArgs, impl ToArgs, u64),
) {
    if let Some(idle) = options.idle {
        cmd.push_bytes(b"IDLE");
        cmd.push_uint(millis(idle));
    }
    cmd.push_arg(range);
    if let Some(consumer) = &options.consumer {
        cmd.push_bytes(consumer);
    }
}
