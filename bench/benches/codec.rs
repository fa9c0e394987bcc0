//! The RESP codec of slotwise, side by side with two peers, in one criterion run:
//! `redis-protocol` (the codec under `fred`, in its RESP2 and RESP3 flavours) and `redis-rs`.
//!
//! Four groups, one per case: decoding a 16-byte bulk reply, decoding an array of 100 such bulk
//! strings, encoding `GET key`, encoding `SET key value`. Within a group every contender does the
//! same work, so the group's numbers compare directly (`bench/codec-ratios.sh` prints the ratios).
//!
//! How the work is made equal:
//! - Decoding: each iteration gets a fresh `BytesMut` holding exactly one reply, because the
//!   zero-copy decoders consume (split) the buffer they are given; `redis-rs` reads from a slice of
//!   the same buffer. Making and freeing that buffer is not timed, as a connection's read buffer
//!   lives on; dropping the decoded value is timed, as freeing what a decoder allocated is part of
//!   its cost. Decoder state that lives as long as a connection (slotwise's `Decoder`,
//!   redis-rs's `Parser`) is made once, as a client would.
//! - Encoding: each iteration builds the command from the same `&str`/`&[u8]` arguments and
//!   appends it to a write buffer that is cleared, not reallocated, as a connection's would be.
//!   For `redis-protocol` building the frame (an array of bulk strings, copying the arguments into
//!   `Bytes`) is part of the work, as that is what `fred` does for every command.
//!
//! This file does not check correctness beyond a one-off sanity check of each contender's output:
//! the codec's own tests and fuzz target do that.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion};
use redis_protocol::resp2::types::BytesFrame as Resp2Frame;
use redis_protocol::resp3::types::BytesFrame as Resp3Frame;
use redis_protocol::{resp2, resp3};
use slotwise::protocol::{Cmd, Decoder, Value};

/// The key of the encoding cases; 16 bytes, like the values.
const KEY: &str = "key:000000000001";
/// The value of `SET`, and the payload of every bulk string decoded.
const VALUE: &[u8; 16] = b"value:0000000001";
/// Elements in the array reply.
const ARRAY_LEN: usize = 100;

/// `$16\r\n<16 bytes>\r\n`.
fn bulk_reply() -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(b"$16\r\n");
    out.extend_from_slice(VALUE);
    out.extend_from_slice(b"\r\n");
    out
}

/// `*100\r\n` followed by 100 bulk replies.
fn array_reply() -> Vec<u8> {
    let bulk = bulk_reply();
    let mut out = Vec::with_capacity(8 + ARRAY_LEN * bulk.len());
    out.extend_from_slice(format!("*{ARRAY_LEN}\r\n").as_bytes());
    for _ in 0..ARRAY_LEN {
        out.extend_from_slice(&bulk);
    }
    out
}

/// Short runs: the point is the ratio between contenders, and the whole run should stay under a
/// minute on a 2-core machine.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(50);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_millis(1500));
}

/// Decodes `input` once with every contender and checks each got `expected` bulk strings (one
/// bare bulk string when `array` is false), so a broken contender cannot post a fast time.
fn sanity_check_decoders(input: &[u8], array: bool) {
    let expected = if array { ARRAY_LEN } else { 1 };

    let slotwise_count = match Decoder::new().decode(&mut BytesMut::from(input)) {
        Ok(Some(Value::Array(items))) if array => count_bulk(&items, |v| match v {
            Value::Bulk(b) => Some(b.as_ref()),
            _ => None,
        }),
        Ok(Some(Value::Bulk(b))) if !array => usize::from(b.as_ref() == VALUE),
        other => {
            eprintln!("slotwise decoded {other:?}");
            0
        }
    };
    assert_eq!(slotwise_count, expected, "slotwise decoded the wrong value");

    let resp2_count = match resp2::decode::decode_bytes_mut(&mut BytesMut::from(input)) {
        Ok(Some((Resp2Frame::Array(items), _, _))) if array => count_bulk(&items, |f| match f {
            Resp2Frame::BulkString(b) => Some(b.as_ref()),
            _ => None,
        }),
        Ok(Some((Resp2Frame::BulkString(b), _, _))) if !array => usize::from(b.as_ref() == VALUE),
        _ => 0,
    };
    assert_eq!(
        resp2_count, expected,
        "redis-protocol (RESP2) decoded the wrong value"
    );

    let resp3_count = match resp3::decode::complete::decode_bytes_mut(&mut BytesMut::from(input)) {
        Ok(Some((Resp3Frame::Array { data, .. }, _, _))) if array => {
            count_bulk(&data, |f| match f {
                Resp3Frame::BlobString { data, .. } => Some(data.as_ref()),
                _ => None,
            })
        }
        Ok(Some((Resp3Frame::BlobString { data, .. }, _, _))) if !array => {
            usize::from(data.as_ref() == VALUE)
        }
        _ => 0,
    };
    assert_eq!(
        resp3_count, expected,
        "redis-protocol (RESP3) decoded the wrong value"
    );

    let redis_count = match redis::Parser::new().parse_value(input) {
        Ok(redis::Value::Array(items)) if array => count_bulk(&items, |v| match v {
            redis::Value::BulkString(b) => Some(b.as_slice()),
            _ => None,
        }),
        Ok(redis::Value::BulkString(b)) if !array => usize::from(b == VALUE),
        _ => 0,
    };
    assert_eq!(redis_count, expected, "redis-rs decoded the wrong value");
}

/// How many of `items` are bulk strings holding [`VALUE`].
fn count_bulk<T>(items: &[T], as_bulk: impl Fn(&T) -> Option<&[u8]>) -> usize {
    items
        .iter()
        .filter(|item| as_bulk(item) == Some(&VALUE[..]))
        .count()
}

/// One decoding group: every contender decodes `input` from a fresh buffer per iteration.
fn bench_decode(c: &mut Criterion, name: &str, input: &[u8]) {
    let mut group = c.benchmark_group(name);
    configure(&mut group);
    // Each routine hands its buffer back, so criterion frees it after the timed region.
    let fresh = || {
        let mut buf = BytesMut::from(input);
        // A connection's read buffer is shared (refcounted) after its first split, and stays so;
        // splitting it off here once keeps that one-time promotion out of every iteration.
        drop(buf.split_to(0));
        buf
    };

    let mut decoder = Decoder::new();
    group.bench_function("slotwise", |b| {
        b.iter_batched(
            fresh,
            |mut buf| {
                let _ = black_box(decoder.decode(black_box(&mut buf)));
                buf
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("redis-protocol-resp2", |b| {
        b.iter_batched(
            fresh,
            |mut buf| {
                let _ = black_box(resp2::decode::decode_bytes_mut(black_box(&mut buf)));
                buf
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("redis-protocol-resp3", |b| {
        b.iter_batched(
            fresh,
            |mut buf| {
                let _ = black_box(resp3::decode::complete::decode_bytes_mut(black_box(
                    &mut buf,
                )));
                buf
            },
            BatchSize::SmallInput,
        )
    });

    let mut parser = redis::Parser::new();
    group.bench_function("redis-rs", |b| {
        b.iter_batched(
            fresh,
            |buf| {
                let _ = black_box(parser.parse_value(black_box(&buf[..])));
                buf
            },
            BatchSize::SmallInput,
        )
    });

    group.finish();
}

/// One encoding group: every contender builds the command from `args` and appends it to a
/// reused write buffer.
fn bench_encode(c: &mut Criterion, name: &str, command: &'static str, args: &[&[u8]]) {
    let mut group = c.benchmark_group(name);
    configure(&mut group);

    let mut buf = BytesMut::with_capacity(256);
    group.bench_function("slotwise", |b| {
        b.iter(|| {
            buf.clear();
            let mut cmd = Cmd::new(black_box(command));
            for arg in black_box(args) {
                cmd.push_arg(*arg);
            }
            cmd.encode(&mut buf);
            black_box(&buf);
        })
    });

    group.bench_function("redis-protocol-resp2", |b| {
        b.iter(|| {
            buf.clear();
            let mut frames = Vec::with_capacity(1 + args.len());
            frames.push(Resp2Frame::BulkString(Bytes::from_static(
                black_box(command).as_bytes(),
            )));
            for arg in black_box(args) {
                frames.push(Resp2Frame::BulkString(Bytes::copy_from_slice(arg)));
            }
            let frame = Resp2Frame::Array(frames);
            let _ = black_box(resp2::encode::extend_encode(&mut buf, &frame, false));
            black_box(&buf);
        })
    });

    group.bench_function("redis-protocol-resp3", |b| {
        b.iter(|| {
            buf.clear();
            let mut frames = Vec::with_capacity(1 + args.len());
            frames.push(Resp3Frame::BlobString {
                data: Bytes::from_static(black_box(command).as_bytes()),
                attributes: None,
            });
            for arg in black_box(args) {
                frames.push(Resp3Frame::BlobString {
                    data: Bytes::copy_from_slice(arg),
                    attributes: None,
                });
            }
            let frame = Resp3Frame::Array {
                data: frames,
                attributes: None,
            };
            let _ = black_box(resp3::encode::complete::extend_encode(
                &mut buf, &frame, false,
            ));
            black_box(&buf);
        })
    });

    let mut out: Vec<u8> = Vec::with_capacity(256);
    group.bench_function("redis-rs", |b| {
        b.iter(|| {
            out.clear();
            let mut cmd = redis::cmd(black_box(command));
            for arg in black_box(args) {
                cmd.arg(*arg);
            }
            cmd.write_packed_command(&mut out);
            black_box(&out);
        })
    });

    group.finish();
}

/// Encodes `command args…` once with every contender and checks all wrote the same bytes.
fn sanity_check_encoders(command: &'static str, args: &[&[u8]]) {
    let mut slotwise_buf = BytesMut::new();
    let mut cmd = Cmd::new(command);
    for arg in args {
        cmd.push_arg(*arg);
    }
    cmd.encode(&mut slotwise_buf);

    let mut frames = vec![Resp2Frame::BulkString(Bytes::from_static(
        command.as_bytes(),
    ))];
    frames.extend(
        args.iter()
            .map(|a| Resp2Frame::BulkString(Bytes::copy_from_slice(a))),
    );
    let mut resp2_buf = BytesMut::new();
    let resp2_ok = resp2::encode::extend_encode(&mut resp2_buf, &Resp2Frame::Array(frames), false);
    assert!(
        resp2_ok.is_ok(),
        "redis-protocol failed to encode: {resp2_ok:?}"
    );

    let mut redis_cmd = redis::cmd(command);
    for arg in args {
        redis_cmd.arg(*arg);
    }
    let redis_buf = redis_cmd.get_packed_command();

    assert_eq!(
        slotwise_buf.as_ref(),
        resp2_buf.as_ref(),
        "slotwise and redis-protocol encode {command} differently"
    );
    assert_eq!(
        slotwise_buf.as_ref(),
        redis_buf.as_slice(),
        "slotwise and redis-rs encode {command} differently"
    );
}

fn codec(c: &mut Criterion) {
    let bulk = bulk_reply();
    let array = array_reply();
    sanity_check_decoders(&bulk, false);
    sanity_check_decoders(&array, true);
    bench_decode(c, "decode_bulk16", &bulk);
    bench_decode(c, "decode_array100", &array);

    let get_args: [&[u8]; 1] = [KEY.as_bytes()];
    let set_args: [&[u8]; 2] = [KEY.as_bytes(), VALUE];
    sanity_check_encoders("GET", &get_args);
    sanity_check_encoders("SET", &set_args);
    bench_encode(c, "encode_get", "GET", &get_args);
    bench_encode(c, "encode_set", "SET", &set_args);
}

criterion_group!(benches, codec);
criterion_main!(benches);
