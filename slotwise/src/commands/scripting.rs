//! [`ScriptingCommands`]: Lua scripts sent as text or by SHA1 (`EVAL`, `EVALSHA` and their
//! read-only forms) and the script cache (`SCRIPT LOAD`, `EXISTS`, `FLUSH`, `KILL`, `SHOW`).
//!
//! It does not own the retry from `EVALSHA` to `EVAL` when a node lacks the script: that is
//! [`Script`](crate::Script) with [`RedisCluster::eval_script`](crate::RedisCluster::eval_script),
//! which also keeps the SHA1. Nor does it own where these go: the keys route `EVAL` like any
//! command (they must share a slot; no keys means the default node), and the cache commands
//! follow their routing tips, so on the cluster client `SCRIPT LOAD` reaches every node and
//! `SCRIPT FLUSH` and `SCRIPT EXISTS` every primary (`EXISTS` is true only where all have the
//! script).

use super::{push_counted, Executor, FlushMode};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// `name first numkeys key… arg…`, the calling convention of `EVAL` and `FCALL`.
pub(super) fn call(name: &str, first: impl ToArgs, keys: impl ToArgs, args: impl ToArgs) -> Cmd {
    let mut cmd = Cmd::new(name).arg(first);
    push_counted(&mut cmd, keys);
    cmd.arg(args)
}

/// Commands that run Lua scripts and manage the script cache. Implemented for every
/// [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. `keys` and `args`
/// are each one value or a list; `numkeys` is counted for you. A script's reply converts to
/// whatever its Lua value maps to: a number to `i64`, a table to `Vec<T>`, `nil`/`false` to
/// `None`.
pub trait ScriptingCommands: Executor {
    /// `EVAL script numkeys key … arg …`: runs the Lua source; its reply.
    fn eval<T: FromValue + Send + 'static>(
        &self,
        script: impl ToArgs,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(call("EVAL", script, keys, args))
    }

    /// `EVAL_RO script numkeys key … arg …` (Redis 7.0 and later): runs a script that only
    /// reads, which a replica may serve; a write in it is refused.
    fn eval_ro<T: FromValue + Send + 'static>(
        &self,
        script: impl ToArgs,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(call("EVAL_RO", script, keys, args))
    }

    /// `EVALSHA sha1 numkeys key … arg …`: runs a cached script by its SHA1; a `NOSCRIPT`
    /// error (kind [`ErrorKind::NoScript`](crate::ErrorKind::NoScript)) if the node does
    /// not have it.
    fn evalsha<T: FromValue + Send + 'static>(
        &self,
        sha1: impl ToArgs,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(call("EVALSHA", sha1, keys, args))
    }

    /// `EVALSHA_RO sha1 numkeys key … arg …` (Redis 7.0 and later): the read-only form of
    /// [`evalsha`](Self::evalsha).
    fn evalsha_ro<T: FromValue + Send + 'static>(
        &self,
        sha1: impl ToArgs,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(call("EVALSHA_RO", sha1, keys, args))
    }

    /// `SCRIPT LOAD script`: caches the script without running it; its SHA1.
    fn script_load(&self, script: impl ToArgs) -> Self::Output<String> {
        self.execute(Cmd::new(["SCRIPT", "LOAD"]).arg(script))
    }

    /// `SCRIPT EXISTS sha1 [sha1 …]`: for each SHA1 in order, whether it is cached.
    fn script_exists(&self, sha1s: impl ToArgs) -> Self::Output<Vec<bool>> {
        self.execute(Cmd::new(["SCRIPT", "EXISTS"]).arg(sha1s))
    }

    /// `SCRIPT FLUSH SYNC|ASYNC`: empties the script cache.
    fn script_flush(&self, mode: FlushMode) -> Self::Output<()> {
        self.execute(Cmd::new(["SCRIPT", "FLUSH"]).arg(mode))
    }

    /// `SCRIPT KILL`: stops the script running now, if it has not written anything; a
    /// `NOTBUSY` error if none runs.
    fn script_kill(&self) -> Self::Output<()> {
        self.execute(Cmd::new(["SCRIPT", "KILL"]))
    }

    /// `SCRIPT SHOW sha1` (Valkey 8.0 and later): the source of a cached script.
    fn script_show<T: FromValue + Send + 'static>(&self, sha1: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new(["SCRIPT", "SHOW"]).arg(sha1))
    }
}

impl<E: Executor + ?Sized> ScriptingCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn numkeys_is_counted() {
        assert_eq!(
            ArgsOf.eval::<i64>("return 1", ["a", "b"], [1, 2]),
            ["EVAL", "return 1", "2", "a", "b", "1", "2"]
        );
        let no_keys: [&str; 0] = [];
        assert_eq!(
            ArgsOf.eval_ro::<i64>("return 1", no_keys, "x"),
            ["EVAL_RO", "return 1", "0", "x"]
        );
        assert_eq!(
            ArgsOf.evalsha::<i64>("abc", "k", no_keys),
            ["EVALSHA", "abc", "1", "k"]
        );
        assert_eq!(
            ArgsOf.evalsha_ro::<i64>("abc", "k", 5),
            ["EVALSHA_RO", "abc", "1", "k", "5"]
        );
    }

    #[test]
    fn cache_commands() {
        assert_eq!(
            ArgsOf.script_load("return 1"),
            ["SCRIPT", "LOAD", "return 1"]
        );
        assert_eq!(
            ArgsOf.script_exists(["a", "b"]),
            ["SCRIPT", "EXISTS", "a", "b"]
        );
        assert_eq!(
            ArgsOf.script_flush(FlushMode::Async),
            ["SCRIPT", "FLUSH", "ASYNC"]
        );
        assert_eq!(ArgsOf.script_kill(), ["SCRIPT", "KILL"]);
        assert_eq!(ArgsOf.script_show::<String>("a"), ["SCRIPT", "SHOW", "a"]);
    }
}
