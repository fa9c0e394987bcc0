//! Process-level measurements: CPU time from `getrusage`, resident memory from
//! `/proc/self/status`, and running a child process to completion while collecting its own
//! resource usage with `wait4` (so one child's figures never mix with another's).
//!
//! Latency histograms are not here: see `worker`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

/// CPU time (user + system) this process has used so far, all threads included.
pub(crate) fn cpu_time() -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given, which lives on this stack frame;
    // an all-zero `rusage` is a valid value of the type.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`), in KiB.
pub(crate) fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// What a finished child process printed and used.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Everything it wrote to stdout.
    pub(crate) stdout: String,
    /// Everything it wrote to stderr.
    pub(crate) stderr: String,
    /// True if it exited with status 0.
    pub(crate) success: bool,
    /// Its CPU time, user + system.
    pub(crate) cpu: Duration,
    /// Its peak resident memory, KiB.
    pub(crate) max_rss_kib: u64,
}

/// Runs `command` to completion, capturing its output and its own resource usage.
pub(crate) fn run_child(mut command: Command) -> Result<Finished, String> {
    let program = format!("{:?}", command.get_program());
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    // Drain stderr on a thread while reading stdout here, so neither pipe can fill up and stall
    // the child.
    let mut err_pipe = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(pipe) = err_pipe.as_mut() {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)
            .map_err(|e| format!("reading the output of {program}: {e}"))?;
    }
    let stderr = err_reader.join().unwrap_or_default();
    let pid = child.id() as libc::pid_t;
    // `std::process::Child::wait` does not report resource usage, so reap the child with
    // `wait4` instead; `child` is not used after this (dropping it neither waits nor kills).
    let mut status: libc::c_int = 0;
    // SAFETY: `wait4` writes only the status and the usage struct, both owned by this frame;
    // the pid is our own child, not yet reaped.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::wait4(pid, &mut status, 0, &mut usage) != pid {
            return Err(format!(
                "waiting for {program}: {}",
                std::io::Error::last_os_error()
            ));
        }
        usage
    };
    let success = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok(Finished {
        stdout,
        stderr,
        success,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory() {
        let rss = status_kib("VmRSS").expect("VmRSS in /proc/self/status");
        let hwm = status_kib("VmHWM").expect("VmHWM in /proc/self/status");
        assert!(rss > 0 && hwm >= rss, "rss {rss} hwm {hwm}");
    }

    #[test]
    fn child_usage_is_collected() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2"]);
        let done = run_child(command).unwrap();
        assert!(done.success);
        assert_eq!(done.stdout, "out\n");
        assert_eq!(done.stderr, "err\n");
        assert!(done.max_rss_kib > 0);
    }
}
