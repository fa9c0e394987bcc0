//! Property tests of the RESP codec: what the encoder writes, the decoder reads back, however the
//! bytes are split; and no input, however random, makes the decoder panic.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use slotwise::protocol::{encode_value, Decoder, ServerError, Value};

fn line_text() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..24,
    )
    .prop_map(Bytes::from)
}

fn blob() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        line_text().prop_map(Value::SimpleString),
        line_text()
            .prop_filter("non-empty error", |t| !t.is_empty())
            .prop_map(|t| Value::Error(ServerError::new(t))),
        any::<i64>().prop_map(Value::Int),
        blob().prop_map(Value::Bulk),
        any::<f64>()
            .prop_filter("NaN never equals itself", |d| !d.is_nan())
            .prop_map(Value::Double),
        any::<bool>().prop_map(Value::Boolean),
        ("-?[1-9][0-9]{0,40}").prop_map(|s| Value::BigNumber(Bytes::from(s))),
        ("[a-z]{3}", blob()).prop_map(|(f, text)| {
            let f = f.as_bytes();
            Value::Verbatim {
                format: [f[0], f[1], f[2]],
                text,
            }
        }),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            proptest::collection::vec(inner.clone(), 1..6).prop_map(Value::Push),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            (
                proptest::collection::vec((inner.clone(), inner.clone()), 0..3),
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
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_identity(v in value(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let mut wire = BytesMut::new();
        encode_value(&v, &mut wire);
        let wire = wire.freeze();
        // Feed the bytes in pieces at random cut points.
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        points.push(wire.len());
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        let mut from = 0;
        for to in points {
            buf.extend_from_slice(&wire[from..to]);
            from = to;
            if let Some(v) = decoder.decode(&mut buf).unwrap() {
                prop_assert!(got.is_none());
                got = Some(v);
            }
        }
        prop_assert_eq!(got, Some(v));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256), chunk in 1usize..17) {
        let mut decoder = Decoder::new().max_depth(16).max_bulk_len(1 << 16);
        let mut buf = BytesMut::new();
        'outer: for piece in data.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(_) => break 'outer,
                }
            }
        }
    }

    #[test]
    fn random_bytes_after_a_valid_type_byte_never_panic(
        tag in prop::sample::select(b"+-:$*%~,#(=!>|_".to_vec()),
        data in proptest::collection::vec(prop::sample::select(b"0123456789-+\r\n:$*abc".to_vec()), 0..64),
    ) {
        let mut decoder = Decoder::new().max_depth(8).max_bulk_len(1 << 12);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[tag]);
        buf.extend_from_slice(&data);
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }
}
