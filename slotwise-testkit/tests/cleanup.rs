//! Servers never outlive the test process: a test process killed with SIGKILL (no destructors,
//! no unwinding) takes its servers with it, even though they were started from a test thread
//! that is still alive at that moment.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slotwise_testkit::LocalCluster;

/// Set in the child process, which starts a cluster and waits to be killed.
const CHILD_ENV: &str = "SLOTWISE_TESTKIT_CLEANUP_CHILD";
const CHILD_TEST: &str = "child_starts_a_cluster_and_waits_to_be_killed";

#[test]
fn servers_die_when_the_test_process_is_killed() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ports: Vec<u16> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            // The harness prints the test's name on the same line first.
            let (_, rest) = line.split_once("PORTS ")?;
            Some(rest.split(' ').map(|p| p.parse().unwrap()).collect())
        })
        .expect("the child printed no ports (did its cluster start?)");
    assert_eq!(ports.len(), 2);
    for &port in &ports {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    }

    child.kill().unwrap();
    child.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    for &port in &ports {
        while TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "127.0.0.1:{port} survived the SIGKILL of the process that started it"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Does nothing in a normal run; in the child process it starts a cluster, reports its ports
/// and sleeps until the parent kills it.
#[test]
fn child_starts_a_cluster_and_waits_to_be_killed() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let cluster = LocalCluster::builder()
        .primaries(1)
        .replicas(1)
        .start()
        .unwrap();
    let ports: Vec<String> = cluster.ports().iter().map(u16::to_string).collect();
    println!("PORTS {}", ports.join(" "));
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
}
