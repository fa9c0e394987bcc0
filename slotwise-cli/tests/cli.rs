//! `slotwise cli` and `slotwise nodes` against a real cluster: every target kind, replies printed
//! as redis-cli prints them, error replies, a bad URL, an unreachable node, and the topology
//! table. All tests share one cluster (the test kit's shared one, on free ports), each with keys
//! of its own.

use std::process::Output;

mod common;

use common::{slotwise, stderr, stdout};

use slotwise::protocol::{Cmd, Value};
use slotwise_testkit::LocalCluster;

fn cluster() -> &'static LocalCluster {
    slotwise_testkit::shared()
}

/// Runs `slotwise cli -u <the shared cluster> ARGS…`.
fn cli(args: &[&str]) -> Output {
    let seed = cluster().seed_url();
    let mut all = vec!["cli", "-u", seed.as_str()];
    all.extend_from_slice(args);
    slotwise(&all)
}

/// Runs `slotwise cli`, asserts it succeeded, and returns stdout.
// Test helper: a failed command must fail the calling test.
#[allow(clippy::panic)]
fn ok(args: &[&str]) -> String {
    let output = cli(args);
    if !output.status.success() {
        panic!(
            "`slotwise cli {}` failed ({:?}): {}",
            args.join(" "),
            output.status,
            stderr(&output)
        );
    }
    stdout(&output)
}

/// The lines that start with a node address (`127.0.0.1:PORT …`).
fn node_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with("127.0.0.1:"))
        .collect()
}

#[test]
fn keyed_commands_are_routed_and_printed_like_redis_cli() {
    assert_eq!(ok(&["SET", "cli:keyed", "hello world"]), "OK\n");
    assert_eq!(ok(&["GET", "cli:keyed"]), "\"hello world\"\n");
    assert_eq!(ok(&["GET", "cli:keyed:missing"]), "(nil)\n");
    assert_eq!(ok(&["INCR", "cli:keyed:n"]), "(integer) 1\n");
    ok(&["RPUSH", "cli:keyed:list", "a", "b", "-c"]);
    assert_eq!(
        ok(&["LRANGE", "cli:keyed:list", "0", "-1"]),
        "1) \"a\"\n2) \"b\"\n3) \"-c\"\n"
    );
}

#[test]
fn role_targets_fan_out_and_print_one_line_per_node() {
    // Without a response policy, each node's reply is shown next to its name.
    let all = ok(&["--target", "all", "CLUSTER", "MYID"]);
    assert_eq!(node_lines(&all).len(), 6, "six nodes expected in:\n{all}");
    assert!(all.lines().all(|l| l.contains(" => \"")), "{all}");

    let replicas = ok(&["--target", "replicas", "ROLE"]);
    let lines = node_lines(&replicas);
    assert_eq!(lines.len(), 3, "three replicas expected in:\n{replicas}");
    assert!(
        lines.iter().all(|l| l.ends_with("=> 1) \"slave\"")),
        "{replicas}"
    );

    // With one, the replies are merged: PING succeeds once for all primaries.
    assert_eq!(ok(&["--target", "primaries", "PING"]), "PONG\n");
    let keys = ok(&["--target", "primaries", "DBSIZE"]);
    assert!(keys.starts_with("(integer) "), "{keys}");
}

#[test]
fn single_node_targets_print_that_node_reply() {
    let ids = ok(&["--target", "all", "CLUSTER", "MYID"]);
    for target in ["random", "default"] {
        let id = ok(&["--target", target, "CLUSTER", "MYID"]);
        assert!(
            id.starts_with('"') && id.ends_with("\"\n"),
            "{target}: {id}"
        );
        assert!(
            ids.contains(id.trim_end()),
            "{target}: {id} not among\n{ids}"
        );
    }
    let node = cluster().replicas().unwrap()[0].addr();
    let info = ok(&["--target", &node, "INFO", "server"]);
    let port = node.rsplit(':').next().unwrap();
    assert!(
        info.lines().any(|l| l == format!("tcp_port:{port}")),
        "INFO should come raw from {node}:\n{info}"
    );
}

#[test]
fn readonly_reads_go_to_a_replica() {
    let key = "cli:readonly";
    ok(&["SET", key, "from-the-primary"]);
    let slot = cluster().slot_of_key(key).unwrap();
    let primary = cluster().node_for_slot(slot).unwrap();
    let replica = cluster()
        .replicas()
        .unwrap()
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(primary.id.as_str()))
        .unwrap();
    cluster()
        .call(primary.port, &Cmd::new("WAIT").arg(1).arg(2000))
        .unwrap();
    let gets_before = gets(replica.port);
    assert_eq!(ok(&["--readonly", "GET", key]), "\"from-the-primary\"\n");
    assert!(
        gets(replica.port) > gets_before,
        "the GET did not reach the replica {}",
        replica.addr()
    );
}

/// How many GETs the node at `port` has run.
// Test helper: an unreadable answer must fail the calling test.
#[allow(clippy::panic, clippy::unwrap_used)]
fn gets(port: u16) -> u64 {
    let Value::Bulk(text) = cluster()
        .call(port, &Cmd::new("INFO").arg("commandstats"))
        .unwrap()
    else {
        panic!("INFO is a bulk string");
    };
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[test]
fn error_replies_exit_1_with_the_message_on_stderr() {
    let output = cli(&["NOSUCHCOMMAND", "x"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    assert!(
        stderr(&output).starts_with("(error) ERR unknown command"),
        "{}",
        stderr(&output)
    );

    ok(&["SET", "cli:wrongtype", "x"]);
    let output = cli(&["LPUSH", "cli:wrongtype", "y"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("(error) WRONGTYPE"),
        "{}",
        stderr(&output)
    );

    // Refused by the client before sending: not a server reply, but a failure all the same.
    let output = cli(&["MSET", "cli:a", "1", "cli:b", "2"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("different slots"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bad_url_is_a_usage_error() {
    for url in [
        "not a url",
        "http://127.0.0.1:7000",
        "redis://127.0.0.1:7000/3",
    ] {
        let output = slotwise(&["cli", "-u", url, "PING"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{url}: {err}");
        assert!(
            err.contains("URL") && err.contains("redis://HOST:PORT"),
            "{url}: the message should say what is wrong and what is expected: {err}"
        );
    }
}

#[test]
fn an_unreachable_cluster_lists_the_nodes_tried() {
    // Port 1 is privileged and never a Redis server here: connecting is refused at once.
    let output = slotwise(&[
        "cli",
        "-u",
        "redis://127.0.0.1:1",
        "-u",
        "redis://127.0.0.1:2",
        "PING",
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("127.0.0.1:1") && err.contains("127.0.0.1:2") && err.contains("tried"),
        "expected both nodes tried in: {err}"
    );

    let output = cli(&["--target", "127.0.0.1:1", "PING"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not a node of this cluster") && err.contains(&cluster().addrs()[0]),
        "expected the cluster's nodes in: {err}"
    );
}

#[test]
fn nodes_prints_the_topology_with_key_counts() {
    ok(&["SET", "cli:nodes:a", "1"]);
    let seed = cluster().seed_url();
    let output = slotwise(&["nodes", "-u", &seed]);
    let out = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(out.contains("NODE") && out.contains("KEYS"), "{out}");
    let rows = out
        .lines()
        .filter(|l| l.trim_start().starts_with("127.0.0.1:"))
        .collect::<Vec<_>>();
    let primaries = rows.iter().filter(|l| l.contains(" primary ")).count();
    let replicas = rows.iter().filter(|l| l.contains(" replica ")).count();
    assert_eq!((primaries, replicas), (3, 3), "{out}");
    assert!(out.contains("0-") && out.contains("-16383"), "{out}");
    // Every node answered DBSIZE, so no row has a `?`.
    assert!(!out.contains('?'), "{out}");
}

#[test]
fn rust_log_shows_which_node_served_and_never_the_password() {
    let seed = cluster().seed_url();
    let key = "cli:traced";
    let owner = cluster()
        .node_for_slot(slotwise::RedisCluster::keyslot(key))
        .unwrap()
        .port;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slotwise"))
        .args(["cli", "-u", seed.as_str(), "GET", key])
        .env("RUST_LOG", "slotwise=debug")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("slotwise.command"), "{err}");
    assert!(
        err.contains(&format!("node=\"127.0.0.1:{owner}\"")),
        "{err}"
    );
    assert!(err.contains("attempts=1"), "{err}");
    assert!(!err.contains('\u{1b}'), "colours on a pipe: {err}");
    // A refused password shows nowhere, traces included.
    let port = cluster().nodes().unwrap()[0].port;
    let url = format!("redis://someone:s3cr3t-traced@127.0.0.1:{port}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slotwise"))
        .args(["cli", "-u", url.as_str(), "GET", key])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(!output.status.success());
    for text in [stdout(&output), stderr(&output)] {
        assert!(!text.contains("s3cr3t-traced"), "{text}");
    }
}
