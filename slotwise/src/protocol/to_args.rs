//! [`ToArgs`]: Rust values as command arguments.
//!
//! Each implementation writes straight into the [`Cmd`]'s buffer; nothing is allocated per
//! argument. Strings and byte slices are one argument each; integers and floats are written in
//! decimal; slices, `Vec`s, arrays and tuples expand to one argument per element; `None` adds
//! nothing. `u8` alone is not an argument type, so `&[u8]` and `Vec<u8>` always mean one binary
//! argument, never a list of small numbers.

use bytes::{Bytes, BytesMut};

use super::cmd::Cmd;

/// A value that can be written as one or more command arguments.
pub trait ToArgs {
    /// Appends this value's arguments to `cmd`.
    fn write_args(&self, cmd: &mut Cmd);
}

impl<T: ToArgs + ?Sized> ToArgs for &T {
    fn write_args(&self, cmd: &mut Cmd) {
        (**self).write_args(cmd);
    }
}

impl ToArgs for str {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(self.as_bytes());
    }
}

impl ToArgs for String {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(self.as_bytes());
    }
}

impl ToArgs for [u8] {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(self);
    }
}

impl<const N: usize> ToArgs for [u8; N] {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(self);
    }
}

impl ToArgs for Vec<u8> {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(self);
    }
}

impl ToArgs for Bytes {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(self);
    }
}

impl ToArgs for BytesMut {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(self);
    }
}

macro_rules! signed_args {
    ($($t:ty),*) => {$(
        impl ToArgs for $t {
            fn write_args(&self, cmd: &mut Cmd) {
                cmd.push_int(i64::from(*self));
            }
        }
    )*};
}
signed_args!(i8, i16, i32, i64);

macro_rules! unsigned_args {
    ($($t:ty),*) => {$(
        impl ToArgs for $t {
            fn write_args(&self, cmd: &mut Cmd) {
                cmd.push_uint(u64::from(*self));
            }
        }
    )*};
}
unsigned_args!(u16, u32, u64);

impl ToArgs for isize {
    fn write_args(&self, cmd: &mut Cmd) {
        // isize is at most 64 bits on every supported target.
        cmd.push_int(*self as i64);
    }
}

impl ToArgs for usize {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_uint(*self as u64);
    }
}

impl ToArgs for f64 {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_float(*self);
    }
}

impl ToArgs for f32 {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_float(f64::from(*self));
    }
}

impl<T: ToArgs> ToArgs for [T] {
    fn write_args(&self, cmd: &mut Cmd) {
        for item in self {
            item.write_args(cmd);
        }
    }
}

impl<T: ToArgs, const N: usize> ToArgs for [T; N] {
    fn write_args(&self, cmd: &mut Cmd) {
        for item in self {
            item.write_args(cmd);
        }
    }
}

impl<T: ToArgs> ToArgs for Vec<T> {
    fn write_args(&self, cmd: &mut Cmd) {
        for item in self {
            item.write_args(cmd);
        }
    }
}

impl<T: ToArgs> ToArgs for Option<T> {
    fn write_args(&self, cmd: &mut Cmd) {
        if let Some(v) = self {
            v.write_args(cmd);
        }
    }
}

macro_rules! tuple_args {
    ($($name:ident)+) => {
        impl<$($name: ToArgs),+> ToArgs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn write_args(&self, cmd: &mut Cmd) {
                let ($($name,)+) = self;
                $($name.write_args(cmd);)+
            }
        }
    };
}
tuple_args!(A);
tuple_args!(A B);
tuple_args!(A B C);
tuple_args!(A B C D);

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Cmd) -> Vec<Vec<u8>> {
        cmd.args().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn bytes_are_one_argument() {
        let cmd = Cmd::new("SET")
            .arg(vec![1u8, 2, 3])
            .arg(&b"xy"[..])
            .arg(*b"z")
            .arg(Bytes::from_static(b"b"));
        assert_eq!(args(&cmd), [&b"SET"[..], &[1, 2, 3], b"xy", b"z", b"b"]);
    }

    #[test]
    fn collections_expand() {
        let cmd = Cmd::new("DEL")
            .arg(vec!["a", "b"])
            .arg(["c"])
            .arg(&[String::from("d")][..])
            .arg(Some(5u32))
            .arg(None::<&str>)
            .arg(("k", 1.5));
        assert_eq!(
            args(&cmd),
            [&b"DEL"[..], b"a", b"b", b"c", b"d", b"5", b"k", b"1.5"]
        );
    }

    #[test]
    fn integers_of_every_width() {
        let cmd = Cmd::new("X")
            .arg(-1i8)
            .arg(u16::MAX)
            .arg(-7isize)
            .arg(9usize)
            .arg(2.5f32);
        assert_eq!(
            args(&cmd),
            [&b"X"[..], b"-1", b"65535", b"-7", b"9", b"2.5"]
        );
    }
}
