//! `SCAN` over the whole cluster, by slot: every key present for the whole scan is returned at
//! least once, through slot migrations and failovers.
//!
//! The scan keeps the set of slots it is done with. It scans one primary at a time to the end of
//! its keyspace, returning only the keys of the slots that node served when its scan began and
//! that are not done (its *claim*). Before and after, it reads the node's own `CLUSTER NODES`
//! line; the slots of the claim the node served throughout (owned at both ends, in migration at
//! neither, its config epoch unchanged) are done. `SCAN` promises every key that stays on a node
//! for its whole scan; a key of a slot served throughout did. Slots not vouched for (they moved,
//! or their node failed mid-scan) are scanned again, on the nodes that serve them then, until
//! every slot is done.
//!
//! A node's config epoch changes when it takes over a slot (an import ends, a failover), and a
//! slot that left a node and came back to it during its scan can only have come back that way;
//! so when the epoch changed, none of that node's slots are vouched for, and all are scanned
//! again.
//!
//! **Duplicates.** A key is returned more than once only if its slot was scanned again: its slot
//! moved while the scan ran, or its node failed over or took over a slot while being scanned;
//! or if `SCAN` itself repeated it (it may, when a node's table is resized mid-scan). With
//! [`ScanOptions::deduplicate`] no key comes twice.

mod slots;

pub use slots::ScanCursor;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::dispatch::classify::refused_for_now;
use super::node::NodeEntry;
use super::RedisCluster;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, Value};
use crate::topology::keyslot;
use slots::{NodeProgress, Ownership, SlotSet};

/// Passes in a row that may end with no new slot done (a node down until its failover ends, a
/// migration in progress) before the scan gives up.
const MAX_IDLE_PASSES: u32 = 5;

/// What a cluster scan looks for: `MATCH`, `COUNT` and `TYPE` of every node's `SCAN`.
#[derive(Clone, Debug, Default)]
#[must_use = "options do nothing unless passed to `scan`"]
pub struct ScanOptions {
    pattern: Option<Bytes>,
    count: Option<u64>,
    key_type: Option<String>,
    deduplicate: bool,
}

impl ScanOptions {
    /// Every key, with the server's default batch size.
    pub fn new() -> ScanOptions {
        ScanOptions::default()
    }

    /// Only keys matching a glob-style `pattern` (`MATCH`).
    pub fn pattern(mut self, pattern: impl AsRef<[u8]>) -> ScanOptions {
        self.pattern = Some(Bytes::copy_from_slice(pattern.as_ref()));
        self
    }

    /// About how many keys each call looks at (`COUNT`; the server's default is 10).
    pub fn count(mut self, count: u64) -> ScanOptions {
        self.count = Some(count);
        self
    }

    /// Only keys of this type, such as `string` or `hash` (`TYPE`).
    pub fn key_type(mut self, key_type: impl Into<String>) -> ScanOptions {
        self.key_type = Some(key_type.into());
        self
    }

    /// Never returns a key twice, even of a slot that moved mid-scan: the scan remembers the
    /// keys it returned of each slot it is not done with (at most one node's keys at a time).
    pub fn deduplicate(mut self, on: bool) -> ScanOptions {
        self.deduplicate = on;
        self
    }

    fn command(&self, cursor: u64) -> Cmd {
        let mut cmd = Cmd::new("SCAN").arg(cursor);
        if let Some(pattern) = &self.pattern {
            cmd = cmd.arg("MATCH").arg(&pattern[..]);
        }
        if let Some(count) = self.count {
            cmd = cmd.arg("COUNT").arg(count);
        }
        if let Some(key_type) = &self.key_type {
            cmd = cmd.arg("TYPE").arg(key_type.as_str());
        }
        cmd
    }
}

/// A scan of every key of the cluster, slot by slot; see [`RedisCluster::scan`].
#[derive(Debug)]
#[must_use = "a scan does nothing until `next_batch` or `all_keys` is awaited"]
pub struct ClusterScan {
    cluster: RedisCluster,
    options: ScanOptions,
    done: SlotSet,
    /// Nodes still to scan in this pass, the next last.
    queue: Vec<Arc<NodeEntry>>,
    current: Option<Current>,
    /// Slots done when the pass began, and passes in a row that added none.
    done_at_pass: usize,
    idle_passes: u32,
    started: bool,
    /// Why the last node that could not be scanned could not.
    last_error: Option<Error>,
    /// With `deduplicate`: the keys returned of each slot not done.
    returned: HashMap<u16, HashSet<Bytes>>,
}

#[derive(Debug)]
struct Current {
    entry: Arc<NodeEntry>,
    progress: NodeProgress,
}

impl ClusterScan {
    pub(crate) fn new(
        cluster: RedisCluster,
        options: ScanOptions,
        from: ScanCursor,
    ) -> ClusterScan {
        let current = from.node.and_then(|progress| {
            let entry = Arc::clone(cluster.snapshot().find(&progress.node)?);
            Some(Current { entry, progress })
        });
        ClusterScan {
            cluster,
            options,
            done_at_pass: from.done.len(),
            done: from.done,
            queue: Vec::new(),
            current,
            idle_passes: 0,
            started: false,
            last_error: None,
            returned: HashMap::new(),
        }
    }

    /// Where the scan stands: keep it to resume later with [`RedisCluster::scan_from`].
    pub fn cursor(&self) -> ScanCursor {
        ScanCursor {
            done: self.done.clone(),
            node: self.current.as_ref().map(|c| c.progress.clone()),
        }
    }

    /// The next batch of keys, `None` once every slot is done. A batch may be empty (a
    /// `MATCH` or `TYPE` can filter out all a call looked at).
    ///
    /// A node that cannot be reached is left for a later pass (its slots are scanned where they
    /// live then); the scan fails if passes in a row get no slot done, or at an error no retry
    /// cures (a malformed reply, a refused option).
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Bytes>>> {
        loop {
            if self.current.is_none() {
                if self.done.is_full() {
                    self.returned.clear();
                    return Ok(None);
                }
                let Some(entry) = self.queue.pop() else {
                    self.next_pass().await?;
                    continue;
                };
                self.begin(entry).await?;
                continue;
            }
            let Some(current) = self.current.as_mut() else {
                continue;
            };
            let entry = Arc::clone(&current.entry);
            let cmd = self.options.command(current.progress.cursor);
            let reply = match self.cluster.run_on(&entry, &cmd, true).await {
                Ok(reply) => reply,
                Err(e) => {
                    self.skip(e)?;
                    continue;
                }
            };
            let (cursor, keys) = parse_reply(reply).map_err(|e| e.with_node(entry.node.name()))?;
            let keys = self.keep(keys);
            if cursor == 0 {
                self.finish(&entry).await?;
            } else if let Some(current) = self.current.as_mut() {
                current.progress.cursor = cursor;
            }
            return Ok(Some(keys));
        }
    }

    /// Starts a pass over the nodes serving the slots not done, after waiting for a new
    /// topology if the last pass got none done.
    async fn next_pass(&mut self) -> Result<()> {
        if self.started {
            if self.done.len() == self.done_at_pass {
                self.idle_passes += 1;
                if self.idle_passes > MAX_IDLE_PASSES {
                    let left = self.done.complement();
                    return Err(self
                        .last_error
                        .take()
                        .unwrap_or_else(|| {
                            Error::new(
                                ErrorKind::TryAgain,
                                format!(
                                    "slots {} kept moving; resume from the scan's cursor later",
                                    shortened(&left)
                                ),
                            )
                        })
                        .with_note(format!("{} slots were not scanned", left.len())));
                }
                let snapshot = self.cluster.snapshot();
                let serving = self.cluster.inner.serving_epoch();
                self.cluster.inner.request_refresh();
                let wait = Duration::from_millis(100 << self.idle_passes.min(4));
                self.cluster
                    .inner
                    .wait_for_change_since(snapshot.generation, serving, wait)
                    .await;
            } else {
                self.idle_passes = 0;
            }
        }
        self.started = true;
        self.done_at_pass = self.done.len();
        let snapshot = self.cluster.snapshot();
        let mut owners: Vec<Arc<NodeEntry>> = Vec::new();
        for slot in self.done.complement().iter() {
            if let Ok(entry) = snapshot.node_for_slot(slot, None) {
                if !owners.iter().any(|o| Arc::ptr_eq(o, entry)) {
                    owners.push(Arc::clone(entry));
                }
            }
        }
        owners.reverse();
        self.queue = owners;
        Ok(())
    }

    /// Begins the scan of `entry`, if it serves a slot not done.
    async fn begin(&mut self, entry: Arc<NodeEntry>) -> Result<()> {
        let start = match self.ownership(&entry).await {
            Ok(start) => start,
            Err(e) => return self.skip(e),
        };
        let claim = start.owned.minus(&self.done);
        if !claim.is_empty() {
            let progress = NodeProgress {
                node: entry.node.name().to_owned(),
                cursor: 0,
                claim,
                start,
            };
            self.current = Some(Current { entry, progress });
        }
        Ok(())
    }

    /// A node's scan reached its end: the slots it served throughout are done.
    async fn finish(&mut self, entry: &Arc<NodeEntry>) -> Result<()> {
        let end = match self.ownership(entry).await {
            Ok(end) => end,
            Err(e) => return self.skip(e),
        };
        if let Some(current) = self.current.take() {
            let p = &current.progress;
            let vouched = p.start.vouched(&end, &p.claim);
            for slot in vouched.iter() {
                self.returned.remove(&slot);
            }
            self.done.union_with(&vouched);
        }
        Ok(())
    }

    /// Leaves the node being scanned (or begun) for a later pass, unless `err` is one no retry
    /// cures.
    fn skip(&mut self, err: Error) -> Result<()> {
        if err.server_error().is_some() && !refused_for_now(err.kind()) {
            return Err(err);
        }
        tracing::debug!(error = %err, "a node's scan is left for a later pass");
        self.current = None;
        self.last_error = Some(err);
        Ok(())
    }

    /// The keys of the node's claim, less those returned before (with `deduplicate`).
    fn keep(&mut self, keys: Vec<Bytes>) -> Vec<Bytes> {
        let Some(current) = self.current.as_ref() else {
            return Vec::new();
        };
        let claim = &current.progress.claim;
        let dedup = self.options.deduplicate;
        let returned = &mut self.returned;
        keys.into_iter()
            .filter(|key| {
                let slot = keyslot(key);
                claim.contains(slot)
                    && (!dedup || returned.entry(slot).or_default().insert(key.clone()))
            })
            .collect()
    }

    /// What `entry` says of itself.
    async fn ownership(&self, entry: &Arc<NodeEntry>) -> Result<Ownership> {
        let cmd = Cmd::new("CLUSTER").arg("NODES");
        let reply = self.cluster.run_on(entry, &cmd, true).await?;
        let text = reply
            .as_bytes()
            .ok_or_else(|| Error::new(ErrorKind::Protocol, "CLUSTER NODES reply: not text"))?;
        Ownership::parse(text).map_err(|e| e.with_node(entry.node.name()))
    }

    /// Every key the scan finds, in one vector.
    pub async fn all_keys(mut self) -> Result<Vec<Bytes>> {
        let mut all = Vec::new();
        while let Some(keys) = self.next_batch().await? {
            all.extend(keys);
        }
        Ok(all)
    }

    /// The scan as a [`Stream`](futures_util::Stream) of keys; it ends after an error.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use futures_util::StreamExt;
    /// let keys = cluster.scan(slotwise::ScanOptions::new()).into_stream();
    /// let mut keys = std::pin::pin!(keys);
    /// while let Some(key) = keys.next().await {
    ///     println!("{}", String::from_utf8_lossy(&key?));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes>> + Send {
        let state = (Some(self), std::collections::VecDeque::new());
        futures_util::stream::unfold(state, |(mut scan, mut batch)| async move {
            loop {
                if let Some(key) = batch.pop_front() {
                    return Some((Ok(key), (scan, batch)));
                }
                let mut live = scan.take()?;
                match live.next_batch().await {
                    Ok(Some(keys)) => {
                        batch.extend(keys);
                        scan = Some(live);
                    }
                    Ok(None) => return None,
                    Err(e) => return Some((Err(e), (None, batch))),
                }
            }
        })
    }
}

/// `slots` as ranges, shortened past a few.
fn shortened(slots: &SlotSet) -> String {
    let text = slots.to_string();
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// The cursor and the keys of a `SCAN` reply.
fn parse_reply(reply: Value) -> Result<(u64, Vec<Bytes>)> {
    let malformed = |what: &str| Error::new(ErrorKind::Protocol, format!("SCAN reply: {what}"));
    let Value::Array(mut parts) = reply else {
        return Err(malformed("not an array"));
    };
    if parts.len() != 2 {
        return Err(malformed("not a cursor and a list of keys"));
    }
    let keys = parts.pop();
    let cursor = parts
        .pop()
        .as_ref()
        .and_then(Value::as_bytes)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| malformed("the cursor is not a number"))?;
    let keys = match keys {
        Some(Value::Array(keys) | Value::Set(keys)) => keys
            .into_iter()
            .map(|k| match k {
                Value::Bulk(b) | Value::SimpleString(b) => Ok(b),
                other => Err(malformed(&format!("a key is a {}", other.type_name()))),
            })
            .collect::<Result<Vec<Bytes>>>()?,
        _ => return Err(malformed("the keys are not a list")),
    };
    Ok((cursor, keys))
}

impl RedisCluster {
    /// Scans every key of the cluster with `SCAN`, one primary after another, slot by slot.
    /// Keys come in batches ([`ClusterScan::next_batch`]), all at once
    /// ([`ClusterScan::all_keys`]) or as a stream ([`ClusterScan::into_stream`]).
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::ScanOptions;
    /// let mut scan = cluster.scan(ScanOptions::new().pattern("user:*").count(500));
    /// while let Some(keys) = scan.next_batch().await? {
    ///     for key in keys {
    ///         println!("{}", String::from_utf8_lossy(&key));
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Every key present for the whole scan is returned, through slot migrations and
    /// failovers. A key is returned twice only if its slot had to be scanned again (its slot or
    /// node changed hands mid-scan) or `SCAN` itself repeated it, and never with
    /// [`ScanOptions::deduplicate`]. The scan reads each node's `CLUSTER NODES` before and after
    /// its keys. See the [module notes](ClusterScan) for how.
    pub fn scan(&self, options: ScanOptions) -> ClusterScan {
        ClusterScan::new(self.clone(), options, ScanCursor::start())
    }

    /// Resumes a scan from a [`ScanCursor`] taken with [`ClusterScan::cursor`] (of this cluster,
    /// perhaps by another process). A node scan under way resumes at its cursor if the node is
    /// still known; otherwise its slots are scanned again.
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::{ScanCursor, ScanOptions};
    /// let mut scan = cluster.scan(ScanOptions::new());
    /// scan.next_batch().await?;
    /// let kept = scan.cursor().to_string();
    /// // … later …
    /// let cursor: ScanCursor = kept.parse()?;
    /// let rest = cluster.scan_from(cursor, ScanOptions::new()).all_keys().await?;
    /// # Ok(()) }
    /// ```
    pub fn scan_from(&self, cursor: ScanCursor, options: ScanOptions) -> ClusterScan {
        ClusterScan::new(self.clone(), options, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn replies_are_read() {
        let reply = Value::Array(vec![bulk("17"), Value::Array(vec![bulk("a"), bulk("b")])]);
        let (cursor, keys) = parse_reply(reply).unwrap();
        assert_eq!(cursor, 17);
        assert_eq!(
            keys,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );
    }

    #[test]
    fn malformed_replies_are_errors() {
        for reply in [
            Value::Nil,
            Value::Array(vec![bulk("x"), Value::Array(vec![])]),
            Value::Array(vec![bulk("0")]),
            Value::Array(vec![bulk("0"), Value::Int(3)]),
            Value::Array(vec![bulk("0"), Value::Array(vec![Value::Int(1)])]),
        ] {
            let err = parse_reply(reply).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol);
        }
    }

    #[test]
    fn options_build_the_command() {
        let cmd = ScanOptions::new()
            .pattern("k:*")
            .count(100)
            .key_type("hash")
            .command(42);
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(
            args,
            [
                &b"SCAN"[..],
                b"42",
                b"MATCH",
                b"k:*",
                b"COUNT",
                b"100",
                b"TYPE",
                b"hash"
            ]
        );
    }
}
