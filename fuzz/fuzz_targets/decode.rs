//! Fuzzes the RESP decoder with arbitrary bytes arriving in arbitrary chunks.
//!
//! The first two bytes of the input seed the chunking; the rest is the byte stream. The target
//! checks three properties:
//! - the decoder never panics, whatever the bytes (an error is a fine answer);
//! - chunking does not matter: feeding the stream piece by piece yields the same values, and ends
//!   in an error exactly when decoding the whole stream at once does;
//! - every decoded value survives `encode_value` and a second decode unchanged (values holding a
//!   NaN are skipped there, since NaN is not equal to itself).
//!
//! It does not look at what the values mean: conversions and server errors are tested elsewhere.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use slotwise::protocol::{encode_value, Decoder, Value};

/// How a decoding run ended.
#[derive(Debug, PartialEq)]
enum End {
    /// Ran out of bytes (possibly in the middle of a frame).
    NeedMore,
    /// The decoder rejected the stream.
    Failed,
}

fuzz_target!(|data: &[u8]| {
    let (seed, stream) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => return,
    };

    let (whole_values, whole_end) = decode_whole(stream);
    let (chunked_values, chunked_end) = decode_chunked(stream, Chunks::new(seed));

    assert_eq!(
        chunked_end, whole_end,
        "chunked and whole decoding ended differently"
    );
    if whole_values.iter().any(has_nan) {
        assert_eq!(
            chunked_values.len(),
            whole_values.len(),
            "chunked and whole decoding gave different numbers of values"
        );
    } else {
        assert_eq!(
            chunked_values, whole_values,
            "chunked and whole decoding gave different values"
        );
    }
    for value in &whole_values {
        check_round_trip(value);
    }
});

/// Decodes `stream` given all at once.
fn decode_whole(stream: &[u8]) -> (Vec<Value>, End) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(stream);
    let mut values = Vec::new();
    let end = drain(&mut decoder, &mut buf, &mut values);
    (values, end)
}

/// Decodes `stream` fed in pieces whose sizes come from `chunks`, decoding after each piece as a
/// connection would after each read.
fn decode_chunked(mut stream: &[u8], mut chunks: Chunks) -> (Vec<Value>, End) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut values = Vec::new();
    while !stream.is_empty() {
        let (piece, rest) = stream.split_at(chunks.next_len().min(stream.len()));
        stream = rest;
        buf.extend_from_slice(piece);
        if drain(&mut decoder, &mut buf, &mut values) == End::Failed {
            return (values, End::Failed);
        }
    }
    (values, End::NeedMore)
}

/// Decodes every complete frame in `buf`.
fn drain(decoder: &mut Decoder, buf: &mut BytesMut, values: &mut Vec<Value>) -> End {
    loop {
        match decoder.decode(buf) {
            Ok(Some(value)) => values.push(value),
            Ok(None) => return End::NeedMore,
            Err(_) => return End::Failed,
        }
    }
}

/// Encodes `value` and decodes it back with a fresh decoder.
fn check_round_trip(value: &Value) {
    let mut encoded = BytesMut::new();
    encode_value(value, &mut encoded);
    let wire = encoded.clone();

    let decoded = match Decoder::new().decode(&mut encoded) {
        Ok(Some(decoded)) => decoded,
        other => panic!("re-decoding {value:?} from {wire:?} gave {other:?}"),
    };
    assert!(
        encoded.is_empty(),
        "re-decoding {value:?} from {wire:?} left {encoded:?} unread"
    );
    if !has_nan(value) {
        assert_eq!(
            &decoded, value,
            "round trip through {wire:?} changed the value"
        );
    }
}

/// True when `value` holds a NaN double anywhere inside it.
fn has_nan(value: &Value) -> bool {
    match value {
        Value::Double(d) => d.is_nan(),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => items.iter().any(has_nan),
        Value::Map(pairs) => pairs.iter().any(|(k, v)| has_nan(k) || has_nan(v)),
        Value::Attribute { attributes, value } => {
            attributes.iter().any(|(k, v)| has_nan(k) || has_nan(v)) || has_nan(value)
        }
        _ => false,
    }
}

/// Chunk lengths drawn from a small generator seeded by the input, so a crash replays exactly.
///
/// Mostly tiny pieces (1 to 7 bytes), where the resumption corners are (a length split across
/// reads, a CRLF split in two), with an occasional large one so long streams finish quickly.
struct Chunks {
    state: u32,
}

impl Chunks {
    fn new(seed: u16) -> Chunks {
        // A zero state would make xorshift32 return zero forever.
        Chunks {
            state: u32::from(seed) << 1 | 1,
        }
    }

    fn next_len(&mut self) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let r = self.state as usize;
        // The low three bits pick the kind of piece, the next eight the size of a large one.
        match r & 7 {
            0 => 1 + (r >> 3 & 0xff),
            small => small,
        }
    }
}
