//! [`ServerCommands`]: commands about a server rather than a key: `PING`, `DBSIZE`, `INFO`,
//! the flushes, `TIME`, `CONFIG GET`/`SET`, `WAIT`, `MEMORY …`, the read-only `ACL`
//! subcommands and a few other introspection commands, with [`FlushMode`].
//!
//! It does not own where these go. They carry no key, so an executor sends them by the
//! server's `request_policy` tip (`PING`, `DBSIZE`, `INFO`, the flushes: every primary;
//! `CONFIG SET`: every node) or to one node, and merges the replies by the `response_policy`
//! tip (`DBSIZE` summed, `PING` OK only if every node said so). That is why `info` and
//! `config_get` leave their reply type to the caller: one node gives text or a map, and a
//! fan-out without a merge rule may give one reply per node.

use std::time::Duration;

use super::Executor;
use crate::protocol::{Cmd, FromValue, ToArgs};

/// Whether `FLUSHALL`/`FLUSHDB` free memory before replying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlushMode {
    /// `SYNC`: the reply comes after the memory is freed.
    Sync,
    /// `ASYNC`: the keys are gone at once; the memory is freed in the background.
    Async,
}

impl ToArgs for FlushMode {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            FlushMode::Sync => b"SYNC",
            FlushMode::Async => b"ASYNC",
        });
    }
}

/// Commands about the server. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work.
pub trait ServerCommands: Executor {
    /// `PING`: `"PONG"` if the server is alive.
    fn ping(&self) -> Self::Output<String> {
        self.execute(Cmd::new("PING"))
    }

    /// `ECHO message`: the message, back from the server.
    fn echo<T: FromValue + Send + 'static>(&self, message: impl ToArgs) -> Self::Output<T> {
        self.execute(Cmd::new("ECHO").arg(message))
    }

    /// `DBSIZE`: the number of keys.
    fn dbsize(&self) -> Self::Output<i64> {
        self.execute(Cmd::new("DBSIZE"))
    }

    /// `INFO`: the server's default information sections, as `key:value` lines; read one
    /// node's reply as `String`.
    fn info<T: FromValue + Send + 'static>(&self) -> Self::Output<T> {
        self.execute(Cmd::new("INFO"))
    }

    /// `INFO section [section …]`: the named sections only (`"server"`, `"memory"`,
    /// `"keyspace"`, `"all"` …).
    fn info_section<T: FromValue + Send + 'static>(
        &self,
        sections: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("INFO").arg(sections))
    }

    /// `FLUSHALL SYNC|ASYNC`: deletes every key.
    fn flushall(&self, mode: FlushMode) -> Self::Output<()> {
        self.execute(Cmd::new("FLUSHALL").arg(mode))
    }

    /// `FLUSHDB SYNC|ASYNC`: deletes every key of the database (in a cluster, database 0 is
    /// the only one, so this is [`flushall`](Self::flushall)).
    fn flushdb(&self, mode: FlushMode) -> Self::Output<()> {
        self.execute(Cmd::new("FLUSHDB").arg(mode))
    }

    /// `TIME`: the server's clock as (Unix seconds, microseconds within the second).
    fn time(&self) -> Self::Output<(i64, i64)> {
        self.execute(Cmd::new("TIME"))
    }

    /// `CONFIG GET parameter [parameter …]`: the matching parameters and their values (glob
    /// patterns allowed), e.g. as `HashMap<String, String>`.
    fn config_get<T: FromValue + Send + 'static>(
        &self,
        parameters: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new(["CONFIG", "GET"]).arg(parameters))
    }

    /// `CONFIG SET parameter value`: changes a parameter at run time.
    fn config_set(&self, parameter: impl ToArgs, value: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new(["CONFIG", "SET"]).arg(parameter).arg(value))
    }

    /// `LASTSAVE`: the Unix time in seconds of the last successful save to disk.
    fn lastsave(&self) -> Self::Output<i64> {
        self.execute(Cmd::new("LASTSAVE"))
    }

    /// `CLIENT ID`: this connection's id on the server.
    fn client_id(&self) -> Self::Output<i64> {
        self.execute(Cmd::new(["CLIENT", "ID"]))
    }

    /// `COMMAND COUNT`: how many commands the server knows.
    fn command_count(&self) -> Self::Output<i64> {
        self.execute(Cmd::new(["COMMAND", "COUNT"]))
    }

    /// `WAIT numreplicas timeout`: waits until the writes of this connection reached
    /// `numreplicas` replicas or the timeout passed ([`Duration::ZERO`]: forever); how many
    /// replicas acknowledged them. Through the cluster client each command may use another
    /// connection, so it is meaningful on a node client or in a pipeline after the writes.
    fn wait(&self, numreplicas: u64, timeout: Duration) -> Self::Output<i64> {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.execute(Cmd::new("WAIT").arg(numreplicas).arg(millis))
    }

    /// `MEMORY USAGE key`: the bytes the key and its value take, or `None` for a missing
    /// key.
    fn memory_usage(&self, key: impl ToArgs) -> Self::Output<Option<i64>> {
        self.execute(Cmd::new(["MEMORY", "USAGE"]).arg(key))
    }

    /// `MEMORY STATS`: the server's memory use by category, e.g. as
    /// [`Value`](crate::protocol::Value) (a map under RESP3).
    fn memory_stats<T: FromValue + Send + 'static>(&self) -> Self::Output<T> {
        self.execute(Cmd::new(["MEMORY", "STATS"]))
    }

    /// `MEMORY DOCTOR`: the server's advice on its memory use, as text.
    fn memory_doctor(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["MEMORY", "DOCTOR"]))
    }

    /// `MEMORY MALLOC-STATS`: the allocator's own statistics, as text.
    fn memory_malloc_stats(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["MEMORY", "MALLOC-STATS"]))
    }

    /// `MEMORY PURGE`: asks the allocator to return freed memory to the system.
    fn memory_purge(&self) -> Self::Output<()> {
        self.execute(Cmd::new(["MEMORY", "PURGE"]))
    }

    /// `ACL WHOAMI`: the user this connection is authenticated as.
    fn acl_whoami(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["ACL", "WHOAMI"]))
    }

    /// `ACL CAT`: the ACL categories (`read`, `write`, `stream` …).
    fn acl_cat(&self) -> Self::Output<Vec<String>> {
        self.execute(Cmd::new(["ACL", "CAT"]))
    }

    /// `ACL CAT category`: the commands in one ACL category.
    fn acl_cat_commands(&self, category: impl ToArgs) -> Self::Output<Vec<String>> {
        self.execute(Cmd::new(["ACL", "CAT"]).arg(category))
    }

    /// `ACL GENPASS`: 64 hex characters of 256 random bits from the server, for a password.
    fn acl_genpass(&self) -> Self::Output<String> {
        self.execute(Cmd::new(["ACL", "GENPASS"]))
    }

    /// `LOLWUT`: a piece of generative art ending with the server's version (`ver. 7.0.15`), as
    /// text.
    fn lolwut(&self) -> Self::Output<String> {
        self.execute(Cmd::new("LOLWUT"))
    }
}

impl<E: Executor + ?Sized> ServerCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.ping(), ["PING"]);
        assert_eq!(ArgsOf.echo::<String>("hi"), ["ECHO", "hi"]);
        assert_eq!(ArgsOf.dbsize(), ["DBSIZE"]);
        assert_eq!(ArgsOf.info::<String>(), ["INFO"]);
        assert_eq!(
            ArgsOf.info_section::<String>(["server", "memory"]),
            ["INFO", "server", "memory"]
        );
        assert_eq!(ArgsOf.flushall(FlushMode::Async), ["FLUSHALL", "ASYNC"]);
        assert_eq!(ArgsOf.flushdb(FlushMode::Sync), ["FLUSHDB", "SYNC"]);
        assert_eq!(ArgsOf.time(), ["TIME"]);
        assert_eq!(
            ArgsOf.config_get::<Vec<String>>("maxmemory*"),
            ["CONFIG", "GET", "maxmemory*"]
        );
        assert_eq!(
            ArgsOf.config_set("maxmemory", "100mb"),
            ["CONFIG", "SET", "maxmemory", "100mb"]
        );
        assert_eq!(ArgsOf.lastsave(), ["LASTSAVE"]);
        assert_eq!(ArgsOf.client_id(), ["CLIENT", "ID"]);
        assert_eq!(ArgsOf.command_count(), ["COMMAND", "COUNT"]);
    }

    #[test]
    fn introspection_commands() {
        assert_eq!(
            ArgsOf.wait(1, Duration::from_millis(250)),
            ["WAIT", "1", "250"]
        );
        assert_eq!(ArgsOf.memory_usage("k"), ["MEMORY", "USAGE", "k"]);
        assert_eq!(
            ArgsOf.memory_stats::<crate::protocol::Value>(),
            ["MEMORY", "STATS"]
        );
        assert_eq!(ArgsOf.memory_doctor(), ["MEMORY", "DOCTOR"]);
        assert_eq!(ArgsOf.memory_malloc_stats(), ["MEMORY", "MALLOC-STATS"]);
        assert_eq!(ArgsOf.memory_purge(), ["MEMORY", "PURGE"]);
        assert_eq!(ArgsOf.acl_whoami(), ["ACL", "WHOAMI"]);
        assert_eq!(ArgsOf.acl_cat(), ["ACL", "CAT"]);
        assert_eq!(ArgsOf.acl_cat_commands("geo"), ["ACL", "CAT", "geo"]);
        assert_eq!(ArgsOf.acl_genpass(), ["ACL", "GENPASS"]);
        assert_eq!(ArgsOf.lolwut(), ["LOLWUT"])
    }
}
