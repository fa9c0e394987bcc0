//! How to find the keys of each movable-key command: for a server without key specs, and for the
//! few commands whose Redis 7 specs are `unknown` or `incomplete` (`SORT`, `SORT_RO`,
//! `MIGRATE`).
//!
//! Only data: when a layout is used is the parent module's job, and finding keys with one is
//! `keys`'s.

use std::borrow::Cow;

use crate::routing::keys::{BeginSearch, FindKeys, KeySource, KeySpec};

/// `numkeys` at `index`, the keys right after it.
const fn numkeys_at(index: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Index(index),
        FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            keystep: 1,
        },
    )
}

/// One key at `index`.
const fn key_at(index: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Index(index),
        FindKeys::Range {
            lastkey: 0,
            keystep: 1,
            limit: 0,
        },
    )
}

/// One key after `keyword`, searched from `startfrom`.
const fn key_after(keyword: &'static [u8], startfrom: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Keyword {
            keyword: Cow::Borrowed(keyword),
            startfrom,
        },
        FindKeys::Range {
            lastkey: 0,
            keystep: 1,
            limit: 0,
        },
    )
}

/// `STREAMS k1 … kn id1 … idn`: the first half of what follows `STREAMS`.
const fn streams_from(startfrom: i64) -> KeySpec {
    KeySpec::new(
        BeginSearch::Keyword {
            keyword: Cow::Borrowed(b"STREAMS"),
            startfrom,
        },
        FindKeys::Range {
            lastkey: -1,
            keystep: 1,
            limit: 2,
        },
    )
}

const fn specs(list: &'static [KeySpec]) -> KeySource {
    KeySource::Specs(Cow::Borrowed(list))
}

// Spec lists live in statics of their own: a `KeySpec` may own its keyword, so a temporary
// array of them cannot be promoted to `'static` inside the table below.
/// `numkeys` then keys, at 1 (`ZUNION`, `LMPOP` …) or after a script or timeout at 2.
static NUMKEYS_AT_1: [KeySpec; 1] = [numkeys_at(1)];
static NUMKEYS_AT_2: [KeySpec; 1] = [numkeys_at(2)];
/// A destination, then `numkeys` and keys (`ZUNIONSTORE` …).
static DEST_THEN_NUMKEYS: [KeySpec; 2] = [key_at(1), numkeys_at(2)];
static XREAD: [KeySpec; 1] = [streams_from(1)];
/// `XREADGROUP GROUP g c …`: the keyword cannot come before index 4.
static XREADGROUP: [KeySpec; 1] = [streams_from(4)];
static GEORADIUS: [KeySpec; 3] = [
    key_at(1),
    key_after(b"STORE", 6),
    key_after(b"STOREDIST", 6),
];
static GEORADIUSBYMEMBER: [KeySpec; 3] = [
    key_at(1),
    key_after(b"STORE", 5),
    key_after(b"STOREDIST", 5),
];

/// The key layouts of the movable-key commands.
pub(super) static LAYOUTS: &[(&str, KeySource)] = &[
    ("eval", specs(&NUMKEYS_AT_2)),
    ("eval_ro", specs(&NUMKEYS_AT_2)),
    ("evalsha", specs(&NUMKEYS_AT_2)),
    ("evalsha_ro", specs(&NUMKEYS_AT_2)),
    ("fcall", specs(&NUMKEYS_AT_2)),
    ("fcall_ro", specs(&NUMKEYS_AT_2)),
    ("zunionstore", specs(&DEST_THEN_NUMKEYS)),
    ("zinterstore", specs(&DEST_THEN_NUMKEYS)),
    ("zdiffstore", specs(&DEST_THEN_NUMKEYS)),
    ("zunion", specs(&NUMKEYS_AT_1)),
    ("zinter", specs(&NUMKEYS_AT_1)),
    ("zdiff", specs(&NUMKEYS_AT_1)),
    ("zintercard", specs(&NUMKEYS_AT_1)),
    ("sintercard", specs(&NUMKEYS_AT_1)),
    ("lmpop", specs(&NUMKEYS_AT_1)),
    ("zmpop", specs(&NUMKEYS_AT_1)),
    // The blocking forms take the timeout first.
    ("blmpop", specs(&NUMKEYS_AT_2)),
    ("bzmpop", specs(&NUMKEYS_AT_2)),
    ("xread", specs(&XREAD)),
    ("xreadgroup", specs(&XREADGROUP)),
    ("georadius", specs(&GEORADIUS)),
    ("georadiusbymember", specs(&GEORADIUSBYMEMBER)),
    ("sort", KeySource::Sort),
    ("sort_ro", KeySource::SortRo),
    ("migrate", KeySource::Migrate),
];
