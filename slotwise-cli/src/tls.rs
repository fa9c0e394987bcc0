//! The TLS options of `cli` and `nodes`, as `redis-cli` has them: `--tls`, `--cacert`, `--cert`,
//! `--key`, `--sni`.
//!
//! TLS is on with `--tls` (which makes `redis://` seeds TLS too) or with a `rediss://` seed. The
//! CA file replaces the public web's roots; a client certificate needs its key and a CA file.
//! Options that cannot be used (a certificate without its key, a CA file while TLS is off, a
//! file that cannot be read or is not PEM) are usage errors, exit code 2. In a build without
//! the `tls` feature, any of them is.
//!
//! This module turns the options into the client's TLS settings; it does not connect.

use std::path::PathBuf;

use slotwise::ClusterBuilder;

use crate::Failure;

/// The TLS options as given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsOptions {
    /// `--tls`: connect with TLS, also to `redis://` seeds.
    pub(crate) enabled: bool,
    /// `--cacert`: the CA certificates to trust, PEM.
    pub(crate) cacert: Option<PathBuf>,
    /// `--cert`: the client certificate chain, PEM.
    pub(crate) cert: Option<PathBuf>,
    /// `--key`: the client certificate's private key, PEM.
    pub(crate) key: Option<PathBuf>,
    /// `--sni`: the name to check the server's certificate against.
    pub(crate) sni: Option<String>,
}

impl TlsOptions {
    /// True when TLS is on: `--tls`, or a `rediss://` seed among `urls`.
    fn is_on(&self, urls: &[String]) -> bool {
        self.enabled
            || urls.iter().any(|url| {
                url.get(..9)
                    .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"))
            })
    }

    /// The name of the first option given that configures TLS, for messages.
    fn first_given(&self) -> Option<&'static str> {
        [
            (self.cacert.is_some(), "--cacert"),
            (self.cert.is_some(), "--cert"),
            (self.key.is_some(), "--key"),
            (self.sni.is_some(), "--sni"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

/// `builder` with the TLS settings of `options` for seeds `urls`.
pub(crate) fn apply(
    builder: ClusterBuilder,
    options: &TlsOptions,
    urls: &[String],
) -> Result<ClusterBuilder, Failure> {
    if !options.is_on(urls) {
        return match options.first_given() {
            Some(name) => Err(Failure::usage(format!(
                "{name} needs TLS: add --tls or give a rediss:// URL"
            ))),
            None => Ok(builder),
        };
    }
    configure(builder, options)
}

#[cfg(feature = "tls")]
fn configure(builder: ClusterBuilder, options: &TlsOptions) -> Result<ClusterBuilder, Failure> {
    use slotwise::connection::TlsConfig;

    let unusable = |e: slotwise::Error| Failure::usage(format!("TLS settings: {e}"));
    let config = match (&options.cacert, &options.cert, &options.key) {
        (_, Some(_), None) => return Err(Failure::usage("--cert needs --key")),
        (_, None, Some(_)) => return Err(Failure::usage("--key needs --cert")),
        (None, Some(_), Some(_)) => {
            return Err(Failure::usage(
                "--cert needs --cacert: the CA that signed the servers' certificates",
            ))
        }
        (Some(ca), Some(cert), Some(key)) => {
            TlsConfig::from_ca_pem_with_client_auth(&read(ca)?, &read(cert)?, &read(key)?)
                .map_err(unusable)?
        }
        (Some(ca), None, None) => TlsConfig::from_ca_pem(&read(ca)?).map_err(unusable)?,
        (None, None, None) => TlsConfig::with_web_roots().map_err(unusable)?,
    };
    let config = match &options.sni {
        Some(name) => config.server_name(name.as_str()),
        None => config,
    };
    Ok(builder.tls(config))
}

#[cfg(not(feature = "tls"))]
fn configure(_: ClusterBuilder, _: &TlsOptions) -> Result<ClusterBuilder, Failure> {
    Err(Failure::usage(
        "TLS needs a slotwise built with the `tls` feature (the default): \
         cargo build -p slotwise-cli --features tls",
    ))
}

#[cfg(feature = "tls")]
fn read(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn tls_is_on_with_the_flag_or_a_rediss_seed() {
        let off = TlsOptions::default();
        assert!(!off.is_on(&urls(&["redis://h:1"])));
        assert!(off.is_on(&urls(&["redis://h:1", "REDISS://h:2"])));
        let on = TlsOptions {
            enabled: true,
            ..TlsOptions::default()
        };
        assert!(on.is_on(&urls(&["redis://h:1"])));
    }

    #[test]
    fn tls_options_without_tls_are_usage_errors() {
        let options = TlsOptions {
            sni: Some("cache.example".to_owned()),
            ..TlsOptions::default()
        };
        let e = apply(ClusterBuilder::new(), &options, &urls(&["redis://h:1"])).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(
            e.message.contains("--sni") && e.message.contains("--tls"),
            "{e}"
        );
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_client_certificate_needs_its_key_and_a_ca() {
        let with = |cacert: Option<&str>, cert: Option<&str>, key: Option<&str>| TlsOptions {
            enabled: true,
            cacert: cacert.map(PathBuf::from),
            cert: cert.map(PathBuf::from),
            key: key.map(PathBuf::from),
            sni: None,
        };
        for (options, needle) in [
            (with(Some("ca"), Some("c"), None), "--cert needs --key"),
            (with(Some("ca"), None, Some("k")), "--key needs --cert"),
            (with(None, Some("c"), Some("k")), "--cert needs --cacert"),
            (with(Some("/nonexistent/ca.pem"), None, None), "cannot read"),
        ] {
            let e = apply(ClusterBuilder::new(), &options, &[]).unwrap_err();
            assert_eq!(e.code, 2, "{e}");
            assert!(e.message.contains(needle), "expected {needle:?} in {e}");
        }
        // The public web's roots when no CA file is given.
        assert!(apply(ClusterBuilder::new(), &with(None, None, None), &[]).is_ok());
    }
}
