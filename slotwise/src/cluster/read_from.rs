//! Where read-only commands go: [`ReadFrom`], and the choice of a node within a shard.
//!
//! Only commands the command table flags `readonly` are affected; writes always go to the
//! primary. Replicas are taken in turn (round-robin per shard).

/// The read strategy of a cluster handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadFrom {
    /// Reads go to the primary, like writes.
    #[default]
    Primary,
    /// Reads go to the shard's replicas in turn, never to the primary: with no replica online,
    /// the read fails.
    Replica,
    /// Reads go to the shard's replicas in turn; with no replica online, or when the chosen
    /// replica cannot be reached, to the primary.
    PreferReplica,
    /// Reads go to the primary and the replicas in turn.
    RoundRobin,
}

impl ReadFrom {
    /// True when reads may leave the primary.
    pub(crate) fn uses_replicas(self) -> bool {
        self != ReadFrom::Primary
    }

    /// Picks among `replicas` online replicas and the primary, `turn` being a per-shard counter.
    /// `None` means the primary, `Some(i)` the i-th replica; `Err(())` means no node may serve
    /// the read.
    pub(crate) fn pick(self, replicas: usize, turn: usize) -> Result<Option<usize>, ()> {
        match self {
            ReadFrom::Primary => Ok(None),
            ReadFrom::Replica if replicas == 0 => Err(()),
            ReadFrom::PreferReplica if replicas == 0 => Ok(None),
            ReadFrom::Replica | ReadFrom::PreferReplica => Ok(Some(turn % replicas)),
            ReadFrom::RoundRobin => match turn % (replicas + 1) {
                0 => Ok(None),
                i => Ok(Some(i - 1)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks() {
        assert_eq!(ReadFrom::Primary.pick(2, 5), Ok(None));
        assert_eq!(ReadFrom::Replica.pick(2, 5), Ok(Some(1)));
        assert_eq!(ReadFrom::Replica.pick(0, 5), Err(()));
        assert_eq!(ReadFrom::PreferReplica.pick(0, 5), Ok(None));
        let turns: Vec<_> = (0..6)
            .map(|t| ReadFrom::RoundRobin.pick(2, t).unwrap())
            .collect();
        assert_eq!(turns, [None, Some(0), Some(1), None, Some(0), Some(1)]);
    }
}
