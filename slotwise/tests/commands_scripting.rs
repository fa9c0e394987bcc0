//! Scripting and function commands against a real cluster: `EVAL`/`EVALSHA` and their
//! read-only forms, the script cache, function libraries on one node (load, list, call,
//! dump, restore, flush), and through the cluster client `FUNCTION LOAD` reaching every
//! primary so `FCALL` works on any key's slot. Node tests run over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::node_exec::NodeExec;
use slotwise::commands::{
    FlushMode, FunctionCommands, FunctionListOptions, RestorePolicy, ScriptingCommands,
    StringCommands,
};
use slotwise::protocol::{Cmd, Value};
use slotwise::{ErrorKind, RedisCluster};

const TAG: &str = "cmdtest-scripting";

/// No keys or no arguments.
const NONE: [&str; 0] = [];

#[tokio::test]
async fn eval_and_the_script_cache() {
    for node in NodeExec::each_protocol(TAG).await {
        let k = node.key("counter");
        node.set(&k, 10).await.unwrap();
        let add = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
        assert_eq!(node.eval::<i64>(add, &k, 5).await.unwrap(), 15);
        let read = "return redis.call('GET', KEYS[1])";
        assert_eq!(node.eval_ro::<String>(read, &k, NONE).await.unwrap(), "15");
        let refused = node.eval_ro::<i64>(add, &k, 1).await.unwrap_err();
        assert_eq!(
            refused.kind(),
            ErrorKind::Response,
            "a write in EVAL_RO: {refused}"
        );
        let table: Vec<String> = node
            .eval("return {ARGV[1], ARGV[2]}", NONE, ["a", "b"])
            .await
            .unwrap();
        assert_eq!(table, ["a", "b"]);

        let sha = node.script_load(add).await.unwrap();
        assert_eq!(sha.len(), 40);
        assert_eq!(node.evalsha::<i64>(&sha, &k, 1).await.unwrap(), 16);
        match node.script_show::<String>(&sha).await {
            Ok(source) => assert_eq!(source, add, "SCRIPT SHOW (Valkey 8)"),
            Err(e) => assert!(e.to_string().contains("nknown subcommand"), "{e}"),
        }
        let read_sha = node.script_load(read).await.unwrap();
        assert_eq!(
            node.evalsha_ro::<i64>(&read_sha, &k, NONE).await.unwrap(),
            16
        );
        let unknown = "0".repeat(40);
        assert_eq!(
            node.script_exists([&sha, &unknown]).await.unwrap(),
            [true, false]
        );
        let missing = node.evalsha::<i64>(&unknown, &k, 1).await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NoScript);
        let not_busy = node.script_kill().await.unwrap_err();
        assert_eq!(not_busy.kind(), ErrorKind::Response, "no script runs");
    }
}

/// Every library here has its own name, so the one-node and the cluster halves never undo
/// each other's; they run in one test because `FUNCTION FLUSH` and `RESTORE` touch them all.
#[tokio::test]
async fn function_libraries_on_a_node_and_on_every_primary() {
    for node in NodeExec::each_protocol(TAG).await {
        let proto = if node.key("").contains("resp2") {
            "r2"
        } else {
            "r3"
        };
        let lib = format!("lib_{proto}");
        let code = format!(
            "#!lua name={lib}\n\
             redis.register_function('{lib}_get', function(keys, args) \
               return redis.call('GET', keys[1]) end)\n\
             redis.register_function{{function_name='{lib}_ro', \
               callback=function(keys, args) return args[1] end, flags={{'no-writes'}}, \
               description='echoes'}}"
        );
        node.function_delete(&lib).await.ok();
        assert_eq!(node.function_load(&code).await.unwrap(), lib);
        let again = node.function_load(&code).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Response, "the library exists");
        assert_eq!(node.function_load_replace(&code).await.unwrap(), lib);

        let k = node.key("fn-key");
        node.set(&k, "v").await.unwrap();
        let got: Option<String> = node.fcall(format!("{lib}_get"), &k, NONE).await.unwrap();
        assert_eq!(got.as_deref(), Some("v"));
        let echoed: String = node.fcall_ro(format!("{lib}_ro"), &k, "x").await.unwrap();
        assert_eq!(echoed, "x");

        let listed = node
            .function_list(&FunctionListOptions::new().library(&lib).with_code(true))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].name.as_str(), listed[0].engine.as_str()),
            (lib.as_str(), "LUA")
        );
        assert_eq!(listed[0].code.as_deref(), Some(code.as_str()));
        let names: BTreeSet<&str> = listed[0]
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            names,
            [format!("{lib}_get").as_str(), format!("{lib}_ro").as_str()].into()
        );
        let ro = listed[0]
            .functions
            .iter()
            .find(|f| f.name.ends_with("_ro"))
            .unwrap();
        assert_eq!(
            (ro.description.as_deref(), ro.flags.clone()),
            (Some("echoes"), vec!["no-writes".to_owned()])
        );
        let bare = node.function_list(&FunctionListOptions::new().library(&lib));
        assert_eq!(bare.await.unwrap()[0].code, None);

        let stats: Value = node.function_stats().await.unwrap();
        assert!(!stats.is_nil());
        let not_busy = node.function_kill().await.unwrap_err();
        assert_eq!(not_busy.kind(), ErrorKind::Response, "no function runs");

        let dump = node.function_dump().await.unwrap();
        node.function_flush(FlushMode::Sync).await.unwrap();
        assert!(node
            .function_list(&FunctionListOptions::new())
            .await
            .unwrap()
            .is_empty());
        node.function_restore(&dump, RestorePolicy::Append)
            .await
            .unwrap();
        let clash = node.function_restore(&dump, RestorePolicy::Append).await;
        assert!(clash.is_err(), "APPEND refuses a library that exists");
        node.function_restore(&dump, RestorePolicy::Replace)
            .await
            .unwrap();
        node.function_restore(&dump, RestorePolicy::Flush)
            .await
            .unwrap();
        node.function_delete(&lib).await.unwrap();
        let gone = node.fcall::<String>(format!("{lib}_ro"), &k, "x").await;
        assert!(gone.is_err(), "deleted with its library");
    }

    every_primary().await;
}

/// `FUNCTION LOAD` through the cluster client reaches every primary, so `FCALL` works on a
/// key of each; `FUNCTION DELETE` removes it from all of them.
async fn every_primary() {
    let cluster = slotwise_testkit::shared();
    let client = RedisCluster::builder()
        .url(&cluster.seed_url())
        .build()
        .await
        .unwrap();
    let lib = "cluster_wide";
    let code = format!(
        "#!lua name={lib}\n\
         redis.register_function('cw_set', function(keys, args) \
           return redis.call('SET', keys[1], args[1]) end)"
    );
    assert_eq!(client.function_load_replace(&code).await.unwrap(), lib);

    let primaries = cluster.primaries().unwrap();
    for primary in &primaries {
        let list = cluster
            .call(
                primary.port,
                &Cmd::new(["FUNCTION", "LIST"]).arg("LIBRARYNAME").arg(lib),
            )
            .unwrap();
        assert!(
            matches!(&list, Value::Array(libs) if libs.len() == 1),
            "{lib} on the primary at {}: {list:?}",
            primary.port
        );
        // A key this primary owns.
        let key = (0..10_000)
            .map(|i| format!("{TAG}:fcall:{i}"))
            .find(|k| {
                let slot = cluster.slot_of_key(k).unwrap();
                cluster.node_for_slot(slot).unwrap().port == primary.port
            })
            .unwrap();
        let set: String = client.fcall("cw_set", &key, "here").await.unwrap();
        assert_eq!(set, "OK");
        assert_eq!(
            client.get::<String>(&key).await.unwrap().as_deref(),
            Some("here")
        );
    }

    // SCRIPT LOAD reaches every node too, so EVALSHA works on any key.
    let sha = client.script_load("return 7").await.unwrap();
    assert_eq!(client.script_exists([&sha]).await.unwrap(), [true]);

    client.function_delete(lib).await.unwrap();
    for primary in &primaries {
        let list = cluster
            .call(
                primary.port,
                &Cmd::new(["FUNCTION", "LIST"]).arg("LIBRARYNAME").arg(lib),
            )
            .unwrap();
        assert!(
            matches!(&list, Value::Array(libs) if libs.is_empty()),
            "{list:?}"
        );
    }
}
