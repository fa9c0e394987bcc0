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

        // No keys: empty results, without a round trip (cluster_multikey.rs checks that
        // nothing reaches a server).
        {
            use slotwise::commands::KeyCommands;
            let none: Vec<String> = Vec::new();
            let values: Vec<Option<String>> = $call!(c.mget_nonatomic(&none));
            assert!(values.is_empty(), "{values:?}");
            $call!(c.mset_nonatomic::<String, String>(&[]));
            assert_eq!($call!(c.del(&none)), 0);
            assert_eq!($call!(c.exists(&none)), 0);
            assert_eq!($call!(c.unlink(&none)), 0);
            assert_eq!($call!(c.touch(&none)), 0);
        }

        // An atomic command across slots is refused before anything is sent.
        let err = $call_err!(c
            .cmd("MSET")
            .arg([k("x"), "1".into(), k("y"), "2".into()])
            .query::<()>());
        assert!(err.is_cross_slot(), "{err}");

        // Direct node access. Other tests write to the shared cluster meanwhile, so the total
        // to compare with is taken after the node's count.
        let node = c.get_primaries()[0].clone();
        let node_keys = $call!(c.node_client(&node).unwrap().dbsize());
        let total = $call!(c.target(slotwise::Target::Primaries).dbsize());
        assert!(
            node_keys <= total,
            "{node_keys} keys on one node, {total} in all"
        );

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

/// Pipelines and transactions; `$p` prefixes every key.
#[allow(unused_macros)]
macro_rules! pipeline_cases {
    ($c:expr, $p:expr, $call:ident, $call_err:ident) => {{
        use slotwise::commands::{KeyCommands, ServerCommands, StringCommands};
        use slotwise::protocol::Cmd;
        let c = $c;
        let p: &str = $p;
        let k = |s: &str| format!("{p}:{s}");

        // A pipeline over keys in every slot: replies in queue order, typed by their method.
        let pipe = c.pipeline();
        assert!(!pipe.is_transaction() && pipe.is_empty());
        let keys: Vec<String> = (0..100).map(|i| k(&format!("pipe{i}"))).collect();
        let sets: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| pipe.set(key.as_str(), i))
            .collect();
        let gets: Vec<_> = keys
            .iter()
            .map(|key| pipe.get::<i64>(key.as_str()))
            .collect();
        let first = pipe.incr(k("count"));
        let second = pipe.incr(k("count"));
        let set_text = pipe.set(k("text"), "words");
        // One command failing does not fail the others.
        let wrong = pipe.incr(k("text"));
        // DBSIZE runs on every primary, after everything queued before it.
        let size = pipe.dbsize();
        let exists = pipe.exists(keys.clone());
        let text = pipe.get::<String>(k("text"));
        let raw = pipe.add(Cmd::new("STRLEN").arg(k("text")));
        // No keys: 0 for the pipeline too, without sending a DEL.
        let none = pipe.del(Vec::<String>::new());
        assert_eq!(pipe.len(), 209);
        let mut replies = $call!(pipe.run());
        assert_eq!(replies.len(), 209);
        for set in sets {
            replies.take(set).unwrap();
        }
        replies.take(set_text).unwrap();
        assert_eq!(replies.take(none).unwrap(), 0);
        for (i, get) in gets.into_iter().enumerate() {
            assert_eq!(replies.take(get).unwrap(), Some(i as i64));
        }
        assert_eq!(replies.take(first).unwrap(), 1);
        assert_eq!(replies.take(second).unwrap(), 2);
        let err = replies.take(wrong).unwrap_err();
        assert!(err.is_server_error(), "{err}");
        assert_eq!(err.command(), Some("INCR"));
        assert!(replies.take(size).unwrap() >= 102);
        assert_eq!(replies.take(exists).unwrap(), 100);
        assert_eq!(replies.take(text).unwrap().as_deref(), Some("words"));
        assert_eq!(
            replies.take(raw).unwrap(),
            slotwise::protocol::Value::Int(5)
        );

        // Every reply at once, as a tuple.
        let pipe = c.pipeline();
        let _ = pipe.set(k("t1"), "one");
        let _ = pipe.get::<String>(k("t1"));
        let _ = pipe.del(k("t1"));
        let (set, got, deleted): ((), Option<String>, i64) = $call!(pipe.run()).query().unwrap();
        assert_eq!((set, got.as_deref(), deleted), ((), Some("one"), 1));
        assert!($call!(c.pipeline().run()).is_empty());

        // An atomic command across slots is refused before anything is sent.
        let pipe = c.pipeline();
        let _ = pipe.set(k("never"), 1);
        let _ = pipe.add(Cmd::new("MSET").arg([k("x"), "1".into(), k("y"), "2".into()]));
        let err = $call_err!(pipe.run());
        assert!(err.is_cross_slot(), "{err}");
        assert_eq!($call!(c.exists(k("never"))), 0);

        // SELECT is refused before anything is sent, in a pipeline as in a transaction.
        for pipe in [c.pipeline(), c.transaction()] {
            let _ = pipe.set(k("never"), 1);
            let _ = pipe.add(Cmd::new("SELECT").arg(1));
            let err = $call_err!(pipe.run());
            assert_eq!(err.kind(), slotwise::ErrorKind::Unsupported, "{err}");
        }
        assert_eq!($call!(c.exists(k("never"))), 0);

        // DEL of no keys is answered without sending, which a transaction cannot do.
        let tx = c.transaction();
        let _ = tx.set(k("never"), 1);
        let _ = tx.del(Vec::<String>::new());
        let err = $call_err!(tx.run());
        assert_eq!(err.kind(), slotwise::ErrorKind::InvalidInput, "{err}");
        assert_eq!($call!(c.exists(k("never"))), 0);

        // On a handle that reads from replicas, a read queued after a write on its slot sees it.
        let ro = c.readonly();
        for round in 0..20 {
            let pipe = ro.pipeline();
            let key = k(&format!("ro{}", round % 4));
            let set = pipe.set(key.as_str(), round);
            let read = pipe.get::<i64>(key.as_str());
            let mut replies = $call!(pipe.run());
            replies.take(set).unwrap();
            assert_eq!(replies.take(read).unwrap(), Some(round));
        }

        // A transaction on one slot (the keys share a hash tag).
        let (a, b) = (k("{tx}:a"), k("{tx}:b"));
        let tx = c.transaction();
        assert!(tx.is_transaction());
        let _ = tx.set(a.as_str(), 10);
        let _ = tx.decrby(a.as_str(), 3);
        let _ = tx.incrby(b.as_str(), 3);
        let _ = tx.get::<i64>(a.as_str());
        let replies: ((), i64, i64, Option<i64>) = $call!(tx.run()).query().unwrap();
        assert_eq!(replies, ((), 7, 3, Some(7)));

        // A command failing while the transaction runs fails alone; the rest ran.
        let tx = c.transaction();
        let _ = tx.set(a.as_str(), "text");
        let failed = tx.incr(a.as_str());
        let ran = tx.incr(b.as_str());
        let mut replies = $call!(tx.run());
        assert!(replies.take(failed).unwrap_err().is_server_error());
        assert_eq!(replies.take(ran).unwrap(), 4);

        // A command the server refuses to queue: nothing of the transaction runs.
        let tx = c.transaction();
        let _ = tx.set(k("{tx}:c"), 1);
        let _ = tx.add(Cmd::new("SET").arg(k("{tx}:d")));
        let err = $call_err!(tx.run());
        assert!(err.is_server_error(), "{err}");
        assert!(err.to_string().contains("nothing of it ran"), "{err}");
        assert_eq!($call!(c.exists(k("{tx}:c"))), 0);

        // Keys in two slots are refused before anything is sent.
        let tx = c.transaction();
        let _ = tx.set(k("{tx}:e"), 1);
        let _ = tx.set(k("{other}:f"), 1);
        let err = $call_err!(tx.run());
        assert!(err.is_cross_slot(), "{err}");
        assert!(err.to_string().contains("hash tag"), "{err}");
        assert_eq!($call!(c.exists(k("{tx}:e"))), 0);

        // So are commands that would run on several nodes.
        let tx = c.transaction();
        let _ = tx.dbsize();
        let err = $call_err!(tx.run());
        assert_eq!(err.kind(), slotwise::ErrorKind::Unsupported, "{err}");

        // Check-and-set: WATCH, read, then a transaction on the watching connection.
        let n = k("{cas}:n");
        $call!(c.set(n.as_str(), 5));
        let watch = $call!(c.watch(n.as_str()));
        assert_eq!(watch.slot(), slotwise::RedisCluster::keyslot(&n));
        let read: Option<i64> = $call!(watch.get(n.as_str()));
        let tx = watch.transaction();
        let set = tx.set(n.as_str(), read.unwrap() + 1);
        $call!(tx.run()).take(set).unwrap();
        assert_eq!($call!(c.get::<i64>(n.as_str())), Some(6));
        // EXEC ended the WATCH: the watch is used up.
        let again = watch.transaction();
        let _ = again.set(n.as_str(), 0);
        let err = $call_err!(again.run());
        assert_eq!(err.kind(), slotwise::ErrorKind::InvalidInput, "{err}");
        let err = $call_err!(watch.get::<i64>(n.as_str()));
        assert_eq!(err.kind(), slotwise::ErrorKind::InvalidInput, "{err}");
        assert_eq!($call!(c.get::<i64>(n.as_str())), Some(6));

        // A watched key changed by another caller: nothing of the transaction runs.
        let watch = $call!(c.watch(n.as_str()));
        let _: Option<i64> = $call!(watch.get(n.as_str()));
        $call!(c.set(n.as_str(), 100));
        let tx = watch.transaction();
        let _ = tx.set(n.as_str(), 7);
        let _ = tx.set(k("{cas}:other"), 7);
        let err = $call_err!(tx.run());
        assert_eq!(err.kind(), slotwise::ErrorKind::Aborted, "{err}");
        assert_eq!($call!(c.get::<i64>(n.as_str())), Some(100));
        assert_eq!($call!(c.exists(k("{cas}:other"))), 0);

        // Watched keys share one slot, and so does everything sent on the watch.
        let err = $call_err!(c.watch([k("{cas}:a"), k("{other}:b")]));
        assert!(err.is_cross_slot(), "{err}");
        let watch = $call!(c.watch(n.as_str()));
        let err = $call_err!(watch.get::<String>(k("{other}:b")));
        assert!(err.is_cross_slot(), "{err}");
        // Writes go in the transaction, not on the watch.
        let err = $call_err!(watch.set(n.as_str(), 1));
        assert_eq!(err.kind(), slotwise::ErrorKind::Unsupported, "{err}");
        let tx = watch.transaction();
        let _ = tx.set(k("{other}:b"), 1);
        let err = $call_err!(tx.run());
        assert!(err.is_cross_slot(), "{err}");
    }};
}

#[allow(unused_imports)]
pub(crate) use pipeline_cases;

/// Lua scripts; `$p` prefixes every key.
#[allow(unused_macros)]
macro_rules! script_cases {
    ($c:expr, $p:expr, $call:ident, $call_err:ident) => {{
        use slotwise::protocol::Value;
        use slotwise::Script;
        let c = $c;
        let p: &str = $p;
        let k = |s: &str| format!("{p}:{s}");
        let none: [&str; 0] = [];

        // The first call finds no node with the script cached (NOSCRIPT), sends EVAL, and
        // from then on EVALSHA finds it.
        let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
        let _: Value = $call!(c
            .cmd("SCRIPT")
            .arg("FLUSH")
            .target(slotwise::Target::AllNodes)
            .query());
        assert_eq!($call!(c.eval_script::<i64>(&add, k("{s}n"), 5)), 5);
        assert_eq!($call!(c.eval_script::<i64>(&add, k("{s}n"), 5)), 10);
        // The SHA1 is the one the server computes.
        assert_eq!($call!(c.load_script(&add)), add.sha1());

        // Several keys in one slot; keys in two slots are refused before sending.
        let both = Script::new("return redis.call('MSET', KEYS[1], ARGV[1], KEYS[2], ARGV[2])");
        let _: Value = $call!(c.eval_script(&both, [k("{s}a"), k("{s}b")], ["1", "2"]));
        let err = $call_err!(c.eval_script::<Value>(&both, [k("{s}a"), k("{t}b")], ["1", "2"]));
        assert!(err.is_cross_slot(), "{err}");

        // A read-only script: on the primary, and through a handle that reads from replicas.
        let get = Script::new("return redis.call('GET', KEYS[1])").read_only();
        let v: Option<String> = $call!(c.eval_script(&get, k("{s}a"), none));
        assert_eq!(v.as_deref(), Some("1"));
        let v: Option<String> = $call!(c.readonly().eval_script(&get, k("{s}a"), none));
        assert!(v.is_none() || v.as_deref() == Some("1"), "{v:?}");

        // A failing script is the server's error, not a retry.
        let bad = Script::new("return redis.call('NO_SUCH_COMMAND')");
        let err = $call_err!(c.eval_script::<Value>(&bad, k("{s}a"), none));
        assert!(err.is_server_error(), "{err}");

        // In a pipeline, beside other commands.
        let pipe = c.pipeline();
        let n = pipe.eval_script::<i64>(&add, k("{s}n"), 1);
        let other = pipe.eval_script::<i64>(&add, k("elsewhere"), 2);
        let mut replies = $call!(pipe.run());
        assert_eq!(replies.take(n).unwrap(), 11);
        assert_eq!(replies.take(other).unwrap(), 2);
    }};
}

#[allow(unused_imports)]
pub(crate) use script_cases;
