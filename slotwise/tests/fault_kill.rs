//! A primary is killed under load: its replica takes over, and the client must serve the
//! primary's slots again within 250 ms of the election, with no error on other slots and no
//! command failing fast meanwhile.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_primary_is_replaced_within_250_ms_of_the_election() {
    common::kill::primary_killed(false).await;
}
