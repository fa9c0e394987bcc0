//! [`Request`]: a raw command built by name, optionally with a target, for anything the typed
//! methods do not cover.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::target::Target;
use super::RedisCluster;
use crate::error::Result;
use crate::protocol::{Cmd, FromValue, ToArgs, Value};

/// A raw command on a cluster: `cluster.cmd("OBJECT").arg("ENCODING").arg("k").query().await`.
///
/// Awaiting it directly gives the reply as a [`Value`].
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::Target;
///
/// let pongs = cluster.cmd("PING").target(Target::AllNodes).await?;
/// let n: i64 = cluster.cmd("INCRBY").arg("counter").arg(5).query().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing unless awaited"]
pub struct Request {
    cluster: RedisCluster,
    cmd: Cmd,
    target: Option<Target>,
}

impl Request {
    pub(crate) fn new(cluster: RedisCluster, cmd: Cmd) -> Request {
        Request {
            cluster,
            cmd,
            target: None,
        }
    }

    /// Adds arguments.
    pub fn arg(mut self, arg: impl ToArgs) -> Request {
        self.cmd.push_arg(arg);
        self
    }

    /// Sends to `target` instead of routing by keys and tips.
    pub fn target(mut self, target: Target) -> Request {
        self.target = Some(target);
        self
    }

    /// Sends the command and converts the reply.
    pub async fn query<T: FromValue>(self) -> Result<T> {
        T::from_value(self.cluster.run(&self.cmd, self.target.as_ref()).await?)
    }
}

impl IntoFuture for Request {
    type Output = Result<Value>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.query::<Value>())
    }
}
