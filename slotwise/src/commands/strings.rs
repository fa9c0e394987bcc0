//! [`StringCommands`]: string values: `GET`, `SET` and its options, counters, ranges,
//! `MGET`/`MSET` and `LCS`, with their option types ([`SetOptions`], [`GetExOptions`],
//! [`Expiry`]).
//!
//! It does not own the commands that work on a key of any type (`DEL`, `EXPIRE`, `TTL`: see
//! [`KeyCommands`](super::KeyCommands)), nor routing: `MGET`, `MSET`, `MSETNX` and `LCS` are
//! atomic, so their keys must share a slot, which the executor checks before sending.

use super::{Condition, Executor};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// When a key expires, for `SET` and `GETEX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expiry {
    /// `EX`: this many seconds from now.
    Ex(u64),
    /// `PX`: this many milliseconds from now.
    Px(u64),
    /// `EXAT`: at this Unix time, in seconds.
    ExAt(u64),
    /// `PXAT`: at this Unix time, in milliseconds.
    PxAt(u64),
}

impl ToArgs for Expiry {
    fn write_args(&self, cmd: &mut Cmd) {
        let (token, n): (&[u8], u64) = match *self {
            Expiry::Ex(n) => (b"EX", n),
            Expiry::Px(n) => (b"PX", n),
            Expiry::ExAt(n) => (b"EXAT", n),
            Expiry::PxAt(n) => (b"PXAT", n),
        };
        cmd.push_bytes(token);
        cmd.push_uint(n);
    }
}

/// What `SET` does with the key's time to live. One field, because `SET` accepts only one of
/// `EX`/`PX`/`EXAT`/`PXAT`/`KEEPTTL`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum SetTtl {
    /// No token: `SET` removes any TTL the key had.
    #[default]
    Clear,
    Expire(Expiry),
    Keep,
}

/// The options of `SET` (see [`StringCommands::set_options`] and
/// [`StringCommands::set_get`]).
///
/// ```
/// use slotwise::commands::{Condition, Expiry, SetOptions};
/// use slotwise::protocol::Cmd;
///
/// // A lock that frees itself after 1.5 s.
/// let lock = SetOptions::new().condition(Condition::Nx).expiry(Expiry::Px(1500));
/// // The options are arguments like any other, in the order SET wants them.
/// let cmd = Cmd::new("SET").arg("lock").arg("me").arg(lock);
/// let args: Vec<&[u8]> = cmd.args().skip(3).collect();
/// assert_eq!(args, [&b"NX"[..], b"PX", b"1500"]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct SetOptions {
    condition: Option<Condition>,
    ttl: SetTtl,
}

impl SetOptions {
    /// Options that add nothing: `SET` writes whether or not the key exists and removes any
    /// TTL it had.
    pub fn new() -> SetOptions {
        SetOptions::default()
    }

    /// Writes only if the key does not exist ([`Condition::Nx`]) or only if it does
    /// ([`Condition::Xx`]). Default is to write either way.
    pub fn condition(mut self, condition: Condition) -> SetOptions {
        self.condition = Some(condition);
        self
    }

    /// Gives the key an expiry. Replaces an earlier [`keep_ttl`](Self::keep_ttl), since `SET`
    /// takes only one. Default is no expiry: `SET` removes any TTL the key had.
    pub fn expiry(mut self, expiry: Expiry) -> SetOptions {
        self.ttl = SetTtl::Expire(expiry);
        self
    }

    /// `KEEPTTL`: keeps the TTL the key already has. Replaces an earlier
    /// [`expiry`](Self::expiry), since `SET` takes only one. Default is false: `SET` removes
    /// any TTL the key had.
    pub fn keep_ttl(mut self, keep: bool) -> SetOptions {
        if keep {
            self.ttl = SetTtl::Keep;
        } else if self.ttl == SetTtl::Keep {
            self.ttl = SetTtl::Clear;
        }
        self
    }
}

impl ToArgs for SetOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_arg(self.condition);
        match self.ttl {
            SetTtl::Clear => {}
            SetTtl::Expire(expiry) => expiry.write_args(cmd),
            SetTtl::Keep => cmd.push_bytes(b"KEEPTTL"),
        }
    }
}

/// What `GETEX` does with the key's time to live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum GetExTtl {
    /// No token: `GETEX` leaves the TTL alone, like `GET`.
    #[default]
    Unchanged,
    Expire(Expiry),
    Persist,
}

/// The options of `GETEX` (see [`StringCommands::getex`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct GetExOptions {
    ttl: GetExTtl,
}

impl GetExOptions {
    /// Options that add nothing: `GETEX` leaves the TTL alone, like `GET`.
    pub fn new() -> GetExOptions {
        GetExOptions::default()
    }

    /// Sets a new expiry. Replaces an earlier [`persist`](Self::persist), since `GETEX` takes
    /// only one. Default is to leave the TTL unchanged.
    pub fn expiry(mut self, expiry: Expiry) -> GetExOptions {
        self.ttl = GetExTtl::Expire(expiry);
        self
    }

    /// `PERSIST`: removes the TTL. Replaces an earlier [`expiry`](Self::expiry), since
    /// `GETEX` takes only one. Default is false: the TTL is left unchanged.
    pub fn persist(mut self, persist: bool) -> GetExOptions {
        if persist {
            self.ttl = GetExTtl::Persist;
        } else if self.ttl == GetExTtl::Persist {
            self.ttl = GetExTtl::Unchanged;
        }
        self
    }
}

impl ToArgs for GetExOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        match self.ttl {
            GetExTtl::Unchanged => {}
            GetExTtl::Expire(expiry) => expiry.write_args(cmd),
            GetExTtl::Persist => cmd.push_bytes(b"PERSIST"),
        }
    }
}

/// Commands on string values. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work.
pub trait StringCommands: Executor {
    /// `GET key`: the value, or `None` if the key does not exist.
    fn get<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("GET").arg(key))
    }

    /// `SET key value`: stores the value, replacing any value and TTL the key had.
    fn set(&self, key: impl ToArgs, value: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("SET").arg(key).arg(value))
    }

    /// `SET key value [NX|XX] [EX|PX|EXAT|PXAT|KEEPTTL]`: true if the value was written,
    /// false if the condition kept it from being written.
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
    /// use slotwise::commands::{Condition, Expiry, SetOptions, StringCommands};
    ///
    /// let lock = SetOptions::new().condition(Condition::Nx).expiry(Expiry::Ex(30));
    /// if node.set_options("lock:report", "worker-7", &lock).await? {
    ///     // This worker holds the lock for at most 30 s.
    /// }
    /// # Ok(()) }
    /// ```
    fn set_options(
        &self,
        key: impl ToArgs,
        value: impl ToArgs,
        options: &SetOptions,
    ) -> Self::Output<bool> {
        self.execute(Cmd::new("SET").arg(key).arg(value).arg(options))
    }

    /// `SET key value [options] GET`: stores the value and returns the one it replaced
    /// (`None` if there was none). This is also the replacement for the deprecated `GETSET`.
    fn set_get<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        value: impl ToArgs,
        options: &SetOptions,
    ) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("SET").arg(key).arg(value).arg(options).arg("GET"))
    }

    /// `GETDEL key`: the value, deleting the key; `None` if it did not exist.
    fn getdel<T: FromValue + Send + 'static>(&self, key: impl ToArgs) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("GETDEL").arg(key))
    }

    /// `GETEX key [EX|PX|EXAT|PXAT|PERSIST]`: the value, changing the key's TTL as asked;
    /// `None` if the key does not exist.
    fn getex<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        options: &GetExOptions,
    ) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("GETEX").arg(key).arg(options))
    }

    /// `INCR key`: adds 1 to the integer value (a missing key counts as 0); the new value.
    fn incr(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("INCR").arg(key))
    }

    /// `INCRBY key increment`: adds `increment` to the integer value; the new value.
    fn incrby(&self, key: impl ToArgs, increment: i64) -> Self::Output<i64> {
        self.execute(Cmd::new("INCRBY").arg(key).arg(increment))
    }

    /// `INCRBYFLOAT key increment`: adds `increment` to the number value; the new value.
    fn incrbyfloat(&self, key: impl ToArgs, increment: f64) -> Self::Output<f64> {
        self.execute(Cmd::new("INCRBYFLOAT").arg(key).arg(increment))
    }

    /// `DECR key`: subtracts 1 from the integer value; the new value.
    fn decr(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("DECR").arg(key))
    }

    /// `DECRBY key decrement`: subtracts `decrement` from the integer value; the new value.
    fn decrby(&self, key: impl ToArgs, decrement: i64) -> Self::Output<i64> {
        self.execute(Cmd::new("DECRBY").arg(key).arg(decrement))
    }

    /// `APPEND key value`: appends to the value (a missing key counts as empty); the new
    /// length in bytes.
    fn append(&self, key: impl ToArgs, value: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("APPEND").arg(key).arg(value))
    }

    /// `STRLEN key`: the value's length in bytes, 0 for a missing key.
    fn strlen(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("STRLEN").arg(key))
    }

    /// `GETRANGE key start end`: the bytes from `start` to `end` inclusive (negative counts
    /// from the end); empty for a missing key.
    fn getrange<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        start: i64,
        end: i64,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("GETRANGE").arg(key).arg(start).arg(end))
    }

    /// `SETRANGE key offset value`: overwrites the value from byte `offset` on (padding with
    /// zero bytes); the new length.
    fn setrange(&self, key: impl ToArgs, offset: u64, value: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SETRANGE").arg(key).arg(offset).arg(value))
    }

    /// `SETNX key value`: stores the value only if the key does not exist; true if it did.
    fn setnx(&self, key: impl ToArgs, value: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new("SETNX").arg(key).arg(value))
    }

    /// `SETEX key seconds value`: stores the value with a TTL in seconds.
    fn setex(&self, key: impl ToArgs, seconds: u64, value: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("SETEX").arg(key).arg(seconds).arg(value))
    }

    /// `PSETEX key milliseconds value`: stores the value with a TTL in milliseconds.
    fn psetex(&self, key: impl ToArgs, milliseconds: u64, value: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("PSETEX").arg(key).arg(milliseconds).arg(value))
    }

    /// `MGET key [key …]`: the values in the order of the keys, nil for missing ones; read it
    /// as e.g. `Vec<Option<String>>`. Atomic, so every key must be in one slot (use a hash
    /// tag).
    fn mget<T: FromValue + Send + 'static>(&self, keys: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("MGET").arg(keys))
    }

    /// `MSET key value [key value …]`: stores every pair, given as tuples
    /// (`[("k1", "v1"), ("k2", "v2")]`). Atomic, so every key must be in one slot.
    fn mset(&self, pairs: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("MSET").arg(pairs))
    }

    /// `MSETNX key value [key value …]`: stores every pair only if none of the keys exists;
    /// true if they were stored. Atomic, so every key must be in one slot.
    fn msetnx(&self, pairs: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new("MSETNX").arg(pairs))
    }

    /// `LCS key1 key2`: the longest common subsequence of the two values. Both keys must be
    /// in one slot.
    fn lcs<T: FromValue + Send + 'static>(
        &self,
        key1: impl ToArgs,
        key2: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("LCS").arg(key1).arg(key2))
    }

    /// `LCS key1 key2 LEN`: the length of the longest common subsequence.
    fn lcs_len(&self, key1: impl ToArgs, key2: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("LCS").arg(key1).arg(key2).arg("LEN"))
    }
}

impl<E: Executor + ?Sized> StringCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn set_options_in_server_order() {
        let nx_ex = SetOptions::new()
            .expiry(Expiry::Ex(10))
            .condition(Condition::Nx);
        assert_eq!(
            ArgsOf.set_options("k", "v", &nx_ex),
            ["SET", "k", "v", "NX", "EX", "10"]
        );
        let keep = SetOptions::new()
            .expiry(Expiry::PxAt(5))
            .keep_ttl(true)
            .condition(Condition::Xx);
        assert_eq!(
            ArgsOf.set_options("k", 1, &keep),
            ["SET", "k", "1", "XX", "KEEPTTL"]
        );
        assert_eq!(
            ArgsOf.set_get::<String>("k", "v", &SetOptions::new().expiry(Expiry::ExAt(7))),
            ["SET", "k", "v", "EXAT", "7", "GET"]
        );
        assert_eq!(ArgsOf.set("k", "v"), ["SET", "k", "v"]);
    }

    #[test]
    fn the_last_ttl_setter_wins() {
        let cleared = SetOptions::new().keep_ttl(true).keep_ttl(false);
        assert_eq!(cleared, SetOptions::new());
        let kept_expiry = SetOptions::new().expiry(Expiry::Px(3)).keep_ttl(false);
        assert_eq!(
            ArgsOf.set_options("k", "v", &kept_expiry),
            ["SET", "k", "v", "PX", "3"]
        );
        let back = GetExOptions::new().persist(true).expiry(Expiry::Ex(1));
        assert_eq!(
            ArgsOf.getex::<String>("k", &back),
            ["GETEX", "k", "EX", "1"]
        );
        assert_eq!(
            ArgsOf.getex::<String>("k", &GetExOptions::new().persist(true)),
            ["GETEX", "k", "PERSIST"]
        );
        assert_eq!(
            ArgsOf.getex::<String>("k", &GetExOptions::new()),
            ["GETEX", "k"]
        );
    }

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.get::<String>("k"), ["GET", "k"]);
        assert_eq!(ArgsOf.getdel::<String>("k"), ["GETDEL", "k"]);
        assert_eq!(ArgsOf.incr("k"), ["INCR", "k"]);
        assert_eq!(ArgsOf.incrby("k", -3), ["INCRBY", "k", "-3"]);
        assert_eq!(ArgsOf.incrbyfloat("k", 0.5), ["INCRBYFLOAT", "k", "0.5"]);
        assert_eq!(ArgsOf.decr("k"), ["DECR", "k"]);
        assert_eq!(ArgsOf.decrby("k", 4), ["DECRBY", "k", "4"]);
        assert_eq!(ArgsOf.append("k", "x"), ["APPEND", "k", "x"]);
        assert_eq!(ArgsOf.strlen("k"), ["STRLEN", "k"]);
        assert_eq!(
            ArgsOf.getrange::<String>("k", 0, -1),
            ["GETRANGE", "k", "0", "-1"]
        );
        assert_eq!(ArgsOf.setrange("k", 6, "x"), ["SETRANGE", "k", "6", "x"]);
        assert_eq!(ArgsOf.setnx("k", "v"), ["SETNX", "k", "v"]);
        assert_eq!(ArgsOf.setex("k", 10, "v"), ["SETEX", "k", "10", "v"]);
        assert_eq!(ArgsOf.psetex("k", 1500, "v"), ["PSETEX", "k", "1500", "v"]);
        assert_eq!(
            ArgsOf.mget::<Vec<Option<String>>>(["a", "b"]),
            ["MGET", "a", "b"]
        );
        assert_eq!(
            ArgsOf.mset([("a", "1"), ("b", "2")]),
            ["MSET", "a", "1", "b", "2"]
        );
        assert_eq!(ArgsOf.msetnx([("a", 1)]), ["MSETNX", "a", "1"]);
        assert_eq!(ArgsOf.lcs::<String>("a", "b"), ["LCS", "a", "b"]);
        assert_eq!(ArgsOf.lcs_len("a", "b"), ["LCS", "a", "b", "LEN"]);
    }
}
