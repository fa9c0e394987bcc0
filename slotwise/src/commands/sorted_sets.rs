//! [`SortedSetCommands`]: commands on sorted set values (members ordered by a score), with
//! their option types ([`ZAddOptions`], [`Comparison`], [`ZRangeOptions`], [`ZRangeBy`]).
//!
//! It does not own `ZSCAN` (it comes with the other cursors), the blocking pops (`BZPOPMIN`
//! …, which need a dedicated connection), nor the multi-key algebra (`ZUNIONSTORE` …), which
//! is not written yet.
//!
//! Score bounds (`zcount`, `zrangebyscore`, `zrange_options` by score) are `impl ToArgs`, so
//! they take the server's syntax as it is: a number (`1.5`, `f64::INFINITY`), an exclusive
//! bound (`"(1.5"`), or `"-inf"`/`"+inf"`. Lexicographic bounds are `"[a"`, `"(a"`, `"-"`
//! and `"+"`.

use super::{Condition, Executor};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// How a new score must compare with the current one for `ZADD` to update it (`GT`/`LT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Comparison {
    /// `GT`: only if the new score is greater.
    Gt,
    /// `LT`: only if the new score is less.
    Lt,
}

impl ToArgs for Comparison {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            Comparison::Gt => b"GT",
            Comparison::Lt => b"LT",
        });
    }
}

/// The options of `ZADD` (see [`SortedSetCommands::zadd_options`]).
///
/// `INCR` is left out because it changes the reply to a score; use
/// [`zincrby`](SortedSetCommands::zincrby).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ZAddOptions {
    condition: Option<Condition>,
    comparison: Option<Comparison>,
    ch: bool,
}

impl ZAddOptions {
    /// Options that add nothing: members are added or updated, and the reply counts new
    /// members.
    pub fn new() -> ZAddOptions {
        ZAddOptions::default()
    }

    /// Only adds new members ([`Condition::Nx`]) or only updates existing ones
    /// ([`Condition::Xx`]). The server rejects `NX` together with a
    /// [`comparison`](Self::comparison). Default is to add and update.
    pub fn condition(mut self, condition: Condition) -> ZAddOptions {
        self.condition = Some(condition);
        self
    }

    /// Updates an existing member only if the new score compares as asked; new members are
    /// still added. Default is to update whatever the score.
    pub fn comparison(mut self, comparison: Comparison) -> ZAddOptions {
        self.comparison = Some(comparison);
        self
    }

    /// `CH`: the reply counts changed members (added or given a new score), not just added
    /// ones. Default is false.
    pub fn ch(mut self, ch: bool) -> ZAddOptions {
        self.ch = ch;
        self
    }
}

impl ToArgs for ZAddOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_arg(self.condition).push_arg(self.comparison);
        if self.ch {
            cmd.push_bytes(b"CH");
        }
    }
}

/// What the `start` and `stop` of a `ZRANGE` are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZRangeBy {
    /// Ranks (0-based indexes, negative from the end).
    #[default]
    Index,
    /// `BYSCORE`: score bounds.
    Score,
    /// `BYLEX`: lexicographic bounds, for members that all have the same score.
    Lex,
}

/// The options of `ZRANGE` (see [`SortedSetCommands::zrange_options`] and
/// [`SortedSetCommands::zrange_withscores`]).
///
/// ```
/// use slotwise::commands::{ZRangeBy, ZRangeOptions};
/// use slotwise::protocol::Cmd;
///
/// // The top 10 scores of 100 or more.
/// let top = ZRangeOptions::new().by(ZRangeBy::Score).rev(true).limit(0, 10);
/// let cmd = Cmd::new("ZRANGE").arg("scores").arg("+inf").arg(100).arg(top);
/// let args: Vec<&[u8]> = cmd.args().skip(4).collect();
/// assert_eq!(args, [&b"BYSCORE"[..], b"REV", b"LIMIT", b"0", b"10"]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ZRangeOptions {
    by: ZRangeBy,
    rev: bool,
    limit: Option<(i64, i64)>,
}

impl ZRangeOptions {
    /// Options that add nothing: `start` and `stop` are ranks, lowest score first.
    pub fn new() -> ZRangeOptions {
        ZRangeOptions::default()
    }

    /// What `start` and `stop` are. Default is [`ZRangeBy::Index`].
    pub fn by(mut self, by: ZRangeBy) -> ZRangeOptions {
        self.by = by;
        self
    }

    /// `REV`: highest score first. With score or lex bounds, `start` is then the upper bound
    /// and `stop` the lower one. Default is false.
    pub fn rev(mut self, rev: bool) -> ZRangeOptions {
        self.rev = rev;
        self
    }

    /// `LIMIT offset count`: skips `offset` matches and returns at most `count` (negative:
    /// all the rest). The server accepts it only with [`ZRangeBy::Score`] or
    /// [`ZRangeBy::Lex`]. Default is no limit.
    pub fn limit(mut self, offset: i64, count: i64) -> ZRangeOptions {
        self.limit = Some((offset, count));
        self
    }
}

impl ToArgs for ZRangeOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        match self.by {
            ZRangeBy::Index => {}
            ZRangeBy::Score => cmd.push_bytes(b"BYSCORE"),
            ZRangeBy::Lex => cmd.push_bytes(b"BYLEX"),
        }
        if self.rev {
            cmd.push_bytes(b"REV");
        }
        if let Some((offset, count)) = self.limit {
            cmd.push_bytes(b"LIMIT");
            cmd.push_int(offset);
            cmd.push_int(count);
        }
    }
}

/// Commands on sorted sets. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. Ranks are 0-based,
/// lowest score first.
pub trait SortedSetCommands: Executor {
    /// `ZADD key score member [score member …]`: adds members or updates their scores, given
    /// as `(score, member)` tuples, score first as the command has it; how many were new.
    fn zadd(&self, key: impl ToArgs, items: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("ZADD").arg(key).arg(items))
    }

    /// `ZADD key [NX|XX] [GT|LT] [CH] score member …`: like [`zadd`](Self::zadd) with
    /// conditions; how many were added (or changed, with `CH`).
    fn zadd_options(
        &self,
        key: impl ToArgs,
        items: impl ToArgs,
        options: &ZAddOptions,
    ) -> Self::Output<i64> {
        self.execute(Cmd::new("ZADD").arg(key).arg(options).arg(items))
    }

    /// `ZINCRBY key increment member`: adds to the member's score (a new member starts at 0);
    /// the new score.
    fn zincrby(&self, key: impl ToArgs, increment: f64, member: impl ToArgs) -> Self::Output<f64> {
        self.execute(Cmd::new("ZINCRBY").arg(key).arg(increment).arg(member))
    }

    /// `ZREM key member [member …]`: removes members; how many were present.
    fn zrem(&self, key: impl ToArgs, members: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("ZREM").arg(key).arg(members))
    }

    /// `ZSCORE key member`: the member's score, or `None` if it is not in the set.
    fn zscore(&self, key: impl ToArgs, member: impl ToArgs) -> Self::Output<Option<f64>> {
        self.execute(Cmd::new("ZSCORE").arg(key).arg(member))
    }

    /// `ZMSCORE key member [member …]`: for each member in order, its score or `None`.
    fn zmscore(&self, key: impl ToArgs, members: impl ToArgs) -> Self::Output<Vec<Option<f64>>> {
        self.execute(Cmd::new("ZMSCORE").arg(key).arg(members))
    }

    /// `ZRANK key member`: the member's rank, lowest score first, or `None` if absent.
    fn zrank(&self, key: impl ToArgs, member: impl ToArgs) -> Self::Output<Option<i64>> {
        self.execute(Cmd::new("ZRANK").arg(key).arg(member))
    }

    /// `ZREVRANK key member`: the member's rank, highest score first, or `None` if absent.
    fn zrevrank(&self, key: impl ToArgs, member: impl ToArgs) -> Self::Output<Option<i64>> {
        self.execute(Cmd::new("ZREVRANK").arg(key).arg(member))
    }

    /// `ZCARD key`: the number of members, 0 for a missing key.
    fn zcard(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("ZCARD").arg(key))
    }

    /// `ZCOUNT key min max`: the number of members with a score between the bounds.
    fn zcount(&self, key: impl ToArgs, min: impl ToArgs, max: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("ZCOUNT").arg(key).arg(min).arg(max))
    }

    /// `ZRANGE key start stop`: the members ranked `start` to `stop` inclusive, lowest score
    /// first, e.g. as `Vec<String>`; `zrange(key, 0, -1)` is the whole set.
    fn zrange<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        start: i64,
        stop: i64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("ZRANGE").arg(key).arg(start).arg(stop))
    }

    /// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]`: the members in a
    /// range of ranks, scores or names, e.g. as `Vec<String>`.
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
    /// use slotwise::commands::{SortedSetCommands, ZRangeBy, ZRangeOptions};
    ///
    /// node.zadd("scores", [(90.0, "ann"), (72.5, "bob"), (99.0, "cy")]).await?;
    /// // The two best scores above 80, best first.
    /// let best = ZRangeOptions::new().by(ZRangeBy::Score).rev(true).limit(0, 2);
    /// let names: Vec<String> = node.zrange_options("scores", "+inf", "(80", &best).await?;
    /// assert_eq!(names, ["cy", "ann"]);
    /// let with_scores = node.zrange_withscores::<String>("scores", 0, 0, &Default::default());
    /// assert_eq!(with_scores.await?, [("bob".to_owned(), 72.5)]);
    /// # Ok(()) }
    /// ```
    fn zrange_options<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        start: impl ToArgs,
        stop: impl ToArgs,
        options: &ZRangeOptions,
    ) -> Self::Output<T> {
        self.execute(
            Cmd::new("ZRANGE")
                .arg(key)
                .arg(start)
                .arg(stop)
                .arg(options),
        )
    }

    /// `ZRANGE key start stop [options] WITHSCORES`: the members of the range with their
    /// scores, as `(member, score)` pairs.
    fn zrange_withscores<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        start: impl ToArgs,
        stop: impl ToArgs,
        options: &ZRangeOptions,
    ) -> Self::Output<Vec<(T, f64)>> {
        self.execute(
            Cmd::new("ZRANGE")
                .arg(key)
                .arg(start)
                .arg(stop)
                .arg(options)
                .arg("WITHSCORES"),
        )
    }

    /// `ZRANGEBYSCORE key min max`: the members with a score between the bounds, lowest
    /// first. The server deprecates it in favour of
    /// [`zrange_options`](Self::zrange_options) with [`ZRangeBy::Score`], which also pages
    /// and reverses.
    fn zrangebyscore<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        min: impl ToArgs,
        max: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("ZRANGEBYSCORE").arg(key).arg(min).arg(max))
    }

    /// `ZPOPMIN key count`: removes and returns up to `count` members with the lowest
    /// scores, lowest first.
    ///
    /// The count is always sent: without it the reply is a bare pair, or an empty array
    /// when the set is empty, which no single Rust type reads cleanly.
    fn zpopmin<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: u64,
    ) -> Self::Output<Vec<(T, f64)>> {
        self.execute(Cmd::new("ZPOPMIN").arg(key).arg(count))
    }

    /// `ZPOPMAX key count`: removes and returns up to `count` members with the highest
    /// scores, highest first.
    fn zpopmax<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: u64,
    ) -> Self::Output<Vec<(T, f64)>> {
        self.execute(Cmd::new("ZPOPMAX").arg(key).arg(count))
    }

    /// `ZREMRANGEBYRANK key start stop`: removes the members ranked `start` to `stop`; how
    /// many were removed.
    fn zremrangebyrank(&self, key: impl ToArgs, start: i64, stop: i64) -> Self::Output<i64> {
        self.execute(Cmd::new("ZREMRANGEBYRANK").arg(key).arg(start).arg(stop))
    }

    /// `ZREMRANGEBYSCORE key min max`: removes the members with a score between the bounds;
    /// how many were removed.
    fn zremrangebyscore(
        &self,
        key: impl ToArgs,
        min: impl ToArgs,
        max: impl ToArgs,
    ) -> Self::Output<i64> {
        self.execute(Cmd::new("ZREMRANGEBYSCORE").arg(key).arg(min).arg(max))
    }
}

impl<E: Executor + ?Sized> SortedSetCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn zadd_puts_options_before_the_pairs() {
        assert_eq!(
            ArgsOf.zadd("z", [(1.5, "a"), (2.0, "b")]),
            ["ZADD", "z", "1.5", "a", "2", "b"]
        );
        let options = ZAddOptions::new()
            .ch(true)
            .comparison(Comparison::Gt)
            .condition(Condition::Xx);
        assert_eq!(
            ArgsOf.zadd_options("z", (3, "a"), &options),
            ["ZADD", "z", "XX", "GT", "CH", "3", "a"]
        );
        assert_eq!(
            ArgsOf.zadd_options(
                "z",
                (3, "a"),
                &ZAddOptions::new().comparison(Comparison::Lt)
            ),
            ["ZADD", "z", "LT", "3", "a"]
        );
    }

    #[test]
    fn zrange_options_in_server_order() {
        assert_eq!(
            ArgsOf.zrange::<Vec<String>>("z", 0, -1),
            ["ZRANGE", "z", "0", "-1"]
        );
        let options = ZRangeOptions::new()
            .limit(2, 5)
            .rev(true)
            .by(ZRangeBy::Score);
        assert_eq!(
            ArgsOf.zrange_options::<Vec<String>>("z", "+inf", "(1", &options),
            ["ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "2", "5"]
        );
        assert_eq!(
            ArgsOf.zrange_options::<Vec<String>>(
                "z",
                "[a",
                "+",
                &ZRangeOptions::new().by(ZRangeBy::Lex)
            ),
            ["ZRANGE", "z", "[a", "+", "BYLEX"]
        );
        assert_eq!(
            ArgsOf.zrange_withscores::<String>(
                "z",
                f64::NEG_INFINITY,
                2.5,
                &ZRangeOptions::new().by(ZRangeBy::Score)
            ),
            ["ZRANGE", "z", "-inf", "2.5", "BYSCORE", "WITHSCORES"]
        );
    }

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.zincrby("z", 2.5, "m"), ["ZINCRBY", "z", "2.5", "m"]);
        assert_eq!(ArgsOf.zrem("z", ["a", "b"]), ["ZREM", "z", "a", "b"]);
        assert_eq!(ArgsOf.zscore("z", "m"), ["ZSCORE", "z", "m"]);
        assert_eq!(ArgsOf.zmscore("z", ["a", "b"]), ["ZMSCORE", "z", "a", "b"]);
        assert_eq!(ArgsOf.zrank("z", "m"), ["ZRANK", "z", "m"]);
        assert_eq!(ArgsOf.zrevrank("z", "m"), ["ZREVRANK", "z", "m"]);
        assert_eq!(ArgsOf.zcard("z"), ["ZCARD", "z"]);
        assert_eq!(ArgsOf.zcount("z", "(1", 5), ["ZCOUNT", "z", "(1", "5"]);
        assert_eq!(
            ArgsOf.zrangebyscore::<Vec<String>>("z", "-inf", "+inf"),
            ["ZRANGEBYSCORE", "z", "-inf", "+inf"]
        );
        assert_eq!(ArgsOf.zpopmin::<String>("z", 1), ["ZPOPMIN", "z", "1"]);
        assert_eq!(ArgsOf.zpopmax::<String>("z", 2), ["ZPOPMAX", "z", "2"]);
        assert_eq!(
            ArgsOf.zremrangebyrank("z", 0, 1),
            ["ZREMRANGEBYRANK", "z", "0", "1"]
        );
        assert_eq!(
            ArgsOf.zremrangebyscore("z", 1, "(2"),
            ["ZREMRANGEBYSCORE", "z", "1", "(2"]
        );
    }
}
