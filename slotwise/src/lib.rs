//! slotwise: a Redis Cluster client.
//!
//! The async core runs on tokio. It speaks RESP2 and RESP3 through its own codec
//! ([`protocol`]), keeps one multiplexed, automatically pipelined connection per node
//! ([`connection`]), and routes every command to the node that owns its slot.
//!
//! # Layout
//!
//! - [`protocol`]: RESP values, the incremental decoder, the command encoder, conversions.
//! - [`connection`]: one node: connect, handshake, multiplexing, timeouts, reconnects.
//! - `topology`: slots, shards and nodes as plain data; [`keyslot`].
//! - `routing`: the command table from `COMMAND`, key positions, reply merging.
//! - [`commands`]: typed command methods shared by every executor.
//! - [`RedisCluster`]: the cluster client: discovery, routing, targets, redirections.
//! - `blocking`: the same client for code without an async runtime.
//! - [`Error`]: the one error type, with a matchable [`ErrorKind`].
//!
//! # Features
//!
//! - `blocking` (default): [`blocking::RedisCluster`], the same client for code without an
//!   async runtime.
//! - `tls`: `rediss://` connections with rustls.
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]

#[cfg(feature = "blocking")]
pub mod blocking;
mod cluster;
pub mod commands;
pub mod connection;
mod error;
pub mod protocol;
mod routing;
mod topology;

pub use cluster::{
    ClusterBuilder, ClusterCommands, ClusterNode, NodeClient, NonAtomicExecutor, ReadFrom,
    RedisCluster, Request, Role, Stats, Target, TargetedCluster,
};
pub use error::{Error, ErrorKind, Redirect, Result};
pub use topology::keyslot;
