//! Reading a `CLUSTER SHARDS` reply (Redis 7 and later) into a [`ClusterView`].
//!
//! Owns the shard and node records in both encodings (RESP2 flat key/value arrays, RESP3 maps),
//! the meaning of `role` and `health`, which node is a shard's primary, and which shards are
//! kept. It does not choose among views or index slots (`view.rs`, `map.rs`), and the endpoint
//! rules are in `endpoint.rs`.

use super::endpoint::{client_port, Endpoint, NodeAddress, Origin, Resolver};
use super::reply::{self, Malformed, Parsed};
use super::view::{ClusterView, NodeDesc, ShardDesc, MAX_SHARDS};
use crate::error::Result;
use crate::protocol::{Value, WireReply};

const COMMAND: &str = "CLUSTER SHARDS";

#[cfg(test)]
/// Parses a `CLUSTER SHARDS` reply (RESP2 or RESP3) read from a node at `answered_host`.
///
/// The same as [`parse_shards_from`] without the port, so the node that answered cannot be
/// recognised: a `?` endpoint then resolves to the node's IP for every node. Prefer
/// [`parse_shards_from`] when the port is at hand.
pub(crate) fn parse_shards(reply: Value, answered_host: &str) -> Result<ClusterView> {
    parse_shards_from(reply, Origin::host_only(answered_host))
}

/// Parses a `CLUSTER SHARDS` reply (RESP2 or RESP3) read from `origin`, kept as it came: one
/// shard's values are decoded at a time, and the reply is dropped once every shard is read,
/// before the view is put together.
///
/// - **Hosts**: each node's `endpoint` when it names one; an empty endpoint (the server's
///   `unknown-endpoint` setting) means `origin`'s host for every node; `?` means `origin`'s
///   host for the node that answered and the node's `ip` (when real) for the others. `hostname`
///   is not used apart from `endpoint`: when hostnames are preferred the server already puts
///   the hostname there, and `?` means there is none.
/// - **Ports**: `port`, or `tls-port` for a node that has no plain-text port; for an `origin`
///   reached with TLS the other way round (a node with both listeners lists both).
/// - **Health**: `online` and `loading` count as online; `fail`/`failed` or anything else gives
///   `online = false`. Such nodes are kept: the cluster decides not to read from them. Redis 7.0
///   reports every replica as `loading` until its primary has taken a write (replication offset
///   0), so `loading` cannot mean "unusable"; a node that really is loading answers `LOADING`,
///   which the dispatcher handles by reading from the primary.
/// - **Primaries**: a shard's primary is its first online `master`, else its first `master`
///   (a failed primary still heads its shard, so its slots are not silently dropped). Any other
///   `master` listed in the same shard becomes a shard of its own without slots.
/// - **Kept shards**: every shard with a primary, with or without slots: a primary without slots
///   (e.g. a failed primary after its replica took over) still belongs in node lists. A shard
///   with no primary at all is dropped, and its slots show up as uncovered: no node can serve
///   them.
///
/// The view is returned in canonical form ([`ClusterView::normalized`]). Unknown fields are
/// ignored, so newer servers can add some.
///
/// # Errors
///
/// An error reply becomes the server's error (e.g. `ERR unknown subcommand` from Redis 6: fall
/// back to `CLUSTER SLOTS`). Anything else that cannot be read, a slot over 16383, a range that
/// starts after it ends, a node without an id, port or role, is an
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) error naming the shard, node and problem.
pub(crate) fn parse_shards_wire(reply: WireReply, origin: Origin<'_>) -> Result<ClusterView> {
    parse_shards_elements(reply::top_level_elements(reply, COMMAND)?, origin)
}

#[cfg(test)]
/// [`parse_shards_wire`] for a reply decoded already.
pub(crate) fn parse_shards_from(reply: Value, origin: Origin<'_>) -> Result<ClusterView> {
    let items = reply::top_level(reply, COMMAND)?;
    parse_shards_elements(items.into_iter().map(Ok), origin)
}

fn parse_shards_elements(
    items: impl Iterator<Item = Result<Value>>,
    origin: Origin<'_>,
) -> Result<ClusterView> {
    let raw = raw_shards(items, origin.tls)?;
    let resolver = Resolver::new(
        origin,
        raw.iter()
            .flat_map(|s: &RawShard| s.nodes.iter().map(|n| &n.address)),
    );
    let mut shards = Vec::with_capacity(raw.len());
    for shard in raw {
        assemble(shard, &resolver, &mut shards);
    }
    if shards.len() > MAX_SHARDS {
        return Err(
            Malformed::new(format!("{} shards, more than {MAX_SHARDS}", shards.len()))
                .into_error(COMMAND),
        );
    }
    reply::disjoint(ClusterView { shards }.normalized(), COMMAND)
}

/// Reads every shard record, taking `items` (and what they hold of the reply) with it.
fn raw_shards(items: impl Iterator<Item = Result<Value>>, tls: bool) -> Result<Vec<RawShard>> {
    let mut raw = Vec::new();
    for (i, item) in items.enumerate() {
        let shard = raw_shard(item?, tls)
            .map_err(|m| m.at(format_args!("shard {i}")).into_error(COMMAND))?;
        raw.push(shard);
    }
    Ok(raw)
}

/// A shard as listed, before hosts are chosen.
struct RawShard {
    slots: Vec<(u16, u16)>,
    nodes: Vec<RawNode>,
}

/// A node as listed, before its host is chosen.
struct RawNode {
    address: NodeAddress,
    is_primary: bool,
    online: bool,
}

/// Reads one shard record: its `slots` and `nodes`; other fields are skipped. `tls` picks the
/// port of nodes that list two.
fn raw_shard(value: Value, tls: bool) -> Parsed<RawShard> {
    let mut slots = None;
    let mut nodes = None;
    for (key, value) in reply::record(value)? {
        match reply::text(&key)? {
            "slots" => slots = Some(slot_ranges(value).map_err(|m| m.at("slots"))?),
            "nodes" => {
                let list = reply::list(value).map_err(|m| m.at("nodes"))?;
                let mut parsed = Vec::with_capacity(list.len());
                for (i, node) in list.into_iter().enumerate() {
                    parsed.push(raw_node(node, tls).map_err(|m| m.at(format_args!("node {i}")))?);
                }
                nodes = Some(parsed);
            }
            _ => {}
        }
    }
    Ok(RawShard {
        slots: slots.ok_or_else(|| Malformed::new("no `slots` field"))?,
        nodes: nodes.ok_or_else(|| Malformed::new("no `nodes` field"))?,
    })
}

/// A flat list of range bounds: `start, end, start, end, …`.
fn slot_ranges(value: Value) -> Parsed<Vec<(u16, u16)>> {
    let bounds = reply::list(value)?;
    if bounds.len() % 2 != 0 {
        return Err(Malformed::new(format!(
            "{} range bounds, not pairs",
            bounds.len()
        )));
    }
    bounds
        .chunks_exact(2)
        .map(|pair| match pair {
            [start, end] => reply::slot_range(start, end),
            _ => Err(Malformed::new("range bounds are not pairs")),
        })
        .collect()
}

/// Reads one node record; fields this crate has no use for are skipped.
fn raw_node(value: Value, tls: bool) -> Parsed<RawNode> {
    let mut id = None;
    let mut port = None;
    let mut tls_port = None;
    let mut ip = None;
    let mut endpoint = None;
    let mut role = None;
    let mut online = true;
    for (key, value) in reply::record(value)? {
        let key = reply::text(&key)?;
        let field = |m: Malformed| m.at(format_args!("`{key}`"));
        match key {
            "id" => id = Some(reply::string(&value).map_err(field)?),
            "port" => port = Some(reply::port(&value).map_err(field)?),
            "tls-port" => tls_port = Some(reply::port(&value).map_err(field)?),
            "ip" => ip = reply::nullable_string(&value).map_err(field)?,
            "endpoint" => {
                endpoint = Some(Endpoint::from_reply(
                    reply::nullable_string(&value).map_err(field)?,
                ));
            }
            "role" => {
                role = Some(match reply::text(&value).map_err(field)? {
                    "master" | "primary" => true,
                    "replica" | "slave" => false,
                    other => return Err(Malformed::new(format!("unknown role {other:?}"))),
                });
            }
            "health" => {
                online = matches!(reply::text(&value).map_err(field)?, "online" | "loading")
            }
            _ => {}
        }
    }
    let id = id.ok_or_else(|| Malformed::new("no `id` field"))?;
    // Zero means "no such listener" (a TLS-only node reports its plain port as absent or 0).
    let port = client_port(port, tls_port, tls)
        .ok_or_else(|| Malformed::new(format!("node {id:?} has no `port` or `tls-port`")))?;
    let is_primary = role.ok_or_else(|| Malformed::new(format!("node {id:?} has no `role`")))?;
    Ok(RawNode {
        address: NodeAddress {
            id,
            port,
            endpoint: endpoint.unwrap_or(Endpoint::Unknown),
            ip,
        },
        is_primary,
        online,
    })
}

/// Turns one listed shard into zero or more shards (see [`parse_shards_wire`] for the rules).
fn assemble(shard: RawShard, resolver: &Resolver<'_>, out: &mut Vec<ShardDesc>) {
    let describe = |node: &RawNode| NodeDesc {
        id: node.address.id.clone(),
        host: resolver.host(&node.address),
        port: node.address.port,
        online: node.online,
    };
    let (mut primaries, replicas): (Vec<RawNode>, Vec<RawNode>) =
        shard.nodes.into_iter().partition(|n| n.is_primary);
    // The first online master, else the first master. With none at all no node can serve these
    // slots: they are left uncovered rather than given to a guessed owner.
    let first_online = primaries.iter().position(|n| n.online);
    let Some(chosen) = first_online.or((!primaries.is_empty()).then_some(0)) else {
        return;
    };
    let primary = primaries.remove(chosen);
    out.push(ShardDesc {
        slots: shard.slots,
        primary: describe(&primary),
        replicas: replicas.iter().map(describe).collect(),
    });
    for other in &primaries {
        out.push(ShardDesc {
            slots: Vec::new(),
            primary: describe(other),
            replicas: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::topology::test_replies::*;
    use proptest::prelude::*;

    fn parse_fixture(name: &str, host: &str) -> ClusterView {
        parse_shards_from(named(name), Origin::new(host, ANSWERED_PORT))
            .unwrap_or_else(|e| panic!("{name} should parse: {e}"))
    }

    #[test]
    fn resp2_and_resp3_fixtures_give_the_same_view() {
        let expected = fixture_view(|_| HOST.to_owned());
        assert_eq!(parse_fixture("shards_resp2", HOST), expected);
        assert_eq!(parse_fixture("shards_resp3", HOST), expected);
        assert_eq!(
            parse_shards(named("shards_resp3"), HOST).unwrap(),
            expected,
            "without the port"
        );
    }

    #[test]
    fn hostname_endpoints_are_used() {
        let expected = fixture_view(|(_, _, hostname)| hostname.to_owned());
        assert_eq!(parse_fixture("shards_hostname_resp3", HOST), expected);
    }

    #[test]
    fn empty_endpoints_mean_the_dialled_host_for_every_node() {
        // 7.0 sends `endpoint` "" under `cluster-preferred-endpoint-type unknown-endpoint`,
        // while each node's `ip` is still 127.0.0.1.
        let expected = fixture_view(|_| "lb.example".to_owned());
        assert_eq!(
            parse_fixture("shards_unknown_endpoint_resp2", "lb.example"),
            expected
        );
    }

    #[test]
    fn a_failed_replica_is_kept_offline() {
        let mut expected = fixture_view(|_| HOST.to_owned());
        expected.shards[0].replicas[0].online = false;
        assert_eq!(parse_fixture("shards_failed_replica_resp2", HOST), expected);
    }

    #[test]
    fn after_failover_the_old_primary_is_a_slotless_offline_shard() {
        let view = parse_fixture("shards_after_failover_resp3", HOST);
        let n = |node| fixture_node(node, HOST);
        let mut old = n(NODE1);
        old.online = false;
        let mut dead_replica = n(NODE3);
        dead_replica.online = false;
        assert_eq!(
            view,
            ClusterView {
                shards: vec![
                    shard(&[(0, 5460)], n(NODE0), &[dead_replica]),
                    shard(&[(5461, 10921)], n(NODE4), &[]),
                    shard(&[(10922, 16383)], n(NODE2), &[n(NODE5)]),
                    shard(&[], old, &[]),
                ]
            }
        );
    }

    /// A node record in RESP2 form.
    fn node_record(
        id: &str,
        port: i64,
        ip: &str,
        endpoint: &str,
        role: &str,
        health: &str,
    ) -> Value {
        flat(vec![
            ("id", bulk(id)),
            ("port", int(port)),
            ("ip", bulk(ip)),
            ("endpoint", bulk(endpoint)),
            ("role", bulk(role)),
            ("replication-offset", int(0)),
            ("health", bulk(health)),
        ])
    }

    fn shard_record(slots: &[i64], nodes: Vec<Value>) -> Value {
        flat(vec![
            (
                "slots",
                Value::Array(slots.iter().map(|&s| int(s)).collect()),
            ),
            ("nodes", Value::Array(nodes)),
        ])
    }

    #[test]
    fn question_mark_endpoints() {
        let reply = Value::Array(vec![
            shard_record(
                &[0, 8191],
                vec![
                    node_record("a", 7000, "10.0.0.1", "?", "master", "online"),
                    node_record("a1", 7002, "10.0.0.3", "?", "replica", "online"),
                ],
            ),
            shard_record(
                &[8192, 16383],
                vec![
                    node_record("b", 7001, "?", "?", "master", "online"),
                    node_record("b1", 7003, "", "?", "replica", "loading"),
                ],
            ),
        ]);
        let view = parse_shards_from(reply, Origin::new("public.example", 7000)).unwrap();
        let hosts: Vec<(&str, &str)> = view
            .shards
            .iter()
            .flat_map(|s| std::iter::once(&s.primary).chain(&s.replicas))
            .map(|n| (n.id.as_str(), n.host.as_str()))
            .collect();
        assert_eq!(
            hosts,
            [
                ("a", "public.example"),
                ("a1", "10.0.0.3"),
                ("b", "public.example"),
                ("b1", "public.example"),
            ],
            "the answering node where we reached it, the others at their IP when they have one"
        );
        assert!(
            view.shards[1].replicas[0].online,
            "loading counts as online (Redis 7.0 says it of every fresh replica)"
        );
    }

    #[test]
    fn the_online_master_heads_a_shard_with_two() {
        let reply = Value::Array(vec![shard_record(
            &[0, 16383],
            vec![
                node_record("old", 7000, "10.0.0.1", "10.0.0.1", "master", "failed"),
                node_record("new", 7001, "10.0.0.2", "10.0.0.2", "master", "online"),
                node_record("r", 7002, "10.0.0.3", "10.0.0.3", "replica", "online"),
            ],
        )]);
        let view = parse_shards(reply, "10.0.0.1").unwrap();
        assert_eq!(view.shards.len(), 2);
        assert_eq!(view.shards[0].primary.id, "new");
        assert_eq!(view.shards[0].slots, [(0, 16383)]);
        assert_eq!(view.shards[0].replicas.len(), 1);
        assert_eq!(view.shards[1].primary.id, "old");
        assert!(view.shards[1].slots.is_empty());
        assert!(!view.shards[1].primary.online);
    }

    #[test]
    fn a_failed_primary_still_heads_its_shard() {
        let reply = Value::Array(vec![shard_record(
            &[0, 16383],
            vec![
                node_record("r", 7002, "10.0.0.3", "10.0.0.3", "replica", "online"),
                node_record("p", 7000, "10.0.0.1", "10.0.0.1", "master", "fail"),
            ],
        )]);
        let view = parse_shards(reply, "10.0.0.1").unwrap();
        assert_eq!(view.shards.len(), 1);
        assert_eq!(view.shards[0].primary.id, "p");
        assert!(!view.shards[0].primary.online);
        assert_eq!(view.shards[0].slots, [(0, 16383)]);
    }

    #[test]
    fn a_shard_without_primary_is_dropped() {
        let reply = Value::Array(vec![
            shard_record(
                &[0, 99],
                vec![node_record("r", 7002, "h", "h", "replica", "online")],
            ),
            shard_record(&[100, 200], vec![]),
            shard_record(
                &[201, 16383],
                vec![node_record("p", 7000, "h", "h", "master", "online")],
            ),
        ]);
        let view = parse_shards(reply, "h").unwrap();
        assert_eq!(view.shards.len(), 1);
        assert_eq!(view.shards[0].primary.id, "p");
    }

    #[test]
    fn ports_fall_back_to_tls_port_and_unknown_fields_are_ignored() {
        let node = map(vec![
            ("id", bulk("t")),
            ("port", int(0)),
            ("tls-port", int(7443)),
            ("ip", bulk("10.0.0.1")),
            ("endpoint", bulk("tls.example")),
            ("hostname", bulk("tls.example")),
            ("role", bulk("master")),
            ("availability-zone", bulk("az-1")),
            ("health", bulk("online")),
        ]);
        let shard = map(vec![
            (
                "slots",
                Value::Array(vec![int(0), int(10), int(11), int(16383)]),
            ),
            ("nodes", Value::Array(vec![node])),
            ("shard-id", bulk("whatever")),
        ]);
        let reply = Value::Attribute {
            attributes: vec![],
            value: Box::new(Value::Array(vec![shard])),
        };
        let view = parse_shards(reply, "x").unwrap();
        assert_eq!(view.shards[0].primary.port, 7443);
        assert_eq!(view.shards[0].primary.host, "tls.example");
        assert_eq!(view.shards[0].slots, [(0, 16383)], "adjacent ranges merged");
    }

    #[test]
    fn nodes_with_both_listeners_are_reached_on_the_clients_kind_of_port() {
        // As redis-server 7.0 lists nodes with `port` and `tls-port` open, whoever asks.
        let node = |id: &str, port: i64, endpoint: &str, role: &str| {
            flat(vec![
                ("id", bulk(id)),
                ("port", int(port)),
                ("tls-port", int(port + 1000)),
                ("ip", bulk("10.0.0.1")),
                ("endpoint", bulk(endpoint)),
                ("role", bulk(role)),
                ("health", bulk("online")),
            ])
        };
        let reply = || {
            Value::Array(vec![
                shard_record(
                    &[0, 8191],
                    vec![
                        node("a", 7000, "?", "master"),
                        node("a1", 7002, "10.0.0.3", "replica"),
                    ],
                ),
                shard_record(&[8192, 16383], vec![node("b", 7001, "10.0.0.2", "master")]),
            ])
        };
        let addresses = |view: &ClusterView| -> Vec<(String, String, u16)> {
            view.shards
                .iter()
                .flat_map(|s| std::iter::once(&s.primary).chain(&s.replicas))
                .map(|n| (n.id.clone(), n.host.clone(), n.port))
                .collect()
        };
        let plain = parse_shards_from(reply(), Origin::new("public.example", 7000)).unwrap();
        assert_eq!(
            addresses(&plain),
            [
                ("a".into(), "public.example".into(), 7000),
                ("a1".into(), "10.0.0.3".into(), 7002),
                ("b".into(), "10.0.0.2".into(), 7001),
            ],
            "a plain-text client dials `port`"
        );
        let tls_origin = Origin::new("public.example", 8000).over_tls(true);
        let tls = parse_shards_from(reply(), tls_origin).unwrap();
        assert_eq!(
            addresses(&tls),
            [
                ("a".into(), "public.example".into(), 8000),
                ("a1".into(), "10.0.0.3".into(), 8002),
                ("b".into(), "10.0.0.2".into(), 8001),
            ],
            "a TLS client dials `tls-port`, and knows the node it reached there"
        );
    }

    #[test]
    fn a_tls_client_takes_the_plain_port_of_a_node_without_tls_port() {
        let reply = Value::Array(vec![shard_record(
            &[0, 16383],
            vec![node_record("a", 7000, "h", "h", "master", "online")],
        )]);
        let view = parse_shards_from(reply, Origin::new("h", 7000).over_tls(true)).unwrap();
        assert_eq!(view.shards[0].primary.port, 7000);
    }

    #[test]
    fn malformed_replies_are_protocol_errors_that_say_what_is_wrong() {
        let good_node = || node_record("a", 7000, "h", "h", "master", "online");
        let cases: Vec<(Value, &str)> = vec![
            (bulk("OK"), "expected an array, got bulk string"),
            (
                Value::Array(vec![int(1)]),
                "shard 0: expected a map or a key/value array",
            ),
            (
                Value::Array(vec![Value::Array(vec![bulk("slots")])]),
                "shard 0: a key/value array has an odd length (1)",
            ),
            (
                Value::Array(vec![flat(vec![("nodes", Value::Array(vec![good_node()]))])]),
                "no `slots` field",
            ),
            (
                Value::Array(vec![flat(vec![("slots", Value::Array(vec![]))])]),
                "no `nodes` field",
            ),
            (
                Value::Array(vec![shard_record(&[0], vec![good_node()])]),
                "slots: 1 range bounds, not pairs",
            ),
            (
                Value::Array(vec![shard_record(&[0, 16384], vec![good_node()])]),
                "slots: slot 16384 is out of range",
            ),
            (
                Value::Array(vec![shard_record(&[10, 5], vec![good_node()])]),
                "slot range 10-5 starts after it ends",
            ),
            (
                Value::Array(vec![shard_record(
                    &[0, 1],
                    vec![flat(vec![("port", int(1)), ("role", bulk("master"))])],
                )]),
                "shard 0: node 0: no `id` field",
            ),
            (
                Value::Array(vec![shard_record(
                    &[0, 1],
                    vec![flat(vec![("id", bulk("a")), ("role", bulk("master"))])],
                )]),
                "node \"a\" has no `port` or `tls-port`",
            ),
            (
                Value::Array(vec![shard_record(
                    &[0, 1],
                    vec![flat(vec![("id", bulk("a")), ("port", int(1))])],
                )]),
                "node \"a\" has no `role`",
            ),
            (
                Value::Array(vec![shard_record(
                    &[0, 1],
                    vec![node_record("a", 7000, "h", "h", "arbiter", "online")],
                )]),
                "unknown role \"arbiter\"",
            ),
            (
                Value::Array(vec![shard_record(
                    &[0, 1],
                    vec![node_record("a", 70000, "h", "h", "master", "online")],
                )]),
                "`port`: port 70000 is out of range",
            ),
            (
                Value::Array(vec![shard_record(
                    &[0, 1],
                    vec![flat(vec![("id", int(5))])],
                )]),
                "`id`: expected a string, got integer",
            ),
        ];
        for (reply, expected) in cases {
            let shown = format!("{reply:?}");
            let err = parse_shards(reply, "h").expect_err(&shown);
            assert_eq!(err.kind(), ErrorKind::Protocol, "{shown}: {err}");
            let text = err.to_string();
            assert!(
                text.contains("malformed CLUSTER SHARDS reply") && text.contains(expected),
                "for {shown} expected an error containing {expected:?}, got {text:?}"
            );
        }
    }

    #[test]
    fn an_error_reply_is_the_servers_error() {
        let reply = Value::Error(crate::protocol::ServerError::new(
            bytes::Bytes::from_static(b"ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP."),
        ));
        let err = parse_shards(reply, "h").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Response);
        assert_eq!(err.command(), Some(COMMAND));
    }

    #[test]
    fn a_reply_read_undecoded_gives_what_the_decoded_one_gives() {
        let origin = Origin::new(HOST, ANSWERED_PORT);
        for (name, reply) in all_fixtures() {
            assert_eq!(
                outcome(parse_shards_wire(undecoded(&reply), origin)),
                outcome(parse_shards_from(reply, origin)),
                "{name}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_values_never_panic(reply in arbitrary_value()) {
            let _ = parse_shards_from(reply, Origin::new(HOST, ANSWERED_PORT));
        }

        #[test]
        fn damaged_fixtures_read_alike_undecoded(
            which in 0usize..12,
            at in 0usize..400,
            with in arbitrary_value(),
        ) {
            let origin = Origin::new(HOST, ANSWERED_PORT);
            let (_, mut reply) = all_fixtures().swap_remove(which);
            replace_nth(&mut reply, at, with);
            prop_assert_eq!(
                outcome(parse_shards_wire(undecoded(&reply), origin)),
                outcome(parse_shards_from(reply, origin))
            );
        }

        #[test]
        fn damaged_fixtures_never_panic(
            which in 0usize..12,
            at in 0usize..400,
            with in arbitrary_value(),
        ) {
            let (_, mut reply) = all_fixtures().swap_remove(which);
            replace_nth(&mut reply, at, with);
            if let Ok(view) = parse_shards_from(reply, Origin::new(HOST, ANSWERED_PORT)) {
                for shard in &view.shards {
                    prop_assert!(shard.slots.iter().all(|&(s, e)| s <= e && e < 16384));
                }
            }
        }
    }
}
