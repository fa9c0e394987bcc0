//! Lua scripts: [`Script`], sent by its SHA1 with `EVALSHA` and loaded with `EVAL` on a node
//! that does not have it cached yet (a new node, a restarted one, a promoted replica).

use std::fmt;
use std::sync::Arc;

use super::RedisCluster;
use crate::error::{ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs};

/// A Lua script. Cheap to clone; its SHA1 is computed once.
///
/// The keys route the call like any other command: they must share one slot (checked before
/// sending), and a script without keys goes to the default node.
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::Script;
///
/// let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
/// let n: i64 = cluster.eval_script(&add, "counter", 5).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Script {
    code: Arc<str>,
    sha1: Arc<str>,
    readonly: bool,
}

impl Script {
    /// A script from its Lua source.
    pub fn new(code: impl Into<String>) -> Script {
        let code: String = code.into();
        let sha1 = sha1_hex(code.as_bytes());
        Script {
            code: Arc::from(code),
            sha1: Arc::from(sha1),
            readonly: false,
        }
    }

    /// Marks the script as only reading: it is sent with `EVALSHA_RO` / `EVAL_RO` (Redis 7), so
    /// a handle that reads from replicas ([`RedisCluster::readonly`]) sends it to one.
    #[must_use = "it returns the marked script"]
    pub fn read_only(mut self) -> Script {
        self.readonly = true;
        self
    }

    /// The script's SHA1, in lowercase hex, as `SCRIPT LOAD` returns it.
    pub fn sha1(&self) -> &str {
        &self.sha1
    }

    /// The Lua source.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// `EVALSHA sha1 numkeys keys… args…` (or `EVALSHA_RO`).
    pub(crate) fn evalsha(&self, keys: impl ToArgs, args: impl ToArgs) -> Cmd {
        let name = if self.readonly {
            "EVALSHA_RO"
        } else {
            "EVALSHA"
        };
        call(name, &self.sha1, keys, args)
    }

    /// `EVAL source numkeys keys… args…` (or `EVAL_RO`).
    pub(crate) fn eval(&self, keys: impl ToArgs, args: impl ToArgs) -> Cmd {
        let name = if self.readonly { "EVAL_RO" } else { "EVAL" };
        call(name, &self.code, keys, args)
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("sha1", &self.sha1)
            .field("read_only", &self.readonly)
            .finish()
    }
}

/// `name first numkeys keys… args…`.
fn call(name: &str, first: &str, keys: impl ToArgs, args: impl ToArgs) -> Cmd {
    // The keys are counted by writing them into a scratch command first.
    let keys = Cmd::new("KEYS").arg(keys);
    let numkeys = keys.argc().saturating_sub(1);
    let mut cmd = Cmd::new(name);
    cmd.push_bytes(first.as_bytes());
    cmd.push_uint(numkeys as u64);
    for key in keys.args().skip(1) {
        cmd.push_bytes(key);
    }
    cmd.push_arg(args);
    cmd
}

impl RedisCluster {
    /// Runs `script` with `keys` and `args` (each one value or a list, like any command
    /// argument): `EVALSHA` first, `EVAL` if the node does not have the script yet, which also
    /// caches it there. A `NOSCRIPT` refusal ran nothing, so the second call is always safe.
    pub async fn eval_script<T: FromValue>(
        &self,
        script: &Script,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Result<T> {
        let evalsha = script.evalsha(&keys, &args);
        match self.run(&evalsha, None).await {
            Err(e) if e.kind() == ErrorKind::NoScript => {
                T::from_value(self.run(&script.eval(&keys, &args), None).await?)
            }
            reply => T::from_value(reply?),
        }
    }

    /// Loads `script` into the cache of every primary (`SCRIPT LOAD`), so that the first
    /// [`eval_script`](Self::eval_script) on each finds it; returns its SHA1.
    pub async fn load_script(&self, script: &Script) -> Result<String> {
        let load = Cmd::new("SCRIPT").arg("LOAD").arg(script.code());
        let replies = self
            .run(&load, Some(&super::Target::Primaries))
            .await?
            .into_inner();
        // One SHA1 per node, or the one all agreed on.
        let sha: Vec<String> = match replies {
            crate::protocol::Value::Map(pairs) => pairs
                .into_iter()
                .map(|(_, v)| String::from_value(v))
                .collect::<Result<_>>()?,
            other => vec![String::from_value(other)?],
        };
        match sha.iter().find(|s| s.as_str() != script.sha1()) {
            None => Ok(script.sha1().to_owned()),
            Some(other) => Err(crate::error::Error::new(
                ErrorKind::Protocol,
                format!("a node loaded the script as {other}, not {}", script.sha1()),
            )),
        }
    }
}

/// The SHA1 of `data` in lowercase hex, as Redis names scripts.
pub(crate) fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_the_standard_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            sha1_hex(&[b'a'; 1_000_000]),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn scripts_are_named_by_the_sha1_redis_gives_them() {
        // SCRIPT LOAD "return 1" answers this name.
        assert_eq!(
            Script::new("return 1").sha1(),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
        assert_eq!(
            sha1_hex(b"The quick brown fox jumps over the lazy dog"),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
        );
        // The source's UTF-8 bytes are hashed.
        assert_eq!(
            Script::new("return redis.call('GET', KEYS[1]) -- \u{65e5}\u{672c}\u{8a9e}").sha1(),
            "c49ee85858565dd4de9e6f2439dfa6fca0da1a33"
        );
    }

    #[test]
    fn calls_count_their_keys() {
        let script = Script::new("return 1");
        let cmd = script.evalsha(["a", "b"], 7);
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(
            args,
            [
                &b"EVALSHA"[..],
                script.sha1().as_bytes(),
                b"2",
                b"a",
                b"b",
                b"7"
            ]
        );
        let none: [&str; 0] = [];
        let cmd = script.clone().read_only().eval(none, none);
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(args, [&b"EVAL_RO"[..], b"return 1", b"0"]);
    }
}
