//! `slotwise nodes` and `slotwise cli` over TLS, against the test kit's TLS clusters (each node
//! with a plain and a TLS port): `--tls` with `--cacert` turns a `redis://` seed into TLS and
//! shows the nodes by their TLS ports, `rediss://` works the same, `--sni` with the wrong name
//! fails naming the node, `--cert` and `--key` pass mutual TLS, and TLS options without TLS are
//! usage errors.
#![cfg(feature = "tls")]
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

mod common;

use common::{slotwise, stderr, stdout};
use std::sync::OnceLock;

use slotwise_testkit::LocalCluster;

/// The TLS cluster every test here shares but the mutual-TLS one.
fn cluster() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| LocalCluster::builder().tls(true).start().unwrap())
}

/// `127.0.0.1:PORT` of the first node's TLS port, as a `redis://` URL and as a `rediss://` one.
fn seeds(cluster: &LocalCluster) -> (String, String) {
    let tls = cluster.tls_seed_url().unwrap();
    (tls.replacen("rediss://", "redis://", 1), tls)
}

fn ca_path(cluster: &LocalCluster) -> String {
    cluster.tls_files().unwrap().ca_cert().display().to_string()
}

/// The addresses in the first column of the `nodes` table.
fn listed(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|addr| addr.starts_with("127.0.0.1:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn nodes_with_tls_lists_every_node_by_its_tls_port() {
    let cluster = cluster();
    let (seed, _) = seeds(cluster);
    let ca = ca_path(cluster);
    let output = slotwise(&["nodes", "--tls", "--cacert", &ca, "-u", &seed]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let nodes = cluster.nodes().unwrap();
    let expected: BTreeSet<String> = nodes
        .iter()
        .filter_map(|n| n.tls_port)
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    assert_eq!(expected.len(), 6, "{nodes:?}");
    assert_eq!(listed(&out), expected, "{out}");
    // Every node answered DBSIZE over TLS, so no row has a `?`.
    assert!(!out.contains('?'), "{out}");
}

#[test]
fn cli_over_rediss_runs_commands() {
    let cluster = cluster();
    let (_, seed) = seeds(cluster);
    let ca = ca_path(cluster);
    let run = |words: &[&str]| {
        let mut args = vec!["cli", "--cacert", ca.as_str(), "-u", seed.as_str()];
        args.extend_from_slice(words);
        slotwise(&args)
    };
    let set = run(&["SET", "cli:tls", "over tls"]);
    assert_eq!(stdout(&set), "OK\n", "{}", stderr(&set));
    let get = run(&["GET", "cli:tls"]);
    assert_eq!(stdout(&get), "\"over tls\"\n", "{}", stderr(&get));
    let dbsize = run(&["DBSIZE"]);
    assert_eq!(dbsize.status.code(), Some(0), "{}", stderr(&dbsize));
}

#[test]
fn a_wrong_server_name_fails_naming_the_node() {
    let cluster = cluster();
    let (seed, _) = seeds(cluster);
    let ca = ca_path(cluster);
    let output = slotwise(&[
        "nodes",
        "--tls",
        "--cacert",
        &ca,
        "--sni",
        "wrong.example",
        "-u",
        &seed,
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let node = seed.trim_start_matches("redis://");
    assert!(err.contains(node) && err.contains("wrong.example"), "{err}");
}

#[test]
fn tls_options_without_tls_are_usage_errors() {
    let output = slotwise(&["nodes", "--cacert", "ca.crt", "-u", "redis://127.0.0.1:1"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("--cacert") && err.contains("--tls"), "{err}");
    let output = slotwise(&[
        "nodes",
        "--tls",
        "--cert",
        "c.crt",
        "-u",
        "redis://127.0.0.1:1",
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("--key"), "{err}");
}

#[test]
fn mutual_tls_with_cert_and_key() {
    // Two nodes: a lone node has never learned its own address and lists itself without a host.
    let cluster = LocalCluster::builder()
        .primaries(2)
        .replicas(0)
        .tls(true)
        .tls_auth_clients(true)
        .start()
        .unwrap();
    let (_, seed) = seeds(&cluster);
    let files = cluster.tls_files().unwrap();
    let (ca, cert, key) = (
        files.ca_cert().display().to_string(),
        files.cert().display().to_string(),
        files.key().display().to_string(),
    );
    let without = slotwise(&["nodes", "--cacert", &ca, "-u", &seed]);
    assert_eq!(without.status.code(), Some(1), "{}", stderr(&without));
    let with = slotwise(&[
        "nodes", "--cacert", &ca, "--cert", &cert, "--key", &key, "-u", &seed,
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    assert_eq!(listed(&stdout(&with)).len(), 2, "{}", stdout(&with));
    assert!(!stdout(&with).contains('?'), "{}", stdout(&with));
}
