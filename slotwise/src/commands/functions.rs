//! [`FunctionCommands`]: server-side function libraries (Redis 7.0 and later): calling them
//! (`FCALL`, `FCALL_RO`) and managing them (`FUNCTION LOAD`, `DELETE`, `LIST`, `DUMP`,
//! `RESTORE`, `FLUSH`, `KILL`, `STATS`), with [`FunctionListOptions`], [`RestorePolicy`] and
//! the `FUNCTION LIST` reply types ([`LibraryInfo`], [`FunctionInfo`]).
//!
//! It does not own where these go. `FCALL` routes by its keys like any command (they must
//! share a slot). The library commands follow their routing tips: on the cluster client
//! `FUNCTION LOAD`, `DELETE`, `FLUSH` and `RESTORE` reach every primary and succeed only if
//! all did, so a library is callable on every key's slot; `FUNCTION KILL` succeeds if one
//! node had a function to stop; `FUNCTION STATS` answers per node.

use bytes::Bytes;

use super::record::Record;
use super::scripting::call;
use super::{Executor, FlushMode};
use crate::error::Result;
use crate::protocol::{Cmd, FromValue, ToArgs, Value};

/// What `FUNCTION RESTORE` does with the libraries already loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RestorePolicy {
    /// `FLUSH`: deletes them first.
    Flush,
    /// `APPEND`: keeps them; a library of the same name is an error (the server's default).
    Append,
    /// `REPLACE`: keeps them, replacing those of the same name.
    Replace,
}

impl ToArgs for RestorePolicy {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            RestorePolicy::Flush => b"FLUSH",
            RestorePolicy::Append => b"APPEND",
            RestorePolicy::Replace => b"REPLACE",
        });
    }
}

/// The options of `FUNCTION LIST` (see [`FunctionCommands::function_list`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct FunctionListOptions {
    pattern: Option<Vec<u8>>,
    with_code: bool,
}

impl FunctionListOptions {
    /// Options that add nothing: every library, without its source.
    pub fn new() -> FunctionListOptions {
        FunctionListOptions::default()
    }

    /// `LIBRARYNAME pattern`: only libraries whose name matches the glob pattern. Default is
    /// every library.
    pub fn library(mut self, pattern: impl ToArgs) -> FunctionListOptions {
        self.pattern = Some(Cmd::new(pattern).name().to_vec());
        self
    }

    /// `WITHCODE`: includes each library's source ([`LibraryInfo::code`]). Default is false.
    pub fn with_code(mut self, on: bool) -> FunctionListOptions {
        self.with_code = on;
        self
    }
}

impl ToArgs for FunctionListOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if let Some(pattern) = &self.pattern {
            cmd.push_bytes(b"LIBRARYNAME");
            cmd.push_bytes(pattern);
        }
        if self.with_code {
            cmd.push_bytes(b"WITHCODE");
        }
    }
}

/// One library of `FUNCTION LIST`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LibraryInfo {
    /// The library's name.
    pub name: String,
    /// Its engine, e.g. `LUA`.
    pub engine: String,
    /// The functions it registers.
    pub functions: Vec<FunctionInfo>,
    /// Its source, with [`FunctionListOptions::with_code`].
    pub code: Option<String>,
}

impl FromValue for LibraryInfo {
    fn from_value(value: Value) -> Result<LibraryInfo> {
        let mut r = Record::<LibraryInfo>::new(value)?;
        Ok(LibraryInfo {
            name: r.required("library_name")?,
            engine: r.required("engine")?,
            functions: r.required("functions")?,
            code: r.optional("library_code")?,
        })
    }
}

/// One function of a [`LibraryInfo`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FunctionInfo {
    /// The function's name, as `FCALL` takes it.
    pub name: String,
    /// The description it was registered with, if any.
    pub description: Option<String>,
    /// Its flags, e.g. `no-writes`.
    pub flags: Vec<String>,
}

impl FromValue for FunctionInfo {
    fn from_value(value: Value) -> Result<FunctionInfo> {
        let mut r = Record::<FunctionInfo>::new(value)?;
        Ok(FunctionInfo {
            name: r.required("name")?,
            description: r.optional("description")?,
            flags: r.required("flags")?,
        })
    }
}

/// Commands that call and manage function libraries. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work.
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::FunctionCommands;
///
/// let lib = "#!lua name=counters\n\
///            redis.register_function('bump', function(keys, args) \
///              return redis.call('INCRBY', keys[1], args[1]) end)";
/// // Loaded on every primary, so any key's slot can call it.
/// cluster.function_load_replace(lib).await?;
/// let n: i64 = cluster.fcall("bump", "visits", 2).await?;
/// # Ok(()) }
/// ```
pub trait FunctionCommands: Executor {
    /// `FCALL function numkeys key … arg …`: calls a loaded function; its reply.
    fn fcall<T: FromValue + Send + 'static>(
        &self,
        function: impl ToArgs,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(call("FCALL", function, keys, args))
    }

    /// `FCALL_RO function numkeys key … arg …`: calls a function flagged `no-writes`, which
    /// a replica may serve.
    fn fcall_ro<T: FromValue + Send + 'static>(
        &self,
        function: impl ToArgs,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(call("FCALL_RO", function, keys, args))
    }

    /// `FUNCTION LOAD code`: loads a library (its source starts with
    /// `#!<engine> name=<library>`); the library's name. An error if one of that name exists.
    fn function_load(&self, code: impl ToArgs) -> Self::Output<String> {
        self.execute(Cmd::new(["FUNCTION", "LOAD"]).arg(code))
    }

    /// `FUNCTION LOAD REPLACE code`: loads a library, replacing one of the same name; the
    /// library's name.
    fn function_load_replace(&self, code: impl ToArgs) -> Self::Output<String> {
        self.execute(Cmd::new(["FUNCTION", "LOAD", "REPLACE"]).arg(code))
    }

    /// `FUNCTION DELETE library`: deletes a library and its functions.
    fn function_delete(&self, library: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new(["FUNCTION", "DELETE"]).arg(library))
    }

    /// `FUNCTION FLUSH SYNC|ASYNC`: deletes every library.
    fn function_flush(&self, mode: FlushMode) -> Self::Output<()> {
        self.execute(Cmd::new(["FUNCTION", "FLUSH"]).arg(mode))
    }

    /// `FUNCTION KILL`: stops the function running now, if it has not written anything; a
    /// `NOTBUSY` error if none runs.
    fn function_kill(&self) -> Self::Output<()> {
        self.execute(Cmd::new(["FUNCTION", "KILL"]))
    }

    /// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`: the libraries loaded on the node
    /// that answers, with their functions.
    fn function_list(&self, options: &FunctionListOptions) -> Self::Output<Vec<LibraryInfo>> {
        self.execute(Cmd::new(["FUNCTION", "LIST"]).arg(options))
    }

    /// `FUNCTION DUMP`: every library as one opaque payload, for
    /// [`function_restore`](Self::function_restore).
    fn function_dump(&self) -> Self::Output<Bytes> {
        self.execute(Cmd::new(["FUNCTION", "DUMP"]))
    }

    /// `FUNCTION RESTORE payload FLUSH|APPEND|REPLACE`: loads the libraries of a
    /// [`function_dump`](Self::function_dump) payload.
    fn function_restore(&self, payload: impl ToArgs, policy: RestorePolicy) -> Self::Output<()> {
        self.execute(Cmd::new(["FUNCTION", "RESTORE"]).arg(payload).arg(policy))
    }

    /// `FUNCTION STATS`: the function running now (if any) and the engines' library and
    /// function counts. The cluster client asks every primary and returns one reply per
    /// node, so read it as [`Value`] or a map of your own.
    fn function_stats<T: FromValue + Send + 'static>(&self) -> Self::Output<T> {
        self.execute(Cmd::new(["FUNCTION", "STATS"]))
    }
}

impl<E: Executor + ?Sized> FunctionCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn argument_order() {
        assert_eq!(
            ArgsOf.fcall::<i64>("f", ["a", "b"], 1),
            ["FCALL", "f", "2", "a", "b", "1"]
        );
        assert_eq!(
            ArgsOf.fcall_ro::<i64>("f", "a", ["x", "y"]),
            ["FCALL_RO", "f", "1", "a", "x", "y"]
        );
        assert_eq!(ArgsOf.function_load("code"), ["FUNCTION", "LOAD", "code"]);
        assert_eq!(
            ArgsOf.function_load_replace("code"),
            ["FUNCTION", "LOAD", "REPLACE", "code"]
        );
        assert_eq!(ArgsOf.function_delete("lib"), ["FUNCTION", "DELETE", "lib"]);
        assert_eq!(
            ArgsOf.function_flush(FlushMode::Sync),
            ["FUNCTION", "FLUSH", "SYNC"]
        );
        assert_eq!(ArgsOf.function_kill(), ["FUNCTION", "KILL"]);
        let options = FunctionListOptions::new().with_code(true).library("my*");
        assert_eq!(
            ArgsOf.function_list(&options),
            ["FUNCTION", "LIST", "LIBRARYNAME", "my*", "WITHCODE"]
        );
        assert_eq!(ArgsOf.function_dump(), ["FUNCTION", "DUMP"]);
        assert_eq!(
            ArgsOf.function_restore(&b"\x00"[..], RestorePolicy::Replace),
            ["FUNCTION", "RESTORE", "\0", "REPLACE"]
        );
        assert_eq!(ArgsOf.function_stats::<Value>(), ["FUNCTION", "STATS"]);
    }

    #[test]
    fn libraries_from_both_protocols() {
        let function = vec![
            (bulk("name"), bulk("bump")),
            (bulk("description"), Value::Nil),
            (bulk("flags"), Value::Set(vec![bulk("no-writes")])),
        ];
        let fields = vec![
            (bulk("library_name"), bulk("lib")),
            (bulk("engine"), bulk("LUA")),
            (
                bulk("functions"),
                Value::Array(vec![Value::Map(function.clone())]),
            ),
        ];
        let flat = |pairs: Vec<(Value, Value)>| {
            Value::Array(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect())
        };
        let resp2 = flat(vec![
            (bulk("library_name"), bulk("lib")),
            (bulk("engine"), bulk("LUA")),
            (bulk("functions"), Value::Array(vec![flat(function)])),
        ]);
        for reply in [Value::Map(fields), resp2] {
            let lib = LibraryInfo::from_value(reply).unwrap();
            assert_eq!((lib.name.as_str(), lib.code), ("lib", None));
            assert_eq!(lib.functions[0].name, "bump");
            assert_eq!(lib.functions[0].flags, ["no-writes"]);
            assert_eq!(lib.functions[0].description, None);
        }
    }
}
