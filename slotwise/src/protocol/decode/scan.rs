//! Finding where one complete reply ends in the bytes received so far, without decoding it.
//!
//! [`Scanner::scan`] is called again each time more bytes have arrived. It remembers how far it
//! got: the offset of the next element, and for each aggregate still open how many elements it
//! still expects. So a reply of many megabytes arriving in many reads is looked at once, from
//! where the last call stopped, never again from its start. It takes nothing from the buffer
//! and builds no values; once it has the length, the caller splits the frame off whole.
//!
//! It refuses what the [`Decoder`] refuses about a reply's framing, with the same caps: an
//! unknown type byte, a malformed or negative length, a length over the bulk cap, nesting
//! deeper than the depth cap, a reply longer than the reply cap, a CR not followed by LF, blob
//! data not followed by CRLF, an over-long line. What a scalar holds (a boolean's letter, a
//! double's digits, a verbatim string's format) is checked when the frame is decoded.
//!
//! This file does not know which replies are to be scanned rather than decoded; the connection's
//! reader decides that (`connection/mux/reader.rs`).

use super::lex::{checked_len, find_line_end, parse_int};
use super::{protocol_error, Decoder};
use crate::error::Result;

/// Finds the length of the complete RESP frame at the front of a buffer, across calls.
#[derive(Debug)]
pub(crate) struct Scanner {
    max_bulk_len: usize,
    max_depth: usize,
    max_reply_len: usize,
    /// A frame's first bytes have been looked at, and its end not found yet.
    started: bool,
    /// Where the next element starts: every byte before it belongs to the frame.
    offset: usize,
    /// How many elements each aggregate still open expects, outermost first.
    open: Vec<usize>,
    /// Where to resume looking for the CRLF of a line that was incomplete at the last call,
    /// counted from the element's start.
    line_scan_from: usize,
}

/// What the element at the scanner's offset turned out to be.
enum Element {
    /// Complete, this many bytes long.
    Whole(usize),
    /// An aggregate header this many bytes long, opening this many elements.
    Open(usize, usize),
}

impl Decoder {
    /// A scanner with this decoder's caps, for frames to be kept undecoded.
    pub(crate) fn scanner(&self) -> Scanner {
        Scanner {
            max_bulk_len: self.max_bulk_len,
            max_depth: self.max_depth,
            max_reply_len: self.max_reply_len,
            started: false,
            offset: 0,
            open: Vec::new(),
            line_scan_from: 0,
        }
    }
}

impl Scanner {
    /// True once a frame has been started and not finished: the bytes at the front of the
    /// buffer are its beginning.
    pub(crate) fn is_mid_frame(&self) -> bool {
        self.started
    }

    /// The length of the complete frame at the front of `buf`, or `Ok(None)` when more bytes
    /// are needed. Between calls the caller only appends to `buf`; once a length is returned
    /// it takes that many bytes off the front, and the scanner is ready for the next frame.
    ///
    /// On `Err` the stream is unusable, as with [`Decoder::decode`].
    pub(crate) fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        self.started |= !buf.is_empty();
        loop {
            let rest = buf.get(self.offset..).unwrap_or_default();
            let Some(element) = self.element(rest)? else {
                return Ok(None);
            };
            match element {
                Element::Open(header_len, elements) => {
                    if self.open.len() >= self.max_depth {
                        return Err(protocol_error(format!(
                            "aggregates nested deeper than {}",
                            self.max_depth
                        )));
                    }
                    self.offset += header_len;
                    self.open.push(elements);
                }
                Element::Whole(len) => {
                    self.offset += len;
                    // Count the element in the innermost open aggregate, closing every one
                    // it completes; with none left open, the frame is done.
                    loop {
                        let Some(left) = self.open.last_mut() else {
                            let len = self.offset;
                            self.offset = 0;
                            self.started = false;
                            return Ok(Some(len));
                        };
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        self.open.pop();
                    }
                }
            }
        }
    }

    /// Reads the element at the front of `rest` (the buffer from the offset on), if complete.
    fn element(&mut self, rest: &[u8]) -> Result<Option<Element>> {
        let Some(&tag) = rest.first() else {
            return Ok(None);
        };
        let Some(line_end) = find_line_end(rest, &mut self.line_scan_from, self.max_bulk_len)?
        else {
            return Ok(None);
        };
        self.line_scan_from = 0;
        let header_len = line_end + 2;
        let line = &rest[1..line_end];
        let element = match tag {
            b'+' | b'-' if line.contains(&b'\n') => {
                return Err(protocol_error("line contains a bare LF"));
            }
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Element::Whole(header_len),
            b'$' | b'!' | b'=' => {
                let len = parse_int(line)?;
                if len == -1 && tag == b'$' {
                    Element::Whole(header_len)
                } else {
                    let len = checked_len(len, tag, self.max_bulk_len)?;
                    let total = header_len.saturating_add(len).saturating_add(2);
                    self.check_reply_len(total)?;
                    if rest.len() < total {
                        // Looked for again with the header when more has come: the header is
                        // short, the data is not looked at until it is all there.
                        return Ok(None);
                    }
                    if &rest[total - 2..total] != b"\r\n" {
                        return Err(protocol_error("bulk data not followed by CRLF"));
                    }
                    Element::Whole(total)
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let len = parse_int(line)?;
                if len == -1 && tag == b'*' {
                    Element::Whole(header_len)
                } else {
                    let len = checked_len(len, tag, self.max_bulk_len)?;
                    let elements = match tag {
                        b'%' => len.saturating_mul(2),
                        // An attribute's pairs, then the value they describe, which stands in
                        // the enclosing aggregate's place.
                        b'|' => len.saturating_mul(2).saturating_add(1),
                        _ => len,
                    };
                    if elements == 0 {
                        Element::Whole(header_len)
                    } else {
                        Element::Open(header_len, elements)
                    }
                }
            }
            other => {
                return Err(protocol_error(format!(
                    "invalid type byte 0x{other:02x} ({:?})",
                    char::from(other)
                )))
            }
        };
        let len = match element {
            Element::Whole(len) | Element::Open(len, _) => len,
        };
        self.check_reply_len(len)?;
        Ok(Some(element))
    }

    /// Refuses an element of `len` bytes that would take the frame past the reply cap.
    fn check_reply_len(&self, len: usize) -> Result<()> {
        if self.offset.saturating_add(len) > self.max_reply_len {
            return Err(protocol_error(format!(
                "a reply longer than the limit of {} bytes",
                self.max_reply_len
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
