//! A tiny blocking RESP2 client for administering one node, and a pool of them.
//!
//! [`Admin`] owns one TCP connection and runs one command at a time: write, then read until the
//! reply is complete. It speaks RESP2 (no `HELLO`), so replies look the same on every server
//! version. [`Pool`] keeps idle connections per port so that polling loops do not open (and leave
//! in `TIME_WAIT`) a socket per check.
//!
//! This is not a Redis client for tests to use — that is slotwise itself: no pipelining, no
//! redirects, no retries. It does not know about clusters; callers say which port to talk to.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use slotwise::protocol::{Cmd, Decoder, Value};

use crate::error::{Error, ErrorKind};

/// The address every node listens on.
pub(crate) const HOST: &str = "127.0.0.1";

/// How long to wait for a local connection: a node that takes longer is not up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long to wait for a reply. Generous because a node on a loaded two-core machine can stall
/// for a while (a fork for replication, a slow MIGRATE), but short enough to fail a test quickly.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// `127.0.0.1:PORT`, the way every message names a node.
pub(crate) fn addr(port: u16) -> String {
    format!("{HOST}:{port}")
}

/// One blocking connection to one node.
pub(crate) struct Admin {
    port: u16,
    stream: TcpStream,
    read_buf: BytesMut,
    write_buf: BytesMut,
    decoder: Decoder,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin").field("port", &self.port).finish()
    }
}

impl Admin {
    /// Connects to `127.0.0.1:port`.
    pub(crate) fn connect(port: u16) -> Result<Admin, Error> {
        let target = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)
            .map_err(|e| Error::io(format!("connecting to {}", addr(port)), e))?;
        let setup = stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .and_then(|()| stream.set_nodelay(true));
        setup.map_err(|e| Error::io(format!("configuring the socket to {}", addr(port)), e))?;
        Ok(Admin {
            port,
            stream,
            read_buf: BytesMut::with_capacity(16 * 1024),
            write_buf: BytesMut::with_capacity(1024),
            decoder: Decoder::new(),
        })
    }

    /// Sends `cmd` and returns its reply; an error reply becomes an [`ErrorKind::Server`] error.
    pub(crate) fn call(&mut self, cmd: &Cmd) -> Result<Value, Error> {
        match self.call_raw(cmd)? {
            Value::Error(e) => Err(Error::new(
                ErrorKind::Server,
                format!("{} replied to {}: {}", addr(self.port), describe(cmd), e),
            )),
            value => Ok(value),
        }
    }

    /// Sends `cmd` and returns its reply, error replies included.
    pub(crate) fn call_raw(&mut self, cmd: &Cmd) -> Result<Value, Error> {
        let doing = || format!("sending {} to {}", describe(cmd), addr(self.port));
        self.write_buf.clear();
        cmd.encode(&mut self.write_buf);
        self.stream
            .write_all(&self.write_buf)
            .map_err(|e| Error::io(doing(), e))?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(value) = self.decoder.decode(&mut self.read_buf)? {
                return Ok(value.into_inner());
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| Error::io(format!("{}: reading the reply", doing()), e))?;
            if n == 0 {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("{}: the node closed the connection", doing()),
                ));
            }
            self.read_buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `cmd` and returns its string reply (`CLUSTER NODES`, `INFO` …).
    pub(crate) fn call_text(&mut self, cmd: &Cmd) -> Result<String, Error> {
        let value = self.call(cmd)?;
        match value.as_bytes() {
            Some(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
            None => Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "{} answered {} with {}, expected a string",
                    addr(self.port),
                    describe(cmd),
                    value.type_name()
                ),
            )),
        }
    }
}

/// The command's name, with its subcommand for container commands (`CLUSTER SETSLOT`), for
/// messages. Other arguments are left out: they can be long (a MIGRATE key list).
fn describe(cmd: &Cmd) -> String {
    let name = String::from_utf8_lossy(cmd.name()).to_ascii_uppercase();
    let is_container = matches!(name.as_str(), "CLUSTER" | "CONFIG" | "CLIENT" | "DEBUG");
    match cmd.arg_at(1) {
        Some(sub) if is_container => {
            format!(
                "{name} {}",
                String::from_utf8_lossy(sub).to_ascii_uppercase()
            )
        }
        _ => name,
    }
}

/// Idle [`Admin`] connections by port.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<u16, Vec<Admin>>>,
}

impl Pool {
    /// Runs `f` on a connection to `port`, reusing an idle one if there is one.
    ///
    /// The connection goes back to the pool only if `f` succeeded: after a failure it may hold
    /// half a reply.
    pub(crate) fn with<T>(
        &self,
        port: u16,
        f: impl FnOnce(&mut Admin) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let idle = self.lock().get_mut(&port).and_then(Vec::pop);
        let mut admin = match idle {
            Some(admin) => admin,
            None => Admin::connect(port)?,
        };
        let result = f(&mut admin);
        if result.is_ok() {
            self.lock().entry(port).or_default().push(admin);
        }
        result
    }

    /// Drops the idle connections to `port`: the node was killed, paused or restarted, and a
    /// reused socket would fail (or, for a paused node, hang until its timeout).
    pub(crate) fn forget(&self, port: u16) {
        self.lock().remove(&port);
    }

    /// Drops every idle connection.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u16, Vec<Admin>>> {
        // The map stays consistent even if a holder panicked: every operation on it is one call.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_keeps_subcommands_only_for_containers() {
        let cmd = Cmd::new("cluster").arg("setslot").arg(12u16).arg("NODE");
        assert_eq!(describe(&cmd), "CLUSTER SETSLOT");
        let cmd = Cmd::new("MIGRATE").arg(HOST).arg(7000u16);
        assert_eq!(describe(&cmd), "MIGRATE");
    }
}
