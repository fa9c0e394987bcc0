//! A test executor: one node connection to the primary that owns a hash tag's slot, so the
//! typed command methods can be tested against a real server before the cluster client
//! exists. It does no routing; every key a test uses must carry the file's hash tag.

use slotwise::commands::{CommandFuture, Executor};
use slotwise::connection::{Connection, ConnectionConfig, Protocol};
use slotwise::protocol::{Cmd, FromValue};
use slotwise_testkit::LocalCluster;

/// Runs commands on the node that owns one hash tag's slot.
pub(crate) struct NodeExec {
    conn: Connection,
    /// Prefix of every key this executor hands out: the hash tag and the protocol, so the
    /// RESP2 and RESP3 runs of one test never touch each other's keys.
    prefix: String,
    /// The slot of every key this executor hands out.
    pub(crate) slot: u16,
    /// The port of the node that owns `slot`.
    pub(crate) port: u16,
}

impl NodeExec {
    /// Connects to the primary owning `{tag}`'s slot, speaking `protocol`.
    pub(crate) async fn connect(cluster: &LocalCluster, tag: &str, protocol: Protocol) -> NodeExec {
        let slot = cluster.slot_of_key(format!("{{{tag}}}")).unwrap();
        let port = cluster.node_for_slot(slot).unwrap().port;
        let config = ConnectionConfig::new("127.0.0.1", port).protocol(protocol);
        let conn = Connection::connect(config).await.unwrap();
        let proto = match protocol {
            Protocol::Resp2 => "resp2",
            _ => "resp3",
        };
        NodeExec {
            conn,
            prefix: format!("{{{tag}}}:{proto}:"),
            slot,
            port,
        }
    }

    /// One executor per protocol, RESP3 first: the same test then checks that every reply
    /// type reads the same from both wire forms (maps, doubles, pairs differ between them).
    pub(crate) async fn each_protocol(tag: &str) -> Vec<NodeExec> {
        let cluster = slotwise_testkit::shared();
        vec![
            NodeExec::connect(cluster, tag, Protocol::Resp3).await,
            NodeExec::connect(cluster, tag, Protocol::Resp2).await,
        ]
    }

    /// A key in this executor's slot, unique to this executor's protocol.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl Executor for NodeExec {
    type Output<T: FromValue + Send + 'static> = CommandFuture<T>;

    fn execute<T: FromValue + Send + 'static>(&self, cmd: Cmd) -> CommandFuture<T> {
        let conn = self.conn.clone();
        CommandFuture::new(async move { T::from_value(conn.send(&cmd).await?) })
    }
}
