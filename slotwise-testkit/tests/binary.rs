//! A missing server binary is a loud error with the install hint, never a silent skip.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use slotwise_testkit::{ErrorKind, LocalCluster};

#[test]
fn missing_binary_explains_how_to_install_one() {
    let e = LocalCluster::builder()
        .server_binary("/nonexistent/redis-server")
        .start()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerNotFound);
    let text = e.to_string();
    assert!(text.contains("/nonexistent/redis-server"), "{text}");
    assert!(text.contains("apt-get install -y redis-server"), "{text}");
    assert!(text.contains("SLOTWISE_REDIS_SERVER"), "{text}");
}

#[test]
fn a_binary_that_is_not_a_server_is_rejected() {
    let e = LocalCluster::builder()
        .server_binary("/bin/true")
        .start()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerNotFound, "{e}");
    assert!(
        e.to_string().contains("apt-get install -y redis-server"),
        "{e}"
    );
}
