//! [`StreamCommands`]: append-only logs of entries with ids, read directly or through
//! consumer groups: `XADD`, `XRANGE`, `XREAD`, `XREADGROUP`, `XACK`, `XPENDING`, `XCLAIM`,
//! `XAUTOCLAIM`, `XTRIM`, `XGROUP …` and `XINFO …`.
//!
//! Options are in stream_options.rs and reply types in stream_replies.rs, re-exported here
//! by the parent module. It does not own how a blocking read is run: `XREAD` and
//! `XREADGROUP` with `BLOCK` hold their connection until an entry arrives, so the cluster
//! client gives them a connection of their own and waits their block time beyond the
//! response timeout. Nor does it own routing: reading several streams at once is atomic, so
//! their keys must share a slot.
//!
//! Ids are `impl ToArgs`: `"1700000000000-0"`, `"*"` (the server picks one, `XADD`), `"-"`
//! and `"+"` (the lowest and highest, ranges), `"$"` (the last one, `XREAD` and
//! `XGROUP`), `">"` (never delivered to the group, `XREADGROUP`), and an exclusive
//! `"(1-0"` in ranges.

use super::stream_options::pending_range;
use super::{
    AutoClaim, ConsumerInfo, Executor, GroupInfo, PendingEntry, PendingSummary, StreamEntry,
    StreamInfo, StreamRead, StreamTrim, XAddOptions, XClaimOptions, XGroupCreateOptions,
    XPendingOptions, XReadGroupOptions, XReadOptions,
};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// Commands on streams. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. Entries read as
/// [`StreamEntry<F>`](StreamEntry), with `F` the shape of their fields, e.g.
/// `HashMap<String, String>`.
///
/// ```no_run
/// # use slotwise::commands::{CommandFuture, Executor};
/// # use slotwise::protocol::{Cmd, FromValue};
/// # struct Node(slotwise::connection::Connection);
/// # impl Executor for Node {
/// #     type Output<T: FromValue + Send + 'static> = CommandFuture<T>;
/// #     fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
/// #         let conn = self.0.clone();
/// #         CommandFuture::new(async move { T::from_value(conn.send(&cmd).await?) })
/// #     }
/// # }
/// # async fn demo(node: Node) -> slotwise::Result<()> {
/// use std::collections::HashMap;
/// use std::time::Duration;
/// use slotwise::commands::{StreamCommands, XGroupCreateOptions, XReadGroupOptions};
///
/// let mk = XGroupCreateOptions::new().mkstream(true);
/// node.xgroup_create("jobs", "workers", "$", &mk).await?;
/// node.xadd("jobs", "*", [("task", "resize"), ("image", "42")]).await?;
/// let wait = XReadGroupOptions::new().count(10).block(Duration::from_secs(5));
/// let reads = node.xreadgroup::<HashMap<String, String>>("workers", "w1", "jobs", ">", &wait);
/// for stream in reads.await? {
///     for entry in stream.entries {
///         // … do the work, then:
///         node.xack("jobs", "workers", &entry.id).await?;
///     }
/// }
/// # Ok(()) }
/// ```
pub trait StreamCommands: Executor {
    /// `XADD key id field value [field value …]`: appends an entry with the pairs given as
    /// tuples (`"*"` lets the server pick the id); the entry's id.
    fn xadd(&self, key: impl ToArgs, id: impl ToArgs, fields: impl ToArgs) -> Self::Output<String> {
        self.execute(Cmd::new("XADD").arg(key).arg(id).arg(fields))
    }

    /// `XADD key [NOMKSTREAM] [MAXLEN|MINID …] id field value …`: like [`xadd`](Self::xadd),
    /// trimming as it adds; the id, or `None` if `NOMKSTREAM` found no stream.
    fn xadd_options(
        &self,
        key: impl ToArgs,
        id: impl ToArgs,
        fields: impl ToArgs,
        options: &XAddOptions,
    ) -> Self::Output<Option<String>> {
        self.execute(Cmd::new("XADD").arg(key).arg(options).arg(id).arg(fields))
    }

    /// `XTRIM key MAXLEN|MINID [~] threshold [LIMIT count]`: how many entries were removed.
    fn xtrim(&self, key: impl ToArgs, trim: &StreamTrim) -> Self::Output<i64> {
        self.execute(Cmd::new("XTRIM").arg(key).arg(trim))
    }

    /// `XDEL key id [id …]`: deletes entries; how many existed.
    fn xdel(&self, key: impl ToArgs, ids: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("XDEL").arg(key).arg(ids))
    }

    /// `XLEN key`: the number of entries, 0 for a missing key.
    fn xlen(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("XLEN").arg(key))
    }

    /// `XRANGE key start end`: the entries with ids from `start` to `end` (`"-"` and `"+"`
    /// for the whole stream), oldest first.
    fn xrange<F: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        start: impl ToArgs,
        end: impl ToArgs,
    ) -> Self::Output<Vec<StreamEntry<F>>> {
        self.execute(Cmd::new("XRANGE").arg(key).arg(start).arg(end))
    }

    /// `XRANGE key start end COUNT count`: at most `count` entries of the range; page on
    /// with an exclusive start, `"(<last id>"`.
    fn xrange_count<F: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        start: impl ToArgs,
        end: impl ToArgs,
        count: u64,
    ) -> Self::Output<Vec<StreamEntry<F>>> {
        let cmd = Cmd::new("XRANGE").arg(key).arg(start).arg(end);
        self.execute(cmd.arg("COUNT").arg(count))
    }

    /// `XREVRANGE key end start`: the entries from `end` down to `start`, newest first.
    fn xrevrange<F: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        end: impl ToArgs,
        start: impl ToArgs,
    ) -> Self::Output<Vec<StreamEntry<F>>> {
        self.execute(Cmd::new("XREVRANGE").arg(key).arg(end).arg(start))
    }

    /// `XREVRANGE key end start COUNT count`: at most `count` entries, newest first.
    fn xrevrange_count<F: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        end: impl ToArgs,
        start: impl ToArgs,
        count: u64,
    ) -> Self::Output<Vec<StreamEntry<F>>> {
        let cmd = Cmd::new("XREVRANGE").arg(key).arg(end).arg(start);
        self.execute(cmd.arg("COUNT").arg(count))
    }

    /// `XREAD [COUNT count] [BLOCK ms] STREAMS key … id …`: the entries after each id, one
    /// [`StreamRead`] per stream that had any; empty if none had (or the block timed out).
    /// `keys` and `ids` pair up in order; several keys must share a slot.
    fn xread<F: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        ids: impl ToArgs,
        options: &XReadOptions,
    ) -> Self::Output<Vec<StreamRead<F>>> {
        let cmd = Cmd::new("XREAD").arg(options).arg("STREAMS");
        self.execute(cmd.arg(keys).arg(ids))
    }

    /// `XREADGROUP GROUP group consumer [COUNT] [BLOCK] [NOACK] STREAMS key … id …`: reads as
    /// `consumer` of `group`: with id `">"` entries never delivered to the group (which
    /// become the consumer's pending ones), with another id the consumer's own pending
    /// entries after it. Empty if there were none (or the block timed out).
    fn xreadgroup<F: FromValue + Send + 'static>(
        &self,
        group: impl ToArgs,
        consumer: impl ToArgs,
        keys: impl ToArgs,
        ids: impl ToArgs,
        options: &XReadGroupOptions,
    ) -> Self::Output<Vec<StreamRead<F>>> {
        let cmd = Cmd::new("XREADGROUP").arg("GROUP").arg(group).arg(consumer);
        self.execute(cmd.arg(options).arg("STREAMS").arg(keys).arg(ids))
    }

    /// `XACK key group id [id …]`: acknowledges entries; how many were pending.
    fn xack(&self, key: impl ToArgs, group: impl ToArgs, ids: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("XACK").arg(key).arg(group).arg(ids))
    }

    /// `XPENDING key group`: how many entries the group has pending, their id range and
    /// who holds them.
    fn xpending(&self, key: impl ToArgs, group: impl ToArgs) -> Self::Output<PendingSummary> {
        self.execute(Cmd::new("XPENDING").arg(key).arg(group))
    }

    /// `XPENDING key group [IDLE ms] start end count [consumer]`: up to `count` pending
    /// entries with ids in the range, with their consumer, idle time and delivery count.
    fn xpending_range(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        start: impl ToArgs,
        end: impl ToArgs,
        count: u64,
        options: &XPendingOptions,
    ) -> Self::Output<Vec<PendingEntry>> {
        let mut cmd = Cmd::new("XPENDING").arg(key).arg(group);
        pending_range(&mut cmd, options, (start, end, count));
        self.execute(cmd)
    }

    /// `XCLAIM key group consumer min-idle-time id … [options]`: gives `consumer` the
    /// pending entries among `ids` idle for at least `min_idle_ms`; the entries claimed.
    fn xclaim<F: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        consumer: impl ToArgs,
        min_idle_ms: u64,
        ids: impl ToArgs,
        options: &XClaimOptions,
    ) -> Self::Output<Vec<StreamEntry<F>>> {
        let cmd = Cmd::new("XCLAIM").arg(key).arg(group).arg(consumer);
        self.execute(cmd.arg(min_idle_ms).arg(ids).arg(options))
    }

    /// `XCLAIM … JUSTID`: like [`xclaim`](Self::xclaim) but returns only the ids, and leaves
    /// the delivery count alone.
    fn xclaim_justid(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        consumer: impl ToArgs,
        min_idle_ms: u64,
        ids: impl ToArgs,
        options: &XClaimOptions,
    ) -> Self::Output<Vec<String>> {
        let cmd = Cmd::new("XCLAIM").arg(key).arg(group).arg(consumer);
        self.execute(cmd.arg(min_idle_ms).arg(ids).arg(options).arg("JUSTID"))
    }

    /// `XAUTOCLAIM key group consumer min-idle-time start COUNT count`: scans the pending
    /// entries from id `start` (`"0-0"` first) and gives `consumer` up to `count` of those
    /// idle for at least `min_idle_ms`; the page, with the id to go on from.
    fn xautoclaim<F: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        consumer: impl ToArgs,
        min_idle_ms: u64,
        start: impl ToArgs,
        count: u64,
    ) -> Self::Output<AutoClaim<StreamEntry<F>>> {
        let cmd = Cmd::new("XAUTOCLAIM").arg(key).arg(group).arg(consumer);
        self.execute(cmd.arg(min_idle_ms).arg(start).arg("COUNT").arg(count))
    }

    /// `XAUTOCLAIM … JUSTID`: like [`xautoclaim`](Self::xautoclaim) with the claimed ids
    /// only.
    fn xautoclaim_justid(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        consumer: impl ToArgs,
        min_idle_ms: u64,
        start: impl ToArgs,
        count: u64,
    ) -> Self::Output<AutoClaim<String>> {
        let cmd = Cmd::new("XAUTOCLAIM").arg(key).arg(group).arg(consumer);
        let cmd = cmd.arg(min_idle_ms).arg(start).arg("COUNT").arg(count);
        self.execute(cmd.arg("JUSTID"))
    }

    /// `XSETID key last-id`: sets the stream's last generated id (it must not be below the
    /// newest entry's).
    fn xsetid(&self, key: impl ToArgs, last_id: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("XSETID").arg(key).arg(last_id))
    }

    /// `XGROUP CREATE key group id [MKSTREAM] [ENTRIESREAD n]`: creates a consumer group that
    /// will deliver the entries after `id` (`"$"`: only new ones, `"0"`: all).
    fn xgroup_create(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        id: impl ToArgs,
        options: &XGroupCreateOptions,
    ) -> Self::Output<()> {
        let cmd = Cmd::new(["XGROUP", "CREATE"]).arg(key).arg(group);
        self.execute(cmd.arg(id).arg(options))
    }

    /// `XGROUP CREATECONSUMER key group consumer`: true if the consumer was created, false if
    /// it existed (reading creates consumers too).
    fn xgroup_createconsumer(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        consumer: impl ToArgs,
    ) -> Self::Output<bool> {
        let cmd = Cmd::new(["XGROUP", "CREATECONSUMER"]).arg(key).arg(group);
        self.execute(cmd.arg(consumer))
    }

    /// `XGROUP DELCONSUMER key group consumer`: deletes a consumer and its pending entries;
    /// how many entries it had pending.
    fn xgroup_delconsumer(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        consumer: impl ToArgs,
    ) -> Self::Output<i64> {
        let cmd = Cmd::new(["XGROUP", "DELCONSUMER"]).arg(key).arg(group);
        self.execute(cmd.arg(consumer))
    }

    /// `XGROUP DESTROY key group`: deletes a group; true if it existed.
    fn xgroup_destroy(&self, key: impl ToArgs, group: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new(["XGROUP", "DESTROY"]).arg(key).arg(group))
    }

    /// `XGROUP SETID key group id`: sets the group's last delivered id, e.g. `"0"` to
    /// deliver everything again.
    fn xgroup_setid(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
        id: impl ToArgs,
    ) -> Self::Output<()> {
        self.execute(Cmd::new(["XGROUP", "SETID"]).arg(key).arg(group).arg(id))
    }

    /// `XINFO STREAM key`: the stream's length, ids, group count and first and last
    /// entries.
    fn xinfo_stream<F: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
    ) -> Self::Output<StreamInfo<F>> {
        self.execute(Cmd::new(["XINFO", "STREAM"]).arg(key))
    }

    /// `XINFO STREAM key FULL COUNT count`: the full report, with up to `count` entries
    /// (0: all) and every group's pending entries and consumers; a deep nested reply, so
    /// read it as [`Value`](crate::protocol::Value) or a type of your own.
    fn xinfo_stream_full<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: u64,
    ) -> Self::Output<T> {
        let cmd = Cmd::new(["XINFO", "STREAM"]).arg(key).arg("FULL");
        self.execute(cmd.arg("COUNT").arg(count))
    }

    /// `XINFO GROUPS key`: the stream's consumer groups.
    fn xinfo_groups(&self, key: impl ToArgs) -> Self::Output<Vec<GroupInfo>> {
        self.execute(Cmd::new(["XINFO", "GROUPS"]).arg(key))
    }

    /// `XINFO CONSUMERS key group`: the group's consumers.
    fn xinfo_consumers(
        &self,
        key: impl ToArgs,
        group: impl ToArgs,
    ) -> Self::Output<Vec<ConsumerInfo>> {
        self.execute(Cmd::new(["XINFO", "CONSUMERS"]).arg(key).arg(group))
    }
}

impl<E: Executor + ?Sized> StreamCommands for E {}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::super::testing::ArgsOf;
    use super::*;

    type Fields = HashMap<String, String>;

    #[test]
    fn xadd_and_xtrim_options_in_server_order() {
        assert_eq!(
            ArgsOf.xadd("s", "*", [("a", "1"), ("b", "2")]),
            ["XADD", "s", "*", "a", "1", "b", "2"]
        );
        let options = XAddOptions::new()
            .trim(StreamTrim::minid("5-0"))
            .nomkstream(true);
        assert_eq!(
            ArgsOf.xadd_options("s", "7-1", ("a", 1), &options),
            ["XADD", "s", "NOMKSTREAM", "MINID", "5-0", "7-1", "a", "1"]
        );
        let trim = StreamTrim::maxlen(10).approximate(true).limit(5);
        assert_eq!(
            ArgsOf.xtrim("s", &trim),
            ["XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "5"]
        );
        assert_eq!(
            ArgsOf.xtrim("s", &StreamTrim::maxlen(0)),
            ["XTRIM", "s", "MAXLEN", "0"]
        );
    }

    #[test]
    fn reads_put_streams_last() {
        let options = XReadOptions::new()
            .block(Duration::from_millis(1500))
            .count(2);
        assert_eq!(
            ArgsOf.xread::<Fields>(["a", "b"], ["0", "$"], &options),
            ["XREAD", "COUNT", "2", "BLOCK", "1500", "STREAMS", "a", "b", "0", "$"]
        );
        assert_eq!(
            ArgsOf.xread::<Fields>("a", "0", &XReadOptions::new()),
            ["XREAD", "STREAMS", "a", "0"]
        );
        let group = XReadGroupOptions::new()
            .noack(true)
            .count(1)
            .block(Duration::ZERO);
        assert_eq!(
            ArgsOf.xreadgroup::<Fields>("g", "c", "s", ">", &group),
            [
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "COUNT",
                "1",
                "BLOCK",
                "0",
                "NOACK",
                "STREAMS",
                "s",
                ">"
            ]
        );
    }

    #[test]
    fn pending_and_claims() {
        assert_eq!(ArgsOf.xpending("s", "g"), ["XPENDING", "s", "g"]);
        let options = XPendingOptions::new()
            .consumer("alice")
            .idle(Duration::from_secs(1));
        assert_eq!(
            ArgsOf.xpending_range("s", "g", "-", "+", 10, &options),
            ["XPENDING", "s", "g", "IDLE", "1000", "-", "+", "10", "alice"]
        );
        assert_eq!(
            ArgsOf.xpending_range("s", "g", "-", "+", 10, &XPendingOptions::new()),
            ["XPENDING", "s", "g", "-", "+", "10"]
        );
        let claim = XClaimOptions::new()
            .last_id("9-0")
            .force(true)
            .retry_count(3)
            .time_ms(1700)
            .idle(Duration::from_millis(5));
        assert_eq!(
            ArgsOf.xclaim::<Fields>("s", "g", "c", 100, ["1-0", "2-0"], &claim),
            [
                "XCLAIM",
                "s",
                "g",
                "c",
                "100",
                "1-0",
                "2-0",
                "IDLE",
                "5",
                "TIME",
                "1700",
                "RETRYCOUNT",
                "3",
                "FORCE",
                "LASTID",
                "9-0"
            ]
        );
        assert_eq!(
            ArgsOf.xclaim_justid("s", "g", "c", 0, "1-0", &XClaimOptions::new()),
            ["XCLAIM", "s", "g", "c", "0", "1-0", "JUSTID"]
        );
        assert_eq!(
            ArgsOf.xautoclaim::<Fields>("s", "g", "c", 10, "0-0", 25),
            ["XAUTOCLAIM", "s", "g", "c", "10", "0-0", "COUNT", "25"]
        );
        assert_eq!(
            ArgsOf.xautoclaim_justid("s", "g", "c", 10, "0-0", 25),
            [
                "XAUTOCLAIM",
                "s",
                "g",
                "c",
                "10",
                "0-0",
                "COUNT",
                "25",
                "JUSTID"
            ]
        );
    }

    #[test]
    fn argument_order() {
        assert_eq!(
            ArgsOf.xdel("s", ["1-0", "2-0"]),
            ["XDEL", "s", "1-0", "2-0"]
        );
        assert_eq!(ArgsOf.xlen("s"), ["XLEN", "s"]);
        assert_eq!(
            ArgsOf.xrange::<Fields>("s", "-", "+"),
            ["XRANGE", "s", "-", "+"]
        );
        assert_eq!(
            ArgsOf.xrange_count::<Fields>("s", "(1-0", "+", 5),
            ["XRANGE", "s", "(1-0", "+", "COUNT", "5"]
        );
        assert_eq!(
            ArgsOf.xrevrange::<Fields>("s", "+", "-"),
            ["XREVRANGE", "s", "+", "-"]
        );
        assert_eq!(
            ArgsOf.xrevrange_count::<Fields>("s", "+", "-", 1),
            ["XREVRANGE", "s", "+", "-", "COUNT", "1"]
        );
        assert_eq!(ArgsOf.xack("s", "g", ["1-0"]), ["XACK", "s", "g", "1-0"]);
        assert_eq!(ArgsOf.xsetid("s", "5-0"), ["XSETID", "s", "5-0"]);
        let create = XGroupCreateOptions::new().entries_read(3).mkstream(true);
        assert_eq!(
            ArgsOf.xgroup_create("s", "g", "$", &create),
            [
                "XGROUP",
                "CREATE",
                "s",
                "g",
                "$",
                "MKSTREAM",
                "ENTRIESREAD",
                "3"
            ]
        );
        assert_eq!(
            ArgsOf.xgroup_createconsumer("s", "g", "c"),
            ["XGROUP", "CREATECONSUMER", "s", "g", "c"]
        );
        assert_eq!(
            ArgsOf.xgroup_delconsumer("s", "g", "c"),
            ["XGROUP", "DELCONSUMER", "s", "g", "c"]
        );
        assert_eq!(
            ArgsOf.xgroup_destroy("s", "g"),
            ["XGROUP", "DESTROY", "s", "g"]
        );
        assert_eq!(
            ArgsOf.xgroup_setid("s", "g", "0"),
            ["XGROUP", "SETID", "s", "g", "0"]
        );
        assert_eq!(ArgsOf.xinfo_stream::<Fields>("s"), ["XINFO", "STREAM", "s"]);
        assert_eq!(
            ArgsOf.xinfo_stream_full::<crate::protocol::Value>("s", 0),
            ["XINFO", "STREAM", "s", "FULL", "COUNT", "0"]
        );
        assert_eq!(ArgsOf.xinfo_groups("s"), ["XINFO", "GROUPS", "s"]);
        assert_eq!(
            ArgsOf.xinfo_consumers("s", "g"),
            ["XINFO", "CONSUMERS", "s", "g"]
        );
    }
}
