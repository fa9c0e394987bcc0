//! Where nodes keep their files: one directory per node under the system temp directory.
//!
//! A test cluster's node lives in `slotwise-testkit-<pid>-<n>-<port>`, a TLS cluster's
//! certificates in `slotwise-testkit-<pid>-<n>-tls`; the pid lets a later run
//! recognise and delete directories left behind by a test process that died (statics such as the
//! [`shared`](crate::shared) cluster are never dropped, so their directories always stay). A
//! persistent cluster lives in `slotwise-cluster-<base_port>/node-<port>`, found again by its base
//! port alone.
//!
//! This module only names, creates and removes directories; it does not start processes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use crate::error::Error;

const TEST_PREFIX: &str = "slotwise-testkit-";

/// Distinguishes directories of one process that reuse a port (a node restarted after a failed
/// attempt) and makes names unique without relying on the port alone.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates an empty directory for a test node listening on `port`.
pub(crate) fn create_test_dir(port: u16) -> Result<PathBuf, Error> {
    sweep_stale_once();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{TEST_PREFIX}{}-{n}-{port}", std::process::id()));
    recreate(&dir)?;
    Ok(dir)
}

/// Creates an empty directory for files of a whole test cluster (its certificates), named
/// like the node directories so that the same sweep deletes it after a crash.
pub(crate) fn create_cluster_dir(purpose: &str) -> Result<PathBuf, Error> {
    sweep_stale_once();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("{TEST_PREFIX}{}-{n}-{purpose}", std::process::id()));
    recreate(&dir)?;
    Ok(dir)
}

/// The directory holding every node of the persistent cluster at `base_port`.
pub(crate) fn persistent_root(base_port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("slotwise-cluster-{base_port}"))
}

/// The directory of the persistent node on `port`.
pub(crate) fn persistent_node_dir(root: &Path, port: u16) -> PathBuf {
    root.join(format!("node-{port}"))
}

/// The port of a persistent node's directory, from its name.
pub(crate) fn persistent_node_port(dir_name: &str) -> Option<u16> {
    dir_name.strip_prefix("node-")?.parse().ok()
}

/// Empties `dir`, creating it if needed.
pub(crate) fn recreate(dir: &Path) -> Result<(), Error> {
    if dir.exists() {
        fs::remove_dir_all(dir)
            .map_err(|e| Error::io(format!("removing the old directory {}", dir.display()), e))?;
    }
    fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating the node directory {}", dir.display()), e))
}

/// Removes `dir` and everything in it; a directory already gone is fine.
pub(crate) fn remove(dir: &Path) {
    // Best effort: this runs in Drop, where there is no one to report to, and a leftover
    // directory is swept by the next run.
    let _ = fs::remove_dir_all(dir);
}

/// Removes `dir` if it is empty; anything in it is left alone.
pub(crate) fn remove_if_empty(dir: &Path) {
    // Best effort, like `remove`; failing because the directory is not empty is the point.
    let _ = fs::remove_dir(dir);
}

fn sweep_stale_once() {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(sweep_stale);
}

/// Removes the test directories of processes that no longer exist.
fn sweep_stale() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if pid != std::process::id() && !is_alive(pid) {
            remove(&entry.path());
        }
    }
}

/// The pid in `slotwise-testkit-<pid>-…`.
fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(TEST_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    // EPERM means it exists but belongs to someone else: leave its directories alone.
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_parses_only_our_names() {
        assert_eq!(owner_pid("slotwise-testkit-1234-0-7000"), Some(1234));
        assert_eq!(owner_pid("slotwise-cluster-7000"), None);
        assert_eq!(owner_pid("slotwise-testkit-x-0-7000"), None);
    }

    #[test]
    fn persistent_names_round_trip() {
        let root = persistent_root(7000);
        let dir = persistent_node_dir(&root, 7003);
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert_eq!(persistent_node_port(name), Some(7003));
    }

    #[test]
    fn this_process_is_alive() {
        assert!(is_alive(std::process::id()));
    }
}
