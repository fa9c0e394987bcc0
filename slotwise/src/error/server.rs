//! An error reply as the server sent it: its text, and the code and message read from it.
//!
//! [`ServerError`] is the `Value::Error` of a decoded reply and the server's part of an
//! [`Error`](super::Error); it lives here, below both, so that the error module needs nothing from
//! `protocol` (which re-exports it as `slotwise::protocol::ServerError`). This module does not
//! classify codes into kinds ([`Error::from_server`](super::Error::from_server) does) nor decode
//! the reply (the decoder does).

use std::fmt;

use bytes::Bytes;

/// An error reply from the server: its code (`ERR`, `MOVED`, `WRONGTYPE` …) and message.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerError {
    text: Bytes,
}

impl ServerError {
    /// Wraps the text of an error reply (without the leading `-` or `!` and the CRLF).
    pub fn new(text: Bytes) -> ServerError {
        ServerError { text }
    }

    /// The whole error text, e.g. `MOVED 3999 127.0.0.1:6381`.
    ///
    /// Bytes that are not UTF-8 are replaced by `?` rather than failing: an error message is for
    /// people.
    pub fn message(&self) -> &str {
        match std::str::from_utf8(&self.text) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&self.text[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// The error code: the first word, e.g. `MOVED`, `ERR`, `WRONGTYPE`.
    pub fn code(&self) -> &str {
        let m = self.message();
        m.split_once(' ').map_or(m, |(code, _)| code)
    }

    /// The message after the code.
    pub fn detail(&self) -> &str {
        let m = self.message();
        m.split_once(' ').map_or("", |(_, rest)| rest)
    }

    /// The raw bytes of the error text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }
}

impl fmt::Debug for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServerError").field(&self.message()).finish()
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_parts() {
        let e = ServerError::new(Bytes::from_static(b"WRONGTYPE Operation against a key"));
        assert_eq!(e.code(), "WRONGTYPE");
        assert_eq!(e.detail(), "Operation against a key");
        let e = ServerError::new(Bytes::from_static(b"ERR"));
        assert_eq!(e.code(), "ERR");
        assert_eq!(e.detail(), "");
    }

    #[test]
    fn server_error_with_bad_utf8_keeps_valid_prefix() {
        let e = ServerError::new(Bytes::from_static(b"ERR bad \xff byte"));
        assert_eq!(e.message(), "ERR bad ");
    }
}
