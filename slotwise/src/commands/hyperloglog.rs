//! [`HyperLogLogCommands`]: approximate distinct counts with `PFADD`, `PFCOUNT` and `PFMERGE`.
//!
//! It does not own routing: `PFCOUNT` of several keys and `PFMERGE` are atomic, so their keys
//! must share a slot, which the executor checks.

use super::Executor;
use crate::protocol::{Cmd, ToArgs};

/// Commands on HyperLogLog values. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. A HyperLogLog counts
/// distinct elements in at most 12 KB, with a standard error of 0.81%.
pub trait HyperLogLogCommands: Executor {
    /// `PFADD key [element …]`: adds elements (none creates an empty HyperLogLog); true if
    /// the estimate changed.
    fn pfadd(&self, key: impl ToArgs, elements: impl ToArgs) -> Self::Output<bool> {
        self.execute(Cmd::new("PFADD").arg(key).arg(elements))
    }

    /// `PFCOUNT key [key …]`: the estimated number of distinct elements in the union of the
    /// keys; 0 for missing keys. Several keys must share a slot.
    fn pfcount(&self, keys: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("PFCOUNT").arg(keys))
    }

    /// `PFMERGE destkey [sourcekey …]`: stores the union of the sources (and of `destkey`
    /// itself, if it exists) in `destkey`. All keys must share a slot.
    fn pfmerge(&self, destination: impl ToArgs, sources: impl ToArgs) -> Self::Output<()> {
        self.execute(Cmd::new("PFMERGE").arg(destination).arg(sources))
    }
}

impl<E: Executor + ?Sized> HyperLogLogCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.pfadd("h", ["a", "b"]), ["PFADD", "h", "a", "b"]);
        let none: [&str; 0] = [];
        assert_eq!(ArgsOf.pfadd("h", none), ["PFADD", "h"]);
        assert_eq!(ArgsOf.pfcount(["h1", "h2"]), ["PFCOUNT", "h1", "h2"]);
        assert_eq!(ArgsOf.pfmerge("d", ["a", "b"]), ["PFMERGE", "d", "a", "b"]);
    }
}
