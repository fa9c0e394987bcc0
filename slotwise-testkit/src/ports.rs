//! Picking free TCP ports for servers.
//!
//! A port is found by binding `127.0.0.1:0` and letting the kernel choose, then releasing it for
//! the server to bind. Another process can take the port in between; callers handle that by
//! retrying the server with new ports (see the cluster builder), because no choice made here can
//! rule it out. Within this process, a port is never handed out twice.
//!
//! This module does not start servers or know which ports a cluster uses.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, ErrorKind};

/// Every port handed out by this process, so that two clusters started concurrently in one test
/// binary never get the same one even if the kernel offers it again after release.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// How many kernel choices to try before giving up; each is a fresh random pick, so collisions
/// with our own list are rare.
const ATTEMPTS: usize = 100;

/// Returns a port nobody was listening on a moment ago and that this process has not used.
pub(crate) fn free_port() -> Result<u16, Error> {
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        let port = match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) {
            Ok(listener) => match listener.local_addr() {
                Ok(local) => local.port(),
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            },
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
    let e = Error::new(
        ErrorKind::Start,
        format!("could not find a free TCP port on 127.0.0.1 in {ATTEMPTS} attempts"),
    );
    Err(match last_error {
        Some(source) => e.with_source(source),
        None => e,
    })
}

/// True if something accepts connections on `127.0.0.1:port`.
pub(crate) fn is_listening(port: u16) -> bool {
    let target = (Ipv4Addr::LOCALHOST, port).into();
    std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_millis(200)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        // A released port can be taken before it is bound again (other tests of this binary
        // start servers and open connections meanwhile, see the module docs), so a pair that
        // cannot be bound is tried again; pairs that never bind fail the test.
        let mut taken = Vec::new();
        for _ in 0..5 {
            let a = free_port().unwrap();
            let b = free_port().unwrap();
            assert_ne!(a, b, "the same port was handed out twice");
            match (
                TcpListener::bind((Ipv4Addr::LOCALHOST, a)),
                TcpListener::bind((Ipv4Addr::LOCALHOST, b)),
            ) {
                (Ok(_), Ok(_)) => return,
                (a, b) => taken.push((a.err(), b.err())),
            }
        }
        panic!("no pair of free ports could be bound: {taken:?}");
    }
}
