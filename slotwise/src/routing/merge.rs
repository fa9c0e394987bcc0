//! Merging the replies of several nodes into one, by the command's response policy.
//!
//! This file owns the arithmetic and the aggregation of replies once they are in. It does not
//! choose the nodes, send anything or retry: the cluster module does, then hands the replies
//! here in node order.

use std::collections::HashSet;

use super::table::ResponsePolicy;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::Value;

/// Merges `(node name, reply)` pairs into one reply.
///
/// RESP3 attributes are set aside first, and an error reply counts as a failure of its node.
/// Errors carry their node (`host:port`).
///
/// - `OneSucceeded`: the first success, else the last error.
/// - `AllSucceeded`: the first reply if all succeeded, else the first error.
/// - `AggSum`, `AggMin`, `AggMax`: over integer (or double) replies, element-wise over arrays of
///   them; `AggLogicalAnd`, `AggLogicalOr`: the same over 0/1 integers or booleans
///   (`SCRIPT EXISTS` gives one 0/1 per script: AND across nodes, script by script).
///   Any error fails the whole.
/// - `Special` and no policy: any error fails the whole. When every reply is an array, or every
///   reply a set, or every reply a map, they become one (arrays concatenated in node order, sets
///   united, maps merged with the first node's value kept for a repeated field). Any other mix
///   (scalars, `INFO` text …) becomes a map of node name → reply, whatever the number of nodes,
///   so its shape does not depend on the cluster's size.
///
/// No replies at all is an [`ErrorKind::InvalidInput`] error: there is nothing to decide from.
pub(crate) fn merge_replies(
    policy: Option<ResponsePolicy>,
    replies: Vec<(String, Result<Value>)>,
) -> Result<Value> {
    if replies.is_empty() {
        return Err(Error::new(ErrorKind::InvalidInput, "no replies to merge"));
    }
    let replies = replies.into_iter().map(|(node, reply)| {
        let reply = settle(reply).map_err(|e| match e.node() {
            Some(_) => e,
            None => e.with_node(node.clone()),
        });
        (node, reply)
    });
    match policy {
        Some(ResponsePolicy::OneSucceeded) => {
            let mut last_error = None;
            for (_, reply) in replies {
                match reply {
                    Ok(value) => return Ok(value),
                    Err(e) => last_error = Some(e),
                }
            }
            Err(last_error.unwrap_or_else(|| Error::new(ErrorKind::InvalidInput, "no replies")))
        }
        Some(ResponsePolicy::AllSucceeded) => {
            let mut first = None;
            for (_, reply) in replies {
                let value = reply?;
                first.get_or_insert(value);
            }
            first.ok_or_else(|| Error::new(ErrorKind::InvalidInput, "no replies"))
        }
        Some(ResponsePolicy::AggSum) => aggregate(Agg::Sum, replies),
        Some(ResponsePolicy::AggMin) => aggregate(Agg::Min, replies),
        Some(ResponsePolicy::AggMax) => aggregate(Agg::Max, replies),
        Some(ResponsePolicy::AggLogicalAnd) => aggregate(Agg::And, replies),
        Some(ResponsePolicy::AggLogicalOr) => aggregate(Agg::Or, replies),
        Some(ResponsePolicy::Special) | None => {
            let replies = replies
                .map(|(node, reply)| reply.map(|v| (node, v)))
                .collect::<Result<Vec<_>>>()?;
            Ok(collect(replies))
        }
    }
}

/// The reply without attributes, an error reply as `Err`.
fn settle(reply: Result<Value>) -> Result<Value> {
    match reply?.into_inner() {
        Value::Error(e) => Err(Error::from_server(e)),
        value => Ok(value),
    }
}

#[derive(Clone, Copy, Debug)]
enum Agg {
    Sum,
    Min,
    Max,
    And,
    Or,
}

fn aggregate(agg: Agg, replies: impl Iterator<Item = (String, Result<Value>)>) -> Result<Value> {
    let mut acc: Option<Value> = None;
    for (node, reply) in replies {
        let value = reply?;
        acc = Some(match acc {
            None => check(agg, value).map_err(|e| e.with_node(node))?,
            Some(acc) => combine(agg, acc, value).map_err(|e| e.with_node(node))?,
        });
    }
    acc.ok_or_else(|| Error::new(ErrorKind::InvalidInput, "no replies to merge"))
}

/// The first reply, checked to be something `agg` can work on.
fn check(agg: Agg, value: Value) -> Result<Value> {
    match value {
        Value::Array(items) => Ok(Value::Array(
            items
                .into_iter()
                .map(|v| check(agg, v.into_inner()))
                .collect::<Result<_>>()?,
        )),
        Value::Int(_) => Ok(value),
        Value::Double(_) if matches!(agg, Agg::Sum | Agg::Min | Agg::Max) => Ok(value),
        Value::Boolean(_) if matches!(agg, Agg::And | Agg::Or) => Ok(value),
        other => Err(cannot(agg, &other)),
    }
}

fn combine(agg: Agg, acc: Value, next: Value) -> Result<Value> {
    let next = next.into_inner();
    match (acc, next) {
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Err(Error::new(
                    ErrorKind::Type,
                    format!(
                        "cannot merge arrays of {} and {} elements element-wise",
                        a.len(),
                        b.len()
                    ),
                ));
            }
            Ok(Value::Array(
                a.into_iter()
                    .zip(b)
                    .map(|(x, y)| combine(agg, x, y))
                    .collect::<Result<_>>()?,
            ))
        }
        (acc, next) => match agg {
            Agg::Sum | Agg::Min | Agg::Max => numbers(agg, acc, next),
            Agg::And | Agg::Or => logic(agg, acc, next),
        },
    }
}

fn numbers(agg: Agg, a: Value, b: Value) -> Result<Value> {
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => match agg {
            Agg::Sum => x.checked_add(*y).map(Value::Int).ok_or_else(|| {
                Error::new(
                    ErrorKind::Type,
                    "the sum of the replies overflows an integer",
                )
            }),
            Agg::Min => Ok(Value::Int(*x.min(y))),
            _ => Ok(Value::Int(*x.max(y))),
        },
        _ => {
            let (Some(x), Some(y)) = (as_f64(&a), as_f64(&b)) else {
                let bad = if as_f64(&a).is_none() { &a } else { &b };
                return Err(cannot(agg, bad));
            };
            Ok(match agg {
                Agg::Sum => Value::Double(x + y),
                // The smaller (larger) reply as it came, integer or double.
                Agg::Min if y < x => b,
                Agg::Max if y > x => b,
                _ => a,
            })
        }
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Double(d) => Some(*d),
        _ => None,
    }
}

fn logic(agg: Agg, a: Value, b: Value) -> Result<Value> {
    let truth = |v: &Value| match v {
        Value::Int(i) => Some(*i != 0),
        Value::Boolean(t) => Some(*t),
        _ => None,
    };
    let (Some(x), Some(y)) = (truth(&a), truth(&b)) else {
        let bad = if truth(&a).is_none() { &a } else { &b };
        return Err(cannot(agg, bad));
    };
    let result = match agg {
        Agg::And => x && y,
        _ => x || y,
    };
    // Booleans stay booleans (RESP3); anything else answers as the server does, 0 or 1.
    Ok(match (a, b) {
        (Value::Boolean(_), Value::Boolean(_)) => Value::Boolean(result),
        _ => Value::Int(i64::from(result)),
    })
}

fn cannot(agg: Agg, value: &Value) -> Error {
    Error::new(
        ErrorKind::Type,
        format!("cannot aggregate ({agg:?}) a {} reply", value.type_name()),
    )
}

/// The nested kinds that several nodes' replies can be gathered into one of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nested {
    Array,
    Set,
    Map,
}

fn nested(value: &Value) -> Option<Nested> {
    match value {
        Value::Array(_) => Some(Nested::Array),
        Value::Set(_) => Some(Nested::Set),
        Value::Map(_) => Some(Nested::Map),
        _ => None,
    }
}

/// Replies without a merge policy: gathered when all are of one nested kind, else per node.
fn collect(replies: Vec<(String, Value)>) -> Value {
    let kind = replies.first().and_then(|(_, v)| nested(v));
    let same = kind.is_some() && replies.iter().all(|(_, v)| nested(v) == kind);
    if !same {
        return Value::Map(
            replies
                .into_iter()
                .map(|(node, v)| (Value::Bulk(node.into()), v))
                .collect(),
        );
    }
    let mut items = Vec::new();
    let mut pairs = Vec::new();
    let mut seen = Seen::default();
    for (_, value) in replies {
        match value {
            Value::Array(v) => items.extend(v),
            Value::Set(v) => items.extend(v.into_iter().filter(|x| seen.insert(x))),
            Value::Map(m) => pairs.extend(m.into_iter().filter(|(k, _)| seen.insert(k))),
            _ => {}
        }
    }
    match kind {
        Some(Nested::Set) => Value::Set(items),
        Some(Nested::Map) => Value::Map(pairs),
        _ => Value::Array(items),
    }
}

/// The values met so far: string-like ones hashed by their bytes (set members and map fields
/// almost always are), others compared one by one.
#[derive(Default)]
struct Seen {
    bytes: HashSet<Vec<u8>>,
    others: Vec<Value>,
}

impl Seen {
    /// True when `v` was not seen before.
    fn insert(&mut self, v: &Value) -> bool {
        match v.as_bytes() {
            Some(b) => self.bytes.insert(b.to_vec()),
            None if self.others.contains(v) => false,
            None => {
                self.others.push(v.clone());
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerError;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn err(s: &'static str) -> Value {
        Value::Error(ServerError::new(Bytes::from_static(s.as_bytes())))
    }

    fn ints(v: &[i64]) -> Value {
        Value::Array(v.iter().map(|&i| Value::Int(i)).collect())
    }

    fn from(replies: Vec<Value>) -> Vec<(String, Result<Value>)> {
        replies
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("n{i}:700{i}"), Ok(v)))
            .collect()
    }

    fn merge(policy: Option<ResponsePolicy>, replies: Vec<Value>) -> Result<Value> {
        merge_replies(policy, from(replies))
    }

    #[test]
    fn one_succeeded_takes_the_first_success_or_the_last_error() {
        let p = Some(ResponsePolicy::OneSucceeded);
        let got = merge(p, vec![err("NOTBUSY no"), bulk("OK"), bulk("later")]).unwrap();
        assert_eq!(got, bulk("OK"));
        let e = merge(p, vec![err("NOTBUSY a"), err("NOTBUSY b")]).unwrap_err();
        assert_eq!(e.server_error().unwrap().message(), "NOTBUSY b");
        assert_eq!(e.node(), Some("n1:7001"));
    }

    #[test]
    fn all_succeeded_needs_every_node() {
        let p = Some(ResponsePolicy::AllSucceeded);
        let ok = Value::SimpleString(Bytes::from_static(b"PONG"));
        assert_eq!(merge(p, vec![ok.clone(), ok.clone()]).unwrap(), ok);
        let e = merge(p, vec![ok.clone(), err("ERR first"), err("ERR second")]).unwrap_err();
        assert_eq!(e.server_error().unwrap().message(), "ERR first");
        assert_eq!(e.node(), Some("n1:7001"));
        // A transport error keeps the node it already names.
        let e = merge_replies(
            p,
            vec![(
                "a:1".into(),
                Err(Error::new(ErrorKind::Io, "reset").with_node("b:2")),
            )],
        )
        .unwrap_err();
        assert_eq!(e.node(), Some("b:2"));
    }

    #[test]
    fn sums_minimums_and_maximums() {
        let sum = Some(ResponsePolicy::AggSum);
        let three = vec![Value::Int(3), Value::Int(4), Value::Int(5)];
        assert_eq!(merge(sum, three.clone()).unwrap(), Value::Int(12));
        assert_eq!(
            merge(Some(ResponsePolicy::AggMin), three.clone()).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            merge(Some(ResponsePolicy::AggMax), three).unwrap(),
            Value::Int(5)
        );
        assert_eq!(
            merge(sum, vec![Value::Int(1), Value::Double(0.5)]).unwrap(),
            Value::Double(1.5)
        );
        assert_eq!(
            merge(
                Some(ResponsePolicy::AggMin),
                vec![Value::Double(2.5), Value::Int(2)]
            )
            .unwrap(),
            Value::Int(2)
        );
        assert_eq!(
            merge(sum, vec![ints(&[1, 2]), ints(&[10, 20])]).unwrap(),
            ints(&[11, 22])
        );
        assert_eq!(
            merge(sum, vec![ints(&[1]), ints(&[1, 2])])
                .unwrap_err()
                .kind(),
            ErrorKind::Type
        );
        assert_eq!(
            merge(sum, vec![Value::Int(i64::MAX), Value::Int(1)])
                .unwrap_err()
                .kind(),
            ErrorKind::Type
        );
        let e = merge(sum, vec![Value::Int(1), bulk("x")]).unwrap_err();
        assert_eq!((e.kind(), e.node()), (ErrorKind::Type, Some("n1:7001")));
        assert_eq!(
            merge(sum, vec![bulk("x")]).unwrap_err().kind(),
            ErrorKind::Type
        );
        let e = merge(sum, vec![Value::Int(1), err("ERR down")]).unwrap_err();
        assert!(e.is_server_error());
    }

    #[test]
    fn logical_and_or_element_wise() {
        let and = Some(ResponsePolicy::AggLogicalAnd);
        let or = Some(ResponsePolicy::AggLogicalOr);
        // SCRIPT EXISTS sha1 sha2 sha3 on three nodes.
        let replies = vec![ints(&[1, 1, 0]), ints(&[1, 0, 0]), ints(&[1, 1, 0])];
        assert_eq!(merge(and, replies.clone()).unwrap(), ints(&[1, 0, 0]));
        assert_eq!(merge(or, replies).unwrap(), ints(&[1, 1, 0]));
        assert_eq!(
            merge(and, vec![Value::Boolean(true), Value::Boolean(false)]).unwrap(),
            Value::Boolean(false)
        );
        assert_eq!(
            merge(or, vec![Value::Int(0), Value::Boolean(true)]).unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            merge(and, vec![Value::Double(1.0)]).unwrap_err().kind(),
            ErrorKind::Type
        );
    }

    #[test]
    fn attributes_are_set_aside() {
        let wrapped = Value::Attribute {
            attributes: vec![(bulk("ttl"), Value::Int(1))],
            value: Box::new(Value::Int(2)),
        };
        let got = merge(Some(ResponsePolicy::AggSum), vec![wrapped, Value::Int(3)]).unwrap();
        assert_eq!(got, Value::Int(5));
    }

    #[test]
    fn nested_replies_are_gathered() {
        // KEYS * on three primaries.
        let got = merge(
            None,
            vec![
                Value::Array(vec![bulk("a")]),
                Value::Array(vec![]),
                Value::Array(vec![bulk("b"), bulk("a")]),
            ],
        )
        .unwrap();
        assert_eq!(got, Value::Array(vec![bulk("a"), bulk("b"), bulk("a")]));
        let got = merge(
            Some(ResponsePolicy::Special),
            vec![
                Value::Set(vec![bulk("a"), Value::Int(1)]),
                Value::Set(vec![bulk("b"), bulk("a"), Value::Int(1), Value::Int(2)]),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            Value::Set(vec![bulk("a"), Value::Int(1), bulk("b"), Value::Int(2)])
        );
        let got = merge(
            None,
            vec![
                Value::Map(vec![(bulk("x"), Value::Int(1))]),
                Value::Map(vec![(bulk("x"), Value::Int(2)), (bulk("y"), Value::Int(3))]),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            Value::Map(vec![(bulk("x"), Value::Int(1)), (bulk("y"), Value::Int(3))])
        );
    }

    #[test]
    fn other_replies_are_given_per_node() {
        // INFO: text per node.
        let got = merge(
            Some(ResponsePolicy::Special),
            vec![bulk("# Server a"), bulk("# Server b")],
        )
        .unwrap();
        assert_eq!(
            got,
            Value::Map(vec![
                (bulk("n0:7000"), bulk("# Server a")),
                (bulk("n1:7001"), bulk("# Server b")),
            ])
        );
        // Mixed kinds, and pushes, are not gathered.
        let got = merge(None, vec![Value::Array(vec![]), Value::Set(vec![])]).unwrap();
        assert!(matches!(got, Value::Map(ref m) if m.len() == 2), "{got:?}");
        let got = merge(None, vec![Value::Push(vec![]), Value::Push(vec![])]).unwrap();
        assert!(matches!(got, Value::Map(ref m) if m.len() == 2), "{got:?}");
        // One node still answers as a map.
        let got = merge(None, vec![Value::Int(1)]).unwrap();
        assert_eq!(got, Value::Map(vec![(bulk("n0:7000"), Value::Int(1))]));
    }

    #[test]
    fn without_policy_an_error_fails_the_whole() {
        let e = merge(None, vec![bulk("a"), err("ERR one"), err("ERR two")]).unwrap_err();
        assert_eq!(e.server_error().unwrap().message(), "ERR one");
        assert_eq!(e.node(), Some("n1:7001"));
    }

    #[test]
    fn no_replies_is_an_error() {
        for policy in [
            None,
            Some(ResponsePolicy::OneSucceeded),
            Some(ResponsePolicy::AggSum),
        ] {
            let e = merge_replies(policy, Vec::new()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    }
}
