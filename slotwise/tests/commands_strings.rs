//! String commands against a real cluster node: values round-trip, SET's options really
//! apply, counters count, and the multi-key commands work within one slot. Every test runs
//! over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::node_exec::NodeExec;
use slotwise::commands::{
    Condition, Expiry, GetExOptions, KeyCommands, ServerCommands, SetOptions, StringCommands,
};
use slotwise::ErrorKind;

const TAG: &str = "cmdtest-strings";

#[tokio::test]
async fn get_set_round_trip_text_bytes_and_numbers() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("roundtrip");
        assert_eq!(node.get::<String>(&k).await.unwrap(), None, "fresh key");
        node.set(&k, "héllo").await.unwrap();
        assert_eq!(
            node.get::<String>(&k).await.unwrap().as_deref(),
            Some("héllo")
        );

        let binary = vec![0u8, 255, b'\r', b'\n', 7];
        node.set(&k, &binary[..]).await.unwrap();
        assert_eq!(node.get::<Vec<u8>>(&k).await.unwrap(), Some(binary.clone()));
        assert_eq!(
            node.get::<Bytes>(&k).await.unwrap(),
            Some(Bytes::from(binary))
        );

        node.set(&k, 42).await.unwrap();
        assert_eq!(node.get::<i64>(&k).await.unwrap(), Some(42));
        node.set(&k, 2.5).await.unwrap();
        assert_eq!(node.get::<f64>(&k).await.unwrap(), Some(2.5));
    }
}

#[tokio::test]
async fn set_conditions_and_expiries_apply() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("setopts");
        node.del(&k).await.unwrap();

        let nx = SetOptions::new().condition(Condition::Nx);
        let xx = SetOptions::new().condition(Condition::Xx);
        assert!(
            !node.set_options(&k, "x", &xx).await.unwrap(),
            "XX must not create a missing key"
        );
        assert_eq!(node.get::<String>(&k).await.unwrap(), None);
        assert!(node.set_options(&k, "first", &nx).await.unwrap());
        assert!(
            !node.set_options(&k, "second", &nx).await.unwrap(),
            "NX must not overwrite"
        );
        assert_eq!(
            node.get::<String>(&k).await.unwrap().as_deref(),
            Some("first")
        );
        assert!(node.set_options(&k, "third", &xx).await.unwrap());
        assert_eq!(
            node.get::<String>(&k).await.unwrap().as_deref(),
            Some("third")
        );

        let ex = SetOptions::new().expiry(Expiry::Ex(100));
        assert!(node.set_options(&k, "v", &ex).await.unwrap());
        let ttl = node.ttl(&k).await.unwrap();
        assert!((90..=100).contains(&ttl), "EX 100 gave TTL {ttl}");

        // KEEPTTL keeps it; a plain SET clears it.
        node.set_options(&k, "w", &SetOptions::new().keep_ttl(true))
            .await
            .unwrap();
        assert!(node.ttl(&k).await.unwrap() > 0, "KEEPTTL lost the TTL");
        node.set(&k, "w").await.unwrap();
        assert_eq!(node.ttl(&k).await.unwrap(), -1, "SET must clear the TTL");

        node.set_options(&k, "v", &SetOptions::new().expiry(Expiry::Px(50_000)))
            .await
            .unwrap();
        let pttl = node.pttl(&k).await.unwrap();
        assert!(
            (40_000..=50_000).contains(&pttl),
            "PX 50000 gave PTTL {pttl}"
        );

        // The server's clock, so a skewed local clock cannot fail the test.
        let (now, _) = node.time().await.unwrap();
        let at = now as u64 + 1000;
        node.set_options(&k, "v", &SetOptions::new().expiry(Expiry::ExAt(at)))
            .await
            .unwrap();
        assert_eq!(node.expiretime(&k).await.unwrap(), at as i64);
        node.set_options(
            &k,
            "v",
            &SetOptions::new().expiry(Expiry::PxAt(at * 1000 + 123)),
        )
        .await
        .unwrap();
        assert_eq!(
            node.pexpiretime(&k).await.unwrap(),
            (at * 1000 + 123) as i64
        );
    }
}

#[tokio::test]
async fn set_get_getdel_getex() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("getters");
        node.del(&k).await.unwrap();

        let old: Option<String> = node.set_get(&k, "a", &SetOptions::new()).await.unwrap();
        assert_eq!(old, None);
        let old: Option<String> = node.set_get(&k, "b", &SetOptions::new()).await.unwrap();
        assert_eq!(old.as_deref(), Some("a"));
        // NX with GET: not written, but the current value still comes back.
        let nx = SetOptions::new().condition(Condition::Nx);
        let old: Option<String> = node.set_get(&k, "c", &nx).await.unwrap();
        assert_eq!(old.as_deref(), Some("b"));
        assert_eq!(node.get::<String>(&k).await.unwrap().as_deref(), Some("b"));

        let ex = GetExOptions::new().expiry(Expiry::Ex(300));
        assert_eq!(
            node.getex::<String>(&k, &ex).await.unwrap().as_deref(),
            Some("b")
        );
        assert!(
            node.ttl(&k).await.unwrap() > 200,
            "GETEX EX did not set a TTL"
        );
        let persist = GetExOptions::new().persist(true);
        node.getex::<String>(&k, &persist).await.unwrap();
        assert_eq!(
            node.ttl(&k).await.unwrap(),
            -1,
            "GETEX PERSIST kept the TTL"
        );

        assert_eq!(
            node.getdel::<String>(&k).await.unwrap().as_deref(),
            Some("b")
        );
        assert_eq!(node.exists(&k).await.unwrap(), 0);
        assert_eq!(node.getdel::<String>(&k).await.unwrap(), None);
    }
}

#[tokio::test]
async fn counters() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("counter");
        node.del(&k).await.unwrap();
        assert_eq!(node.incr(&k).await.unwrap(), 1);
        assert_eq!(node.incrby(&k, 10).await.unwrap(), 11);
        assert_eq!(node.decr(&k).await.unwrap(), 10);
        assert_eq!(node.decrby(&k, 15).await.unwrap(), -5);
        assert_eq!(node.incrbyfloat(&k, 0.25).await.unwrap(), -4.75);

        node.set(&k, "not a number").await.unwrap();
        let err = node.incr(&k).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Response, "{err}");
    }
}

#[tokio::test]
async fn ranges_lengths_and_conditional_setters() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("text");
        node.del(&k).await.unwrap();
        assert_eq!(node.append(&k, "Hello").await.unwrap(), 5);
        assert_eq!(node.append(&k, " World").await.unwrap(), 11);
        assert_eq!(node.strlen(&k).await.unwrap(), 11);
        assert_eq!(node.getrange::<String>(&k, 0, 4).await.unwrap(), "Hello");
        assert_eq!(node.getrange::<String>(&k, -5, -1).await.unwrap(), "World");
        assert_eq!(node.setrange(&k, 6, "Redis").await.unwrap(), 11);
        assert_eq!(
            node.get::<String>(&k).await.unwrap().as_deref(),
            Some("Hello Redis")
        );
        let missing = node.key("text-missing");
        assert_eq!(node.getrange::<String>(&missing, 0, -1).await.unwrap(), "");
        assert_eq!(node.strlen(&missing).await.unwrap(), 0);

        let k = node.key("setnx");
        node.del(&k).await.unwrap();
        assert!(node.setnx(&k, "one").await.unwrap());
        assert!(!node.setnx(&k, "two").await.unwrap());
        assert_eq!(
            node.get::<String>(&k).await.unwrap().as_deref(),
            Some("one")
        );

        node.setex(&k, 60, "ex").await.unwrap();
        let ttl = node.ttl(&k).await.unwrap();
        assert!((50..=60).contains(&ttl), "SETEX 60 gave TTL {ttl}");
        node.psetex(&k, 30_000, "px").await.unwrap();
        let pttl = node.pttl(&k).await.unwrap();
        assert!((20_000..=30_000).contains(&pttl), "PSETEX gave PTTL {pttl}");
        assert_eq!(node.get::<String>(&k).await.unwrap().as_deref(), Some("px"));
    }
}

#[tokio::test]
async fn mget_mset_msetnx_in_one_slot() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, b, c) = (node.key("m-a"), node.key("m-b"), node.key("m-c"));
        node.del([&a, &b, &c]).await.unwrap();

        node.mset([(&a, "1"), (&b, "2")]).await.unwrap();
        let values: Vec<Option<String>> = node.mget([&a, &b, &c]).await.unwrap();
        assert_eq!(values, [Some("1".to_owned()), Some("2".to_owned()), None]);
        let numbers: Vec<Option<i64>> = node.mget([&a, &c]).await.unwrap();
        assert_eq!(numbers, [Some(1), None]);

        assert!(
            !node.msetnx([(&b, "x"), (&c, "3")]).await.unwrap(),
            "MSETNX must write nothing when one key exists"
        );
        assert_eq!(node.exists(&c).await.unwrap(), 0);
        node.del(&b).await.unwrap();
        assert!(node.msetnx([(&b, "x"), (&c, "3")]).await.unwrap());
        let values: Vec<String> = node.mget([&b, &c]).await.unwrap();
        assert_eq!(values, ["x", "3"]);
    }
}

#[tokio::test]
async fn lcs() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, b) = (node.key("lcs-a"), node.key("lcs-b"));
        node.mset([(&a, "ohmytext"), (&b, "mynewtext")])
            .await
            .unwrap();
        assert_eq!(node.lcs::<String>(&a, &b).await.unwrap(), "mytext");
        assert_eq!(node.lcs_len(&a, &b).await.unwrap(), 6);
    }
}
