//! [`PubSubCommands`]: publishing, and asking which channels have subscribers.
//!
//! Subscribing is not here: a subscription changes the state of the connection it is made on,
//! so it has an API of its own ([`crate::PubSub`]). `PUBLISH` carries no key, so it goes to the
//! default node (the cluster passes it on to every node); `SPUBLISH` goes by its channel's slot,
//! to the shard whose subscribers receive it.

use super::Executor;
use crate::protocol::{Cmd, FromValue, ToArgs};

/// Pub/sub commands that do not subscribe. Implemented for every [`Executor`].
pub trait PubSubCommands: Executor {
    /// `PUBLISH channel message`: how many clients of the receiving node got it (the cluster
    /// delivers it to the subscribers of every node).
    fn publish(&self, channel: impl ToArgs, message: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("PUBLISH").arg(channel).arg(message))
    }

    /// `SPUBLISH channel message`: to the shard of the channel's slot; how many clients of
    /// that shard got it.
    fn spublish(&self, channel: impl ToArgs, message: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("SPUBLISH").arg(channel).arg(message))
    }

    /// `PUBSUB NUMSUB channel…`: channel and subscriber count pairs, on the node it runs on.
    fn pubsub_numsub<T: FromValue + Send + 'static>(
        &self,
        channels: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("PUBSUB").arg("NUMSUB").arg(channels))
    }

    /// `PUBSUB SHARDNUMSUB channel…`: sharded channel and subscriber count pairs.
    fn pubsub_shardnumsub<T: FromValue + Send + 'static>(
        &self,
        channels: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("PUBSUB").arg("SHARDNUMSUB").arg(channels))
    }

    /// `PUBSUB CHANNELS pattern`: the channels with subscribers on the node it runs on that
    /// match the glob pattern (`"*"`: all), e.g. as `Vec<String>`.
    fn pubsub_channels<T: FromValue + Send + 'static>(
        &self,
        pattern: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("PUBSUB").arg("CHANNELS").arg(pattern))
    }

    /// `PUBSUB NUMPAT`: how many patterns clients are subscribed to, on the node it runs on.
    fn pubsub_numpat(&self) -> Self::Output<i64> {
        self.execute(Cmd::new("PUBSUB").arg("NUMPAT"))
    }

    /// `PUBSUB SHARDCHANNELS pattern`: the sharded channels with subscribers on the node it
    /// runs on that match the glob pattern (`"*"`: all).
    fn pubsub_shardchannels<T: FromValue + Send + 'static>(
        &self,
        pattern: impl ToArgs,
    ) -> Self::Output<T> {
        self.execute(Cmd::new("PUBSUB").arg("SHARDCHANNELS").arg(pattern))
    }
}

impl<E: Executor + ?Sized> PubSubCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.publish("ch", "hi"), ["PUBLISH", "ch", "hi"]);
        assert_eq!(ArgsOf.spublish("ch", "hi"), ["SPUBLISH", "ch", "hi"]);
        assert_eq!(
            ArgsOf.pubsub_numsub::<Vec<String>>(["a", "b"]),
            ["PUBSUB", "NUMSUB", "a", "b"]
        );
        assert_eq!(
            ArgsOf.pubsub_shardnumsub::<Vec<String>>("a"),
            ["PUBSUB", "SHARDNUMSUB", "a"]
        );
    }

    #[test]
    fn channel_listings() {
        assert_eq!(
            ArgsOf.pubsub_channels::<Vec<String>>("news.*"),
            ["PUBSUB", "CHANNELS", "news.*"]
        );
        assert_eq!(ArgsOf.pubsub_numpat(), ["PUBSUB", "NUMPAT"]);
        assert_eq!(
            ArgsOf.pubsub_shardchannels::<Vec<String>>("*"),
            ["PUBSUB", "SHARDCHANNELS", "*"]
        );
    }
}
