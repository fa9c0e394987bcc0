//! Test cases written once and run against both the async and the blocking client: each macro
//! takes the client and a `call!`-style macro that finishes a call (`.await` or nothing) and
//! unwraps it.

/// Typed commands, targets, multi-key splitting and errors; `$p` prefixes every key.
#[allow(unused_macros)] // Test binaries that do not run the cases still compile this file.
macro_rules! client_cases {
    ($c:expr, $p:expr, $call:ident, $call_err:ident) => {{
        use slotwise::commands::{HashCommands, ServerCommands, StringCommands};
        use slotwise::ClusterCommands;
        let c = $c;
        let p: &str = $p;
        let k = |s: &str| format!("{p}:{s}");

        // Strings and hashes on their slot's owner.
        $call!(c.set(k("s"), "v1"));
        let v: Option<String> = $call!(c.get(k("s")));
        assert_eq!(v.as_deref(), Some("v1"));
        assert_eq!($call!(c.incr(k("n"))), 1);
        $call!(c.hset(k("h"), [("f1", "a"), ("f2", "b")]));
        let all: std::collections::HashMap<String, String> = $call!(c.hgetall(k("h")));
        assert_eq!(all.len(), 2);

        // Targets: PING on every node merges to one PONG, DBSIZE sums over the primaries.
        assert_eq!($call!(c.target(slotwise::Target::AllNodes).ping()), "PONG");
        let total = $call!(c.target(slotwise::Target::Primaries).dbsize());
        assert!(total >= 3, "dbsize {total}");
        let pong: String = $call!(c.cmd("PING").target(slotwise::Target::Random).query());
        assert_eq!(pong, "PONG");

        // Keys in many slots: split, sent per node, back in order.
        let keys: Vec<String> = (0..200).map(|i| k(&format!("m{i}"))).collect();
        let pairs: Vec<(String, String)> = keys
            .iter()
            .map(|key| (key.clone(), format!("={key}")))
            .collect();
        $call!(c.mset_nonatomic(&pairs));
        let values: Vec<Option<String>> = $call!(c.mget_nonatomic(&keys));
        for (key, value) in keys.iter().zip(values) {
            assert_eq!(value, Some(format!("={key}")));
        }
        let deleted: i64 = $call!(c.cmd("DEL").arg(&keys).query());
        assert_eq!(deleted, 200);

        // An atomic command across slots is refused before anything is sent.
        let err = $call_err!(c
            .cmd("MSET")
            .arg([k("x"), "1".into(), k("y"), "2".into()])
            .query::<()>());
        assert!(err.is_cross_slot(), "{err}");

        // Direct node access.
        let node = c.get_primaries()[0].clone();
        let node_keys = $call!(c.node_client(&node).unwrap().dbsize());
        assert!(node_keys <= total);

        // A scan of the whole cluster finds every key, on every primary, once.
        let written: std::collections::BTreeSet<String> =
            (0..300).map(|i| k(&format!("scan{i}"))).collect();
        for key in &written {
            $call!(c.set(key.as_str(), "x"));
        }
        $call!(c.hset(k("scanhash"), [("f", "v")]));
        let options = slotwise::ScanOptions::new()
            .pattern(format!("{p}:scan*"))
            .count(1000);
        let found: Vec<bytes::Bytes> = $call!(c.scan(options.clone()).all_keys());
        let found_set: std::collections::BTreeSet<String> = found
            .iter()
            .map(|key| String::from_utf8_lossy(key).into_owned())
            .collect();
        assert_eq!(found.len(), found_set.len(), "a key came twice");
        assert!(found_set.contains(&k("scanhash")));
        assert_eq!(found_set.len(), written.len() + 1);
        assert!(written.is_subset(&found_set));
        let hashes: Vec<bytes::Bytes> = $call!(c.scan(options.key_type("hash")).all_keys());
        assert_eq!(hashes, vec![bytes::Bytes::from(k("scanhash"))]);

        // Reads from replicas after readonly().
        let ro = c.readonly();
        let v: Option<String> = $call!(ro.get(k("s")));
        assert!(v.is_none() || v.as_deref() == Some("v1"));
        assert_eq!(ro.readwrite().read_from(), slotwise::ReadFrom::Primary);
    }};
}

#[allow(unused_imports)] // Only the files that run the cases use it.
pub(crate) use client_cases;
