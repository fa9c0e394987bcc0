//! [`KeyCommands`]: commands on keys of any type: deleting, testing, expiring, renaming,
//! copying, dumping, sorting and listing keys, and `OBJECT …`, with their option types
//! ([`ExpireCondition`], [`CopyOptions`], [`RestoreOptions`], [`SortOptions`]).
//!
//! It does not own commands on a particular type's contents (those live with the type's
//! family), nor routing: multi-key `DEL`/`EXISTS`/`UNLINK`/`TOUCH` are sent as one command
//! here, and whether the executor splits keys of several slots or rejects them is its decision.
//! `RENAME`, `COPY` and `SORT … STORE` are atomic, so both keys must share a slot. `SCAN` is
//! not here: a cluster-wide cursor is [`RedisCluster::scan`](crate::RedisCluster::scan).

use super::Executor;
use crate::protocol::{Cmd, FromValue, ToArgs};

/// When `EXPIRE`, `PEXPIRE`, `EXPIREAT` and `PEXPIREAT` apply (Redis 7.0 and later).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExpireCondition {
    /// `NX`: only if the key has no expiry.
    Nx,
    /// `XX`: only if the key has an expiry.
    Xx,
    /// `GT`: only if the new expiry is later than the current one (no expiry counts as
    /// infinitely late, so this never applies to a key without one).
    Gt,
    /// `LT`: only if the new expiry is earlier than the current one (no expiry counts as
    /// infinitely late).
    Lt,
}

impl ToArgs for ExpireCondition {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            ExpireCondition::Nx => b"NX",
            ExpireCondition::Xx => b"XX",
            ExpireCondition::Gt => b"GT",
            ExpireCondition::Lt => b"LT",
        });
    }
}

/// The options of `COPY` (see [`KeyCommands::copy`]).
///
/// `DB` is left out: a cluster has only database 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct CopyOptions {
    replace: bool,
}

impl CopyOptions {
    /// Options that add nothing: `COPY` does not overwrite an existing destination.
    pub fn new() -> CopyOptions {
        CopyOptions::default()
    }

    /// `REPLACE`: overwrites the destination if it exists. Default is false.
    pub fn replace(mut self, replace: bool) -> CopyOptions {
        self.replace = replace;
        self
    }
}

impl ToArgs for CopyOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if self.replace {
            cmd.push_bytes(b"REPLACE");
        }
    }
}

/// The options of `RESTORE` (see [`KeyCommands::restore`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct RestoreOptions {
    replace: bool,
    absttl: bool,
    idletime: Option<u64>,
    freq: Option<u64>,
}

impl RestoreOptions {
    /// Options that add nothing: `RESTORE` fails if the key exists, and its TTL argument is
    /// relative.
    pub fn new() -> RestoreOptions {
        RestoreOptions::default()
    }

    /// `REPLACE`: overwrites the key if it exists. Default is false.
    pub fn replace(mut self, replace: bool) -> RestoreOptions {
        self.replace = replace;
        self
    }

    /// `ABSTTL`: the TTL argument is a Unix time in milliseconds. Default is false: it is a
    /// duration in milliseconds.
    pub fn absttl(mut self, absttl: bool) -> RestoreOptions {
        self.absttl = absttl;
        self
    }

    /// `IDLETIME seconds`: the restored key's idle time, for LRU eviction. Default is none.
    pub fn idletime(mut self, seconds: u64) -> RestoreOptions {
        self.idletime = Some(seconds);
        self
    }

    /// `FREQ frequency`: the restored key's access frequency, for LFU eviction. Default is
    /// none.
    pub fn freq(mut self, frequency: u64) -> RestoreOptions {
        self.freq = Some(frequency);
        self
    }
}

impl ToArgs for RestoreOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if self.replace {
            cmd.push_bytes(b"REPLACE");
        }
        if self.absttl {
            cmd.push_bytes(b"ABSTTL");
        }
        if let Some(seconds) = self.idletime {
            cmd.push_bytes(b"IDLETIME");
            cmd.push_uint(seconds);
        }
        if let Some(frequency) = self.freq {
            cmd.push_bytes(b"FREQ");
            cmd.push_uint(frequency);
        }
    }
}

/// The options of `SORT` and `SORT_RO` (see [`KeyCommands::sort`]).
///
/// A cluster node may refuse `BY` and `GET`: Redis 7.0 refuses every pattern in cluster mode,
/// Valkey 8 accepts those whose keys are in the sorted key's slot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct SortOptions {
    by: Option<Vec<u8>>,
    limit: Option<(i64, i64)>,
    get: Vec<Vec<u8>>,
    descending: bool,
    alpha: bool,
}

impl SortOptions {
    /// Options that add nothing: the elements themselves, as numbers, ascending.
    pub fn new() -> SortOptions {
        SortOptions::default()
    }

    /// `BY pattern`: sorts by the values of other keys, the element replacing the pattern's
    /// `*` (`"{t}:weight_*"`, or `"{t}:obj_*->field"` for a hash field); `"nosort"` keeps the
    /// stored order. Default is the elements themselves.
    pub fn by(mut self, pattern: impl ToArgs) -> SortOptions {
        self.by = Some(Cmd::new(pattern).name().to_vec());
        self
    }

    /// `LIMIT offset count`: skips `offset` sorted elements and returns at most `count`.
    /// Default is all of them.
    pub fn limit(mut self, offset: i64, count: i64) -> SortOptions {
        self.limit = Some((offset, count));
        self
    }

    /// `GET pattern`: returns the value of another key for each element instead of the
    /// element (`"#"` is the element itself); several `get`s give several values per
    /// element, in order. Default is the element.
    pub fn get(mut self, pattern: impl ToArgs) -> SortOptions {
        self.get.push(Cmd::new(pattern).name().to_vec());
        self
    }

    /// `DESC`: highest first. Default is false: lowest first.
    pub fn descending(mut self, on: bool) -> SortOptions {
        self.descending = on;
        self
    }

    /// `ALPHA`: compares as strings rather than numbers. Default is false.
    pub fn alpha(mut self, on: bool) -> SortOptions {
        self.alpha = on;
        self
    }
}

impl ToArgs for SortOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if let Some(by) = &self.by {
            cmd.push_bytes(b"BY");
            cmd.push_bytes(by);
        }
        if let Some((offset, count)) = self.limit {
            cmd.push_bytes(b"LIMIT");
            cmd.push_int(offset);
            cmd.push_int(count);
        }
        for pattern in &self.get {
            cmd.push_bytes(b"GET");
            cmd.push_bytes(pattern);
        }
        if self.descending {
            cmd.push_bytes(b"DESC");
        }
        if self.alpha {
            cmd.push_bytes(b"ALPHA");
        }
    }
}

/// Commands on keys of any type. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. TTL replies follow
/// the server: `-1` for a key without expiry, `-2` for a missing key.
///
/// `DEL`, `EXISTS`, `UNLINK` and `TOUCH` take keys in any slots on a cluster handle (split by
/// slot, counts summed). Given no keys, a cluster handle, its pipelines and the blocking client
/// answer 0 without sending anything, where Redis itself refuses the command as an arity error;
/// a transaction refuses it with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput),
/// and a [`NodeClient`](crate::NodeClient) or a target sends it as it is.
pub trait KeyCommands: Executor {
    /// `DEL key [key …]`: deletes the keys; how many existed.
    fn del(&self, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("DEL").arg(keys))
    }

    /// `EXISTS key [key …]`: how many of the keys exist (a key named twice counts twice).
    fn exists(&self, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("EXISTS").arg(keys))
    }

    /// `UNLINK key [key …]`: deletes the keys, freeing their memory in the background; how
    /// many existed.
    fn unlink(&self, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("UNLINK").arg(keys))
    }

    /// `TOUCH key [key …]`: updates the keys' last access time; how many exist.
    fn touch(&self, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("TOUCH").arg(keys))
    }

    /// `EXPIRE key seconds`: sets a TTL (zero or negative deletes the key); false if the key
    /// does not exist.
    fn expire(&self, key: impl ToArgs, seconds: i64) -> Self::Output<bool> {
        self.execute(Cmd::new("EXPIRE").arg(key).arg(seconds))
    }

    /// `EXPIRE key seconds NX|XX|GT|LT`: sets a TTL if the condition holds; true if it was
    /// set.
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
    /// use slotwise::commands::{ExpireCondition, KeyCommands};
    ///
    /// // Extend a session to 30 minutes, never shortening a longer one.
    /// node.expire_options("session:42", 1800, ExpireCondition::Gt).await?;
    /// # Ok(()) }
    /// ```
    fn expire_options(
        &self,
        key: impl ToArgs,
        seconds: i64,
        condition: ExpireCondition,
    ) -> Self::Output<bool> {
        self.execute(Cmd::new("EXPIRE").arg(key).arg(seconds).arg(condition))
    }

    /// `PEXPIRE key milliseconds`: sets a TTL in milliseconds; false if the key does not
    /// exist.
    fn pexpire(&self, key: impl ToArgs, milliseconds: i64) -> Self::Output<bool> {
        self.execute(Cmd::new("PEXPIRE").arg(key).arg(milliseconds))
    }

    /// `PEXPIRE key milliseconds NX|XX|GT|LT`: sets a TTL in milliseconds if the condition
    /// holds; true if it was set.
    fn pexpire_options(
        &self,
        key: impl ToArgs,
        milliseconds: i64,
        condition: ExpireCondition,
    ) -> Self::Output<bool> {
        self.execute(
            Cmd::new("PEXPIRE")
                .arg(key)
                .arg(milliseconds)
                .arg(condition),
        )
    }

    /// `EXPIREAT key unix-time-seconds`: expires the key at a Unix time; false if the key
    /// does not exist.
    fn expireat(&self, key: impl ToArgs, unix_seconds: i64) -> Self::Output<bool> {
        self.execute(Cmd::new("EXPIREAT").arg(key).arg(unix_seconds))
    }

    /// `EXPIREAT key unix-time-seconds NX|XX|GT|LT`: expires the key at a Unix time if the
    /// condition holds; true if it was set.
    fn expireat_options(
        &self,
        key: impl ToArgs,
        unix_seconds: i64,
        condition: ExpireCondition,
    ) -> Self::Output<bool> {
        self.execute(
            Cmd::new("EXPIREAT")
                .arg(key)
                .arg(unix_seconds)
                .arg(condition),
        )
    }

    /// `PEXPIREAT key unix-time-milliseconds`: expires the key at a Unix time in
    /// milliseconds; false if the key does not exist.
    fn pexpireat(&self, key: impl ToArgs, unix_milliseconds: i64) -> Self::Output<bool> {
        self.execute(Cmd::new("PEXPIREAT").arg(key).arg(unix_milliseconds))
    }

    /// `PEXPIREAT key unix-time-milliseconds NX|XX|GT|LT`: expires the key at a Unix time in
    /// milliseconds if the condition holds; true if it was set.
    fn pexpireat_options(
        &self,
        key: impl ToArgs,
        unix_milliseconds: i64,
        condition: ExpireCondition,
    ) -> Self::Output<bool> {
        self.execute(
            Cmd::new("PEXPIREAT")
                .arg(key)
                .arg(unix_milliseconds)
                .arg(condition),
        )
    }

    /// `EXPIRETIME key`: the Unix time in seconds at which the key expires (-1: no expiry,
    /// -2: no key).
    fn expiretime(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("EXPIRETIME").arg(key))
    }

    /// `PEXPIRETIME key`: the Unix time in milliseconds at which the key expires (-1: no
    /// expiry, -2: no key).
    fn pexpiretime(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("PEXPIRETIME").arg(key))
    }

    /// `TTL key`: the seconds left before the key expires (-1: no expiry, -2: no key).
    fn ttl(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("TTL").arg(key))
    }

    /// `PTTL key`: the milliseconds left before the key expires (-1: no expiry, -2: no key).
    fn pttl(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("PTTL").arg(key))
    }

    /// `PERSIST key`: removes the key's expiry; true if it had one.
    fn persist(&self, key: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new("PERSIST").arg(key))
    }

    /// `TYPE key`: the type of the value (`string`, `list`, `set`, `zset`, `hash`, `stream`),
    /// or `none` for a missing key. Named `key_type` because `type` is a Rust keyword.
    fn key_type(&self, key: impl ToArgs) -> Self::Output<String> {
        self.execute(Cmd::new("TYPE").arg(key))
    }

    /// `RENAME key newkey`: renames the key, overwriting `newkey`; an error if `key` does not
    /// exist. Both keys must be in one slot.
    fn rename(&self, key: impl ToArgs, newkey: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("RENAME").arg(key).arg(newkey))
    }

    /// `RENAMENX key newkey`: renames the key only if `newkey` does not exist; true if it was
    /// renamed. Both keys must be in one slot.
    fn renamenx(&self, key: impl ToArgs, newkey: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new("RENAMENX").arg(key).arg(newkey))
    }

    /// `KEYS pattern`: the names of the keys matching a glob pattern, e.g. as
    /// `Vec<String>`. It walks the whole key space: meant for debugging, not for production
    /// traffic.
    fn keys<T: FromValue + Send + 'static>(&self, pattern: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("KEYS").arg(pattern))
    }

    /// `COPY source destination [REPLACE]`: copies the value; true if it was copied. Both
    /// keys must be in one slot.
    fn copy(
        &self,
        source: impl ToArgs,
        destination: impl ToArgs,
        options: &CopyOptions,
    ) -> Self::Output<bool> {
        self.execute(Cmd::new("COPY").arg(source).arg(destination).arg(options))
    }

    /// `DUMP key`: the value in the server's serialization format, for
    /// [`restore`](Self::restore); `None` for a missing key.
    fn dump(&self, key: impl ToArgs) -> Self::Output<Option<Vec<u8>>> {
        self.execute(Cmd::new("DUMP").arg(key))
    }

    /// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`: creates
    /// the key from [`dump`](Self::dump) output, with a TTL in milliseconds (0: none).
    fn restore(
        &self,
        key: impl ToArgs,
        ttl_milliseconds: u64,
        serialized: impl ToArgs,
        options: &RestoreOptions,
    ) -> Self::Output<()> {
        self.execute(
            Cmd::new("RESTORE")
                .arg(key)
                .arg(ttl_milliseconds)
                .arg(serialized)
                .arg(options),
        )
    }

    /// `RANDOMKEY`: the name of a random key, or `None` if the database is empty.
    fn randomkey<T: FromValue + Send + 'static>(&self) -> Self::Output<Option<T>> {
        self.execute(Cmd::new("RANDOMKEY"))
    }

    /// `OBJECT ENCODING key`: how the value is stored (`listpack`, `hashtable`, `int` …),
    /// or `None` for a missing key.
    fn object_encoding(&self, key: impl ToArgs) -> Self::Output<Option<String>> {
        self.execute(Cmd::new(["OBJECT", "ENCODING"]).arg(key))
    }

    /// `OBJECT FREQ key`: the key's access frequency counter, or `None` for a missing key;
    /// an error unless the server evicts by an LFU policy.
    fn object_freq(&self, key: impl ToArgs) -> Self::Output<Option<i64>> {
        self.execute(Cmd::new(["OBJECT", "FREQ"]).arg(key))
    }

    /// `OBJECT IDLETIME key`: seconds since the key was last read or written, or `None` for
    /// a missing key; an error when the server evicts by an LFU policy.
    fn object_idletime(&self, key: impl ToArgs) -> Self::Output<Option<i64>> {
        self.execute(Cmd::new(["OBJECT", "IDLETIME"]).arg(key))
    }

    /// `OBJECT REFCOUNT key`: how many references the server holds to the value, or `None`
    /// for a missing key.
    fn object_refcount(&self, key: impl ToArgs) -> Self::Output<Option<i64>> {
        self.execute(Cmd::new(["OBJECT", "REFCOUNT"]).arg(key))
    }

    /// `SORT key [BY …] [LIMIT …] [GET …] [ASC|DESC] [ALPHA]`: the elements of a list, set
    /// or sorted set, sorted, e.g. as `Vec<String>` (with `GET`s of missing keys, as
    /// `Vec<Option<String>>`).
    fn sort<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        options: &SortOptions,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("SORT").arg(key).arg(options))
    }

    /// `SORT_RO key …` (Redis 7.0 and later): the read-only form of [`sort`](Self::sort),
    /// which a replica may serve.
    fn sort_ro<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        options: &SortOptions,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("SORT_RO").arg(key).arg(options))
    }

    /// `SORT key … STORE destination`: stores the sorted elements as a list in
    /// `destination`; its length. Both keys must share a slot.
    fn sort_store(
        &self,
        key: impl ToArgs,
        destination: impl ToArgs,
        options: &SortOptions,
    ) -> Self::Output<i64> {
        let cmd = Cmd::new("SORT").arg(key).arg(options);
        self.execute(cmd.arg("STORE").arg(destination))
    }
}

impl<E: Executor + ?Sized> KeyCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn multi_key_commands_expand_their_keys() {
        assert_eq!(ArgsOf.del("a"), ["DEL", "a"]);
        assert_eq!(ArgsOf.del(["a", "b"]), ["DEL", "a", "b"]);
        assert_eq!(ArgsOf.exists(vec!["a", "a"]), ["EXISTS", "a", "a"]);
        assert_eq!(ArgsOf.unlink(["a", "b"]), ["UNLINK", "a", "b"]);
        assert_eq!(ArgsOf.touch(&["a"][..]), ["TOUCH", "a"]);
    }

    #[test]
    fn expiry_commands() {
        assert_eq!(ArgsOf.expire("k", 10), ["EXPIRE", "k", "10"]);
        assert_eq!(
            ArgsOf.expire_options("k", 10, ExpireCondition::Nx),
            ["EXPIRE", "k", "10", "NX"]
        );
        assert_eq!(ArgsOf.pexpire("k", 1500), ["PEXPIRE", "k", "1500"]);
        assert_eq!(
            ArgsOf.pexpire_options("k", 1500, ExpireCondition::Xx),
            ["PEXPIRE", "k", "1500", "XX"]
        );
        assert_eq!(ArgsOf.expireat("k", 99), ["EXPIREAT", "k", "99"]);
        assert_eq!(
            ArgsOf.expireat_options("k", 99, ExpireCondition::Gt),
            ["EXPIREAT", "k", "99", "GT"]
        );
        assert_eq!(ArgsOf.pexpireat("k", 99), ["PEXPIREAT", "k", "99"]);
        assert_eq!(
            ArgsOf.pexpireat_options("k", 99, ExpireCondition::Lt),
            ["PEXPIREAT", "k", "99", "LT"]
        );
        assert_eq!(ArgsOf.expiretime("k"), ["EXPIRETIME", "k"]);
        assert_eq!(ArgsOf.pexpiretime("k"), ["PEXPIRETIME", "k"]);
        assert_eq!(ArgsOf.ttl("k"), ["TTL", "k"]);
        assert_eq!(ArgsOf.pttl("k"), ["PTTL", "k"]);
        assert_eq!(ArgsOf.persist("k"), ["PERSIST", "k"]);
    }

    #[test]
    fn other_key_commands() {
        assert_eq!(ArgsOf.key_type("k"), ["TYPE", "k"]);
        assert_eq!(ArgsOf.rename("a", "b"), ["RENAME", "a", "b"]);
        assert_eq!(ArgsOf.renamenx("a", "b"), ["RENAMENX", "a", "b"]);
        assert_eq!(ArgsOf.keys::<Vec<String>>("user:*"), ["KEYS", "user:*"]);
        assert_eq!(
            ArgsOf.copy("a", "b", &CopyOptions::new()),
            ["COPY", "a", "b"]
        );
        assert_eq!(
            ArgsOf.copy("a", "b", &CopyOptions::new().replace(true)),
            ["COPY", "a", "b", "REPLACE"]
        );
        assert_eq!(ArgsOf.dump("k"), ["DUMP", "k"]);
        let restore = RestoreOptions::new()
            .freq(5)
            .idletime(3)
            .absttl(true)
            .replace(true);
        assert_eq!(
            ArgsOf.restore("k", 0, &b"\x00\x01"[..], &restore),
            [
                "RESTORE",
                "k",
                "0",
                "\u{0}\u{1}",
                "REPLACE",
                "ABSTTL",
                "IDLETIME",
                "3",
                "FREQ",
                "5"
            ]
        );
        assert_eq!(ArgsOf.randomkey::<String>(), ["RANDOMKEY"]);
    }

    #[test]
    fn object_subcommands() {
        assert_eq!(ArgsOf.object_encoding("k"), ["OBJECT", "ENCODING", "k"]);
        assert_eq!(ArgsOf.object_freq("k"), ["OBJECT", "FREQ", "k"]);
        assert_eq!(ArgsOf.object_idletime("k"), ["OBJECT", "IDLETIME", "k"]);
        assert_eq!(ArgsOf.object_refcount("k"), ["OBJECT", "REFCOUNT", "k"]);
    }

    #[test]
    fn sort_options_in_server_order() {
        let options = SortOptions::new()
            .alpha(true)
            .descending(true)
            .get("#")
            .get("{t}:name_*")
            .limit(0, 5)
            .by("{t}:w_*");
        assert_eq!(
            ArgsOf.sort::<Vec<String>>("{t}:l", &options),
            [
                "SORT",
                "{t}:l",
                "BY",
                "{t}:w_*",
                "LIMIT",
                "0",
                "5",
                "GET",
                "#",
                "GET",
                "{t}:name_*",
                "DESC",
                "ALPHA"
            ]
        );
        assert_eq!(
            ArgsOf.sort_ro::<Vec<String>>("l", &SortOptions::new()),
            ["SORT_RO", "l"]
        );
        assert_eq!(
            ArgsOf.sort_store("l", "d", &SortOptions::new().descending(true)),
            ["SORT", "l", "DESC", "STORE", "d"]
        );
    }
}
