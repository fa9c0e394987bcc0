//! The blocking twins of the async handles: a node client, a targeted cluster, a raw request,
//! a pipeline, a watch, a pub/sub connection.
//! Each wraps its async twin and the client's runtime; none holds logic of its own.

use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use crate::cluster::{ClusterNode, Message, Queued, Replies, Script, Target};
use crate::commands::Executor;
use crate::error::Result;
use crate::protocol::{Cmd, FromValue, ToArgs, Value};

/// A blocking plain client for one node: [`crate::NodeClient`].
#[derive(Clone, Debug)]
pub struct NodeClient {
    inner: crate::NodeClient,
    rt: Arc<Runtime>,
}

impl NodeClient {
    pub(crate) fn new(inner: crate::NodeClient, rt: Arc<Runtime>) -> NodeClient {
        NodeClient { inner, rt }
    }

    /// The node this client talks to.
    pub fn node(&self) -> &ClusterNode {
        self.inner.node()
    }
}

impl Executor for NodeClient {
    type Output<T: FromValue + Send + 'static> = Result<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Result<T> {
        self.rt.block_on(self.inner.execute::<T>(cmd))?
    }
}

/// A blocking cluster handle whose commands go to a chosen target: [`crate::TargetedCluster`].
#[derive(Clone, Debug)]
pub struct TargetedCluster {
    inner: crate::TargetedCluster,
    rt: Arc<Runtime>,
}

impl TargetedCluster {
    pub(crate) fn new(inner: crate::TargetedCluster, rt: Arc<Runtime>) -> TargetedCluster {
        TargetedCluster { inner, rt }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        self.inner.target()
    }
}

impl Executor for TargetedCluster {
    type Output<T: FromValue + Send + 'static> = Result<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Result<T> {
        self.rt.block_on(self.inner.execute::<T>(cmd))?
    }
}

/// A blocking raw command: [`crate::Request`].
///
/// ```no_run
/// # fn demo(cluster: slotwise::blocking::RedisCluster) -> slotwise::Result<()> {
/// let n: i64 = cluster.cmd("INCRBY").arg("counter").arg(5).query()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent with query()"]
pub struct Request {
    inner: crate::Request,
    rt: Arc<Runtime>,
}

impl Request {
    pub(crate) fn new(inner: crate::Request, rt: Arc<Runtime>) -> Request {
        Request { inner, rt }
    }

    /// Adds arguments.
    pub fn arg(self, arg: impl ToArgs) -> Request {
        Request {
            inner: self.inner.arg(arg),
            rt: self.rt,
        }
    }

    /// Sends to `target` instead of routing by keys and tips.
    pub fn target(self, target: Target) -> Request {
        Request {
            inner: self.inner.target(target),
            rt: self.rt,
        }
    }

    /// Sends the command and converts the reply.
    pub fn query<T: FromValue>(self) -> Result<T> {
        self.rt.block_on(self.inner.query::<T>())?
    }

    /// Sends the command and returns the reply as it came.
    pub fn send(self) -> Result<Value> {
        self.query::<Value>()
    }
}

/// A blocking pipeline or transaction: [`crate::Pipeline`], with the same queueing methods;
/// [`run`](Pipeline::run) blocks until every reply is in.
///
/// ```no_run
/// # fn demo(cluster: slotwise::blocking::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::StringCommands;
///
/// let pipe = cluster.pipeline();
/// let set = pipe.set("a", 1);
/// let a = pipe.get::<String>("a");
/// let mut replies = pipe.run()?;
/// replies.take(set)?;
/// assert_eq!(replies.take(a)?.as_deref(), Some("1"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a pipeline sends nothing until it is run"]
pub struct Pipeline {
    inner: crate::Pipeline,
    rt: Arc<Runtime>,
}

impl Pipeline {
    pub(crate) fn new(inner: crate::Pipeline, rt: Arc<Runtime>) -> Pipeline {
        Pipeline { inner, rt }
    }

    /// Queues a command built by hand.
    pub fn add(&self, cmd: Cmd) -> Queued<Value> {
        self.inner.add(cmd)
    }

    /// How many commands are queued.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// True for a transaction.
    pub fn is_transaction(&self) -> bool {
        self.inner.is_transaction()
    }

    /// Queues `script`; see [`crate::Pipeline::eval_script`].
    pub fn eval_script<T: FromValue + Send + 'static>(
        &self,
        script: &Script,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> Queued<T> {
        self.inner.eval_script(script, keys, args)
    }

    /// Sends every queued command and waits for all the replies; see
    /// [`crate::Pipeline::run`].
    pub fn run(self) -> Result<Replies> {
        self.rt.block_on(self.inner.run())?
    }
}

impl Executor for Pipeline {
    type Output<T: FromValue + Send + 'static> = Queued<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Queued<T> {
        self.inner.execute(cmd)
    }
}

/// Keys watched for a check-and-set transaction: [`crate::Watch`]. Reads run at once on the
/// watching connection; [`transaction`](Watch::transaction) queues the writes.
///
/// ```no_run
/// # fn demo(cluster: slotwise::blocking::RedisCluster) -> slotwise::Result<()> {
/// use slotwise::commands::StringCommands;
///
/// let watch = cluster.watch("{acct}:alice")?;
/// let balance: i64 = watch.get("{acct}:alice")?.unwrap_or(0);
/// let tx = watch.transaction();
/// let set = tx.set("{acct}:alice", balance * 2);
/// tx.run()?.take(set)?; // ErrorKind::Aborted if the key changed meanwhile
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a watch guards only the transaction made from it"]
pub struct Watch {
    inner: crate::Watch,
    rt: Arc<Runtime>,
}

impl Watch {
    pub(crate) fn new(inner: crate::Watch, rt: Arc<Runtime>) -> Watch {
        Watch { inner, rt }
    }

    /// The watched keys' slot.
    pub fn slot(&self) -> u16 {
        self.inner.slot()
    }

    /// The node the keys are watched on, `host:port`.
    pub fn node(&self) -> &str {
        self.inner.node()
    }

    /// A transaction to run on the watching connection.
    pub fn transaction(&self) -> Pipeline {
        Pipeline::new(self.inner.transaction(), Arc::clone(&self.rt))
    }
}

impl Executor for Watch {
    type Output<T: FromValue + Send + 'static> = Result<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Result<T> {
        self.rt.block_on(self.inner.execute::<T>(cmd))?
    }
}

/// A blocking pub/sub connection: [`crate::PubSub`], its task on the client's runtime.
///
/// ```no_run
/// # fn demo(cluster: slotwise::blocking::RedisCluster) -> slotwise::Result<()> {
/// use std::time::Duration;
///
/// let mut pubsub = cluster.pubsub()?;
/// pubsub.subscribe("news")?;
/// if let Some(message) = pubsub.next_message_timeout(Duration::from_secs(1))? {
///     println!("{}", message.payload_as::<String>()?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PubSub {
    inner: crate::PubSub,
    rt: Arc<Runtime>,
}

impl PubSub {
    pub(crate) fn new(inner: crate::PubSub, rt: Arc<Runtime>) -> PubSub {
        PubSub { inner, rt }
    }

    /// What happens to the subscriptions, as an iterator that blocks for the next event; see
    /// [`crate::PubSub::events`].
    pub fn events(&self) -> super::Events<crate::PubSubEvent> {
        super::Events::new(self.inner.events(), Arc::clone(&self.rt))
    }

    /// Subscribes to classic channels, once the server confirmed them.
    pub fn subscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.rt.block_on(self.inner.subscribe(channels))?
    }

    /// Subscribes to patterns, once the server confirmed them.
    pub fn psubscribe(&self, patterns: impl ToArgs) -> Result<()> {
        self.rt.block_on(self.inner.psubscribe(patterns))?
    }

    /// Subscribes to sharded channels, each on its slot's primary.
    pub fn ssubscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.rt.block_on(self.inner.ssubscribe(channels))?
    }

    /// Subscribes to classic channels on every node of `nodes`; see
    /// [`crate::PubSub::subscribe_on`].
    pub fn subscribe_on(&self, nodes: crate::Nodes, channels: impl ToArgs) -> Result<()> {
        self.rt.block_on(self.inner.subscribe_on(nodes, channels))?
    }

    /// Subscribes to patterns on every node of `nodes` (keyspace notifications); see
    /// [`crate::PubSub::psubscribe_on`].
    pub fn psubscribe_on(&self, nodes: crate::Nodes, patterns: impl ToArgs) -> Result<()> {
        self.rt
            .block_on(self.inner.psubscribe_on(nodes, patterns))?
    }

    /// Ends node-local subscriptions of classic channels; see
    /// [`crate::PubSub::unsubscribe_on`].
    pub fn unsubscribe_on(&self, nodes: crate::Nodes, channels: impl ToArgs) -> Result<()> {
        self.inner.unsubscribe_on(nodes, channels)
    }

    /// Ends node-local subscriptions of patterns; see [`crate::PubSub::punsubscribe_on`].
    pub fn punsubscribe_on(&self, nodes: crate::Nodes, patterns: impl ToArgs) -> Result<()> {
        self.inner.punsubscribe_on(nodes, patterns)
    }

    /// Unsubscribes from classic channels (all if `channels` is empty).
    pub fn unsubscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.inner.unsubscribe(channels)
    }

    /// Unsubscribes from patterns (all if `patterns` is empty).
    pub fn punsubscribe(&self, patterns: impl ToArgs) -> Result<()> {
        self.inner.punsubscribe(patterns)
    }

    /// Unsubscribes from sharded channels (all if `channels` is empty).
    pub fn sunsubscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.inner.sunsubscribe(channels)
    }

    /// Waits for the next message; `None` once the pub/sub has stopped.
    pub fn next_message(&mut self) -> Result<Option<Message>> {
        self.rt.block_on(self.inner.next_message())
    }

    /// How many messages were dropped because they were not read before the queue filled up;
    /// see [`crate::PubSub::dropped_messages`].
    pub fn dropped_messages(&self) -> u64 {
        self.inner.dropped_messages()
    }

    /// Waits at most `timeout` for the next message; `None` if none came.
    pub fn next_message_timeout(&mut self, timeout: Duration) -> Result<Option<Message>> {
        let inner = &mut self.inner;
        // The timer is made inside the runtime, which drives it.
        let next = async move { tokio::time::timeout(timeout, inner.next_message()).await };
        Ok(self.rt.block_on(next)?.ok().flatten())
    }
}
