//! Tests of undecoded replies on a multiplexed socket over an in-memory stream: each comes whole
//! however it is split, between decoded replies and pushes, and a broken one closes the socket.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

use super::super::{Limits, Multiplexer, PushSink, Reply, SinkEvent};
use crate::error::ErrorKind;
use crate::protocol::{Cmd, Decoder, Value, WireReply};

const WAIT: Duration = Duration::from_secs(5);

fn start(decoder: Decoder, sink: Option<PushSink>) -> (Multiplexer, DuplexStream) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (r, w) = tokio::io::split(client);
    let mux = Multiplexer::start(
        r,
        w,
        Arc::from("test:1"),
        decoder,
        sink,
        Limits::default(),
        crate::connection::meter::Meter::detached(),
    );
    (mux, server)
}

/// Reads from the node's side until `n` commands have arrived.
async fn read_commands(server: &mut DuplexStream, n: usize) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut seen = 0;
    while seen < n {
        while decoder.decode(&mut buf).unwrap().is_some() {
            seen += 1;
        }
        if seen < n {
            server.read_buf(&mut buf).await.unwrap();
        }
    }
}

/// Writes `bytes` in pieces of `piece`, letting the reader run after each.
async fn trickle(server: &mut DuplexStream, bytes: &[u8], piece: usize) {
    for chunk in bytes.chunks(piece.max(1)) {
        server.write_all(chunk).await.unwrap();
        tokio::task::yield_now().await;
    }
}

/// An array of `n` bulk strings of 16 bytes.
fn big_frame(n: usize) -> Vec<u8> {
    let mut frame = format!("*{n}\r\n").into_bytes();
    for i in 0..n {
        frame.extend_from_slice(format!("*2\r\n$16\r\n{i:016}\r\n:{i}\r\n").as_bytes());
    }
    frame
}

fn one_frame(reply: crate::error::Result<Vec<WireReply>>) -> WireReply {
    let mut frames = reply.unwrap();
    assert_eq!(frames.len(), 1, "{frames:?}");
    frames.remove(0)
}

#[tokio::test]
async fn an_undecoded_reply_comes_whole_between_decoded_replies_and_pushes() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (mux, mut server) = start(Decoder::new(), Some(PushSink::new(1, tx)));
    let (a, shards, b) = (
        Cmd::new("GET").arg("a"),
        Cmd::new("CLUSTER").arg("SHARDS"),
        Cmd::new("GET").arg("b"),
    );
    // Larger than a read, so it arrives over many reads and takes the large frame's path.
    let frame = big_frame(4000);
    let push = b">2\r\n+message\r\n$2\r\nhi\r\n";
    let serve = async {
        read_commands(&mut server, 3).await;
        let mut out = push.to_vec();
        out.extend_from_slice(b"$1\r\na\r\n");
        out.extend_from_slice(push);
        out.extend_from_slice(&frame);
        out.extend_from_slice(push);
        out.extend_from_slice(b"$1\r\nb\r\n");
        trickle(&mut server, &out, 1000).await;
    };
    let (a, shards, b, ()) = tokio::join!(
        mux.request([&a], false, WAIT),
        mux.request_undecoded([&shards], WAIT),
        mux.request([&b], false, WAIT),
        serve
    );
    assert!(matches!(a.unwrap(), Reply::One(Value::Bulk(v)) if &v[..] == b"a"));
    let shards = one_frame(shards);
    assert_eq!(shards.len(), frame.len());
    assert_eq!(shards.into_value().unwrap(), {
        let mut buf = BytesMut::from(&frame[..]);
        Decoder::new().decode(&mut buf).unwrap().unwrap()
    });
    assert!(matches!(b.unwrap(), Reply::One(Value::Bulk(v)) if &v[..] == b"b"));
    for _ in 0..3 {
        let (_, event) = rx.recv().await.unwrap();
        assert!(matches!(event, SinkEvent::Push(items) if items.len() == 2));
    }
    assert_eq!(mux.shared.undecoded.load(Ordering::Acquire), 0);
}

#[tokio::test]
async fn an_undecoded_reply_split_at_every_byte_comes_whole() {
    let frame: &[u8] = b"*3\r\n%1\r\n+k\r\n*1\r\n$3\r\na\r\n\r\n:7\r\n|1\r\n+a\r\n:1\r\n_\r\n";
    let push = b">1\r\n+p\r\n";
    let mut wire = push.to_vec();
    wire.extend_from_slice(frame);
    wire.extend_from_slice(push);
    wire.extend_from_slice(b"+OK\r\n");
    for cut in 0..=wire.len() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (mux, mut server) = start(Decoder::new(), Some(PushSink::new(1, tx)));
        let (cmd, ping) = (Cmd::new("COMMAND"), Cmd::new("PING"));
        let serve = async {
            read_commands(&mut server, 2).await;
            server.write_all(&wire[..cut]).await.unwrap();
            tokio::task::yield_now().await;
            server.write_all(&wire[cut..]).await.unwrap();
        };
        let (got, ok, ()) = tokio::join!(
            mux.request_undecoded([&cmd], WAIT),
            mux.request([&ping], false, WAIT),
            serve
        );
        let got = one_frame(got);
        assert_eq!(got.len(), frame.len(), "cut {cut}");
        assert!(got.into_value().is_ok(), "cut {cut}");
        assert!(matches!(ok.unwrap(), Reply::One(Value::SimpleString(_))));
        for _ in 0..2 {
            assert!(matches!(rx.recv().await, Some((_, SinkEvent::Push(_)))));
        }
    }
}

#[tokio::test]
async fn a_batch_of_undecoded_replies_keeps_its_error_replies() {
    let (mux, mut server) = start(Decoder::new(), None);
    let (a, b) = (
        Cmd::new("CLUSTER").arg("SHARDS"),
        Cmd::new("CLUSTER").arg("INFO"),
    );
    let serve = async {
        read_commands(&mut server, 2).await;
        server
            .write_all(b"-ERR unknown subcommand\r\n$2\r\nok\r\n")
            .await
            .unwrap();
    };
    let (frames, ()) = tokio::join!(mux.request_undecoded([&a, &b], WAIT), serve);
    let frames = frames.unwrap();
    assert_eq!(frames.len(), 2);
    assert!(frames[0].is_error());
    assert!(!frames[1].is_error());
    // And nothing asked for: an empty batch is answered at once.
    assert!(mux.request_undecoded([], WAIT).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_broken_undecoded_reply_closes_the_socket() {
    let cases: [(&[u8], &str, Decoder); 3] = [
        (b"*2\r\n:1\r\n?x\r\n", "invalid type byte", Decoder::new()),
        (
            b"*1\r\n$3\r\nabcd\r\n",
            "not followed by CRLF",
            Decoder::new(),
        ),
        (
            &b"*4\r\n$20\r\n01234567890123456789\r\n$20\r\n01234567890123456789\r\n"[..],
            "longer than the limit",
            Decoder::new().max_reply_len(40),
        ),
    ];
    for (wire, why, decoder) in cases {
        let (mux, mut server) = start(decoder, None);
        let cmd = Cmd::new("COMMAND");
        let serve = async {
            read_commands(&mut server, 1).await;
            server.write_all(wire).await.unwrap();
        };
        let (got, ()) = tokio::join!(mux.request_undecoded([&cmd], WAIT), serve);
        let err = got.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
        assert!(err.to_string().contains(why), "{why}: {err}");
        assert!(!mux.is_open());
    }
}
