//! [`HashCommands`]: commands on hash values (field → value maps inside one key).
//!
//! It does not own commands on the key itself (`DEL`, `EXPIRE`: see
//! [`KeyCommands`](super::KeyCommands)). `HSCAN` pages through one hash; a scan of the
//! cluster's keys is [`RedisCluster::scan`](crate::RedisCluster::scan).

use super::{CursorOptions, Executor};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// Commands on hashes. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work.
pub trait HashCommands: Executor {
    /// `HSET key field value [field value …]`: sets fields, given as `(field, value)` tuples
    /// (one, or an array, slice or `Vec` of them); how many fields were new.
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
    /// use slotwise::commands::HashCommands;
    ///
    /// node.hset("user:1000", [("name", "Ada"), ("lang", "en")]).await?;
    /// node.hset("user:1000", ("visits", 1)).await?;
    /// let user: HashMap<String, String> = node.hgetall("user:1000").await?;
    /// assert_eq!(user["name"], "Ada");
    /// # Ok(()) }
    /// ```
    fn hset(&self, key: impl ToArgs, pairs: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("HSET").arg(key).arg(pairs))
    }

    /// `HGET key field`: the field's value, or `None` if the field or key does not exist.
    fn hget<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        field: impl ToArgs,
    ) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("HGET").arg(key).arg(field))
    }

    /// `HMGET key field [field …]`: the values in the order of the fields, nil for missing
    /// ones; read it as e.g. `Vec<Option<String>>`.
    fn hmget<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        fields: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("HMGET").arg(key).arg(fields))
    }

    /// `HGETALL key`: every field and value, e.g. as `HashMap<String, String>` or
    /// `Vec<(String, String)>`; empty for a missing key.
    fn hgetall<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("HGETALL").arg(key))
    }

    /// `HDEL key field [field …]`: removes fields; how many existed.
    fn hdel(&self, key: impl ToArgs, fields: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("HDEL").arg(key).arg(fields))
    }

    /// `HEXISTS key field`: whether the field exists.
    fn hexists(&self, key: impl ToArgs, field: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new("HEXISTS").arg(key).arg(field))
    }

    /// `HINCRBY key field increment`: adds to the field's integer value (missing counts as
    /// 0); the new value.
    fn hincrby(&self, key: impl ToArgs, field: impl ToArgs, increment: i64) -> Self::Output<i64> {
        self.execute(Cmd::new("HINCRBY").arg(key).arg(field).arg(increment))
    }

    /// `HINCRBYFLOAT key field increment`: adds to the field's number value; the new value.
    fn hincrbyfloat(
        &self,
        key: impl ToArgs,
        field: impl ToArgs,
        increment: f64,
    ) -> Self::Output<f64> {
        self.execute(Cmd::new("HINCRBYFLOAT").arg(key).arg(field).arg(increment))
    }

    /// `HKEYS key`: the field names, e.g. as `Vec<String>`.
    fn hkeys<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("HKEYS").arg(key))
    }

    /// `HVALS key`: the values, e.g. as `Vec<String>`.
    fn hvals<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("HVALS").arg(key))
    }

    /// `HLEN key`: the number of fields, 0 for a missing key.
    fn hlen(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("HLEN").arg(key))
    }

    /// `HSETNX key field value`: sets the field only if it does not exist; true if it was
    /// set.
    fn hsetnx(
        &self,
        key: impl ToArgs,
        field: impl ToArgs,
        value: impl ToArgs,
    ) -> Self::Output<bool> {
        self.execute(Cmd::new("HSETNX").arg(key).arg(field).arg(value))
    }

    /// `HSTRLEN key field`: the length in bytes of the field's value, 0 if missing.
    fn hstrlen(&self, key: impl ToArgs, field: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("HSTRLEN").arg(key).arg(field))
    }

    /// `HRANDFIELD key`: a random field name, or `None` for a missing key.
    fn hrandfield<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
    ) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("HRANDFIELD").arg(key))
    }

    /// `HRANDFIELD key count`: up to `count` distinct random field names, or, for a negative
    /// `count`, exactly `-count` names that may repeat; e.g. as `Vec<String>`.
    fn hrandfield_count<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: i64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("HRANDFIELD").arg(key).arg(count))
    }

    /// `HRANDFIELD key count WITHVALUES`: random fields with their values (`count` as in
    /// [`hrandfield_count`](Self::hrandfield_count)), e.g. as `Vec<(String, String)>`.
    fn hrandfield_withvalues<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        count: i64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("HRANDFIELD").arg(key).arg(count).arg("WITHVALUES"))
    }

    /// `HSCAN key cursor [MATCH pattern] [COUNT count]`: one page of fields with their
    /// values, e.g. as `Vec<(String, String)>`, and the cursor of the next page (0 when
    /// the scan is over).
    fn hscan<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        cursor: u64,
        options: &CursorOptions,
    ) -> Self::Output<(u64, T)> {
        self.execute(Cmd::new("HSCAN").arg(key).arg(cursor).arg(options))
    }
}

impl<E: Executor + ?Sized> HashCommands for E {}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.hset("h", ("f", "v")), ["HSET", "h", "f", "v"]);
        assert_eq!(
            ArgsOf.hset("h", [("f1", 1), ("f2", 2)]),
            ["HSET", "h", "f1", "1", "f2", "2"]
        );
        assert_eq!(ArgsOf.hget::<String>("h", "f"), ["HGET", "h", "f"]);
        assert_eq!(
            ArgsOf.hmget::<Vec<Option<String>>>("h", ["a", "b"]),
            ["HMGET", "h", "a", "b"]
        );
        assert_eq!(
            ArgsOf.hgetall::<HashMap<String, String>>("h"),
            ["HGETALL", "h"]
        );
        assert_eq!(ArgsOf.hdel("h", ["a", "b"]), ["HDEL", "h", "a", "b"]);
        assert_eq!(ArgsOf.hexists("h", "f"), ["HEXISTS", "h", "f"]);
        assert_eq!(ArgsOf.hincrby("h", "f", -2), ["HINCRBY", "h", "f", "-2"]);
        assert_eq!(
            ArgsOf.hincrbyfloat("h", "f", 1.25),
            ["HINCRBYFLOAT", "h", "f", "1.25"]
        );
        assert_eq!(ArgsOf.hkeys::<Vec<String>>("h"), ["HKEYS", "h"]);
        assert_eq!(ArgsOf.hvals::<Vec<String>>("h"), ["HVALS", "h"]);
        assert_eq!(ArgsOf.hlen("h"), ["HLEN", "h"]);
        assert_eq!(ArgsOf.hsetnx("h", "f", "v"), ["HSETNX", "h", "f", "v"]);
        assert_eq!(ArgsOf.hstrlen("h", "f"), ["HSTRLEN", "h", "f"]);
        assert_eq!(ArgsOf.hrandfield::<String>("h"), ["HRANDFIELD", "h"]);
        assert_eq!(
            ArgsOf.hrandfield_count::<Vec<String>>("h", -5),
            ["HRANDFIELD", "h", "-5"]
        );
        assert_eq!(
            ArgsOf.hrandfield_withvalues::<Vec<(String, String)>>("h", 2),
            ["HRANDFIELD", "h", "2", "WITHVALUES"]
        );
    }

    #[test]
    fn hscan_options_follow_the_cursor() {
        assert_eq!(
            ArgsOf.hscan::<Vec<(String, String)>>(
                "k",
                7,
                &CursorOptions::new().count(3).pattern("a*")
            ),
            ["HSCAN", "k", "7", "MATCH", "a*", "COUNT", "3"]
        );
        assert_eq!(
            ArgsOf.hscan::<Vec<(String, String)>>("k", 0, &CursorOptions::new()),
            ["HSCAN", "k", "0"]
        );
    }
}
