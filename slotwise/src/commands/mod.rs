//! Typed command methods, written once for every way of running a command.
//!
//! An [`Executor`] runs one [`Cmd`] and says what a call returns: the async cluster client and
//! node client return a [`CommandFuture`], the blocking facade returns the `Result` itself. The
//! command traits ([`StringCommands`], [`KeyCommands`] …) are implemented for every executor by
//! blanket impls, so each command method exists once and serves them all.
//!
//! This module builds commands; it does not route or send them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Result;
use crate::protocol::{Cmd, FromValue};

/// Something that runs commands: a cluster client, a node client, the blocking facade.
pub trait Executor {
    /// What a command call returns: a future for async executors, the result for blocking ones.
    type Output<T: FromValue + Send + 'static>;

    /// Runs `cmd` and converts its reply to `T`.
    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> Self::Output<T>;
}

/// The future of one command's typed reply.
#[must_use = "a command does nothing unless awaited"]
pub struct CommandFuture<T> {
    inner: Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>,
}

impl<T> CommandFuture<T> {
    /// Wraps a future (for implementing [`Executor`] on your own types).
    pub fn new(f: impl Future<Output = Result<T>> + Send + 'static) -> CommandFuture<T> {
        CommandFuture { inner: Box::pin(f) }
    }
}

impl<T> Future for CommandFuture<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for CommandFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommandFuture")
    }
}
