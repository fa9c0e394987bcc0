//! Tests of undecoded replies: decoded whole or element by element they give what the decoder
//! gives, error replies are told apart, and a broken frame is an error, never a panic.

use bytes::Bytes;

use super::*;
use crate::error::ErrorKind;
use crate::protocol::decode::tests::samples;

fn reply(wire: &[u8]) -> WireReply {
    WireReply::new(Bytes::copy_from_slice(wire))
}

fn elements(wire: &[u8]) -> Vec<Value> {
    match reply(wire).into_list().unwrap() {
        Listed::Elements(items) => items.collect::<Result<_>>().unwrap(),
        Listed::Other(v) => panic!("{} is not a list: {v:?}", wire.escape_ascii()),
    }
}

#[test]
fn decoded_whole_or_by_element_a_reply_is_what_the_decoder_makes_of_it() {
    for (wire, expected) in samples() {
        assert_eq!(reply(wire).len(), wire.len());
        assert_eq!(reply(wire).into_value().unwrap(), expected);
        let listed = reply(wire).into_list().unwrap();
        match (listed, expected.into_inner()) {
            (Listed::Elements(items), Value::Array(want) | Value::Set(want)) => {
                let got: Vec<Value> = items.collect::<Result<_>>().unwrap();
                assert_eq!(got, want, "{}", wire.escape_ascii());
            }
            (Listed::Other(got), want) => {
                assert_eq!(got.into_inner(), want, "{}", wire.escape_ascii());
            }
            (Listed::Elements(_), want) => panic!("{want:?} listed as elements"),
        }
    }
}

#[test]
fn attributes_on_the_reply_are_skipped() {
    let wire = b"|1\r\n+ttl\r\n*1\r\n:2\r\n*2\r\n:1\r\n$1\r\nx\r\n";
    assert_eq!(
        elements(wire),
        [Value::Int(1), Value::Bulk(Bytes::from_static(b"x"))]
    );
}

#[test]
fn error_replies_are_recognised() {
    for wire in [&b"-ERR no\r\n"[..], b"!6\r\nERR no\r\n"] {
        let reply = reply(wire);
        assert!(reply.is_error());
        let e = reply.server_error().unwrap().unwrap();
        assert_eq!((e.code(), e.detail()), ("ERR", "no"));
    }
    let ok = reply(b"*1\r\n-ERR inside\r\n");
    assert!(!ok.is_error());
    assert!(ok.server_error().unwrap().is_none());
}

#[test]
fn bulk_elements_share_the_frames_memory() {
    let frame = Bytes::from_static(b"*1\r\n$5\r\nhello\r\n").to_vec();
    let start = frame.as_ptr() as usize;
    let Listed::Elements(mut items) = WireReply::new(Bytes::from(frame)).into_list().unwrap()
    else {
        panic!("an array is listed");
    };
    match items.next() {
        Some(Ok(Value::Bulk(b))) => assert_eq!(b.as_ptr() as usize, start + 8),
        other => panic!("unexpected {other:?}"),
    }
    assert!(items.next().is_none());
}

#[test]
fn a_broken_frame_is_a_protocol_error() {
    for wire in [
        &b""[..],
        b"*2\r\n",
        b"*2\r\n:1\r\n",
        b"$5\r\nab",
        b"*1",
        b":1\r\n:2\r\n",
    ] {
        let err = reply(wire).into_value().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{}", wire.escape_ascii());
    }
    for wire in [&b"*x\r\n"[..], b"*1", b"|1\r\n+a\r\n"] {
        let err = reply(wire).into_list().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{}", wire.escape_ascii());
    }
    // An element that cannot be read ends the elements with its error.
    let Listed::Elements(mut items) = reply(b"*3\r\n:1\r\n#x\r\n:3\r\n").into_list().unwrap()
    else {
        panic!("an array is listed");
    };
    assert_eq!(items.next().unwrap().unwrap(), Value::Int(1));
    let err = items.next().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(items.next().is_none());
    // So does an array shorter than it says.
    let Listed::Elements(items) = reply(b"*3\r\n:1\r\n").into_list().unwrap() else {
        panic!("an array is listed");
    };
    let got: Vec<Result<Value>> = items.collect();
    assert!(matches!(&got[..], [Ok(Value::Int(1)), Err(_)]), "{got:?}");
}

#[test]
fn a_nil_or_a_map_is_not_listed() {
    for wire in [&b"*-1\r\n"[..], b"%1\r\n+a\r\n:1\r\n", b"+OK\r\n"] {
        assert!(matches!(reply(wire).into_list().unwrap(), Listed::Other(_)));
    }
}
