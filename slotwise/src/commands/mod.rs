//! Typed command methods, written once for every way of running a command.
//!
//! An [`Executor`] runs one [`Cmd`] and says what a call returns: the async cluster client and
//! node client return a [`CommandFuture`], the blocking facade returns the `Result` itself. The
//! command traits are implemented for every executor by blanket impls, so each command method
//! exists once and serves them all:
//!
//! | Trait | Commands |
//! |---|---|
//! | [`StringCommands`] | `GET`, `SET` and its options, counters, ranges, `MGET`/`MSET`, `LCS` |
//! | [`KeyCommands`] | `DEL`, `EXISTS`, the `EXPIRE` family, `TTL`, `TYPE`, `RENAME`, `SORT`, `OBJECT …`, `KEYS` … |
//! | [`HashCommands`] | `HSET`, `HGET`, `HGETALL`, `HINCRBY` … |
//! | [`ListCommands`] | the non-blocking list commands: `LPUSH`, `LRANGE`, `LPOS`, `LMOVE` … |
//! | [`BlockingCommands`] | `BLPOP`, `BRPOP`, `BLMOVE`, `BLMPOP`, `BZPOPMIN`/`MAX`, `BZMPOP`, `BRPOPLPUSH` |
//! | [`SetCommands`] | `SADD`, `SMEMBERS`, `SINTER` and the other set algebra … |
//! | [`SortedSetCommands`] | `ZADD` and its options, `ZRANGE` and its options, `ZPOPMIN`, `ZUNION`/`ZINTER`/`ZDIFF`, `ZSCAN` … |
//! | [`StreamCommands`] | `XADD`, `XRANGE`, `XREAD`, `XREADGROUP`, `XACK`, `XPENDING`, `XCLAIM`, `XAUTOCLAIM`, `XGROUP …`, `XINFO …` |
//! | [`HyperLogLogCommands`] | `PFADD`, `PFCOUNT`, `PFMERGE` |
//! | [`GeoCommands`] | `GEOADD`, `GEOPOS`, `GEODIST`, `GEOHASH`, `GEOSEARCH`, `GEOSEARCHSTORE` |
//! | [`BitmapCommands`] | `SETBIT`, `GETBIT`, `BITCOUNT`, `BITPOS`, `BITOP`, `BITFIELD` |
//! | [`PubSubCommands`] | `PUBLISH`, `SPUBLISH`, `PUBSUB NUMSUB`/`SHARDNUMSUB` (subscribing: [`crate::PubSub`]) |
//! | [`ScriptingCommands`] | `EVAL`, `EVALSHA` and their `_RO` forms, `SCRIPT LOAD`/`EXISTS`/`FLUSH` … (cached scripts: [`crate::Script`]) |
//! | [`FunctionCommands`] | `FCALL`, `FCALL_RO`, `FUNCTION LOAD`/`DELETE`/`LIST`/`DUMP`/`RESTORE` … |
//! | [`ServerCommands`] | `PING`, `DBSIZE`, `INFO`, `FLUSHALL`, `CONFIG GET`/`SET` … |
//! | [`ClusterAdminCommands`] | `CLUSTER INFO`, `NODES`, `SHARDS`, `KEYSLOT` … |
//!
//! Bring the traits you call into scope, e.g. `use slotwise::commands::StringCommands;`.
//!
//! This module builds commands; it does not route or send them. Which node a command goes to
//! (and whether the keys of an atomic multi-key command such as `MGET` share a slot) is the
//! executor's decision, made from the server's command table.
//!
//! # Arguments
//!
//! Keys, values, fields and members are `impl` [`ToArgs`]: `&str`, `String`, `&[u8]`,
//! `Vec<u8>`, `Bytes` and numbers. Where a command takes several of something (`DEL k1 k2`,
//! `SADD s m1 m2`) one argument takes them all, as an array, slice or `Vec`: `del("a")`,
//! `del(["a", "b"])` and `del(&names)` all work. Pairs are tuples, in the order the command
//! wants them: `hset("h", [("field", "value")])`, `zadd("z", [(1.5, "member")])` (score
//! first, as `ZADD` has it).
//!
//! # Reply types
//!
//! The reply type parameter is the only named type parameter of a command method, because
//! arguments are `impl ToArgs`; a turbofish names just the reply, `get::<String>("k")`, and a
//! type annotation on the binding usually makes even that unnecessary. What it stands for
//! follows one rule per reply shape:
//!
//! - **Counts, flags, statuses, scores and TTLs** have fixed types: `i64` for every integer
//!   reply, `bool` for 0/1 and "did it write" replies, `()` for `OK`, `f64` for scores.
//! - **One value of user data**: `Option<T>` where the server answers nil for a missing key,
//!   field or element (`get`, `hget`, `lindex`, `lpop` …), plain `T` where it never does
//!   (`getrange`, `echo`). `T` is anything a bulk string converts to: `String`, `Vec<u8>`,
//!   `Bytes`, `i64`, `f64` …
//! - **Several values**: `T` is the whole collection, so the caller picks its shape:
//!   `Vec<String>` for `lrange`, `HashSet<String>` for `smembers`, `HashMap<String, String>`
//!   for `hgetall`, `Vec<Option<String>>` for `mget`.
//! - **Member and score pairs** are `Vec<(T, f64)>` (`zrange_withscores`, `zpopmin`), with `T`
//!   the member type.
//!
//! A method cannot post-process a reply (its return type is the executor's), so every return
//! type is one a reply converts to directly through [`FromValue`].
//!
//! # Options
//!
//! A command's options come in a `*Options` struct passed by reference, built with setters
//! named after what they do (`SetOptions::new().condition(Condition::Nx)`). Tokens of which
//! the server accepts only one (`NX` or `XX`; `EX`, `PX` or `KEEPTTL`) are one enum or one
//! field, so two of them are never sent together. The commands nearly always called without
//! options (`SET`, `ZADD`, `ZRANGE`, the `EXPIRE` family) also have a plain method, and the
//! one with options is named `<command>_options`; the `EXPIRE` family's only option is a
//! condition, so theirs take an [`ExpireCondition`]. Tokens that change the reply's shape
//! (`SET … GET`, `ZRANGE … WITHSCORES`, a `COUNT`) get their own methods, so each method has
//! one reply type.
//!
//! ```no_run
//! use slotwise::commands::{CommandFuture, Executor, StringCommands};
//! use slotwise::connection::{Connection, ConnectionConfig};
//! use slotwise::protocol::{Cmd, FromValue};
//!
//! /// A node connection as an executor (the cluster client and the blocking facade are others).
//! struct Node(Connection);
//!
//! impl Executor for Node {
//!     type Output<T: FromValue + Send + 'static> = CommandFuture<T>;
//!
//!     fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
//!         let conn = self.0.clone();
//!         CommandFuture::new(async move { T::from_value(conn.send(&cmd).await?) })
//!     }
//! }
//!
//! # async fn demo() -> slotwise::Result<()> {
//! let node = Node(Connection::connect(ConnectionConfig::new("127.0.0.1", 7000)).await?);
//! node.set("greeting", "hello").await?;
//! let greeting: Option<String> = node.get("greeting").await?;
//! assert_eq!(greeting.as_deref(), Some("hello"));
//! assert_eq!(node.incrby("visits", 5).await?, 5);
//! # Ok(()) }
//! ```

mod bitmaps;
mod blocking;
mod cluster_admin;
mod functions;
mod geo;
mod hashes;
mod hyperloglog;
mod keys;
mod lists;
mod pubsub;
mod record;
mod scripting;
mod server;
mod sets;
mod sorted_set_options;
mod sorted_sets;
mod stream_options;
mod stream_replies;
mod streams;
mod strings;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::cluster::{CachedRead, InFlight, RedisCluster};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs, Value};

pub use bitmaps::{BitFieldOps, BitOp, BitPosOptions, BitUnit, BitmapCommands, Overflow};
pub use blocking::BlockingCommands;
pub use cluster_admin::ClusterAdminCommands;
pub use functions::{
    FunctionCommands, FunctionInfo, FunctionListOptions, LibraryInfo, RestorePolicy,
};
pub use geo::{
    GeoAddOptions, GeoCommands, GeoFields, GeoFrom, GeoMatch, GeoSearchOptions, GeoShape, GeoUnit,
};
pub use hashes::HashCommands;
pub use hyperloglog::HyperLogLogCommands;
pub use keys::{CopyOptions, ExpireCondition, KeyCommands, RestoreOptions, SortOptions};
pub use lists::{InsertPosition, ListCommands, ListEnd, LposOptions};
pub use pubsub::PubSubCommands;
pub use scripting::ScriptingCommands;
pub use server::{FlushMode, ServerCommands};
pub use sets::SetCommands;
pub use sorted_set_options::{
    Aggregate, Comparison, ZAddOptions, ZCombineOptions, ZPopSide, ZRangeBy, ZRangeOptions,
};
pub use sorted_sets::SortedSetCommands;
pub use stream_options::{
    StreamTrim, XAddOptions, XClaimOptions, XGroupCreateOptions, XPendingOptions,
    XReadGroupOptions, XReadOptions,
};
pub use stream_replies::{
    AutoClaim, ConsumerInfo, GroupInfo, PendingEntry, PendingSummary, StreamEntry, StreamInfo,
    StreamRead,
};
pub use streams::StreamCommands;
pub use strings::{Expiry, GetExOptions, SetOptions, StringCommands};

/// Something that runs commands: a cluster client, a node client, the blocking facade.
pub trait Executor {
    /// What a command call returns: a future for async executors, the result for blocking ones.
    type Output<T: FromValue + Send + 'static>;

    /// Runs `cmd` and converts its reply to `T`.
    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Self::Output<T>;
}

/// The future of one command's typed reply.
#[must_use = "a command does nothing unless awaited"]
pub struct CommandFuture<T> {
    inner: Repr<T>,
}

enum Repr<T> {
    Boxed(Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>),
    /// A read a cluster client with its client-side cache on may serve from memory: looked up
    /// when first polled (not when made, so a write awaited in between is seen), sent only on
    /// a miss. A hit allocates nothing.
    Cacheable {
        read: CachedRead,
        cmd: Cmd,
        convert: fn(Value) -> Result<T>,
    },
    /// A command of a cluster client: when first polled, sent without a box if it is the
    /// common case (see `cluster/dispatch/direct.rs`), its first attempt then in `flight`;
    /// else run boxed. The common case changes this state in place: it is never moved.
    Direct {
        cluster: RedisCluster,
        cmd: Cmd,
        convert: fn(Value) -> Result<T>,
        flight: Option<InFlight>,
    },
    Done,
}

impl<T> CommandFuture<T> {
    /// Wraps a future (for implementing [`Executor`] on your own types).
    pub fn new(f: impl Future<Output = Result<T>> + Send + 'static) -> CommandFuture<T> {
        CommandFuture {
            inner: Repr::Boxed(Box::pin(f)),
        }
    }

    /// `cmd` on `cluster`, whose cache may answer it.
    pub(crate) fn cacheable(
        read: CachedRead,
        cmd: Cmd,
        convert: fn(Value) -> Result<T>,
    ) -> CommandFuture<T> {
        CommandFuture {
            inner: Repr::Cacheable { read, cmd, convert },
        }
    }

    /// `cmd` on `cluster`, routed and sent when first polled.
    pub(crate) fn direct(
        cluster: RedisCluster,
        cmd: Cmd,
        convert: fn(Value) -> Result<T>,
    ) -> CommandFuture<T> {
        CommandFuture {
            inner: Repr::Direct {
                cluster,
                cmd,
                convert,
                flight: None,
            },
        }
    }
}

impl<T: 'static> Future for CommandFuture<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut self.get_mut().inner;
        loop {
            match this {
                Repr::Boxed(f) => return f.as_mut().poll(cx),
                Repr::Direct {
                    cluster,
                    cmd,
                    convert,
                    flight,
                } => {
                    let flight = match flight {
                        Some(flight) => flight,
                        None => match cluster.send_direct(cmd) {
                            Some(sent) => flight.insert(sent),
                            None => {
                                *this = this.take_boxed(|cluster, cmd, convert| {
                                    Box::pin(async move { convert(cluster.run(&cmd, None).await?) })
                                });
                                continue;
                            }
                        },
                    };
                    match std::task::ready!(flight.poll(cmd, cx)) {
                        Ok(value) => {
                            let convert = *convert;
                            *this = Repr::Done;
                            return Poll::Ready(convert(value));
                        }
                        // The rest of the attempts, as the attempt loop would have made them.
                        Err(failed) => {
                            *this = this.take_boxed(|cluster, cmd, convert| {
                                Box::pin(
                                    async move { convert(cluster.run_after(&cmd, failed).await?) },
                                )
                            });
                        }
                    }
                }
                Repr::Cacheable { .. } => {
                    // A hit waits on nothing: it takes a unit of the task's budget, so a task
                    // reading only hits still lets others run.
                    let budget = std::task::ready!(tokio::task::coop::poll_proceed(cx));
                    let Repr::Cacheable { read, cmd, convert } =
                        std::mem::replace(this, Repr::Done)
                    else {
                        return Poll::Ready(Err(polled_after_completion()));
                    };
                    if let Some(value) = read.hit(&cmd) {
                        budget.made_progress();
                        return Poll::Ready(convert(value));
                    }
                    let cluster = read.into_handle();
                    *this = Repr::Boxed(Box::pin(async move {
                        convert(cluster.run_cache_missed(&cmd).await?)
                    }));
                }
                Repr::Done => return Poll::Ready(Err(polled_after_completion())),
            }
        }
    }
}

impl<T: 'static> Repr<T> {
    /// A [`Repr::Boxed`] made by `f` from what a [`Repr::Direct`] holds, leaving `Done`.
    fn take_boxed(
        &mut self,
        f: impl FnOnce(
            RedisCluster,
            Cmd,
            fn(Value) -> Result<T>,
        ) -> Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>,
    ) -> Repr<T> {
        match std::mem::replace(self, Repr::Done) {
            Repr::Direct {
                cluster,
                cmd,
                convert,
                ..
            } => Repr::Boxed(f(cluster, cmd, convert)),
            other => other,
        }
    }
}

fn polled_after_completion() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "a command future polled after it completed",
    )
}

impl<T> fmt::Debug for CommandFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommandFuture")
    }
}

/// The existence condition of a write: `NX` or `XX` (`SET`, `ZADD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// `NX`: write only if the key (or member) does not exist yet.
    Nx,
    /// `XX`: write only if the key (or member) already exists.
    Xx,
}

impl ToArgs for Condition {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            Condition::Nx => b"NX",
            Condition::Xx => b"XX",
        });
    }
}

/// What a pop from the first non-empty of several keys took (`LMPOP`, `ZMPOP`, `BLMPOP`,
/// `BZMPOP`): the key and its elements, in the order popped. For sorted sets `T` is a
/// `(member, score)` pair.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Popped<T> {
    /// The key popped from.
    pub key: String,
    /// The elements popped.
    pub items: Vec<T>,
}

impl<T: FromValue> FromValue for Popped<T> {
    fn from_value(value: crate::protocol::Value) -> Result<Popped<T>> {
        let [key, items] = record::exactly::<2, Popped<T>>(value)?;
        Ok(Popped {
            key: String::from_value(key)?,
            items: FromValue::from_value(items)?,
        })
    }
}

/// The options of the cursor commands of one key (`HSCAN`, `SSCAN`, `ZSCAN`): `MATCH` and
/// `COUNT`. (A scan of the whole cluster's keys is [`crate::RedisCluster::scan`].)
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct CursorOptions {
    pattern: Option<Vec<u8>>,
    count: Option<u64>,
}

impl CursorOptions {
    /// Options that add nothing: every element, in pages of the server's default size.
    pub fn new() -> CursorOptions {
        CursorOptions::default()
    }

    /// `MATCH pattern`: only elements (fields, members) matching the glob pattern; the
    /// filter runs after a page is read, so pages may come back empty. Default is every
    /// element.
    pub fn pattern(mut self, pattern: impl ToArgs) -> CursorOptions {
        self.pattern = Some(Cmd::new(pattern).name().to_vec());
        self
    }

    /// `COUNT count`: a hint for how much work one call does. Default is the server's (10).
    pub fn count(mut self, count: u64) -> CursorOptions {
        self.count = Some(count);
        self
    }
}

impl ToArgs for CursorOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if let Some(pattern) = &self.pattern {
            cmd.push_bytes(b"MATCH");
            cmd.push_bytes(pattern);
        }
        if let Some(count) = self.count {
            cmd.push_bytes(b"COUNT");
            cmd.push_uint(count);
        }
    }
}

/// Appends `items` preceded by the number of arguments they expand to, for commands that want
/// a count before a list (`SINTERCARD numkeys key …`).
///
/// The count is taken from the encoded arguments rather than from the caller's collection,
/// because one item may expand to several arguments (a tuple, a nested slice).
fn push_counted(cmd: &mut Cmd, items: impl ToArgs) {
    let list = Cmd::new(items);
    cmd.push_arg(list.argc());
    for arg in list.args() {
        cmd.push_bytes(arg);
    }
}

#[cfg(test)]
mod testing {
    use super::Executor;
    use crate::protocol::{Cmd, FromValue};

    /// An executor that sends nothing: every call returns the arguments it would send, so unit
    /// tests can check exactly what a method builds.
    pub(super) struct ArgsOf;

    impl Executor for ArgsOf {
        type Output<T: FromValue + Send + 'static> = Vec<String>;

        fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Vec<String> {
            cmd.args()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_lists_count_expanded_arguments() {
        let mut cmd = Cmd::new("SINTERCARD");
        push_counted(&mut cmd, (&["a", "b"][..], "c"));
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(args, [&b"SINTERCARD"[..], b"3", b"a", b"b", b"c"]);
    }

    /// A command's future is returned by value and moved into the caller's future: past 128
    /// bytes, each move is a call to `memcpy` rather than a few register copies.
    #[test]
    fn a_command_future_stays_within_128_bytes() {
        let size = std::mem::size_of::<CommandFuture<Option<bytes::Bytes>>>();
        assert!(size <= 128, "a command's future is {size} bytes");
    }
}
