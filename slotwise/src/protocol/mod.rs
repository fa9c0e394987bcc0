//! RESP2 and RESP3: the values, the incremental decoder, the command encoder, and conversions
//! between Rust types and RESP ([`FromValue`], [`ToArgs`]).
//!
//! This module is pure: no sockets, no tokio. It knows nothing of clusters, nodes or retries.

mod cmd;
mod decode;
mod from_value;
mod to_args;
mod value;

pub use cmd::{encode_value, Args, Cmd};
pub use decode::{Decoder, DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_DEPTH, DEFAULT_MAX_REPLY_LEN};
pub(crate) use decode::{Listed, Scanner, WireReply};
pub use from_value::FromValue;
pub use to_args::ToArgs;
pub use value::Value;

pub use crate::error::ServerError;
pub use crate::slot_count::SLOT_COUNT;
