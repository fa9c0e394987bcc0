//! Faults are real and the helpers wait for their effect: a killed primary's replica is
//! promoted, a restarted node rejoins as a replica, a manual failover swaps roles, a paused node
//! comes back after resume.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use slotwise::protocol::Cmd;
use slotwise_testkit::{ErrorKind, LocalCluster, NodeState, Role};

#[test]
fn killed_primary_is_replaced_and_rejoins_as_replica_after_restart() {
    let cluster = LocalCluster::start().unwrap();
    let victim = cluster.primaries().unwrap().remove(0);
    let heir = cluster
        .replicas()
        .unwrap()
        .into_iter()
        .find(|r| r.primary_id.as_deref() == Some(victim.id.as_str()))
        .unwrap();

    let started = Instant::now();
    cluster.kill(victim.port).unwrap();
    cluster
        .wait_for_promotion(heir.port, Duration::from_secs(30))
        .unwrap();
    println!("replica promoted {:.2?} after the kill", started.elapsed());

    let promoted = cluster.node(heir.port).unwrap();
    assert_eq!(promoted.role, Role::Primary);
    assert_eq!(
        promoted.slots, victim.slots,
        "the heir must take the victim's slots"
    );
    assert_eq!(cluster.node(victim.port).unwrap().state, NodeState::Stopped);
    assert_eq!(
        cluster
            .node_for_slot(*victim.slots[0].start())
            .unwrap()
            .port,
        heir.port
    );
    assert!(cluster
        .primaries()
        .unwrap()
        .iter()
        .all(|p| p.port != victim.port));

    let started = Instant::now();
    cluster.restart(victim.port).unwrap();
    println!(
        "old primary rejoined {:.2?} after restart",
        started.elapsed()
    );
    let rejoined = cluster.node(victim.port).unwrap();
    assert_eq!(rejoined.state, NodeState::Running);
    assert_eq!(rejoined.role, Role::Replica, "{rejoined:?}");
    assert_eq!(rejoined.id, victim.id, "nodes.conf must keep the node id");
    assert_eq!(rejoined.primary_id.as_deref(), Some(heir.id.as_str()));
}

#[test]
fn manual_failover_swaps_roles() {
    let cluster = LocalCluster::start().unwrap();
    let replica = cluster.replicas().unwrap().remove(0);
    let old_primary = replica.primary_id.clone().unwrap();

    let started = Instant::now();
    cluster.failover(replica.port).unwrap();
    println!("manual failover took {:.2?}", started.elapsed());

    let nodes = cluster.nodes().unwrap();
    let promoted = nodes.iter().find(|n| n.port == replica.port).unwrap();
    assert_eq!(promoted.role, Role::Primary);
    let demoted = nodes.iter().find(|n| n.id == old_primary).unwrap();
    assert_eq!(demoted.role, Role::Replica);
    assert_eq!(demoted.primary_id.as_deref(), Some(promoted.id.as_str()));

    let e = cluster.failover(replica.port).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::State, "{e}");
}

#[test]
fn paused_node_answers_again_after_resume() {
    let cluster = LocalCluster::builder()
        .primaries(1)
        .replicas(1)
        .start()
        .unwrap();
    let replica = cluster.replicas().unwrap().remove(0);

    cluster.pause(replica.port).unwrap();
    let paused = cluster.node(replica.port).unwrap();
    assert_eq!(paused.state, NodeState::Paused);
    assert_eq!(
        paused.role,
        Role::Replica,
        "described by the running primary"
    );
    assert_eq!(
        cluster.pause(replica.port).unwrap_err().kind(),
        ErrorKind::State
    );

    cluster.resume(replica.port).unwrap();
    let pong = cluster.call(replica.port, &Cmd::new("PING")).unwrap();
    assert_eq!(pong.as_bytes(), Some(&b"PONG"[..]));
    assert_eq!(
        cluster.node(replica.port).unwrap().state,
        NodeState::Running
    );
    assert_eq!(
        cluster.resume(replica.port).unwrap_err().kind(),
        ErrorKind::State
    );

    let unknown = cluster.kill(1).unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::InvalidInput);
    cluster.stop().unwrap();
    assert!(cluster.call(replica.port, &Cmd::new("PING")).is_err());
}
