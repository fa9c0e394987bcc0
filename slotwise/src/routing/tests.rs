//! Tests of the whole routing table against real `COMMAND` replies of Redis 7.0.15 (RESP2 and
//! RESP3, under `fixtures/`), against the same replies cut down to the Redis 6 shape, and
//! against the built-in data alone.

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::table::{CommandTable, KeyScan, RequestPolicy as Req, ResponsePolicy as Resp};
use crate::error::ErrorKind;
use crate::protocol::{encode_value, Cmd, Decoder, ServerError, Value, WireReply};

const RESP2: &[u8] = include_bytes!("fixtures/command-7.0.15.resp2");
const RESP3: &[u8] = include_bytes!("fixtures/command-7.0.15.resp3");
const GETKEYS: &str = include_str!("fixtures/getkeys-7.0.15.txt");

fn decode(bytes: &[u8]) -> Value {
    let mut buf = BytesMut::from(bytes);
    let value = Decoder::new().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty(), "the fixture holds one reply");
    value
}

/// The reply as a server before 7 would send it: seven fields an entry, no tips, no key specs,
/// no subcommands.
fn redis6_shape(reply: Value) -> Value {
    let Value::Array(entries) = reply else {
        panic!("expected an array")
    };
    Value::Array(
        entries
            .into_iter()
            .map(|e| match e {
                Value::Array(mut fields) => {
                    fields.truncate(7);
                    Value::Array(fields)
                }
                other => panic!("expected an entry, got {other:?}"),
            })
            .collect(),
    )
}

fn tables() -> &'static [(&'static str, CommandTable)] {
    static TABLES: OnceLock<Vec<(&'static str, CommandTable)>> = OnceLock::new();
    TABLES.get_or_init(|| {
        vec![
            ("resp2", CommandTable::from_reply(decode(RESP2)).unwrap()),
            ("resp3", CommandTable::from_reply(decode(RESP3)).unwrap()),
            (
                "redis6-shaped resp2",
                CommandTable::from_reply(redis6_shape(decode(RESP2))).unwrap(),
            ),
        ]
    })
}

/// `GET k` from `"GET k"`, `""` standing for an empty argument.
fn cmd(line: &str) -> Cmd {
    let mut words = line.split(' ');
    let mut c = Cmd::new(words.next().unwrap());
    for w in words {
        c.push_bytes(if w == "\"\"" { b"" } else { w.as_bytes() });
    }
    c
}

fn keys_of(table: &CommandTable, line: &str) -> Option<Vec<String>> {
    let c = cmd(line);
    let info = table.lookup(&c)?;
    let mut out = Vec::new();
    let scan = info.for_each_key(&c, |_, k| out.push(String::from_utf8_lossy(k).into_owned()));
    (scan == KeyScan::Done).then_some(out)
}

fn check_facts(label: &str, t: &CommandTable) {
    let info = |line: &str| {
        t.lookup(&cmd(line))
            .unwrap_or_else(|| panic!("{label}: `{line}` not found"))
    };
    let keys = |line: &str| {
        keys_of(t, line).unwrap_or_else(|| panic!("{label}: keys of `{line}` unknown"))
    };
    let get = info("GET k");
    assert!(get.is_readonly() && !get.is_write(), "{label}: GET reads");
    assert_eq!(keys("GET k"), ["k"], "{label}");
    assert!(info("SET k v").is_write(), "{label}: SET writes");
    let c = cmd("MSET a 1 b 2 c 3");
    let mut idx = Vec::new();
    info("MSET a 1 b 2 c 3").for_each_key(&c, |i, _| idx.push(i));
    assert_eq!(idx, [1, 3, 5], "{label}: MSET key indices");
    assert_eq!(keys("DEL a b c"), ["a", "b", "c"], "{label}");
    assert_eq!(keys("SINTERCARD 2 a b LIMIT 1"), ["a", "b"], "{label}");
    assert_eq!(keys("LCS key1 key2"), ["key1", "key2"], "{label}");
    assert_eq!(
        keys("XREAD COUNT 2 STREAMS s1 s2 0 0"),
        ["s1", "s2"],
        "{label}"
    );
    assert_eq!(keys("EVAL script 2 k1 k2 a1"), ["k1", "k2"], "{label}");
    assert_eq!(
        keys("ZUNIONSTORE dst 2 a b WEIGHTS 1 2"),
        ["dst", "a", "b"],
        "{label}"
    );
    assert_eq!(
        keys("MIGRATE host port \"\" 0 5000 KEYS a b"),
        ["a", "b"],
        "{label}"
    );
    assert_eq!(keys("SORT k STORE dst"), ["k", "dst"], "{label}");
    assert_eq!(info("CLUSTER INFO").name(), "cluster|info", "{label}");
    assert!(keys("CLUSTER INFO").is_empty(), "{label}");
    assert_eq!(
        info("OBJECT ENCODING k").name(),
        "object|encoding",
        "{label}"
    );
    assert_eq!(keys("OBJECT ENCODING k"), ["k"], "{label}");
    assert_eq!(info("CONFIG GET maxmemory").name(), "config|get", "{label}");
    assert_eq!(info("config get maxmemory").name(), "config|get", "{label}");
    // An unknown subcommand falls back to the parent.
    assert_eq!(info("CONFIG NOSUCH").name(), "config", "{label}");
    assert_eq!(info("CONFIG").name(), "config", "{label}");

    let policies = |line: &str| {
        let i = info(line);
        (i.request_policy(), i.response_policy())
    };
    assert_eq!(policies("KEYS *"), (Some(Req::AllShards), None), "{label}");
    assert_eq!(
        policies("DBSIZE"),
        (Some(Req::AllShards), Some(Resp::AggSum)),
        "{label}"
    );
    // Redis 7.0.15 sends SCRIPT EXISTS to the primaries only (`all_shards`).
    assert_eq!(
        policies("SCRIPT EXISTS sha"),
        (Some(Req::AllShards), Some(Resp::AggLogicalAnd)),
        "{label}"
    );
    assert_eq!(
        policies("SCRIPT LOAD body"),
        (Some(Req::AllNodes), Some(Resp::AllSucceeded)),
        "{label}"
    );
    assert_eq!(
        policies("PING"),
        (Some(Req::AllShards), Some(Resp::AllSucceeded)),
        "{label}"
    );
    assert_eq!(policies("INFO").1, Some(Resp::Special), "{label}");
    assert_eq!(
        policies("DEL a"),
        (Some(Req::MultiShard), Some(Resp::AggSum)),
        "{label}"
    );
    assert_eq!(policies("MGET a").0, Some(Req::MultiShard), "{label}");
    assert_eq!(policies("SCAN 0").0, Some(Req::Special), "{label}");
    assert_eq!(policies("GET k"), (None, None), "{label}");

    for line in ["get k", "Get k", "gEt k"] {
        assert_eq!(info(line).name(), "get", "{label}");
    }
    assert!(t.lookup(&cmd("NOSUCHCOMMAND")).is_none(), "{label}");
    assert!(
        t.lookup(&cmd("GETGETGETGETGETGETGETGETGETGETGETGETGETGET"))
            .is_none(),
        "{label}"
    );
    assert!(info("BLPOP a 0").is_blocking(), "{label}: BLPOP blocks");
    assert!(info("XREAD STREAMS s 0").is_blocking(), "{label}");
    assert!(!info("GET k").is_blocking(), "{label}");
    assert!(info("SUBSCRIBE ch").is_pubsub(), "{label}");
    assert!(info("EVAL s 0").is_noscript(), "{label}");
    assert!(info("FLUSHALL").is_write(), "{label}");
    assert!(info("CONFIG SET a b").is_admin(), "{label}");
    assert!(info("EVAL s 0").has_movable_keys(), "{label}");
    let get = info("GET k");
    assert_eq!(get.arity(), 2, "{label}");
    assert!(get.accepts_argc(2) && !get.accepts_argc(3), "{label}");
    assert!(info("SET k v").accepts_argc(5), "{label}");
}

#[test]
fn facts_from_resp2_resp3_and_the_redis6_shape() {
    for (label, table) in tables() {
        check_facts(label, table);
    }
}

#[test]
fn resp2_and_resp3_give_the_same_table() {
    let t2 = CommandTable::from_reply(decode(RESP2)).unwrap();
    let t3 = CommandTable::from_reply(decode(RESP3)).unwrap();
    assert_same_tables(&t2, &t3);
}

/// Every command and subcommand of `t1` is in `t2`, alike; and they have as many commands.
fn assert_same_tables(t1: &CommandTable, t2: &CommandTable) {
    assert_eq!(t1.len(), t2.len());
    for a in t1.iter() {
        let b = t2.get(a.name()).unwrap();
        let same = |x: &super::CommandInfo, y: &super::CommandInfo| {
            assert_eq!(x.name, y.name);
            assert_eq!(x.arity, y.arity, "{}", x.name);
            assert_eq!(x.flags, y.flags, "{}", x.name);
            assert_eq!(x.tips, y.tips, "{}", x.name);
            assert_eq!(x.keys, y.keys, "{}", x.name);
        };
        same(a, b);
        for sub in a.subcommands.iter().flat_map(|s| s.values()) {
            same(sub, t2.get(sub.name()).unwrap());
        }
    }
}

/// `reply` as a reply kept undecoded, the way the client reads `COMMAND`.
fn undecoded(reply: &Value) -> WireReply {
    let mut wire = BytesMut::new();
    encode_value(reply, &mut wire);
    WireReply::new(wire.freeze())
}

#[test]
fn a_reply_read_undecoded_gives_the_same_table() {
    for fixture in [RESP2, RESP3] {
        let whole = CommandTable::from_reply(decode(fixture)).unwrap();
        let undecoded = CommandTable::from_wire(WireReply::new(Bytes::from_static(fixture)));
        assert_same_tables(&whole, &undecoded.unwrap());
    }
    let refused = Value::Error(ServerError::new(Bytes::from_static(b"NOPERM no")));
    let err = CommandTable::from_wire(undecoded(&refused)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    for not_commands in [Value::Int(3), Value::Map(vec![])] {
        let err = CommandTable::from_wire(undecoded(&not_commands)).unwrap_err();
        assert!(
            err.to_string().contains("expected an array of commands"),
            "{err}"
        );
    }
    // An entry that cannot be decoded is a protocol error of `COMMAND`.
    let broken = WireReply::new(Bytes::from_static(b"*2\r\n*0\r\n#x\r\n"));
    let err = CommandTable::from_wire(broken).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(err.command(), Some("COMMAND"));
}

/// The cases of `fixtures/getkeys-7.0.15.txt`.
fn getkeys_cases() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    GETKEYS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let l = l.split(" # ").next().unwrap();
            let (args, keys) = l.split_once(" =>").unwrap();
            (args, keys.split_whitespace().collect())
        })
}

#[test]
fn keys_match_the_servers_getkeys() {
    for (label, table) in tables() {
        let mut cases = 0;
        for (line, expected) in getkeys_cases() {
            let got = keys_of(table, line);
            assert_eq!(
                got.as_deref(),
                Some(&expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]),
                "{label}: `{line}`"
            );
            cases += 1;
        }
        assert!(cases > 70, "{cases} cases");
    }
}

#[test]
fn builtin_table_alone() {
    let t = CommandTable::builtin();
    assert!(t.len() > 150, "{} commands", t.len());
    for (line, expected) in getkeys_cases() {
        if line.starts_with("LCS") {
            continue;
        }
        let got = keys_of(&t, line).unwrap_or_else(|| panic!("`{line}` not in the built-in table"));
        assert_eq!(got, expected, "`{line}`");
    }
    // LCS is left out on purpose; a server's specs route it.
    assert!(t.lookup(&cmd("LCS a b")).is_none());
    let dbsize = t.lookup(&cmd("dbsize")).unwrap();
    assert_eq!(dbsize.request_policy(), Some(Req::AllShards));
    assert_eq!(dbsize.response_policy(), Some(Resp::AggSum));
    assert_eq!(
        t.lookup(&cmd("CLUSTER INFO")).unwrap().name(),
        "cluster|info"
    );
    assert!(t.lookup(&cmd("GET k")).unwrap().is_readonly());
    assert!(t.lookup(&cmd("BLPOP k 0")).unwrap().is_blocking());
}

#[test]
fn what_command_gives_beyond_the_builtin_table() {
    let reply = decode(RESP2);
    let table = CommandTable::from_reply(reply).unwrap();
    let builtin = CommandTable::builtin();
    let all: Vec<_> = table
        .iter()
        .flat_map(|c| std::iter::once(c).chain(c.subcommands.iter().flat_map(|s| s.values())))
        .collect();
    let with_specs = all
        .iter()
        .filter(|c| matches!(&c.keys, super::keys::KeySource::Specs(s) if !s.is_empty()))
        .count();
    let with_policy = all
        .iter()
        .filter(|c| c.request_policy().is_some() || c.response_policy().is_some())
        .count();
    let movable = all.iter().filter(|c| c.has_movable_keys()).count();
    let unknown_to_builtin: Vec<_> = all
        .iter()
        .filter(|c| builtin.get(c.name()).is_none())
        .map(|c| c.name())
        .collect();
    println!(
        "commands {} (+{} subcommands), keyed {with_specs}, with policy tips {with_policy}, \
         movablekeys {movable}; built-in knows {}; unknown to it: {}",
        table.len(),
        all.len() - table.len(),
        builtin.len(),
        unknown_to_builtin.len()
    );
    assert_eq!(table.len(), 240);
    assert_eq!(all.len(), 366);
}

#[test]
fn malformed_replies_are_protocol_errors() {
    let b = |s: &str| Value::Bulk(Bytes::copy_from_slice(s.as_bytes()));
    let entry = |fields: Vec<Value>| Value::Array(vec![Value::Array(fields)]);
    let good = || {
        vec![
            b("get"),
            Value::Int(2),
            Value::Array(vec![b("readonly")]),
            Value::Int(1),
            Value::Int(1),
            Value::Int(1),
        ]
    };
    let spec = |begin: Value, find: Value| {
        let mut f = good();
        f.extend([
            Value::Array(vec![]),
            Value::Array(vec![]),
            Value::Array(vec![Value::Array(vec![
                b("begin_search"),
                begin,
                b("find_keys"),
                find,
            ])]),
        ]);
        entry(f)
    };
    let index = |v: Value| {
        Value::Array(vec![
            b("type"),
            b("index"),
            b("spec"),
            Value::Array(vec![b("index"), v]),
        ])
    };
    let range = Value::Array(vec![
        b("type"),
        b("range"),
        b("spec"),
        Value::Array(vec![
            b("lastkey"),
            Value::Int(0),
            b("keystep"),
            Value::Int(1),
            b("limit"),
            Value::Int(0),
        ]),
    ]);
    let mut cases = vec![
        Value::Int(1),
        b("COMMAND"),
        Value::Array(vec![Value::Int(1)]),
        entry(good()[..5].to_vec()),
        entry({
            let mut f = good();
            f[1] = b("2");
            f
        }),
        entry({
            let mut f = good();
            f[2] = b("readonly");
            f
        }),
        entry({
            let mut f = good();
            f[0] = Value::Int(3);
            f
        }),
        spec(index(b("one")), range.clone()),
        spec(Value::Array(vec![b("type")]), range.clone()),
        spec(Value::Array(vec![b("type"), b("index")]), range.clone()),
        spec(index(Value::Int(1)), Value::Nil),
    ];
    // Subcommands nested deeper than any server nests them.
    let mut deep = good();
    for _ in 0..4 {
        let mut parent = good();
        parent.extend([
            Value::Array(vec![]),
            Value::Array(vec![]),
            Value::Array(vec![]),
            Value::Array(vec![Value::Array(deep)]),
        ]);
        deep = parent;
    }
    cases.push(entry(deep));
    for (i, reply) in cases.into_iter().enumerate() {
        let e = CommandTable::from_reply(reply).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "case {i}: {e}");
    }
    // A refused COMMAND is the server's error, for the caller to fall back on `builtin()`.
    let refused = Value::Error(ServerError::new(Bytes::from_static(b"NOPERM no")));
    assert_eq!(
        CommandTable::from_reply(refused).unwrap_err().kind(),
        ErrorKind::Auth
    );
    // Unknown spec types are not errors: the command's keys are left to the server.
    let unknown = spec(
        Value::Array(vec![
            b("type"),
            b("pattern"),
            b("spec"),
            Value::Array(vec![]),
        ]),
        range,
    );
    let t = CommandTable::from_reply(unknown).unwrap();
    let c = cmd("GET k");
    assert_eq!(
        t.lookup(&c).unwrap().for_each_key(&c, |_, _| {}),
        KeyScan::Unknown
    );
}

#[test]
fn lookup_speed() {
    let t = CommandTable::from_reply(decode(RESP3)).unwrap();
    let cmds = [
        cmd("GET k"),
        cmd("set k v"),
        cmd("CLUSTER INFO"),
        cmd("hgetall h"),
    ];
    let n = 200_000;
    let start = std::time::Instant::now();
    let mut found = 0;
    for i in 0..n {
        if t.lookup(&cmds[i % cmds.len()]).is_some() {
            found += 1;
        }
    }
    let per = start.elapsed() / n as u32;
    assert_eq!(found, n);
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("lookup: {per:?} per command ({build} build)");
}

/// Commands whose keys depend on their arguments, and a fixed one.
const SHAPES: [&str; 9] = [
    "EVAL",
    "ZUNIONSTORE",
    "XREAD",
    "XREADGROUP",
    "MIGRATE",
    "SORT",
    "GEORADIUS",
    "MSET",
    "LMPOP",
];

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "STREAMS",
            "streams",
            "STORE",
            "STOREDIST",
            "KEYS",
            "AUTH",
            "AUTH2",
            "LIMIT",
            "BY",
            "GET",
            "0",
            "1",
            "2",
            "3",
            "-1",
            "99999999999999999999",
            "",
            "x",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..4),
    ]
}

proptest! {
    #[test]
    fn hostile_arguments_never_panic(
        which in 0..SHAPES.len(),
        args in prop::collection::vec(arg(), 0..12),
    ) {
        for (_, table) in tables() {
            let mut c = Cmd::new(SHAPES[which]);
            for a in &args {
                c.push_bytes(a);
            }
            let info = table.lookup(&c).unwrap();
            let mut last = 0;
            info.for_each_key(&c, |i, k| {
                assert!(i > last && i < c.argc(), "index {i} after {last}");
                assert_eq!(c.arg_at(i), Some(k));
                last = i;
            });
        }
    }

    #[test]
    fn any_reply_shape_is_an_error_or_a_table(reply in value()) {
        let _ = CommandTable::from_reply(reply);
    }

    #[test]
    fn any_reply_shape_reads_alike_undecoded(reply in value()) {
        let undecoded = CommandTable::from_wire(undecoded(&reply));
        match (CommandTable::from_reply(reply), undecoded) {
            (Ok(whole), Ok(undecoded)) => assert_same_tables(&whole, &undecoded),
            (Err(a), Err(b)) => prop_assert_eq!(
                (a.kind(), a.to_string()),
                (b.kind(), b.to_string())
            ),
            (a, b) => prop_assert!(false, "{a:?} decoded, {b:?} undecoded"),
        }
    }
}

/// Small replies built from the pieces a `COMMAND` reply is made of.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        (-3i64..12).prop_map(Value::Int),
        prop::sample::select(vec![
            "get",
            "readonly",
            "movablekeys",
            "flags",
            "begin_search",
            "find_keys",
            "type",
            "spec",
            "index",
            "keyword",
            "range",
            "keynum",
            "lastkey",
            "keystep",
            "limit",
            "keynumidx",
            "firstkey",
            "startfrom",
            "incomplete",
            "request_policy:all_shards",
        ])
        .prop_map(|s| Value::Bulk(Bytes::from_static(s.as_bytes()))),
    ];
    leaf.prop_recursive(5, 64, 10, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..11).prop_map(Value::Array),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Set),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
        ]
    })
}
