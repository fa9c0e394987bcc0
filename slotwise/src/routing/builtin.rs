//! The built-in command data, and the rule for when it is used: only to fill what a server's
//! `COMMAND` reply leaves out.
//!
//! Three small tables, all facts read from the `COMMAND` reply of Redis 7.0, each in a file of its
//! own beside this one (`rows`: [`COMMANDS`] and [`TIPS`]; `layouts`: [`LAYOUTS`]):
//! - [`COMMANDS`]: name, arity, flags and the legacy key triple of the common commands, and of
//!   the subcommands that route differently from their parent. Used whole by
//!   [`CommandTable::builtin`](super::CommandTable::builtin) when `COMMAND` cannot be read, and
//!   for the subcommands of a server that lists none (before 7).
//! - [`TIPS`]: every `request_policy` / `response_policy` tip, for a server without tips.
//! - [`LAYOUTS`]: how to find the keys of each movable-key command, for a server without key
//!   specs and for the few commands whose Redis 7 specs are `unknown` or `incomplete` (`SORT`,
//!   `SORT_RO`, `MIGRATE`), as the server itself falls back to its own key-finding procedure
//!   for those.
//!
//! Data a reply does give always wins; this file holds that rule, and how a row becomes a
//! [`CommandInfo`]. This module does not read replies (`parse`) nor find keys (`keys`).

mod layouts;
mod rows;

use std::borrow::Cow;

use super::keys::{KeySource, KeySpec};
use super::parse::Entry;
use super::table::{CommandFlags, CommandInfo, Names, Tips};
use layouts::LAYOUTS;
use rows::{Row, COMMANDS, TIPS};

/// The table of built-in data alone.
pub(super) fn commands() -> Vec<CommandInfo> {
    COMMANDS
        .iter()
        .filter(|r| !r.name.contains('|'))
        .map(|r| fill(entry_of(r)))
        .collect()
}

/// Completes an entry read from a reply with built-in data, where the reply is silent.
pub(super) fn fill(entry: Entry) -> CommandInfo {
    let movable = entry.flags.contains(CommandFlags::MOVABLEKEYS);
    let keys = match entry.specs {
        // A movable-key command with no spec at all has keys nothing here describes.
        Some(specs) if specs.complete && !(movable && specs.list.is_empty()) => {
            KeySource::Specs(Cow::Owned(specs.list))
        }
        Some(_) => layout(&entry.name),
        None if movable => layout(&entry.name),
        None => {
            let (first, last, step) = entry.legacy;
            KeySpec::legacy(first, last, step).map_or(KeySource::NONE, |spec| {
                KeySource::Specs(Cow::Owned(vec![spec]))
            })
        }
    };
    let tips = entry.tips.unwrap_or_else(|| tips(&entry.name));
    let subcommands = match entry.subcommands {
        Some(subs) => subs.into_iter().map(fill).collect(),
        None => subcommands_of(&entry.name),
    };
    CommandInfo {
        name: entry.name.into(),
        arity: entry.arity,
        flags: entry.flags,
        tips,
        keys,
        subcommands: names(subcommands),
    }
}

fn entry_of(row: &Row) -> Entry {
    let flags = row
        .flags
        .split_ascii_whitespace()
        .fold(CommandFlags::default(), |acc, name| {
            acc.union(CommandFlags::from_name(name.as_bytes()))
        });
    Entry {
        name: row.name.to_owned(),
        arity: row.arity,
        flags,
        legacy: row.keys,
        tips: None,
        specs: None,
        subcommands: None,
    }
}

fn layout(name: &str) -> KeySource {
    LAYOUTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(KeySource::Unknown, |(_, layout)| layout.clone())
}

fn tips(name: &str) -> Tips {
    TIPS.iter()
        .find(|(n, _, _)| *n == name)
        .map_or(Tips::default(), |(_, req, resp)| {
            Tips::policies(*req, *resp)
        })
}

/// The built-in subcommands of `parent`, as entries of their own.
fn subcommands_of(parent: &str) -> Vec<CommandInfo> {
    COMMANDS
        .iter()
        .filter(|r| r.name.split_once('|').is_some_and(|(p, _)| p == parent))
        .map(|r| fill(entry_of(r)))
        .collect()
}

/// Subcommands keyed by the part after `|`; `None` when there are none.
fn names(subs: Vec<CommandInfo>) -> Option<Box<Names>> {
    if subs.is_empty() {
        return None;
    }
    let mut map = Names::default();
    for sub in subs {
        let key = sub.name.split_once('|').map_or(&*sub.name, |(_, s)| s);
        map.insert(key.as_bytes().into(), sub);
    }
    Some(Box::new(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_name_is_known() {
        for r in COMMANDS {
            for name in r.flags.split_ascii_whitespace() {
                assert_ne!(
                    CommandFlags::from_name(name.as_bytes()),
                    CommandFlags::default(),
                    "unknown flag {name} in row {}",
                    r.name
                );
            }
        }
    }

    #[test]
    fn every_subcommand_has_its_parent_and_every_tip_and_layout_a_command() {
        let known = |name: &str| COMMANDS.iter().any(|r| r.name == name);
        for r in COMMANDS {
            if let Some((parent, _)) = r.name.split_once('|') {
                assert!(known(parent), "{} has no parent row", r.name);
            }
        }
        for (name, _, _) in TIPS {
            assert!(known(name), "tip for unknown command {name}");
        }
        for (name, _) in LAYOUTS {
            let row = COMMANDS.iter().find(|r| r.name == *name);
            assert!(
                row.is_some_and(|r| r.flags.contains("movablekeys")),
                "layout for {name}, which is not a movable-key command here"
            );
        }
        for r in COMMANDS.iter().filter(|r| r.flags.contains("movablekeys")) {
            assert!(
                LAYOUTS.iter().any(|(n, _)| *n == r.name),
                "{} has movable keys and no layout",
                r.name
            );
        }
    }

    #[test]
    fn names_are_unique_and_lower_case() {
        let mut seen = std::collections::HashSet::new();
        for r in COMMANDS {
            assert!(seen.insert(r.name), "{} twice", r.name);
            assert_eq!(r.name, r.name.to_ascii_lowercase());
        }
        assert!(!seen.contains("lcs"));
    }
}
