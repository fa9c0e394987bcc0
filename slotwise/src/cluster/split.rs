//! Multi-key commands across slots: split by slot, grouped by node, sent to every node at once,
//! replies put back in the caller's order.
//!
//! Used implicitly for commands whose tips allow it (`DEL`, `EXISTS`, `UNLINK`, `TOUCH`: keys in
//! several shards, counts summed) and explicitly through [`ClusterCommands`]
//! (`mget_nonatomic`, `mset_nonatomic`). Each slot's keys go out as one command; each node's
//! commands go out in one write (the scatter a pipeline uses too). A part that is redirected is
//! retried alone through the attempt loop.
//!
//! No keys means no parts: nothing is sent, and the reply is what the parts would have merged
//! to, 0 for a count, an empty list for `MGET`, `OK` for `MSET`. Redis itself refuses `DEL`
//! with no key (an arity error), but an empty list of keys is a normal case for a caller
//! (redis-py's `mget_nonatomic([])` returns `[]`).

use bytes::Bytes;
use futures_util::future::join_all;

use super::dispatch::scatter::{Groups, Item};
use super::RedisCluster;
use crate::commands::{CommandFuture, Executor};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs, Value};
use crate::routing::{CommandInfo, KeyScan, RequestPolicy, ResponsePolicy};
use crate::topology::keyslot;

/// An executor that can split a multi-key command by slot (a cluster client).
pub trait NonAtomicExecutor: Executor {
    /// Runs `cmd` split by the slots of its keys: not atomic, but keys may live anywhere.
    fn execute_nonatomic<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Self::Output<T>;
}

/// Cluster-only commands that split their keys by slot.
pub trait ClusterCommands: NonAtomicExecutor {
    /// `MGET` of keys in any slots: one `MGET` per slot, sent concurrently; values come back in
    /// the order of `keys` (`None` for missing keys when `T` is an `Option`). No keys give an
    /// empty list, without sending anything.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::ClusterCommands;
    ///
    /// let values: Vec<Option<String>> = cluster.mget_nonatomic(&["a", "b", "c"]).await?;
    /// # Ok(()) }
    /// ```
    fn mget_nonatomic<T: FromValue + Send + 'static, K: ToArgs>(
        &self,
        keys: K,
    ) -> Self::Output<Vec<T>> {
        self.execute_nonatomic(Cmd::new("MGET").arg(keys))
    }

    /// `MSET` of pairs in any slots: one `MSET` per slot, sent concurrently. Each slot's part is
    /// atomic; the whole is not. No pairs succeed without sending anything.
    fn mset_nonatomic<K: ToArgs, V: ToArgs>(&self, pairs: &[(K, V)]) -> Self::Output<()> {
        let mut cmd = Cmd::new("MSET");
        for (k, v) in pairs {
            cmd.push_arg(k).push_arg(v);
        }
        self.execute_nonatomic(cmd)
    }
}

impl<E: NonAtomicExecutor + ?Sized> ClusterCommands for E {}

impl NonAtomicExecutor for RedisCluster {
    fn execute_nonatomic<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
        let cluster = self.clone();
        CommandFuture::new(async move {
            let snapshot = cluster.snapshot();
            let info = snapshot.table.lookup(&cmd);
            T::from_value(cluster.run_split(&cmd, info).await?)
        })
    }
}

/// The argument layout of a splittable command: a prefix, then equal-sized key groups.
struct Layout {
    /// Arguments before the first key (the command name, maybe a subcommand).
    prefix: usize,
    /// Arguments per key group (1 for `DEL`, 2 for `MSET`).
    stride: usize,
    groups: usize,
}

fn layout(info: &CommandInfo, cmd: &Cmd) -> Result<Layout> {
    let mut positions = Vec::new();
    if info.for_each_key(cmd, |i, _| positions.push(i)) == KeyScan::Unknown {
        return Err(cannot_split(info, "its keys cannot be located"));
    }
    let Some(&first) = positions.first() else {
        if info.request_policy() == Some(RequestPolicy::MultiShard) {
            // A multi-key command given no keys: no parts.
            return Ok(Layout {
                prefix: cmd.argc(),
                stride: 1,
                groups: 0,
            });
        }
        return Err(cannot_split(info, "it has no keys"));
    };
    let stride = match positions.get(1) {
        Some(second) => second - first,
        None => cmd.argc() - first,
    };
    let even = positions
        .iter()
        .enumerate()
        .all(|(n, &p)| p == first + n * stride);
    if stride == 0 || !even || first + positions.len() * stride != cmd.argc() {
        return Err(cannot_split(
            info,
            "its arguments are not a list of key groups",
        ));
    }
    Ok(Layout {
        prefix: first,
        stride,
        groups: positions.len(),
    })
}

fn cannot_split(info: &CommandInfo, why: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{} cannot be split by slot: {why}",
            info.name().to_uppercase()
        ),
    )
}

/// One slot's share: its command and which key groups it carries.
struct Part {
    slot: u16,
    cmd: Cmd,
    groups: Vec<usize>,
    readonly: bool,
}

impl Item for Part {
    fn cmd(&self) -> &Cmd {
        &self.cmd
    }

    fn readonly(&self) -> bool {
        self.readonly
    }
}

impl RedisCluster {
    /// Runs a multi-key command split by slot and merges the parts' replies.
    pub(crate) async fn run_split(&self, cmd: &Cmd, info: Option<&CommandInfo>) -> Result<Value> {
        let Some(info) = info else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} is not in the command table and cannot be split by slot",
                    String::from_utf8_lossy(cmd.name())
                ),
            ));
        };
        if info.name() == "mget" && self.cache().is_some() && !self.strategy().uses_replicas() {
            // Each key through the cache, as its own `GET`.
            return self.run_mget_cached(cmd).await;
        }
        let layout = layout(info, cmd)?;
        if layout.groups == 0 {
            return merge_parts(info, &[], Vec::new(), 0);
        }
        let args: Vec<&[u8]> = cmd.args().collect();
        let parts = make_parts(&args, &layout, info.is_readonly());
        let read =
            (info.is_readonly() && self.strategy().uses_replicas()).then_some(self.strategy());
        let snapshot = self.snapshot();
        let mut groups = Groups::default();
        for (i, part) in parts.iter().enumerate() {
            groups.push(snapshot.node_for_slot(part.slot, read)?, i);
        }
        drop(snapshot);
        let timeout = self.inner.settings.connection.response_timeout;
        let mut replies: Vec<Option<Result<Value>>> = (0..parts.len()).map(|_| None).collect();
        let again = self.scatter(&parts, groups, timeout, &mut replies).await;
        // What came back redirected, or was lost where sending it again is safe, goes through
        // the attempt loop.
        let retried = join_all(again.iter().map(|&i| {
            let part = &parts[i];
            async move { self.run_slot(&part.cmd, Some(info), part.slot).await }
        }))
        .await;
        for (&i, result) in again.iter().zip(retried) {
            replies[i] = Some(result);
        }
        merge_parts(info, &parts, replies, layout.groups)
    }
}

fn make_parts(args: &[&[u8]], layout: &Layout, readonly: bool) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for g in 0..layout.groups {
        let start = layout.prefix + g * layout.stride;
        let slot = keyslot(args[start]);
        let part = match parts.iter_mut().position(|p| p.slot == slot) {
            Some(i) => &mut parts[i],
            None => {
                let mut cmd = Cmd::new(args[0]);
                for a in &args[1..layout.prefix] {
                    cmd.push_bytes(a);
                }
                parts.push(Part {
                    slot,
                    cmd,
                    groups: Vec::new(),
                    readonly,
                });
                let last = parts.len() - 1;
                &mut parts[last]
            }
        };
        for a in &args[start..start + layout.stride] {
            part.cmd.push_bytes(a);
        }
        part.groups.push(g);
    }
    parts
}

/// Puts the parts' replies together: by the response policy, or (for `MGET`) element by
/// element back in the caller's key order.
fn merge_parts(
    info: &CommandInfo,
    parts: &[Part],
    replies: Vec<Option<Result<Value>>>,
    groups: usize,
) -> Result<Value> {
    let mut values = Vec::with_capacity(replies.len());
    for reply in replies {
        match reply {
            Some(Ok(Value::Error(e))) => return Err(Error::from_server(e)),
            Some(Ok(v)) => values.push(v.into_inner()),
            Some(Err(e)) => return Err(e),
            None => return Err(Error::new(ErrorKind::Protocol, "a part got no reply")),
        }
    }
    match info.response_policy() {
        Some(ResponsePolicy::AggSum) => {
            let mut sum = 0i64;
            for v in values {
                match v {
                    Value::Int(n) => sum = sum.saturating_add(n),
                    other => {
                        return Err(Error::new(
                            ErrorKind::Type,
                            format!(
                                "expected an integer from each part, got {}",
                                other.type_name()
                            ),
                        ))
                    }
                }
            }
            Ok(Value::Int(sum))
        }
        // Every part succeeded (`MSET`'s `all_succeeded`): one part's reply stands for all; with
        // no parts, nothing failed.
        Some(_) => Ok(values
            .into_iter()
            .next()
            .unwrap_or_else(|| Value::SimpleString(Bytes::from_static(b"OK")))),
        None => {
            let mut out = vec![Value::Nil; groups];
            for (part, value) in parts.iter().zip(values) {
                let Value::Array(items) = value else {
                    return Err(Error::new(
                        ErrorKind::Type,
                        format!(
                            "expected an array from each part, got {}",
                            value.type_name()
                        ),
                    ));
                };
                if items.len() != part.groups.len() {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        "a part's reply has the wrong length",
                    ));
                }
                for (&g, item) in part.groups.iter().zip(items) {
                    out[g] = item;
                }
            }
            Ok(Value::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::CommandTable;

    /// What `run_split` answers for `cmd` when it has no keys: `Ok(None)` means it would send.
    fn without_keys(cmd: Cmd) -> Result<Option<Value>> {
        let table = CommandTable::builtin();
        let info = table.lookup(&cmd).unwrap();
        let layout = layout(info, &cmd)?;
        if layout.groups > 0 {
            return Ok(None);
        }
        merge_parts(info, &[], Vec::new(), 0).map(Some)
    }

    #[test]
    fn no_keys_are_answered_without_parts() {
        for name in ["DEL", "EXISTS", "UNLINK", "TOUCH"] {
            assert_eq!(
                without_keys(Cmd::new(name)).unwrap(),
                Some(Value::Int(0)),
                "{name}"
            );
        }
        assert_eq!(
            without_keys(Cmd::new("MGET")).unwrap(),
            Some(Value::Array(Vec::new()))
        );
        let mset = without_keys(Cmd::new("MSET")).unwrap().unwrap();
        assert_eq!(<()>::from_value(mset).ok(), Some(()));
        assert_eq!(
            Vec::<Option<String>>::from_value(without_keys(Cmd::new("MGET")).unwrap().unwrap())
                .unwrap(),
            Vec::<Option<String>>::new()
        );
    }

    #[test]
    fn commands_with_keys_or_without_key_lists_are_not_answered_here() {
        assert_eq!(
            without_keys(Cmd::new("MGET").arg(["a", "b"])).unwrap(),
            None
        );
        let e = without_keys(Cmd::new("PING")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("no keys"), "{e}");
    }

    #[test]
    fn parts_keep_the_key_order() {
        let table = CommandTable::builtin();
        let cmd = Cmd::new("MGET").arg(["a", "b", "{a}c"]);
        let info = table.lookup(&cmd).unwrap();
        let layout = layout(info, &cmd).unwrap();
        let args: Vec<&[u8]> = cmd.args().collect();
        let parts = make_parts(&args, &layout, true);
        assert_eq!(parts.len(), 2, "a and {{a}}c share a slot, b has its own");
        let replies = vec![
            Some(Ok(Value::Array(vec![Value::Int(1), Value::Int(3)]))),
            Some(Ok(Value::Array(vec![Value::Int(2)]))),
        ];
        assert_eq!(
            merge_parts(info, &parts, replies, layout.groups).unwrap(),
            Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
        );
    }
}
