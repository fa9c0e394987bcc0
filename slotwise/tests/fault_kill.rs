//! A primary is killed under load: its replica takes over, and the client serves the primary's
//! slots again soon after the election (within seconds here; `slotwise-bench recovery` measures
//! how soon), with no error on other slots and no command failing fast meanwhile.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_primary_is_replaced_after_the_election() {
    common::kill::primary_killed(false).await;
}
