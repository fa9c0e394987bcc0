//! Moving a slot between primaries, at once or step by step.
//!
//! The procedure is the standard one (`redis-cli --cluster reshard` does the same): mark the slot
//! `IMPORTING` on the target and `MIGRATING` on the source, move its keys in batches with
//! `CLUSTER GETKEYSINSLOT` + `MIGRATE … KEYS`, then assign the slot to the target everywhere with
//! `CLUSTER SETSLOT … NODE`. [`SlotMigration`] exposes the steps so a test can hold a slot
//! half-migrated and watch clients follow `ASK` redirects.
//!
//! This module does not pick slots or targets; tests do.

use bytes::Bytes;
use slotwise::protocol::{Cmd, Value};

use crate::admin::{addr, HOST};
use crate::error::{Error, ErrorKind};
use crate::server::NodeState;
use crate::view::Role;
use crate::LocalCluster;

/// How many keys one `MIGRATE` moves when finishing: big enough to need few round trips, small
/// enough that one command does not block the source for long.
const BATCH: usize = 100;

/// `MIGRATE`'s own timeout for the source-to-target transfer, in milliseconds.
const MIGRATE_TIMEOUT_MS: u64 = 5000;

/// A slot being moved from one primary to another.
///
/// Made by [`LocalCluster::begin_migration`]. While it exists the slot is `MIGRATING` on the
/// source and `IMPORTING` on the target: the source answers `ASK` for keys it no longer has.
/// Dropping it without [`finish`](SlotMigration::finish) leaves the slot in that state.
#[derive(Debug)]
#[must_use = "dropping a migration without `finish` leaves the slot migrating"]
pub struct SlotMigration<'a> {
    cluster: &'a LocalCluster,
    slot: u16,
    source_port: u16,
    target_port: u16,
    /// Where the source sends the keys: with `tls-cluster yes` a node dials `MIGRATE`'s target
    /// over TLS, so a TLS cluster's target is named by its TLS port.
    migrate_port: u16,
    target_id: String,
}

impl LocalCluster {
    /// Starts moving `slot` from its current primary to the primary at `to_port`: marks it
    /// `IMPORTING` on the target, then `MIGRATING` on the source. No key moves yet.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::State`] if the target is not a primary or already serves the slot;
    /// [`ErrorKind::Server`] if a node refuses (the slot is already being migrated, for example).
    pub fn begin_migration(&self, slot: u16, to_port: u16) -> Result<SlotMigration<'_>, Error> {
        let source = self.node_for_slot(slot)?;
        let target = self.node(to_port)?;
        if target.role != Role::Primary || target.state != NodeState::Running {
            return Err(Error::new(
                ErrorKind::State,
                format!(
                    "cannot migrate slot {slot} to {}: it is a {:?} ({:?}), not a running primary",
                    addr(to_port),
                    target.role,
                    target.state
                ),
            ));
        }
        if source.port == to_port {
            return Err(Error::new(
                ErrorKind::State,
                format!("slot {slot} is already served by {}", addr(to_port)),
            ));
        }
        // The target first: once the source is MIGRATING it sends clients to the target with
        // ASK, and the target must already accept them.
        let importing = Cmd::new("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("IMPORTING")
            .arg(&source.id);
        self.admin_call(to_port, &importing)?;
        let migrating = Cmd::new("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("MIGRATING")
            .arg(&target.id);
        self.admin_call(source.port, &migrating)?;
        Ok(SlotMigration {
            cluster: self,
            slot,
            source_port: source.port,
            target_port: to_port,
            migrate_port: target.tls_port.unwrap_or(to_port),
            target_id: target.id,
        })
    }

    /// Moves `slot` with all its keys to the primary at `to_port` and waits until the whole
    /// cluster agrees on the new owner. Returns how many keys were moved.
    ///
    /// # Errors
    ///
    /// As [`begin_migration`](LocalCluster::begin_migration) and
    /// [`SlotMigration::finish`].
    pub fn migrate_slot(&self, slot: u16, to_port: u16) -> Result<usize, Error> {
        self.begin_migration(slot, to_port)?.finish()
    }
}

impl SlotMigration<'_> {
    /// The slot being moved.
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The port of the primary the slot comes from.
    pub fn source_port(&self) -> u16 {
        self.source_port
    }

    /// The port of the primary the slot goes to.
    pub fn target_port(&self) -> u16 {
        self.target_port
    }

    /// Moves up to `max` of the slot's keys from the source to the target; returns how many
    /// moved (0 when none are left).
    ///
    /// # Errors
    ///
    /// When the source refuses or `MIGRATE` fails.
    pub fn move_keys(&mut self, max: usize) -> Result<usize, Error> {
        if max == 0 {
            return Ok(0);
        }
        let list = Cmd::new("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(self.slot)
            .arg(max);
        let keys = match self.cluster.admin_call(self.source_port, &list)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|item| item.as_bytes().map(Bytes::copy_from_slice))
                .collect::<Vec<Bytes>>(),
            other => {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("CLUSTER GETKEYSINSLOT returned {}", other.type_name()),
                ))
            }
        };
        if keys.is_empty() {
            return Ok(0);
        }
        // An empty key and the KEYS option move a batch in one command; db 0 is the only one
        // in cluster mode.
        let mut migrate = Cmd::new("MIGRATE")
            .arg(HOST)
            .arg(self.migrate_port)
            .arg("")
            .arg(0u64)
            .arg(MIGRATE_TIMEOUT_MS)
            .arg("KEYS");
        for key in &keys {
            migrate.push_arg(key);
        }
        self.cluster
            .admin_call(self.source_port, &migrate)
            .map_err(|e| e.context(format!("moving keys of slot {}", self.slot)))?;
        Ok(keys.len())
    }

    /// How many of the slot's keys are still on the source.
    ///
    /// # Errors
    ///
    /// When the source fails to answer.
    pub fn keys_left(&self) -> Result<usize, Error> {
        let count = Cmd::new("CLUSTER").arg("COUNTKEYSINSLOT").arg(self.slot);
        match self.cluster.admin_call(self.source_port, &count)? {
            Value::Int(n) => Ok(usize::try_from(n).unwrap_or(0)),
            other => Err(Error::new(
                ErrorKind::Protocol,
                format!("CLUSTER COUNTKEYSINSLOT returned {}", other.type_name()),
            )),
        }
    }

    /// Moves the remaining keys, assigns the slot to the target on the target, the source and
    /// every other running primary, and waits until the cluster is healthy and agrees on the
    /// new owner. Returns how many keys this call moved.
    ///
    /// # Errors
    ///
    /// When a node refuses a step, or [`ErrorKind::Timeout`] if the cluster does not settle.
    pub fn finish(mut self) -> Result<usize, Error> {
        let mut moved = 0;
        loop {
            let batch = self.move_keys(BATCH)?;
            if batch == 0 {
                break;
            }
            moved += batch;
        }
        let assign = Cmd::new("CLUSTER")
            .arg("SETSLOT")
            .arg(self.slot)
            .arg("NODE")
            .arg(&self.target_id);
        // The target first, so that it never redirects a client back to the source; then the
        // source, which stops sending ASK; then the others, which would learn it by gossip.
        self.cluster.admin_call(self.target_port, &assign)?;
        self.cluster.admin_call(self.source_port, &assign)?;
        let others = self.cluster.nodes()?.into_iter().filter(|n| {
            n.role == Role::Primary
                && n.state == NodeState::Running
                && n.port != self.target_port
                && n.port != self.source_port
        });
        for node in others {
            self.cluster.admin_call(node.port, &assign)?;
        }
        self.cluster.wait_for_cluster_ok()?;
        Ok(moved)
    }
}
