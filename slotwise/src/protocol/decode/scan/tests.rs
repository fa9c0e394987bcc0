//! Tests of the scanner: it finds exactly the frame the decoder would decode, however the bytes
//! are split, refuses what the decoder refuses about framing, and resumes where it stopped.

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::error::ErrorKind;
use crate::protocol::decode::tests::samples;
use crate::protocol::{encode_value, Value};

fn scanner() -> Scanner {
    Decoder::new().scanner()
}

#[test]
fn every_sample_is_found_whole_however_it_is_split() {
    for (wire, _) in samples() {
        for cut in 0..=wire.len() {
            let mut s = scanner();
            let first = s.scan(&wire[..cut]).unwrap();
            if cut < wire.len() {
                assert_eq!(first, None, "complete at {cut}: {}", wire.escape_ascii());
                assert_eq!(s.is_mid_frame(), cut > 0, "cut {cut}");
                assert_eq!(s.scan(wire).unwrap(), Some(wire.len()), "cut {cut}");
            } else {
                assert_eq!(first, Some(wire.len()), "{}", wire.escape_ascii());
            }
            assert!(!s.is_mid_frame());
        }
    }
}

#[test]
fn a_stream_fed_one_byte_at_a_time_gives_each_frame_in_turn() {
    let mut stream = Vec::new();
    let mut lengths = Vec::new();
    for (wire, _) in samples() {
        stream.extend_from_slice(wire);
        lengths.push(wire.len());
    }
    let mut s = scanner();
    let mut buf = BytesMut::new();
    let mut found = Vec::new();
    for &byte in &stream {
        buf.extend_from_slice(&[byte]);
        while let Some(len) = s.scan(&buf).unwrap() {
            let _ = buf.split_to(len);
            found.push(len);
        }
    }
    assert_eq!(found, lengths);
    assert!(buf.is_empty());
}

#[test]
fn bytes_after_a_frame_are_not_part_of_it() {
    let mut s = scanner();
    assert_eq!(s.scan(b"*2\r\n:1\r\n:2\r\n+next\r\n").unwrap(), Some(12));
    assert_eq!(s.scan(b"+next\r\n").unwrap(), Some(7));
}

#[test]
fn nested_aggregates_close_together() {
    // Arrays, a map, a set and a push, closing at once at the end.
    let wire = b"*2\r\n%1\r\n+k\r\n*1\r\n~1\r\n>1\r\n*1\r\n:1\r\n$1\r\nz\r\n";
    let mut s = scanner();
    assert_eq!(s.scan(wire).unwrap(), Some(wire.len()));
    // Nil and empty aggregates are whole elements.
    let wire = b"*4\r\n*-1\r\n*0\r\n%0\r\n|0\r\n:7\r\n";
    assert_eq!(scanner().scan(wire).unwrap(), Some(wire.len()));
}

#[test]
fn a_frame_in_pieces_is_resumed_not_rescanned() {
    let mut wire = b"*1000\r\n".to_vec();
    for i in 0..1000 {
        wire.extend_from_slice(format!("$4\r\n{i:04}\r\n").as_bytes());
    }
    let mut s = scanner();
    let half = wire.len() / 2;
    assert_eq!(s.scan(&wire[..half]).unwrap(), None);
    // Everything before the element cut in two is behind it for good.
    let element = 10;
    assert_eq!(s.offset, 7 + (half - 7) / element * element);
    assert_eq!(s.open, [1000 - (half - 7) / element]);
    assert_eq!(s.scan(&wire).unwrap(), Some(wire.len()));
}

#[test]
fn a_long_line_is_looked_through_once() {
    let mut s = scanner();
    assert_eq!(s.scan(b"*1\r\n+aaaa").unwrap(), None);
    assert_eq!((s.offset, s.line_scan_from), (4, 5));
    assert_eq!(s.scan(b"*1\r\n+aaaabb\r").unwrap(), None);
    assert_eq!(s.line_scan_from, 7);
    assert_eq!(s.scan(b"*1\r\n+aaaabb\r\n").unwrap(), Some(13));
}

#[test]
fn malformed_framing_is_a_protocol_error() {
    let cases: &[&[u8]] = &[
        b"?what\r\n",
        b"$-2\r\n",
        b"$3\r\nabcd\r\n",
        b"$x\r\n",
        b"*-2\r\n",
        b"~-1\r\n",
        b"%-1\r\n",
        b"|-1\r\n",
        b"*1\r\n$3\r\nabcd\r\n",
        b"+OK\rX",
        b"+a\nb\r\n",
        b"-ERR a\nb\r\n",
        b"*1\r\n*2\r\n:1\r\n?\r\n",
    ];
    for case in cases {
        let err = scanner().scan(case).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{}", case.escape_ascii());
    }
}

#[test]
fn the_decoders_caps_are_kept() {
    // A bulk or aggregate length over the bulk cap, refused before its data comes.
    let mut s = Decoder::new().max_bulk_len(10).scanner();
    let err = s.scan(b"*1\r\n$11\r\n").unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
    let err = Decoder::new().max_bulk_len(10).scanner().scan(b"*11\r\n");
    assert!(err.unwrap_err().to_string().contains("exceeds"));
    // A line longer than the bulk cap, refused before its end comes.
    let err = Decoder::new()
        .max_bulk_len(10)
        .scanner()
        .scan(b"+0123456789a");
    assert!(err.unwrap_err().to_string().contains("line longer"));
    // Nesting past the depth cap.
    let nested = b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
    let err = Decoder::new().max_depth(4).scanner().scan(nested);
    assert!(err.unwrap_err().to_string().contains("nested"));
    let found = Decoder::new().max_depth(5).scanner().scan(nested).unwrap();
    assert_eq!(found, Some(nested.len()));
    // A whole reply over the reply cap, refused as soon as its header says so.
    let mut wire = b"*10\r\n".to_vec();
    for _ in 0..10 {
        wire.extend_from_slice(b"$20\r\n01234567890123456789\r\n");
    }
    let mut s = Decoder::new().max_reply_len(200).scanner();
    let err = s.scan(&wire).unwrap_err();
    assert!(err.to_string().contains("longer than the limit"), "{err}");
    let err = Decoder::new()
        .max_reply_len(100)
        .scanner()
        .scan(b"*1\r\n$536870000\r\n");
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("longer than the limit"));
    let found = Decoder::new()
        .max_reply_len(wire.len())
        .scanner()
        .scan(&wire);
    assert_eq!(found.unwrap(), Some(wire.len()));
}

#[test]
fn a_huge_declared_count_costs_nothing_until_its_elements_come() {
    let mut s = scanner();
    assert_eq!(s.scan(b"*500000000\r\n:1\r\n").unwrap(), None);
    assert_eq!(s.open, [499_999_999]);
}

fn leaf() -> impl Strategy<Value = Value> {
    let text = "[a-z0-9 ]{0,12}".prop_map(bytes::Bytes::from);
    let blob = proptest::collection::vec(any::<u8>(), 0..24).prop_map(bytes::Bytes::from);
    prop_oneof![
        Just(Value::Nil),
        text.clone().prop_map(Value::SimpleString),
        any::<i64>().prop_map(Value::Int),
        blob.clone().prop_map(Value::Bulk),
        any::<bool>().prop_map(Value::Boolean),
        (-1e9f64..1e9).prop_map(Value::Double),
        blob.prop_map(|text| Value::Verbatim {
            format: *b"txt",
            text
        }),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Set),
            proptest::collection::vec(inner.clone(), 1..5).prop_map(Value::Push),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..3).prop_map(Value::Map),
            (
                proptest::collection::vec((inner.clone(), inner.clone()), 0..2),
                inner
            )
                .prop_map(|(attributes, value)| Value::Attribute {
                    attributes,
                    value: Box::new(value)
                }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Scanning what the encoder wrote finds exactly its length, cut anywhere and followed by
    /// anything.
    #[test]
    fn an_encoded_value_is_found_to_its_last_byte(
        v in value(),
        cut in any::<prop::sample::Index>(),
        after in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut wire = BytesMut::new();
        encode_value(&v, &mut wire);
        let len = wire.len();
        wire.extend_from_slice(&after);
        let cut = cut.index(len);
        let mut s = scanner();
        prop_assert_eq!(s.scan(&wire[..cut]).unwrap(), None);
        prop_assert_eq!(s.scan(&wire).unwrap(), Some(len));
    }

    /// Whatever the bytes, the scanner returns (a length within them, a wait or an error)
    /// and does not panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(Some(len)) = scanner().scan(&bytes) {
            prop_assert!(len <= bytes.len());
        }
    }
}
