//! How long a blocking command may legitimately wait for its reply, read from its arguments:
//! the timeout of `BLPOP` and its kin (seconds), the `BLOCK` option of `XREAD` (milliseconds),
//! the timeout of `WAIT` (milliseconds).
//!
//! The cluster adds it to the response timeout, so a blocked command is neither cut off early nor
//! waited for forever when its node has stopped answering.

use std::time::Duration;

use crate::protocol::Cmd;

/// How long a command blocks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Block {
    /// Not at all in this form (`XREAD` without `BLOCK`): it may share a connection.
    Not,
    /// Up to this long.
    For(Duration),
    /// Until something happens (a timeout of 0, or a blocking command this module does not
    /// know).
    Forever,
}

/// How long `cmd`, a command flagged `blocking`, may block.
pub(crate) fn block_time(cmd: &Cmd) -> Block {
    let args: Vec<&[u8]> = cmd.args().collect();
    let name = cmd.name().to_ascii_uppercase();
    let last = args.last().copied();
    match &name[..] {
        b"BLPOP" | b"BRPOP" | b"BZPOPMIN" | b"BZPOPMAX" | b"BLMOVE" | b"BRPOPLPUSH" => {
            seconds(last)
        }
        b"BLMPOP" | b"BZMPOP" => seconds(args.get(1).copied()),
        b"XREAD" | b"XREADGROUP" => {
            let block = args
                .iter()
                .position(|a| a.eq_ignore_ascii_case(b"BLOCK"))
                .and_then(|i| args.get(i + 1));
            match block {
                Some(ms) => millis(Some(ms)),
                None => Block::Not,
            }
        }
        b"WAIT" | b"WAITAOF" => millis(last),
        _ => Block::Forever,
    }
}

/// A timeout in seconds, possibly fractional; 0 waits forever. One the server will refuse at
/// once blocks not at all.
fn seconds(arg: Option<&[u8]>) -> Block {
    let Some(secs) = arg
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|s| s.parse::<f64>().ok())
    else {
        return Block::Not;
    };
    if secs == 0.0 {
        return Block::Forever;
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(d) => Block::For(d),
        Err(_) => Block::Not,
    }
}

/// A timeout in milliseconds; 0 waits forever.
fn millis(arg: Option<&[u8]>) -> Block {
    match arg
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(0) => Block::Forever,
        Some(ms) => Block::For(Duration::from_millis(ms)),
        None => Block::Not,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> Cmd {
        let mut parts = line.split(' ');
        let mut cmd = Cmd::new(parts.next().unwrap_or_default());
        for p in parts {
            cmd = cmd.arg(p);
        }
        cmd
    }

    #[test]
    fn timeouts_are_read_where_each_command_has_them() {
        let secs = |s: f64| Block::For(Duration::from_secs_f64(s));
        assert_eq!(block_time(&cmd("BLPOP a b 2")), secs(2.0));
        assert_eq!(block_time(&cmd("blpop a 0.5")), secs(0.5));
        assert_eq!(block_time(&cmd("BRPOP a 0")), Block::Forever);
        assert_eq!(block_time(&cmd("BLMOVE a b LEFT RIGHT 3")), secs(3.0));
        assert_eq!(block_time(&cmd("BZMPOP 1.5 2 a b MIN")), secs(1.5));
        assert_eq!(block_time(&cmd("BLMPOP 0 1 a LEFT")), Block::Forever);
        assert_eq!(
            block_time(&cmd("XREAD COUNT 5 BLOCK 250 STREAMS s $")),
            Block::For(Duration::from_millis(250))
        );
        assert_eq!(block_time(&cmd("XREAD STREAMS s 0")), Block::Not);
        assert_eq!(
            block_time(&cmd("XREADGROUP GROUP g c block 0 STREAMS s >")),
            Block::Forever
        );
        assert_eq!(
            block_time(&cmd("WAIT 1 100")),
            Block::For(Duration::from_millis(100))
        );
        assert_eq!(block_time(&cmd("BLPOP a -1")), Block::Not);
        assert_eq!(block_time(&cmd("BLPOP a x")), Block::Not);
        assert_eq!(block_time(&cmd("BLPOP a 1e300")), Block::Not);
        assert_eq!(block_time(&cmd("SOMEDAY k")), Block::Forever);
    }
}
