//! The option types of the sorted set commands: [`ZAddOptions`] with [`Comparison`],
//! [`ZRangeOptions`] with [`ZRangeBy`], [`ZCombineOptions`] with [`Aggregate`] for the
//! union and intersection commands, and [`ZPopSide`] for the pops of several keys. The
//! commands are in [`SortedSetCommands`](super::SortedSetCommands).

use super::Condition;
use crate::protocol::{Cmd, ToArgs};

/// How a new score must compare with the current one for `ZADD` to update it (`GT`/`LT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Comparison {
    /// `GT`: only if the new score is greater.
    Gt,
    /// `LT`: only if the new score is less.
    Lt,
}

impl ToArgs for Comparison {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            Comparison::Gt => b"GT",
            Comparison::Lt => b"LT",
        });
    }
}

/// The options of `ZADD` (see
/// [`SortedSetCommands::zadd_options`](super::SortedSetCommands::zadd_options)).
///
/// `INCR` is left out because it changes the reply to a score; use
/// [`zincrby`](super::SortedSetCommands::zincrby).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct ZAddOptions {
    condition: Option<Condition>,
    comparison: Option<Comparison>,
    ch: bool,
}

impl ZAddOptions {
    /// Options that add nothing: members are added or updated, and the reply counts new
    /// members.
    pub fn new() -> ZAddOptions {
        ZAddOptions::default()
    }

    /// Only adds new members ([`Condition::Nx`]) or only updates existing ones
    /// ([`Condition::Xx`]). The server rejects `NX` together with a
    /// [`comparison`](Self::comparison). Default is to add and update.
    pub fn condition(mut self, condition: Condition) -> ZAddOptions {
        self.condition = Some(condition);
        self
    }

    /// Updates an existing member only if the new score compares as asked; new members are
    /// still added. Default is to update whatever the score.
    pub fn comparison(mut self, comparison: Comparison) -> ZAddOptions {
        self.comparison = Some(comparison);
        self
    }

    /// `CH`: the reply counts changed members (added or given a new score), not just added
    /// ones. Default is false.
    pub fn ch(mut self, ch: bool) -> ZAddOptions {
        self.ch = ch;
        self
    }
}

impl ToArgs for ZAddOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_arg(self.condition).push_arg(self.comparison);
        if self.ch {
            cmd.push_bytes(b"CH");
        }
    }
}

/// What the `start` and `stop` of a `ZRANGE` are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZRangeBy {
    /// Ranks (0-based indexes, negative from the end).
    #[default]
    Index,
    /// `BYSCORE`: score bounds.
    Score,
    /// `BYLEX`: lexicographic bounds, for members that all have the same score.
    Lex,
}

/// The options of `ZRANGE` and `ZRANGESTORE` (see
/// [`SortedSetCommands::zrange_options`](super::SortedSetCommands::zrange_options) and
/// [`SortedSetCommands::zrange_withscores`](super::SortedSetCommands::zrange_withscores)).
///
/// ```
/// use slotwise::commands::{ZRangeBy, ZRangeOptions};
/// use slotwise::protocol::Cmd;
///
/// // The top 10 scores of 100 or more.
/// let top = ZRangeOptions::new().by(ZRangeBy::Score).rev(true).limit(0, 10);
/// let cmd = Cmd::new("ZRANGE").arg("scores").arg("+inf").arg(100).arg(top);
/// let args: Vec<&[u8]> = cmd.args().skip(4).collect();
/// assert_eq!(args, [&b"BYSCORE"[..], b"REV", b"LIMIT", b"0", b"10"]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct ZRangeOptions {
    by: ZRangeBy,
    rev: bool,
    limit: Option<(i64, i64)>,
}

impl ZRangeOptions {
    /// Options that add nothing: `start` and `stop` are ranks, lowest score first.
    pub fn new() -> ZRangeOptions {
        ZRangeOptions::default()
    }

    /// What `start` and `stop` are. Default is [`ZRangeBy::Index`].
    pub fn by(mut self, by: ZRangeBy) -> ZRangeOptions {
        self.by = by;
        self
    }

    /// `REV`: highest score first. With score or lex bounds, `start` is then the upper bound
    /// and `stop` the lower one. Default is false.
    pub fn rev(mut self, rev: bool) -> ZRangeOptions {
        self.rev = rev;
        self
    }

    /// `LIMIT offset count`: skips `offset` matches and returns at most `count` (negative:
    /// all the rest). The server accepts it only with [`ZRangeBy::Score`] or
    /// [`ZRangeBy::Lex`]. Default is no limit.
    pub fn limit(mut self, offset: i64, count: i64) -> ZRangeOptions {
        self.limit = Some((offset, count));
        self
    }
}

impl ToArgs for ZRangeOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        match self.by {
            ZRangeBy::Index => {}
            ZRangeBy::Score => cmd.push_bytes(b"BYSCORE"),
            ZRangeBy::Lex => cmd.push_bytes(b"BYLEX"),
        }
        if self.rev {
            cmd.push_bytes(b"REV");
        }
        if let Some((offset, count)) = self.limit {
            cmd.push_bytes(b"LIMIT");
            cmd.push_int(offset);
            cmd.push_int(count);
        }
    }
}

/// How `ZUNION`, `ZINTER` and their `STORE` forms combine the scores of a member found in
/// several sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Aggregate {
    /// `SUM`: adds them, the server's default.
    #[default]
    Sum,
    /// `MIN`: keeps the lowest.
    Min,
    /// `MAX`: keeps the highest.
    Max,
}

impl ToArgs for Aggregate {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            Aggregate::Sum => b"SUM",
            Aggregate::Min => b"MIN",
            Aggregate::Max => b"MAX",
        });
    }
}

/// The options of `ZUNION`, `ZINTER`, `ZUNIONSTORE` and `ZINTERSTORE`: weights and
/// aggregation.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "options do nothing unless passed to a command"]
pub struct ZCombineOptions {
    weights: Vec<f64>,
    aggregate: Option<Aggregate>,
}

impl ZCombineOptions {
    /// Options that add nothing: every weight 1, scores summed.
    pub fn new() -> ZCombineOptions {
        ZCombineOptions::default()
    }

    /// `WEIGHTS w …`: multiplies each set's scores by its weight, one per key in order (the
    /// server refuses another number of them). Default is 1 for every set.
    pub fn weights(mut self, weights: impl IntoIterator<Item = f64>) -> ZCombineOptions {
        self.weights = weights.into_iter().collect();
        self
    }

    /// `AGGREGATE SUM|MIN|MAX`. Default is [`Aggregate::Sum`].
    pub fn aggregate(mut self, aggregate: Aggregate) -> ZCombineOptions {
        self.aggregate = Some(aggregate);
        self
    }
}

impl ToArgs for ZCombineOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        if !self.weights.is_empty() {
            cmd.push_bytes(b"WEIGHTS");
            for w in &self.weights {
                cmd.push_float(*w);
            }
        }
        if let Some(aggregate) = self.aggregate {
            cmd.push_bytes(b"AGGREGATE");
            cmd.push_arg(aggregate);
        }
    }
}

/// Which members `ZMPOP` and `BZMPOP` pop: the lowest or the highest scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZPopSide {
    /// `MIN`: the lowest scores first.
    Min,
    /// `MAX`: the highest scores first.
    Max,
}

impl ToArgs for ZPopSide {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            ZPopSide::Min => b"MIN",
            ZPopSide::Max => b"MAX",
        });
    }
}
