//! The incremental RESP2/RESP3 decoder.
//!
//! [`Decoder::decode`] takes bytes from the front of a `BytesMut` as they arrive. Every complete
//! element is split off the buffer at once (bulk data become zero-copy `Bytes` slices) and
//! aggregates under construction are kept on a stack, so when a reply arrives in pieces the
//! decoder resumes where it stopped instead of scanning the reply again from its start.
//!
//! Hostile input is bounded: a bulk or aggregate length over the cap, nesting deeper than the
//! cap and a whole reply larger than the cap are protocol errors reported before anything is
//! allocated for them, and room is reserved only in proportion to bytes actually received (a
//! header announcing 512 MiB reserves little until the data comes).
//!
//! This file holds the decoder's state machine and its caps; the pieces of one element (lines,
//! blob data, numbers) are read in [`lex`]. Beside it, [`scan`] finds where a reply ends
//! without decoding it, under the same caps, and [`wire`] decodes such an undecoded reply
//! later, one element at a time. This module does not know about commands or connections.

mod lex;
mod scan;
mod wire;

pub(crate) use scan::Scanner;
pub(crate) use wire::{Listed, WireReply};

use bytes::{Buf, BytesMut};

use super::value::Value;
use crate::error::{Error, ErrorKind, Result, ServerError};
use lex::{
    checked_len, find_line_end, parse_double, parse_int, reserve_for, take_blob, take_line,
    verbatim,
};

/// The default largest bulk string accepted: 512 MiB, the server's own limit.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// The default deepest nesting of aggregates accepted.
pub const DEFAULT_MAX_DEPTH: usize = 128;
/// The default largest whole reply accepted, on the wire: 1 GiB.
pub const DEFAULT_MAX_REPLY_LEN: usize = 1024 * 1024 * 1024;

/// The least room reserved ahead for a bulk string still arriving; past it, the room reserved
/// at most doubles what has arrived, so a hostile length reserves little.
const MIN_RESERVE_AHEAD: usize = 64 * 1024;

/// An incremental RESP decoder. One per connection: it holds the partial reply between reads.
#[derive(Debug)]
pub struct Decoder {
    max_bulk_len: usize,
    max_depth: usize,
    max_reply_len: usize,
    /// Bytes of the reply under construction taken from the buffer so far.
    reply_len: usize,
    stack: Vec<Partial>,
    /// Where to resume looking for the CRLF of a line that was incomplete at the last call.
    line_scan_from: usize,
}

/// An aggregate still waiting for elements.
#[derive(Debug)]
enum Partial {
    List {
        kind: ListKind,
        remaining: usize,
        items: Vec<Value>,
    },
    Pairs {
        is_attribute: bool,
        remaining: usize,
        pairs: Vec<(Value, Value)>,
        key: Option<Value>,
    },
    /// An attribute was read; it attaches to the next value.
    Attributed { attributes: Vec<(Value, Value)> },
}

#[derive(Debug, Clone, Copy)]
enum ListKind {
    Array,
    Set,
    Push,
}

/// What the element at the front of the buffer turned out to be.
enum Element {
    Value(Value),
    Open(Partial),
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with the default caps (512 MiB bulk strings, nesting depth 128).
    pub fn new() -> Decoder {
        Decoder {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
            max_reply_len: DEFAULT_MAX_REPLY_LEN,
            reply_len: 0,
            stack: Vec::new(),
            line_scan_from: 0,
        }
    }

    /// Sets the largest bulk string (and aggregate length) accepted. Default is 512 MiB.
    #[must_use = "it returns the changed decoder"]
    pub fn max_bulk_len(mut self, len: usize) -> Decoder {
        self.max_bulk_len = len;
        self
    }

    /// Sets the deepest nesting of aggregates accepted. Default is 128.
    #[must_use = "it returns the changed decoder"]
    pub fn max_depth(mut self, depth: usize) -> Decoder {
        self.max_depth = depth;
        self
    }

    /// Sets the largest whole reply accepted, counted on the wire: every element of an
    /// aggregate, headers included. Default is 1 GiB.
    #[must_use = "it returns the changed decoder"]
    pub fn max_reply_len(mut self, len: usize) -> Decoder {
        self.max_reply_len = len;
        self
    }

    /// Forgets any partially decoded reply (after an error, before reusing the decoder).
    pub fn reset(&mut self) {
        self.stack.clear();
        self.line_scan_from = 0;
        self.reply_len = 0;
    }

    /// True while a reply has been started but not finished.
    pub fn is_mid_reply(&self) -> bool {
        !self.stack.is_empty()
    }

    /// Decodes the next complete value from the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed; the bytes of elements already complete
    /// have then been taken from `buf` and are kept by the decoder. On `Err` the stream is
    /// unusable: the caller closes the connection (or calls [`Decoder::reset`] on fresh input).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>> {
        loop {
            let before = buf.len();
            let element = self.element(buf)?;
            self.reply_len = self.reply_len.saturating_add(before - buf.len());
            let Some(element) = element else {
                return Ok(None);
            };
            let mut value = match element {
                Element::Value(v) => v,
                Element::Open(partial) => {
                    if self.stack.len() >= self.max_depth {
                        return Err(protocol_error(format!(
                            "aggregates nested deeper than {}",
                            self.max_depth
                        )));
                    }
                    self.stack.push(partial);
                    continue;
                }
            };
            // Hand the finished value to the innermost open aggregate, closing every aggregate
            // it completes.
            loop {
                let Some(top) = self.stack.last_mut() else {
                    self.reply_len = 0;
                    return Ok(Some(value));
                };
                match top.add(value) {
                    Added::Pending => break,
                    Added::Done(v) => {
                        self.stack.pop();
                        value = v;
                    }
                    Added::Attributes(attributes) => {
                        // The attribute map is done: it now waits for the value it describes.
                        *top = Partial::Attributed { attributes };
                        break;
                    }
                }
            }
        }
    }

    /// Parses one element at the front of `buf`, taking its bytes only when it is complete.
    fn element(&mut self, buf: &mut BytesMut) -> Result<Option<Element>> {
        let Some(&tag) = buf.first() else {
            return Ok(None);
        };
        let Some(line_end) = self.find_line_end(buf)? else {
            return Ok(None);
        };
        self.line_scan_from = 0;
        // `line` is buf[1..line_end]; the element's header occupies line_end + 2 bytes.
        let header_len = line_end + 2;
        let element = match tag {
            b'+' | b'-' if buf[1..line_end].contains(&b'\n') => {
                return Err(protocol_error("line contains a bare LF"));
            }
            b'+' => Element::Value(Value::SimpleString(take_line(buf, line_end))),
            b'-' => Element::Value(Value::Error(ServerError::new(take_line(buf, line_end)))),
            b':' => {
                let n = parse_int(&buf[1..line_end])?;
                buf.advance(header_len);
                Element::Value(Value::Int(n))
            }
            b'$' | b'!' | b'=' => {
                let len = parse_int(&buf[1..line_end])?;
                if len == -1 && tag == b'$' {
                    buf.advance(header_len);
                    return Ok(Some(Element::Value(Value::Nil)));
                }
                let len = self.checked_len(len, tag)?;
                self.check_reply_len(header_len + len + 2)?;
                let Some(data) = take_blob(buf, header_len, len)? else {
                    return Ok(None);
                };
                Element::Value(match tag {
                    b'$' => Value::Bulk(data),
                    b'!' => Value::Error(ServerError::new(data)),
                    _ => verbatim(data)?,
                })
            }
            b'*' | b'~' | b'>' => {
                let len = parse_int(&buf[1..line_end])?;
                buf.advance(header_len);
                if len == -1 && tag == b'*' {
                    return Ok(Some(Element::Value(Value::Nil)));
                }
                let len = self.checked_len(len, tag)?;
                let kind = match tag {
                    b'*' => ListKind::Array,
                    b'~' => ListKind::Set,
                    _ => ListKind::Push,
                };
                if len == 0 {
                    Element::Value(kind.finish(Vec::new()))
                } else {
                    Element::Open(Partial::List {
                        kind,
                        remaining: len,
                        items: Vec::with_capacity(reserve_for(len, buf.len())),
                    })
                }
            }
            b'%' | b'|' => {
                let len = parse_int(&buf[1..line_end])?;
                buf.advance(header_len);
                let len = self.checked_len(len, tag)?;
                let is_attribute = tag == b'|';
                match (len, is_attribute) {
                    (0, false) => Element::Value(Value::Map(Vec::new())),
                    (0, true) => Element::Open(Partial::Attributed {
                        attributes: Vec::new(),
                    }),
                    _ => Element::Open(Partial::Pairs {
                        is_attribute,
                        remaining: len.saturating_mul(2),
                        pairs: Vec::with_capacity(reserve_for(len, buf.len() / 2)),
                        key: None,
                    }),
                }
            }
            b'_' => {
                if line_end != 1 {
                    return Err(protocol_error("null with a payload"));
                }
                buf.advance(header_len);
                Element::Value(Value::Nil)
            }
            b'#' => {
                let v = match &buf[1..line_end] {
                    b"t" => true,
                    b"f" => false,
                    other => {
                        return Err(protocol_error(format!(
                            "invalid boolean {:?}",
                            other.escape_ascii().to_string()
                        )))
                    }
                };
                buf.advance(header_len);
                Element::Value(Value::Boolean(v))
            }
            b',' => {
                let d = parse_double(&buf[1..line_end])?;
                buf.advance(header_len);
                Element::Value(Value::Double(d))
            }
            b'(' => {
                let digits = &buf[1..line_end];
                let unsigned = digits.strip_prefix(b"-").unwrap_or(digits);
                if unsigned.is_empty() || !unsigned.iter().all(u8::is_ascii_digit) {
                    return Err(protocol_error("invalid big number"));
                }
                Element::Value(Value::BigNumber(take_line(buf, line_end)))
            }
            other => {
                return Err(protocol_error(format!(
                    "invalid type byte 0x{other:02x} ({:?})",
                    char::from(other)
                )))
            }
        };
        Ok(Some(element))
    }

    /// Finds the `\r` of the first line's CRLF, or `None` if the line is not complete yet.
    fn find_line_end(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        find_line_end(buf, &mut self.line_scan_from, self.max_bulk_len)
    }

    /// Refuses an element of `len` bytes that would take the reply past its cap.
    fn check_reply_len(&self, len: usize) -> Result<()> {
        if self.reply_len.saturating_add(len) > self.max_reply_len {
            return Err(protocol_error(format!(
                "a reply longer than the limit of {} bytes",
                self.max_reply_len
            )));
        }
        Ok(())
    }

    fn checked_len(&self, len: i64, tag: u8) -> Result<usize> {
        checked_len(len, tag, self.max_bulk_len)
    }
}

enum Added {
    Pending,
    Done(Value),
    Attributes(Vec<(Value, Value)>),
}

impl Partial {
    /// Adds one element; when it completes the aggregate, returns the finished value.
    fn add(&mut self, value: Value) -> Added {
        match self {
            Partial::List {
                kind,
                remaining,
                items,
            } => {
                items.push(value);
                *remaining -= 1;
                if *remaining == 0 {
                    Added::Done(kind.finish(std::mem::take(items)))
                } else {
                    Added::Pending
                }
            }
            Partial::Pairs {
                is_attribute,
                remaining,
                pairs,
                key,
            } => {
                match key.take() {
                    None => *key = Some(value),
                    Some(k) => pairs.push((k, value)),
                }
                *remaining -= 1;
                match (*remaining, *is_attribute) {
                    (0, true) => Added::Attributes(std::mem::take(pairs)),
                    (0, false) => Added::Done(Value::Map(std::mem::take(pairs))),
                    _ => Added::Pending,
                }
            }
            Partial::Attributed { attributes } => Added::Done(Value::Attribute {
                attributes: std::mem::take(attributes),
                value: Box::new(value),
            }),
        }
    }
}

impl ListKind {
    fn finish(self, items: Vec<Value>) -> Value {
        match self {
            ListKind::Array => Value::Array(items),
            ListKind::Set => Value::Set(items),
            ListKind::Push => Value::Push(items),
        }
    }
}

fn protocol_error(detail: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::Protocol, detail)
}

#[cfg(test)]
mod tests;
