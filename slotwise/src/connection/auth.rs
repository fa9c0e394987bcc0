//! Credentials: a user name and a password (or token), given once or asked of a
//! [`CredentialsProvider`] at every new connection and reconnect, and replaceable while the
//! client runs.
//!
//! Managed clusters that authenticate with IAM or Entra ID tokens hand out passwords that
//! expire every 15–60 minutes: a provider returns the current one whenever a socket is opened,
//! and [`RedisCluster::update_credentials`](crate::RedisCluster::update_credentials)
//! re-authenticates the sockets already open. Every connection of a client shares one [`Auth`],
//! so what one learns, all use.
//!
//! This module sends nothing; the handshake (`handshake.rs`) does.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::config::Secret;
use crate::error::{Error, ErrorKind, Result};

/// A user name and password to authenticate with. `Debug` shows the user, never the password.
///
/// ```
/// let creds = slotwise::connection::Credentials::new("app", "token-123");
/// assert_eq!(creds.username(), Some("app"));
/// assert!(!format!("{creds:?}").contains("token-123"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    username: Option<String>,
    password: Secret,
}

impl Credentials {
    /// An ACL user and its password (or token).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: Some(username.into()),
            password: Secret::new(password),
        }
    }

    /// A password for the `default` user (`requirepass`).
    pub fn password_only(password: impl Into<String>) -> Credentials {
        Credentials {
            username: None,
            password: Secret::new(password),
        }
    }

    /// The user name; `None` for the `default` user.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password.
    pub fn password(&self) -> &Secret {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// The future a [`CredentialsProvider`] returns.
pub type CredentialsFuture = Pin<Box<dyn Future<Output = Result<Credentials>> + Send + 'static>>;

/// Gives the credentials to open a connection with: asked at every new connection and
/// reconnect, so a token that expires is fetched fresh. Any
/// `Fn() -> impl Future<Output = Result<Credentials>>` closure is one.
///
/// ```no_run
/// # async fn demo() -> slotwise::Result<()> {
/// use slotwise::connection::Credentials;
///
/// let cluster = slotwise::RedisCluster::builder()
///     .url("rediss://cache.example:6379")
///     .credentials_provider(|| async {
///         // e.g. an IAM auth token, valid for 15 minutes
///         Ok(Credentials::new("app", fetch_token().await))
///     })
///     .build()
///     .await?;
/// # Ok(()) }
/// # async fn fetch_token() -> String { String::new() }
/// ```
pub trait CredentialsProvider: Send + Sync + 'static {
    /// The credentials to use now.
    fn credentials(&self) -> CredentialsFuture;
}

impl<F, Fut> CredentialsProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Credentials>> + Send + 'static,
{
    fn credentials(&self) -> CredentialsFuture {
        Box::pin(self())
    }
}

/// Where the connections of a client get their credentials. Cloning shares it.
#[derive(Clone, Default)]
pub(crate) struct Auth(Arc<State>);

#[derive(Default)]
struct State {
    /// The credentials given, or the last ones a provider gave.
    current: Mutex<Option<Given>>,
    provider: Option<Arc<dyn CredentialsProvider>>,
}

/// Credentials as set piece by piece (a user name may come before its password).
#[derive(Clone, Default)]
struct Given {
    username: Option<String>,
    password: Option<Secret>,
}

impl Auth {
    fn current(&self) -> MutexGuard<'_, Option<Given>> {
        self.0.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy for a builder to change: the settings of one client are not another's.
    fn edited(&self, edit: impl FnOnce(&mut Given)) -> Auth {
        let mut given = self.current().clone().unwrap_or_default();
        edit(&mut given);
        Auth(Arc::new(State {
            current: Mutex::new(Some(given)),
            provider: self.0.provider.clone(),
        }))
    }

    pub(crate) fn with_username(&self, username: String) -> Auth {
        self.edited(|g| g.username = Some(username))
    }

    pub(crate) fn with_password(&self, password: Secret) -> Auth {
        self.edited(|g| g.password = Some(password))
    }

    pub(crate) fn with_provider(&self, provider: Arc<dyn CredentialsProvider>) -> Auth {
        Auth(Arc::new(State {
            current: Mutex::new(self.current().clone()),
            provider: Some(provider),
        }))
    }

    /// Replaces the credentials new connections use (a provider, if any, is still asked
    /// first).
    pub(crate) fn set(&self, credentials: &Credentials) {
        *self.current() = Some(Given {
            username: credentials.username.clone(),
            password: Some(credentials.password.clone()),
        });
    }

    /// The credentials to open a connection with now: the provider's (asked within
    /// `timeout`), or the ones given; `None` when there are none (no password).
    pub(crate) async fn for_connect(&self, timeout: Duration) -> Result<Option<Credentials>> {
        if let Some(provider) = &self.0.provider {
            let asked = tokio::time::timeout(timeout, provider.credentials()).await;
            let credentials = match asked {
                Ok(Ok(credentials)) => credentials,
                Ok(Err(e)) => return Err(provider_failed(e.to_string())),
                Err(_) => {
                    return Err(provider_failed(format!(
                        "no answer within {} ms",
                        timeout.as_millis()
                    )))
                }
            };
            self.set(&credentials);
            return Ok(Some(credentials));
        }
        Ok(self.current().as_ref().and_then(|g| {
            g.password.as_ref().map(|password| Credentials {
                username: g.username.clone(),
                password: password.clone(),
            })
        }))
    }

    /// The password in use, to hide it should a server echo it.
    pub(crate) fn password(&self) -> Option<Secret> {
        self.current().as_ref().and_then(|g| g.password.clone())
    }
}

fn provider_failed(why: String) -> Error {
    Error::new(
        ErrorKind::Auth,
        format!("the credentials provider gave no credentials: {why}"),
    )
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let given = self.current().clone().unwrap_or_default();
        f.debug_struct("Auth")
            .field("username", &given.username)
            .field("password", &given.password.map(|_| "***"))
            .field("provider", &self.0.provider.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_provider_is_asked_at_every_connect_and_its_answer_kept() {
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&asked);
        let auth = Auth::default().with_provider(Arc::new(move || {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok(Credentials::new("app", format!("token-{n}"))) }
        }));
        let shared = auth.clone();
        for n in 0..2 {
            let creds = auth
                .for_connect(Duration::from_secs(1))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(creds.password().expose(), format!("token-{n}"));
            // The clone sees what the provider said last.
            assert_eq!(shared.password().unwrap().expose(), format!("token-{n}"));
        }
        assert!(!format!("{auth:?}").contains("token"));
    }

    #[tokio::test]
    async fn a_failing_or_silent_provider_is_an_auth_error() {
        let failing = Auth::default().with_provider(Arc::new(|| async {
            Err(Error::new(ErrorKind::Io, "token service down"))
        }));
        let err = failing
            .for_connect(Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert!(err.to_string().contains("token service down"), "{err}");

        let silent = Auth::default().with_provider(Arc::new(std::future::pending));
        let err = silent
            .for_connect(Duration::from_millis(10))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
    }

    #[tokio::test]
    async fn given_credentials_are_per_builder_and_set_shares_them() {
        let base = Auth::default().with_username("a".into());
        let one = base.with_password(Secret::new("p1"));
        let two = base.with_password(Secret::new("p2"));
        assert_eq!(one.password().unwrap().expose(), "p1");
        assert_eq!(two.password().unwrap().expose(), "p2");
        assert!(base.for_connect(Duration::ZERO).await.unwrap().is_none());
        let shared = one.clone();
        one.set(&Credentials::new("b", "p3"));
        let now = shared.for_connect(Duration::ZERO).await.unwrap().unwrap();
        assert_eq!((now.username(), now.password().expose()), (Some("b"), "p3"));
    }
}
