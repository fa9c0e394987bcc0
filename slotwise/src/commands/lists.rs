//! [`ListCommands`]: the non-blocking commands on list values, with their option types
//! ([`ListEnd`], [`InsertPosition`], [`LposOptions`]).
//!
//! It does not own the blocking commands (`BLPOP`, `BLMOVE` …: see
//! [`BlockingCommands`](super::BlockingCommands)): they hold a connection until
//! data arrives, so the cluster client runs them on connections of their own (see
//! [`ClusterBuilder::blocking_connections`](crate::ClusterBuilder::blocking_connections)), not on
//! the shared multiplexed one. `LMOVE` and `LMPOP` are atomic, so their keys must share a slot.

use super::{push_counted, Executor, Popped};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// One end of a list, for `LMOVE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListEnd {
    /// `LEFT`: the head (index 0).
    Left,
    /// `RIGHT`: the tail (index -1).
    Right,
}

impl ToArgs for ListEnd {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            ListEnd::Left => b"LEFT",
            ListEnd::Right => b"RIGHT",
        });
    }
}

/// Where `LINSERT` puts the new element relative to the pivot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InsertPosition {
    /// `BEFORE` the pivot (closer to the head).
    Before,
    /// `AFTER` the pivot (closer to the tail).
    After,
}

impl ToArgs for InsertPosition {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            InsertPosition::Before => b"BEFORE",
            InsertPosition::After => b"AFTER",
        });
    }
}

/// The options of `LPOS` (see [`ListCommands::lpos`] and [`ListCommands::lpos_count`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct LposOptions {
    rank: Option<i64>,
    maxlen: Option<u64>,
}

impl LposOptions {
    /// Options that add nothing: the first match, scanning the whole list from the head.
    pub fn new() -> LposOptions {
        LposOptions::default()
    }

    /// `RANK rank`: skips to the `rank`-th match (1 is the first); a negative rank scans from
    /// the tail (-1 is the last match). Default is 1.
    pub fn rank(mut self, rank: i64) -> LposOptions {
        self.rank = Some(rank);
        self
    }

    /// `MAXLEN len`: compares at most `len` elements (0: all of them). Default is 0.
    pub fn maxlen(mut self, len: u64) -> LposOptions {
        self.maxlen = Some(len);
        self
    }
}

impl ToArgs for LposOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if let Some(rank) = self.rank {
            cmd.push_bytes(b"RANK");
            cmd.push_int(rank);
        }
        if let Some(len) = self.maxlen {
            cmd.push_bytes(b"MAXLEN");
            cmd.push_uint(len);
        }
    }
}

/// The non-blocking commands on lists. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. Indexes are 0-based;
/// negative ones count from the tail (-1 is the last element).
pub trait ListCommands: Executor {
    /// `LPUSH key element [element …]`: prepends the elements, one after the other (so the
    /// last one ends up first); the new length.
    fn lpush(&self, key: impl ToArgs, elements: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("LPUSH").arg(key).arg(elements))
    }

    /// `RPUSH key element [element …]`: appends the elements; the new length.
    fn rpush(&self, key: impl ToArgs, elements: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("RPUSH").arg(key).arg(elements))
    }

    /// `LPUSHX key element [element …]`: prepends only if the list exists; the new length
    /// (0 if it did not exist).
    fn lpushx(&self, key: impl ToArgs, elements: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("LPUSHX").arg(key).arg(elements))
    }

    /// `RPUSHX key element [element …]`: appends only if the list exists; the new length (0
    /// if it did not exist).
    fn rpushx(&self, key: impl ToArgs, elements: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("RPUSHX").arg(key).arg(elements))
    }

    /// `LPOP key`: removes and returns the first element, or `None` if the list is empty.
    fn lpop<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("LPOP").arg(key))
    }

    /// `LPOP key count`: removes and returns up to `count` elements from the head, e.g. as
    /// `Vec<String>` (empty for a missing key).
    fn lpop_count<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: u64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("LPOP").arg(key).arg(count))
    }

    /// `RPOP key`: removes and returns the last element, or `None` if the list is empty.
    fn rpop<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("RPOP").arg(key))
    }

    /// `RPOP key count`: removes and returns up to `count` elements from the tail, last
    /// first, e.g. as `Vec<String>` (empty for a missing key).
    fn rpop_count<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: u64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("RPOP").arg(key).arg(count))
    }

    /// `LRANGE key start stop`: the elements from `start` to `stop` inclusive, e.g. as
    /// `Vec<String>`; `lrange(key, 0, -1)` is the whole list.
    fn lrange<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        start: i64,
        stop: i64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("LRANGE").arg(key).arg(start).arg(stop))
    }

    /// `LLEN key`: the length, 0 for a missing key.
    fn llen(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("LLEN").arg(key))
    }

    /// `LINDEX key index`: the element at `index`, or `None` if out of range.
    fn lindex<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        index: i64,
    ) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("LINDEX").arg(key).arg(index))
    }

    /// `LSET key index element`: replaces the element at `index`; an error if out of range.
    fn lset(&self, key: impl ToArgs, index: i64, element: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("LSET").arg(key).arg(index).arg(element))
    }

    /// `LREM key count element`: removes `count` occurrences of the element from the head
    /// (negative: from the tail; 0: all of them); how many were removed.
    fn lrem(&self, key: impl ToArgs, count: i64, element: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("LREM").arg(key).arg(count).arg(element))
    }

    /// `LTRIM key start stop`: keeps only the elements from `start` to `stop` inclusive.
    fn ltrim(&self, key: impl ToArgs, start: i64, stop: i64) -> Self::Output<()> {
        self.execute(Cmd::new("LTRIM").arg(key).arg(start).arg(stop))
    }

    /// `LINSERT key BEFORE|AFTER pivot element`: inserts next to the first occurrence of
    /// `pivot`; the new length, -1 if the pivot was not found, 0 for a missing key.
    fn linsert(
        &self,
        key: impl ToArgs,
        position: InsertPosition,
        pivot: impl ToArgs,
        element: impl ToArgs,
    ) -> Self::Output<i64> {
        self.execute(
            Cmd::new("LINSERT")
                .arg(key)
                .arg(position)
                .arg(pivot)
                .arg(element),
        )
    }

    /// `LPOS key element [RANK rank] [MAXLEN len]`: the index of a matching element, or
    /// `None` if there is none.
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
    /// use slotwise::commands::{ListCommands, LposOptions};
    ///
    /// node.rpush("letters", ["a", "b", "c", "b"]).await?;
    /// let last_b = node.lpos("letters", "b", &LposOptions::new().rank(-1)).await?;
    /// assert_eq!(last_b, Some(3));
    /// # Ok(()) }
    /// ```
    fn lpos(
        &self,
        key: impl ToArgs,
        element: impl ToArgs,
        options: &LposOptions,
    ) -> Self::Output<Option<i64>> {
        self.execute(Cmd::new("LPOS").arg(key).arg(element).arg(options))
    }

    /// `LPOS key element [RANK rank] COUNT count [MAXLEN len]`: the indexes of up to `count`
    /// matching elements (0: all of them), in scan order.
    fn lpos_count(
        &self,
        key: impl ToArgs,
        element: impl ToArgs,
        count: u64,
        options: &LposOptions,
    ) -> Self::Output<Vec<i64>> {
        // The server accepts RANK, COUNT and MAXLEN in any order; options go last so one
        // `LposOptions` encodes the same way for both methods.
        self.execute(
            Cmd::new("LPOS")
                .arg(key)
                .arg(element)
                .arg("COUNT")
                .arg(count)
                .arg(options),
        )
    }

    /// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`: moves one element from an end of
    /// `source` to an end of `destination` (which may be the same list); the element, or
    /// `None` if `source` is empty. Both keys must be in one slot.
    fn lmove<T: FromValue + Send + 'static>(
        &self,
        source: impl ToArgs,
        destination: impl ToArgs,
        from: ListEnd,
        to: ListEnd,
    ) -> Self::Output<Option<T>> {
        self.execute(
            Cmd::new("LMOVE")
                .arg(source)
                .arg(destination)
                .arg(from)
                .arg(to),
        )
    }

    /// `LMPOP numkeys key [key …] LEFT|RIGHT COUNT count`: pops up to `count` elements from
    /// one end of the first non-empty list among `keys`; that list's key and the elements,
    /// or `None` if every list is empty. The keys must share a slot.
    fn lmpop<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        end: ListEnd,
        count: u64,
    ) -> Self::Output<Option<Popped<T>>> {
        let mut cmd = Cmd::new("LMPOP");
        push_counted(&mut cmd, keys);
        self.execute(cmd.arg(end).arg("COUNT").arg(count))
    }
}

impl<E: Executor + ?Sized> ListCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn pushes_and_pops() {
        assert_eq!(ArgsOf.lpush("l", "a"), ["LPUSH", "l", "a"]);
        assert_eq!(ArgsOf.rpush("l", ["a", "b"]), ["RPUSH", "l", "a", "b"]);
        assert_eq!(ArgsOf.lpushx("l", ["a"]), ["LPUSHX", "l", "a"]);
        assert_eq!(ArgsOf.rpushx("l", vec![1, 2]), ["RPUSHX", "l", "1", "2"]);
        assert_eq!(ArgsOf.lpop::<String>("l"), ["LPOP", "l"]);
        assert_eq!(ArgsOf.lpop_count::<Vec<String>>("l", 2), ["LPOP", "l", "2"]);
        assert_eq!(ArgsOf.rpop::<String>("l"), ["RPOP", "l"]);
        assert_eq!(ArgsOf.rpop_count::<Vec<String>>("l", 3), ["RPOP", "l", "3"]);
    }

    #[test]
    fn positions_and_ranges() {
        assert_eq!(
            ArgsOf.lrange::<Vec<String>>("l", 0, -1),
            ["LRANGE", "l", "0", "-1"]
        );
        assert_eq!(ArgsOf.llen("l"), ["LLEN", "l"]);
        assert_eq!(ArgsOf.lindex::<String>("l", -1), ["LINDEX", "l", "-1"]);
        assert_eq!(ArgsOf.lset("l", 1, "x"), ["LSET", "l", "1", "x"]);
        assert_eq!(ArgsOf.lrem("l", -2, "x"), ["LREM", "l", "-2", "x"]);
        assert_eq!(ArgsOf.ltrim("l", 1, 3), ["LTRIM", "l", "1", "3"]);
        assert_eq!(
            ArgsOf.linsert("l", InsertPosition::Before, "p", "x"),
            ["LINSERT", "l", "BEFORE", "p", "x"]
        );
        assert_eq!(
            ArgsOf.linsert("l", InsertPosition::After, "p", "x"),
            ["LINSERT", "l", "AFTER", "p", "x"]
        );
        assert_eq!(
            ArgsOf.lmove::<String>("a", "b", ListEnd::Right, ListEnd::Left),
            ["LMOVE", "a", "b", "RIGHT", "LEFT"]
        );
    }

    #[test]
    fn lpos_options() {
        assert_eq!(
            ArgsOf.lpos("l", "x", &LposOptions::new()),
            ["LPOS", "l", "x"]
        );
        assert_eq!(
            ArgsOf.lpos("l", "x", &LposOptions::new().maxlen(10).rank(-1)),
            ["LPOS", "l", "x", "RANK", "-1", "MAXLEN", "10"]
        );
        assert_eq!(
            ArgsOf.lpos_count("l", "x", 0, &LposOptions::new().rank(2)),
            ["LPOS", "l", "x", "COUNT", "0", "RANK", "2"]
        );
    }

    #[test]
    fn lmpop_counts_its_keys() {
        assert_eq!(
            ArgsOf.lmpop::<String>(["a", "b"], ListEnd::Right, 3),
            ["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "3"]
        );
    }
}
