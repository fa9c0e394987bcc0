//! TLS for `rediss://` nodes, with rustls.
//!
//! [`TlsConfig`] says which certificate authorities to trust (PEM), and optionally a client
//! certificate for mutual TLS. This module only wraps an established TCP stream; it does not
//! connect or greet.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::error::{Error, ErrorKind, Result, Sent};

/// TLS settings: trusted roots and an optional client certificate.
///
/// Give it to [`ClusterBuilder::tls`](crate::ClusterBuilder::tls). A certificate the roots do
/// not vouch for, or that is not valid for the name checked, fails the connection at once with
/// an [`Io`](crate::ErrorKind::Io) error saying why.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use slotwise::connection::TlsConfig;
/// use slotwise::RedisCluster;
///
/// let ca = std::fs::read("ca.crt")?;
/// let tls = TlsConfig::from_ca_pem_with_client_auth(
///     &ca,
///     &std::fs::read("client.crt")?,
///     &std::fs::read("client.key")?,
/// )?
/// .server_name("redis.internal"); // the name in the nodes' certificates
/// let cluster = RedisCluster::builder()
///     .url("redis://10.0.0.5:6380")
///     .tls(tls)
///     .build()
///     .await?;
/// # let _ = cluster;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a TLS configuration takes effect only when passed to a builder"]
pub struct TlsConfig {
    client: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
}

impl TlsConfig {
    /// Trusts the certificate authorities in `ca_pem` (one or more PEM certificates).
    pub fn from_ca_pem(ca_pem: &[u8]) -> Result<TlsConfig> {
        TlsConfig::build(ca_pem, None)
    }

    /// Trusts the public web's certificate authorities (the Mozilla set bundled at build time),
    /// as for a managed service with a publicly signed certificate.
    pub fn with_web_roots() -> Result<TlsConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        TlsConfig::from_roots(roots, None)
    }

    /// Trusts `ca_pem` and presents a client certificate chain and key (PEM) for mutual TLS.
    pub fn from_ca_pem_with_client_auth(
        ca_pem: &[u8],
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<TlsConfig> {
        TlsConfig::build(ca_pem, Some((cert_pem, key_pem)))
    }

    /// Checks the server's certificate against this name instead of the host connected to.
    /// Default is the host.
    pub fn server_name(mut self, name: impl Into<String>) -> TlsConfig {
        self.server_name = Some(name.into());
        self
    }

    fn build(ca_pem: &[u8], client_auth: Option<(&[u8], &[u8])>) -> Result<TlsConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| invalid(format!("bad CA certificate PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| invalid(format!("unusable CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(invalid("no CA certificate in the PEM data".into()));
        }
        TlsConfig::from_roots(roots, client_auth)
    }

    fn from_roots(
        roots: rustls::RootCertStore,
        client_auth: Option<(&[u8], &[u8])>,
    ) -> Result<TlsConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS setup: {e}")))?
            .with_root_certificates(roots);
        let client = match client_auth {
            None => builder.with_no_client_auth(),
            Some((cert_pem, key_pem)) => {
                let chain = CertificateDer::pem_slice_iter(cert_pem)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| invalid(format!("bad client certificate PEM: {e}")))?;
                let key = PrivateKeyDer::from_pem_slice(key_pem)
                    .map_err(|e| invalid(format!("bad client key PEM: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| invalid(format!("client certificate: {e}")))?
            }
        };
        Ok(TlsConfig {
            client: Arc::new(client),
            server_name: None,
        })
    }

    pub(crate) async fn connect(&self, host: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>> {
        let name = self.server_name.as_deref().unwrap_or(host).to_owned();
        let name = ServerName::try_from(name)
            .map_err(|e| invalid(format!("invalid TLS server name: {e}")))?;
        TlsConnector::from(Arc::clone(&self.client))
            .connect(name, tcp)
            .await
            .map_err(|e| Error::io(e, Sent::No))
    }
}

fn invalid(detail: String) -> Error {
    Error::new(ErrorKind::InvalidInput, detail)
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}
