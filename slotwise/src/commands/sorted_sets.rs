//! [`SortedSetCommands`]: commands on sorted set values (members ordered by a score): adding,
//! scoring, ranges by rank, score or name, pops, random members, the multi-key algebra
//! (`ZUNION`, `ZINTER`, `ZDIFF` and their `STORE` forms) and `ZSCAN`. Their option types are
//! in sorted_set_options.rs.
//!
//! It does not own the blocking pops (`BZPOPMIN` …: see
//! [`BlockingCommands`](super::BlockingCommands)), nor routing: the multi-key commands are
//! atomic, so their keys must share a slot, which the executor checks.
//!
//! Score bounds (`zcount`, `zrangebyscore`, `zrange_options` by score) are `impl ToArgs`, so
//! they take the server's syntax as it is: a number (`1.5`, `f64::INFINITY`), an exclusive
//! bound (`"(1.5"`), or `"-inf"`/`"+inf"`. Lexicographic bounds are `"[a"`, `"(a"`, `"-"`
//! and `"+"`.

use super::{
    push_counted, CursorOptions, Executor, Popped, ZAddOptions, ZCombineOptions, ZPopSide,
    ZRangeOptions,
};
use crate::protocol::{Cmd, FromValue, ToArgs};

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
    /// [`zrange_options`](Self::zrange_options) with [`ZRangeBy::Score`](super::ZRangeBy::Score), which also pages
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

    /// `ZMPOP numkeys key [key …] MIN|MAX COUNT count`: pops up to `count` members from the
    /// first non-empty set among `keys`; that set's key and the members with their scores
    /// (as `(member, score)`), or `None` if every set is empty. The keys must share a slot.
    fn zmpop<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        side: ZPopSide,
        count: u64,
    ) -> Self::Output<Option<Popped<(T, f64)>>> {
        let mut cmd = Cmd::new("ZMPOP");
        push_counted(&mut cmd, keys);
        self.execute(cmd.arg(side).arg("COUNT").arg(count))
    }

    /// `ZRANDMEMBER key`: a random member, or `None` for a missing key.
    fn zrandmember<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
    ) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("ZRANDMEMBER").arg(key))
    }

    /// `ZRANDMEMBER key count`: up to `count` distinct random members, or, for a negative
    /// `count`, exactly `-count` members that may repeat; e.g. as `Vec<String>`.
    fn zrandmember_count<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: i64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("ZRANDMEMBER").arg(key).arg(count))
    }

    /// `ZRANDMEMBER key count WITHSCORES`: random members (`count` as in
    /// [`zrandmember_count`](Self::zrandmember_count)) with their scores.
    fn zrandmember_withscores<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: i64,
    ) -> Self::Output<Vec<(T, f64)>> {
        let cmd = Cmd::new("ZRANDMEMBER").arg(key).arg(count);
        self.execute(cmd.arg("WITHSCORES"))
    }

    /// `ZLEXCOUNT key min max`: the number of members between two lexicographic bounds
    /// (`"[a"`, `"(a"`, `"-"`, `"+"`), for a set whose members all have one score.
    fn zlexcount(&self, key: impl ToArgs, min: impl ToArgs, max: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("ZLEXCOUNT").arg(key).arg(min).arg(max))
    }

    /// `ZREMRANGEBYLEX key min max`: removes the members between two lexicographic bounds;
    /// how many were removed.
    fn zremrangebylex(
        &self,
        key: impl ToArgs,
        min: impl ToArgs,
        max: impl ToArgs,
    ) -> Self::Output<i64> {
        self.execute(Cmd::new("ZREMRANGEBYLEX").arg(key).arg(min).arg(max))
    }

    /// `ZRANGESTORE destination source start stop [BYSCORE|BYLEX] [REV] [LIMIT …]`: stores
    /// the range of `source` in `destination`; how many members it holds. Both keys must
    /// share a slot.
    fn zrangestore(
        &self,
        destination: impl ToArgs,
        source: impl ToArgs,
        start: impl ToArgs,
        stop: impl ToArgs,
        options: &ZRangeOptions,
    ) -> Self::Output<i64> {
        let cmd = Cmd::new("ZRANGESTORE").arg(destination).arg(source);
        self.execute(cmd.arg(start).arg(stop).arg(options))
    }

    /// `ZUNION numkeys key … [WEIGHTS …] [AGGREGATE …]`: the members of any of the sets,
    /// lowest combined score first, e.g. as `Vec<String>`.
    fn zunion<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        options: &ZCombineOptions,
    ) -> Self::Output<T> {
        self.execute(combine("ZUNION", None::<&str>, keys, options))
    }

    /// `ZUNION … WITHSCORES`: the union with the combined scores.
    fn zunion_withscores<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        options: &ZCombineOptions,
    ) -> Self::Output<Vec<(T, f64)>> {
        let cmd = combine("ZUNION", None::<&str>, keys, options);
        self.execute(cmd.arg("WITHSCORES"))
    }

    /// `ZUNIONSTORE destination numkeys key … [WEIGHTS …] [AGGREGATE …]`: stores the union;
    /// its size.
    fn zunionstore(
        &self,
        destination: impl ToArgs,
        keys: impl ToArgs,
        options: &ZCombineOptions,
    ) -> Self::Output<i64> {
        self.execute(combine("ZUNIONSTORE", Some(destination), keys, options))
    }

    /// `ZINTER numkeys key … [WEIGHTS …] [AGGREGATE …]`: the members of every set, lowest
    /// combined score first.
    fn zinter<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        options: &ZCombineOptions,
    ) -> Self::Output<T> {
        self.execute(combine("ZINTER", None::<&str>, keys, options))
    }

    /// `ZINTER … WITHSCORES`: the intersection with the combined scores.
    fn zinter_withscores<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        options: &ZCombineOptions,
    ) -> Self::Output<Vec<(T, f64)>> {
        let cmd = combine("ZINTER", None::<&str>, keys, options);
        self.execute(cmd.arg("WITHSCORES"))
    }

    /// `ZINTERSTORE destination numkeys key … [WEIGHTS …] [AGGREGATE …]`: stores the
    /// intersection; its size.
    fn zinterstore(
        &self,
        destination: impl ToArgs,
        keys: impl ToArgs,
        options: &ZCombineOptions,
    ) -> Self::Output<i64> {
        self.execute(combine("ZINTERSTORE", Some(destination), keys, options))
    }

    /// `ZINTERCARD numkeys key … LIMIT limit`: the size of the intersection, counting no
    /// further than `limit` (0: no limit).
    fn zintercard(&self, keys: impl ToArgs, limit: u64) -> Self::Output<i64> {
        let mut cmd = Cmd::new("ZINTERCARD");
        push_counted(&mut cmd, keys);
        self.execute(cmd.arg("LIMIT").arg(limit))
    }

    /// `ZDIFF numkeys key …`: the members of the first set that are in none of the others,
    /// with the first set's order.
    fn zdiff<T: FromValue + Send + 'static>(&self, keys: impl ToArgs) -> Self::Output<T> {
        let mut cmd = Cmd::new("ZDIFF");
        push_counted(&mut cmd, keys);
        self.execute(cmd)
    }

    /// `ZDIFF numkeys key … WITHSCORES`: the difference with the first set's scores.
    fn zdiff_withscores<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
    ) -> Self::Output<Vec<(T, f64)>> {
        let mut cmd = Cmd::new("ZDIFF");
        push_counted(&mut cmd, keys);
        self.execute(cmd.arg("WITHSCORES"))
    }

    /// `ZDIFFSTORE destination numkeys key …`: stores the difference; its size.
    fn zdiffstore(&self, destination: impl ToArgs, keys: impl ToArgs) -> Self::Output<i64> {
        let mut cmd = Cmd::new("ZDIFFSTORE").arg(destination);
        push_counted(&mut cmd, keys);
        self.execute(cmd)
    }

    /// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: one page of members with their
    /// scores and the cursor of the next page (0 when the scan is over).
    fn zscan<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        cursor: u64,
        options: &CursorOptions,
    ) -> Self::Output<(u64, Vec<(T, f64)>)> {
        self.execute(Cmd::new("ZSCAN").arg(key).arg(cursor).arg(options))
    }
}

/// `name [destination] numkeys key … [WEIGHTS …] [AGGREGATE …]`.
fn combine(
    name: &str,
    destination: Option<impl ToArgs>,
    keys: impl ToArgs,
    options: &ZCombineOptions,
) -> Cmd {
    let mut cmd = Cmd::new(name).arg(destination);
    push_counted(&mut cmd, keys);
    cmd.arg(options)
}

impl<E: Executor + ?Sized> SortedSetCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::super::{Aggregate, Comparison, Condition, ZRangeBy};
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

    #[test]
    fn multi_key_commands_count_their_keys() {
        let none = ZCombineOptions::new();
        assert_eq!(
            ArgsOf.zunion::<Vec<String>>(["a", "b"], &none),
            ["ZUNION", "2", "a", "b"]
        );
        let options = ZCombineOptions::new()
            .aggregate(Aggregate::Max)
            .weights([2.0, 0.5]);
        assert_eq!(
            ArgsOf.zinter_withscores::<String>(["a", "b"], &options),
            [
                "ZINTER",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "2",
                "0.5",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]
        );
        assert_eq!(
            ArgsOf.zunion_withscores::<String>("a", &none),
            ["ZUNION", "1", "a", "WITHSCORES"]
        );
        assert_eq!(
            ArgsOf.zunionstore("d", ["a", "b"], &options),
            [
                "ZUNIONSTORE",
                "d",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "2",
                "0.5",
                "AGGREGATE",
                "MAX"
            ]
        );
        assert_eq!(
            ArgsOf.zinter::<Vec<String>>(["a", "b"], &none),
            ["ZINTER", "2", "a", "b"]
        );
        assert_eq!(
            ArgsOf.zinterstore("d", ["a"], &none),
            ["ZINTERSTORE", "d", "1", "a"]
        );
        assert_eq!(
            ArgsOf.zintercard(["a", "b"], 3),
            ["ZINTERCARD", "2", "a", "b", "LIMIT", "3"]
        );
        assert_eq!(
            ArgsOf.zdiff::<Vec<String>>(["a", "b"]),
            ["ZDIFF", "2", "a", "b"]
        );
        assert_eq!(
            ArgsOf.zdiff_withscores::<String>(["a", "b"]),
            ["ZDIFF", "2", "a", "b", "WITHSCORES"]
        );
        assert_eq!(
            ArgsOf.zdiffstore("d", ["a", "b"]),
            ["ZDIFFSTORE", "d", "2", "a", "b"]
        );
        assert_eq!(
            ArgsOf.zmpop::<String>(["a", "b"], ZPopSide::Max, 2),
            ["ZMPOP", "2", "a", "b", "MAX", "COUNT", "2"]
        );
    }

    #[test]
    fn random_lex_store_and_scan() {
        assert_eq!(ArgsOf.zrandmember::<String>("z"), ["ZRANDMEMBER", "z"]);
        assert_eq!(
            ArgsOf.zrandmember_count::<Vec<String>>("z", -3),
            ["ZRANDMEMBER", "z", "-3"]
        );
        assert_eq!(
            ArgsOf.zrandmember_withscores::<String>("z", 2),
            ["ZRANDMEMBER", "z", "2", "WITHSCORES"]
        );
        assert_eq!(
            ArgsOf.zlexcount("z", "[a", "+"),
            ["ZLEXCOUNT", "z", "[a", "+"]
        );
        assert_eq!(
            ArgsOf.zremrangebylex("z", "-", "(c"),
            ["ZREMRANGEBYLEX", "z", "-", "(c"]
        );
        assert_eq!(
            ArgsOf.zrangestore("d", "z", 0, 1, &ZRangeOptions::new().rev(true)),
            ["ZRANGESTORE", "d", "z", "0", "1", "REV"]
        );
        let page = CursorOptions::new().pattern("a*").count(10);
        assert_eq!(
            ArgsOf.zscan::<String>("z", 0, &page),
            ["ZSCAN", "z", "0", "MATCH", "a*", "COUNT", "10"]
        );
    }
}
