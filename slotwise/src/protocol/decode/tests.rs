//! Tests of the RESP decoder: every type, partial input, limits and malformed frames.

use bytes::Bytes;

use super::*;
use crate::protocol::encode_value;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Every reply type, as wire bytes and the value it decodes to.
pub(super) fn samples() -> Vec<(&'static [u8], Value)> {
    vec![
        (b"+OK\r\n", Value::SimpleString(b("OK"))),
        (b"+\r\n", Value::SimpleString(b(""))),
        (
            b"-ERR unknown command\r\n",
            Value::Error(ServerError::new(b("ERR unknown command"))),
        ),
        (b":0\r\n", Value::Int(0)),
        (b":-9223372036854775808\r\n", Value::Int(i64::MIN)),
        (b":+12\r\n", Value::Int(12)),
        (b"$5\r\nhello\r\n", Value::Bulk(b("hello"))),
        (b"$0\r\n\r\n", Value::Bulk(b(""))),
        (b"$4\r\na\r\nb\r\n", Value::Bulk(b("a\r\nb"))),
        (b"$-1\r\n", Value::Nil),
        (b"*-1\r\n", Value::Nil),
        (b"_\r\n", Value::Nil),
        (b"*0\r\n", Value::Array(vec![])),
        (
            b"*3\r\n:1\r\n$1\r\nx\r\n*1\r\n+y\r\n",
            Value::Array(vec![
                Value::Int(1),
                Value::Bulk(b("x")),
                Value::Array(vec![Value::SimpleString(b("y"))]),
            ]),
        ),
        (
            b"%2\r\n+a\r\n:1\r\n+b\r\n%0\r\n",
            Value::Map(vec![
                (Value::SimpleString(b("a")), Value::Int(1)),
                (Value::SimpleString(b("b")), Value::Map(vec![])),
            ]),
        ),
        (
            b"~2\r\n:1\r\n:2\r\n",
            Value::Set(vec![Value::Int(1), Value::Int(2)]),
        ),
        (b",1.5\r\n", Value::Double(1.5)),
        (b",-0.25e2\r\n", Value::Double(-25.0)),
        (b",inf\r\n", Value::Double(f64::INFINITY)),
        (b",-inf\r\n", Value::Double(f64::NEG_INFINITY)),
        (b"#t\r\n", Value::Boolean(true)),
        (b"#f\r\n", Value::Boolean(false)),
        (
            b"(3492890328409238509324850943850943825024385\r\n",
            Value::BigNumber(b("3492890328409238509324850943850943825024385")),
        ),
        (b"(-12\r\n", Value::BigNumber(b("-12"))),
        (
            b"=15\r\ntxt:Some string\r\n",
            Value::Verbatim {
                format: *b"txt",
                text: b("Some string"),
            },
        ),
        (
            b"!21\r\nSYNTAX invalid syntax\r\n",
            Value::Error(ServerError::new(b("SYNTAX invalid syntax"))),
        ),
        (
            b">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n",
            Value::Push(vec![
                Value::SimpleString(b("message")),
                Value::SimpleString(b("ch")),
                Value::Bulk(b("hi")),
            ]),
        ),
        (
            b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
            Value::Attribute {
                attributes: vec![(
                    Value::SimpleString(b("key-popularity")),
                    Value::Map(vec![(Value::Bulk(b("a")), Value::Double(0.19))]),
                )],
                value: Box::new(Value::Array(vec![Value::Int(2039123), Value::Int(9543892)])),
            },
        ),
        (
            b"*2\r\n|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n:5\r\n",
            Value::Array(vec![
                Value::Attribute {
                    attributes: vec![(Value::SimpleString(b("ttl")), Value::Int(3))],
                    value: Box::new(Value::Bulk(b("v"))),
                },
                Value::Int(5),
            ]),
        ),
    ]
}

fn decode_all(input: &[u8]) -> Result<Vec<Value>> {
    let mut d = Decoder::new();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(v) = d.decode(&mut buf)? {
        out.push(v);
    }
    assert!(buf.is_empty(), "left over: {buf:?}");
    Ok(out)
}

#[test]
fn decodes_every_type() {
    for (wire, expected) in samples() {
        let got = decode_all(wire).unwrap();
        assert_eq!(
            got,
            std::slice::from_ref(&expected),
            "{}",
            wire.escape_ascii()
        );
    }
}

#[test]
fn nan_double() {
    let got = decode_all(b",nan\r\n").unwrap();
    assert!(matches!(got[..], [Value::Double(d)] if d.is_nan()));
}

#[test]
fn split_at_every_byte_boundary() {
    for (wire, expected) in samples() {
        for cut in 0..=wire.len() {
            let mut d = Decoder::new();
            let mut buf = BytesMut::from(&wire[..cut]);
            let first = d.decode(&mut buf).unwrap();
            if cut < wire.len() {
                assert_eq!(
                    first,
                    None,
                    "complete too early at {cut}: {}",
                    wire.escape_ascii()
                );
                buf.extend_from_slice(&wire[cut..]);
                let second = d.decode(&mut buf).unwrap();
                assert_eq!(second.as_ref(), Some(&expected), "cut {cut}");
            } else {
                assert_eq!(first.as_ref(), Some(&expected));
            }
            assert!(buf.is_empty());
            assert!(!d.is_mid_reply());
        }
    }
}

#[test]
fn one_byte_at_a_time_for_all_samples_in_one_stream() {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for (wire, value) in samples() {
        stream.extend_from_slice(wire);
        expected.push(value);
    }
    let mut d = Decoder::new();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for &byte in &stream {
        buf.extend_from_slice(&[byte]);
        while let Some(v) = d.decode(&mut buf).unwrap() {
            got.push(v);
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn round_trips_through_the_encoder() {
    for (_, value) in samples() {
        let mut out = BytesMut::new();
        encode_value(&value, &mut out);
        assert_eq!(decode_all(&out).unwrap(), [value]);
    }
}

#[test]
fn malformed_input_is_a_protocol_error() {
    let cases: &[&[u8]] = &[
        b"?what\r\n",
        b":12a\r\n",
        b":\r\n",
        b":99999999999999999999\r\n",
        b"$-2\r\n",
        b"$3\r\nabcd\r\n",
        b"$x\r\n",
        b"*-2\r\n",
        b"~-1\r\n",
        b"%-1\r\n",
        b"#x\r\n",
        b",abc\r\n",
        b",\r\n",
        b"(12a\r\n",
        b"(\r\n",
        b"=3\r\ntxt\r\n",
        b"_x\r\n",
        b"+OK\rX",
        b"+a\nb\r\n",
        b"-ERR a\nb\r\n",
    ];
    for case in cases {
        let err = decode_all(case).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{}", case.escape_ascii());
    }
}

#[test]
fn huge_declared_length_is_refused_without_allocating() {
    let mut d = Decoder::new();
    // 10 GiB declared: over the 512 MiB cap.
    let mut buf = BytesMut::from(&b"$10737418240\r\nabc"[..]);
    let err = d.decode(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("exceeds"), "{err}");
    assert!(buf.capacity() < 1024 * 1024);

    let mut d = Decoder::new().max_bulk_len(10);
    let mut buf = BytesMut::from(&b"$11\r\n"[..]);
    assert!(d.decode(&mut buf).is_err());
    let mut buf = BytesMut::from(&b"*11\r\n"[..]);
    let mut d = Decoder::new().max_bulk_len(10);
    assert!(d.decode(&mut buf).is_err());
}

#[test]
fn huge_aggregate_count_reserves_little() {
    let mut d = Decoder::new();
    let mut buf = BytesMut::from(&b"*500000000\r\n:1\r\n"[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), None);
    assert!(d.is_mid_reply());
    match &d.stack[0] {
        Partial::List { items, .. } => assert!(items.capacity() < 64),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn nesting_deeper_than_the_cap_is_refused() {
    let mut d = Decoder::new().max_depth(4);
    let mut buf = BytesMut::from(&b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"[..]);
    let err = d.decode(&mut buf).unwrap_err();
    assert!(err.to_string().contains("nested"), "{err}");
    let mut d = Decoder::new().max_depth(5);
    let mut buf = BytesMut::from(&b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"[..]);
    assert!(d.decode(&mut buf).unwrap().is_some());
}

#[test]
fn long_line_is_scanned_once() {
    let mut d = Decoder::new();
    let mut buf = BytesMut::from(&b"+aaaa"[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), None);
    assert_eq!(d.line_scan_from, 5);
    buf.extend_from_slice(b"bb\r");
    assert_eq!(d.decode(&mut buf).unwrap(), None);
    assert_eq!(d.line_scan_from, 7);
    buf.extend_from_slice(b"\n");
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Some(Value::SimpleString(b("aaaabb")))
    );
    assert_eq!(d.line_scan_from, 0);
}

#[test]
fn bulk_data_is_not_copied() {
    let mut buf = BytesMut::from(&b"$5\r\nhello\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let v = Decoder::new().decode(&mut buf).unwrap();
    match v {
        Some(Value::Bulk(data)) => assert_eq!(data.as_ptr() as usize, start + 4),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_huge_declared_length_reserves_little_until_the_data_comes() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&b"$536870912\r\nxxxxxxxx"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert!(
        buf.capacity() <= 2 * MIN_RESERVE_AHEAD,
        "reserved {} bytes for 20 received",
        buf.capacity()
    );
    // As the data comes, the room at most doubles what arrived.
    buf.extend_from_slice(&vec![b'x'; 1 << 20]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() <= 3 << 20, "reserved {}", buf.capacity());
}

#[test]
fn a_whole_reply_over_the_cap_is_refused() {
    // Ten elements of 26 bytes each, and headers: over a cap of 200, each element under it.
    let mut wire = b"*10\r\n".to_vec();
    for _ in 0..10 {
        wire.extend_from_slice(b"$20\r\n01234567890123456789\r\n");
    }
    let mut decoder = Decoder::new().max_reply_len(200);
    let err = decoder.decode(&mut BytesMut::from(&wire[..])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("longer than the limit"), "{err}");
    // The cap counts one reply: the same elements as separate replies pass.
    let mut decoder = Decoder::new().max_reply_len(200);
    let mut buf = BytesMut::new();
    for _ in 0..10 {
        buf.extend_from_slice(b"$20\r\n01234567890123456789\r\n");
    }
    for _ in 0..10 {
        assert!(decoder.decode(&mut buf).unwrap().is_some());
    }
    // And a reply under the cap arriving one byte at a time still decodes.
    let mut decoder = Decoder::new().max_reply_len(wire.len());
    let mut buf = BytesMut::new();
    let mut got = None;
    for byte in &wire {
        buf.extend_from_slice(&[*byte]);
        if let Some(v) = decoder.decode(&mut buf).unwrap() {
            got = Some(v);
        }
    }
    assert!(matches!(got, Some(Value::Array(items)) if items.len() == 10));
}
