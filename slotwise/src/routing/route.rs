//! Where a command goes, decided from what the command table knows of it: the slot of its keys,
//! its routing tips, or the default node.
//!
//! Pure: no topology, no sockets. Keys in several slots are an error here, before anything is
//! sent, unless the command's tips say it may be split per shard and summed (`DEL`, `EXISTS` …).
//! Such a command given no key at all has nothing to send: Redis would refuse it as an arity
//! error, but a list that happens to be empty is no mistake, so it counts 0 in the client.

use super::table::{CommandInfo, KeyScan, RequestPolicy, ResponsePolicy};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::Cmd;
use crate::topology::keyslot;

/// Where a command goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// The node serving this slot.
    Slot(u16),
    /// Every node; replies merged by the policy (or the default aggregation).
    AllNodes(Option<ResponsePolicy>),
    /// Every primary; replies merged likewise.
    AllShards(Option<ResponsePolicy>),
    /// The default node.
    Default,
    /// Keys in several slots of a command that may be split per slot.
    Split,
    /// No key, for a command that would have been split per slot (`DEL`, `EXISTS`, `UNLINK`,
    /// `TOUCH`): answered without sending anything.
    NoKeys,
    /// The table cannot locate the keys: ask the server (`COMMAND GETKEYS`).
    AskKeys,
}

/// Decides where `cmd` goes. A command the table does not know goes to the default node.
pub(crate) fn route(info: Option<&CommandInfo>, cmd: &Cmd) -> Result<Route> {
    let Some(info) = info else {
        return Ok(Route::Default);
    };
    let mut first: Option<u16> = None;
    let mut crossed = false;
    let scan = info.for_each_key(cmd, |_, key| {
        let slot = keyslot(key);
        match first {
            None => first = Some(slot),
            Some(f) if f != slot => crossed = true,
            Some(_) => {}
        }
    });
    if scan == KeyScan::Unknown {
        return Ok(Route::AskKeys);
    }
    let splits = info.request_policy() == Some(RequestPolicy::MultiShard)
        && info.response_policy() == Some(ResponsePolicy::AggSum);
    if crossed {
        if splits {
            return Ok(Route::Split);
        }
        let mut keys = Vec::new();
        info.for_each_key(cmd, |_, key| keys.push(key));
        return Err(cross_slot(info.name(), &distinct_slots(keys)));
    }
    match first {
        Some(slot) => return Ok(Route::Slot(slot)),
        None if splits => return Ok(Route::NoKeys),
        None => {}
    }
    Ok(match info.request_policy() {
        Some(RequestPolicy::AllNodes) => Route::AllNodes(info.response_policy()),
        Some(RequestPolicy::AllShards) => Route::AllShards(info.response_policy()),
        _ => Route::Default,
    })
}

/// The error for keys in several slots, raised before anything is sent.
/// The slots of `keys`, each once, in the order first met.
pub(crate) fn distinct_slots<'k>(keys: impl IntoIterator<Item = &'k [u8]>) -> Vec<u16> {
    let mut slots: Vec<u16> = Vec::new();
    for slot in keys.into_iter().map(keyslot) {
        if !slots.contains(&slot) {
            slots.push(slot);
        }
    }
    slots
}

/// The one slot of `keys`, `None` when there are none; keys in several slots are a cross-slot
/// error naming `command`.
pub(crate) fn one_slot<'k>(
    command: &str,
    keys: impl IntoIterator<Item = &'k [u8]>,
) -> Result<Option<u16>> {
    match distinct_slots(keys).as_slice() {
        [] => Ok(None),
        [slot] => Ok(Some(*slot)),
        slots => Err(cross_slot(command, slots)),
    }
}

/// The error for a [`Route::NoKeys`] command where nothing can be answered without sending
/// (inside a transaction, on a watching connection).
pub(crate) fn no_keys(command: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{} was given no keys: a cluster client answers that with 0 without sending it, \
             which it cannot do inside a transaction or on a watching connection",
            command.to_uppercase()
        ),
    )
}

/// The error for keys of `command` in several `slots`.
pub(crate) fn cross_slot(command: &str, slots: &[u16]) -> Error {
    let list: Vec<String> = slots.iter().map(u16::to_string).collect();
    Error::new(
        ErrorKind::CrossSlot,
        format!(
            "the keys of {} hash to different slots ({}); give them a common {{hash tag}}, or use \
             the *_nonatomic methods to split the work by slot",
            command.to_uppercase(),
            list.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::CommandTable;

    fn table() -> CommandTable {
        CommandTable::builtin()
    }

    #[test]
    fn routes() {
        let t = table();
        let r = |cmd: Cmd| route(t.lookup(&cmd), &cmd);
        assert_eq!(
            r(Cmd::new("GET").arg("123456789")).unwrap(),
            Route::Slot(12739)
        );
        assert_eq!(
            r(Cmd::new("MGET").arg(["{a}1", "{a}2"])).unwrap(),
            Route::Slot(keyslot(b"a"))
        );
        assert!(r(Cmd::new("MGET").arg(["a", "b"]))
            .unwrap_err()
            .is_cross_slot());
        assert_eq!(r(Cmd::new("DEL").arg(["a", "b"])).unwrap(), Route::Split);
        assert_eq!(
            r(Cmd::new("DEL").arg(["a"])).unwrap(),
            Route::Slot(keyslot(b"a"))
        );
        assert_eq!(
            r(Cmd::new("DBSIZE")).unwrap(),
            Route::AllShards(Some(ResponsePolicy::AggSum))
        );
        assert_eq!(r(Cmd::new("NOSUCHCOMMAND")).unwrap(), Route::Default);
    }

    #[test]
    fn counting_commands_without_keys_are_answered_here() {
        let t = table();
        let r = |cmd: Cmd| route(t.lookup(&cmd), &cmd);
        for name in ["DEL", "EXISTS", "UNLINK", "TOUCH"] {
            assert_eq!(r(Cmd::new(name)).unwrap(), Route::NoKeys, "{name}");
        }
        // Not split per slot: with no keys the server answers (an arity error), as before.
        assert_eq!(r(Cmd::new("MGET")).unwrap(), Route::Default);
        assert_eq!(r(Cmd::new("MSET")).unwrap(), Route::Default);
        let e = no_keys("del");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("DEL"), "{e}");
    }

    #[test]
    fn cross_slot_error_names_the_slots() {
        let e = cross_slot("mset", &[1, 2]);
        assert!(
            e.to_string().contains("MSET") && e.to_string().contains("1, 2"),
            "{e}"
        );
    }
}
