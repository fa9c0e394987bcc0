//! [`BlockingCommands`]: the list and sorted set pops that wait for data: `BLPOP`, `BRPOP`,
//! `BLMOVE`, `BRPOPLPUSH`, `BLMPOP`, `BZPOPMIN`, `BZPOPMAX` and `BZMPOP`.
//!
//! It does not own how they are run. A blocked command holds its connection until data
//! arrives or the timeout passes, so the cluster client runs each on a connection of its own
//! (reused from the node's idle ones) and waits the timeout read from the arguments beyond
//! its response timeout; on a plain node [`Connection`](crate::connection::Connection) a
//! blocked command holds up every command queued behind it. The blocking stream reads are
//! [`StreamCommands::xread`](super::StreamCommands::xread) and
//! [`xreadgroup`](super::StreamCommands::xreadgroup) with a `BLOCK` option. Several keys must
//! share a slot, as for their non-blocking forms.
//!
//! A timeout is a [`Duration`], sent as seconds (fractions allowed); [`Duration::ZERO`]
//! waits forever. Every reply is `None` when the timeout passed with nothing to pop.

use std::time::Duration;

use super::{push_counted, Executor, ListEnd, Popped, ZPopSide};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// Commands that wait for an element to pop. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work.
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use std::time::Duration;
/// use slotwise::commands::BlockingCommands;
///
/// // Waits up to 5 s for a job on either queue (both carry the {jobs} hash tag).
/// let job = cluster.blpop::<String>(["{jobs}:urgent", "{jobs}:normal"], Duration::from_secs(5));
/// if let Some((queue, job)) = job.await? {
///     println!("{queue}: {job}");
/// }
/// # Ok(()) }
/// ```
pub trait BlockingCommands: Executor {
    /// `BLPOP key [key …] timeout`: pops the head of the first non-empty list among `keys`,
    /// waiting for one; the list's key and the element.
    fn blpop<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        timeout: Duration,
    ) -> Self::Output<Option<(String, T)>> {
        self.execute(Cmd::new("BLPOP").arg(keys).arg(timeout.as_secs_f64()))
    }

    /// `BRPOP key [key …] timeout`: like [`blpop`](Self::blpop) from the tail.
    fn brpop<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        timeout: Duration,
    ) -> Self::Output<Option<(String, T)>> {
        self.execute(Cmd::new("BRPOP").arg(keys).arg(timeout.as_secs_f64()))
    }

    /// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`: moves an element between
    /// lists like `LMOVE`, waiting for `source` to have one; the element.
    fn blmove<T: FromValue + Send + 'static>(
        &self,
        source: impl ToArgs,
        destination: impl ToArgs,
        from: ListEnd,
        to: ListEnd,
        timeout: Duration,
    ) -> Self::Output<Option<T>> {
        let cmd = Cmd::new("BLMOVE").arg(source).arg(destination).arg(from);
        self.execute(cmd.arg(to).arg(timeout.as_secs_f64()))
    }

    /// `BRPOPLPUSH source destination timeout`: moves the tail of `source` to the head of
    /// `destination`, waiting for one; the element. The server deprecates it in favour of
    /// [`blmove`](Self::blmove) with [`ListEnd::Right`] and [`ListEnd::Left`].
    fn brpoplpush<T: FromValue + Send + 'static>(
        &self,
        source: impl ToArgs,
        destination: impl ToArgs,
        timeout: Duration,
    ) -> Self::Output<Option<T>> {
        let cmd = Cmd::new("BRPOPLPUSH").arg(source).arg(destination);
        self.execute(cmd.arg(timeout.as_secs_f64()))
    }

    /// `BLMPOP timeout numkeys key … LEFT|RIGHT COUNT count`: like `LMPOP`, waiting for a
    /// list to have elements; the key and up to `count` elements.
    fn blmpop<T: FromValue + Send + 'static>(
        &self,
        timeout: Duration,
        keys: impl ToArgs,
        end: ListEnd,
        count: u64,
    ) -> Self::Output<Option<Popped<T>>> {
        let mut cmd = Cmd::new("BLMPOP").arg(timeout.as_secs_f64());
        push_counted(&mut cmd, keys);
        self.execute(cmd.arg(end).arg("COUNT").arg(count))
    }

    /// `BZPOPMIN key [key …] timeout`: pops the lowest-scored member of the first non-empty
    /// set among `keys`, waiting for one; the set's key, the member and its score.
    fn bzpopmin<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        timeout: Duration,
    ) -> Self::Output<Option<(String, T, f64)>> {
        self.execute(Cmd::new("BZPOPMIN").arg(keys).arg(timeout.as_secs_f64()))
    }

    /// `BZPOPMAX key [key …] timeout`: like [`bzpopmin`](Self::bzpopmin) for the highest
    /// score.
    fn bzpopmax<T: FromValue + Send + 'static>(
        &self,
        keys: impl ToArgs,
        timeout: Duration,
    ) -> Self::Output<Option<(String, T, f64)>> {
        self.execute(Cmd::new("BZPOPMAX").arg(keys).arg(timeout.as_secs_f64()))
    }

    /// `BZMPOP timeout numkeys key … MIN|MAX COUNT count`: like `ZMPOP`, waiting for a set
    /// to have members; the key and up to `count` `(member, score)` pairs.
    fn bzmpop<T: FromValue + Send + 'static>(
        &self,
        timeout: Duration,
        keys: impl ToArgs,
        side: ZPopSide,
        count: u64,
    ) -> Self::Output<Option<Popped<(T, f64)>>> {
        let mut cmd = Cmd::new("BZMPOP").arg(timeout.as_secs_f64());
        push_counted(&mut cmd, keys);
        self.execute(cmd.arg(side).arg("COUNT").arg(count))
    }
}

impl<E: Executor + ?Sized> BlockingCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn timeouts_are_seconds_where_the_server_reads_them() {
        let half = Duration::from_millis(500);
        assert_eq!(
            ArgsOf.blpop::<String>(["a", "b"], half),
            ["BLPOP", "a", "b", "0.5"]
        );
        assert_eq!(
            ArgsOf.brpop::<String>("a", Duration::ZERO),
            ["BRPOP", "a", "0"]
        );
        assert_eq!(
            ArgsOf.blmove::<String>("a", "b", ListEnd::Left, ListEnd::Right, half),
            ["BLMOVE", "a", "b", "LEFT", "RIGHT", "0.5"]
        );
        assert_eq!(
            ArgsOf.brpoplpush::<String>("a", "b", Duration::from_secs(2)),
            ["BRPOPLPUSH", "a", "b", "2"]
        );
        assert_eq!(
            ArgsOf.blmpop::<String>(half, ["a", "b"], ListEnd::Left, 3),
            ["BLMPOP", "0.5", "2", "a", "b", "LEFT", "COUNT", "3"]
        );
        assert_eq!(
            ArgsOf.bzpopmin::<String>("z", half),
            ["BZPOPMIN", "z", "0.5"]
        );
        assert_eq!(
            ArgsOf.bzpopmax::<String>(["y", "z"], half),
            ["BZPOPMAX", "y", "z", "0.5"]
        );
        assert_eq!(
            ArgsOf.bzmpop::<String>(Duration::from_secs(1), "z", ZPopSide::Min, 1),
            ["BZMPOP", "1", "1", "z", "MIN", "COUNT", "1"]
        );
    }
}
