//! Starting clusters: the shared default cluster forms quickly, is healthy and covers every
//! slot; accessors describe it; dropping a cluster kills its servers; a Valkey cluster gives each
//! node the options given for it.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::time::Duration;

use slotwise::protocol::{Cmd, Value};
use slotwise_testkit::{LocalCluster, NodeState, Role};

#[test]
fn default_cluster_forms_quickly_and_covers_every_slot() {
    let cluster = slotwise_testkit::shared();
    let took = cluster.startup_time();
    println!("3 primaries + 3 replicas healthy in {took:.2?}");
    assert!(
        took < Duration::from_secs(30),
        "expected the cluster within 30 s, took {took:?}"
    );

    let nodes = cluster.nodes().unwrap();
    assert_eq!(nodes.len(), 6, "expected 6 nodes, got {nodes:#?}");
    for node in &nodes {
        assert_eq!(node.state, NodeState::Running);
        let info = cluster
            .call(node.port, &Cmd::new("CLUSTER").arg("INFO"))
            .unwrap();
        let text = String::from_utf8_lossy(info.as_bytes().unwrap()).into_owned();
        assert!(
            text.contains("cluster_state:ok"),
            "{} is not ok: {text}",
            node.addr()
        );
    }

    let primaries = cluster.primaries().unwrap();
    let replicas = cluster.replicas().unwrap();
    assert_eq!(primaries.len(), 3);
    assert_eq!(replicas.len(), 3);
    for replica in &replicas {
        assert_eq!(replica.role, Role::Replica);
        assert!(replica.slots.is_empty());
        let primary = replica.primary_id.as_deref().unwrap();
        assert!(
            primaries.iter().any(|p| p.id == primary),
            "replica {} follows {primary}, which is not a primary",
            replica.addr()
        );
    }

    let mut owners = vec![0u8; 16384];
    for primary in &primaries {
        for range in &primary.slots {
            for slot in range.clone() {
                owners[usize::from(slot)] += 1;
            }
        }
    }
    assert!(
        owners.iter().all(|&n| n == 1),
        "every slot must have exactly one owner"
    );
    assert_eq!(
        primaries.iter().map(|p| p.slot_count()).sum::<usize>(),
        16384
    );
}

#[test]
fn accessors_describe_the_shared_cluster() {
    let cluster = slotwise_testkit::shared();
    assert!(std::ptr::eq(cluster, slotwise_testkit::shared()));
    assert_eq!(cluster.ports().len(), 6);
    assert_eq!(cluster.addrs().len(), 6);
    let seed = cluster.seed_url();
    assert!(seed.starts_with("redis://127.0.0.1:"), "{seed}");
    let port = cluster.ports()[0];
    assert_eq!(cluster.client_addr_for(port), format!("127.0.0.1:{port}"));

    // CRC16("foo") mod 16384.
    let slot = cluster.slot_of_key("foo").unwrap();
    assert_eq!(slot, 12182);
    let owner = cluster.node_for_slot(slot).unwrap();
    assert!(owner.owns_slot(slot) && owner.is_primary());

    let key = "testkit:accessors:{foo}";
    cluster
        .call(owner.port, &Cmd::new("SET").arg(key).arg("v"))
        .unwrap();
    let got = cluster.call(owner.port, &Cmd::new("GET").arg(key)).unwrap();
    assert_eq!(got.as_bytes(), Some(&b"v"[..]));

    let other = cluster
        .primaries()
        .unwrap()
        .into_iter()
        .find(|p| p.port != owner.port)
        .unwrap();
    let moved = cluster
        .call(other.port, &Cmd::new("GET").arg(key))
        .unwrap_err();
    assert!(
        moved.to_string().contains("MOVED 12182"),
        "expected a MOVED error, got {moved}"
    );
    assert!(cluster.call(1, &Cmd::new("PING")).is_err());
}

#[test]
fn flushall_empties_primaries_and_replicas() {
    let cluster = LocalCluster::builder()
        .primaries(1)
        .replicas(1)
        .start()
        .unwrap();
    let primary = cluster.primaries().unwrap()[0].port;
    let replica = cluster.replicas().unwrap()[0].port;
    cluster
        .call(primary, &Cmd::new("SET").arg("k").arg("v"))
        .unwrap();
    cluster.flushall().unwrap();
    for port in [primary, replica] {
        let size = cluster.call(port, &Cmd::new("DBSIZE")).unwrap();
        assert_eq!(size, Value::Int(0), "{port} still has keys");
    }

    let ports = cluster.ports();
    drop(cluster);
    for port in ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "127.0.0.1:{port} still accepts connections after the cluster was dropped"
        );
    }
}

#[test]
fn a_valkey_cluster_gives_each_node_its_own_options_also_after_a_restart() {
    let cluster = LocalCluster::builder()
        .valkey(true)
        .primaries(1)
        .replicas(1)
        .node_config(0, &[("availability-zone", "zone-p")])
        .node_config(1, &[("availability-zone", "zone-r")])
        .start()
        .unwrap();
    let zone = |port| {
        let reply = cluster
            .call(
                port,
                &Cmd::new("CONFIG").arg("GET").arg("availability-zone"),
            )
            .unwrap();
        match reply {
            Value::Array(items) => {
                String::from_utf8(items[1].as_bytes().unwrap().to_vec()).unwrap()
            }
            other => panic!("CONFIG GET replied {other:?}"),
        }
    };
    let primary = cluster.primaries().unwrap()[0].port;
    let replica = cluster.replicas().unwrap()[0].port;
    let server = cluster
        .call(primary, &Cmd::new("INFO").arg("server"))
        .unwrap();
    let text = String::from_utf8_lossy(server.as_bytes().unwrap()).into_owned();
    assert!(text.contains("server_name:valkey"), "{text}");
    assert_eq!(zone(primary), "zone-p");
    assert_eq!(zone(replica), "zone-r");
    cluster.restart(replica).unwrap();
    assert_eq!(zone(replica), "zone-r");
}
