//! The built-in command data, and the rule for when it is used: only to fill what a server's
//! `COMMAND` reply leaves out.
//!
//! Three small tables, all facts read from the `COMMAND` reply of Redis 7.0:
//! - [`COMMANDS`]: name, arity, flags and the legacy key triple of the common commands, and of
//!   the subcommands that route differently from their parent. Used whole by
//!   [`CommandTable::builtin`](super::CommandTable::builtin) when `COMMAND` cannot be read, and
//!   for the subcommands of a server that lists none (before 7).
//! - [`TIPS`]: every `request_policy` / `response_policy` tip, for a server without tips.
//! - [`LAYOUTS`]: how to find the keys of each movable-key command, for a server without key
//!   specs and for the few commands whose Redis 7 specs are `unknown` or `incomplete` (`SORT`,
//!   `SORT_RO`, `MIGRATE`), as the server itself falls back to its own key-finding procedure
//!   for those.
//!
//! Data a reply does give always wins. This module does not read replies (`parse`) nor find keys
//! (`keys`).

use std::borrow::Cow;

use super::keys::{BeginSearch, FindKeys, KeySource, KeySpec};
use super::parse::Entry;
use super::table::{CommandFlags, CommandInfo, Names, RequestPolicy, ResponsePolicy, Tips};
use RequestPolicy as Req;
use ResponsePolicy as Resp;

/// One built-in command: name, arity, flags (space-separated, as `COMMAND` names them) and the
/// legacy first key, last key and step.
#[derive(Debug)]
struct Row {
    name: &'static str,
    arity: i64,
    flags: &'static str,
    keys: (i64, i64, i64),
}

const fn row(
    name: &'static str,
    arity: i64,
    flags: &'static str,
    first: i64,
    last: i64,
    step: i64,
) -> Row {
    Row {
        name,
        arity,
        flags,
        keys: (first, last, step),
    }
}

/// The common commands. `LCS` is left out on purpose: a server's key specs must be enough to
/// route a command this table does not know.
#[rustfmt::skip]
static COMMANDS: &[Row] = &[
    row("get", 2, "readonly fast", 1, 1, 1),
    row("set", -3, "write denyoom", 1, 1, 1),
    row("setnx", 3, "write denyoom fast", 1, 1, 1),
    row("setex", 4, "write denyoom", 1, 1, 1),
    row("psetex", 4, "write denyoom", 1, 1, 1),
    row("getdel", 2, "write fast", 1, 1, 1),
    row("getex", -2, "write fast", 1, 1, 1),
    row("getset", 3, "write denyoom fast", 1, 1, 1),
    row("getrange", 4, "readonly", 1, 1, 1),
    row("setrange", 4, "write denyoom", 1, 1, 1),
    row("append", 3, "write denyoom fast", 1, 1, 1),
    row("strlen", 2, "readonly fast", 1, 1, 1),
    row("incr", 2, "write denyoom fast", 1, 1, 1),
    row("incrby", 3, "write denyoom fast", 1, 1, 1),
    row("incrbyfloat", 3, "write denyoom fast", 1, 1, 1),
    row("decr", 2, "write denyoom fast", 1, 1, 1),
    row("decrby", 3, "write denyoom fast", 1, 1, 1),
    row("mget", -2, "readonly fast", 1, -1, 1),
    row("mset", -3, "write denyoom", 1, -1, 2),
    row("msetnx", -3, "write denyoom", 1, -1, 2),
    row("setbit", 4, "write denyoom", 1, 1, 1),
    row("getbit", 3, "readonly fast", 1, 1, 1),
    row("bitcount", -2, "readonly", 1, 1, 1),
    row("bitpos", -3, "readonly", 1, 1, 1),
    row("bitop", -4, "write denyoom", 2, -1, 1),
    row("bitfield", -2, "write denyoom", 1, 1, 1),
    row("bitfield_ro", -2, "readonly fast", 1, 1, 1),
    row("del", -2, "write", 1, -1, 1),
    row("exists", -2, "readonly fast", 1, -1, 1),
    row("unlink", -2, "write fast", 1, -1, 1),
    row("touch", -2, "readonly fast", 1, -1, 1),
    row("expire", -3, "write fast", 1, 1, 1),
    row("pexpire", -3, "write fast", 1, 1, 1),
    row("expireat", -3, "write fast", 1, 1, 1),
    row("pexpireat", -3, "write fast", 1, 1, 1),
    row("persist", 2, "write fast", 1, 1, 1),
    row("ttl", 2, "readonly fast", 1, 1, 1),
    row("pttl", 2, "readonly fast", 1, 1, 1),
    row("type", 2, "readonly fast", 1, 1, 1),
    row("rename", 3, "write", 1, 2, 1),
    row("renamenx", 3, "write fast", 1, 2, 1),
    row("keys", 2, "readonly", 0, 0, 0),
    row("scan", -2, "readonly", 0, 0, 0),
    row("randomkey", 1, "readonly", 0, 0, 0),
    row("dump", 2, "readonly", 1, 1, 1),
    row("restore", -4, "write denyoom", 1, 1, 1),
    row("copy", -3, "write denyoom", 1, 2, 1),
    row("object", -2, "", 0, 0, 0),
    row("memory", -2, "", 0, 0, 0),
    row("sort", -2, "write denyoom movablekeys", 1, 1, 1),
    row("sort_ro", -2, "readonly movablekeys", 1, 1, 1),
    row("migrate", -6, "write movablekeys", 3, 3, 1),
    row("wait", 3, "noscript", 0, 0, 0),
    row("hget", 3, "readonly fast", 1, 1, 1),
    row("hset", -4, "write denyoom fast", 1, 1, 1),
    row("hsetnx", 4, "write denyoom fast", 1, 1, 1),
    row("hmset", -4, "write denyoom fast", 1, 1, 1),
    row("hmget", -3, "readonly fast", 1, 1, 1),
    row("hdel", -3, "write fast", 1, 1, 1),
    row("hexists", 3, "readonly fast", 1, 1, 1),
    row("hlen", 2, "readonly fast", 1, 1, 1),
    row("hkeys", 2, "readonly", 1, 1, 1),
    row("hvals", 2, "readonly", 1, 1, 1),
    row("hgetall", 2, "readonly", 1, 1, 1),
    row("hincrby", 4, "write denyoom fast", 1, 1, 1),
    row("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1),
    row("hstrlen", 3, "readonly fast", 1, 1, 1),
    row("hscan", -3, "readonly", 1, 1, 1),
    row("hrandfield", -2, "readonly", 1, 1, 1),
    row("lpush", -3, "write denyoom fast", 1, 1, 1),
    row("rpush", -3, "write denyoom fast", 1, 1, 1),
    row("lpushx", -3, "write denyoom fast", 1, 1, 1),
    row("rpushx", -3, "write denyoom fast", 1, 1, 1),
    row("lpop", -2, "write fast", 1, 1, 1),
    row("rpop", -2, "write fast", 1, 1, 1),
    row("llen", 2, "readonly fast", 1, 1, 1),
    row("lrange", 4, "readonly", 1, 1, 1),
    row("lindex", 3, "readonly", 1, 1, 1),
    row("lset", 4, "write denyoom", 1, 1, 1),
    row("linsert", 5, "write denyoom", 1, 1, 1),
    row("lrem", 4, "write", 1, 1, 1),
    row("ltrim", 4, "write", 1, 1, 1),
    row("lpos", -3, "readonly", 1, 1, 1),
    row("lmove", 5, "write denyoom", 1, 2, 1),
    row("rpoplpush", 3, "write denyoom", 1, 2, 1),
    row("blpop", -3, "write noscript blocking", 1, -2, 1),
    row("brpop", -3, "write noscript blocking", 1, -2, 1),
    row("blmove", 6, "write denyoom noscript blocking", 1, 2, 1),
    row("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1),
    row("lmpop", -4, "write movablekeys", 0, 0, 0),
    row("blmpop", -5, "write blocking movablekeys", 0, 0, 0),
    row("sadd", -3, "write denyoom fast", 1, 1, 1),
    row("srem", -3, "write fast", 1, 1, 1),
    row("smembers", 2, "readonly", 1, 1, 1),
    row("sismember", 3, "readonly fast", 1, 1, 1),
    row("smismember", -3, "readonly fast", 1, 1, 1),
    row("scard", 2, "readonly fast", 1, 1, 1),
    row("spop", -2, "write fast", 1, 1, 1),
    row("srandmember", -2, "readonly", 1, 1, 1),
    row("smove", 4, "write fast", 1, 2, 1),
    row("sinter", -2, "readonly", 1, -1, 1),
    row("sinterstore", -3, "write denyoom", 1, -1, 1),
    row("sunion", -2, "readonly", 1, -1, 1),
    row("sunionstore", -3, "write denyoom", 1, -1, 1),
    row("sdiff", -2, "readonly", 1, -1, 1),
    row("sdiffstore", -3, "write denyoom", 1, -1, 1),
    row("sintercard", -3, "readonly movablekeys", 0, 0, 0),
    row("sscan", -3, "readonly", 1, 1, 1),
    row("zadd", -4, "write denyoom fast", 1, 1, 1),
    row("zrem", -3, "write fast", 1, 1, 1),
    row("zscore", 3, "readonly fast", 1, 1, 1),
    row("zmscore", -3, "readonly fast", 1, 1, 1),
    row("zincrby", 4, "write denyoom fast", 1, 1, 1),
    row("zcard", 2, "readonly fast", 1, 1, 1),
    row("zcount", 4, "readonly fast", 1, 1, 1),
    row("zlexcount", 4, "readonly fast", 1, 1, 1),
    row("zrange", -4, "readonly", 1, 1, 1),
    row("zrangestore", -5, "write denyoom", 1, 2, 1),
    row("zrangebyscore", -4, "readonly", 1, 1, 1),
    row("zrangebylex", -4, "readonly", 1, 1, 1),
    row("zrevrange", -4, "readonly", 1, 1, 1),
    row("zrevrangebyscore", -4, "readonly", 1, 1, 1),
    row("zrank", 3, "readonly fast", 1, 1, 1),
    row("zrevrank", 3, "readonly fast", 1, 1, 1),
    row("zremrangebyrank", 4, "write", 1, 1, 1),
    row("zremrangebyscore", 4, "write", 1, 1, 1),
    row("zpopmin", -2, "write fast", 1, 1, 1),
    row("zpopmax", -2, "write fast", 1, 1, 1),
    row("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1),
    row("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1),
    row("zunionstore", -4, "write denyoom movablekeys", 1, 1, 1),
    row("zinterstore", -4, "write denyoom movablekeys", 1, 1, 1),
    row("zdiffstore", -4, "write denyoom movablekeys", 1, 1, 1),
    row("zunion", -3, "readonly movablekeys", 0, 0, 0),
    row("zinter", -3, "readonly movablekeys", 0, 0, 0),
    row("zdiff", -3, "readonly movablekeys", 0, 0, 0),
    row("zintercard", -3, "readonly movablekeys", 0, 0, 0),
    row("zmpop", -4, "write movablekeys", 0, 0, 0),
    row("bzmpop", -5, "write blocking movablekeys", 0, 0, 0),
    row("zscan", -3, "readonly", 1, 1, 1),
    row("zrandmember", -2, "readonly", 1, 1, 1),
    row("xadd", -5, "write denyoom fast", 1, 1, 1),
    row("xlen", 2, "readonly fast", 1, 1, 1),
    row("xrange", -4, "readonly", 1, 1, 1),
    row("xrevrange", -4, "readonly", 1, 1, 1),
    row("xread", -4, "readonly blocking movablekeys", 0, 0, 0),
    row("xreadgroup", -7, "write blocking movablekeys", 0, 0, 0),
    row("xack", -4, "write fast", 1, 1, 1),
    row("xdel", -3, "write fast", 1, 1, 1),
    row("xtrim", -4, "write", 1, 1, 1),
    row("xgroup", -2, "", 0, 0, 0),
    row("xinfo", -2, "", 0, 0, 0),
    row("xclaim", -6, "write fast", 1, 1, 1),
    row("xautoclaim", -6, "write fast", 1, 1, 1),
    row("xpending", -3, "readonly", 1, 1, 1),
    row("geoadd", -5, "write denyoom", 1, 1, 1),
    row("geodist", -4, "readonly", 1, 1, 1),
    row("geopos", -2, "readonly", 1, 1, 1),
    row("geohash", -2, "readonly", 1, 1, 1),
    row("geosearch", -7, "readonly", 1, 1, 1),
    row("geosearchstore", -8, "write denyoom", 1, 2, 1),
    row("georadius", -6, "write denyoom movablekeys", 1, 1, 1),
    row("georadiusbymember", -5, "write denyoom movablekeys", 1, 1, 1),
    row("georadius_ro", -6, "readonly", 1, 1, 1),
    row("georadiusbymember_ro", -5, "readonly", 1, 1, 1),
    row("pfadd", -2, "write denyoom fast", 1, 1, 1),
    row("pfcount", -2, "readonly", 1, -1, 1),
    row("pfmerge", -2, "write denyoom", 1, -1, 1),
    row("eval", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0),
    row("evalsha", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0),
    row("eval_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0),
    row("evalsha_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0),
    row("fcall", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0),
    row("fcall_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0),
    row("script", -2, "", 0, 0, 0),
    row("function", -2, "", 0, 0, 0),
    row("publish", 3, "pubsub loading stale fast", 0, 0, 0),
    row("subscribe", -2, "pubsub noscript loading stale", 0, 0, 0),
    row("unsubscribe", -1, "pubsub noscript loading stale", 0, 0, 0),
    row("psubscribe", -2, "pubsub noscript loading stale", 0, 0, 0),
    row("punsubscribe", -1, "pubsub noscript loading stale", 0, 0, 0),
    row("pubsub", -2, "", 0, 0, 0),
    row("spublish", 3, "pubsub loading stale fast", 1, 1, 1),
    row("ssubscribe", -2, "pubsub noscript loading stale", 1, -1, 1),
    row("sunsubscribe", -1, "pubsub noscript loading stale", 1, -1, 1),
    row("multi", 1, "noscript loading stale fast allow_busy", 0, 0, 0),
    row("exec", 1, "noscript loading stale skip_slowlog", 0, 0, 0),
    row("discard", 1, "noscript loading stale fast allow_busy", 0, 0, 0),
    row("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1),
    row("unwatch", 1, "noscript loading stale fast allow_busy", 0, 0, 0),
    row("ping", -1, "fast", 0, 0, 0),
    row("info", -1, "loading stale", 0, 0, 0),
    row("dbsize", 1, "readonly fast", 0, 0, 0),
    row("flushall", -1, "write", 0, 0, 0),
    row("flushdb", -1, "write", 0, 0, 0),
    row("time", 1, "loading stale fast", 0, 0, 0),
    row("config", -2, "", 0, 0, 0),
    row("cluster", -2, "", 0, 0, 0),
    row("slowlog", -2, "", 0, 0, 0),
    row("latency", -2, "", 0, 0, 0),
    row("cluster|info", 2, "stale", 0, 0, 0),
    row("cluster|nodes", 2, "stale", 0, 0, 0),
    row("cluster|slots", 2, "stale", 0, 0, 0),
    row("cluster|shards", 2, "stale", 0, 0, 0),
    row("cluster|keyslot", 3, "stale", 0, 0, 0),
    row("cluster|countkeysinslot", 3, "stale", 0, 0, 0),
    row("cluster|getkeysinslot", 4, "stale", 0, 0, 0),
    row("cluster|myid", 2, "stale", 0, 0, 0),
    row("cluster|links", 2, "stale", 0, 0, 0),
    row("config|get", -3, "admin noscript loading stale", 0, 0, 0),
    row("config|set", -4, "admin noscript loading stale", 0, 0, 0),
    row("config|resetstat", 2, "admin noscript loading stale", 0, 0, 0),
    row("config|rewrite", 2, "admin noscript loading stale", 0, 0, 0),
    row("script|load", 3, "noscript stale", 0, 0, 0),
    row("script|flush", -2, "noscript", 0, 0, 0),
    row("script|exists", -3, "noscript", 0, 0, 0),
    row("script|kill", 2, "noscript allow_busy", 0, 0, 0),
    row("function|load", -3, "write denyoom noscript", 0, 0, 0),
    row("function|delete", 3, "write noscript", 0, 0, 0),
    row("function|flush", -2, "write noscript", 0, 0, 0),
    row("function|kill", 2, "noscript allow_busy", 0, 0, 0),
    row("function|restore", -3, "write denyoom noscript", 0, 0, 0),
    row("function|stats", 2, "noscript allow_busy", 0, 0, 0),
    row("function|dump", 2, "noscript", 0, 0, 0),
    row("function|list", -2, "noscript", 0, 0, 0),
    row("object|encoding", 3, "readonly", 2, 2, 1),
    row("object|freq", 3, "readonly", 2, 2, 1),
    row("object|idletime", 3, "readonly", 2, 2, 1),
    row("object|refcount", 3, "readonly", 2, 2, 1),
    row("memory|usage", -3, "readonly", 2, 2, 1),
    row("memory|stats", 2, "", 0, 0, 0),
    row("memory|doctor", 2, "", 0, 0, 0),
    row("memory|malloc-stats", 2, "", 0, 0, 0),
    row("memory|purge", 2, "", 0, 0, 0),
    row("xinfo|stream", -3, "readonly", 2, 2, 1),
    row("xinfo|groups", 3, "readonly", 2, 2, 1),
    row("xinfo|consumers", 4, "readonly", 2, 2, 1),
    row("xgroup|create", -5, "write denyoom", 2, 2, 1),
    row("xgroup|destroy", 4, "write", 2, 2, 1),
    row("xgroup|setid", -5, "write", 2, 2, 1),
    row("xgroup|createconsumer", 5, "write denyoom", 2, 2, 1),
    row("xgroup|delconsumer", 5, "write", 2, 2, 1),
    row("slowlog|get", -2, "admin loading stale", 0, 0, 0),
    row("slowlog|len", 2, "admin loading stale", 0, 0, 0),
    row("slowlog|reset", 2, "admin loading stale", 0, 0, 0),
    row("latency|doctor", 2, "admin noscript loading stale", 0, 0, 0),
    row("latency|graph", 3, "admin noscript loading stale", 0, 0, 0),
    row("latency|histogram", -2, "admin noscript loading stale", 0, 0, 0),
    row("latency|history", 3, "admin noscript loading stale", 0, 0, 0),
    row("latency|latest", 2, "admin noscript loading stale", 0, 0, 0),
    row("latency|reset", -2, "admin noscript loading stale", 0, 0, 0),
];

/// The policy tips of Redis 7.0, by full name.
#[rustfmt::skip]
static TIPS: &[(&str, Option<RequestPolicy>, Option<ResponsePolicy>)] = &[
    ("config|set", Some(Req::AllNodes), Some(Resp::AllSucceeded)),
    ("dbsize", Some(Req::AllShards), Some(Resp::AggSum)),
    ("del", Some(Req::MultiShard), Some(Resp::AggSum)),
    ("exists", Some(Req::MultiShard), Some(Resp::AggSum)),
    ("flushall", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("flushdb", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("function|delete", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("function|flush", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("function|kill", Some(Req::AllShards), Some(Resp::OneSucceeded)),
    ("function|load", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("function|restore", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("function|stats", Some(Req::AllShards), Some(Resp::Special)),
    ("info", Some(Req::AllShards), Some(Resp::Special)),
    ("keys", Some(Req::AllShards), None),
    ("latency|doctor", Some(Req::AllNodes), Some(Resp::Special)),
    ("latency|graph", Some(Req::AllNodes), Some(Resp::Special)),
    ("latency|histogram", Some(Req::AllNodes), Some(Resp::Special)),
    ("latency|history", Some(Req::AllNodes), Some(Resp::Special)),
    ("latency|latest", Some(Req::AllNodes), Some(Resp::Special)),
    ("latency|reset", Some(Req::AllNodes), Some(Resp::AllSucceeded)),
    ("memory|doctor", Some(Req::AllShards), Some(Resp::Special)),
    ("memory|malloc-stats", Some(Req::AllShards), Some(Resp::Special)),
    ("memory|purge", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("memory|stats", Some(Req::AllShards), Some(Resp::Special)),
    ("mget", Some(Req::MultiShard), None),
    ("mset", Some(Req::MultiShard), Some(Resp::AllSucceeded)),
    ("msetnx", Some(Req::MultiShard), Some(Resp::AggMin)),
    ("ping", Some(Req::AllShards), Some(Resp::AllSucceeded)),
    ("randomkey", Some(Req::AllShards), None),
    ("scan", Some(Req::Special), None),
    ("script|exists", Some(Req::AllShards), Some(Resp::AggLogicalAnd)),
    ("script|flush", Some(Req::AllNodes), Some(Resp::AllSucceeded)),
    ("script|kill", Some(Req::AllShards), Some(Resp::OneSucceeded)),
    ("script|load", Some(Req::AllNodes), Some(Resp::AllSucceeded)),
    ("slowlog|get", Some(Req::AllNodes), None),
    ("slowlog|len", Some(Req::AllNodes), Some(Resp::AggSum)),
    ("slowlog|reset", Some(Req::AllNodes), Some(Resp::AllSucceeded)),
    ("touch", Some(Req::MultiShard), Some(Resp::AggSum)),
    ("unlink", Some(Req::MultiShard), Some(Resp::AggSum)),
    ("wait", Some(Req::AllShards), Some(Resp::AggMin)),
];

/// `numkeys` at `index`, the keys right after it.
const fn numkeys_at(index: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Index(index),
        FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            keystep: 1,
        },
    )
}

/// One key at `index`.
const fn key_at(index: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Index(index),
        FindKeys::Range {
            lastkey: 0,
            keystep: 1,
            limit: 0,
        },
    )
}

/// One key after `keyword`, searched from `startfrom`.
const fn key_after(keyword: &'static [u8], startfrom: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Keyword {
            keyword: Cow::Borrowed(keyword),
            startfrom,
        },
        FindKeys::Range {
            lastkey: 0,
            keystep: 1,
            limit: 0,
        },
    )
}

/// `STREAMS k1 … kn id1 … idn`: the first half of what follows `STREAMS`.
const fn streams_from(startfrom: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Keyword {
            keyword: Cow::Borrowed(b"STREAMS"),
            startfrom,
        },
        FindKeys::Range {
            lastkey: -1,
            keystep: 1,
            limit: 2,
        },
    )
}

const fn specs(list: &'static [KeySpec]) -> KeySource {
    KeySource::Specs(Cow::Borrowed(list))
}

// Spec lists live in statics of their own: a `KeySpec` may own its keyword, so a temporary
// array of them cannot be promoted to `'static` inside the table below.
/// `numkeys` then keys, at 1 (`ZUNION`, `LMPOP` …) or after a script or timeout at 2.
static NUMKEYS_AT_1: [KeySpec; 1] = [numkeys_at(1)];
static NUMKEYS_AT_2: [KeySpec; 1] = [numkeys_at(2)];
/// A destination, then `numkeys` and keys (`ZUNIONSTORE` …).
static DEST_THEN_NUMKEYS: [KeySpec; 2] = [key_at(1), numkeys_at(2)];
static XREAD: [KeySpec; 1] = [streams_from(1)];
/// `XREADGROUP GROUP g c …`: the keyword cannot come before index 4.
static XREADGROUP: [KeySpec; 1] = [streams_from(4)];
static GEORADIUS: [KeySpec; 3] = [
    key_at(1),
    key_after(b"STORE", 6),
    key_after(b"STOREDIST", 6),
];
static GEORADIUSBYMEMBER: [KeySpec; 3] = [
    key_at(1),
    key_after(b"STORE", 5),
    key_after(b"STOREDIST", 5),
];

/// The key layouts of the movable-key commands.
static LAYOUTS: &[(&str, KeySource)] = &[
    ("eval", specs(&NUMKEYS_AT_2)),
    ("eval_ro", specs(&NUMKEYS_AT_2)),
    ("evalsha", specs(&NUMKEYS_AT_2)),
    ("evalsha_ro", specs(&NUMKEYS_AT_2)),
    ("fcall", specs(&NUMKEYS_AT_2)),
    ("fcall_ro", specs(&NUMKEYS_AT_2)),
    ("zunionstore", specs(&DEST_THEN_NUMKEYS)),
    ("zinterstore", specs(&DEST_THEN_NUMKEYS)),
    ("zdiffstore", specs(&DEST_THEN_NUMKEYS)),
    ("zunion", specs(&NUMKEYS_AT_1)),
    ("zinter", specs(&NUMKEYS_AT_1)),
    ("zdiff", specs(&NUMKEYS_AT_1)),
    ("zintercard", specs(&NUMKEYS_AT_1)),
    ("sintercard", specs(&NUMKEYS_AT_1)),
    ("lmpop", specs(&NUMKEYS_AT_1)),
    ("zmpop", specs(&NUMKEYS_AT_1)),
    // The blocking forms take the timeout first.
    ("blmpop", specs(&NUMKEYS_AT_2)),
    ("bzmpop", specs(&NUMKEYS_AT_2)),
    ("xread", specs(&XREAD)),
    ("xreadgroup", specs(&XREADGROUP)),
    ("georadius", specs(&GEORADIUS)),
    ("georadiusbymember", specs(&GEORADIUSBYMEMBER)),
    ("sort", KeySource::Sort),
    ("sort_ro", KeySource::SortRo),
    ("migrate", KeySource::Migrate),
];

/// The table of built-in data alone.
pub(super) fn commands() -> Vec<CommandInfo> {
    COMMANDS
        .iter()
        .filter(|r| !r.name.contains('|'))
        .map(|r| fill(entry_of(r)))
        .collect()
}

/// Completes an entry read from a reply with built-in data, where the reply is silent.
pub(super) fn fill(entry: Entry) -> CommandInfo {
    let movable = entry.flags.contains(CommandFlags::MOVABLEKEYS);
    let keys = match entry.specs {
        // A movable-key command with no spec at all has keys nothing here describes.
        Some(specs) if specs.complete && !(movable && specs.list.is_empty()) => {
            KeySource::Specs(Cow::Owned(specs.list))
        }
        Some(_) => layout(&entry.name),
        None if movable => layout(&entry.name),
        None => {
            let (first, last, step) = entry.legacy;
            KeySpec::legacy(first, last, step).map_or(KeySource::NONE, |spec| {
                KeySource::Specs(Cow::Owned(vec![spec]))
            })
        }
    };
    let tips = entry.tips.unwrap_or_else(|| tips(&entry.name));
    let subcommands = match entry.subcommands {
        Some(subs) => subs.into_iter().map(fill).collect(),
        None => subcommands_of(&entry.name),
    };
    CommandInfo {
        name: entry.name.into(),
        arity: entry.arity,
        flags: entry.flags,
        tips,
        keys,
        subcommands: names(subcommands),
    }
}

fn entry_of(row: &Row) -> Entry {
    let flags = row
        .flags
        .split_ascii_whitespace()
        .fold(CommandFlags::default(), |acc, name| {
            acc.union(CommandFlags::from_name(name.as_bytes()))
        });
    Entry {
        name: row.name.to_owned(),
        arity: row.arity,
        flags,
        legacy: row.keys,
        tips: None,
        specs: None,
        subcommands: None,
    }
}

fn layout(name: &str) -> KeySource {
    LAYOUTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(KeySource::Unknown, |(_, layout)| layout.clone())
}

fn tips(name: &str) -> Tips {
    TIPS.iter()
        .find(|(n, _, _)| *n == name)
        .map_or(Tips::default(), |(_, req, resp)| {
            Tips::policies(*req, *resp)
        })
}

/// The built-in subcommands of `parent`, as entries of their own.
fn subcommands_of(parent: &str) -> Vec<CommandInfo> {
    COMMANDS
        .iter()
        .filter(|r| r.name.split_once('|').is_some_and(|(p, _)| p == parent))
        .map(|r| fill(entry_of(r)))
        .collect()
}

/// Subcommands keyed by the part after `|`; `None` when there are none.
fn names(subs: Vec<CommandInfo>) -> Option<Box<Names>> {
    if subs.is_empty() {
        return None;
    }
    let mut map = Names::default();
    for sub in subs {
        let key = sub.name.split_once('|').map_or(&*sub.name, |(_, s)| s);
        map.insert(key.as_bytes().into(), sub);
    }
    Some(Box::new(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_name_is_known() {
        for r in COMMANDS {
            for name in r.flags.split_ascii_whitespace() {
                assert_ne!(
                    CommandFlags::from_name(name.as_bytes()),
                    CommandFlags::default(),
                    "unknown flag {name} in row {}",
                    r.name
                );
            }
        }
    }

    #[test]
    fn every_subcommand_has_its_parent_and_every_tip_and_layout_a_command() {
        let known = |name: &str| COMMANDS.iter().any(|r| r.name == name);
        for r in COMMANDS {
            if let Some((parent, _)) = r.name.split_once('|') {
                assert!(known(parent), "{} has no parent row", r.name);
            }
        }
        for (name, _, _) in TIPS {
            assert!(known(name), "tip for unknown command {name}");
        }
        for (name, _) in LAYOUTS {
            let row = COMMANDS.iter().find(|r| r.name == *name);
            assert!(
                row.is_some_and(|r| r.flags.contains("movablekeys")),
                "layout for {name}, which is not a movable-key command here"
            );
        }
        for r in COMMANDS.iter().filter(|r| r.flags.contains("movablekeys")) {
            assert!(
                LAYOUTS.iter().any(|(n, _)| *n == r.name),
                "{} has movable keys and no layout",
                r.name
            );
        }
    }

    #[test]
    fn names_are_unique_and_lower_case() {
        let mut seen = std::collections::HashSet::new();
        for r in COMMANDS {
            assert!(seen.insert(r.name), "{} twice", r.name);
            assert_eq!(r.name, r.name.to_ascii_lowercase());
        }
        assert!(!seen.contains("lcs"));
    }
}
