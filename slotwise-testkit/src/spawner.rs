//! The one thread that forks every server process tied to this process's life.
//!
//! Linux's `PR_SET_PDEATHSIG` sends its signal when the *thread* that forked the child exits, not
//! when the process does. The test harness runs each test on a thread of its own that ends with
//! the test, so a server forked there would be killed as soon as that test returned — even when
//! the server belongs to the [`shared`](crate::shared) cluster. Forking every server on one
//! thread that is started once and never ends makes the signal fire exactly when the process
//! exits: normally, by a panic, or killed. The servers are then gone with it.
//!
//! This module does not know what it spawns, and persistent (detached) servers do not come
//! here: they must outlive the process.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;

/// A command to spawn and where to send the result.
struct Request {
    command: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

/// The spawner thread's queue; `None` if the thread could not be started.
///
/// The sender lives in a static and is never dropped, so the thread's receive loop never ends.
static SPAWNER: OnceLock<Option<mpsc::Sender<Request>>> = OnceLock::new();

/// Spawns `command` so that the kernel kills it (SIGKILL) when this process exits.
pub(crate) fn spawn_tied(mut command: Command) -> io::Result<Child> {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec. It only calls `prctl` and
    // `getppid`, both async-signal-safe, and builds errors from raw OS codes, which does not
    // allocate — allocating there could deadlock on a lock held by another thread at fork time.
    unsafe {
        command.pre_exec(move || die_with_parent(parent));
    }
    let sender = SPAWNER
        .get_or_init(start_thread)
        .as_ref()
        .ok_or_else(|| io::Error::other("the test kit's spawner thread could not be started"))?;
    let (reply, result) = mpsc::channel();
    sender
        .send(Request { command, reply })
        .map_err(|_| io::Error::other("the test kit's spawner thread has stopped"))?;
    result
        .recv()
        .map_err(|_| io::Error::other("the test kit's spawner thread dropped a request"))?
}

fn start_thread() -> Option<mpsc::Sender<Request>> {
    let (sender, requests) = mpsc::channel::<Request>();
    let started = thread::Builder::new()
        .name("slotwise-testkit-spawner".to_owned())
        .spawn(move || {
            for Request { mut command, reply } in requests {
                // The requester may have given up waiting; then the child is dropped, which
                // neither kills nor waits for it, and its death signal still applies.
                let _ = reply.send(command.spawn());
            }
        });
    started.ok().map(|_| sender)
}

/// Runs in the child between fork and exec.
fn die_with_parent(parent: u32) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory of ours.
        let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // If the parent died between fork and prctl the signal will never come; refuse to run.
    // SAFETY: getppid has no preconditions.
    let actual = unsafe { libc::getppid() };
    if u32::try_from(actual).ok() != Some(parent) {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}
