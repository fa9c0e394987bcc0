//! Waiting for conditions: the poll loop with a deadline, and what "the cluster is healthy"
//! means.
//!
//! Every wait in the kit polls a condition at a short interval until it holds or a deadline
//! passes — never a fixed sleep — and a timeout error says what was last seen, so a failing test
//! explains itself. This module does not change the cluster; it only looks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};
use std::time::{Duration, Instant};

use slotwise::protocol::Cmd;

use crate::admin::addr;
use crate::cluster::Member;
use crate::error::{Error, ErrorKind};
use crate::server::NodeState;
use crate::view::{Entry, Role};
use crate::LocalCluster;

/// How often a condition is checked. Checks are a few local round trips, so this is cheap, and
/// it bounds how much time a wait adds after the condition holds.
const POLL: Duration = Duration::from_millis(20);

/// Why a condition does not hold yet; reported if the deadline passes.
#[derive(Debug)]
pub(crate) struct Pending(pub(crate) String);

impl From<Error> for Pending {
    fn from(e: Error) -> Pending {
        Pending(e.to_string())
    }
}

/// Returns early from a check with a reason.
macro_rules! pending {
    ($($arg:tt)*) => {
        return Err($crate::wait::Pending(format!($($arg)*)))
    };
}
pub(crate) use pending;

/// Runs `check` until it returns `Ok` or `deadline` passes.
pub(crate) fn until<T>(
    deadline: Instant,
    what: impl fmt::Display,
    mut check: impl FnMut() -> Result<T, Pending>,
) -> Result<T, Error> {
    let started = Instant::now();
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(Pending(why)) if Instant::now() >= deadline => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "gave up after {:.1?} waiting for {what}; last seen: {why}",
                        started.elapsed()
                    ),
                ));
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// The value of `key` in an `INFO` reply (`key:value` lines).
pub(crate) fn info_field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// What all nodes must agree on: for each node that is running or serves slots, its role, its
/// primary and its slots. Link states and failure flags are left out: they differ between
/// observers by nature.
type Canon = BTreeMap<String, (Role, Option<String>, Vec<(u16, u16)>)>;

fn canonical(view: &[Entry], running: &BTreeSet<&str>) -> Canon {
    view.iter()
        .filter(|e| running.contains(e.id.as_str()) || !e.slots.is_empty())
        .map(|e| {
            let slots = e.slots.iter().map(|r| (*r.start(), *r.end())).collect();
            (e.id.clone(), (e.role, e.primary_id.clone(), slots))
        })
        .collect()
}

/// A short text form of a [`Canon`] for messages, naming nodes by port where known.
fn describe(canon: &Canon, members: &[Member]) -> String {
    let name = |id: &str| {
        members
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| id.chars().take(8).collect(), |m| m.port.to_string())
    };
    let mut out = String::new();
    for (id, (role, primary, slots)) in canon {
        let _ = write!(out, "[{} {:?}", name(id), role);
        if let Some(primary) = primary {
            let _ = write!(out, " of {}", name(primary));
        }
        for (start, end) in slots {
            let _ = write!(out, " {start}-{end}");
        }
        out.push(']');
    }
    out
}

impl LocalCluster {
    /// Blocks until the cluster is healthy: every running node reports `cluster_state:ok`, knows
    /// every other running node and sees none of them failing, all running nodes agree on who
    /// serves which slot and who replicates whom, every slot is served by a running node, and
    /// every running replica's link to its primary is up.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] after the builder's `wait_timeout`, with what was last seen.
    pub fn wait_for_cluster_ok(&self) -> Result<(), Error> {
        self.wait_healthy(self.deadline())
    }

    /// Now plus the builder's `wait_timeout`.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.wait_timeout
    }

    pub(crate) fn wait_healthy(&self, deadline: Instant) -> Result<(), Error> {
        until(deadline, "the cluster to become healthy", || {
            self.check_health()
        })
    }

    fn check_health(&self) -> Result<(), Pending> {
        let members = self.members();
        let running: Vec<&Member> = members
            .iter()
            .filter(|m| m.state == NodeState::Running)
            .collect();
        if running.is_empty() {
            pending!("no node is running");
        }
        let running_ids: BTreeSet<&str> = running.iter().map(|m| m.id.as_str()).collect();
        let port_of = |id: &str| {
            members
                .iter()
                .find(|m| m.id == id)
                .map_or_else(|| format!("node {id}"), |m| addr(m.port))
        };
        let mut agreed: Option<(u16, Canon)> = None;
        for member in &running {
            let name = addr(member.port);
            let info = self.admin_text(member.port, &Cmd::new("CLUSTER").arg("INFO"))?;
            let state = info_field(&info, "cluster_state").unwrap_or("unknown");
            if state != "ok" {
                pending!("{name} reports cluster_state:{state}");
            }
            let view = self.view_of(member.port)?;
            if let Some(e) = view.iter().find(|e| e.joining) {
                pending!("{name} is still introducing itself to {}", addr(e.port));
            }
            for id in &running_ids {
                match view.iter().find(|e| e.id == *id) {
                    None => pending!("{name} does not know {}", port_of(id)),
                    Some(e) if e.failing => pending!("{name} sees {} as failing", port_of(id)),
                    Some(e) if !e.connected => {
                        pending!("{name} has no bus link to {}", port_of(id))
                    }
                    Some(_) => {}
                }
            }
            if view.iter().any(|e| e.myself && e.role == Role::Replica) {
                let replication =
                    self.admin_text(member.port, &Cmd::new("INFO").arg("replication"))?;
                let link = info_field(&replication, "master_link_status").unwrap_or("unknown");
                if link != "up" {
                    pending!("replica {name} reports master_link_status:{link}");
                }
            }
            let canon = canonical(&view, &running_ids);
            for (id, (_, _, slots)) in &canon {
                if !slots.is_empty() && !running_ids.contains(id.as_str()) {
                    pending!(
                        "{name} says {} serves slots but it is not running",
                        port_of(id)
                    );
                }
            }
            match &agreed {
                None => agreed = Some((member.port, canon)),
                Some((first_port, first)) if *first != canon => pending!(
                    "{} and {name} disagree: {} versus {}",
                    addr(*first_port),
                    describe(first, &members),
                    describe(&canon, &members)
                ),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_found_by_exact_key() {
        let info = "# Cluster\r\ncluster_state:ok\r\ncluster_slots_assigned:16384\r\n";
        assert_eq!(info_field(info, "cluster_state"), Some("ok"));
        assert_eq!(info_field(info, "cluster_slots"), None);
    }

    #[test]
    fn until_reports_the_last_reason_on_timeout() {
        let deadline = Instant::now() + Duration::from_millis(50);
        let mut tries = 0;
        let e = until(deadline, "nothing", || -> Result<(), Pending> {
            tries += 1;
            pending!("try {tries}")
        })
        .unwrap_err();
        assert!(e.is_timeout());
        assert!(e.to_string().contains(&format!("try {tries}")), "{e}");
    }
}
