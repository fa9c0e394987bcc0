//! Opening a socket to a node and greeting it: TCP (or TLS), then `HELLO 3` with `AUTH` and
//! `SETNAME`, falling back to `AUTH` and RESP2 on servers without `HELLO`, then `READONLY` for
//! replica connections.
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
use crate::error::{Error, ErrorKind, Result, Sent};
use crate::protocol::{Cmd, Decoder, Value};

/// Connects, greets the node and returns the running multiplexer.
pub(crate) async fn open(
    timeout: Duration,
    config: &ConnectionConfig,
    node: Arc<str>,
    push_sink: Option<PushSink>,
    meter: Arc<Meter>,
) -> Result<Multiplexer> {
    let attempt = async {
        let mux = start(config, Arc::clone(&node), push_sink, meter).await?;
        greet(&mux, config, timeout).await?;
        Ok(mux)
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

async fn greet(mux: &Multiplexer, config: &ConnectionConfig, timeout: Duration) -> Result<()> {
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
            Ok(_) => {}
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
    Ok(())
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
