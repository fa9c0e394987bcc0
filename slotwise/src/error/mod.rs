//! The one error type of slotwise.
//!
//! [`Error`] is opaque: a boxed record of what went wrong ([`ErrorKind`]), on which node, for which
//! command, with the server's own error ([`ServerError`]) when there is one. Server error replies are
//! classified here (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, CROSSSLOT …) so the dispatcher can match on a
//! kind instead of on text.
//!
//! This module does not decide what to do about an error (retry, redirect, refresh): that is the
//! dispatcher's job. It never holds a password: nothing that builds an `Error` is given one.
//!
//! It is the bottom of the crate and imports nothing from `protocol`, which uses it: the server's
//! error text, [`ServerError`], is defined here (in `server`) and only re-exported as
//! `slotwise::protocol::ServerError`.

mod server;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::slot_count::SLOT_COUNT;
pub use server::ServerError;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A socket failed: refused, reset, closed. See [`Error::may_have_run`].
    Io,
    /// No reply (or no connection) within the configured time.
    Timeout,
    /// The peer sent bytes that are not valid RESP.
    Protocol,
    /// A reply could not be converted to the requested Rust type.
    Type,
    /// The server answered with an error that has no more specific kind.
    Response,
    /// `MOVED`: the slot lives on another node.
    Moved,
    /// `ASK`: the slot is being migrated; ask the other node once.
    Ask,
    /// `TRYAGAIN`: a multi-key command hit a slot being migrated.
    TryAgain,
    /// `CLUSTERDOWN`: the cluster cannot serve this slot right now.
    ClusterDown,
    /// `MASTERDOWN`: the replica lost its link to the primary.
    MasterDown,
    /// `LOADING`: the node is loading its data set.
    Loading,
    /// `READONLY`: a write reached a replica (the node was demoted).
    ReadOnly,
    /// The keys of one command live in different slots.
    CrossSlot,
    /// `NOSCRIPT`: the script is not in the node's cache.
    NoScript,
    /// Authentication failed or is required (`NOAUTH`, `WRONGPASS`, `NOPERM`).
    Auth,
    /// Bad input from the caller: a malformed URL, an invalid option, an unknown node.
    InvalidInput,
    /// The operation is not available (for example `SELECT` in cluster mode, or TLS in a build
    /// without the `tls` feature).
    Unsupported,
    /// None of the nodes tried could be reached.
    NoReachableNode,
    /// No node serves the slot.
    SlotNotCovered,
    /// The client was closed, or a connection that holds state (a `WATCH`) was lost.
    Closed,
    /// A transaction did not run because a key it watched changed; run it again.
    Aborted,
    /// Too much already waits on the node's connection (bytes to write, requests to answer):
    /// the request was refused before it was queued. See
    /// [`ClusterBuilder::max_pending_bytes`](crate::ClusterBuilder::max_pending_bytes).
    Overloaded,
}

impl ErrorKind {
    /// The kind of an error reply with this code (its first word).
    pub(crate) fn of_code(code: &str) -> ErrorKind {
        match code {
            "MOVED" => ErrorKind::Moved,
            "ASK" => ErrorKind::Ask,
            "TRYAGAIN" => ErrorKind::TryAgain,
            "CLUSTERDOWN" => ErrorKind::ClusterDown,
            "MASTERDOWN" => ErrorKind::MasterDown,
            "LOADING" => ErrorKind::Loading,
            "READONLY" => ErrorKind::ReadOnly,
            "CROSSSLOT" => ErrorKind::CrossSlot,
            "NOSCRIPT" => ErrorKind::NoScript,
            "NOAUTH" | "WRONGPASS" | "NOPERM" => ErrorKind::Auth,
            _ => ErrorKind::Response,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Io => "I/O error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Type => "type error",
            ErrorKind::Response => "server error",
            ErrorKind::Moved => "moved",
            ErrorKind::Ask => "ask redirection",
            ErrorKind::TryAgain => "try again",
            ErrorKind::ClusterDown => "cluster down",
            ErrorKind::MasterDown => "primary down",
            ErrorKind::Loading => "node loading",
            ErrorKind::ReadOnly => "read-only node",
            ErrorKind::CrossSlot => "keys in different slots",
            ErrorKind::NoScript => "no such script",
            ErrorKind::Auth => "authentication error",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::NoReachableNode => "no reachable node",
            ErrorKind::SlotNotCovered => "slot not covered",
            ErrorKind::Closed => "client closed",
            ErrorKind::Aborted => "transaction aborted",
            ErrorKind::Overloaded => "node overloaded",
        }
    }
}

/// Whether a failed request may have been executed by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// The request never left this process: retrying cannot apply it twice.
    No,
    /// The request was written (fully or partly) before the failure: the server may have run it.
    Maybe,
}

/// A parsed `MOVED` or `ASK` redirection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// The slot named by the server.
    pub slot: u16,
    /// The host to go to; empty when the server did not know its own endpoint (`:port`).
    pub host: String,
    /// The port to go to.
    pub port: u16,
}

impl Redirect {
    /// Parses the message part of `MOVED 3999 127.0.0.1:6381` (i.e. `3999 127.0.0.1:6381`).
    pub(crate) fn parse(rest: &str) -> Option<Redirect> {
        let mut parts = rest.split_ascii_whitespace();
        let slot: u16 = parts.next()?.parse().ok()?;
        let endpoint = parts.next()?;
        // The last colon separates the port, so IPv6 addresses such as `::1:7000` work.
        let (host, port) = endpoint.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        // Port 0 is no place to send a command: a node that says so is misconfigured.
        if slot >= SLOT_COUNT || port == 0 {
            return None;
        }
        Some(Redirect {
            slot,
            host: host.to_owned(),
            port,
        })
    }
}

/// The error type of every fallible slotwise operation.
///
/// Match on [`Error::kind`]; the server's own code and message are in [`Error::server_error`].
/// Cloning is cheap enough for the error path: one failed connection fails every request that was
/// waiting on it with a copy of the same error.
#[derive(Clone)]
pub struct Error {
    inner: Box<Details>,
}

/// Everything an [`Error`] carries. Boxed, so that `Error` is one pointer wide: the error path
/// pays for the allocation and every `Result` on the success path stays small.
#[derive(Clone)]
struct Details {
    kind: ErrorKind,
    detail: Cow<'static, str>,
    node: Option<String>,
    command: Option<String>,
    server: Option<ServerError>,
    redirect: Option<Redirect>,
    /// Circumstances added by a layer that passes the error on.
    note: Option<Cow<'static, str>>,
    sent: Sent,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// Builds an error of `kind` with a human-readable detail.
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<Cow<'static, str>>) -> Error {
        Error {
            inner: Box::new(Details {
                kind,
                detail: detail.into(),
                node: None,
                command: None,
                server: None,
                redirect: None,
                note: None,
                sent: Sent::No,
                source: None,
            }),
        }
    }

    /// Classifies an error reply from the server.
    pub(crate) fn from_server(err: ServerError) -> Error {
        let kind = ErrorKind::of_code(err.code());
        let redirect = match kind {
            ErrorKind::Moved | ErrorKind::Ask => Redirect::parse(err.detail()),
            _ => None,
        };
        let unusable = matches!(kind, ErrorKind::Moved | ErrorKind::Ask) && redirect.is_none();
        let mut e = Error::new(kind, "");
        e.inner.redirect = redirect;
        e.inner.server = Some(err);
        if unusable {
            // Not followed: there is no slot and address to follow it to.
            return e.with_note("the redirection names no usable slot and address");
        }
        e
    }

    /// An I/O error; `sent` says whether the request may have reached the server.
    pub(crate) fn io(source: std::io::Error, sent: Sent) -> Error {
        let kind = if source.kind() == std::io::ErrorKind::TimedOut {
            ErrorKind::Timeout
        } else {
            ErrorKind::Io
        };
        let mut e = Error::new(kind, "");
        e.inner.sent = sent;
        e.inner.source = Some(Arc::new(source));
        e
    }

    /// Attaches the node (`host:port`) the error came from.
    pub(crate) fn with_node(mut self, node: impl Into<String>) -> Error {
        self.inner.node = Some(node.into());
        self
    }

    /// Attaches the command name.
    pub(crate) fn with_command(mut self, command: impl Into<String>) -> Error {
        self.inner.command = Some(command.into());
        self
    }

    /// Adds the circumstances in which the error is passed on, shown after its cause.
    pub(crate) fn with_note(mut self, note: impl Into<Cow<'static, str>>) -> Error {
        self.inner.note = Some(note.into());
        self
    }

    /// This error with every occurrence of `secret` in the server's text, the detail and the
    /// note replaced by `***`: a server (or a proxy) may echo back what it was sent, and a
    /// password it echoes must not reach a log.
    pub(crate) fn redacting(mut self, secret: &str) -> Error {
        if secret.is_empty() {
            return self;
        }
        let hide = |text: &str| text.replace(secret, "***");
        let i = &mut self.inner;
        if let Some(server) = &i.server {
            let text = String::from_utf8_lossy(server.as_bytes());
            if text.contains(secret) {
                i.server = Some(ServerError::new(hide(&text).into()));
            }
        }
        if i.detail.contains(secret) {
            i.detail = hide(&i.detail).into();
        }
        if let Some(note) = i.note.as_mut().filter(|n| n.contains(secret)) {
            *note = hide(note).into();
        }
        self
    }

    /// Marks whether the request may have reached the server.
    pub(crate) fn with_sent(mut self, sent: Sent) -> Error {
        self.inner.sent = sent;
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The node (`host:port`) the error came from, when known.
    pub fn node(&self) -> Option<&str> {
        self.inner.node.as_deref()
    }

    /// The command that failed, when known.
    pub fn command(&self) -> Option<&str> {
        self.inner.command.as_deref()
    }

    /// The server's error reply, when the error is one.
    pub fn server_error(&self) -> Option<&ServerError> {
        self.inner.server.as_ref()
    }

    /// The parsed redirection of a `MOVED` or `ASK` error.
    pub fn redirect(&self) -> Option<&Redirect> {
        self.inner.redirect.as_ref()
    }

    /// Whether the server may have executed the request despite the error.
    ///
    /// `false` means the request certainly did not run (it never left this process, or the
    /// server refused it with an error reply). `true` is returned for I/O errors and timeouts after
    /// the request was written: a write may or may not have been applied.
    pub fn may_have_run(&self) -> bool {
        self.inner.sent == Sent::Maybe
    }

    /// True for [`ErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// True for [`ErrorKind::Io`].
    pub fn is_io(&self) -> bool {
        self.inner.kind == ErrorKind::Io
    }

    /// True for [`ErrorKind::CrossSlot`].
    pub fn is_cross_slot(&self) -> bool {
        self.inner.kind == ErrorKind::CrossSlot
    }

    /// True when the server answered with an error reply.
    pub fn is_server_error(&self) -> bool {
        self.inner.server.is_some()
    }
}

impl Error {
    /// What went wrong, without the node, command and outcome that `Display` adds.
    pub(crate) fn summary(&self) -> String {
        struct Summary<'a>(&'a Error);
        impl fmt::Display for Summary<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_summary(f)
            }
        }
        Summary(self).to_string()
    }

    fn fmt_summary(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        match &i.server {
            Some(server) => write!(f, "{}", server.message())?,
            None => {
                f.write_str(i.kind.describe())?;
                if !i.detail.is_empty() {
                    write!(f, ": {}", i.detail)?;
                }
            }
        }
        if let Some(source) = &i.source {
            write!(f, ": {source}")?;
        }
        if let Some(note) = &i.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        self.fmt_summary(f)?;
        if let Some(command) = &i.command {
            write!(f, " (command {command}")?;
            match &i.node {
                Some(node) => write!(f, " on {node})")?,
                None => f.write_str(")")?,
            }
        } else if let Some(node) = &i.node {
            write!(f, " (node {node})")?;
        }
        if i.sent == Sent::Maybe {
            f.write_str("; the request may have been executed")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind);
        if !i.detail.is_empty() {
            d.field("detail", &i.detail);
        }
        if let Some(node) = &i.node {
            d.field("node", node);
        }
        if let Some(command) = &i.command {
            d.field("command", command);
        }
        if let Some(server) = &i.server {
            d.field("server", &server.message());
        }
        if i.sent == Sent::Maybe {
            d.field("may_have_run", &true);
        }
        if let Some(source) = &i.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::io(e, Sent::No)
    }
}

/// `Result` with slotwise's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn classifies_redirects() {
        let e = Error::from_server(ServerError::new(Bytes::from_static(
            b"MOVED 3999 127.0.0.1:6381",
        )));
        assert_eq!(e.kind(), ErrorKind::Moved);
        let r = e.redirect().unwrap();
        assert_eq!((r.slot, r.host.as_str(), r.port), (3999, "127.0.0.1", 6381));

        let e = Error::from_server(ServerError::new(Bytes::from_static(b"ASK 1 ::1:7000")));
        assert_eq!(e.kind(), ErrorKind::Ask);
        assert_eq!(e.redirect().unwrap().host, "::1");

        let e = Error::from_server(ServerError::new(Bytes::from_static(b"MOVED 5 :7001")));
        assert_eq!(e.redirect().unwrap().host, "");
        assert_eq!(e.redirect().unwrap().port, 7001);
    }

    #[test]
    fn bad_redirect_is_not_parsed() {
        for text in [
            &b"MOVED"[..],
            b"MOVED x 1.2.3.4:5",
            b"MOVED 99999 1.2.3.4:5",
            b"MOVED 1 host",
            b"MOVED 1 1.2.3.4:0",
            b"ASK 1 :0",
        ] {
            let e = Error::from_server(ServerError::new(Bytes::from_static(text)));
            assert!(matches!(e.kind(), ErrorKind::Moved | ErrorKind::Ask));
            assert!(e.redirect().is_none(), "{text:?}");
            assert!(e.to_string().contains("no usable slot and address"), "{e}");
        }
    }

    #[test]
    fn classifies_server_codes() {
        for (text, kind) in [
            (
                &b"TRYAGAIN Multiple keys request during rehashing of slot"[..],
                ErrorKind::TryAgain,
            ),
            (b"CLUSTERDOWN The cluster is down", ErrorKind::ClusterDown),
            (
                b"CROSSSLOT Keys in request don't hash to the same slot",
                ErrorKind::CrossSlot,
            ),
            (b"WRONGPASS invalid username-password pair", ErrorKind::Auth),
            (b"ERR unknown command", ErrorKind::Response),
        ] {
            let e = Error::from_server(ServerError::new(Bytes::from_static(text)));
            assert_eq!(e.kind(), kind);
            assert!(e.is_server_error());
            assert!(!e.may_have_run());
        }
    }

    #[test]
    fn display_names_node_and_command() {
        let e = Error::new(ErrorKind::Io, "connection reset")
            .with_node("127.0.0.1:7000")
            .with_command("GET")
            .with_sent(Sent::Maybe);
        let s = e.to_string();
        assert!(s.contains("127.0.0.1:7000"), "{s}");
        assert!(s.contains("GET"), "{s}");
        assert!(s.contains("may have been executed"), "{s}");
        assert!(e.may_have_run());
    }
}
