//! What to do about a failed attempt: follow a redirection, retry (after what, with which
//! refresh), or give up.
//!
//! Pure: it looks at the error and at what the command is, never at sockets or time. The rules
//! that make retrying safe live here: redirections and server refusals never ran the command;
//! an I/O failure after the request was written may have, so only read-only commands (or writes
//! the caller declared safe) are sent again.

use crate::error::{Error, ErrorKind, Redirect};

/// Why an attempt is retried, for counters and traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    TryAgain,
    ClusterDown,
    Loading,
    ReadOnly,
    Io,
}

/// What the topology needs before the retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refresh {
    /// Nothing: the same node will do (TRYAGAIN, LOADING).
    No,
    /// Ask for a refresh and wait for the topology to change, at most the backoff.
    AwaitChange,
}

/// The decision about one failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Moved(Redirect),
    Ask(Redirect),
    Retry {
        cause: Cause,
        /// First backoff step in milliseconds; it doubles with each attempt.
        base_ms: u64,
        refresh: Refresh,
        /// Send a read to the primary rather than a replica from now on.
        to_primary: bool,
    },
    Fail,
}

/// What the dispatcher knows of the command that failed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Context {
    /// The command table flags it `readonly`.
    pub(crate) readonly: bool,
    /// The caller allows writes to be sent again after an I/O failure.
    pub(crate) retry_writes: bool,
    /// The attempt went to a replica.
    pub(crate) via_replica: bool,
    /// Redirections may be followed (false for a command aimed at one node).
    pub(crate) redirectable: bool,
}

/// True for a redirection or a refusal for now (`TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`,
/// `LOADING`): the server did not run the command, and may take it again later or elsewhere.
pub(crate) fn refused_for_now(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Moved
            | ErrorKind::Ask
            | ErrorKind::TryAgain
            | ErrorKind::ClusterDown
            | ErrorKind::MasterDown
            | ErrorKind::Loading
    )
}

/// True for `UNBLOCKED … instance state changed (master -> replica?)`: the node a blocking
/// command waited on became a replica, and let it go unrun (not one a caller unblocked with
/// `CLIENT UNBLOCK … ERROR`, which must not be retried).
fn demoted_while_blocked(err: &Error) -> bool {
    err.server_error()
        .is_some_and(|e| e.code() == "UNBLOCKED" && e.message().contains("instance state changed"))
}

/// Decides what to do about `err`.
pub(crate) fn classify(err: &Error, ctx: Context) -> Action {
    let retry = |cause, base_ms, refresh, to_primary| Action::Retry {
        cause,
        base_ms,
        refresh,
        to_primary,
    };
    match err.kind() {
        ErrorKind::Moved | ErrorKind::Ask if !ctx.redirectable => Action::Fail,
        ErrorKind::Moved => match err.redirect() {
            Some(r) => Action::Moved(r.clone()),
            None => Action::Fail,
        },
        ErrorKind::Ask => match err.redirect() {
            Some(r) => Action::Ask(r.clone()),
            None => Action::Fail,
        },
        // A multi-key command met a slot in migration: the same node will do shortly.
        ErrorKind::TryAgain => retry(Cause::TryAgain, 50, Refresh::No, false),
        ErrorKind::ClusterDown | ErrorKind::MasterDown if ctx.redirectable => {
            retry(Cause::ClusterDown, 250, Refresh::AwaitChange, false)
        }
        ErrorKind::Loading if ctx.via_replica && ctx.redirectable => {
            retry(Cause::Loading, 0, Refresh::No, true)
        }
        ErrorKind::Loading => retry(Cause::Loading, 100, Refresh::No, false),
        // A write reached a node that is no longer a primary; or a blocking command was waiting
        // on one when it became a replica, and the server let it go without running it.
        ErrorKind::ReadOnly if ctx.redirectable => {
            retry(Cause::ReadOnly, 10, Refresh::AwaitChange, false)
        }
        ErrorKind::Response if ctx.redirectable && demoted_while_blocked(err) => {
            retry(Cause::ReadOnly, 10, Refresh::AwaitChange, false)
        }
        ErrorKind::Io | ErrorKind::Timeout => {
            if err.may_have_run() && !ctx.readonly && !ctx.retry_writes {
                return Action::Fail;
            }
            let refresh = if ctx.redirectable {
                Refresh::AwaitChange
            } else {
                Refresh::No
            };
            retry(Cause::Io, 20, refresh, ctx.via_replica && ctx.redirectable)
        }
        _ => Action::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Sent;
    use crate::protocol::ServerError;
    use bytes::Bytes;

    fn server(text: &'static str) -> Error {
        Error::from_server(ServerError::new(Bytes::from_static(text.as_bytes())))
    }

    fn io(sent: Sent) -> Error {
        Error::io(std::io::Error::other("reset"), sent)
    }

    const CLUSTER: Context = Context {
        readonly: false,
        retry_writes: false,
        via_replica: false,
        redirectable: true,
    };

    #[test]
    fn redirections() {
        let moved = classify(&server("MOVED 12 10.0.0.1:7000"), CLUSTER);
        assert!(matches!(moved, Action::Moved(r) if r.slot == 12 && r.port == 7000));
        let ask = classify(&server("ASK 12 10.0.0.1:7001"), CLUSTER);
        assert!(matches!(ask, Action::Ask(r) if r.port == 7001));
        let node_only = Context {
            redirectable: false,
            ..CLUSTER
        };
        assert_eq!(
            classify(&server("MOVED 12 10.0.0.1:7000"), node_only),
            Action::Fail
        );
        assert_eq!(classify(&server("MOVED garbage"), CLUSTER), Action::Fail);
    }

    #[test]
    fn server_states() {
        assert!(matches!(
            classify(&server("TRYAGAIN slot migrating"), CLUSTER),
            Action::Retry {
                cause: Cause::TryAgain,
                base_ms: 50,
                refresh: Refresh::No,
                ..
            }
        ));
        assert!(matches!(
            classify(&server("CLUSTERDOWN The cluster is down"), CLUSTER),
            Action::Retry {
                cause: Cause::ClusterDown,
                refresh: Refresh::AwaitChange,
                ..
            }
        ));
        assert!(matches!(
            classify(
                &server("READONLY You can't write against a read only replica."),
                CLUSTER
            ),
            Action::Retry {
                cause: Cause::ReadOnly,
                ..
            }
        ));
        let replica_read = Context {
            readonly: true,
            via_replica: true,
            ..CLUSTER
        };
        assert!(matches!(
            classify(&server("LOADING loading the dataset"), replica_read),
            Action::Retry {
                to_primary: true,
                ..
            }
        ));
        assert!(matches!(
            classify(
                &server("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"),
                CLUSTER
            ),
            Action::Retry {
                cause: Cause::ReadOnly,
                refresh: Refresh::AwaitChange,
                ..
            }
        ));
        assert_eq!(
            classify(
                &server("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
                CLUSTER
            ),
            Action::Fail
        );
        assert_eq!(classify(&server("WRONGTYPE bad"), CLUSTER), Action::Fail);
        assert_eq!(classify(&server("ERR syntax"), CLUSTER), Action::Fail);
    }

    #[test]
    fn io_retries_only_what_is_safe() {
        // Never sent: always safe.
        assert!(matches!(
            classify(&io(Sent::No), CLUSTER),
            Action::Retry { .. }
        ));
        // Maybe sent: a write is not repeated…
        assert_eq!(classify(&io(Sent::Maybe), CLUSTER), Action::Fail);
        // …unless it only reads, or the caller said writes may be repeated.
        let read = Context {
            readonly: true,
            ..CLUSTER
        };
        assert!(matches!(
            classify(&io(Sent::Maybe), read),
            Action::Retry { .. }
        ));
        let opted_in = Context {
            retry_writes: true,
            ..CLUSTER
        };
        assert!(matches!(
            classify(&io(Sent::Maybe), opted_in),
            Action::Retry { .. }
        ));
    }
}
