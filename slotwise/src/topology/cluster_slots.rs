//! Reading a `CLUSTER SLOTS` reply (every Redis Cluster version) into a [`ClusterView`].
//!
//! Owns the entry layout (`start, end, primary, replica…`, each node `[endpoint, port, id,
//! metadata]`) and the merging of entries that share a primary into one shard. It does not
//! choose among views or index slots (`view.rs`, `map.rs`), and the endpoint rules are in
//! `endpoint.rs`. `CLUSTER SLOTS` says nothing of health, and the server leaves failed replicas
//! out, so every node it lists is taken to be online.

use std::collections::HashMap;

use super::endpoint::{Endpoint, NodeAddress, Origin, Resolver};
use super::reply::{self, Malformed, Parsed};
use super::view::{ClusterView, NodeDesc, ShardDesc, MAX_SHARDS};
use crate::error::Result;
use crate::protocol::{Value, WireReply};

const COMMAND: &str = "CLUSTER SLOTS";

#[cfg(test)]
/// Parses a `CLUSTER SLOTS` reply (RESP2 or RESP3) read from a node at `answered_host`.
///
/// The same as [`parse_slots_from`] without the port; see [`parse_shards`](super::parse_shards)
/// for what the port adds.
pub(crate) fn parse_slots(reply: Value, answered_host: &str) -> Result<ClusterView> {
    parse_slots_from(reply, Origin::host_only(answered_host))
}

/// Parses a `CLUSTER SLOTS` reply (RESP2 or RESP3) read from `origin`, kept as it came: one
/// entry's values are decoded at a time, and the reply is dropped once every entry is read,
/// before the shards are put together.
///
/// - **Hosts**: the first element of a node when it names one; null (the server's
///   `unknown-endpoint` setting) or empty (a node that does not know its own address yet) means
///   `origin`'s host; `?` (hostnames preferred, none announced) means `origin`'s host for the
///   node that answered and, for the others, the `ip` of the node's metadata (Redis 7) when
///   real.
/// - **Shards**: entries with the same primary (by id, or by `host:port` when the reply has no
///   ids) are one shard; its replicas are the union of the entries' replicas.
///
/// The view is returned in canonical form ([`ClusterView::normalized`]). Elements after the
/// metadata, and metadata keys other than `ip`, are ignored, so newer servers can add some.
///
/// # Errors
///
/// An error reply becomes the server's error. Anything else that cannot be read, an entry
/// shorter than start, end and primary, a slot over 16383, a range that starts after it ends, a
/// node without a port, is an [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) error naming
/// the entry, node and problem.
pub(crate) fn parse_slots_wire(reply: WireReply, origin: Origin<'_>) -> Result<ClusterView> {
    parse_slots_elements(reply::top_level_elements(reply, COMMAND)?, origin)
}

#[cfg(test)]
/// [`parse_slots_wire`] for a reply decoded already.
pub(crate) fn parse_slots_from(reply: Value, origin: Origin<'_>) -> Result<ClusterView> {
    let items = reply::top_level(reply, COMMAND)?;
    parse_slots_elements(items.into_iter().map(Ok), origin)
}

fn parse_slots_elements(
    items: impl Iterator<Item = Result<Value>>,
    origin: Origin<'_>,
) -> Result<ClusterView> {
    let entries = raw_entries(items)?;
    let resolver = Resolver::new(
        origin,
        entries
            .iter()
            .flat_map(|e: &RawEntry| std::iter::once(&e.primary).chain(&e.replicas)),
    );
    let describe = |node: &NodeAddress| NodeDesc {
        id: node.id.clone(),
        host: resolver.host(node),
        port: node.port,
        online: true,
    };

    let mut shards: Vec<ShardDesc> = Vec::new();
    let mut by_primary: HashMap<String, usize> = HashMap::new();
    for entry in &entries {
        let primary = describe(&entry.primary);
        let key = if primary.id.is_empty() {
            format!("{}:{}", primary.host, primary.port)
        } else {
            primary.id.clone()
        };
        let index = *by_primary.entry(key).or_insert_with(|| {
            shards.push(ShardDesc {
                slots: Vec::new(),
                primary,
                replicas: Vec::new(),
            });
            shards.len() - 1
        });
        let Some(shard) = shards.get_mut(index) else {
            continue;
        };
        shard.slots.push(entry.range);
        shard.replicas.extend(entry.replicas.iter().map(describe));
    }
    // Every entry of a primary repeats its replicas; sorting first keeps this linear-logarithmic
    // however many entries and replicas a reply has.
    for shard in &mut shards {
        shard.replicas.sort();
        shard.replicas.dedup();
    }
    if shards.len() > MAX_SHARDS {
        return Err(
            Malformed::new(format!("{} shards, more than {MAX_SHARDS}", shards.len()))
                .into_error(COMMAND),
        );
    }
    reply::disjoint(ClusterView { shards }.normalized(), COMMAND)
}

/// Reads every entry, taking `items` (and what they hold of the reply) with it.
fn raw_entries(items: impl Iterator<Item = Result<Value>>) -> Result<Vec<RawEntry>> {
    let mut entries = Vec::new();
    for (i, item) in items.enumerate() {
        let entry =
            raw_entry(item?).map_err(|m| m.at(format_args!("entry {i}")).into_error(COMMAND))?;
        entries.push(entry);
    }
    Ok(entries)
}

/// One entry as listed, before hosts are chosen.
struct RawEntry {
    range: (u16, u16),
    primary: NodeAddress,
    replicas: Vec<NodeAddress>,
}

/// Reads one entry: `start, end, primary, replica…`.
fn raw_entry(value: Value) -> Parsed<RawEntry> {
    let mut items = reply::list(value)?.into_iter();
    let (Some(start), Some(end), Some(primary)) = (items.next(), items.next(), items.next()) else {
        return Err(Malformed::new(
            "fewer than 3 elements (start, end, primary)",
        ));
    };
    let range = reply::slot_range(&start, &end)?;
    let primary = raw_node(primary).map_err(|m| m.at("primary"))?;
    let replicas = items
        .enumerate()
        .map(|(i, v)| raw_node(v).map_err(|m| m.at(format_args!("replica {i}"))))
        .collect::<Parsed<Vec<_>>>()?;
    Ok(RawEntry {
        range,
        primary,
        replicas,
    })
}

/// Reads one node element: `endpoint, port[, id[, metadata]]`.
fn raw_node(value: Value) -> Parsed<NodeAddress> {
    let mut items = reply::list(value)?.into_iter();
    let (Some(endpoint), Some(port)) = (items.next(), items.next()) else {
        return Err(Malformed::new("fewer than 2 elements (endpoint, port)"));
    };
    let endpoint = reply::nullable_string(&endpoint).map_err(|m| m.at("endpoint"))?;
    let port = match reply::port(&port).map_err(|m| m.at("port"))? {
        0 => return Err(Malformed::new("port 0")),
        port => port,
    };
    // Redis before 4.0 sent no id.
    let id = match items.next() {
        Some(id) => reply::nullable_string(&id)
            .map_err(|m| m.at("id"))?
            .unwrap_or_default(),
        None => String::new(),
    };
    let mut ip = None;
    if let Some(metadata) = items.next() {
        for (key, value) in reply::record(metadata).map_err(|m| m.at("metadata"))? {
            if reply::text(&key).map_err(|m| m.at("metadata"))? == "ip" {
                ip = reply::nullable_string(&value).map_err(|m| m.at("metadata `ip`"))?;
            }
        }
    }
    Ok(NodeAddress {
        id,
        port,
        endpoint: Endpoint::from_reply(endpoint),
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::topology::parse_shards_from;
    use crate::topology::test_replies::*;
    use proptest::prelude::*;

    fn parse_fixture(name: &str, host: &str) -> ClusterView {
        parse_slots_from(named(name), Origin::new(host, ANSWERED_PORT))
            .unwrap_or_else(|e| panic!("{name} should parse: {e}"))
    }

    #[test]
    fn a_slot_given_to_two_primaries_is_refused() {
        let entry = |start: i64, end: i64, port: i64| {
            Value::Array(vec![
                Value::Int(start),
                Value::Int(end),
                Value::Array(vec![Value::Bulk("127.0.0.1".into()), Value::Int(port)]),
            ])
        };
        let overlapping = Value::Array(vec![entry(0, 9000, 7000), entry(8000, 16383, 7001)]);
        let err = parse_slots_from(overlapping, Origin::new(HOST, ANSWERED_PORT)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(
            err.to_string()
                .contains("slot 8000 is given to two primaries"),
            "{err}"
        );
        // One primary listed with ranges that touch or repeat is no conflict.
        let repeated = Value::Array(vec![
            entry(0, 9000, 7000),
            entry(5000, 9000, 7000),
            entry(9001, 16383, 7001),
        ]);
        let view = parse_slots_from(repeated, Origin::new(HOST, ANSWERED_PORT)).unwrap();
        assert_eq!(view.covered_count(), 16384);
    }

    #[test]
    fn resp2_and_resp3_fixtures_give_the_same_view() {
        let expected = fixture_view(|_| HOST.to_owned());
        assert_eq!(parse_fixture("slots_resp2", HOST), expected);
        assert_eq!(parse_fixture("slots_resp3", HOST), expected);
        assert_eq!(parse_slots(named("slots_resp2"), HOST).unwrap(), expected);
    }

    #[test]
    fn agrees_with_cluster_shards_on_the_same_cluster() {
        let pairs = [
            ("slots_resp2", "shards_resp2", HOST),
            ("slots_resp3", "shards_resp3", HOST),
            ("slots_hostname_resp2", "shards_hostname_resp3", HOST),
            (
                "slots_unknown_endpoint_resp3",
                "shards_unknown_endpoint_resp2",
                "lb.example",
            ),
        ];
        for (slots, shards, host) in pairs {
            let origin = Origin::new(host, ANSWERED_PORT);
            assert_eq!(
                parse_slots_from(named(slots), origin).unwrap(),
                parse_shards_from(named(shards), origin).unwrap(),
                "{slots} and {shards} describe the same cluster"
            );
        }
    }

    #[test]
    fn hostname_endpoints_are_used() {
        let expected = fixture_view(|(_, _, hostname)| hostname.to_owned());
        assert_eq!(parse_fixture("slots_hostname_resp2", HOST), expected);
    }

    #[test]
    fn null_endpoints_mean_the_dialled_host_for_every_node() {
        let expected = fixture_view(|_| "lb.example".to_owned());
        assert_eq!(
            parse_fixture("slots_unknown_endpoint_resp3", "lb.example"),
            expected
        );
    }

    #[test]
    fn failed_replicas_are_left_out_by_the_server() {
        let mut expected = fixture_view(|_| HOST.to_owned());
        expected.shards[0].replicas.clear();
        assert_eq!(parse_fixture("slots_failed_replica_resp2", HOST), expected);
    }

    #[test]
    fn after_failover_the_promoted_replica_serves_the_slots() {
        let mut expected = fixture_view(|_| HOST.to_owned());
        expected.shards[0].replicas.clear();
        expected.shards[1] = shard(&[(5461, 10921)], fixture_node(NODE4, HOST), &[]);
        assert_eq!(parse_fixture("slots_after_failover_resp2", HOST), expected);
    }

    /// A node element: endpoint, port, id, and optional metadata.
    fn node_element(endpoint: Value, port: i64, id: &str, metadata: Option<Value>) -> Value {
        let mut items = vec![endpoint, int(port), bulk(id)];
        items.extend(metadata);
        Value::Array(items)
    }

    fn entry(start: i64, end: i64, nodes: Vec<Value>) -> Value {
        let mut items = vec![int(start), int(end)];
        items.extend(nodes);
        Value::Array(items)
    }

    #[test]
    fn entries_of_one_primary_merge_into_one_shard() {
        let a = || node_element(bulk("10.0.0.1"), 7000, "a", None);
        let a1 = || node_element(bulk("10.0.0.3"), 7002, "a1", None);
        let a2 = node_element(bulk("10.0.0.4"), 7003, "a2", None);
        let b = node_element(bulk("10.0.0.2"), 7001, "b", None);
        let reply = Value::Array(vec![
            entry(0, 99, vec![a(), a1()]),
            entry(100, 199, vec![b]),
            entry(200, 16383, vec![a(), a1(), a2]),
        ]);
        let view = parse_slots(reply, "10.0.0.1").unwrap();
        assert_eq!(view.shards.len(), 2);
        assert_eq!(view.shards[0].primary.id, "a");
        assert_eq!(view.shards[0].slots, [(0, 99), (200, 16383)]);
        let replicas: Vec<&str> = view.shards[0]
            .replicas
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(replicas, ["a1", "a2"], "the union of the entries' replicas");
        assert_eq!(view.shards[1].slots, [(100, 199)]);
    }

    #[test]
    fn entries_without_ids_merge_by_address() {
        let bare = |host: &str, port: i64| Value::Array(vec![bulk(host), int(port)]);
        let reply = Value::Array(vec![
            entry(0, 10, vec![bare("h", 7000)]),
            entry(11, 20, vec![bare("h", 7001)]),
            entry(21, 16383, vec![bare("h", 7000)]),
        ]);
        let view = parse_slots(reply, "h").unwrap();
        assert_eq!(view.shards.len(), 2);
        assert_eq!(view.shards[0].slots, [(0, 10), (21, 16383)]);
        assert_eq!(view.shards[0].primary.id, "");
    }

    #[test]
    fn question_marks_and_empty_hosts() {
        let meta = |ip: &str| Some(map(vec![("ip", bulk(ip)), ("hostname", bulk(""))]));
        let reply = Value::Array(vec![
            entry(
                0,
                8191,
                vec![
                    node_element(bulk("?"), 7000, "a", meta("10.0.0.1")),
                    node_element(bulk("?"), 7002, "a1", meta("10.0.0.3")),
                ],
            ),
            entry(
                8192,
                16383,
                vec![
                    node_element(bulk(""), 7001, "b", None),
                    node_element(bulk("?"), 7003, "b1", None),
                ],
            ),
        ]);
        let view = parse_slots_from(reply, Origin::new("public.example", 7000)).unwrap();
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
            ]
        );
    }

    #[test]
    fn malformed_replies_are_protocol_errors_that_say_what_is_wrong() {
        let good = || node_element(bulk("h"), 7000, "a", None);
        let cases: Vec<(Value, &str)> = vec![
            (int(3), "expected an array, got integer"),
            (
                Value::Array(vec![bulk("x")]),
                "entry 0: expected an array, got bulk string",
            ),
            (
                Value::Array(vec![Value::Array(vec![int(0), int(1)])]),
                "entry 0: fewer than 3 elements",
            ),
            (
                Value::Array(vec![entry(0, 16384, vec![good()])]),
                "slot 16384 is out of range",
            ),
            (
                Value::Array(vec![entry(-5, 3, vec![good()])]),
                "slot -5 is out of range",
            ),
            (
                Value::Array(vec![entry(7, 6, vec![good()])]),
                "slot range 7-6 starts after it ends",
            ),
            (
                Value::Array(vec![entry(0, 1, vec![Value::Array(vec![bulk("h")])])]),
                "entry 0: primary: fewer than 2 elements",
            ),
            (
                Value::Array(vec![entry(
                    0,
                    1,
                    vec![good(), Value::Array(vec![bulk("h"), bulk("x")])],
                )]),
                "entry 0: replica 0: port: \"x\" is not an integer",
            ),
            (
                Value::Array(vec![entry(
                    0,
                    1,
                    vec![node_element(bulk("h"), 0, "a", None)],
                )]),
                "primary: port 0",
            ),
            (
                Value::Array(vec![entry(
                    0,
                    1,
                    vec![node_element(int(1), 7000, "a", None)],
                )]),
                "primary: endpoint: expected a string, got integer",
            ),
            (
                Value::Array(vec![entry(
                    0,
                    1,
                    vec![node_element(
                        bulk("h"),
                        7000,
                        "a",
                        Some(Value::Array(vec![bulk("ip")])),
                    )],
                )]),
                "primary: metadata: a key/value array has an odd length",
            ),
        ];
        for (reply, expected) in cases {
            let shown = format!("{reply:?}");
            let err = parse_slots(reply, "h").expect_err(&shown);
            assert_eq!(err.kind(), ErrorKind::Protocol, "{shown}: {err}");
            let text = err.to_string();
            assert!(
                text.contains("malformed CLUSTER SLOTS reply") && text.contains(expected),
                "for {shown} expected an error containing {expected:?}, got {text:?}"
            );
        }
    }

    #[test]
    fn a_reply_read_undecoded_gives_what_the_decoded_one_gives() {
        let origin = Origin::new(HOST, ANSWERED_PORT);
        for (name, reply) in all_fixtures() {
            assert_eq!(
                outcome(parse_slots_wire(undecoded(&reply), origin)),
                outcome(parse_slots_from(reply, origin)),
                "{name}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_values_never_panic(reply in arbitrary_value()) {
            let _ = parse_slots_from(reply, Origin::new(HOST, ANSWERED_PORT));
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
                outcome(parse_slots_wire(undecoded(&reply), origin)),
                outcome(parse_slots_from(reply, origin))
            );
        }

        #[test]
        fn damaged_fixtures_never_panic(
            which in 0usize..12,
            at in 0usize..300,
            with in arbitrary_value(),
        ) {
            let (_, mut reply) = all_fixtures().swap_remove(which);
            replace_nth(&mut reply, at, with);
            if let Ok(view) = parse_slots_from(reply, Origin::new(HOST, ANSWERED_PORT)) {
                for shard in &view.shards {
                    prop_assert!(shard.slots.iter().all(|&(s, e)| s <= e && e < 16384));
                }
            }
        }
    }
}
