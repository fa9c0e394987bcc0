//! Where a command's keys are in its arguments: key specs (Redis 7), the legacy
//! first/last/step triple (older servers, converted to a key spec), and the two argument layouts
//! that need a small procedure rather than a spec (`SORT`, `MIGRATE`).
//!
//! This module finds key *positions* and hands out the key bytes. It does not parse `COMMAND`
//! (see `parse`), does not hash keys into slots (see `topology`), and does not decide where a
//! command goes (the cluster module does, with what this module reports).
//!
//! Arguments come from the caller and may be anything: every number read from them (`numkeys`)
//! or from the server (`lastkey`, `keystep` …) goes through saturating arithmetic and is clamped
//! to the arguments that exist, so a hostile command yields fewer keys, never a panic. The server
//! rejects such a command itself.

use std::borrow::Cow;

use super::table::KeyScan;
use crate::protocol::Cmd;

/// Where the search for a key spec's first key begins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BeginSearch {
    /// The keys begin at this argument index (0 is the command name).
    Index(i64),
    /// The keys begin after this keyword (matched without regard to case). A non-negative
    /// `startfrom` searches forward from that index; a negative one searches backward from
    /// `argc + startfrom`.
    Keyword {
        /// The keyword, e.g. `STREAMS`.
        keyword: Cow<'static, [u8]>,
        /// Where the search starts.
        startfrom: i64,
    },
}

/// How a key spec's keys run on from the first one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FindKeys {
    /// Keys from the first up to `lastkey` (relative to the first; negative counts from the end of
    /// the arguments), every `keystep`. With `lastkey` negative and `limit` above 1, only the
    /// first `1/limit` of the remaining arguments are keys (`XREAD … STREAMS k1 k2 id1 id2`).
    Range {
        /// The last key, relative to the first key, or from the end when negative.
        lastkey: i64,
        /// The distance between keys.
        keystep: i64,
        /// The share of the remaining arguments that are keys, when `lastkey` is negative.
        limit: i64,
    },
    /// The argument at `keynumidx` (relative to the begin index) holds the number of keys, which
    /// start at `firstkey` (also relative), every `keystep`.
    Keynum {
        /// Where the key count is, relative to the begin index.
        keynumidx: i64,
        /// Where the first key is, relative to the begin index.
        firstkey: i64,
        /// The distance between keys.
        keystep: i64,
    },
}

/// One key spec: where to begin and how to find the keys from there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeySpec {
    begin: BeginSearch,
    find: FindKeys,
}

impl KeySpec {
    /// A key spec from its two halves.
    pub(crate) const fn new(begin: BeginSearch, find: FindKeys) -> KeySpec {
        KeySpec { begin, find }
    }

    /// The index of the one key this spec selects whatever the arguments, if it is that simple.
    fn single_index(&self) -> Option<i64> {
        match (&self.begin, &self.find) {
            (BeginSearch::Index(i), FindKeys::Range { lastkey: 0, .. }) => Some(*i),
            _ => None,
        }
    }

    /// The spec equivalent to the legacy `(first, last, step)` triple of `COMMAND`, or `None`
    /// when the triple says the command has no keys (`first` is 0).
    pub(crate) fn legacy(first: i64, last: i64, step: i64) -> Option<KeySpec> {
        if first <= 0 {
            return None;
        }
        // The triple's `last` is absolute (or from the end when negative); a range spec's
        // `lastkey` is relative to the first key.
        let lastkey = if last >= 0 {
            last.saturating_sub(first).max(0)
        } else {
            last
        };
        Some(KeySpec::new(
            BeginSearch::Index(first),
            FindKeys::Range {
                lastkey,
                keystep: step,
                limit: 0,
            },
        ))
    }
}

/// How the keys of one command are found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// By these key specs (none: the command has no keys).
    Specs(Cow<'static, [KeySpec]>),
    /// `SORT key [BY p] [LIMIT o c] [GET p …] [ASC|DESC] [ALPHA] [STORE dest]`: the key and the
    /// last `STORE` destination. Its key specs are `unknown` because `STORE` may appear anywhere.
    Sort,
    /// `SORT_RO key …`: the key only (`BY`/`GET` patterns name no routable key).
    SortRo,
    /// `MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw]
    /// [KEYS k …]`: its `KEYS` spec is `incomplete` because a password may read `KEYS`.
    Migrate,
    /// Nothing here can find the keys: ask the server (`COMMAND GETKEYS`).
    Unknown,
}

impl KeySource {
    /// No keys at all.
    pub(crate) const NONE: KeySource = KeySource::Specs(Cow::Borrowed(&[]));

    /// Calls `f(index, key)` for each key of `cmd` in argument order, each index once.
    pub(crate) fn for_each_key<'c>(
        &self,
        cmd: &'c Cmd,
        f: &mut impl FnMut(usize, &'c [u8]),
    ) -> KeyScan {
        let argc = cmd.argc();
        let mut spans = Spans::default();
        match self {
            KeySource::Unknown => return KeyScan::Unknown,
            KeySource::Specs(specs) => {
                if let [spec] = &specs[..] {
                    if let Some(i) = spec.single_index() {
                        // Most commands (GET, SET, HGET …) name one key at a fixed index: no
                        // spans to merge, one walk to it.
                        let at = usize::try_from(i).ok().filter(|&at| at >= 1 && at < argc);
                        if let Some((at, key)) = at.and_then(|at| Some((at, cmd.arg_at(at)?))) {
                            f(at, key);
                        }
                        return KeyScan::Done;
                    }
                }
                for spec in specs.iter() {
                    if let Some(span) = spec_span(spec, cmd, argc) {
                        spans.push(span);
                    }
                }
            }
            KeySource::Sort => {
                spans.push(Span::one(1, argc));
                if let Some(dest) = sort_destination(cmd) {
                    spans.push(Span::one(dest, argc));
                }
            }
            KeySource::SortRo => spans.push(Span::one(1, argc)),
            KeySource::Migrate => migrate_spans(cmd, argc, &mut spans),
        }
        emit(cmd, spans.as_mut_slice(), f);
        KeyScan::Done
    }
}

/// The argument indices `next, next + step, … ≤ last` still to report.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    next: usize,
    last: usize,
    step: usize,
}

impl Span {
    /// A span of the one index `i`, empty when `i` is not an argument.
    fn one(i: usize, argc: usize) -> Span {
        if i >= 1 && i < argc {
            Span {
                next: i,
                last: i,
                step: 1,
            }
        } else {
            Span::default()
        }
    }

    fn is_done(&self) -> bool {
        self.next == 0 || self.next > self.last
    }
}

/// Up to four spans inline: no command has more than three key specs, and finding keys runs for
/// every command, so the common case must not allocate.
#[derive(Debug, Default)]
struct Spans {
    inline: [Span; 4],
    len: usize,
    spill: Vec<Span>,
}

impl Spans {
    fn push(&mut self, span: Span) {
        if span.is_done() {
            return;
        }
        match self.inline.get_mut(self.len) {
            Some(slot) if self.spill.is_empty() => {
                *slot = span;
                self.len += 1;
            }
            _ => {
                if self.spill.is_empty() {
                    self.spill.extend_from_slice(&self.inline[..self.len]);
                }
                self.spill.push(span);
            }
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Span] {
        if self.spill.is_empty() {
            &mut self.inline[..self.len]
        } else {
            &mut self.spill
        }
    }
}

/// Reports the keys of `spans` in argument order, each index once, walking the arguments once
/// (`Cmd::arg_at` is linear, so asking for each key by index would be quadratic in `MGET`).
fn emit<'c>(cmd: &'c Cmd, spans: &mut [Span], f: &mut impl FnMut(usize, &'c [u8])) {
    let mut args = cmd.args();
    let mut pos = 0;
    loop {
        let Some(i) = spans.iter().filter(|s| !s.is_done()).map(|s| s.next).min() else {
            return;
        };
        // Every span standing on `i` moves past it, which removes duplicates across specs and
        // makes `i` grow strictly, so the walk over the arguments only goes forward.
        for s in spans.iter_mut().filter(|s| !s.is_done() && s.next == i) {
            s.next = s.next.saturating_add(s.step);
        }
        match args.nth(i - pos) {
            Some(key) => f(i, key),
            None => return,
        }
        pos = i + 1;
    }
}

/// The indices one key spec selects in `cmd`, clamped to the arguments present.
fn spec_span(spec: &KeySpec, cmd: &Cmd, argc: usize) -> Option<Span> {
    let argc_i = i64::try_from(argc).unwrap_or(i64::MAX);
    let begin = match &spec.begin {
        BeginSearch::Index(i) => *i,
        BeginSearch::Keyword { keyword, startfrom } => {
            find_keyword(cmd, argc_i, keyword, *startfrom)?.saturating_add(1)
        }
    };
    if begin < 1 || begin >= argc_i {
        return None;
    }
    let (first, last, step) = match spec.find {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => {
            let last = if lastkey >= 0 {
                begin.saturating_add(lastkey)
            } else if limit <= 1 {
                argc_i.saturating_add(lastkey)
            } else {
                let share = argc_i.saturating_sub(begin) / limit;
                begin.saturating_add(share).saturating_add(lastkey)
            };
            (begin, last, keystep)
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            let at = usize::try_from(begin.saturating_add(keynumidx)).ok()?;
            let count = parse_count(cmd.arg_at(at)?)?;
            if count == 0 {
                return None;
            }
            let step = keystep.max(1);
            let first = begin.saturating_add(firstkey);
            let last = first.saturating_add((count - 1).saturating_mul(step));
            (first, last, step)
        }
    };
    // Past the end means the caller gave fewer arguments than the spec describes: report those
    // that exist and let the server reject the command.
    let last = last.min(argc_i - 1);
    if first < 1 || first > last {
        return None;
    }
    Some(Span {
        next: usize::try_from(first).ok()?,
        last: usize::try_from(last).ok()?,
        step: usize::try_from(step.max(1)).ok()?,
    })
}

/// The index of `keyword` as a key spec searches for it, or `None`.
///
/// A backward search is the same as the last match at or before its start, so both directions
/// are one forward pass over the arguments.
fn find_keyword(cmd: &Cmd, argc: i64, keyword: &[u8], startfrom: i64) -> Option<i64> {
    let (lo, hi, last_match) = if startfrom >= 0 {
        (startfrom.max(1), argc - 1, false)
    } else {
        (1, argc.saturating_add(startfrom), true)
    };
    let mut found = None;
    for (i, arg) in (0..).zip(cmd.args()) {
        if i > hi {
            break;
        }
        if i >= lo && arg.eq_ignore_ascii_case(keyword) {
            found = Some(i);
            if !last_match {
                break;
            }
        }
    }
    found
}

/// A key count as the server reads it: a non-negative decimal integer.
fn parse_count(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg)
        .ok()?
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
}

/// The index of the last `STORE` destination of a `SORT`, skipping option arguments so a pattern
/// or a count that reads `store` is not taken for the keyword.
fn sort_destination(cmd: &Cmd) -> Option<usize> {
    let mut dest = None;
    let mut args = cmd.args().enumerate().skip(2);
    while let Some((_, arg)) = args.next() {
        if arg.eq_ignore_ascii_case(b"limit") {
            args.nth(1);
        } else if arg.eq_ignore_ascii_case(b"by") || arg.eq_ignore_ascii_case(b"get") {
            args.next();
        } else if arg.eq_ignore_ascii_case(b"store") {
            // The server keeps the last STORE.
            if let Some((j, _)) = args.next() {
                dest = Some(j);
            }
        }
    }
    dest
}

/// The key of a `MIGRATE`: the one at index 3, or the ones after `KEYS` (then index 3 is empty).
fn migrate_spans(cmd: &Cmd, argc: usize, spans: &mut Spans) {
    let mut args = cmd.args().enumerate().skip(6);
    let mut keys_from = None;
    while let Some((i, arg)) = args.next() {
        if arg.eq_ignore_ascii_case(b"auth") {
            args.next();
        } else if arg.eq_ignore_ascii_case(b"auth2") {
            args.nth(1);
        } else if arg.eq_ignore_ascii_case(b"keys") {
            keys_from = Some(i + 1);
            break;
        }
    }
    let single_is_empty = cmd.arg_at(3).is_some_and(<[u8]>::is_empty);
    if keys_from.is_none() || !single_is_empty {
        spans.push(Span::one(3, argc));
    }
    if let Some(first) = keys_from.filter(|first| *first < argc) {
        spans.push(Span {
            next: first,
            last: argc - 1,
            step: 1,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> Cmd {
        let mut c = Cmd::new(line.split(' ').next().unwrap());
        for a in line.split(' ').skip(1) {
            c.push_bytes(if a == "\"\"" { b"" } else { a.as_bytes() });
        }
        c
    }

    fn keys(source: &KeySource, line: &str) -> Vec<(usize, String)> {
        let c = cmd(line);
        let mut out = Vec::new();
        let scan = source.for_each_key(&c, &mut |i, k| {
            out.push((i, String::from_utf8_lossy(k).into_owned()))
        });
        assert_eq!(scan, KeyScan::Done, "{line}");
        out
    }

    fn specs(list: Vec<KeySpec>) -> KeySource {
        KeySource::Specs(Cow::Owned(list))
    }

    #[test]
    fn one_key_at_a_fixed_index_is_found_as_by_the_general_walk() {
        let one = specs(vec![range(1, 0, 1, 0)]);
        assert_eq!(keys(&one, "GET k"), vec![(1, "k".to_owned())]);
        assert_eq!(keys(&one, "SET k v EX 10"), vec![(1, "k".to_owned())]);
        assert_eq!(keys(&one, "GET"), vec![], "too few arguments: no key");
        let second = specs(vec![range(2, 0, 1, 0)]);
        assert_eq!(keys(&second, "X a b c"), vec![(2, "b".to_owned())]);
        assert_eq!(keys(&second, "X a"), vec![]);
        assert_eq!(keys(&specs(vec![range(0, 0, 1, 0)]), "X a"), vec![]);
        assert_eq!(keys(&specs(vec![range(-1, 0, 1, 0)]), "X a"), vec![]);
    }

    fn range(index: i64, lastkey: i64, keystep: i64, limit: i64) -> KeySpec {
        KeySpec::new(
            BeginSearch::Index(index),
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            },
        )
    }

    fn keynum(index: i64) -> KeySpec {
        KeySpec::new(
            BeginSearch::Index(index),
            FindKeys::Keynum {
                keynumidx: 0,
                firstkey: 1,
                keystep: 1,
            },
        )
    }

    #[test]
    fn legacy_triple_becomes_a_range() {
        let mset = KeySource::Specs(Cow::Owned(vec![KeySpec::legacy(1, -1, 2).unwrap()]));
        assert_eq!(
            keys(&mset, "MSET a 1 b 2"),
            vec![(1, "a".into()), (3, "b".into())]
        );
        let lcs = specs(vec![KeySpec::legacy(1, 2, 1).unwrap()]);
        assert_eq!(keys(&lcs, "LCS x y").len(), 2);
        assert_eq!(KeySpec::legacy(0, 0, 0), None);
    }

    #[test]
    fn limit_divides_the_remaining_arguments() {
        let xread = specs(vec![KeySpec::new(
            BeginSearch::Keyword {
                keyword: Cow::Borrowed(b"STREAMS"),
                startfrom: 1,
            },
            FindKeys::Range {
                lastkey: -1,
                keystep: 1,
                limit: 2,
            },
        )]);
        assert_eq!(
            keys(&xread, "XREAD COUNT 2 streams s1 s2 0 0"),
            vec![(4, "s1".into()), (5, "s2".into())]
        );
        // An odd count rounds down, as the server does.
        assert_eq!(keys(&xread, "XREAD STREAMS s1 s2 0").len(), 1);
        assert!(keys(&xread, "XREAD COUNT 2").is_empty());
        assert!(keys(&xread, "XREAD STREAMS").is_empty());
    }

    #[test]
    fn backward_keyword_search_takes_the_last_match() {
        let spec = specs(vec![KeySpec::new(
            BeginSearch::Keyword {
                keyword: Cow::Borrowed(b"KEYS"),
                startfrom: -2,
            },
            FindKeys::Range {
                lastkey: -1,
                keystep: 1,
                limit: 0,
            },
        )]);
        assert_eq!(
            keys(&spec, "MIGRATE h p \"\" 0 5 KEYS KEYS a b"),
            vec![(8, "a".into()), (9, "b".into())]
        );
    }

    #[test]
    fn specs_merge_in_argument_order_without_duplicates() {
        let source = specs(vec![keynum(2), range(1, 0, 1, 0), range(3, 0, 1, 0)]);
        assert_eq!(
            keys(&source, "ZUNIONSTORE dst 2 a b"),
            vec![(1, "dst".into()), (3, "a".into()), (4, "b".into())]
        );
        // More specs than fit inline still work.
        let many = specs((1..=6).map(|i| range(i, 0, 1, 0)).collect());
        assert_eq!(keys(&many, "X a b c d e f g").len(), 6);
    }

    #[test]
    fn hostile_key_counts_stop_at_the_arguments() {
        let eval = specs(vec![keynum(2)]);
        assert_eq!(keys(&eval, "EVAL s 5 a b").len(), 2);
        assert!(keys(&eval, "EVAL s x a b").is_empty());
        assert!(keys(&eval, "EVAL s -1 a b").is_empty());
        assert!(keys(&eval, "EVAL s 99999999999999999999 a").is_empty());
        assert_eq!(keys(&eval, "EVAL s 9223372036854775807 a b").len(), 2);
        assert!(keys(&eval, "EVAL").is_empty());
        let weird = specs(vec![KeySpec::new(
            BeginSearch::Index(i64::MAX),
            FindKeys::Range {
                lastkey: i64::MAX,
                keystep: 0,
                limit: i64::MIN,
            },
        )]);
        assert!(keys(&weird, "X a b").is_empty());
        let zero_step = specs(vec![range(1, -1, 0, 0)]);
        assert_eq!(keys(&zero_step, "X a b").len(), 2);
    }

    #[test]
    fn sort_and_migrate_procedures() {
        assert_eq!(
            keys(
                &KeySource::Sort,
                "SORT k BY store LIMIT 0 store GET store STORE d"
            ),
            vec![(1, "k".into()), (10, "d".into())]
        );
        assert_eq!(keys(&KeySource::Sort, "SORT k STORE").len(), 1);
        assert_eq!(keys(&KeySource::SortRo, "SORT_RO k STORE d").len(), 1);
        assert_eq!(
            keys(
                &KeySource::Migrate,
                "MIGRATE h p \"\" 0 5 AUTH2 u KEYS KEYS a"
            ),
            vec![(10, "a".into())]
        );
        assert_eq!(
            keys(&KeySource::Migrate, "MIGRATE h p k 0 5 REPLACE"),
            vec![(3, "k".into())]
        );
        assert!(keys(&KeySource::Migrate, "MIGRATE h").is_empty());
    }

    #[test]
    fn unknown_reports_nothing() {
        let c = cmd("X a");
        let mut called = false;
        let scan = KeySource::Unknown.for_each_key(&c, &mut |_, _| called = true);
        assert_eq!(scan, KeyScan::Unknown);
        assert!(!called);
    }
}
