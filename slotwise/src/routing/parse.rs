//! Reading the reply of `COMMAND` into entries, in any shape a server sends it: RESP2 (nested
//! arrays, key specs as flat key/value arrays) or RESP3 (maps and sets); Redis 7 entries (ten
//! fields: name, arity, flags, first key, last key, step, ACL categories, tips, key specs,
//! subcommands) or older ones (the first six or seven).
//!
//! A reply comes decoded, or kept as it came ([`WireReply`]); then each entry is decoded only
//! when it is reached, and dropped once read.
//!
//! This file only reads what the server said, keeping track of what it did not say (no tips,
//! no key specs, no subcommands). Filling those gaps from built-in data is `builtin`'s job;
//! finding keys with the specs read here is `keys`'s.

use std::borrow::{Borrow, Cow};

use super::builtin;
use super::keys::{BeginSearch, FindKeys, KeySpec};
use super::table::{CommandFlags, CommandInfo, Tips};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Listed, Value, WireReply};

/// One command as the reply describes it, before the gaps are filled.
#[derive(Debug)]
pub(super) struct Entry {
    /// Lower case; subcommands as `parent|sub`.
    pub(super) name: String,
    pub(super) arity: i64,
    pub(super) flags: CommandFlags,
    /// The legacy first key, last key and step.
    pub(super) legacy: (i64, i64, i64),
    /// `None` when the entry has no tips field (servers before 7).
    pub(super) tips: Option<Tips>,
    /// `None` when the entry has no key specs field (servers before 7).
    pub(super) specs: Option<Specs>,
    /// `None` when the entry has no subcommands field (servers before 7).
    pub(super) subcommands: Option<Vec<Entry>>,
}

/// The key specs of one entry.
#[derive(Debug)]
pub(super) struct Specs {
    /// The specs that can be followed.
    pub(super) list: Vec<KeySpec>,
    /// False when some spec cannot be followed: its search is `unknown` (or of a type this
    /// version does not know) or it is flagged `incomplete`.
    pub(super) complete: bool,
}

#[cfg(test)]
/// Reads a whole `COMMAND` reply into table entries (gaps filled).
pub(super) fn parse_reply(reply: &Value) -> Result<Vec<CommandInfo>> {
    match plain(reply) {
        Value::Array(items) | Value::Set(items) => entries(items.iter().map(Ok)).collect(),
        other => Err(not_a_list(other)),
    }
}

/// The entries of a whole `COMMAND` or `COMMAND INFO` reply kept as it came (gaps filled),
/// each read from its values as the iterator reaches it.
pub(super) fn parse_wire(reply: WireReply) -> Result<impl Iterator<Item = Result<CommandInfo>>> {
    match reply.into_list().map_err(|e| e.with_command("COMMAND"))? {
        Listed::Elements(items) => Ok(entries(items)),
        Listed::Other(other) => Err(not_a_list(plain(&other))),
    }
}

/// Reads each element of a reply into an entry.
fn entries<V: Borrow<Value>>(
    items: impl Iterator<Item = Result<V>>,
) -> impl Iterator<Item = Result<CommandInfo>> {
    items.filter_map(|item| match item {
        Err(e) => Some(Err(e.with_command("COMMAND"))),
        // `COMMAND INFO` answers nil for a name the server does not know.
        Ok(e) if matches!(plain(e.borrow()), Value::Nil) => None,
        Ok(e) => Some(parse_entry(e.borrow(), 0).map(builtin::fill)),
    })
}

/// The error for a reply that is not a list of commands.
fn not_a_list(reply: &Value) -> Error {
    match reply {
        Value::Error(e) => Error::from_server(e.clone()).with_command("COMMAND"),
        other => malformed(format!(
            "expected an array of commands, got a {}",
            other.type_name()
        )),
    }
}

/// Subcommands of subcommands do not exist; one extra level is tolerated and deeper nesting
/// is refused so a hostile reply cannot recurse without bound.
const MAX_NESTING: usize = 2;

fn parse_entry(value: &Value, depth: usize) -> Result<Entry> {
    let fields = list(value, "a command entry")?;
    let [name, arity, flags, first, last, step, rest @ ..] = fields else {
        return Err(malformed(format!(
            "a command entry has {} fields, expected at least 6",
            fields.len()
        )));
    };
    let name = String::from_utf8_lossy(text(name, "a command name")?).to_ascii_lowercase();
    let ctx = |what: &str| format!("{what} of `{name}`");
    let arity = int(arity, &ctx("the arity"))?;
    let mut command_flags = CommandFlags::default();
    for flag in list(flags, &ctx("the flags"))? {
        command_flags = command_flags.union(CommandFlags::from_name(text(flag, &ctx("a flag"))?));
    }
    let legacy = (
        int(first, &ctx("the first key"))?,
        int(last, &ctx("the last key"))?,
        int(step, &ctx("the key step"))?,
    );
    if let Some(categories) = rest.first() {
        // Servers before 7 have no `blocking` flag, only this ACL category.
        for category in list(categories, &ctx("the ACL categories"))? {
            if text(category, &ctx("an ACL category"))?.eq_ignore_ascii_case(b"@blocking") {
                command_flags = command_flags.union(CommandFlags::BLOCKING);
            }
        }
    }
    let tips = match rest.get(1) {
        Some(tips) => {
            let mut parsed = Tips::default();
            for tip in list(tips, &ctx("the tips"))? {
                parsed.add(text(tip, &ctx("a tip"))?);
            }
            Some(parsed)
        }
        None => None,
    };
    let specs = match rest.get(2) {
        Some(specs) => {
            let mut parsed = Specs {
                list: Vec::new(),
                complete: true,
            };
            for spec in list(specs, &ctx("the key specs"))? {
                match parse_spec(spec, &name)? {
                    Some(spec) => parsed.list.push(spec),
                    None => parsed.complete = false,
                }
            }
            Some(parsed)
        }
        None => None,
    };
    let subcommands = match rest.get(3) {
        Some(subs) => {
            let subs = list(subs, &ctx("the subcommands"))?;
            if !subs.is_empty() && depth >= MAX_NESTING {
                return Err(malformed(ctx("subcommands nested too deep")));
            }
            Some(
                subs.iter()
                    .map(|s| parse_entry(s, depth + 1))
                    .collect::<Result<Vec<_>>>()?,
            )
        }
        None => None,
    };
    Ok(Entry {
        name,
        arity,
        flags: command_flags,
        legacy,
        tips,
        specs,
        subcommands,
    })
}

/// One key spec; `None` when it cannot be followed (see [`Specs::complete`]).
fn parse_spec(value: &Value, name: &str) -> Result<Option<KeySpec>> {
    let ctx = |what: &str| format!("{what} in a key spec of `{name}`");
    let spec = pairs(value, &ctx("the key spec"))?;
    let mut followable = true;
    if let Some(flags) = field(&spec, "flags") {
        for flag in list(flags, &ctx("the flags"))? {
            if text(flag, &ctx("a flag"))?.eq_ignore_ascii_case(b"incomplete") {
                followable = false;
            }
        }
    }

    let begin = pairs(required(&spec, "begin_search", &ctx)?, &ctx("begin_search"))?;
    let begin = match text(
        required(&begin, "type", &ctx)?,
        &ctx("the begin_search type"),
    )? {
        b"index" => {
            let s = pairs(required(&begin, "spec", &ctx)?, &ctx("the index spec"))?;
            Some(BeginSearch::Index(int(
                required(&s, "index", &ctx)?,
                &ctx("index"),
            )?))
        }
        b"keyword" => {
            let s = pairs(required(&begin, "spec", &ctx)?, &ctx("the keyword spec"))?;
            Some(BeginSearch::Keyword {
                keyword: Cow::Owned(
                    text(required(&s, "keyword", &ctx)?, &ctx("keyword"))?.to_vec(),
                ),
                startfrom: int(required(&s, "startfrom", &ctx)?, &ctx("startfrom"))?,
            })
        }
        _ => None,
    };

    let find = pairs(required(&spec, "find_keys", &ctx)?, &ctx("find_keys"))?;
    let find = match text(required(&find, "type", &ctx)?, &ctx("the find_keys type"))? {
        b"range" => {
            let s = pairs(required(&find, "spec", &ctx)?, &ctx("the range spec"))?;
            Some(FindKeys::Range {
                lastkey: int(required(&s, "lastkey", &ctx)?, &ctx("lastkey"))?,
                keystep: int(required(&s, "keystep", &ctx)?, &ctx("keystep"))?,
                limit: int(required(&s, "limit", &ctx)?, &ctx("limit"))?,
            })
        }
        b"keynum" => {
            let s = pairs(required(&find, "spec", &ctx)?, &ctx("the keynum spec"))?;
            Some(FindKeys::Keynum {
                keynumidx: int(required(&s, "keynumidx", &ctx)?, &ctx("keynumidx"))?,
                firstkey: int(required(&s, "firstkey", &ctx)?, &ctx("firstkey"))?,
                keystep: int(required(&s, "keystep", &ctx)?, &ctx("keystep"))?,
            })
        }
        _ => None,
    };

    Ok(match (begin, find) {
        (Some(begin), Some(find)) if followable => Some(KeySpec::new(begin, find)),
        _ => None,
    })
}

fn malformed(detail: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("malformed COMMAND reply: {detail}"),
    )
    .with_command("COMMAND")
}

/// The value under any RESP3 attributes.
fn plain(value: &Value) -> &Value {
    match value {
        Value::Attribute { value, .. } => plain(value),
        v => v,
    }
}

/// An array or a set (RESP3 sends flags, categories and tips as sets).
fn list<'v>(value: &'v Value, what: &str) -> Result<&'v [Value]> {
    match plain(value) {
        Value::Array(items) | Value::Set(items) => Ok(items),
        other => Err(malformed(format!(
            "{what}: expected a list, got a {}",
            other.type_name()
        ))),
    }
}

fn text<'v>(value: &'v Value, what: &str) -> Result<&'v [u8]> {
    plain(value).as_bytes().ok_or_else(|| {
        malformed(format!(
            "{what}: expected a string, got a {}",
            plain(value).type_name()
        ))
    })
}

fn int(value: &Value, what: &str) -> Result<i64> {
    match plain(value) {
        Value::Int(n) => Ok(*n),
        other => Err(malformed(format!(
            "{what}: expected an integer, got a {}",
            other.type_name()
        ))),
    }
}

/// The name/value pairs of a RESP3 map or of a RESP2 flat array `[name, value, …]`.
fn pairs<'v>(value: &'v Value, what: &str) -> Result<Vec<(&'v [u8], &'v Value)>> {
    match plain(value) {
        Value::Map(map) => map.iter().map(|(k, v)| Ok((text(k, what)?, v))).collect(),
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks_exact(2)
            .map(|pair| match pair {
                [k, v] => Ok((text(k, what)?, v)),
                _ => Err(malformed(what)),
            })
            .collect(),
        other => Err(malformed(format!(
            "{what}: expected a map, got a {}",
            other.type_name()
        ))),
    }
}

fn field<'v>(pairs: &[(&[u8], &'v Value)], name: &str) -> Option<&'v Value> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| *v)
}

fn required<'v>(
    pairs: &[(&[u8], &'v Value)],
    name: &str,
    ctx: &dyn Fn(&str) -> String,
) -> Result<&'v Value> {
    field(pairs, name).ok_or_else(|| malformed(ctx(&format!("missing `{name}`"))))
}
