//! Finding the server binary and checking that it is new enough.
//!
//! The order is: the path given to the builder, then `SLOTWISE_REDIS_SERVER`, then
//! `redis-server` and `valkey-server` on `PATH`. A missing or too old binary is an error that
//! says how to install one — never a silent skip, so a test suite cannot pass by testing nothing.
//!
//! This module does not start servers.

use std::env;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, ErrorKind, INSTALL_HINT};

/// The environment variable that names the server binary.
pub const SERVER_ENV: &str = "SLOTWISE_REDIS_SERVER";

/// Names tried on `PATH`, in order.
const CANDIDATES: [&str; 2] = ["redis-server", "valkey-server"];

/// The oldest major version with everything the kit uses (`cluster-port`, `CLUSTER
/// ADDSLOTSRANGE`, `CLUSTER SHARDS`).
const MIN_MAJOR: u32 = 7;

/// Finds the server binary (see the module docs) and checks its version.
pub(crate) fn find(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    let binary = locate(explicit)?;
    check_version(&binary)?;
    Ok(binary)
}

/// Finds the server binary without running it.
pub(crate) fn locate(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(path) = explicit {
        return existing(path, "the path given to `server_binary`");
    }
    if let Some(path) = env::var_os(SERVER_ENV) {
        return existing(Path::new(&path), SERVER_ENV);
    }
    let path_var = env::var_os("PATH").unwrap_or_default();
    for dir in env::split_paths(&path_var) {
        for name in CANDIDATES {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(Error::new(
        ErrorKind::ServerNotFound,
        format!(
            "no redis-server or valkey-server on PATH and {SERVER_ENV} is not set; {INSTALL_HINT}"
        ),
    ))
}

fn existing(path: &Path, origin: &str) -> Result<PathBuf, Error> {
    if is_executable(path) {
        Ok(path.to_path_buf())
    } else {
        Err(Error::new(
            ErrorKind::ServerNotFound,
            format!(
                "the server binary {} (from {origin}) does not exist or is not executable; \
                 {INSTALL_HINT}",
                path.display()
            ),
        ))
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `binary --version` and rejects servers older than Redis 7.
fn check_version(binary: &Path) -> Result<(), Error> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| Error::io(format!("running {} --version", binary.display()), e))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(major) = major_version(&text) else {
        return Err(Error::new(
            ErrorKind::ServerNotFound,
            format!(
                "{} --version printed {:?}, which is not a Redis or Valkey version; {INSTALL_HINT}",
                binary.display(),
                text.trim()
            ),
        ));
    };
    if major < MIN_MAJOR {
        return Err(Error::new(
            ErrorKind::ServerNotFound,
            format!(
                "{} is version {major}, the test kit needs {MIN_MAJOR}.0 or newer; {INSTALL_HINT}",
                binary.display()
            ),
        ));
    }
    Ok(())
}

/// The major version in `Redis server v=7.0.15 sha=…` (Valkey prints the same shape).
fn major_version(version_output: &str) -> Option<u32> {
    let start = version_output.find("v=")? + 2;
    let rest = version_output.get(start..)?;
    let major = rest.split('.').next()?;
    major.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_major_versions() {
        let redis = "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64";
        assert_eq!(major_version(redis), Some(7));
        assert_eq!(major_version("Valkey server v=8.0.1 sha=0"), Some(8));
        assert_eq!(major_version("something else"), None);
    }

    #[test]
    fn missing_explicit_binary_says_how_to_install() {
        let e = locate(Some(Path::new("/nonexistent/redis-server"))).unwrap_err();
        assert!(e.is_server_not_found());
        let text = e.to_string();
        assert!(text.contains("/nonexistent/redis-server"), "{text}");
        assert!(text.contains("apt-get install -y redis-server"), "{text}");
        assert!(text.contains(SERVER_ENV), "{text}");
    }
}
