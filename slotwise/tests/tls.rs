//! TLS against real TLS nodes: every node of the test kit's TLS clusters listens on a plain and a
//! TLS port, with the bus and replication over TLS. A `rediss://` client with the cluster's CA
//! serves every shard on the TLS ports only (and `MOVED` names them); mutual TLS fails clearly
//! without a client certificate and works with one; a certificate that does not match the name
//! or the trusted roots fails clearly, naming the node; a failover and a slot migration under
//! load pass with no error and every value right.
//!
//! The tests that inject no fault share one TLS cluster; each fault test, and the mutual-TLS
//! one (its nodes are set up differently), has its own.
#![cfg(feature = "tls")]
// Test helpers outside #[test] functions may unwrap and print too: a failure is a test failure,
// and what they measured goes in reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::faults::{slots_of, victim_and_heir};
use common::load::{Load, Report};
use common::SLACK;
use slotwise::commands::{ServerCommands, StringCommands};
use slotwise::connection::TlsConfig;
use slotwise::{ErrorKind, RedisCluster, Target};
use slotwise_testkit::LocalCluster;

/// The TLS cluster shared by the tests that inject no fault.
fn shared() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| LocalCluster::builder().tls(true).start().unwrap())
}

/// The cluster's CA, the only root a client of it trusts.
fn ca(cluster: &LocalCluster) -> Vec<u8> {
    cluster.tls_files().unwrap().ca_pem().unwrap()
}

/// A client through the cluster's `rediss://` seed, trusting its CA.
async fn client(cluster: &LocalCluster) -> RedisCluster {
    RedisCluster::builder()
        .url(&cluster.tls_seed_url().unwrap())
        .tls(TlsConfig::from_ca_pem(&ca(cluster)).unwrap())
        .build()
        .await
        .unwrap()
}

/// The TLS ports of every node, and their plain ones.
fn ports(cluster: &LocalCluster) -> (BTreeSet<u16>, BTreeSet<u16>) {
    let nodes = cluster.nodes().unwrap();
    let tls = nodes.iter().map(|n| n.tls_port.unwrap()).collect();
    let plain = nodes.iter().map(|n| n.port).collect();
    (tls, plain)
}

/// Builds a client with `tls` against the cluster's seed and returns its error and how long
/// the build took.
async fn failed_build(cluster: &LocalCluster, tls: TlsConfig) -> (slotwise::Error, Duration) {
    let started = Instant::now();
    let result = RedisCluster::builder()
        .url(&cluster.tls_seed_url().unwrap())
        .tls(tls)
        .build()
        .await;
    let took = started.elapsed();
    match result {
        Ok(_) => panic!("the build succeeded, expected a TLS failure"),
        Err(e) => (e, took),
    }
}

/// A bound no failed build may pass: the startup timeout (10 s by default) plus slack. A
/// certificate error is final at once; the bound only shows the build does not hang.
const BUILD_BOUND: Duration = Duration::from_secs(10).saturating_add(SLACK);

#[tokio::test]
async fn a_rediss_client_serves_every_shard_on_the_tls_ports() {
    let cluster = shared();
    let client = client(cluster).await;
    let (tls_ports, plain_ports) = ports(cluster);

    let keys: Vec<String> = (0..64).map(|i| format!("tls:basic:{i}")).collect();
    for key in &keys {
        client.set(key, format!("v-{key}")).await.unwrap();
    }
    for key in &keys {
        let got: Option<String> = client.get(key).await.unwrap();
        assert_eq!(got, Some(format!("v-{key}")), "{key}");
    }
    let served: BTreeSet<u16> = keys
        .iter()
        .map(|k| client.get_node_from_key(k, false).unwrap().port())
        .collect();
    let primaries: BTreeSet<u16> = client.get_primaries().iter().map(|n| n.port()).collect();
    assert_eq!(served, primaries, "the keys cover every shard");

    let dbsize = client.dbsize().await.unwrap();
    assert!(dbsize >= 64, "DBSIZE summed over the primaries: {dbsize}");
    let pong: String = client
        .cmd("PING")
        .target(Target::Primaries)
        .query()
        .await
        .unwrap();
    assert_eq!(pong, "PONG");

    let known: BTreeSet<u16> = client.get_nodes().iter().map(|n| n.port()).collect();
    assert_eq!(
        known, tls_ports,
        "the client knows every node by its TLS port (plain ports: {plain_ports:?})"
    );
}

#[tokio::test]
async fn moved_over_tls_names_the_tls_port() {
    let cluster = shared();
    let client = client(cluster).await;
    let (tls_ports, _) = ports(cluster);
    let key = "tls:moved";
    let owner = client.get_node_from_key(key, false).unwrap();
    let other = client
        .get_primaries()
        .into_iter()
        .find(|n| n.port() != owner.port())
        .unwrap();
    let e = client
        .node_client(&other)
        .unwrap()
        .get::<Option<String>>(key)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Moved, "{e}");
    let redirect = e.redirect().unwrap();
    assert_eq!(redirect.port, owner.port(), "{e}");
    assert!(tls_ports.contains(&redirect.port), "{e}");
}

#[test]
fn the_blocking_client_works_over_tls() {
    let cluster = shared();
    let client = slotwise::blocking::RedisCluster::builder()
        .url(&cluster.tls_seed_url().unwrap())
        .tls(TlsConfig::from_ca_pem(&ca(cluster)).unwrap())
        .build()
        .unwrap();
    client.set("tls:blocking", "b").unwrap();
    let got: Option<String> = client.get("tls:blocking").unwrap();
    assert_eq!(got.as_deref(), Some("b"));
}

#[tokio::test]
async fn a_certificate_for_another_name_fails_naming_the_node() {
    let cluster = shared();
    let seed = cluster.tls_seed_url().unwrap();
    let node = seed.trim_start_matches("rediss://");
    let tls = TlsConfig::from_ca_pem(&ca(cluster))
        .unwrap()
        .server_name("wrong.example");
    let (e, took) = failed_build(cluster, tls).await;
    let text = e.to_string();
    println!("wrong name: {text} (after {took:?})");
    assert!(took < BUILD_BOUND, "the build took {took:?}: {text}");
    assert_eq!(e.kind(), ErrorKind::NoReachableNode, "{text}");
    assert!(text.contains(node), "the error names {node}: {text}");
    assert!(text.contains("wrong.example"), "the error says why: {text}");
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_fails_naming_the_node() {
    let cluster = shared();
    let seed = cluster.tls_seed_url().unwrap();
    let node = seed.trim_start_matches("rediss://");
    // The public web's roots did not sign the kit's certificate.
    let (e, took) = failed_build(cluster, TlsConfig::with_web_roots().unwrap()).await;
    let text = e.to_string();
    println!("untrusted CA: {text} (after {took:?})");
    assert!(took < BUILD_BOUND, "the build took {took:?}: {text}");
    assert_eq!(e.kind(), ErrorKind::NoReachableNode, "{text}");
    assert!(text.contains(node), "the error names {node}: {text}");
    assert!(
        text.to_ascii_lowercase().contains("issuer"),
        "the error says why: {text}"
    );
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() {
    let cluster = LocalCluster::builder()
        .primaries(1)
        .replicas(0)
        .tls(true)
        .tls_auth_clients(true)
        .start()
        .unwrap();
    let seed = cluster.tls_seed_url().unwrap();
    let node = seed.trim_start_matches("rediss://");
    let files = cluster.tls_files().unwrap();

    let (e, took) = failed_build(&cluster, TlsConfig::from_ca_pem(&ca(&cluster)).unwrap()).await;
    let text = e.to_string();
    println!("no client certificate: {text} (after {took:?})");
    assert!(took < BUILD_BOUND, "the build took {took:?}: {text}");
    assert_eq!(e.kind(), ErrorKind::NoReachableNode, "{text}");
    assert!(text.contains(node), "the error names {node}: {text}");
    assert!(
        text.to_ascii_lowercase().contains("certificate"),
        "the error says why: {text}"
    );

    let tls = TlsConfig::from_ca_pem_with_client_auth(
        &files.ca_pem().unwrap(),
        &files.cert_pem().unwrap(),
        &files.key_pem().unwrap(),
    )
    .unwrap();
    let client = RedisCluster::builder()
        .url(&seed)
        .tls(tls)
        .build()
        .await
        .unwrap();
    client.set("tls:mutual", "m").await.unwrap();
    let got: Option<String> = client.get("tls:mutual").await.unwrap();
    assert_eq!(got.as_deref(), Some("m"));
}

/// Asserts a load saw no error, no wrong value and no lost write.
fn assert_clean(what: &str, report: &Report) {
    assert!(report.ok > 0, "{what}: no call succeeded");
    assert!(
        report.errors.is_empty(),
        "{what}: {} errors: {:?}",
        report.error_count,
        &report.errors[..report.errors.len().min(5)]
    );
    assert!(
        report.wrong.is_empty(),
        "{what}: wrong values: {:?}",
        report.wrong
    );
    assert_eq!(report.stale, 0, "{what}: acknowledged writes lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_over_tls_under_load() {
    let cluster = Arc::new(LocalCluster::builder().tls(true).start().unwrap());
    let (old, heir) = victim_and_heir(&cluster, 1);
    let client = client(&cluster).await;
    let load = Load::start(&client, 8, |t| {
        (0..8).map(|i| format!("tls:fo:{t}:{i}")).collect()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.mark(slots_of(&old));
    {
        let cluster = Arc::clone(&cluster);
        let heir = heir.port;
        tokio::task::spawn_blocking(move || cluster.failover(heir).unwrap())
            .await
            .unwrap();
    }
    let (old_tls, heir_tls) = (old.tls_port.unwrap(), heir.tls_port.unwrap());
    let converge_by = Instant::now() + SLACK;
    loop {
        let primaries: Vec<u16> = client.get_primaries().iter().map(|n| n.port()).collect();
        if primaries.contains(&heir_tls) && !primaries.contains(&old_tls) {
            break;
        }
        assert!(
            Instant::now() < converge_by,
            "{SLACK:?} after the failover the client takes {primaries:?} for the primaries \
             (expected {heir_tls}, not {old_tls})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A little more load on the new topology.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = load.stop().await;
    println!(
        "failover over TLS: {} ok, {} errors, longest call {:?}, longest stall {:?}; stats {:?}",
        report.ok,
        report.error_count,
        report.longest,
        report.max_gap,
        client.stats()
    );
    assert_clean("failover", &report);
    assert!(
        report.ok_times.iter().any(|t| *t > converge_by - SLACK),
        "the failed-over slots were not served after the failover"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migration_over_tls_under_load() {
    let cluster = Arc::new(
        LocalCluster::builder()
            .replicas(0)
            .tls(true)
            .start()
            .unwrap(),
    );
    let client = client(&cluster).await;
    let slot = RedisCluster::keyslot("{tlsmig}");
    let source = cluster.node_for_slot(slot).unwrap();
    let target = cluster.other_primary(source.port).unwrap();
    let fill: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("{{tlsmig}}:fill:{i}"), format!("v{i}")))
        .collect();
    client.mset(&fill).await.unwrap();

    let load = Load::start(&client, 8, |t| vec![format!("{{tlsmig}}:task:{t}")]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.mark([slot]);
    let moved = {
        let cluster = Arc::clone(&cluster);
        let client = client.clone();
        let to = target.port;
        tokio::task::spawn_blocking(move || {
            let mut migration = cluster.begin_migration(slot, to).unwrap();
            let mut moved = 0;
            while migration.keys_left().unwrap() > 0 {
                moved += migration.move_keys(200).unwrap();
            }
            // Every key is on the target while the slot is still the source's: each call on
            // it now goes through ASK, to the target's TLS port.
            let ask_by = Instant::now() + SLACK;
            while client.stats().ask == 0 {
                assert!(
                    Instant::now() < ask_by,
                    "no ASK within {SLACK:?} of moving every key"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            moved + migration.finish().unwrap()
        })
        .await
        .unwrap()
    };
    // A little more load on the new owner.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = load.stop().await;
    let stats = client.stats();
    println!(
        "migration over TLS: {moved} keys moved; {} ok, {} errors, longest call {:?}, longest \
         stall {:?}; stats {stats:?}",
        report.ok, report.error_count, report.longest, report.max_gap
    );
    assert_clean("migration", &report);
    assert!(
        stats.moved > 0,
        "the MOVED path was not exercised: {stats:?}"
    );
    assert_eq!(
        client.get_node_from_key("{tlsmig}", false).unwrap().port(),
        target.tls_port.unwrap(),
        "the slot's new owner, by its TLS port"
    );
    let got: Vec<Option<String>> = client
        .mget(["{tlsmig}:fill:0", "{tlsmig}:fill:1999"])
        .await
        .unwrap();
    assert_eq!(got, [Some("v0".to_owned()), Some("v1999".to_owned())]);
}
