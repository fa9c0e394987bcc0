//! Encoding: a command as an array of bulk strings ([`Cmd`]), and any [`Value`] in RESP3 form
//! ([`encode_value`], for tests and scripted peers).
//!
//! A `Cmd` writes each argument straight into one buffer as it is added, so building a command
//! costs one growing allocation however many arguments it has, and sending it is a copy of that
//! buffer behind a `*N` header. This module does not know how a command is routed or sent.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::to_args::ToArgs;
use super::value::Value;

/// A command: its name and arguments, already encoded as RESP bulk strings.
///
/// ```
/// use slotwise::protocol::Cmd;
///
/// let cmd = Cmd::new("SET").arg("key").arg(42).arg(&["a", "b"][..]);
/// assert_eq!(cmd.argc(), 5);
/// let args: Vec<&[u8]> = cmd.args().collect();
/// assert_eq!(args[2], b"42");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Cmd {
    /// The arguments, each as `$len\r\ndata\r\n`.
    buf: Vec<u8>,
    /// The number of arguments. Servers refuse a command of more than 2^31 arguments (Redis
    /// and Valkey read the count as a signed 32-bit number), so 32 bits hold every count sent.
    argc: u32,
    /// Where the header of the argument after the name (most often the key) starts in `buf`,
    /// 0 before it is added or past `u32` offsets: routing reads it for every command sent,
    /// without a walk past the name. Fields of 32 bits keep a `Cmd`, and so every command's
    /// future, as small as the buffer alone and its count were.
    second: u32,
}

impl Cmd {
    /// Starts a command with its name (e.g. `"GET"`), which may be several words given as a
    /// slice (`&["CLUSTER", "INFO"][..]`).
    pub fn new(name: impl ToArgs) -> Cmd {
        let mut cmd = Cmd {
            buf: Vec::with_capacity(64),
            argc: 0,
            second: 0,
        };
        name.write_args(&mut cmd);
        cmd
    }

    /// Adds arguments (one, or several for a slice) and returns the command.
    #[must_use]
    pub fn arg(mut self, arg: impl ToArgs) -> Cmd {
        arg.write_args(&mut self);
        self
    }

    /// Adds arguments in place.
    pub fn push_arg(&mut self, arg: impl ToArgs) -> &mut Cmd {
        arg.write_args(self);
        self
    }

    /// Adds one argument from raw bytes. [`ToArgs`] implementations end here.
    pub fn push_bytes(&mut self, data: &[u8]) {
        let len = data.len();
        if self.argc == 1 {
            self.second = u32::try_from(self.buf.len()).unwrap_or(0);
        }
        // Every command's name and keys pass through here. Lengths under 100 (nearly all
        // names and keys) get their header as one fixed-size copy instead of a formatted
        // number and three appends.
        match len {
            0..=9 => {
                self.buf.reserve(4 + len + 2);
                self.buf
                    .extend_from_slice(&[b'$', b'0' + len as u8, b'\r', b'\n']);
            }
            10..=99 => {
                self.buf.reserve(5 + len + 2);
                self.buf.extend_from_slice(&[
                    b'$',
                    b'0' + (len / 10) as u8,
                    b'0' + (len % 10) as u8,
                    b'\r',
                    b'\n',
                ]);
            }
            _ => {
                let mut digits = [0u8; 20];
                let digits = format_u64(len as u64, &mut digits);
                // Reserve exactly this argument's size: a generous guess would make small
                // commands outgrow their first allocation.
                self.buf.reserve(1 + digits.len() + 2 + len + 2);
                self.buf.put_u8(b'$');
                self.buf.extend_from_slice(digits);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
        self.argc = self.argc.saturating_add(1);
    }

    /// Adds one argument: a signed integer in decimal.
    pub fn push_int(&mut self, n: i64) {
        let mut digits = [0u8; 20];
        let text = format_i64(n, &mut digits);
        self.push_bytes(text);
    }

    /// Adds one argument: an unsigned integer in decimal.
    pub fn push_uint(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let text = format_u64(n, &mut digits);
        self.push_bytes(text);
    }

    /// Adds one argument: a float, as the server parses it (`inf` and `-inf` included).
    pub fn push_float(&mut self, x: f64) {
        let text = if x.is_infinite() {
            if x > 0.0 {
                "+inf".to_owned()
            } else {
                "-inf".to_owned()
            }
        } else {
            x.to_string()
        };
        self.push_bytes(text.as_bytes());
    }

    /// The number of arguments, the name included.
    pub fn argc(&self) -> usize {
        self.argc as usize
    }

    /// The arguments, the name first.
    pub fn args(&self) -> Args<'_> {
        Args {
            rest: &self.buf,
            left: self.argc as usize,
        }
    }

    /// The argument at `index` (0 is the command name).
    #[inline]
    pub fn arg_at(&self, index: usize) -> Option<&[u8]> {
        match index {
            0 => self.args().next(),
            1 if self.second != 0 && self.argc >= 2 => {
                let rest = self.buf.get(self.second as usize..)?;
                Args { rest, left: 1 }.next()
            }
            _ => self.args().nth(index),
        }
    }

    /// Every argument, the name first, as encoded on the wire (without the array header): two
    /// commands are the same command exactly when these bytes are equal.
    pub(crate) fn encoded_args(&self) -> &[u8] {
        &self.buf
    }

    /// The command name (its first argument) as sent.
    pub fn name(&self) -> &[u8] {
        self.arg_at(0).unwrap_or_default()
    }

    /// Appends the whole command (`*N` header and arguments) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.buf.len() + 16);
        if self.argc < 10 {
            // The common case as one fixed-size copy (see `push_bytes`).
            out.extend_from_slice(&[b'*', b'0' + self.argc as u8, b'\r', b'\n']);
        } else {
            out.put_u8(b'*');
            write_decimal_bytes(out, self.argc as u64);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&self.buf);
    }

    /// The encoded size in bytes of the arguments (without the array header).
    pub fn encoded_len(&self) -> usize {
        self.buf.len()
    }
}

/// Iterator over a [`Cmd`]'s arguments.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        // The buffer is written only by `push_bytes`, so each entry is `$len\r\ndata\r\n`.
        // Routing reads the name and key of every command sent: lengths of one or two digits
        // (nearly all names and keys) are matched whole, others read digit by digit rather
        // than through `str::parse`; the checks only guard against a bug.
        let (start, len) = match *self.rest {
            [b'$', d, b'\r', ..] if d.is_ascii_digit() => (4, usize::from(d - b'0')),
            [b'$', d1, d2, b'\r', ..] if d1.is_ascii_digit() && d2.is_ascii_digit() => {
                (5, usize::from(d1 - b'0') * 10 + usize::from(d2 - b'0'))
            }
            _ => {
                let mut len = 0usize;
                let mut cr = 1;
                loop {
                    let b = *self.rest.get(cr)?;
                    if b == b'\r' {
                        break;
                    }
                    if !b.is_ascii_digit() {
                        return None;
                    }
                    len = len.checked_mul(10)?.checked_add(usize::from(b - b'0'))?;
                    cr += 1;
                }
                (cr + 2, len)
            }
        };
        let end = start.checked_add(len)?;
        let data = self.rest.get(start..end)?;
        self.rest = self.rest.get(end + 2..)?;
        self.left -= 1;
        Some(data)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl fmt::Debug for Cmd {
    /// Shows the command name and argument count only: arguments may hold secrets
    /// (`AUTH`, `HELLO … AUTH`, `MIGRATE … AUTH`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cmd")
            .field("name", &String::from_utf8_lossy(self.name()))
            .field("argc", &self.argc)
            .finish()
    }
}

fn format_u64(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

fn format_i64(n: i64, digits: &mut [u8; 20]) -> &[u8] {
    if n >= 0 {
        return format_u64(n as u64, digits);
    }
    // |i64::MIN| has 19 digits, so the sign always fits in the 20-byte buffer.
    let len = format_u64(n.unsigned_abs(), digits).len();
    let start = digits.len() - len - 1;
    digits[start] = b'-';
    &digits[start..]
}

fn write_decimal_bytes(out: &mut BytesMut, n: u64) {
    let mut digits = [0u8; 20];
    out.extend_from_slice(format_u64(n, &mut digits));
}

fn write_signed(out: &mut BytesMut, n: i64) {
    let mut digits = [0u8; 20];
    out.extend_from_slice(format_i64(n, &mut digits));
}

fn write_header(out: &mut BytesMut, tag: u8, len: usize) {
    out.put_u8(tag);
    write_decimal_bytes(out, len as u64);
    out.extend_from_slice(b"\r\n");
}

fn write_blob(out: &mut BytesMut, tag: u8, data: &[u8]) {
    write_header(out, tag, data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// A line-typed string can carry neither CR nor LF; such text goes out in the bulk form.
fn fits_line(data: &[u8]) -> bool {
    !data.iter().any(|&b| b == b'\r' || b == b'\n')
}

/// Appends `value` to `out` in RESP3 form (RESP2 forms where RESP3 has none).
///
/// Used by scripted peers and tests; decoding the output gives back an equal value.
pub fn encode_value(value: &Value, out: &mut BytesMut) {
    match value {
        Value::Nil => out.extend_from_slice(b"_\r\n"),
        Value::SimpleString(s) if fits_line(s) => {
            out.put_u8(b'+');
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
        }
        // A simple string that cannot be a line has no exact RESP form; send it as bulk.
        Value::SimpleString(s) => write_blob(out, b'$', s),
        Value::Error(e) if fits_line(e.as_bytes()) => {
            out.put_u8(b'-');
            out.extend_from_slice(e.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Value::Error(e) => write_blob(out, b'!', e.as_bytes()),
        Value::Int(n) => {
            out.put_u8(b':');
            write_signed(out, *n);
            out.extend_from_slice(b"\r\n");
        }
        Value::Bulk(b) => write_blob(out, b'$', b),
        Value::Array(items) => encode_list(out, b'*', items),
        Value::Set(items) => encode_list(out, b'~', items),
        Value::Push(items) => encode_list(out, b'>', items),
        Value::Map(pairs) => encode_pairs(out, b'%', pairs),
        Value::Double(d) => {
            out.put_u8(b',');
            let text = if d.is_nan() {
                "nan".to_owned()
            } else if d.is_infinite() {
                if *d > 0.0 { "inf" } else { "-inf" }.to_owned()
            } else {
                format!("{d:?}")
            };
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Value::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Value::BigNumber(digits) => {
            out.put_u8(b'(');
            out.extend_from_slice(digits);
            out.extend_from_slice(b"\r\n");
        }
        Value::Verbatim { format, text } => {
            write_header(out, b'=', text.len() + 4);
            out.extend_from_slice(format);
            out.put_u8(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
        Value::Attribute { attributes, value } => {
            encode_pairs(out, b'|', attributes);
            encode_value(value, out);
        }
    }
}

fn encode_list(out: &mut BytesMut, tag: u8, items: &[Value]) {
    write_header(out, tag, items.len());
    for item in items {
        encode_value(item, out);
    }
}

fn encode_pairs(out: &mut BytesMut, tag: u8, pairs: &[(Value, Value)]) {
    write_header(out, tag, pairs.len());
    for (k, v) in pairs {
        encode_value(k, out);
        encode_value(v, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_command() {
        let cmd = Cmd::new("SET").arg("key").arg(b"v\r\n".as_slice()).arg(-12);
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        assert_eq!(
            &out[..],
            b"*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\nv\r\n\r\n$3\r\n-12\r\n"
        );
        assert_eq!(cmd.name(), b"SET");
        assert_eq!(cmd.arg_at(2), Some(&b"v\r\n"[..]));
        assert_eq!(cmd.arg_at(4), None);
    }

    #[test]
    fn integer_edges() {
        let cmd = Cmd::new("X")
            .arg(i64::MIN)
            .arg(i64::MAX)
            .arg(u64::MAX)
            .arg(0);
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(args[1], i64::MIN.to_string().as_bytes());
        assert_eq!(args[2], i64::MAX.to_string().as_bytes());
        assert_eq!(args[3], u64::MAX.to_string().as_bytes());
        assert_eq!(args[4], b"0");
    }

    #[test]
    fn floats_as_the_server_reads_them() {
        let cmd = Cmd::new("ZADD")
            .arg(1.5)
            .arg(f64::INFINITY)
            .arg(f64::NEG_INFINITY)
            .arg(3.0);
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(&args[1..], [&b"1.5"[..], b"+inf", b"-inf", b"3"]);
    }

    #[test]
    fn arguments_of_any_length_read_back() {
        let args: Vec<Vec<u8>> = [0usize, 1, 9, 10, 99, 100, 12_345]
            .iter()
            .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
            .collect();
        let mut cmd = Cmd::new("X");
        for a in &args {
            cmd.push_bytes(a);
        }
        let read: Vec<&[u8]> = cmd.args().skip(1).collect();
        assert_eq!(read.len(), args.len());
        for (got, want) in read.iter().zip(&args) {
            assert_eq!(got, &want.as_slice());
        }
        assert_eq!(cmd.args().count(), args.len() + 1);
        // The name and the first arguments are found without a walk: the same bytes.
        for (i, want) in cmd.args().enumerate() {
            assert_eq!(cmd.arg_at(i), Some(want), "argument {i}");
        }
        assert_eq!(cmd.arg_at(args.len() + 1), None);
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        let mut expected = format!("*{}\r\n", args.len() + 1).into_bytes();
        expected.extend_from_slice(b"$1\r\nX\r\n");
        for a in &args {
            expected.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            expected.extend_from_slice(a);
            expected.extend_from_slice(b"\r\n");
        }
        assert_eq!(&out[..], &expected[..]);
    }

    #[test]
    fn the_name_and_key_of_a_short_command() {
        let long = vec![b'k'; 300];
        for cmd in [
            Cmd::new("GET").arg(long.as_slice()),
            Cmd::new(&["CLIENT", "INFO"][..]),
            Cmd::new("PING"),
        ] {
            let walked: Vec<&[u8]> = cmd.args().collect();
            for i in 0..3 {
                assert_eq!(cmd.arg_at(i), walked.get(i).copied(), "argument {i}");
            }
        }
        assert_eq!(Cmd::new("PING").arg_at(1), None);
        assert_eq!(Cmd::new("").name(), b"");
    }

    #[test]
    fn array_header_of_ten_or_more_arguments() {
        let cmd = Cmd::new("DEL").arg(&["a", "b", "c", "d", "e", "f", "g", "h", "i"][..]);
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        assert!(
            out.starts_with(b"*10\r\n$3\r\nDEL\r\n$1\r\na\r\n"),
            "{out:?}"
        );
    }

    #[test]
    fn debug_hides_arguments() {
        let cmd = Cmd::new("AUTH").arg("user").arg("hunter2");
        let shown = format!("{cmd:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("AUTH"), "{shown}");
    }
}
