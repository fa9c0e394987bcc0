//! Opening a socket to a node and greeting it: TCP (or TLS), then `HELLO 3` with `AUTH` and
//! `SETNAME`, falling back to `AUTH` and RESP2 on servers without `HELLO`, then `READONLY` for
//! replica connections, then `CLIENT TRACKING ON` for connections whose reads are cached (RESP3
//! only). What the node says of itself in its `HELLO` reply (its availability zone) comes back
//! as a [`Greeting`].
//!
//! Everything here runs within the connect timeout. This module does not retry: a failed
//! handshake is one failed connect, and [`Connection`](super::Connection) decides when to try again.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use super::auth::Credentials;
use super::config::{ConnectionConfig, Protocol};
use super::meter::Meter;
use super::mux::{Multiplexer, PushSink, Reply};
use super::tracking::Tracker;
use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Cmd, Decoder, Value};

/// What a node told of itself while being greeted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Greeting {
    /// `availability_zone` from the `HELLO` reply (Valkey 8.1 and newer, when the server's
    /// `availability-zone` is set); `None` from servers that do not report one.
    pub(crate) zone: Option<String>,
}

impl Greeting {
    /// Reads a `HELLO` reply: a map in RESP3, a flat array of fields and values in RESP2.
    fn from_hello(reply: &Value) -> Greeting {
        let field = |key: &Value, value: &Value| {
            (key.as_bytes() == Some(b"availability_zone".as_slice()))
                .then(|| value.as_bytes())
                .flatten()
                .filter(|zone| !zone.is_empty())
                .map(|zone| String::from_utf8_lossy(zone).into_owned())
        };
        let zone = match reply {
            Value::Map(pairs) => pairs.iter().find_map(|(k, v)| field(k, v)),
            Value::Array(items) => items.chunks_exact(2).find_map(|kv| field(&kv[0], &kv[1])),
            _ => None,
        };
        Greeting { zone }
    }
}

/// Connects, greets the node and returns the running multiplexer with what the node said of
/// itself.
pub(crate) async fn open(
    timeout: Duration,
    config: &ConnectionConfig,
    node: Arc<str>,
    push_sink: Option<PushSink>,
    meter: Arc<Meter>,
    tracker: Option<&Arc<dyn Tracker>>,
) -> Result<(Multiplexer, Greeting)> {
    let attempt = async {
        let mux = start(config, Arc::clone(&node), push_sink, meter).await?;
        if let Some(tracker) = tracker {
            mux.track(Arc::clone(tracker));
        }
        let greeting = greet(&mux, config, timeout, tracker.is_some()).await?;
        Ok((mux, greeting))
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("could not connect within {} ms", timeout.as_millis()),
        )
        .with_node(node.as_ref())),
    }
}

async fn start(
    config: &ConnectionConfig,
    node: Arc<str>,
    push_sink: Option<PushSink>,
    meter: Arc<Meter>,
) -> Result<Multiplexer> {
    let tcp = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .map_err(|e| Error::io(e, Sent::No).with_node(node.as_ref()))?;
    // Requests are already batched by the writer; Nagle would only add latency.
    tcp.set_nodelay(true)
        .map_err(|e| Error::io(e, Sent::No).with_node(node.as_ref()))?;
    let decoder = Decoder::new()
        .max_bulk_len(config.max_bulk_len)
        .max_reply_len(config.max_reply_len);
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let stream = tls
            .connect(&config.host, tcp)
            .await
            .map_err(|e| e.with_node(node.as_ref()))?;
        let (reader, writer) = tokio::io::split(stream);
        return Ok(Multiplexer::start(
            reader,
            writer,
            node,
            decoder,
            push_sink,
            config.limits,
            meter,
        ));
    }
    // The owned halves of a TCP stream need no lock between reader and writer.
    let (reader, writer) = tcp.into_split();
    Ok(Multiplexer::start(
        reader,
        writer,
        node,
        decoder,
        push_sink,
        config.limits,
        meter,
    ))
}

async fn call(mux: &Multiplexer, cmd: &Cmd, timeout: Duration) -> Result<Value> {
    match mux.request(std::iter::once(cmd), false, timeout).await? {
        Reply::One(Value::Error(e)) => Err(Error::from_server(e)),
        Reply::One(v) => Ok(v),
        Reply::Many(_) | Reply::Frames(_) => {
            Err(Error::new(ErrorKind::Protocol, "unexpected batch reply"))
        }
    }
}

/// True when the server does not know `HELLO` or the protocol version asked for.
fn hello_unsupported(err: &Error) -> bool {
    let Some(server) = err.server_error() else {
        return false;
    };
    server.code() == "NOPROTO"
        || (server.code() == "ERR"
            && server
                .detail()
                .to_ascii_lowercase()
                .contains("unknown command"))
}

async fn greet(
    mux: &Multiplexer,
    config: &ConnectionConfig,
    timeout: Duration,
    tracking: bool,
) -> Result<Greeting> {
    let mut greeting = Greeting::default();
    let credentials = config.auth.for_connect(timeout).await?;
    let secret = credentials.as_ref().map(|c| c.password().expose());
    let mut resp2 = config.protocol == Protocol::Resp2;
    if !resp2 {
        let mut hello = Cmd::new("HELLO").arg(3);
        if let Some(credentials) = &credentials {
            let user = credentials.username().unwrap_or("default");
            hello
                .push_arg("AUTH")
                .push_arg(user)
                .push_arg(credentials.password().expose());
        }
        if let Some(name) = &config.client_name {
            hello.push_arg("SETNAME").push_arg(name.as_str());
        }
        match call(mux, &hello, timeout).await {
            // The zone comes with the reply the handshake waits for anyway: no round trip more.
            Ok(reply) => greeting = Greeting::from_hello(&reply),
            Err(e) if hello_unsupported(&e) => resp2 = true,
            Err(e) => return Err(handshake_error(e, "HELLO", secret)),
        }
    }
    if resp2 {
        if let Some(credentials) = &credentials {
            let auth = auth_command(credentials);
            call(mux, &auth, timeout)
                .await
                .map_err(|e| handshake_error(e, "AUTH", secret))?;
        }
        if let Some(name) = &config.client_name {
            let setname = Cmd::new("CLIENT").arg("SETNAME").arg(name.as_str());
            call(mux, &setname, timeout)
                .await
                .map_err(|e| handshake_error(e, "CLIENT SETNAME", secret))?;
        }
    }
    if config.readonly {
        call(mux, &Cmd::new("READONLY"), timeout)
            .await
            .map_err(|e| handshake_error(e, "READONLY", secret))?;
    }
    if tracking {
        // Invalidations come as pushes on this connection, which RESP2 cannot carry (its
        // `REDIRECT` mode needs a second connection per node).
        if resp2 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "client-side caching needs RESP3 (Redis 6 or newer), which this node does not speak",
            )
            .with_sent(Sent::No));
        }
        // The default mode, not BCAST: the node tracks only the keys read through here.
        call(mux, &Cmd::new("CLIENT").arg("TRACKING").arg("ON"), timeout)
            .await
            .map_err(|e| handshake_error(e, "CLIENT TRACKING", secret))?;
    }
    Ok(greeting)
}

/// An error of the handshake, with the password hidden should the server echo it.
fn handshake_error(err: Error, command: &str, secret: Option<&str>) -> Error {
    let err = err.with_command(command);
    match secret {
        Some(secret) => err.redacting(secret),
        None => err,
    }
}

/// `AUTH [user] password`.
pub(crate) fn auth_command(credentials: &Credentials) -> Cmd {
    match credentials.username() {
        Some(user) => Cmd::new("AUTH")
            .arg(user)
            .arg(credentials.password().expose()),
        None => Cmd::new("AUTH").arg(credentials.password().expose()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn the_zone_is_read_from_a_resp3_or_resp2_hello_reply() {
        let resp3 = Value::Map(vec![
            (bulk("server"), bulk("valkey")),
            (bulk("modules"), Value::Array(Vec::new())),
            (bulk("availability_zone"), bulk("us-east-1b")),
        ]);
        assert_eq!(
            Greeting::from_hello(&resp3).zone.as_deref(),
            Some("us-east-1b")
        );
        let resp2 = Value::Array(vec![
            bulk("server"),
            bulk("valkey"),
            bulk("modules"),
            Value::Array(Vec::new()),
            bulk("availability_zone"),
            bulk("zone-a"),
        ]);
        assert_eq!(Greeting::from_hello(&resp2).zone.as_deref(), Some("zone-a"));
    }

    #[test]
    fn servers_without_a_zone_report_none() {
        // Redis 7, and Valkey without `availability-zone` set, leave the field out.
        let redis = Value::Map(vec![
            (bulk("server"), bulk("redis")),
            (bulk("version"), bulk("7.0.15")),
            (bulk("proto"), Value::Int(3)),
        ]);
        assert_eq!(Greeting::from_hello(&redis), Greeting::default());
        let empty = Value::Map(vec![(bulk("availability_zone"), bulk(""))]);
        assert_eq!(Greeting::from_hello(&empty).zone, None);
        assert_eq!(Greeting::from_hello(&Value::Nil).zone, None);
    }
}
