//! The writer task: hands whatever callers queued to the socket in one write (see the parent
//! module's docs).
//!
//! It owns when the shared output buffer is taken and what counts as handed to the socket. It
//! does not encode commands (callers do, in `Multiplexer::request`) nor read replies.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{Shared, READ_CHUNK};

pub(super) async fn write_loop<W: AsyncWrite + Unpin>(mut writer: W, shared: Arc<Shared>) {
    let mut batch = BytesMut::with_capacity(READ_CHUNK);
    loop {
        shared.wake_writer.notified().await;
        let mut yielded = false;
        loop {
            let wait_for_others = {
                let mut state = shared.lock();
                if state.closed.is_some() {
                    return;
                }
                if state.out.is_empty() {
                    break;
                }
                // Callers woken together (by one read that held many replies) queue their next
                // commands one after another, and the first of them wakes this task: taking the
                // buffer then would cost one write per command. While other requests are in
                // flight, let every task that is ready run first, so their commands leave in one
                // write. A lone request goes at once: nobody else is coming.
                let wait = !yielded && state.pending.len() > 1;
                if !wait {
                    std::mem::swap(&mut state.out, &mut batch);
                    state.handed = state.queued;
                    state.writes_started += 1;
                }
                wait
            };
            if wait_for_others {
                yielded = true;
                tokio::task::yield_now().await;
                continue;
            }
            let written = match writer.write_all(&batch).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            };
            // Only this task counts finished writes.
            shared.writes_done.fetch_add(1, Ordering::Release);
            if let Err(e) = written {
                shared.close(shared.io_error(e));
                return;
            }
            batch.clear();
            yielded = false;
        }
    }
}
