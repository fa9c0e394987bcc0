//! Credentials that rotate under load: the ACL password of the client's user is changed on
//! every node and the client's connections are killed from outside. With a credentials
//! provider the reconnects take the new password; with `update_credentials` the open
//! connections switch before they are killed. Nothing fails but what was in flight at the kill,
//! and no node sees a login with the old password after the switch.
// Test helpers outside #[test] functions may unwrap and print too: a failure is a test failure,
// and what they measured goes in reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::load::{Load, Report};
use slotwise::connection::Credentials;
use slotwise::protocol::{Cmd, Value};
use slotwise::{ClusterNode, RedisCluster};
use slotwise_testkit::LocalCluster;

/// Runs `args` on every primary as the kit's own (default) user.
fn on_every_node(cluster: &LocalCluster, args: &[&str]) -> Vec<Value> {
    let mut cmd = Cmd::new(args[0]);
    for a in &args[1..] {
        cmd.push_arg(*a);
    }
    cluster
        .primaries()
        .unwrap()
        .iter()
        .map(|p| cluster.call(p.port, &cmd).unwrap())
        .collect()
}

/// Failed logins every node logged since the last `ACL LOG RESET`.
fn failed_logins(cluster: &LocalCluster) -> usize {
    on_every_node(cluster, &["ACL", "LOG"])
        .iter()
        .map(|log| match log {
            Value::Array(entries) => entries.len(),
            _ => 0,
        })
        .sum()
}

/// Kills the client's connections on every node, under load, then lets the load run on.
async fn kill_under_load(cluster: &Arc<LocalCluster>, load: Load) -> Report {
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let cluster = Arc::clone(cluster);
        tokio::task::spawn_blocking(move || {
            on_every_node(&cluster, &["CLIENT", "KILL", "USER", "app"]);
        })
        .await
        .unwrap();
    }
    load.mark(0..16384);
    let until = Instant::now() + Duration::from_secs(10);
    while load.report().first_ok_after_mark.is_none() {
        assert!(Instant::now() < until, "nothing served after the kill");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.stop().await
}

fn check(what: &str, report: &Report) {
    println!(
        "{what}: {} ok, {} errors ({} possibly applied), {} wrong",
        report.ok,
        report.errors.len(),
        report.errors.iter().filter(|e| e.2).count(),
        report.wrong.len()
    );
    assert!(
        report.wrong.is_empty(),
        "{what}: wrong values {:?}",
        report.wrong
    );
    for (slot, message, may_have_run, _) in &report.errors {
        assert!(
            *may_have_run,
            "{what}: slot {slot} failed although it was not in flight at the kill: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_passwords_are_used_for_every_reconnect_and_open_connection() {
    let cluster = common::faults::primaries_only();
    on_every_node(
        &cluster,
        &["ACL", "SETUSER", "app", "on", ">pw-1", "~*", "&*", "+@all"],
    );
    let seed = ClusterNode::new("127.0.0.1", cluster.primaries().unwrap()[0].port);

    // A provider, asked at every connect.
    let password = Arc::new(Mutex::new("pw-1".to_owned()));
    let asked = Arc::new(AtomicUsize::new(0));
    let client = {
        let (password, asked) = (Arc::clone(&password), Arc::clone(&asked));
        RedisCluster::builder()
            .startup_node(seed.clone())
            .credentials_provider(move || {
                asked.fetch_add(1, Ordering::SeqCst);
                let now = password.lock().unwrap().clone();
                async move { Ok(Credentials::new("app", now)) }
            })
            .build()
            .await
            .unwrap()
    };
    let load = Load::start(&client, 16, |t| {
        (0..4).map(|i| format!("cred:{t}:{i}")).collect()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The switch: the nodes take only the new password, and so does the provider.
    on_every_node(&cluster, &["ACL", "SETUSER", "app", "resetpass", ">pw-2"]);
    *password.lock().unwrap() = "pw-2".to_owned();
    on_every_node(&cluster, &["ACL", "LOG", "RESET"]);
    let asked_before = asked.load(Ordering::SeqCst);
    let report = kill_under_load(&cluster, load).await;
    check("provider", &report);
    assert!(
        asked.load(Ordering::SeqCst) > asked_before,
        "the provider was not asked when the connections were opened again"
    );
    assert_eq!(
        failed_logins(&cluster),
        0,
        "a node saw a login with the old password"
    );

    // Given credentials, switched while the connections are open.
    let client = RedisCluster::builder()
        .startup_node(seed)
        .username("app")
        .password("pw-2")
        .build()
        .await
        .unwrap();
    let load = Load::start(&client, 16, |t| {
        (0..4).map(|i| format!("cred2:{t}:{i}")).collect()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    on_every_node(&cluster, &["ACL", "SETUSER", "app", "resetpass", ">pw-3"]);
    on_every_node(&cluster, &["ACL", "LOG", "RESET"]);
    client
        .update_credentials(Credentials::new("app", "pw-3"))
        .await
        .unwrap();
    let report = kill_under_load(&cluster, load).await;
    check("update_credentials", &report);
    assert_eq!(
        failed_logins(&cluster),
        0,
        "a node saw a login with the old password"
    );

    // Credentials the nodes refuse: a typed error, naming the node and never the password.
    let err = client
        .update_credentials(Credentials::new("app", "not-the-password"))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert_eq!(err.kind(), slotwise::ErrorKind::Auth, "{shown}");
    assert!(err.node().is_some(), "{shown}");
    assert!(!shown.contains("not-the-password"), "{shown}");
}
