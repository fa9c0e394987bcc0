//! Test support for the topology module: the captured replies in `fixtures/`, builders for
//! hand-made replies and views, and generators of arbitrary RESP values.
//!
//! Only compiled for tests. It holds no assertions of its own; the tests live next to the code
//! they check.
//!
//! The fixtures are raw RESP bytes read off the socket from redis-server 7.0.15 running a
//! cluster of 3 primaries with 1 replica each on 127.0.0.1, every reply from the node at port
//! 44665 (node0). File names say the command, the situation and the protocol version:
//!
//! - `shards_resp2`, `shards_resp3`, `slots_resp2`, `slots_resp3`: the healthy cluster;
//! - `shards_hostname_resp3`, `slots_hostname_resp2`: every node announcing
//!   `nodeN.cluster.test`, hostnames preferred as endpoints;
//! - `shards_unknown_endpoint_resp2`, `slots_unknown_endpoint_resp3`:
//!   `cluster-preferred-endpoint-type unknown-endpoint`;
//! - `shards_failed_replica_resp2`, `slots_failed_replica_resp2`: replica 43565 killed and
//!   marked failed;
//! - `shards_after_failover_resp3`, `slots_after_failover_resp2`: then primary 46535 killed and
//!   replaced by its replica 42543.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::view::{ClusterView, NodeDesc, ShardDesc};
use crate::error::Result;
use crate::protocol::{encode_value, Decoder, Value, WireReply};

/// The host every fixture node runs on.
pub(crate) const HOST: &str = "127.0.0.1";
/// The port of the node that answered every fixture.
pub(crate) const ANSWERED_PORT: u16 = 44665;

/// The fixture nodes: `(id, port, announced hostname)`.
pub(crate) const NODE0: (&str, u16, &str) = (
    "46326b07edc71d29d8e01446e240dffb91087cc1",
    44665,
    "node0.cluster.test",
);
pub(crate) const NODE1: (&str, u16, &str) = (
    "30c3accb286d317ed3d12cabb5e374ff26252a8d",
    46535,
    "node1.cluster.test",
);
pub(crate) const NODE2: (&str, u16, &str) = (
    "8190bcb017411dc5eecb1172dc1b219e0d98a25c",
    42407,
    "node2.cluster.test",
);
pub(crate) const NODE3: (&str, u16, &str) = (
    "158c758b742ffba7723b56606d0526d5f1e634c7",
    43565,
    "node3.cluster.test",
);
pub(crate) const NODE4: (&str, u16, &str) = (
    "029d67a935f7867a9f498328a4dcaf32080d5abf",
    42543,
    "node4.cluster.test",
);
pub(crate) const NODE5: (&str, u16, &str) = (
    "9086e013aebc1b36b5d622b886cbcaeda5428a8d",
    42111,
    "node5.cluster.test",
);

/// Decodes one captured reply; the whole file must be exactly one value.
pub(crate) fn fixture(bytes: &[u8]) -> Value {
    let mut buf = BytesMut::from(bytes);
    let value = Decoder::new()
        .decode(&mut buf)
        .expect("fixture is valid RESP")
        .expect("fixture is a complete reply");
    assert!(buf.is_empty(), "fixture holds exactly one reply");
    value
}

/// Every fixture, by file name.
pub(crate) fn all_fixtures() -> Vec<(&'static str, Value)> {
    macro_rules! load {
        ($($name:literal),* $(,)?) => {
            vec![$(($name, fixture(include_bytes!(concat!("fixtures/", $name, ".resp"))))),*]
        };
    }
    load!(
        "shards_resp2",
        "shards_resp3",
        "slots_resp2",
        "slots_resp3",
        "shards_hostname_resp3",
        "slots_hostname_resp2",
        "shards_unknown_endpoint_resp2",
        "slots_unknown_endpoint_resp3",
        "shards_failed_replica_resp2",
        "slots_failed_replica_resp2",
        "shards_after_failover_resp3",
        "slots_after_failover_resp2",
    )
}

/// The fixture named `name`.
pub(crate) fn named(name: &str) -> Value {
    all_fixtures()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// `value` as a reply kept undecoded, the way the client reads discovery replies.
pub(crate) fn undecoded(value: &Value) -> WireReply {
    let mut wire = BytesMut::new();
    encode_value(value, &mut wire);
    WireReply::new(wire.freeze())
}

/// What a parse came to, comparable: the view, or the error's kind and text.
pub(crate) fn outcome(parsed: Result<ClusterView>) -> std::result::Result<ClusterView, String> {
    parsed.map_err(|e| format!("{:?}: {e}", e.kind()))
}

/// A fixture node at `host`, online.
pub(crate) fn fixture_node((id, port, _): (&str, u16, &str), host: &str) -> NodeDesc {
    NodeDesc {
        id: id.to_owned(),
        host: host.to_owned(),
        port,
        online: true,
    }
}

/// The healthy fixture cluster with every node at `host(node)`.
pub(crate) fn fixture_view(host: impl Fn((&str, u16, &str)) -> String) -> ClusterView {
    let n = |node: (&str, u16, &str)| fixture_node(node, &host(node));
    ClusterView {
        shards: vec![
            shard(&[(0, 5460)], n(NODE0), &[n(NODE3)]),
            shard(&[(5461, 10921)], n(NODE1), &[n(NODE4)]),
            shard(&[(10922, 16383)], n(NODE2), &[n(NODE5)]),
        ],
    }
}

/// A bulk string.
pub(crate) fn bulk(text: &str) -> Value {
    Value::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

/// An integer.
pub(crate) fn int(i: i64) -> Value {
    Value::Int(i)
}

/// A RESP2-style record: a flat array of alternating keys and values.
pub(crate) fn flat(fields: Vec<(&str, Value)>) -> Value {
    Value::Array(fields.into_iter().flat_map(|(k, v)| [bulk(k), v]).collect())
}

/// A RESP3-style record: a map.
pub(crate) fn map(fields: Vec<(&str, Value)>) -> Value {
    Value::Map(fields.into_iter().map(|(k, v)| (bulk(k), v)).collect())
}

/// A node at 127.0.0.1, online.
pub(crate) fn node(id: &str, port: u16) -> NodeDesc {
    NodeDesc {
        id: id.to_owned(),
        host: HOST.to_owned(),
        port,
        online: true,
    }
}

/// A shard.
pub(crate) fn shard(slots: &[(u16, u16)], primary: NodeDesc, replicas: &[NodeDesc]) -> ShardDesc {
    ShardDesc {
        slots: slots.to_vec(),
        primary,
        replicas: replicas.to_vec(),
    }
}

/// Any RESP value, nested a few levels, with strings biased towards the words discovery
/// replies use so that generated values get past the first checks now and then.
pub(crate) fn arbitrary_value() -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        Just("slots"),
        Just("nodes"),
        Just("id"),
        Just("port"),
        Just("tls-port"),
        Just("ip"),
        Just("endpoint"),
        Just("hostname"),
        Just("role"),
        Just("master"),
        Just("replica"),
        Just("health"),
        Just("online"),
        Just("?"),
        Just(""),
        Just("127.0.0.1"),
        Just("16383"),
    ];
    let leaf = prop_oneof![
        Just(Value::Nil),
        word.clone().prop_map(bulk),
        word.prop_map(|w| Value::SimpleString(Bytes::copy_from_slice(w.as_bytes()))),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(|b| Value::Bulk(Bytes::from(b))),
        prop_oneof![-2i64..17000, any::<i64>()].prop_map(Value::Int),
        any::<f64>().prop_map(Value::Double),
        any::<bool>().prop_map(Value::Boolean),
        Just(Value::Error(crate::protocol::ServerError::new(
            Bytes::from_static(b"ERR nope")
        ))),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Set),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..6).prop_map(Value::Map),
            (inner.clone(), inner).prop_map(|(a, v)| Value::Attribute {
                attributes: vec![(a, Value::Nil)],
                value: Box::new(v),
            }),
        ]
    })
}

/// Replaces the `n`-th value of `root` in pre-order (the root is 0) with `with`; returns whether
/// there were that many values.
pub(crate) fn replace_nth(root: &mut Value, n: usize, with: Value) -> bool {
    fn walk(v: &mut Value, n: &mut usize, with: &mut Option<Value>) -> bool {
        if *n == 0 {
            if let Some(w) = with.take() {
                *v = w;
            }
            return true;
        }
        *n -= 1;
        match v {
            Value::Array(items) | Value::Set(items) | Value::Push(items) => {
                items.iter_mut().any(|item| walk(item, n, with))
            }
            Value::Map(pairs) => pairs
                .iter_mut()
                .any(|(k, v)| walk(k, n, with) || walk(v, n, with)),
            Value::Attribute { value, .. } => walk(value, n, with),
            _ => false,
        }
    }
    let mut n = n;
    walk(root, &mut n, &mut Some(with))
}
