//! Cluster pub/sub: [`PubSub`], [`Message`], [`Nodes`].
//!
//! One task per `PubSub` owns its subscriber sockets and keeps what is subscribed in line with
//! what the caller asked for. Classic channels and patterns share one socket: the cluster
//! broadcasts classic messages to every node, so any node will do; the first channel's slot
//! picks it, as redis-py does. With
//! [`pubsub_spread_channels`](crate::ClusterBuilder::pubsub_spread_channels) each classic
//! channel goes on the primary of its own slot instead, so one node does not carry every
//! subscriber's traffic (patterns stay on the one socket). Sharded channels (`SSUBSCRIBE`) live
//! on the primary of their slot, one socket per node. Node-local subscriptions
//! ([`PubSub::subscribe_on`], [`PubSub::psubscribe_on`]) are made on every node of a set
//! ([`Nodes::Primaries`], [`Nodes::AllNodes`]), one socket per node, for what a node publishes
//! only to its own subscribers: keyspace notifications. The task hears the cluster's events and
//! places them again on each new topology, leaving a node before joining its successor.
//!
//! When a socket closes (its node failed), stops answering the `PING` it gets after a second of
//! quiet (a frozen node), or the server drops a sharded channel (its slot moved), the task
//! subscribes again where the channel lives now, until it succeeds: each sharded channel's
//! `SSUBSCRIBE` runs through the same attempt loop as a command to its slot (following `MOVED`,
//! backing off, waiting for a new topology after a lost node); classic channels move to any
//! live node at once. Sockets open in the background, so a slow node does not hold up the
//! messages of others. Messages published while a channel had no subscription are not
//! delivered: pub/sub is at most once, and a socket delivers only the names it holds, so no
//! move delivers a message twice.
//!
//! This module does not route or retry commands (the dispatcher does, for the sharded
//! channels' attempts) and does not own the topology: it reads the installed snapshot.

mod event;
mod queue;
mod task;

pub use event::{LossReason, PubSubEvent, PubSubEvents};

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::RedisCluster;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs, Value};
use task::Task;

/// Which kind of subscription a name belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// A classic channel (`SUBSCRIBE`, `PUBLISH`).
    Message,
    /// A pattern (`PSUBSCRIBE`); the message carries the pattern that matched.
    Pattern,
    /// A sharded channel (`SSUBSCRIBE`, `SPUBLISH`).
    Sharded,
}

impl MessageKind {
    fn subscribe(self) -> &'static str {
        match self {
            MessageKind::Message => "SUBSCRIBE",
            MessageKind::Pattern => "PSUBSCRIBE",
            MessageKind::Sharded => "SSUBSCRIBE",
        }
    }

    fn unsubscribe(self) -> &'static str {
        match self {
            MessageKind::Message => "UNSUBSCRIBE",
            MessageKind::Pattern => "PUNSUBSCRIBE",
            MessageKind::Sharded => "SUNSUBSCRIBE",
        }
    }
}

/// The nodes a node-local subscription covers ([`PubSub::subscribe_on`],
/// [`PubSub::psubscribe_on`]), kept in line with the topology: a node that joins the set is
/// subscribed, one that leaves it is unsubscribed.
///
/// Unlike a [`Target`](crate::Target), which is resolved once per command, this names a set
/// that a subscription follows for as long as it lasts, so only sets defined by role are offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Nodes {
    /// Every primary that serves slots: a node raises each keyspace event of its keys once.
    Primaries,
    /// Every node the topology lists: primaries, and the replicas reported online. A replica
    /// raises events of its own for the writes it copies, so an event of a write comes from its
    /// primary and from each of its replicas.
    AllNodes,
}

impl Nodes {
    fn index(self) -> usize {
        match self {
            Nodes::Primaries => 0,
            Nodes::AllNodes => 1,
        }
    }
}

/// A `PubSub` is a [`Stream`](futures_util::Stream) of its messages, ending when the pub/sub
/// stops, the same messages as [`next_message`](PubSub::next_message):
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// use futures_util::StreamExt;
/// let pubsub = cluster.pubsub()?;
/// pubsub.subscribe("news").await?;
/// let payloads: Vec<Vec<u8>> = pubsub.take(10).map(|m| m.payload().to_vec()).collect().await;
/// # Ok(()) }
/// ```
impl futures_util::Stream for PubSub {
    type Item = Message;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Message>> {
        self.get_mut().messages.poll_recv(cx)
    }
}

/// A message received on a subscription.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    kind: MessageKind,
    channel: Bytes,
    pattern: Option<Bytes>,
    payload: Bytes,
    node: Arc<str>,
}

impl Message {
    /// How it was subscribed to.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The channel it was published on.
    pub fn channel(&self) -> &[u8] {
        &self.channel
    }

    /// The pattern that matched, for a pattern subscription.
    pub fn pattern(&self) -> Option<&[u8]> {
        self.pattern.as_deref()
    }

    /// The payload, as published.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload converted like a bulk reply: `String`, `i64`, `Vec<u8>` …
    pub fn payload_as<T: FromValue>(&self) -> Result<T> {
        T::from_value(Value::Bulk(self.payload.clone()))
    }

    /// The node (`host:port`) whose socket delivered it. For a node-local subscription
    /// ([`PubSub::psubscribe_on`]) that is the node that raised it, e.g. the primary of the key
    /// of a keyspace notification; for a classic message, any node the cluster passed it to.
    pub fn node(&self) -> &str {
        &self.node
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .field("channel", &String::from_utf8_lossy(&self.channel))
            .field(
                "pattern",
                &self.pattern.as_deref().map(String::from_utf8_lossy),
            )
            .field("payload", &String::from_utf8_lossy(&self.payload))
            .field("node", &self.node)
            .finish()
    }
}

/// A control message from the handle to its task: what to (un)subscribe.
pub(super) enum Control {
    Subscribe {
        kind: MessageKind,
        /// `Some`: a node-local subscription on every node of the set.
        on: Option<Nodes>,
        names: Vec<Bytes>,
        done: oneshot::Sender<Result<()>>,
    },
    Unsubscribe {
        kind: MessageKind,
        on: Option<Nodes>,
        /// Empty: every name of this kind (and set).
        names: Vec<Bytes>,
    },
}

/// A cluster pub/sub connection: classic channels, patterns and sharded channels, kept
/// subscribed through failovers and slot migrations.
///
/// Messages wait in memory until [`next_message`](Self::next_message) takes them, up to
/// [`pubsub_queue_len`](crate::ClusterBuilder::pubsub_queue_len) of them: read them as they
/// arrive. When a consumer falls that far behind, the oldest message makes room for the newest,
/// and [`dropped_messages`](Self::dropped_messages) counts what was lost (a warning is logged as
/// well). Dropping the `PubSub` closes its sockets. Needs RESP3 (Redis 6 or newer).
///
/// ```no_run
/// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
/// let mut pubsub = cluster.pubsub()?;
/// pubsub.subscribe("news").await?;
/// pubsub.psubscribe("alerts.*").await?;
/// pubsub.ssubscribe("{user:1}:inbox").await?;
/// while let Some(message) = pubsub.next_message().await {
///     println!("{:?} on {}", message.payload_as::<String>()?, String::from_utf8_lossy(message.channel()));
/// }
/// # Ok(()) }
/// ```
pub struct PubSub {
    controls: mpsc::UnboundedSender<Control>,
    messages: queue::Receiver,
    events: broadcast::Sender<PubSubEvent>,
}

impl RedisCluster {
    /// A pub/sub connection with no subscriptions yet; see [`PubSub`]. Its task runs on the
    /// current tokio runtime, so this must be called inside one.
    pub fn pubsub(&self) -> Result<PubSub> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Unsupported,
                "pubsub() must be called inside a tokio runtime, which runs its task",
            )
        })?;
        let (controls, controls_rx) = mpsc::unbounded_channel();
        let (messages_tx, messages) = queue::queue(self.inner.settings.pubsub_queue_len);
        let (events, _) = broadcast::channel(crate::cluster::events::CAPACITY);
        let task = Task::new(self.clone(), controls_rx, messages_tx, events.clone());
        runtime.spawn(task.run());
        Ok(PubSub {
            controls,
            messages,
            events,
        })
    }
}

impl PubSub {
    /// Subscribes to classic channels; returns once the server confirmed every one.
    pub async fn subscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.subscribe_kind(MessageKind::Message, channels).await
    }

    /// Subscribes to patterns (`news.*`); returns once the server confirmed every one.
    pub async fn psubscribe(&self, patterns: impl ToArgs) -> Result<()> {
        self.subscribe_kind(MessageKind::Pattern, patterns).await
    }

    /// Subscribes to sharded channels, each on the primary of its slot; returns once the
    /// servers confirmed every one.
    pub async fn ssubscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.subscribe_kind(MessageKind::Sharded, channels).await
    }

    /// Subscribes to classic channels on every node of `nodes`, kept so as nodes join and leave
    /// the set; returns once every node of the set confirmed every one.
    ///
    /// For channels a node publishes only to its own subscribers: keyspace notifications
    /// (`__keyevent@0__:expired`; see [`psubscribe_on`](Self::psubscribe_on)). A message comes
    /// once from each node that raised it, and [`Message::node`] says which. This is apart from
    /// [`subscribe`](Self::subscribe): a channel subscribed both ways is delivered both ways.
    pub async fn subscribe_on(&self, nodes: Nodes, channels: impl ToArgs) -> Result<()> {
        self.subscribe_names(MessageKind::Message, Some(nodes), channels)
            .await
    }

    /// Subscribes to patterns on every node of `nodes`, kept so as nodes join and leave the
    /// set; returns once every node of the set confirmed every one.
    ///
    /// Keyspace notifications are raised only on the node that holds the key, and published
    /// only to that node's subscribers: a pattern subscribed on one node misses the rest of the
    /// cluster. On [`Nodes::Primaries`] each event of a key comes once, from its primary. The
    /// set follows the topology the client knows: a primary added with slots, or a replica
    /// taking over, is subscribed once the client learns of it (at once after a failover of a
    /// subscribed node: its socket closes, or its `ROLE` checked every second says replica; on
    /// the first `MOVED` or the periodic refresh for a new shard); a node that no longer serves
    /// slots is unsubscribed before its successor is subscribed. So events are delivered at
    /// most once per node that raised them, and during a handover an event may be missed, not
    /// duplicated. Each node's subscription is told in [`events`](Self::events): `Subscribed`
    /// with the node, `Lost` and `Restored`, and [`PubSubEvent::Left`] when a node leaves the
    /// set. The server must have notifications on (`CONFIG SET notify-keyspace-events KEA`
    /// on every node).
    ///
    /// ```no_run
    /// # async fn demo(cluster: slotwise::RedisCluster) -> slotwise::Result<()> {
    /// use slotwise::Nodes;
    /// let mut pubsub = cluster.pubsub()?;
    /// pubsub.psubscribe_on(Nodes::Primaries, "__keyevent@0__:*").await?;
    /// while let Some(message) = pubsub.next_message().await {
    ///     let key: String = message.payload_as()?;
    ///     println!("{} on {key}, raised by {}", String::from_utf8_lossy(message.channel()), message.node());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn psubscribe_on(&self, nodes: Nodes, patterns: impl ToArgs) -> Result<()> {
        self.subscribe_names(MessageKind::Pattern, Some(nodes), patterns)
            .await
    }

    /// Unsubscribes from classic channels (all of them if `channels` is empty).
    pub fn unsubscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.unsubscribe_kind(MessageKind::Message, channels)
    }

    /// Ends node-local subscriptions of classic channels on `nodes` (all of them if `channels`
    /// is empty); see [`subscribe_on`](Self::subscribe_on).
    pub fn unsubscribe_on(&self, nodes: Nodes, channels: impl ToArgs) -> Result<()> {
        self.unsubscribe_names(MessageKind::Message, Some(nodes), channels)
    }

    /// Ends node-local subscriptions of patterns on `nodes` (all of them if `patterns` is
    /// empty); see [`psubscribe_on`](Self::psubscribe_on).
    pub fn punsubscribe_on(&self, nodes: Nodes, patterns: impl ToArgs) -> Result<()> {
        self.unsubscribe_names(MessageKind::Pattern, Some(nodes), patterns)
    }

    /// Unsubscribes from patterns (all of them if `patterns` is empty).
    pub fn punsubscribe(&self, patterns: impl ToArgs) -> Result<()> {
        self.unsubscribe_kind(MessageKind::Pattern, patterns)
    }

    /// Unsubscribes from sharded channels (all of them if `channels` is empty).
    pub fn sunsubscribe(&self, channels: impl ToArgs) -> Result<()> {
        self.unsubscribe_kind(MessageKind::Sharded, channels)
    }

    /// The next message; `None` once the pub/sub has stopped (its client's runtime shut down).
    pub async fn next_message(&mut self) -> Option<Message> {
        self.messages.recv().await
    }

    /// The messages as a [`Stream`](futures_util::Stream) borrowing this `PubSub`, so it can
    /// still (un)subscribe afterwards; it ends when the pub/sub stops. `PubSub` itself is a
    /// `Stream` of the same messages, for code that takes it by value.
    ///
    /// ```no_run
    /// # async fn demo(mut pubsub: slotwise::PubSub) {
    /// use futures_util::StreamExt;
    /// let mut messages = pubsub.messages();
    /// while let Some(message) = messages.next().await {
    ///     println!("{}", String::from_utf8_lossy(message.payload()));
    /// }
    /// # }
    /// ```
    pub fn messages(&mut self) -> impl futures_util::Stream<Item = Message> + Send + Unpin + '_ {
        futures_util::stream::poll_fn(|cx| self.messages.poll_recv(cx))
    }

    /// What happens to the subscriptions from now on, beside the messages: where each name is
    /// subscribed, when one is lost and why, when it is restored and after how long, messages
    /// dropped for a slow consumer. Each call is a listener of its own; a listener more than
    /// 1,024 events behind gets [`PubSubEvent::Lagged`] in place of those it lost.
    ///
    /// ```no_run
    /// # async fn demo(pubsub: slotwise::PubSub) {
    /// use slotwise::PubSubEvent;
    /// let mut events = pubsub.events();
    /// tokio::spawn(async move {
    ///     while let Some(event) = events.recv().await {
    ///         if let PubSubEvent::Restored { name, deaf_for, .. } = event {
    ///             println!("{} was deaf for {deaf_for:?}", String::from_utf8_lossy(&name));
    ///         }
    ///     }
    /// });
    /// # }
    /// ```
    pub fn events(&self) -> PubSubEvents {
        PubSubEvents::new(self.events.subscribe())
    }

    /// A message already received, without waiting.
    pub fn try_next_message(&mut self) -> Option<Message> {
        self.messages.try_recv()
    }

    /// How many messages were dropped, oldest first, because they were not read before the
    /// queue filled up (see [`ClusterBuilder::pubsub_queue_len`](crate::ClusterBuilder::pubsub_queue_len)).
    pub fn dropped_messages(&self) -> u64 {
        self.messages.dropped()
    }

    async fn subscribe_kind(&self, kind: MessageKind, names: impl ToArgs) -> Result<()> {
        self.subscribe_names(kind, None, names).await
    }

    async fn subscribe_names(
        &self,
        kind: MessageKind,
        on: Option<Nodes>,
        names: impl ToArgs,
    ) -> Result<()> {
        let names = names_of(names);
        if names.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{} needs at least one name", kind.subscribe()),
            ));
        }
        let (done, wait) = oneshot::channel();
        self.controls
            .send(Control::Subscribe {
                kind,
                on,
                names,
                done,
            })
            .map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?
    }

    fn unsubscribe_kind(&self, kind: MessageKind, names: impl ToArgs) -> Result<()> {
        self.unsubscribe_names(kind, None, names)
    }

    fn unsubscribe_names(
        &self,
        kind: MessageKind,
        on: Option<Nodes>,
        names: impl ToArgs,
    ) -> Result<()> {
        let names = names_of(names);
        self.controls
            .send(Control::Unsubscribe { kind, on, names })
            .map_err(|_| stopped())
    }
}

impl fmt::Debug for PubSub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubSub").finish_non_exhaustive()
    }
}

fn stopped() -> Error {
    Error::new(ErrorKind::Closed, "the pub/sub task has stopped")
}

fn names_of(names: impl ToArgs) -> Vec<Bytes> {
    let cmd = Cmd::new("NAMES").arg(names);
    cmd.args().skip(1).map(Bytes::copy_from_slice).collect()
}
