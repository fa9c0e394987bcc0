//! The reader task: decodes what the socket sends and hands each reply to the request waiting
//! for it, in order; `invalidate` pushes go to the tracker of a socket with client tracking on,
//! other push frames (and, in raw mode, every frame) to the push sink.
//!
//! Normally it decodes every complete reply in the buffer, then hands them all over under one
//! lock. While a request for undecoded replies waits, it goes one frame at a time instead: the
//! request a frame answers says whether to decode it or to scan for its end and hand over its
//! bytes, and the frame is handed over before the next is looked at.
//!
//! It owns matching replies to requests, and so counting replies, error replies and each
//! request's latency in the node's meter: to the instant the read that brought the reply
//! returned, taken once per read. It does not write, nor time requests out (the
//! watchdog does).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Reply, Shared, SinkEvent, Wants, READ_CHUNK};
use crate::connection::tracking::invalidated_keys;
use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Decoder, Scanner, Value, WireReply};

pub(super) async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    mut decoder: Decoder,
    shared: Arc<Shared>,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut scanner = decoder.scanner();
    let mut replies: Vec<Value> = Vec::new();
    let mut done: Vec<(oneshot::Sender<Result<Reply>>, Reply)> = Vec::new();
    // When the last read returned: what is in the buffer came then.
    let mut read_ns = 0;
    loop {
        // Looked at once per read, after it: a request whose reply could be in the buffer was
        // counted before it was written, so before that read returned.
        if shared.undecoded.load(Ordering::Acquire) > 0 {
            let frames = OneAtATime {
                shared: &shared,
                decoder: &mut decoder,
                scanner: &mut scanner,
                replies: &mut replies,
                done: &mut done,
                read_ns,
            };
            if let Err(e) = frames.read(&mut buf) {
                shared.close(e);
                return;
            }
        } else {
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(Value::Push(items))) => push(&shared, items),
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
            if !replies.is_empty() && !deliver(&shared, &mut replies, &mut done, read_ns) {
                shared.close(orphan(&shared));
                return;
            }
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
                read_ns = shared.ns_since_epoch(Instant::now());
                shared.last_read_ns.store(read_ns, Ordering::Release);
            }
            Err(e) => {
                shared.close(shared.io_error(e));
                return;
            }
        }
    }
}

/// A push: an invalidation goes to the tracker, if client tracking is on, at once (before any
/// reply read after it is handed over); anything else to the sink.
fn push(shared: &Shared, items: Vec<Value>) {
    if let Some(tracker) = shared.tracker.get() {
        if let Some(keys) = invalidated_keys(&items) {
            tracker.invalidated(keys);
            return;
        }
    }
    if let Some(sink) = &shared.push_sink {
        sink.send(SinkEvent::Push(items));
    }
}

/// Matches replies to waiting requests in order, counting them in the meter with the requests'
/// latency to `read_ns`; false if a reply had no request.
fn deliver(
    shared: &Shared,
    replies: &mut Vec<Value>,
    done: &mut Vec<(oneshot::Sender<Result<Reply>>, Reply)>,
    read_ns: u64,
) -> bool {
    let mut orphan = false;
    let mut answered = 0;
    {
        let mut state = shared.lock();
        for value in replies.drain(..) {
            let Some(front) = state.pending.front_mut() else {
                orphan = true;
                break;
            };
            answered += 1;
            if let Value::Error(e) = &value {
                shared.meter.error_reply(e.code());
            }
            front.remaining -= 1;
            if front.remaining > 0 {
                front.parts.push_value(value);
                continue;
            }
            let Some(p) = state.pending.pop_front() else {
                orphan = true;
                break;
            };
            shared.meter.timed(read_ns.saturating_sub(p.started_ns));
            let reply = if p.wants == Wants::One {
                Reply::One(value)
            } else {
                let mut values = p.parts.into_values();
                values.push(value);
                Reply::Many(values)
            };
            // No sender: the caller timed out and is gone; its late reply is dropped here.
            if let Some(tx) = p.tx {
                done.push((tx, reply));
            }
        }
    }
    shared.meter.answered(answered);
    // Wake callers outside the lock.
    for (tx, reply) in done.drain(..) {
        let _ = tx.send(Ok(reply));
    }
    !orphan
}

/// The reader's state while some request wants its replies undecoded.
struct OneAtATime<'a> {
    shared: &'a Shared,
    decoder: &'a mut Decoder,
    scanner: &'a mut Scanner,
    replies: &'a mut Vec<Value>,
    done: &'a mut Vec<(oneshot::Sender<Result<Reply>>, Reply)>,
    /// When the read that brought the buffer's bytes returned.
    read_ns: u64,
}

impl OneAtATime<'_> {
    /// Reads the complete frames in `buf` one at a time, each handed over before the next is
    /// looked at, so the request at the front of the queue is the one the next frame answers.
    /// An error is the socket's end: it is to be closed with it.
    fn read(self, buf: &mut BytesMut) -> std::result::Result<(), Error> {
        let shared = self.shared;
        let broken = |e: Error| e.with_node(shared.node.as_ref()).with_sent(Sent::Maybe);
        loop {
            // A frame begun is finished the way it was begun.
            let undecoded = if self.decoder.is_mid_reply() {
                false
            } else if self.scanner.is_mid_frame() {
                true
            } else {
                match buf.first() {
                    None => return Ok(()),
                    // A push answers no request.
                    Some(b'>') => false,
                    Some(_) => {
                        let state = shared.lock();
                        let front = state.pending.front();
                        front.is_some_and(|p| p.wants == Wants::Frames)
                    }
                }
            };
            let answered = if undecoded {
                let Some(len) = self.scanner.scan(buf).map_err(broken)? else {
                    return Ok(());
                };
                deliver_frame(shared, WireReply::new(take_frame(buf, len)), self.read_ns)
            } else {
                match self.decoder.decode(buf).map_err(broken)? {
                    None => return Ok(()),
                    Some(Value::Push(items)) => {
                        push(shared, items);
                        true
                    }
                    Some(value) if shared.raw.load(Ordering::Acquire) => {
                        if let Some(sink) = &shared.push_sink {
                            sink.send(SinkEvent::Frame(value));
                        }
                        true
                    }
                    Some(value) => {
                        self.replies.push(value);
                        deliver(shared, self.replies, self.done, self.read_ns)
                    }
                }
            };
            if !answered {
                return Err(orphan(shared));
            }
        }
    }
}

/// The first `len` bytes of `buf`, split off as a frame of their own.
///
/// A small frame is copied out. A large one keeps the allocation it was read into, cut down to
/// it (the buffer grew by doubling, so it may be up to twice the frame), and the bytes after it
/// move to a new buffer: reading on into the old one's tail would keep all of it alive for as
/// long as the frame or any later reply read there.
fn take_frame(buf: &mut BytesMut, len: usize) -> Bytes {
    let len = len.min(buf.len());
    if len <= READ_CHUNK {
        let frame = Bytes::copy_from_slice(&buf[..len]);
        buf.advance(len);
        return frame;
    }
    let mut rest = BytesMut::with_capacity(READ_CHUNK.max(buf.len() - len));
    rest.extend_from_slice(&buf[len..]);
    let mut frame = std::mem::replace(buf, rest);
    frame.truncate(len);
    // No copy unless something else still holds part of the allocation: the frame is moved to
    // its start in place.
    let mut frame = Vec::from(frame);
    frame.shrink_to_fit();
    Bytes::from(frame)
}

/// Hands a frame to the request at the front, which wants its replies undecoded, counting it
/// as [`deliver`] does; false if no request waits.
fn deliver_frame(shared: &Shared, frame: WireReply, read_ns: u64) -> bool {
    if frame.is_error() {
        if let Ok(Some(e)) = frame.server_error() {
            shared.meter.error_reply(e.code());
        }
    }
    let answered = {
        let mut state = shared.lock();
        let Some(front) = state.pending.front_mut() else {
            return false;
        };
        shared.meter.answered(1);
        front.parts.push_frame(frame);
        front.remaining -= 1;
        if front.remaining > 0 {
            return true;
        }
        let Some(p) = state.pending.pop_front() else {
            return false;
        };
        shared.meter.timed(read_ns.saturating_sub(p.started_ns));
        if p.wants == Wants::Frames {
            shared.undecoded.fetch_sub(1, Ordering::Release);
        }
        // No sender: the caller timed out and is gone.
        p.tx.map(|tx| (tx, Reply::Frames(p.parts.into_frames())))
    };
    // Wake the caller outside the lock.
    if let Some((tx, reply)) = answered {
        let _ = tx.send(Ok(reply));
    }
    true
}

fn orphan(shared: &Shared) -> Error {
    Error::new(ErrorKind::Protocol, "reply without a request").with_node(shared.node.as_ref())
}

#[cfg(test)]
mod tests;
