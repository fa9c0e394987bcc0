//! Persistent clusters (the CLI's `cluster start`) outlive their `LocalCluster`, can be attached
//! to by base port, and are stopped by base port.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};

use slotwise_testkit::{LocalCluster, NodeState};

/// A base port whose two client ports and two bus ports (+10000) are free right now.
fn free_base_port() -> Option<u16> {
    let start = 20_000 + (std::process::id() % 10_000) as u16;
    (0..200u16)
        .map(|i| 20_000 + (start - 20_000 + i * 37) % 10_000)
        .find(|&base| {
            let ports = [base, base + 1, base + 10_000, base + 10_001];
            let held: Vec<_> = ports
                .iter()
                .filter_map(|&p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).ok())
                .collect();
            held.len() == ports.len()
        })
}

/// Stops the cluster even if an assertion fails, so no daemon outlives the test.
struct StopOnDrop(u16);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = LocalCluster::stop_persistent(self.0);
    }
}

#[test]
fn persistent_cluster_outlives_its_handle_until_stopped() {
    let base = free_base_port().expect("no free base port found");
    let _guard = StopOnDrop(base);
    let cluster = LocalCluster::builder()
        .primaries(1)
        .replicas(1)
        .base_port(base)
        .persistent(true)
        .start()
        .unwrap();
    assert!(cluster.is_persistent());
    assert_eq!(cluster.ports(), vec![base, base + 1]);
    drop(cluster);

    for port in [base, base + 1] {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "127.0.0.1:{port} must keep running after the handle is dropped"
        );
    }
    let again = LocalCluster::builder()
        .primaries(1)
        .replicas(1)
        .base_port(base)
        .persistent(true)
        .start()
        .unwrap_err();
    assert!(again.to_string().contains("already"), "{again}");

    let attached = LocalCluster::attach(base).unwrap();
    let nodes = attached.nodes().unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes.iter().all(|n| n.state == NodeState::Running),
        "{nodes:?}"
    );
    attached.wait_for_cluster_ok().unwrap();
    drop(attached);

    assert_eq!(LocalCluster::stop_persistent(base).unwrap(), 2);
    for port in [base, base + 1] {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "127.0.0.1:{port} must be stopped"
        );
    }
    assert_eq!(LocalCluster::stop_persistent(base).unwrap(), 0);
    assert!(LocalCluster::attach(base).is_err());
}
