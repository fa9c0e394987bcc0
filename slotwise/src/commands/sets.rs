//! [`SetCommands`]: commands on set values: membership, random members and set algebra.
//!
//! It does not own routing: the algebra
//! commands (`SINTER`, `SUNIONSTORE`, `SMOVE` …) are atomic, so all their keys must share a
//! slot, which the executor checks.

use super::{push_counted, CursorOptions, Executor};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// Commands on sets. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. Replies with several
/// members can be read as `Vec<T>`, `HashSet<T>` or `BTreeSet<T>`; sets have no order, so a
/// `Vec` holds them in whatever order the server sent.
pub trait SetCommands: Executor {
    /// `SADD key member [member …]`: adds members; how many were new.
    fn sadd(&self, key: impl ToArgs, members: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SADD").arg(key).arg(members))
    }

    /// `SREM key member [member …]`: removes members; how many were present.
    fn srem(&self, key: impl ToArgs, members: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SREM").arg(key).arg(members))
    }

    /// `SMEMBERS key`: every member, e.g. as `HashSet<String>`; empty for a missing key.
    fn smembers<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("SMEMBERS").arg(key))
    }

    /// `SISMEMBER key member`: whether the member is in the set.
    fn sismember(&self, key: impl ToArgs, member: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new("SISMEMBER").arg(key).arg(member))
    }

    /// `SMISMEMBER key member [member …]`: for each member in order, whether it is in the
    /// set.
    fn smismember(&self, key: impl ToArgs, members: impl ToArgs) -> Self::Output<Vec<bool>> {
        self.execute(Cmd::new("SMISMEMBER").arg(key).arg(members))
    }

    /// `SCARD key`: the number of members, 0 for a missing key.
    fn scard(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SCARD").arg(key))
    }

    /// `SPOP key`: removes and returns a random member, or `None` if the set is empty.
    fn spop<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("SPOP").arg(key))
    }

    /// `SPOP key count`: removes and returns up to `count` random members, e.g. as
    /// `Vec<String>`.
    fn spop_count<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: u64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("SPOP").arg(key).arg(count))
    }

    /// `SRANDMEMBER key`: a random member, or `None` if the set is empty.
    fn srandmember<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
    ) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("SRANDMEMBER").arg(key))
    }

    /// `SRANDMEMBER key count`: up to `count` distinct random members, or, for a negative
    /// `count`, exactly `-count` members that may repeat; e.g. as `Vec<String>`.
    fn srandmember_count<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: i64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("SRANDMEMBER").arg(key).arg(count))
    }

    /// `SMOVE source destination member`: moves the member between sets; true if it was in
    /// `source`. Both keys must be in one slot.
    fn smove(
        &self,
        source: impl ToArgs,
        destination: impl ToArgs,
        member: impl ToArgs,
    ) -> Self::Output<bool> {
        self.execute(Cmd::new("SMOVE").arg(source).arg(destination).arg(member))
    }

    /// `SINTER key [key …]`: the members in every set.
    fn sinter<T: FromValue + Send + 'static>(&self, keys: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("SINTER").arg(keys))
    }

    /// `SUNION key [key …]`: the members in any of the sets.
    fn sunion<T: FromValue + Send + 'static>(&self, keys: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("SUNION").arg(keys))
    }

    /// `SDIFF key [key …]`: the members of the first set that are in none of the others.
    fn sdiff<T: FromValue + Send + 'static>(&self, keys: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("SDIFF").arg(keys))
    }

    /// `SINTERSTORE destination key [key …]`: stores the intersection in `destination`
    /// (replacing it); its size.
    fn sinterstore(&self, destination: impl ToArgs, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SINTERSTORE").arg(destination).arg(keys))
    }

    /// `SUNIONSTORE destination key [key …]`: stores the union in `destination`; its size.
    fn sunionstore(&self, destination: impl ToArgs, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SUNIONSTORE").arg(destination).arg(keys))
    }

    /// `SDIFFSTORE destination key [key …]`: stores the difference in `destination`; its
    /// size.
    fn sdiffstore(&self, destination: impl ToArgs, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SDIFFSTORE").arg(destination).arg(keys))
    }

    /// `SINTERCARD numkeys key [key …] LIMIT limit`: the size of the intersection, counting
    /// no further than `limit` (0: no limit), which is cheaper than computing it whole when
    /// only "at least n" matters. `numkeys` is counted for you.
    fn sintercard(&self, keys: impl ToArgs, limit: u64) -> Self::Output<i64> {
        let mut cmd = Cmd::new("SINTERCARD");
        push_counted(&mut cmd, keys);
        cmd.push_arg("LIMIT").push_arg(limit);
        self.execute(cmd)
    }

    /// `SSCAN key cursor [MATCH pattern] [COUNT count]`: one page of members, e.g. as
    /// `Vec<String>`, and the cursor of the next page (0 when the scan is over). A member
    /// may come back in more than one page.
    fn sscan<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        cursor: u64,
        options: &CursorOptions,
    ) -> Self::Output<(u64, T)> {
        self.execute(Cmd::new("SSCAN").arg(key).arg(cursor).arg(options))
    }
}

impl<E: Executor + ?Sized> SetCommands for E {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn membership() {
        assert_eq!(ArgsOf.sadd("s", ["a", "b"]), ["SADD", "s", "a", "b"]);
        assert_eq!(ArgsOf.srem("s", "a"), ["SREM", "s", "a"]);
        assert_eq!(ArgsOf.smembers::<HashSet<String>>("s"), ["SMEMBERS", "s"]);
        assert_eq!(ArgsOf.sismember("s", "a"), ["SISMEMBER", "s", "a"]);
        assert_eq!(
            ArgsOf.smismember("s", ["a", "b"]),
            ["SMISMEMBER", "s", "a", "b"]
        );
        assert_eq!(ArgsOf.scard("s"), ["SCARD", "s"]);
        assert_eq!(ArgsOf.spop::<String>("s"), ["SPOP", "s"]);
        assert_eq!(ArgsOf.spop_count::<Vec<String>>("s", 2), ["SPOP", "s", "2"]);
        assert_eq!(ArgsOf.srandmember::<String>("s"), ["SRANDMEMBER", "s"]);
        assert_eq!(
            ArgsOf.srandmember_count::<Vec<String>>("s", -3),
            ["SRANDMEMBER", "s", "-3"]
        );
        assert_eq!(ArgsOf.smove("a", "b", "m"), ["SMOVE", "a", "b", "m"]);
    }

    #[test]
    fn algebra() {
        assert_eq!(
            ArgsOf.sinter::<Vec<String>>(["a", "b"]),
            ["SINTER", "a", "b"]
        );
        assert_eq!(ArgsOf.sunion::<Vec<String>>(["a"]), ["SUNION", "a"]);
        assert_eq!(ArgsOf.sdiff::<Vec<String>>("a"), ["SDIFF", "a"]);
        assert_eq!(
            ArgsOf.sinterstore("d", ["a", "b"]),
            ["SINTERSTORE", "d", "a", "b"]
        );
        assert_eq!(ArgsOf.sunionstore("d", "a"), ["SUNIONSTORE", "d", "a"]);
        assert_eq!(
            ArgsOf.sdiffstore("d", vec!["a", "b"]),
            ["SDIFFSTORE", "d", "a", "b"]
        );
        assert_eq!(
            ArgsOf.sintercard(["a", "b", "c"], 0),
            ["SINTERCARD", "3", "a", "b", "c", "LIMIT", "0"]
        );
        assert_eq!(
            ArgsOf.sintercard("a", 5),
            ["SINTERCARD", "1", "a", "LIMIT", "5"]
        );
    }

    #[test]
    fn sscan_options_follow_the_cursor() {
        assert_eq!(
            ArgsOf.sscan::<Vec<String>>("k", 7, &CursorOptions::new().count(3).pattern("a*")),
            ["SSCAN", "k", "7", "MATCH", "a*", "COUNT", "3"]
        );
        assert_eq!(
            ArgsOf.sscan::<Vec<String>>("k", 0, &CursorOptions::new()),
            ["SSCAN", "k", "0"]
        );
    }
}
