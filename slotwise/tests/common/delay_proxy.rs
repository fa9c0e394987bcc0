//! A TCP proxy in front of one real node that holds back what the node sends by a delay that
//! can be changed at any time: a node that turns slow and fast again on demand, which a real
//! server cannot do. Requests pass at once; each chunk of replies is forwarded `delay` after it
//! arrived, in order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

pub(crate) struct DelayProxy {
    port: u16,
    /// The delay, in microseconds.
    delay: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl DelayProxy {
    /// Starts a proxy on a free port in front of `127.0.0.1:target`, delaying by `delay`.
    pub(crate) async fn start(target: u16, delay: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let delay = Arc::new(AtomicU64::new(delay.as_micros() as u64));
        let shared = Arc::clone(&delay);
        let accept = tokio::spawn(async move {
            // Dropped with the accept task when the proxy is: every connection ends with it.
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue; // the node is down: the client sees the connection close
                };
                connections.spawn(relay(client, server, Arc::clone(&shared)));
            }
        });
        DelayProxy {
            port,
            delay,
            accept,
        }
    }

    /// The port clients dial.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Replies from now on are held back by `delay`.
    pub(crate) fn set_delay(&self, delay: Duration) {
        self.delay
            .store(delay.as_micros() as u64, Ordering::Relaxed);
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn relay(client: TcpStream, server: TcpStream, delay: Arc<AtomicU64>) {
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    };
    let (held, mut release) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let replies_in = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let wait = Duration::from_micros(delay.load(Ordering::Relaxed));
                    if held
                        .send((Instant::now() + wait, buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    let replies_out = async move {
        while let Some((at, bytes)) = release.recv().await {
            tokio::time::sleep_until(at).await;
            if client_write.write_all(&bytes).await.is_err() {
                return;
            }
        }
    };
    // Either side closing ends the relay.
    tokio::select! {
        _ = requests => {}
        _ = async { tokio::join!(replies_in, replies_out) } => {}
    }
}
