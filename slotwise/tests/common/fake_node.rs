//! A scripted in-process node for what a real server cannot do on demand: malformed replies,
//! truncated frames, stalled sockets, old servers without `HELLO`.

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use slotwise::protocol::{Decoder, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the fake node does with one command.
#[allow(dead_code)]
pub(crate) enum Action {
    /// Writes these bytes.
    Reply(Vec<u8>),
    /// Writes these bytes, shared: a large reply is built once, not once per command.
    ReplyShared(bytes::Bytes),
    /// Writes nothing (the caller waits).
    Silence,
    /// Writes these bytes, then closes the socket.
    ReplyAndClose(Vec<u8>),
    /// Waits, then writes these bytes (a slow node: the commands behind it wait too).
    ReplyAfter(std::time::Duration, Vec<u8>),
}

pub(crate) struct FakeNode {
    pub(crate) port: u16,
    /// Every command received, as its arguments.
    pub(crate) received: Arc<Mutex<Vec<Vec<String>>>>,
}

impl FakeNode {
    /// Starts a node that answers each command with `script(args)`.
    pub(crate) async fn start<F>(script: F) -> FakeNode
    where
        F: Fn(&[String]) -> Action + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let script = Arc::clone(&script);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut decoder = Decoder::new();
                    let mut buf = BytesMut::new();
                    loop {
                        while let Ok(Some(value)) = decoder.decode(&mut buf) {
                            let args = match value {
                                Value::Array(items) => items
                                    .iter()
                                    .map(|v| {
                                        String::from_utf8_lossy(v.as_bytes().unwrap_or_default())
                                            .into_owned()
                                    })
                                    .collect::<Vec<_>>(),
                                _ => return,
                            };
                            log.lock().unwrap().push(args.clone());
                            match script(&args) {
                                Action::Reply(bytes) => {
                                    if socket.write_all(&bytes).await.is_err() {
                                        return;
                                    }
                                }
                                Action::ReplyShared(bytes) => {
                                    if socket.write_all(&bytes).await.is_err() {
                                        return;
                                    }
                                }
                                Action::Silence => {}
                                Action::ReplyAfter(wait, bytes) => {
                                    tokio::time::sleep(wait).await;
                                    if socket.write_all(&bytes).await.is_err() {
                                        return;
                                    }
                                }
                                Action::ReplyAndClose(bytes) => {
                                    let _ = socket.write_all(&bytes).await;
                                    return;
                                }
                            }
                        }
                        match socket.read_buf(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                    }
                });
            }
        });
        FakeNode { port, received }
    }

    /// The commands received so far, by name.
    pub(crate) fn commands(&self) -> Vec<Vec<String>> {
        self.received.lock().unwrap().clone()
    }
}

/// A script that greets like a Redis 7 node and answers other commands with `other`.
pub(crate) fn greeting_then<F>(other: F) -> impl Fn(&[String]) -> Action + Send + Sync + 'static
where
    F: Fn(&[String]) -> Action + Send + Sync + 'static,
{
    move |args: &[String]| match args[0].to_ascii_uppercase().as_str() {
        "HELLO" => Action::Reply(b"%1\r\n+proto\r\n:3\r\n".to_vec()),
        "READONLY" => Action::Reply(b"+OK\r\n".to_vec()),
        _ => other(args),
    }
}
