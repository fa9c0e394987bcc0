//! TLS for a test cluster: a certificate authority and one certificate, made with the `openssl`
//! command when the cluster starts, in a directory of the cluster's own.
//!
//! One P-256 CA signs one leaf certificate for `IP:127.0.0.1` and `DNS:localhost`. Every node
//! serves it on its TLS port and presents it on the cluster bus and replication links, and tests
//! may present it as a client certificate for mutual TLS: its extended key usage allows both. EC
//! keys take milliseconds to make, so the three `openssl` runs add some tens of milliseconds to
//! a cluster's start. A missing `openssl` is an error with the install hint, never a silent
//! plain-text cluster.
//!
//! This module makes and names the files. The server options that use them are
//! [`server`](crate::server)'s; which ports a cluster opens is [`form`](crate::form)'s.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, ErrorKind, OPENSSL_HINT};

/// The certificate files of a TLS cluster (see
/// [`ClusterBuilder::tls`](crate::ClusterBuilder::tls)), in a directory that lives as long as the
/// cluster.
///
/// [`cert`](TlsFiles::cert) and [`key`](TlsFiles::key) are the nodes' own certificate, signed by
/// [`ca_cert`](TlsFiles::ca_cert), for `127.0.0.1` and `localhost`; they also serve as a client
/// certificate for mutual TLS.
///
/// ```no_run
/// use slotwise_testkit::LocalCluster;
///
/// let cluster = LocalCluster::builder().tls(true).start()?;
/// let files = cluster.tls_files().expect("a TLS cluster has certificate files");
/// let ca_pem = files.ca_pem()?; // for slotwise::connection::TlsConfig::from_ca_pem
/// println!("redis-cli --tls --cacert {} -p {:?}", files.ca_cert().display(),
///     cluster.tls_port(cluster.ports()[0]));
/// # let _ = ca_pem;
/// # Ok::<(), slotwise_testkit::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    dir: PathBuf,
    ca_cert: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    /// The directory holding the files; it is deleted with the cluster.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate (PEM) that signed [`cert`](TlsFiles::cert): what a client trusts.
    pub fn ca_cert(&self) -> &Path {
        &self.ca_cert
    }

    /// The certificate (PEM) every node serves, valid for `127.0.0.1` and `localhost`; usable as
    /// a client certificate too.
    pub fn cert(&self) -> &Path {
        &self.cert
    }

    /// The private key (PEM, PKCS #8) of [`cert`](TlsFiles::cert).
    pub fn key(&self) -> &Path {
        &self.key
    }

    /// The contents of [`ca_cert`](TlsFiles::ca_cert).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the file cannot be read (the cluster was stopped).
    pub fn ca_pem(&self) -> Result<Vec<u8>, Error> {
        read(&self.ca_cert)
    }

    /// The contents of [`cert`](TlsFiles::cert).
    ///
    /// # Errors
    ///
    /// As [`ca_pem`](TlsFiles::ca_pem).
    pub fn cert_pem(&self) -> Result<Vec<u8>, Error> {
        read(&self.cert)
    }

    /// The contents of [`key`](TlsFiles::key).
    ///
    /// # Errors
    ///
    /// As [`ca_pem`](TlsFiles::ca_pem).
    pub fn key_pem(&self) -> Result<Vec<u8>, Error> {
        read(&self.key)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// The extensions of both certificates, in a file of our own so that neither the system's
/// `openssl.cnf` nor its absence changes what is made. The leaf must not be a CA (rustls
/// refuses one as an end entity) and must name the addresses clients dial.
const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = slotwise-testkit
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Makes a CA and a leaf certificate in `dir`, which must exist.
pub(crate) fn generate(dir: &Path) -> Result<TlsFiles, Error> {
    generate_with(Path::new("openssl"), dir)
}

/// [`generate`] with the `openssl` binary at `program`.
fn generate_with(program: &Path, dir: &Path) -> Result<TlsFiles, Error> {
    let files = TlsFiles {
        dir: dir.to_path_buf(),
        ca_cert: dir.join("ca.crt"),
        cert: dir.join("node.crt"),
        key: dir.join("node.key"),
    };
    let config = dir.join("openssl.cnf");
    fs::write(&config, CONFIG)
        .map_err(|e| Error::io(format!("writing {}", config.display()), e))?;
    let ca_key = dir.join("ca.key");
    let request = dir.join("node.csr");
    let ec_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        Command::new(program)
            .args(["req", "-x509", "-config"])
            .arg(&config)
            .args(["-extensions", "ca_ext", "-subj", "/CN=slotwise-testkit CA"])
            .args(["-days", "3650", "-sha256"])
            .args(ec_key)
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&files.ca_cert),
        "making the CA certificate",
    )?;
    openssl(
        Command::new(program)
            .args(["req", "-new", "-config"])
            .arg(&config)
            .args(["-subj", "/CN=localhost"])
            .args(ec_key)
            .arg("-keyout")
            .arg(&files.key)
            .arg("-out")
            .arg(&request),
        "making the node key",
    )?;
    openssl(
        Command::new(program)
            .args(["x509", "-req", "-in"])
            .arg(&request)
            .arg("-CA")
            .arg(&files.ca_cert)
            .arg("-CAkey")
            .arg(&ca_key)
            .args(["-set_serial", "2", "-days", "3650", "-sha256"])
            .arg("-extfile")
            .arg(&config)
            .args(["-extensions", "leaf_ext", "-out"])
            .arg(&files.cert),
        "signing the node certificate",
    )?;
    Ok(files)
}

/// Runs one `openssl` command; a missing binary gets the install hint, a failure its stderr.
fn openssl(command: &mut Command, doing: &str) -> Result<(), Error> {
    let output = command.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(
                ErrorKind::OpensslNotFound,
                format!("{doing} for a TLS cluster: no `openssl` on PATH; {OPENSSL_HINT}"),
            )
        } else {
            Error::io(format!("{doing}: running openssl"), e)
        }
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Start,
        format!(
            "{doing}: openssl exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_signed_by_the_ca_and_names_the_local_host() {
        let dir = crate::workdir::create_cluster_dir("tls").unwrap();
        let files = generate(&dir).unwrap();
        let verify = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(files.ca_cert())
            .arg(files.cert())
            .output()
            .unwrap();
        let text = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(files.cert())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        let key = files.key_pem().unwrap();
        crate::workdir::remove(&dir);
        assert!(
            verify.status.success(),
            "openssl verify: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
        assert!(text.contains("IP Address:127.0.0.1"), "{text}");
        assert!(text.contains("DNS:localhost"), "{text}");
        assert!(text.contains("TLS Web Client Authentication"), "{text}");
        assert!(key.starts_with(b"-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn a_missing_openssl_says_how_to_install_it() {
        let dir = crate::workdir::create_cluster_dir("tls").unwrap();
        let e = generate_with(Path::new("/nonexistent/openssl"), &dir).unwrap_err();
        crate::workdir::remove(&dir);
        assert_eq!(e.kind(), ErrorKind::OpensslNotFound, "{e}");
        assert!(e.to_string().contains("apt-get install -y openssl"), "{e}");
    }
}
