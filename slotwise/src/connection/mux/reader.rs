//! The reader task: decodes what the socket sends and hands each reply to the request waiting
//! for it, in order; push frames (and, in raw mode, every frame) go to the push sink.
//!
//! It owns matching replies to requests. It does not write, nor time requests out (the
//! watchdog does).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Reply, Shared, SinkEvent, READ_CHUNK};
use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Decoder, Value};

pub(super) async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    mut decoder: Decoder,
    shared: Arc<Shared>,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut replies: Vec<Value> = Vec::new();
    let mut done: Vec<(oneshot::Sender<Result<Reply>>, Reply)> = Vec::new();
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Value::Push(items))) => {
                    if let Some(sink) = &shared.push_sink {
                        sink.send(SinkEvent::Push(items));
                    }
                }
                Ok(Some(value)) if shared.raw.load(Ordering::Acquire) => {
                    if let Some(sink) = &shared.push_sink {
                        sink.send(SinkEvent::Frame(value));
                    }
                }
                Ok(Some(value)) => replies.push(value),
                Ok(None) => break,
                Err(e) => {
                    shared.close(e.with_node(shared.node.as_ref()).with_sent(Sent::Maybe));
                    return;
                }
            }
        }
        if !replies.is_empty() && !deliver(&shared, &mut replies, &mut done) {
            shared.close(
                Error::new(ErrorKind::Protocol, "reply without a request")
                    .with_node(shared.node.as_ref()),
            );
            return;
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                let eof = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                );
                shared.close(shared.io_error(eof));
                return;
            }
            Ok(_) => {
                shared
                    .last_read_ms
                    .store(shared.ms_since_epoch(Instant::now()), Ordering::Release);
            }
            Err(e) => {
                shared.close(shared.io_error(e));
                return;
            }
        }
    }
}

/// Matches replies to waiting requests in order; false if a reply had no request.
fn deliver(
    shared: &Shared,
    replies: &mut Vec<Value>,
    done: &mut Vec<(oneshot::Sender<Result<Reply>>, Reply)>,
) -> bool {
    let mut orphan = false;
    {
        let mut state = shared.lock();
        for value in replies.drain(..) {
            let Some(front) = state.pending.front_mut() else {
                orphan = true;
                break;
            };
            front.remaining -= 1;
            if front.remaining > 0 {
                front.values.push(value);
                continue;
            }
            let Some(p) = state.pending.pop_front() else {
                orphan = true;
                break;
            };
            let reply = if !p.batch {
                Reply::One(value)
            } else {
                let mut values = p.values;
                values.push(value);
                Reply::Many(values)
            };
            // No sender: the caller timed out and is gone; its late reply is dropped here.
            if let Some(tx) = p.tx {
                done.push((tx, reply));
            }
        }
    }
    // Wake callers outside the lock.
    for (tx, reply) in done.drain(..) {
        let _ = tx.send(Ok(reply));
    }
    !orphan
}
