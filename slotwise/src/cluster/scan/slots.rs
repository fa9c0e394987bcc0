//! What a cluster scan keeps: sets of slots, a node's own word on which slots it serves, and
//! the cursor a caller can hold to resume a scan.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::SLOT_COUNT;

const WORDS: usize = SLOT_COUNT as usize / 64;

/// A set of hash slots, one bit each.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SlotSet(Box<[u64; WORDS]>);

impl SlotSet {
    pub(crate) fn new() -> SlotSet {
        SlotSet(Box::new([0; WORDS]))
    }

    /// Every slot.
    pub(crate) fn all() -> SlotSet {
        SlotSet(Box::new([u64::MAX; WORDS]))
    }

    /// The slots not in `self`.
    pub(crate) fn complement(&self) -> SlotSet {
        SlotSet::all().minus(self)
    }

    pub(crate) fn insert(&mut self, slot: u16) {
        if let Some(w) = self.0.get_mut(usize::from(slot) / 64) {
            *w |= 1 << (slot % 64);
        }
    }

    pub(crate) fn insert_range(&mut self, from: u16, to: u16) {
        for slot in from..=to.min(SLOT_COUNT - 1) {
            self.insert(slot);
        }
    }

    pub(crate) fn contains(&self, slot: u16) -> bool {
        self.0
            .get(usize::from(slot) / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.0.iter().all(|w| *w == u64::MAX)
    }

    /// The slots of `self` that are not in `other`.
    pub(crate) fn minus(&self, other: &SlotSet) -> SlotSet {
        let mut out = self.clone();
        for (w, o) in out.0.iter_mut().zip(other.0.iter()) {
            *w &= !o;
        }
        out
    }

    /// The slots in both.
    pub(crate) fn and(&self, other: &SlotSet) -> SlotSet {
        let mut out = self.clone();
        for (w, o) in out.0.iter_mut().zip(other.0.iter()) {
            *w &= o;
        }
        out
    }

    pub(crate) fn union_with(&mut self, other: &SlotSet) {
        for (w, o) in self.0.iter_mut().zip(other.0.iter()) {
            *w |= o;
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..SLOT_COUNT).filter(|s| self.contains(*s))
    }

    /// Runs of consecutive slots, as `(first, last)`.
    fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for slot in self.iter() {
            match out.last_mut() {
                Some((_, last)) if *last + 1 == slot => *last = slot,
                _ => out.push((slot, slot)),
            }
        }
        out
    }
}

impl fmt::Display for SlotSet {
    /// `0-5460,5462`; nothing for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (first, last)) in self.ranges().into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if first == last {
                write!(f, "{first}")?;
            } else {
                write!(f, "{first}-{last}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlotSet({self})")
    }
}

fn slot(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|s| *s < SLOT_COUNT)
}

impl FromStr for SlotSet {
    type Err = Error;

    fn from_str(text: &str) -> Result<SlotSet> {
        let mut set = SlotSet::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            match (slot(first), slot(last)) {
                (Some(first), Some(last)) if first <= last => set.insert_range(first, last),
                _ => return Err(bad_cursor("a slot range is not valid")),
            }
        }
        Ok(set)
    }
}

/// What a node says of itself in `CLUSTER NODES`: the slots it serves, those in migration to or
/// from it, and its config epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ownership {
    pub(crate) epoch: u64,
    pub(crate) owned: SlotSet,
    /// Slots migrating away from it or being imported into it.
    pub(crate) moving: SlotSet,
}

impl Ownership {
    /// Reads the `myself` line of a `CLUSTER NODES` reply.
    pub(crate) fn parse(text: &[u8]) -> Result<Ownership> {
        let malformed =
            |what: &str| Error::new(ErrorKind::Protocol, format!("CLUSTER NODES reply: {what}"));
        let text = std::str::from_utf8(text).map_err(|_| malformed("not text"))?;
        let line = text
            .lines()
            .find(|line| {
                line.split(' ')
                    .nth(2)
                    .is_some_and(|flags| flags.split(',').any(|f| f == "myself"))
            })
            .ok_or_else(|| malformed("no line for the node itself"))?;
        let fields: Vec<&str> = line.split(' ').collect();
        let epoch = fields
            .get(6)
            .and_then(|e| e.parse::<u64>().ok())
            .ok_or_else(|| malformed("the config epoch is not a number"))?;
        let mut owned = SlotSet::new();
        let mut moving = SlotSet::new();
        for part in fields.iter().skip(8).filter(|p| !p.is_empty()) {
            if let Some(inner) = part.strip_prefix('[') {
                // `[slot->-id]` (migrating) or `[slot-<-id]` (importing).
                let number = inner.split('-').next().and_then(slot);
                match number {
                    Some(s) => moving.insert(s),
                    None => return Err(malformed("a slot in migration is not valid")),
                }
                continue;
            }
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            match (slot(first), slot(last)) {
                (Some(first), Some(last)) if first <= last => owned.insert_range(first, last),
                _ => return Err(malformed("a slot range is not valid")),
            }
        }
        Ok(Ownership {
            epoch,
            owned,
            moving,
        })
    }

    /// The slots of `claim` this node served for the whole time between `self` and `end`: it
    /// owned them at both ends, none was in migration at either, and its config epoch did not
    /// change (a node that took slots over bumps its epoch, so a slot that left and came back
    /// is not vouched for).
    pub(crate) fn vouched(&self, end: &Ownership, claim: &SlotSet) -> SlotSet {
        if self.epoch != end.epoch {
            return SlotSet::new();
        }
        claim
            .and(&self.owned)
            .and(&end.owned)
            .minus(&self.moving)
            .minus(&end.moving)
    }
}

fn bad_cursor(detail: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("not a cluster scan cursor: {detail}"),
    )
}

/// Where a cluster scan stands, to resume it later with [`RedisCluster::scan_from`]: the slots
/// whose keys have all been returned, and the node being scanned with its cursor.
///
/// It converts to and from a string (`to_string`, `parse`) of a few hundred bytes, for keeping
/// it outside the process.
///
/// [`RedisCluster::scan_from`]: crate::RedisCluster::scan_from
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanCursor {
    pub(crate) done: SlotSet,
    pub(crate) node: Option<NodeProgress>,
}

/// A node's scan under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeProgress {
    pub(crate) node: String,
    pub(crate) cursor: u64,
    /// The slots whose keys this node's scan returns.
    pub(crate) claim: SlotSet,
    /// What the node said of itself when its scan began.
    pub(crate) start: Ownership,
}

impl ScanCursor {
    /// The cursor of a scan that has not begun.
    pub fn start() -> ScanCursor {
        ScanCursor {
            done: SlotSet::new(),
            node: None,
        }
    }

    /// True once every key of `slot` has been returned.
    pub fn is_done(&self, slot: u16) -> bool {
        self.done.contains(slot)
    }

    /// How many slots are done.
    pub fn slots_done(&self) -> usize {
        self.done.len()
    }

    /// True once every slot is done: the scan is over.
    pub fn is_finished(&self) -> bool {
        self.done.is_full()
    }
}

impl Default for ScanCursor {
    fn default() -> ScanCursor {
        ScanCursor::start()
    }
}

impl fmt::Display for ScanCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1 done={}", self.done)?;
        if let Some(p) = &self.node {
            write!(
                f,
                " node={} cursor={} claim={} epoch={} owned={} moving={}",
                p.node, p.cursor, p.claim, p.start.epoch, p.start.owned, p.start.moving
            )?;
        }
        Ok(())
    }
}

impl FromStr for ScanCursor {
    type Err = Error;

    fn from_str(text: &str) -> Result<ScanCursor> {
        let mut parts = text.split(' ');
        if parts.next() != Some("v1") {
            return Err(bad_cursor("unknown version"));
        }
        let mut fields: Vec<(&str, &str)> = Vec::new();
        for part in parts {
            let pair = part
                .split_once('=')
                .ok_or_else(|| bad_cursor("a field has no value"))?;
            fields.push(pair);
        }
        let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let done = get("done")
            .ok_or_else(|| bad_cursor("no done slots"))?
            .parse()?;
        let node = match get("node") {
            None => None,
            Some(node) => {
                let number = |name: &str| {
                    get(name)
                        .and_then(|v| v.parse::<u64>().ok())
                        .ok_or_else(|| bad_cursor("a number is missing"))
                };
                let set = |name: &str| -> Result<SlotSet> {
                    get(name)
                        .ok_or_else(|| bad_cursor("a slot set is missing"))?
                        .parse()
                };
                Some(NodeProgress {
                    node: node.to_owned(),
                    cursor: number("cursor")?,
                    claim: set("claim")?,
                    start: Ownership {
                        epoch: number("epoch")?,
                        owned: set("owned")?,
                        moving: set("moving")?,
                    },
                })
            }
        };
        Ok(ScanCursor { done, node })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_sets_print_and_parse_as_ranges() {
        let mut set = SlotSet::new();
        set.insert_range(0, 5460);
        set.insert(5462);
        set.insert(16383);
        assert_eq!(set.to_string(), "0-5460,5462,16383");
        assert_eq!(set.to_string().parse::<SlotSet>().unwrap(), set);
        assert_eq!(set.len(), 5463);
        assert!("".parse::<SlotSet>().unwrap().is_empty());
        for bad in ["16384", "5-3", "a", "1-"] {
            assert_eq!(
                bad.parse::<SlotSet>().unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
        let mut full = SlotSet::new();
        full.insert_range(0, 16383);
        assert!(full.is_full());
        assert_eq!(full, SlotSet::all());
        assert_eq!(set.complement().len(), 16384 - 5463);
        assert_eq!(full.minus(&set).len(), 16384 - 5463);
    }

    const NODES: &str = "\
e7d1eec 127.0.0.1:30001@40001 myself,master - 0 0 7 connected 0-5460 [5461->-a1b2] [100-<-c3d4]
a1b2 127.0.0.1:30002@40002 master - 0 1 2 connected 5461-10922
";

    #[test]
    fn the_node_itself_is_read() {
        let own = Ownership::parse(NODES.as_bytes()).unwrap();
        assert_eq!(own.epoch, 7);
        assert_eq!(own.owned.to_string(), "0-5460");
        assert_eq!(own.moving.to_string(), "100,5461");
        let replica = "x 127.0.0.1:1@2 myself,slave e7d1eec 0 0 7 connected\n";
        assert!(Ownership::parse(replica.as_bytes())
            .unwrap()
            .owned
            .is_empty());
        for bad in [
            "",
            "x 1:1@2 master - 0 0 7 connected 0-5\n",
            "x a myself - 0 0 z c\n",
        ] {
            assert_eq!(
                Ownership::parse(bad.as_bytes()).unwrap_err().kind(),
                ErrorKind::Protocol
            );
        }
    }

    #[test]
    fn only_slots_held_throughout_are_vouched_for() {
        let start = Ownership::parse(NODES.as_bytes()).unwrap();
        let mut claim = SlotSet::new();
        claim.insert_range(0, 16383);
        let vouched = start.vouched(&start, &claim);
        // Slot 100 was being imported: not vouched for.
        assert_eq!(vouched.to_string(), "0-99,101-5460");
        let mut moved = start.clone();
        moved.epoch = 8;
        assert!(start.vouched(&moved, &claim).is_empty());
    }

    #[test]
    fn cursors_round_trip() {
        let mut cursor = ScanCursor::start();
        assert_eq!(cursor.to_string().parse::<ScanCursor>().unwrap(), cursor);
        cursor.done.insert_range(0, 99);
        let start = Ownership::parse(NODES.as_bytes()).unwrap();
        cursor.node = Some(NodeProgress {
            node: "127.0.0.1:30001".into(),
            cursor: 1234,
            claim: start.owned.minus(&cursor.done),
            start,
        });
        let text = cursor.to_string();
        assert_eq!(text.parse::<ScanCursor>().unwrap(), cursor);
        for bad in ["", "v2 done=", "v1", "v1 done=0-1 node=x cursor=z"] {
            assert_eq!(
                bad.parse::<ScanCursor>().unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }
}
