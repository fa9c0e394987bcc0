//! [`BitmapCommands`]: strings as arrays of bits and of packed integers: `SETBIT`, `GETBIT`,
//! `BITCOUNT`, `BITPOS`, `BITOP` and `BITFIELD`, with their option types ([`BitUnit`],
//! [`BitPosOptions`], [`BitOp`], [`BitFieldOps`], [`Overflow`]).
//!
//! It does not own the string commands that read the same values as bytes (`GETRANGE`,
//! `SETRANGE`: see [`StringCommands`](super::StringCommands)), nor routing: `BITOP` is atomic,
//! so its keys must share a slot, which the executor checks.

use super::Executor;
use crate::protocol::{Cmd, ToArgs};

/// What the `start` and `end` of `BITCOUNT` and `BITPOS` count (Redis 7.0 and later).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BitUnit {
    /// `BYTE`: byte offsets, the server's default.
    #[default]
    Byte,
    /// `BIT`: bit offsets.
    Bit,
}

impl ToArgs for BitUnit {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            BitUnit::Byte => b"BYTE",
            BitUnit::Bit => b"BIT",
        });
    }
}

/// The range options of `BITPOS` (see [`BitmapCommands::bitpos_options`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct BitPosOptions {
    start: Option<i64>,
    end: Option<i64>,
    unit: Option<BitUnit>,
}

impl BitPosOptions {
    /// Options that add nothing: the whole value is searched.
    pub fn new() -> BitPosOptions {
        BitPosOptions::default()
    }

    /// Where the search starts (negative counts from the end). Default is the start.
    pub fn start(mut self, start: i64) -> BitPosOptions {
        self.start = Some(start);
        self
    }

    /// Where the search ends, inclusive; sent only with a [`start`](Self::start) (0 is
    /// assumed if none was given). Default is the end.
    pub fn end(mut self, end: i64) -> BitPosOptions {
        self.end = Some(end);
        self
    }

    /// Whether `start` and `end` count bytes or bits; sent only with an
    /// [`end`](Self::end). Default is bytes.
    pub fn unit(mut self, unit: BitUnit) -> BitPosOptions {
        self.unit = Some(unit);
        self
    }
}

impl ToArgs for BitPosOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        // Each token needs the ones before it, so a later one brings in the default of an
        // earlier one rather than being dropped.
        let end = self.end.or(self.unit.map(|_| -1));
        let start = self.start.or(end.map(|_| 0));
        cmd.push_arg(start).push_arg(end).push_arg(self.unit);
    }
}

/// The operation of `BITOP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BitOp {
    /// `AND` of every source.
    And,
    /// `OR` of every source.
    Or,
    /// `XOR` of every source.
    Xor,
    /// `NOT` of the one source.
    Not,
}

impl ToArgs for BitOp {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            BitOp::And => b"AND",
            BitOp::Or => b"OR",
            BitOp::Xor => b"XOR",
            BitOp::Not => b"NOT",
        });
    }
}

/// What `BITFIELD` does when an `INCRBY` or `SET` leaves the integer's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Overflow {
    /// `WRAP`: wraps around, the server's default.
    Wrap,
    /// `SAT`: stops at the minimum or maximum.
    Sat,
    /// `FAIL`: writes nothing and replies nil for that operation.
    Fail,
}

impl ToArgs for Overflow {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            Overflow::Wrap => b"WRAP",
            Overflow::Sat => b"SAT",
            Overflow::Fail => b"FAIL",
        });
    }
}

/// The operations of one `BITFIELD` (or `BITFIELD_RO`) call, in order.
///
/// An encoding is `i` or `u` and a width (`"u8"`, `"i5"`); an offset is a bit offset (`12`)
/// or, with `#`, a multiple of the width (`"#2"` is the third field of that type).
///
/// ```
/// use slotwise::commands::{BitFieldOps, Overflow};
/// use slotwise::protocol::Cmd;
///
/// let ops = BitFieldOps::new().overflow(Overflow::Sat).incrby("u8", "#1", 300).get("u8", 0);
/// let cmd = Cmd::new("BITFIELD").arg("k").arg(&ops);
/// let args: Vec<&[u8]> = cmd.args().skip(2).collect();
/// assert_eq!(
///     args,
///     [&b"OVERFLOW"[..], b"SAT", b"INCRBY", b"u8", b"#1", b"300", b"GET", b"u8", b"0"]
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BitFieldOps {
    args: Vec<Vec<u8>>,
}

impl BitFieldOps {
    /// No operations yet.
    pub fn new() -> BitFieldOps {
        BitFieldOps::default()
    }

    fn push(mut self, token: &str, args: impl ToArgs) -> BitFieldOps {
        self.args.push(token.as_bytes().to_vec());
        let encoded = Cmd::new(args);
        self.args.extend(encoded.args().map(<[u8]>::to_vec));
        self
    }

    /// `GET encoding offset`: reads a field; its reply is the value.
    pub fn get(self, encoding: &str, offset: impl ToArgs) -> BitFieldOps {
        self.push("GET", (encoding, offset))
    }

    /// `SET encoding offset value`: writes a field; its reply is the old value.
    pub fn set(self, encoding: &str, offset: impl ToArgs, value: i64) -> BitFieldOps {
        self.push("SET", (encoding, offset, value))
    }

    /// `INCRBY encoding offset increment`: adds to a field; its reply is the new value.
    pub fn incrby(self, encoding: &str, offset: impl ToArgs, increment: i64) -> BitFieldOps {
        self.push("INCRBY", (encoding, offset, increment))
    }

    /// `OVERFLOW WRAP|SAT|FAIL`: how the `SET` and `INCRBY` operations after it treat an
    /// overflow; it has no reply of its own.
    pub fn overflow(self, overflow: Overflow) -> BitFieldOps {
        self.push("OVERFLOW", overflow)
    }
}

impl ToArgs for BitFieldOps {
    fn write_args(&self, cmd: &mut Cmd) {
        for arg in &self.args {
            cmd.push_bytes(arg);
        }
    }
}

/// Commands on bits and bit fields of string values. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. Bit 0 is the most
/// significant bit of the first byte.
pub trait BitmapCommands: Executor {
    /// `SETBIT key offset value`: sets or clears one bit (growing the value as needed); the
    /// bit's old value.
    fn setbit(&self, key: impl ToArgs, offset: u64, value: bool) -> Self::Output<bool> {
        self.execute(
            Cmd::new("SETBIT")
                .arg(key)
                .arg(offset)
                .arg(i64::from(value)),
        )
    }

    /// `GETBIT key offset`: one bit; false past the end or for a missing key.
    fn getbit(&self, key: impl ToArgs, offset: u64) -> Self::Output<bool> {
        self.execute(Cmd::new("GETBIT").arg(key).arg(offset))
    }

    /// `BITCOUNT key`: how many bits are set in the whole value.
    fn bitcount(&self, key: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("BITCOUNT").arg(key))
    }

    /// `BITCOUNT key start end BYTE|BIT`: how many bits are set from `start` to `end`
    /// inclusive (negative counts from the end), in bytes or bits.
    fn bitcount_range(
        &self,
        key: impl ToArgs,
        start: i64,
        end: i64,
        unit: BitUnit,
    ) -> Self::Output<i64> {
        self.execute(Cmd::new("BITCOUNT").arg(key).arg(start).arg(end).arg(unit))
    }

    /// `BITPOS key bit`: the position of the first bit set to `bit`; -1 if there is none
    /// (or, looking for a clear bit, the position just past the value).
    fn bitpos(&self, key: impl ToArgs, bit: bool) -> Self::Output<i64> {
        self.execute(Cmd::new("BITPOS").arg(key).arg(i64::from(bit)))
    }

    /// `BITPOS key bit [start [end [BYTE|BIT]]]`: like [`bitpos`](Self::bitpos) within a
    /// range; -1 if the range holds no such bit.
    fn bitpos_options(
        &self,
        key: impl ToArgs,
        bit: bool,
        options: &BitPosOptions,
    ) -> Self::Output<i64> {
        self.execute(Cmd::new("BITPOS").arg(key).arg(i64::from(bit)).arg(options))
    }

    /// `BITOP AND|OR|XOR|NOT destkey key [key …]`: stores the bitwise result in `destkey`;
    /// its length in bytes. All keys must share a slot.
    fn bitop(
        &self,
        operation: BitOp,
        destination: impl ToArgs,
        keys: impl ToArgs,
    ) -> Self::Output<i64> {
        self.execute(Cmd::new("BITOP").arg(operation).arg(destination).arg(keys))
    }

    /// `BITFIELD key …`: runs the operations in order; one reply per `GET`, `SET` and
    /// `INCRBY`, `None` where [`Overflow::Fail`] stopped a write.
    fn bitfield(&self, key: impl ToArgs, ops: &BitFieldOps) -> Self::Output<Vec<Option<i64>>> {
        self.execute(Cmd::new("BITFIELD").arg(key).arg(ops))
    }

    /// `BITFIELD_RO key GET …`: the read-only form, which a replica may serve; the server
    /// accepts only `GET` operations. One value per `GET`.
    fn bitfield_ro(&self, key: impl ToArgs, ops: &BitFieldOps) -> Self::Output<Vec<i64>> {
        self.execute(Cmd::new("BITFIELD_RO").arg(key).arg(ops))
    }
}

impl<E: Executor + ?Sized> BitmapCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;

    #[test]
    fn bitpos_sends_the_tokens_a_later_one_needs() {
        let all = BitPosOptions::new();
        assert_eq!(ArgsOf.bitpos_options("k", true, &all), ["BITPOS", "k", "1"]);
        let from = BitPosOptions::new().start(2);
        assert_eq!(
            ArgsOf.bitpos_options("k", false, &from),
            ["BITPOS", "k", "0", "2"]
        );
        let bits = BitPosOptions::new().unit(BitUnit::Bit);
        assert_eq!(
            ArgsOf.bitpos_options("k", true, &bits),
            ["BITPOS", "k", "1", "0", "-1", "BIT"]
        );
        let to = BitPosOptions::new().end(5);
        assert_eq!(
            ArgsOf.bitpos_options("k", true, &to),
            ["BITPOS", "k", "1", "0", "5"]
        );
    }

    #[test]
    fn bitfield_keeps_operation_order() {
        let ops = BitFieldOps::new()
            .set("i8", 0, -3)
            .overflow(Overflow::Fail)
            .incrby("u4", "#1", 20)
            .get("i8", 0);
        assert_eq!(
            ArgsOf.bitfield("k", &ops),
            [
                "BITFIELD", "k", "SET", "i8", "0", "-3", "OVERFLOW", "FAIL", "INCRBY", "u4", "#1",
                "20", "GET", "i8", "0"
            ]
        );
        let read = BitFieldOps::new().get("u8", 8);
        assert_eq!(
            ArgsOf.bitfield_ro("k", &read),
            ["BITFIELD_RO", "k", "GET", "u8", "8"]
        );
    }

    #[test]
    fn argument_order() {
        assert_eq!(ArgsOf.setbit("k", 7, true), ["SETBIT", "k", "7", "1"]);
        assert_eq!(ArgsOf.getbit("k", 7), ["GETBIT", "k", "7"]);
        assert_eq!(ArgsOf.bitcount("k"), ["BITCOUNT", "k"]);
        assert_eq!(
            ArgsOf.bitcount_range("k", 0, -1, BitUnit::Bit),
            ["BITCOUNT", "k", "0", "-1", "BIT"]
        );
        assert_eq!(ArgsOf.bitpos("k", false), ["BITPOS", "k", "0"]);
        assert_eq!(
            ArgsOf.bitop(BitOp::Xor, "d", ["a", "b"]),
            ["BITOP", "XOR", "d", "a", "b"]
        );
        assert_eq!(
            ArgsOf.bitop(BitOp::Not, "d", "a"),
            ["BITOP", "NOT", "d", "a"]
        );
    }
}
