//! Which commands the client-side cache serves: reads of one key whose reply depends on that
//! key's value alone, as data ([`CACHED`]).
//!
//! Left out on purpose: writes of any kind; replies that depend on time (`TTL`, `PTTL`,
//! `EXPIRETIME`) or chance (`SRANDMEMBER`, `HRANDFIELD`, `ZRANDMEMBER`); cursors (`HSCAN` …);
//! commands of several keys (`MGET`, `EXISTS` of more than one key, `SINTER` …); and what
//! describes the server rather than the value (`OBJECT`, `MEMORY USAGE`). This module is pure.

use crate::protocol::Cmd;

/// One cacheable command: its name and how many arguments it takes after the name (the first
/// of them its one key); `None` for no upper bound.
struct Cacheable {
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
}

const fn exactly(name: &'static str, args: usize) -> Cacheable {
    Cacheable {
        name,
        min_args: args,
        max_args: Some(args),
    }
}

const fn at_least(name: &'static str, args: usize) -> Cacheable {
    Cacheable {
        name,
        min_args: args,
        max_args: None,
    }
}

const fn between(name: &'static str, min: usize, max: usize) -> Cacheable {
    Cacheable {
        name,
        min_args: min,
        max_args: Some(max),
    }
}

/// The allow-list, the commands read most often first.
const CACHED: &[Cacheable] = &[
    exactly("get", 1),
    exactly("hget", 2),
    exactly("hgetall", 1),
    at_least("hmget", 2),
    exactly("exists", 1),
    exactly("getrange", 3),
    exactly("substr", 3),
    exactly("strlen", 1),
    exactly("type", 1),
    exactly("getbit", 2),
    between("bitcount", 1, 4),
    between("bitpos", 2, 5),
    exactly("hexists", 2),
    exactly("hlen", 1),
    exactly("hstrlen", 2),
    exactly("hkeys", 1),
    exactly("hvals", 1),
    exactly("lrange", 3),
    exactly("llen", 1),
    exactly("lindex", 2),
    at_least("lpos", 2),
    exactly("smembers", 1),
    exactly("sismember", 2),
    at_least("smismember", 2),
    exactly("scard", 1),
    exactly("zscore", 2),
    at_least("zmscore", 2),
    at_least("zrange", 3),
    at_least("zrangebyscore", 3),
    at_least("zrangebylex", 3),
    at_least("zrevrange", 3),
    at_least("zrevrangebyscore", 3),
    at_least("zrevrangebylex", 3),
    exactly("zcard", 1),
    between("zrank", 2, 3),
    between("zrevrank", 2, 3),
    exactly("zcount", 3),
    exactly("zlexcount", 3),
];

/// The key of `cmd` if the cache may serve it, else `None`.
pub(crate) fn cached_key(cmd: &Cmd) -> Option<&[u8]> {
    let count = cmd.argc().checked_sub(1)?;
    // The name and the key are found without walking the arguments (see `Cmd::arg_at`).
    let name = cmd.arg_at(0)?;
    let known = CACHED
        .iter()
        .find(|c| c.name.len() == name.len() && name.eq_ignore_ascii_case(c.name.as_bytes()))?;
    if count < known.min_args || known.max_args.is_some_and(|max| count > max) {
        return None;
    }
    cmd.arg_at(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cmd: &Cmd) -> Option<String> {
        cached_key(cmd).map(|k| String::from_utf8_lossy(k).into_owned())
    }

    #[test]
    fn reads_of_one_key_are_cached_by_that_key() {
        assert_eq!(key(&Cmd::new("GET").arg("k")).as_deref(), Some("k"));
        assert_eq!(key(&Cmd::new("get").arg("k")).as_deref(), Some("k"));
        assert_eq!(
            key(&Cmd::new("HMGET").arg("h").arg("a").arg("b")).as_deref(),
            Some("h")
        );
        let zrange = Cmd::new("ZRANGE").arg("z").arg(0).arg(-1).arg("WITHSCORES");
        assert_eq!(key(&zrange).as_deref(), Some("z"));
        assert_eq!(key(&Cmd::new("EXISTS").arg("k")).as_deref(), Some("k"));
    }

    #[test]
    fn writes_several_keys_time_and_chance_are_not() {
        for cmd in [
            Cmd::new("SET").arg("k").arg("v"),
            Cmd::new("GETDEL").arg("k"),
            Cmd::new("GETEX").arg("k"),
            Cmd::new("ZRANGESTORE").arg("d").arg("z").arg(0).arg(-1),
            Cmd::new("MGET").arg("a").arg("b"),
            Cmd::new("EXISTS").arg("a").arg("b"),
            Cmd::new("TTL").arg("k"),
            Cmd::new("SRANDMEMBER").arg("s"),
            Cmd::new("HSCAN").arg("h").arg(0),
            Cmd::new("GET"),
            Cmd::new("GET").arg("a").arg("b"),
        ] {
            assert_eq!(key(&cmd), None, "{:?} must not be cached", cmd.name());
        }
    }

    #[test]
    fn names_are_matched_in_any_case_and_arities_are_bounds() {
        let zrange = Cmd::new("ZRevRangeByScore").arg("z").arg(0).arg(10);
        assert_eq!(key(&zrange).as_deref(), Some("z"));
        assert_eq!(key(&Cmd::new("BITCOUNT").arg("b")).as_deref(), Some("b"));
        let bitcount = Cmd::new("BITCOUNT").arg("b").arg(0).arg(1).arg("BIT");
        assert_eq!(key(&bitcount).as_deref(), Some("b"));
        assert_eq!(key(&bitcount.arg("extra")), None);
        assert_eq!(
            key(&Cmd::new("ZRANK").arg("z").arg("m").arg("x").arg("y")),
            None
        );
        assert_eq!(key(&Cmd::new("HMGET").arg("h")), None);
        // Longer than any name on the list.
        assert_eq!(
            key(&Cmd::new("ZREVRANGEBYSCOREX").arg("z").arg(0).arg(1)),
            None
        );
        assert_eq!(key(&Cmd::new("").arg("k")), None);
    }
}
