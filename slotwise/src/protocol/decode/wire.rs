//! A reply kept as the bytes it came in, decoded when and as far as its reader asks: whole, or
//! a top-level array one element at a time, so that beside the frame itself only one element's
//! values are alive at once.
//!
//! This is how the client reads the replies that can run to megabytes and are at once turned
//! into something smaller (the cluster's topology, the command table): a decoded [`Value`]
//! takes several times the wire size (40 bytes an element, a vector per aggregate). The
//! connection hands replies over this way when asked to (`Connection::send_undecoded`), with
//! the frame's end found by the [`Scanner`](super::Scanner); other replies are decoded as they
//! come. This file does not know what the elements mean.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

use super::lex::{find_line_end, parse_int};
use super::{protocol_error, Decoder};
use crate::error::{Error, Result, ServerError};
use crate::protocol::Value;

/// One complete reply, undecoded.
pub(crate) struct WireReply {
    frame: Bytes,
}

/// What [`WireReply::into_list`] found.
#[derive(Debug)]
pub(crate) enum Listed {
    /// An array or a set: its elements, to be decoded one at a time.
    Elements(Elements),
    /// Any other reply (an error, a map, a nil …), decoded whole.
    Other(Value),
}

/// The elements of an array or a set reply, each decoded when asked for. Decoded bulk strings
/// share the frame's memory, which is freed once this and every value taken from it are gone.
/// After an error nothing more is yielded.
#[derive(Debug)]
pub(crate) struct Elements {
    buf: BytesMut,
    decoder: Decoder,
    remaining: usize,
}

impl WireReply {
    /// The reply made of `frame`: one complete RESP frame, nothing after it.
    pub(crate) fn new(frame: Bytes) -> WireReply {
        WireReply { frame }
    }

    #[cfg(test)]
    /// The reply's size on the wire.
    pub(crate) fn len(&self) -> usize {
        self.frame.len()
    }

    /// True for an error reply.
    pub(crate) fn is_error(&self) -> bool {
        matches!(self.frame.first(), Some(b'-' | b'!'))
    }

    /// The server's error, if the reply is one.
    pub(crate) fn server_error(&self) -> Result<Option<ServerError>> {
        if !self.is_error() {
            return Ok(None);
        }
        match decode_whole(BytesMut::from(&self.frame[..]))? {
            Value::Error(e) => Ok(Some(e)),
            _ => Err(protocol_error("an error reply that is not an error")),
        }
    }

    /// The whole reply, decoded.
    pub(crate) fn into_value(self) -> Result<Value> {
        decode_whole(BytesMut::from(self.frame))
    }

    /// The elements of an array or a set reply, one decoded at a time; any other reply decoded
    /// whole. RESP3 attributes on the reply itself are skipped.
    pub(crate) fn into_list(self) -> Result<Listed> {
        // The frame is the only handle on its memory, so this takes it over without a copy.
        let mut buf = BytesMut::from(self.frame);
        let mut decoder = Decoder::new();
        loop {
            if !matches!(buf.first(), Some(b'*' | b'~' | b'|')) {
                return Ok(Listed::Other(decode_whole(buf)?));
            }
            let line_end = find_line_end(&buf, &mut 0, usize::MAX)?.ok_or_else(truncated)?;
            let count = parse_int(&buf[1..line_end])?;
            let is_attribute = buf[0] == b'|';
            let Ok(count) = usize::try_from(count) else {
                // `*-1`, a nil; any other negative count is refused by the decoder.
                return Ok(Listed::Other(decode_whole(buf)?));
            };
            buf.advance(line_end + 2);
            if !is_attribute {
                return Ok(Listed::Elements(Elements {
                    buf,
                    decoder,
                    remaining: count,
                }));
            }
            // Attributes describe the reply; nothing here has a use for them.
            for _ in 0..count.saturating_mul(2) {
                decode_one(&mut decoder, &mut buf)?;
            }
        }
    }
}

impl Iterator for Elements {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Result<Value>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let element = decode_one(&mut self.decoder, &mut self.buf);
        if element.is_err() {
            self.remaining = 0;
        }
        Some(element)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl fmt::Debug for WireReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the bytes: a reply can be megabytes long.
        write!(f, "WireReply({} bytes)", self.frame.len())
    }
}

fn decode_one(decoder: &mut Decoder, buf: &mut BytesMut) -> Result<Value> {
    decoder.decode(buf)?.ok_or_else(truncated)
}

fn decode_whole(mut buf: BytesMut) -> Result<Value> {
    let value = decode_one(&mut Decoder::new(), &mut buf)?;
    if !buf.is_empty() {
        return Err(protocol_error("bytes after the end of a reply"));
    }
    Ok(value)
}

fn truncated() -> Error {
    protocol_error("a reply cut short")
}

#[cfg(test)]
mod tests;
