//! The demo's sections about nodes: creating a client, target nodes, `KEYS` across nodes, and
//! direct node access (redis-py's "Creating clusters" and "Specifying target nodes").
//!
//! Which node answered is shown from the answer itself wherever the command allows it: a
//! fan-out's map of node name to reply, the node id `CLUSTER MYID` returns, the port in a
//! node's own `INFO server`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use slotwise::commands::{ClusterAdminCommands, KeyCommands, ServerCommands, StringCommands};
use slotwise::{ClusterNode, RedisCluster, Role, Target};
use slotwise_testkit::LocalCluster;

use super::narrator::Narrator;
use super::{kit, OrFail, Tour};
use crate::output;
use crate::Failure;

/// Section 1: the three ways to make a client, and what it learned.
pub(super) async fn creating_a_client(
    cluster: &Arc<LocalCluster>,
    say: &Narrator,
    title: &str,
) -> Result<RedisCluster, Failure> {
    say.section(1, title);
    say.say(
        "A client needs one node that answers. From it slotwise loads the topology (which node \
         serves which of the 16384 slots) and the command table (COMMAND: where each command's \
         keys are, and its routing tips), then keeps one multiplexed, auto-pipelined connection \
         per node.",
    );
    say.redis_py(
        "RedisCluster(host, port), RedisCluster.from_url(url), \
         RedisCluster(startup_nodes=[ClusterNode(host, port), ...])",
    );
    let primaries = kit(cluster, "listing the primaries", |c| c.primaries()).await?;
    let replicas = kit(cluster, "listing the replicas", |c| c.replicas()).await?;
    let (Some(first), Some(second), Some(third), Some(replica)) = (
        primaries.first(),
        primaries.get(1),
        primaries.get(2),
        replicas.first(),
    ) else {
        return Err(Failure::new(
            "the demo cluster should have 3 primaries and 3 replicas",
        ));
    };

    let started = Instant::now();
    let client = RedisCluster::new("127.0.0.1", first.port)
        .await
        .or_fail("RedisCluster::new")?;
    say.call(
        &format!("RedisCluster::new(\"127.0.0.1\", {}).await?", first.port),
        &discovered(&client, started),
        None,
    );

    let url = format!("redis://127.0.0.1:{}", second.port);
    let started = Instant::now();
    let by_url = RedisCluster::from_url(&url)
        .await
        .or_fail("RedisCluster::from_url")?;
    say.call(
        &format!("RedisCluster::from_url(\"{url}\").await?"),
        &discovered(&by_url, started),
        None,
    );

    let started = Instant::now();
    let by_nodes = RedisCluster::from_nodes([
        ClusterNode::new("127.0.0.1", third.port),
        ClusterNode::new("127.0.0.1", replica.port),
    ])
    .await
    .or_fail("RedisCluster::from_nodes")?;
    say.call(
        &format!(
            "RedisCluster::from_nodes([ClusterNode::new(\"127.0.0.1\", {}), ClusterNode::new(\"127.0.0.1\", {})])",
            third.port, replica.port
        ),
        &discovered(&by_nodes, started),
        None,
    );
    say.say("All three see the same cluster. get_nodes() lists it, primaries first:");
    say.call(
        "cluster.get_nodes()",
        &format!("{} nodes:", client.get_nodes().len()),
        None,
    );
    for node in client.get_nodes() {
        say.detail(&format!("{:<16} {}", node.name(), role(&node)));
    }
    say.say(
        "A command with no key and no routing tip goes to the default node, a primary picked \
         at random; set_default_node() changes it.",
    );
    say.call(
        "cluster.default_node()",
        &say.style().node(client.default_node().name()),
        None,
    );
    Ok(client)
}

/// Section 3: targets by role, explicit nodes, merged and per-node replies.
pub(super) async fn target_nodes(tour: &mut Tour<'_>, title: &str) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.section(3, title);
    say.say(
        "Commands without keys go where their routing tips say, or where you point them: \
         Target::Primaries, Replicas, AllNodes, Random, DefaultNode, Node(node) or Nodes(vec). \
         Roles are resolved against the current topology at send time. Replies from several \
         nodes are merged by the command's response policy, or come back as a map of node name \
         to reply.",
    );
    say.redis_py(
        "target_nodes=RedisCluster.PRIMARIES / REPLICAS / ALL_NODES / RANDOM / DEFAULT_NODE, \
         or ClusterNode objects",
    );

    let pong = rc
        .target(Target::Primaries)
        .ping()
        .await
        .or_fail("PING on the primaries")?;
    say.call(
        "cluster.target(Target::Primaries).ping().await?",
        &format!("{pong:?}"),
        Some(&format!(
            "{} (merged: all succeeded)",
            names(&rc.get_primaries())
        )),
    );

    let ids: BTreeMap<String, String> = rc
        .cmd("CLUSTER")
        .arg("MYID")
        .target(Target::AllNodes)
        .query()
        .await
        .or_fail("CLUSTER MYID on every node")?;
    say.call(
        "cluster.cmd(\"CLUSTER\").arg(\"MYID\").target(Target::AllNodes)",
        "one reply per node:",
        None,
    );
    for (node, id) in &ids {
        say.detail(&format!("{node} => {}", short_id(id)));
        tour.names_by_id.insert(id.clone(), node.clone());
    }

    let total = rc.dbsize().await.or_fail("DBSIZE")?;
    let mut parts = Vec::new();
    for primary in rc.get_primaries() {
        let count = rc
            .target(Target::Node(primary.clone()))
            .dbsize()
            .await
            .or_fail("DBSIZE on one primary")?;
        parts.push(format!("{count} on {}", primary.port()));
    }
    say.call(
        "cluster.dbsize().await?",
        &total.to_string(),
        Some(&format!("every primary, summed: {}", parts.join(" + "))),
    );

    let Some(replica) = rc.get_replicas().into_iter().next() else {
        return Err(Failure::new("the client sees no replica"));
    };
    let info: String = rc
        .target(Target::Node(replica.clone()))
        .info_section(["server", "replication"])
        .await
        .or_fail("INFO on a replica")?;
    let fields = info_fields(&info, &["tcp_port", "role", "master_port"]);
    say.call(
        "cluster.target(Target::Node(replica)).info_section([\"server\", \"replication\"])",
        &fields,
        Some(replica.name()),
    );

    for _ in 0..3 {
        let id = rc
            .target(Target::Random)
            .cluster_myid()
            .await
            .or_fail("CLUSTER MYID on a random node")?;
        say.call(
            "cluster.target(Target::Random).cluster_myid()",
            &short_id(&id),
            Some(tour.name_of(&id)),
        );
    }

    let id = rc.cluster_myid().await.or_fail("CLUSTER MYID")?;
    say.call(
        "cluster.cluster_myid()   (no target: default node)",
        &short_id(&id),
        Some(tour.name_of(&id)),
    );
    let default = rc.default_node();
    let Some(other) = rc.get_primaries().into_iter().find(|p| *p != default) else {
        return Err(Failure::new("the client sees only one primary"));
    };
    rc.set_default_node(&other).or_fail("set_default_node")?;
    say.call(
        "cluster.set_default_node(&another_primary)?",
        &format!("default node is now {}", other.name()),
        None,
    );
    let id = rc.cluster_myid().await.or_fail("CLUSTER MYID")?;
    say.call(
        "cluster.cluster_myid()",
        &short_id(&id),
        Some(tour.name_of(&id)),
    );

    let subset: Vec<ClusterNode> = rc.get_primaries().into_iter().take(2).collect();
    let roles: BTreeMap<String, slotwise::protocol::Value> = rc
        .cmd("ROLE")
        .target(Target::Nodes(subset.clone()))
        .query()
        .await
        .or_fail("ROLE on two primaries")?;
    say.call(
        "cluster.cmd(\"ROLE\").target(Target::Nodes(two_primaries))",
        "one reply per node:",
        None,
    );
    for (node, reply) in &roles {
        let role = match reply {
            slotwise::protocol::Value::Array(items) => items
                .first()
                .and_then(|v| v.as_bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
            other => other.type_name().to_owned(),
        };
        say.detail(&format!("{node} => {role}"));
    }
    Ok(())
}

/// Section 4: `KEYS` fanned out by its routing tip, and per node.
pub(super) async fn keys_across_nodes(tour: &Tour<'_>, title: &str) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.section(4, title);
    say.say(
        "KEYS carries the routing tip request_policy:all_shards, so the client sends it to \
         every primary and concatenates the replies. Targeted explicitly, the reply map shows \
         which node holds what.",
    );
    say.redis_py("rc.keys(target_nodes=RedisCluster.ALL_NODES)");
    let mut all: Vec<String> = rc.keys("*").await.or_fail("KEYS")?;
    all.sort();
    say.call(
        "cluster.keys::<Vec<String>>(\"*\").await?",
        &format!("{} keys: {}", all.len(), all.join(", ")),
        Some("every primary, concatenated"),
    );
    let by_node: BTreeMap<String, Vec<String>> = rc
        .cmd("KEYS")
        .arg("*")
        .target(Target::Primaries)
        .query()
        .await
        .or_fail("KEYS on the primaries")?;
    say.call(
        "cluster.cmd(\"KEYS\").arg(\"*\").target(Target::Primaries)",
        "one reply per node:",
        None,
    );
    for (node, mut keys) in by_node {
        keys.sort();
        say.detail(&format!("{node} => [{}]", keys.join(", ")));
    }
    Ok(())
}

/// Section 7: a client for one node, which is never redirected.
pub(super) async fn direct_access(tour: &Tour<'_>, title: &str) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.section(7, title);
    say.say(
        "node_client(&node) gives a client for one node, sharing the cluster client's \
         connection to it: its commands go to that node and nowhere else. It follows no \
         redirection and no failover; a key the node does not serve gets the server's MOVED \
         back as an error.",
    );
    say.redis_py("rc.get_node(host, port).redis_connection");
    let owner = rc
        .get_node_from_key("foo1", false)
        .or_fail("locating foo1")?;
    let node = rc
        .get_node(owner.host(), owner.port())
        .ok_or_else(|| Failure::new(format!("get_node did not find {owner}")))?;
    say.call(
        &format!("cluster.get_node(\"{}\", {})", node.host(), node.port()),
        &format!("Some({})", node.name()),
        None,
    );
    let direct = rc.node_client(&node).or_fail("node_client")?;
    say.call("let node = cluster.node_client(&node)?", "NodeClient", None);
    let info: String = direct
        .info_section("server")
        .await
        .or_fail("INFO server on one node")?;
    say.call(
        "node.info_section(\"server\")",
        &info_fields(&info, &["tcp_port", "redis_version"]),
        Some(node.name()),
    );
    let mut keys: Vec<String> = direct.keys("*").await.or_fail("KEYS on one node")?;
    keys.sort();
    say.call(
        "node.keys::<Vec<String>>(\"*\")",
        &format!("[{}]  (this node's keys only)", keys.join(", ")),
        Some(node.name()),
    );
    let elsewhere = ["foo", "bar", "zzz", "foo2"]
        .into_iter()
        .find(|k| rc.get_node_from_key(k, false).is_ok_and(|n| n != node));
    if let Some(key) = elsewhere {
        let answer = match direct.get::<String>(key).await {
            Ok(value) => format!("{value:?}"),
            Err(e) => say.style().bad(&format!("Err({e})")),
        };
        say.call(&format!("node.get({key:?})"), &answer, Some(node.name()));
    }
    Ok(())
}

impl Tour<'_> {
    /// The name of the node with cluster id `id`, as learned from `CLUSTER MYID` on every node.
    fn name_of(&self, id: &str) -> &str {
        self.names_by_id
            .get(id)
            .map_or("an unknown node", String::as_str)
    }
}

/// What a new client found, and how long connecting took.
fn discovered(client: &RedisCluster, started: Instant) -> String {
    format!(
        "{} primaries, {} replicas, in {}",
        client.get_primaries().len(),
        client.get_replicas().len(),
        output::duration(started.elapsed())
    )
}

fn role(node: &ClusterNode) -> &'static str {
    match node.role() {
        Role::Primary => "primary",
        _ => "replica",
    }
}

fn names(nodes: &[ClusterNode]) -> String {
    let names: Vec<&str> = nodes.iter().map(ClusterNode::name).collect();
    names.join(", ")
}

/// The first 8 characters of a node id, as redis-cli shortens them.
fn short_id(id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    format!("{short}…")
}

/// `field:value` of the named `INFO` fields, in the order asked, space-separated.
fn info_fields(info: &str, fields: &[&str]) -> String {
    let found: Vec<String> = fields
        .iter()
        .filter_map(|field| {
            info.lines()
                .find(|line| line.split(':').next() == Some(field))
                .map(|line| line.trim_end().to_owned())
        })
        .collect();
    found.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_picked_in_order() {
        let info =
            "# Server\r\nredis_version:7.0.15\r\ntcp_port:7000\r\n# Replication\r\nrole:slave\r\n";
        assert_eq!(
            info_fields(info, &["tcp_port", "role", "missing"]),
            "tcp_port:7000 role:slave"
        );
    }
}
