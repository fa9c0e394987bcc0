//! What a [`PubSub`](super::PubSub) tells of its subscriptions beside its messages: where each
//! name was subscribed, when it went deaf and why, when and where it was subscribed again, and
//! messages dropped for a slow consumer. From them a caller can tell exactly when a channel
//! could not hear.

use std::time::Duration;

use bytes::Bytes;

use super::MessageKind;
use crate::cluster::events::{Events, Lagging};

/// A subscription's news; see [`PubSub::events`](super::PubSub::events).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PubSubEvent {
    /// `name` is subscribed on `node` (`host:port`), for the first time (for a node-local
    /// subscription: the first time on that node).
    Subscribed {
        /// How it is subscribed.
        kind: MessageKind,
        /// The channel or pattern.
        name: Bytes,
        /// Where.
        node: String,
    },
    /// `name`, subscribed on `node`, hears nothing from now on until it is
    /// [`Restored`](PubSubEvent::Restored): the subscriber is placing it again.
    Lost {
        /// How it was subscribed.
        kind: MessageKind,
        /// The channel or pattern.
        name: Bytes,
        /// Where it was subscribed.
        node: String,
        /// Why it was lost.
        reason: LossReason,
    },
    /// `name` is subscribed again, on `node`, after it was lost on `from`.
    Restored {
        /// How it is subscribed.
        kind: MessageKind,
        /// The channel or pattern.
        name: Bytes,
        /// Where it is subscribed now.
        node: String,
        /// Where it was lost.
        from: String,
        /// How long it could not hear: from the loss being seen to the new confirmation.
        deaf_for: Duration,
    },
    /// A node-local subscription of `name` ([`PubSub::psubscribe_on`](super::PubSub::psubscribe_on))
    /// on `node` ended because the node left the set it covers: it no longer serves slots (a
    /// failover's old primary, a primary whose slots all moved away) or the topology no longer
    /// lists it. The rest of the set keeps it.
    Left {
        /// How it was subscribed.
        kind: MessageKind,
        /// The channel or pattern.
        name: Bytes,
        /// The node that left.
        node: String,
    },
    /// The consumer fell behind and messages were dropped, oldest first: `total` so far (told
    /// at 1, 2, 4, 8 … dropped; [`PubSub::dropped_messages`](super::PubSub::dropped_messages)
    /// has the count at any time).
    Dropped {
        /// Messages dropped since the `PubSub` was made.
        total: u64,
    },
    /// This listener fell behind: the `missed` events before the next one were lost.
    Lagged {
        /// How many.
        missed: u64,
    },
}

/// Why a subscription was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LossReason {
    /// The node's socket closed (the node failed, was killed or restarted).
    Closed,
    /// The node stopped answering the socket's health check (frozen, or cut off).
    Unresponsive,
    /// The server dropped it: the slot of a sharded channel moved away (a migration, or its
    /// primary became a replica).
    DroppedByServer,
}

impl Lagging for PubSubEvent {
    fn lagged(missed: u64) -> PubSubEvent {
        PubSubEvent::Lagged { missed }
    }
}

/// A subscription to a [`PubSub`](super::PubSub)'s events; see
/// [`PubSub::events`](super::PubSub::events).
pub type PubSubEvents = Events<PubSubEvent>;
