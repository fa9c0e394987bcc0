//! The reply types of the stream commands: entries ([`StreamEntry`]), reads of several streams
//! ([`StreamRead`]), pending entries ([`PendingSummary`], [`PendingEntry`]), `XAUTOCLAIM`'s
//! page ([`AutoClaim`]) and the `XINFO` reports ([`StreamInfo`], [`GroupInfo`],
//! [`ConsumerInfo`]).
//!
//! Each reads the RESP2 and the RESP3 form of its reply: RESP3 sends the `XINFO` reports and
//! `XREAD`'s streams as maps where RESP2 sends flat arrays of names and values. Fields the
//! server added after Redis 7.0 are `Option`s; fields it does not send are errors of kind
//! [`ErrorKind::Type`](crate::ErrorKind::Type) naming the field. This module does not build commands.

use super::record::{array, exactly, shape_error, Record};
use crate::error::Result;
use crate::protocol::{FromValue, Value};

/// One stream entry: its id and its field/value pairs.
///
/// `F` is the shape of the fields, e.g. `HashMap<String, String>` or `Vec<(String, Bytes)>`
/// to keep their order. An entry deleted after it was delivered (in a consumer's history)
/// has no fields, which reads as an empty `F`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamEntry<F> {
    /// The entry id, `<milliseconds>-<sequence>`.
    pub id: String,
    /// The fields and values.
    pub fields: F,
}

impl<F: FromValue> FromValue for StreamEntry<F> {
    fn from_value(value: Value) -> Result<StreamEntry<F>> {
        let [id, fields] = exactly::<2, StreamEntry<F>>(value)?;
        Ok(StreamEntry {
            id: String::from_value(id)?,
            fields: F::from_value(fields)?,
        })
    }
}

/// The entries `XREAD` or `XREADGROUP` returned from one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamRead<F> {
    /// The stream's key.
    pub key: String,
    /// Its new entries, oldest first.
    pub entries: Vec<StreamEntry<F>>,
}

impl<F: FromValue> FromValue for StreamRead<F> {
    /// One `[key, entries]` pair of a RESP2 reply.
    fn from_value(value: Value) -> Result<StreamRead<F>> {
        let [key, entries] = exactly::<2, StreamRead<F>>(value)?;
        Ok(StreamRead {
            key: String::from_value(key)?,
            entries: FromValue::from_value(entries)?,
        })
    }

    /// A RESP3 reply is a map from key to entries.
    fn from_map_entries(pairs: Vec<(Value, Value)>) -> Result<Vec<StreamRead<F>>> {
        pairs
            .into_iter()
            .map(|(key, entries)| {
                Ok(StreamRead {
                    key: String::from_value(key)?,
                    entries: FromValue::from_value(entries)?,
                })
            })
            .collect()
    }
}

/// `XPENDING key group`: what a group has delivered and not yet seen acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingSummary {
    /// How many entries are pending.
    pub count: u64,
    /// The lowest pending id, if any are pending.
    pub smallest_id: Option<String>,
    /// The highest pending id, if any are pending.
    pub largest_id: Option<String>,
    /// Each consumer with pending entries and how many it has.
    pub consumers: Vec<(String, u64)>,
}

impl FromValue for PendingSummary {
    fn from_value(value: Value) -> Result<PendingSummary> {
        let [count, smallest, largest, consumers] = exactly::<4, PendingSummary>(value)?;
        Ok(PendingSummary {
            count: u64::from_value(count)?,
            smallest_id: FromValue::from_value(smallest)?,
            largest_id: FromValue::from_value(largest)?,
            consumers: FromValue::from_value(consumers)?,
        })
    }
}

/// One entry of `XPENDING key group … start end count`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingEntry {
    /// The entry id.
    pub id: String,
    /// The consumer it was delivered to.
    pub consumer: String,
    /// Milliseconds since it was last delivered.
    pub idle_ms: u64,
    /// How many times it was delivered.
    pub deliveries: u64,
}

impl FromValue for PendingEntry {
    fn from_value(value: Value) -> Result<PendingEntry> {
        let [id, consumer, idle, deliveries] = exactly::<4, PendingEntry>(value)?;
        Ok(PendingEntry {
            id: String::from_value(id)?,
            consumer: String::from_value(consumer)?,
            idle_ms: u64::from_value(idle)?,
            deliveries: u64::from_value(deliveries)?,
        })
    }
}

/// One page of `XAUTOCLAIM`: the claimed entries (`T` is a [`StreamEntry`], or the id as
/// `String` with `JUSTID`), where to go on, and the ids that were pending but deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AutoClaim<T> {
    /// The id to start the next call from; `0-0` when the scan is complete.
    pub next_id: String,
    /// The entries now owned by the claiming consumer.
    pub claimed: Vec<T>,
    /// Pending ids whose entries no longer exist; the server removed them from the pending
    /// list (empty before Redis 7.0).
    pub deleted_ids: Vec<String>,
}

impl<T: FromValue> FromValue for AutoClaim<T> {
    fn from_value(value: Value) -> Result<AutoClaim<T>> {
        let mut items = array::<AutoClaim<T>>(value)?.into_iter();
        match (items.next(), items.next(), items.next(), items.next()) {
            (Some(next), Some(claimed), deleted, None) => Ok(AutoClaim {
                next_id: String::from_value(next)?,
                claimed: FromValue::from_value(claimed)?,
                deleted_ids: deleted
                    .map(FromValue::from_value)
                    .transpose()?
                    .unwrap_or_default(),
            }),
            _ => Err(shape_error::<AutoClaim<T>>("2 or 3 elements")),
        }
    }
}

/// `XINFO STREAM key`: a stream's size, ids and first and last entries.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamInfo<F> {
    /// How many entries it holds.
    pub length: u64,
    /// Keys in its radix tree.
    pub radix_tree_keys: u64,
    /// Nodes in its radix tree.
    pub radix_tree_nodes: u64,
    /// How many consumer groups it has.
    pub groups: u64,
    /// The id of the last entry added (even if it was deleted since).
    pub last_generated_id: String,
    /// The highest id deleted (Redis 7.0 and later).
    pub max_deleted_entry_id: Option<String>,
    /// How many entries were ever added (Redis 7.0 and later).
    pub entries_added: Option<u64>,
    /// The first id still held, as recorded by the server (Redis 7.0 and later).
    pub recorded_first_entry_id: Option<String>,
    /// The oldest entry, if it has any.
    pub first_entry: Option<StreamEntry<F>>,
    /// The newest entry, if it has any.
    pub last_entry: Option<StreamEntry<F>>,
}

impl<F: FromValue> FromValue for StreamInfo<F> {
    fn from_value(value: Value) -> Result<StreamInfo<F>> {
        let mut r = Record::<StreamInfo<F>>::new(value)?;
        Ok(StreamInfo {
            length: r.required("length")?,
            radix_tree_keys: r.required("radix-tree-keys")?,
            radix_tree_nodes: r.required("radix-tree-nodes")?,
            groups: r.required("groups")?,
            last_generated_id: r.required("last-generated-id")?,
            max_deleted_entry_id: r.optional("max-deleted-entry-id")?,
            entries_added: r.optional("entries-added")?,
            recorded_first_entry_id: r.optional("recorded-first-entry-id")?,
            first_entry: r.optional("first-entry")?,
            last_entry: r.optional("last-entry")?,
        })
    }
}

/// One consumer group of `XINFO GROUPS key`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupInfo {
    /// The group's name.
    pub name: String,
    /// How many consumers it has.
    pub consumers: u64,
    /// How many entries it delivered that are not acknowledged yet.
    pub pending: u64,
    /// The last id delivered to it.
    pub last_delivered_id: String,
    /// How many entries it has read (Redis 7.0 and later; `None` if unknown).
    pub entries_read: Option<u64>,
    /// How many entries it has yet to read (Redis 7.0 and later; `None` if unknown).
    pub lag: Option<u64>,
}

impl FromValue for GroupInfo {
    fn from_value(value: Value) -> Result<GroupInfo> {
        let mut r = Record::<GroupInfo>::new(value)?;
        Ok(GroupInfo {
            name: r.required("name")?,
            consumers: r.required("consumers")?,
            pending: r.required("pending")?,
            last_delivered_id: r.required("last-delivered-id")?,
            entries_read: r.optional("entries-read")?,
            lag: r.optional("lag")?,
        })
    }
}

/// One consumer of `XINFO CONSUMERS key group`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerInfo {
    /// The consumer's name.
    pub name: String,
    /// How many entries it holds unacknowledged.
    pub pending: u64,
    /// Milliseconds since it last tried to read or claim.
    pub idle_ms: u64,
    /// Milliseconds since it last read or claimed something, -1 if never (Redis 7.2 and
    /// later, Valkey).
    pub inactive_ms: Option<i64>,
}

impl FromValue for ConsumerInfo {
    fn from_value(value: Value) -> Result<ConsumerInfo> {
        let mut r = Record::<ConsumerInfo>::new(value)?;
        Ok(ConsumerInfo {
            name: r.required("name")?,
            pending: r.required("pending")?,
            idle_ms: r.required("idle")?,
            inactive_ms: r.optional("inactive")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bytes::Bytes;

    use super::*;
    use crate::error::ErrorKind;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn entry(id: &str, kv: &[&str]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(kv.iter().map(|s| bulk(s)).collect()),
        ])
    }

    type Fields = HashMap<String, String>;

    #[test]
    fn entries_and_reads_from_both_protocols() {
        let e: StreamEntry<Fields> = FromValue::from_value(entry("1-0", &["a", "1"])).unwrap();
        assert_eq!((e.id.as_str(), e.fields["a"].as_str()), ("1-0", "1"));
        let deleted = Value::Array(vec![bulk("2-0"), Value::Nil]);
        let deleted: StreamEntry<Fields> = FromValue::from_value(deleted).unwrap();
        assert!(deleted.fields.is_empty());

        let entries = || Value::Array(vec![entry("1-0", &["a", "1"])]);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk("s"), entries()])]);
        let resp3 = Value::Map(vec![(bulk("s"), entries())]);
        for reply in [resp2, resp3] {
            let reads: Vec<StreamRead<Fields>> = FromValue::from_value(reply).unwrap();
            assert_eq!(reads.len(), 1);
            assert_eq!(reads[0].key, "s");
            assert_eq!(reads[0].entries[0].id, "1-0");
        }
        let timed_out: Vec<StreamRead<Fields>> = FromValue::from_value(Value::Nil).unwrap();
        assert!(timed_out.is_empty());
    }

    #[test]
    fn pending_replies() {
        let summary = Value::Array(vec![
            Value::Int(3),
            bulk("1-0"),
            bulk("3-0"),
            Value::Array(vec![Value::Array(vec![bulk("alice"), bulk("3")])]),
        ]);
        let summary = PendingSummary::from_value(summary).unwrap();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.consumers, [("alice".to_owned(), 3)]);
        let empty = Value::Array(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil]);
        let empty = PendingSummary::from_value(empty).unwrap();
        assert_eq!((empty.smallest_id, empty.consumers.len()), (None, 0));

        let one = Value::Array(vec![
            bulk("1-0"),
            bulk("bob"),
            Value::Int(10),
            Value::Int(2),
        ]);
        let one = PendingEntry::from_value(one).unwrap();
        assert_eq!(
            (one.consumer.as_str(), one.idle_ms, one.deliveries),
            ("bob", 10, 2)
        );
        let short = Value::Array(vec![bulk("1-0")]);
        assert_eq!(
            PendingEntry::from_value(short).unwrap_err().kind(),
            ErrorKind::Type
        );
    }

    #[test]
    fn autoclaim_pages_with_and_without_deleted_ids() {
        let page = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![entry("1-0", &["a", "1"])]),
            Value::Array(vec![bulk("2-0")]),
        ]);
        let page: AutoClaim<StreamEntry<Fields>> = FromValue::from_value(page).unwrap();
        assert_eq!((page.next_id.as_str(), page.claimed.len()), ("0-0", 1));
        assert_eq!(page.deleted_ids, ["2-0"]);
        let ids = Value::Array(vec![bulk("5-0"), Value::Array(vec![bulk("1-0")])]);
        let ids: AutoClaim<String> = FromValue::from_value(ids).unwrap();
        assert_eq!(
            (ids.claimed, ids.deleted_ids.len()),
            (vec!["1-0".to_owned()], 0)
        );
    }

    #[test]
    fn records_from_maps_and_flat_arrays() {
        let fields = || {
            vec![
                ("name", bulk("g")),
                ("consumers", Value::Int(1)),
                ("pending", Value::Int(2)),
                ("last-delivered-id", bulk("1-0")),
                ("entries-read", Value::Nil),
                ("lag", Value::Int(0)),
            ]
        };
        let resp3 = Value::Map(fields().into_iter().map(|(k, v)| (bulk(k), v)).collect());
        let resp2 = Value::Array(
            fields()
                .into_iter()
                .flat_map(|(k, v)| [bulk(k), v])
                .collect(),
        );
        for reply in [resp3, resp2] {
            let g = GroupInfo::from_value(reply).unwrap();
            assert_eq!(
                (g.name.as_str(), g.pending, g.entries_read, g.lag),
                ("g", 2, None, Some(0))
            );
        }
        let missing = Value::Map(vec![(bulk("name"), bulk("c"))]);
        let err = ConsumerInfo::from_value(missing).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Type);
        assert!(err.to_string().contains("pending"), "{err}");
    }

    #[test]
    fn stream_info_reads_entries_and_skips_unknown_fields() {
        let reply = Value::Map(vec![
            (bulk("length"), Value::Int(1)),
            (bulk("radix-tree-keys"), Value::Int(1)),
            (bulk("radix-tree-nodes"), Value::Int(2)),
            (bulk("last-generated-id"), bulk("1-0")),
            (bulk("groups"), Value::Int(0)),
            (bulk("some-future-field"), Value::Int(9)),
            (bulk("first-entry"), entry("1-0", &["a", "1"])),
            (bulk("last-entry"), entry("1-0", &["a", "1"])),
        ]);
        let info: StreamInfo<Fields> = FromValue::from_value(reply).unwrap();
        assert_eq!(info.length, 1);
        assert_eq!(info.entries_added, None);
        assert_eq!(info.first_entry.unwrap().fields["a"], "1");
    }
}
