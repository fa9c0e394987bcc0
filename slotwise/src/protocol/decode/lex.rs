//! The pieces of one RESP element, read off the front of the buffer: where its first line ends,
//! a line's text, blob data and its final CRLF, lengths, integers, doubles, the verbatim format
//! prefix, and how much room to reserve ahead for data still arriving.
//!
//! These are leaves of [`Decoder`](super::Decoder), on every reply's path, so each is
//! `#[inline]`; the [`Scanner`](super::Scanner) shares the ones that find an element's extent.
//! They keep no state of their own; aggregates, nesting and the reply cap are their callers'.

use bytes::{Buf, Bytes, BytesMut};

use super::{protocol_error, MIN_RESERVE_AHEAD};
use crate::error::{Error, Result};
use crate::protocol::Value;

/// Finds the `\r` of the CRLF ending the line at the front of `buf`, or `None` if the line is
/// not complete yet. `scan_from` is where an earlier call stopped looking, updated here, so a
/// long line arriving in pieces is looked through once; a line longer than `max_len` is refused.
#[inline]
pub(super) fn find_line_end(
    buf: &[u8],
    scan_from: &mut usize,
    max_len: usize,
) -> Result<Option<usize>> {
    let from = (*scan_from).max(1);
    match buf[from.min(buf.len())..].iter().position(|&b| b == b'\r') {
        Some(offset) => {
            let cr = from + offset;
            match buf.get(cr + 1) {
                Some(b'\n') => Ok(Some(cr)),
                Some(_) => Err(protocol_error("CR not followed by LF")),
                None => {
                    *scan_from = cr;
                    Ok(None)
                }
            }
        }
        None => {
            if buf.len() > max_len {
                return Err(protocol_error(format!("line longer than {max_len} bytes")));
            }
            *scan_from = buf.len();
            Ok(None)
        }
    }
}

/// A declared bulk or aggregate length, refused when negative or over `max_len`.
#[inline]
pub(super) fn checked_len(len: i64, tag: u8, max_len: usize) -> Result<usize> {
    if len < 0 {
        return Err(protocol_error(format!(
            "negative length {len} for type {:?}",
            char::from(tag)
        )));
    }
    match usize::try_from(len) {
        Ok(n) if n <= max_len => Ok(n),
        _ => Err(protocol_error(format!(
            "length {len} exceeds the limit of {max_len} bytes"
        ))),
    }
}

/// Takes a whole line element and returns its text (between the tag and the CRLF).
#[inline]
pub(super) fn take_line(buf: &mut BytesMut, line_end: usize) -> Bytes {
    buf.advance(1);
    let text = buf.split_to(line_end - 1).freeze();
    buf.advance(2);
    text
}

/// Takes `len` bytes of data after a header of `header_len` bytes, checking the final CRLF.
#[inline]
pub(super) fn take_blob(
    buf: &mut BytesMut,
    header_len: usize,
    len: usize,
) -> Result<Option<Bytes>> {
    let total = header_len + len + 2;
    if buf.len() < total {
        // Make room for more of it now so the socket reads straight into place, but never more
        // than doubling what came: the length is the peer's word, the bytes are not.
        let ahead = buf.len().max(MIN_RESERVE_AHEAD);
        buf.reserve((total - buf.len()).min(ahead));
        return Ok(None);
    }
    if &buf[total - 2..total] != b"\r\n" {
        return Err(protocol_error("bulk data not followed by CRLF"));
    }
    buf.advance(header_len);
    let data = buf.split_to(len).freeze();
    buf.advance(2);
    Ok(Some(data))
}

#[inline]
pub(super) fn verbatim(data: Bytes) -> Result<Value> {
    if data.len() < 4 || data[3] != b':' {
        return Err(protocol_error("verbatim string without a format prefix"));
    }
    let format = [data[0], data[1], data[2]];
    Ok(Value::Verbatim {
        format,
        text: data.slice(4..),
    })
}

/// Capacity to reserve for an aggregate of `len` elements: never more than the bytes already
/// received could hold (each element takes at least 3 bytes), so a hostile length allocates
/// nothing up front.
#[inline]
pub(super) fn reserve_for(len: usize, available: usize) -> usize {
    len.min(available / 3 + 1)
}

#[inline]
pub(super) fn parse_int(digits: &[u8]) -> Result<i64> {
    let (negative, body) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, digits),
    };
    if body.is_empty() || body.len() > 19 {
        return Err(bad_int(digits));
    }
    let mut n: i64 = 0;
    for &b in body {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(bad_int(digits));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| {
                if negative {
                    n.checked_sub(i64::from(d))
                } else {
                    n.checked_add(i64::from(d))
                }
            })
            .ok_or_else(|| bad_int(digits))?;
    }
    Ok(n)
}

fn bad_int(digits: &[u8]) -> Error {
    protocol_error(format!(
        "invalid integer {:?}",
        digits.escape_ascii().to_string()
    ))
}

#[inline]
pub(super) fn parse_double(text: &[u8]) -> Result<f64> {
    let bad = || {
        protocol_error(format!(
            "invalid double {:?}",
            text.escape_ascii().to_string()
        ))
    };
    let s = std::str::from_utf8(text).map_err(|_| bad())?;
    if s.is_empty() || s.starts_with(|c: char| c.is_whitespace()) {
        return Err(bad());
    }
    s.parse::<f64>().map_err(|_| bad())
}
