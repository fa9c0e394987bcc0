//! The error type of the test kit.
//!
//! [`Error`] says what failed and on which node, in words a person reading a failed test can act
//! on; a missing server binary carries the exact install hint. [`ErrorKind`] lets callers tell the
//! cases apart. This module does not retry or wait for anything: callers decide that.

use std::fmt;
use std::sync::Arc;

/// How to get a server binary, repeated wherever one is missing.
pub(crate) const INSTALL_HINT: &str = "install one with `apt-get install -y redis-server` \
     (Debian/Ubuntu), or set SLOTWISE_REDIS_SERVER to the path of a redis-server or \
     valkey-server binary, Redis 7.0 or newer";

/// How to get `openssl`, which a TLS cluster needs to make its certificates.
pub(crate) const OPENSSL_HINT: &str =
    "install it with `apt-get install -y openssl` (Debian/Ubuntu)";

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No `redis-server` or `valkey-server` binary was found, or it is too old.
    ServerNotFound,
    /// No `openssl` command was found; a [TLS](crate::ClusterBuilder::tls) cluster needs it to
    /// make its certificates.
    OpensslNotFound,
    /// A server process could not be started, or exited while starting.
    Start,
    /// Talking to a node failed: connection refused or reset, or a file operation failed.
    Io,
    /// A node answered a command with an error reply.
    Server,
    /// A node's reply was not what the protocol or the command promises.
    Protocol,
    /// A condition (cluster healthy, replica promoted …) was not reached before its deadline.
    Timeout,
    /// The cluster is not in a state that allows the operation (no owner for a slot, the node is
    /// not a replica …).
    State,
    /// The caller asked for something impossible: an unknown port, an invalid option.
    InvalidInput,
}

/// The error of every fallible test-kit operation.
///
/// Its message names the node (`127.0.0.1:PORT`) and the step that failed; [`Error::kind`] tells
/// the cases apart. It is cheap to clone, so a failure to start the [`shared`](crate::shared)
/// cluster can be reported to every test that asks for it.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn io(message: impl Into<String>, source: std::io::Error) -> Error {
        let kind = match source.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::Io,
        };
        Error::new(kind, message).with_source(source)
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.source = Some(Arc::new(source));
        self
    }

    /// Puts what the caller was doing in front of the message.
    pub(crate) fn context(mut self, doing: impl fmt::Display) -> Error {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The description of the failure, without its source.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when a condition was not reached in time, or a node did not answer in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// True when no usable server binary was found.
    pub fn is_server_not_found(&self) -> bool {
        self.kind == ErrorKind::ServerNotFound
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug is what `unwrap()` in a test prints, so it shows the full sentence, not a struct.
        write!(f, "{:?}: {self}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<slotwise::Error> for Error {
    fn from(e: slotwise::Error) -> Error {
        Error::new(ErrorKind::Protocol, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_context_and_source() {
        let source = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::io("connecting to 127.0.0.1:7000", source).context("starting node");
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(
            e.to_string(),
            "starting node: connecting to 127.0.0.1:7000: refused"
        );
    }

    #[test]
    fn io_timeouts_are_timeouts() {
        let source = std::io::Error::new(std::io::ErrorKind::WouldBlock, "would block");
        assert!(Error::io("reading", source).is_timeout());
    }

    #[test]
    fn install_hint_names_the_package_and_the_variable() {
        assert!(INSTALL_HINT.contains("apt-get install -y redis-server"));
        assert!(INSTALL_HINT.contains("SLOTWISE_REDIS_SERVER"));
    }
}
