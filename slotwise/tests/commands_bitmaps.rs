//! Bitmap, bit field and HyperLogLog commands against a real cluster node: single bits, counts
//! and positions in bytes and bits, BITOP, BITFIELD with overflow control, and approximate
//! distinct counts. Every test runs over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::node_exec::NodeExec;
use slotwise::commands::{
    BitFieldOps, BitOp, BitPosOptions, BitUnit, BitmapCommands, HyperLogLogCommands, KeyCommands,
    Overflow, StringCommands,
};

const TAG: &str = "cmdtest-bits";

#[tokio::test]
async fn bits_counts_and_positions() {
    for node in NodeExec::each_protocol(TAG).await {
        let b = node.key("bits");
        node.del(&b).await.unwrap();

        assert!(
            !node.setbit(&b, 7, true).await.unwrap(),
            "the bit was clear"
        );
        assert!(node.setbit(&b, 7, true).await.unwrap(), "now it is set");
        assert!(node.getbit(&b, 7).await.unwrap());
        assert!(!node.getbit(&b, 6).await.unwrap());
        assert!(!node.getbit(&b, 1000).await.unwrap(), "past the end");

        // "\x01\xff": bit 7, then bits 8..=15.
        node.set(&b, b"\x01\xff".to_vec()).await.unwrap();
        assert_eq!(node.bitcount(&b).await.unwrap(), 9);
        assert_eq!(
            node.bitcount_range(&b, 1, 1, BitUnit::Byte).await.unwrap(),
            8
        );
        assert_eq!(
            node.bitcount_range(&b, 0, 8, BitUnit::Bit).await.unwrap(),
            2
        );
        assert_eq!(node.bitpos(&b, true).await.unwrap(), 7);
        assert_eq!(node.bitpos(&b, false).await.unwrap(), 0);
        let second_byte = BitPosOptions::new().start(1);
        assert_eq!(
            node.bitpos_options(&b, true, &second_byte).await.unwrap(),
            8
        );
        let bits = BitPosOptions::new().start(9).end(15).unit(BitUnit::Bit);
        assert_eq!(node.bitpos_options(&b, false, &bits).await.unwrap(), -1);
    }
}

#[tokio::test]
async fn bitop_combines_values() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, c, d) = (node.key("op-a"), node.key("op-c"), node.key("op-d"));
        node.set(&a, b"\xf0".to_vec()).await.unwrap();
        node.set(&c, b"\x3c".to_vec()).await.unwrap();
        assert_eq!(node.bitop(BitOp::And, &d, [&a, &c]).await.unwrap(), 1);
        assert_eq!(node.get::<Vec<u8>>(&d).await.unwrap(), Some(vec![0x30]));
        node.bitop(BitOp::Or, &d, [&a, &c]).await.unwrap();
        assert_eq!(node.get::<Vec<u8>>(&d).await.unwrap(), Some(vec![0xfc]));
        node.bitop(BitOp::Xor, &d, [&a, &c]).await.unwrap();
        assert_eq!(node.get::<Vec<u8>>(&d).await.unwrap(), Some(vec![0xcc]));
        node.bitop(BitOp::Not, &d, &a).await.unwrap();
        assert_eq!(node.get::<Vec<u8>>(&d).await.unwrap(), Some(vec![0x0f]));
    }
}

#[tokio::test]
async fn bitfield_reads_writes_and_overflows() {
    for node in NodeExec::each_protocol(TAG).await {
        let f = node.key("fields");
        node.del(&f).await.unwrap();

        let ops = BitFieldOps::new()
            .set("u8", 0, 200)
            .incrby("u8", 0, 100)
            .get("u8", 0);
        assert_eq!(
            node.bitfield(&f, &ops).await.unwrap(),
            [Some(0), Some(44), Some(44)],
            "u8 wraps by default"
        );
        let sat = BitFieldOps::new()
            .overflow(Overflow::Sat)
            .incrby("u8", 0, 300);
        assert_eq!(node.bitfield(&f, &sat).await.unwrap(), [Some(255)]);
        let fail = BitFieldOps::new()
            .overflow(Overflow::Fail)
            .incrby("u8", 0, 1)
            .set("i4", "#2", -2);
        assert_eq!(
            node.bitfield(&f, &fail).await.unwrap(),
            [None, Some(0)],
            "FAIL: nil for the overflow, the write after it still runs"
        );
        let read = BitFieldOps::new().get("u8", 0).get("i4", "#2");
        assert_eq!(node.bitfield_ro(&f, &read).await.unwrap(), [255, -2]);
        let refused = node.bitfield_ro(&f, &BitFieldOps::new().set("u8", 0, 1));
        assert!(refused.await.is_err(), "BITFIELD_RO takes only GET");
    }
}

#[tokio::test]
async fn hyperloglog_counts_distinct_elements() {
    for node in NodeExec::each_protocol(TAG).await {
        let (h1, h2, all) = (node.key("hll-1"), node.key("hll-2"), node.key("hll-all"));
        node.del([&h1, &h2, &all]).await.unwrap();

        assert!(node.pfadd(&h1, ["a", "b", "c"]).await.unwrap());
        assert!(
            !node.pfadd(&h1, ["a", "b"]).await.unwrap(),
            "no new elements"
        );
        let none: [&str; 0] = [];
        assert!(node.pfadd(&h2, none).await.unwrap(), "creates an empty one");
        assert_eq!(node.pfcount(&h2).await.unwrap(), 0);
        node.pfadd(&h2, ["c", "d"]).await.unwrap();
        assert_eq!(node.pfcount(&h1).await.unwrap(), 3);
        assert_eq!(node.pfcount([&h1, &h2]).await.unwrap(), 4, "the union");
        node.pfmerge(&all, [&h1, &h2]).await.unwrap();
        assert_eq!(node.pfcount(&all).await.unwrap(), 4);
    }
}
