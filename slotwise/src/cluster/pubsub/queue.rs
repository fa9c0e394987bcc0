//! The queue between a pub/sub task and its [`PubSub`](super::PubSub): bounded, so a consumer
//! that stops reading costs a bounded amount of memory. When it is full the oldest message makes
//! room for the newest, and every message dropped so is counted for the consumer to read
//! ([`PubSub::dropped_messages`](super::PubSub::dropped_messages)) and logged.
//!
//! This module knows nothing of sockets or subscriptions.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::Message;

struct Shared {
    state: Mutex<State>,
}

struct State {
    messages: VecDeque<Message>,
    capacity: usize,
    dropped: u64,
    /// The task has stopped: no more messages will come.
    closed: bool,
    /// The consumer waiting for a message, woken when one comes or the task stops.
    waiting: Option<Waker>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The task's end.
pub(super) struct Sender(Arc<Shared>);

/// The consumer's end.
pub(super) struct Receiver(Arc<Shared>);

/// A queue holding at most `capacity` messages (at least one).
pub(super) fn queue(capacity: usize) -> (Sender, Receiver) {
    let capacity = capacity.max(1);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            // Room grows with use: most queues never hold more than a few messages.
            messages: VecDeque::with_capacity(capacity.min(64)),
            capacity,
            dropped: 0,
            closed: false,
            waiting: None,
        }),
    });
    (Sender(Arc::clone(&shared)), Receiver(shared))
}

impl Sender {
    /// Queues `message`, dropping the oldest one if the queue is full.
    /// Queues `message`; returns the total dropped so far if it dropped one to make room.
    pub(super) fn push(&self, message: Message) -> Option<u64> {
        let mut state = self.0.state();
        let mut dropped = None;
        if state.messages.len() >= state.capacity {
            state.messages.pop_front();
            state.dropped += 1;
            dropped = Some(state.dropped);
            // Logged when dropping starts and then at every power of two, not per message.
            if state.dropped.is_power_of_two() {
                tracing::warn!(
                    dropped = state.dropped,
                    capacity = state.capacity,
                    "pub/sub messages are not read as fast as they come; dropping the oldest"
                );
            }
        }
        state.messages.push_back(message);
        let waiting = state.waiting.take();
        drop(state);
        if let Some(waker) = waiting {
            waker.wake();
        }
        dropped
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.closed = true;
        let waiting = state.waiting.take();
        drop(state);
        if let Some(waker) = waiting {
            waker.wake();
        }
    }
}

impl Receiver {
    /// The oldest message, waiting for one; `None` once the task has stopped and every message
    /// it queued has been taken.
    pub(super) async fn recv(&mut self) -> Option<Message> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll: the waker is kept under the same lock the sender takes
    /// to push, so a message that comes between the look and the wait is not missed.
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let mut state = self.0.state();
        if let Some(message) = state.messages.pop_front() {
            return Poll::Ready(Some(message));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        match &mut state.waiting {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waiting => *waiting = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The oldest message, if one is queued.
    pub(super) fn try_recv(&mut self) -> Option<Message> {
        self.0.state().messages.pop_front()
    }

    /// How many messages were dropped because the queue was full.
    pub(super) fn dropped(&self) -> u64 {
        self.0.state().dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::pubsub::MessageKind;
    use bytes::Bytes;

    fn message(n: usize) -> Message {
        Message {
            kind: MessageKind::Message,
            channel: Bytes::from_static(b"ch"),
            pattern: None,
            payload: Bytes::from(n.to_string()),
            node: std::sync::Arc::from("127.0.0.1:7000"),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_oldest_and_counts() {
        let (tx, mut rx) = queue(3);
        for n in 0..5 {
            tx.push(message(n));
        }
        assert_eq!(rx.dropped(), 2);
        let mut got = Vec::new();
        while let Some(m) = rx.try_recv() {
            got.push(String::from_utf8_lossy(m.payload()).into_owned());
        }
        assert_eq!(got, ["2", "3", "4"]);
        // A stopped task still hands over what it queued, then says it stopped.
        tx.push(message(5));
        drop(tx);
        assert_eq!(
            rx.recv().await.map(|m| m.payload().to_vec()),
            Some(b"5".to_vec())
        );
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_consumer_is_woken() {
        let (tx, mut rx) = queue(8);
        let consumer = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        tx.push(message(7));
        let got = consumer.await.unwrap().unwrap();
        assert_eq!(got.payload(), b"7");
    }
}
