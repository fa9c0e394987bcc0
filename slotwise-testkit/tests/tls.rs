//! A TLS cluster: every node has a TLS port beside its plain one, the bus and replication run
//! over TLS (the replicas are in sync), the kit's calls and a slot migration work as without
//! TLS, and the certificates are deleted with the cluster.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use slotwise::protocol::{Cmd, Value};
use slotwise_testkit::LocalCluster;

#[test]
fn a_tls_cluster_forms_migrates_and_cleans_up() {
    let cluster = LocalCluster::builder()
        .primaries(2)
        .replicas(1)
        .tls(true)
        .start()
        .unwrap();
    let nodes = cluster.nodes().unwrap();
    let mut ports = BTreeSet::new();
    for node in &nodes {
        let tls_port = node
            .tls_port
            .expect("every node of a TLS cluster has a TLS port");
        assert_eq!(cluster.tls_port(node.port), Some(tls_port));
        assert!(ports.insert(node.port) && ports.insert(tls_port));
    }
    let first = cluster.ports()[0];
    assert_eq!(
        cluster.tls_seed_url(),
        Some(format!(
            "rediss://127.0.0.1:{}",
            cluster.tls_port(first).unwrap()
        ))
    );
    let info = cluster
        .call(first, &Cmd::new("CONFIG").arg("GET").arg("tls-cluster"))
        .unwrap();
    assert_eq!(
        info,
        Value::Array(vec![
            Value::Bulk("tls-cluster".into()),
            Value::Bulk("yes".into())
        ])
    );

    // MIGRATE goes from node to node over TLS.
    let slot = cluster.slot_of_key("{tls}").unwrap();
    let source = cluster.node_for_slot(slot).unwrap();
    let target = cluster.other_primary(source.port).unwrap();
    cluster
        .call(source.port, &Cmd::new("SET").arg("{tls}:k").arg("v"))
        .unwrap();
    assert_eq!(cluster.migrate_slot(slot, target.port).unwrap(), 1);
    assert_eq!(
        cluster
            .call(target.port, &Cmd::new("GET").arg("{tls}:k"))
            .unwrap(),
        Value::Bulk("v".into())
    );

    let files = cluster.tls_files().unwrap().clone();
    assert!(files
        .ca_pem()
        .unwrap()
        .starts_with(b"-----BEGIN CERTIFICATE-----"));
    assert!(files.cert().exists() && files.key().exists());
    drop(cluster);
    assert!(
        !files.dir().exists(),
        "{} was left behind",
        files.dir().display()
    );
}
