//! The demo's sections about keys: slots and hash tags, multi-key commands, and reading from
//! replicas (redis-py's "Multi-key commands" and "Read only mode").
//!
//! A keyed command goes to the node that owns its slot in the client's view, and that is the
//! node printed. Where the claim can be checked on the server, the section checks it: the
//! owner's `CLUSTER COUNTKEYSINSLOT`, and each node's `GET` count in `INFO commandstats` for
//! reads sent to replicas.

use slotwise::commands::{ClusterAdminCommands, ServerCommands, StringCommands};
use slotwise::{ClusterCommands, ClusterNode, RedisCluster, Target};

use super::{at_slot, OrFail, Tour};
use crate::Failure;

/// Two keys that share a slot through their hash tag, as in redis-py's guide.
const FOLLOWING: &str = "{user1000}.following";
const FOLLOWERS: &str = "{user1000}.followers";

/// Section 2: slots, hash tags, and keyed commands going straight to their node.
pub(super) async fn key_slots(tour: &Tour<'_>, title: &str) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.section(2, title);
    say.say(
        "Every key lives in one of 16384 slots: CRC16(key) mod 16384. The client knows which \
         node serves each slot and sends a keyed command straight to it. When a key has a \
         non-empty {hash tag}, only the tag is hashed, so related keys share a slot, and a \
         node.",
    );
    say.redis_py("rc.keyslot(key), rc.get_node_from_key(key)");
    for (key, value) in [("foo1", "bar1"), ("foo2", "bar2")] {
        rc.set(key, value).await.or_fail("SET")?;
        say.call(
            &format!("cluster.set({key:?}, {value:?}).await?"),
            "OK",
            Some(&owner(rc, key)?),
        );
    }
    let value: Option<String> = rc.get("foo1").await.or_fail("GET")?;
    say.call(
        "cluster.get::<String>(\"foo1\").await?",
        &format!("{value:?}"),
        Some(&owner(rc, "foo1")?),
    );
    for key in ["foo", FOLLOWING, FOLLOWERS] {
        say.call(
            &format!("RedisCluster::keyslot({key:?})"),
            &RedisCluster::keyslot(key).to_string(),
            None,
        );
    }
    rc.set(FOLLOWING, "200").await.or_fail("SET")?;
    rc.set(FOLLOWERS, "1000").await.or_fail("SET")?;
    let both: Vec<Option<String>> = rc.mget([FOLLOWING, FOLLOWERS]).await.or_fail("MGET")?;
    say.call(
        &format!("cluster.mget([{FOLLOWING:?}, {FOLLOWERS:?}])"),
        &format!("{both:?}"),
        Some(&owner(rc, FOLLOWING)?),
    );
    let node = rc
        .get_node_from_key(FOLLOWING, false)
        .or_fail("locating the hash tag's node")?;
    let slot = RedisCluster::keyslot(FOLLOWING);
    let count = rc
        .node_client(&node)
        .or_fail("node_client")?
        .cluster_countkeysinslot(slot)
        .await
        .or_fail("CLUSTER COUNTKEYSINSLOT")?;
    say.say("The server agrees: the node the client chose holds both keys in that slot.");
    say.call(
        &format!("cluster.node_client(&owner)?.cluster_countkeysinslot({slot})"),
        &count.to_string(),
        Some(node.name()),
    );
    Ok(())
}

/// Section 5: atomic multi-key commands need one slot; the `_nonatomic` ones split by slot.
pub(super) async fn multi_key(tour: &Tour<'_>, title: &str) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.section(5, title);
    say.say(
        "A multi-key command is atomic only on one node, so its keys must share a slot. slotwise \
         checks before sending: a cross-slot MSET fails in the client and reaches no server. \
         The _nonatomic methods split the keys by slot instead, send one command per slot to \
         its node, all at once, and put the replies back in the caller's order.",
    );
    say.redis_py("rc.mset({...}), rc.mget(...), rc.mset_nonatomic({...}), rc.mget_nonatomic(...)");
    let pairs = [("foo", "value1"), ("bar", "value2"), ("zzz", "value3")];
    let code =
        "cluster.mset([(\"foo\", \"value1\"), (\"bar\", \"value2\"), (\"zzz\", \"value3\")])";
    match rc.mset(pairs).await {
        Err(e) if e.is_cross_slot() => {
            say.call(code, &say.style().bad("Err(CrossSlot)"), None);
            say.detail(&e.to_string());
            say.detail(&format!(
                "is_cross_slot() = true, node() = {:?}: refused before anything was sent",
                e.node()
            ));
        }
        Err(e) => return Err(Failure::new(format!("MSET failed unexpectedly: {e}"))),
        Ok(()) => return Err(Failure::new("a cross-slot MSET was accepted")),
    }

    rc.mset([("{foo}1", "bar1"), ("{foo}2", "bar2")])
        .await
        .or_fail("MSET with a hash tag")?;
    say.call(
        "cluster.mset([(\"{foo}1\", \"bar1\"), (\"{foo}2\", \"bar2\")])",
        "OK",
        Some(&owner(rc, "{foo}1")?),
    );
    let tagged: Vec<Option<String>> = rc.mget(["{foo}1", "{foo}2"]).await.or_fail("MGET")?;
    say.call(
        "cluster.mget([\"{foo}1\", \"{foo}2\"])",
        &format!("{tagged:?}"),
        Some(&owner(rc, "{foo}1")?),
    );

    rc.mset_nonatomic(&pairs).await.or_fail("mset_nonatomic")?;
    say.call(
        "cluster.mset_nonatomic(&[(\"foo\", ..), (\"bar\", ..), (\"zzz\", ..)])",
        "OK",
        Some("one MSET per slot:"),
    );
    for (key, _) in pairs {
        say.detail(&format!("{key:<4} → {}", owner(rc, key)?));
    }
    let values: Vec<Option<String>> = rc
        .mget_nonatomic(["foo", "bar", "zzz"])
        .await
        .or_fail("mget_nonatomic")?;
    say.call(
        "cluster.mget_nonatomic([\"foo\", \"bar\", \"zzz\"])",
        &format!("{values:?}"),
        Some("the same three nodes, in key order"),
    );
    Ok(())
}

/// Section 6: `readonly()` sends reads to replicas, `readwrite()` back to primaries; each node's
/// own count of `GET`s shows where they went.
pub(super) async fn read_from_replicas(tour: &Tour<'_>, title: &str) -> Result<(), Failure> {
    let (say, rc) = (tour.say, &tour.client);
    say.section(6, title);
    say.say(
        "A replica serves reads on a connection in READONLY mode, which is how slotwise opens \
         its replica connections. cluster.readonly() is a handle whose read-only commands go \
         to the slot's replicas (writes still go to the primary); readwrite() sends everything \
         to primaries again. The builder's read_from(ReadFrom::Replica | PreferReplica | \
         RoundRobin) sets it for every handle.",
    );
    say.redis_py(
        "RedisCluster(read_from_replicas=True), rc.readonly(), rc.readwrite(target_nodes=...)",
    );
    let key = "{foo}1";
    let primary = rc
        .get_node_from_key(key, false)
        .or_fail("locating {foo}1")?;
    let replica = rc.get_node_from_key(key, true).or_fail("locating {foo}1")?;
    // The value was written to the primary a moment ago; WAIT until the replica has it, so the
    // reads below show routing, not replication lag.
    let synced: i64 = rc
        .cmd("WAIT")
        .arg(1)
        .arg(5000)
        .target(Target::Node(primary.clone()))
        .query()
        .await
        .or_fail("WAIT")?;
    if synced < 1 {
        return Err(Failure::new("the replica did not acknowledge the write"));
    }

    let before = (gets(rc, &primary).await?, gets(rc, &replica).await?);
    let replica_reads = rc.readonly();
    say.call(
        "let replica_reads = cluster.readonly()",
        &format!("reads go to {:?}", replica_reads.read_from()),
        None,
    );
    for _ in 0..4 {
        let value: Option<String> = replica_reads.get(key).await.or_fail("GET on a replica")?;
        say.call(
            &format!("replica_reads.get::<String>({key:?})"),
            &format!("{value:?}"),
            Some(&at_slot(replica.name(), key)),
        );
    }
    let after = (gets(rc, &primary).await?, gets(rc, &replica).await?);
    say.line(&format!(
        "INFO commandstats: replica {} ran {} GETs, primary {} ran {}.",
        replica.name(),
        after.1.saturating_sub(before.1),
        primary.name(),
        after.0.saturating_sub(before.0),
    ));

    let primary_reads = replica_reads.readwrite();
    let value: Option<String> = primary_reads.get(key).await.or_fail("GET on a primary")?;
    say.call(
        &format!("replica_reads.readwrite().get::<String>({key:?})"),
        &format!("{value:?}"),
        Some(&at_slot(primary.name(), key)),
    );
    let last = (gets(rc, &primary).await?, gets(rc, &replica).await?);
    say.line(&format!(
        "INFO commandstats: primary {} ran {} GET, replica {} ran {}.",
        primary.name(),
        last.0.saturating_sub(after.0),
        replica.name(),
        last.1.saturating_sub(after.1),
    ));
    Ok(())
}

/// `node, slot N` for the node that owns `key`'s slot in the client's view.
fn owner(rc: &RedisCluster, key: &str) -> Result<String, Failure> {
    let node = rc
        .get_node_from_key(key, false)
        .or_fail("locating a key's node")?;
    Ok(at_slot(node.name(), key))
}

/// How many `GET`s `node` has run since it started, from its `INFO commandstats`.
async fn gets(rc: &RedisCluster, node: &ClusterNode) -> Result<u64, Failure> {
    let stats: String = rc
        .node_client(node)
        .or_fail("node_client")?
        .info_section("commandstats")
        .await
        .or_fail("INFO commandstats")?;
    Ok(calls_of(&stats, "get"))
}

/// The `calls=` count of `cmdstat_<command>` in `INFO commandstats`; 0 for a command the node
/// has not run yet (it has no line then).
fn calls_of(stats: &str, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:");
    stats
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|fields| {
            fields
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))
        })
        .and_then(|calls| calls.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_calls_are_read_from_commandstats() {
        let stats = "# Commandstats\r\ncmdstat_get:calls=12,usec=30,usec_per_call=2.50,\
                     rejected_calls=0,failed_calls=0\r\ncmdstat_getex:calls=3,usec=1\r\n";
        assert_eq!(calls_of(stats, "get"), 12);
        assert_eq!(calls_of(stats, "getex"), 3);
        assert_eq!(calls_of(stats, "set"), 0);
    }

    #[test]
    fn the_hash_tag_keys_share_a_slot() {
        assert_eq!(
            RedisCluster::keyslot(FOLLOWING),
            RedisCluster::keyslot(FOLLOWERS)
        );
    }
}
