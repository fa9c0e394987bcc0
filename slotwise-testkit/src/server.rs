//! One server process: its command line, starting it, knowing when it is up, and the signals the
//! fault helpers send it (kill, stop, continue).
//!
//! A test server is a child of this process, forked by the [`spawner`] so it dies
//! with the process. A persistent server daemonizes itself and is known only by the pid in its
//! pid file. This module does not know about clusters: slots, roles and the bus are the
//! [cluster](crate::cluster)'s business.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slotwise::protocol::Cmd;

use crate::admin::{addr, Admin};
use crate::error::{Error, ErrorKind};
use crate::spawner;
use crate::tls::TlsFiles;

/// How long a server gets to start answering. Startup takes milliseconds; the margin is for a
/// loaded machine running several test binaries at once.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How often to look again while waiting for a process.
const POLL: Duration = Duration::from_millis(10);

/// Whether a node's process is running, as far as this test kit made it so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeState {
    /// The process is running and was not paused.
    Running,
    /// The process was stopped with `SIGSTOP` ([`pause`](crate::LocalCluster::pause)): it keeps
    /// its sockets but answers nothing.
    Paused,
    /// The process was killed or shut down, or never came up.
    Stopped,
}

/// How every server of one cluster is started.
#[derive(Clone, Debug)]
pub(crate) struct ServerSpec {
    pub(crate) binary: PathBuf,
    pub(crate) node_timeout: Duration,
    pub(crate) extra_config: Vec<(String, String)>,
    /// Daemonize and outlive this process instead of dying with it.
    pub(crate) persistent: bool,
    /// Serve TLS with these files, on each server's TLS port.
    pub(crate) tls: Option<ServerTls>,
}

/// The TLS settings every server of a TLS cluster shares.
#[derive(Clone, Debug)]
pub(crate) struct ServerTls {
    pub(crate) files: TlsFiles,
    /// `tls-auth-clients yes` rather than `optional`.
    pub(crate) auth_clients: bool,
}

/// Why a server did not come up.
#[derive(Debug)]
pub(crate) enum StartFailure {
    /// Another process took one of its ports first; starting again on other ports will work.
    PortInUse(Error),
    /// Anything else.
    Other(Error),
}

impl From<StartFailure> for Error {
    fn from(failure: StartFailure) -> Error {
        match failure {
            StartFailure::PortInUse(e) | StartFailure::Other(e) => e,
        }
    }
}

/// One server process and its directory.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) port: u16,
    pub(crate) bus_port: u16,
    /// The TLS client port, for a server of a TLS cluster.
    pub(crate) tls_port: Option<u16>,
    pub(crate) dir: PathBuf,
    /// Options of this server alone, after the cluster's.
    config: Vec<(String, String)>,
    child: Option<Child>,
    /// The process id; for a persistent server it is known only once the pid file is written.
    pid: Option<libc::pid_t>,
    state: NodeState,
}

impl Server {
    /// Starts a server in `dir` (which must exist) with its own `config` options, without
    /// waiting for it to answer. It listens for TLS on `tls_port` when `spec` has TLS settings.
    pub(crate) fn spawn(
        spec: &ServerSpec,
        port: u16,
        bus_port: u16,
        tls_port: Option<u16>,
        dir: PathBuf,
        config: Vec<(String, String)>,
    ) -> Result<Server, Error> {
        let mut server = Server {
            port,
            bus_port,
            tls_port,
            dir,
            config,
            child: None,
            pid: None,
            state: NodeState::Stopped,
        };
        server.launch(spec)?;
        Ok(server)
    }

    /// A persistent server started by another process, found by its directory.
    ///
    /// The pid file may be stale and its pid reused by an unrelated process, so a process counts
    /// as this server only if it runs in the server's directory (servers `chdir` there).
    pub(crate) fn attach(port: u16, bus_port: u16, dir: PathBuf) -> Server {
        let pid = read_pid_file(&dir).filter(|&pid| is_alive(pid) && runs_in(pid, &dir));
        let alive = pid.is_some();
        Server {
            port,
            bus_port,
            tls_port: None,
            dir,
            config: Vec::new(),
            child: None,
            pid,
            state: if alive {
                NodeState::Running
            } else {
                NodeState::Stopped
            },
        }
    }

    /// Whether the process is running, paused or stopped.
    pub(crate) fn state(&self) -> NodeState {
        self.state
    }

    /// True while the process exists (a zombie does not count).
    pub(crate) fn is_process_alive(&self) -> bool {
        self.pid.is_some_and(is_alive)
    }

    /// Starts the process again on the same ports and directory, without waiting for it.
    ///
    /// The directory keeps `nodes.conf`, so the node comes back with its id and rejoins.
    pub(crate) fn respawn(&mut self, spec: &ServerSpec) -> Result<(), Error> {
        if self.state != NodeState::Stopped {
            self.kill()?;
        }
        self.launch(spec)
    }

    fn launch(&mut self, spec: &ServerSpec) -> Result<(), Error> {
        let stderr_path = self.dir.join("stderr.log");
        let stderr = File::create(&stderr_path)
            .map_err(|e| Error::io(format!("creating {}", stderr_path.display()), e))?;
        let mut command = self.command(spec);
        command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let doing = || format!("starting {} for {}", spec.binary.display(), addr(self.port));
        if spec.persistent {
            // A killed daemon leaves its pid file behind; its stale pid must not be mistaken for
            // the new process while that one starts.
            let _ = fs::remove_file(self.dir.join("redis.pid"));
            // The foreground process exits as soon as the daemon has forked; a non-zero status
            // means the configuration was rejected before that.
            let status = command.status().map_err(|e| Error::io(doing(), e))?;
            if !status.success() {
                return Err(Error::new(
                    ErrorKind::Start,
                    format!("{}: exited with {status}{}", doing(), self.log_tail()),
                ));
            }
            self.pid = None;
        } else {
            let child = spawner::spawn_tied(command).map_err(|e| Error::io(doing(), e))?;
            self.pid = libc::pid_t::try_from(child.id()).ok();
            self.child = Some(child);
        }
        self.state = NodeState::Running;
        Ok(())
    }

    fn command(&self, spec: &ServerSpec) -> Command {
        let mut command = Command::new(&spec.binary);
        // `dir` comes first: the server changes into it while reading its options, and later
        // relative paths (nodes.conf) are resolved there.
        command.arg("--dir").arg(&self.dir);
        command.args(["--port", &self.port.to_string()]);
        command.args(["--bind", crate::admin::HOST, "--protected-mode", "no"]);
        command.args(["--cluster-enabled", "yes"]);
        command.args(["--cluster-config-file", "nodes.conf"]);
        command.args([
            "--cluster-node-timeout",
            &spec.node_timeout.as_millis().to_string(),
        ]);
        // Redis 7 takes the bus port as an option, so it need not be port + 10000 — which
        // matters when ports are chosen at random.
        command.args(["--cluster-port", &self.bus_port.to_string()]);
        command.args(["--save", "", "--appendonly", "no"]);
        // A replica's first sync otherwise waits 5 s for more replicas to share the transfer.
        command.args(["--repl-diskless-sync-delay", "0"]);
        command.arg("--logfile").arg(self.dir.join("node.log"));
        if let (Some(tls), Some(tls_port)) = (&spec.tls, self.tls_port) {
            command.args(["--tls-port", &tls_port.to_string()]);
            // The bus and replication over TLS too, as a TLS deployment runs; the plain port
            // stays open for the kit's own calls.
            command.args(["--tls-cluster", "yes", "--tls-replication", "yes"]);
            command.arg("--tls-cert-file").arg(tls.files.cert());
            command.arg("--tls-key-file").arg(tls.files.key());
            command.arg("--tls-ca-cert-file").arg(tls.files.ca_cert());
            let auth = if tls.auth_clients { "yes" } else { "optional" };
            command.args(["--tls-auth-clients", auth]);
        }
        if spec.persistent {
            command.args(["--daemonize", "yes"]);
            command.arg("--pidfile").arg(self.dir.join("redis.pid"));
        } else {
            command.args(["--daemonize", "no"]);
        }
        // Last, so that a caller's value wins over ours.
        for (key, value) in spec.extra_config.iter().chain(&self.config) {
            command.arg(format!("--{key}")).arg(value);
        }
        command
    }

    /// Waits until the server answers as itself and has finished loading.
    pub(crate) fn wait_ready(&mut self, deadline: Instant) -> Result<(), StartFailure> {
        loop {
            if let Some(failure) = self.exit_failure() {
                return Err(failure);
            }
            if self.pid.is_none() {
                self.pid = read_pid_file(&self.dir);
            }
            let last_seen = match self.probe() {
                Ok(Probe::Ready) => return Ok(()),
                Ok(Probe::Loading) => "still loading".to_owned(),
                Ok(Probe::Impostor(pid)) => {
                    // Our process lost the race for the port to another server; it is about to
                    // exit (or already has), and talking to the other one would be a disaster.
                    let _ = self.kill();
                    return Err(StartFailure::PortInUse(Error::new(
                        ErrorKind::Start,
                        format!(
                            "{} is served by another process (pid {pid}), not ours",
                            addr(self.port)
                        ),
                    )));
                }
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                let _ = self.kill();
                return Err(StartFailure::Other(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{} did not come up in time (last: {last_seen}){}",
                        addr(self.port),
                        self.log_tail()
                    ),
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// If the process has exited, why.
    fn exit_failure(&mut self) -> Option<StartFailure> {
        let exited = match &mut self.child {
            Some(child) => match child.try_wait() {
                Ok(Some(status)) => format!("exited with {status}"),
                _ => return None,
            },
            None => match self.pid {
                Some(pid) if !is_alive(pid) => "exited".to_owned(),
                _ => return None,
            },
        };
        self.child = None;
        self.state = NodeState::Stopped;
        let tail = self.log_tail();
        let e = Error::new(
            ErrorKind::Start,
            format!("the server for {} {exited}{tail}", addr(self.port)),
        );
        Some(if tail.contains("already in use") {
            StartFailure::PortInUse(e)
        } else {
            StartFailure::Other(e)
        })
    }

    fn probe(&self) -> Result<Probe, Error> {
        let mut admin = Admin::connect(self.port)?;
        let info = admin.call_text(&Cmd::new("INFO").arg("server").arg("persistence"))?;
        let pid = crate::wait::info_field(&info, "process_id").and_then(|p| p.parse().ok());
        if let (Some(ours), Some(theirs)) = (self.pid, pid) {
            if ours != theirs {
                return Ok(Probe::Impostor(theirs));
            }
        }
        if crate::wait::info_field(&info, "loading") == Some("1") {
            return Ok(Probe::Loading);
        }
        Ok(Probe::Ready)
    }

    /// Kills the process with SIGKILL and waits until it is gone.
    pub(crate) fn kill(&mut self) -> Result<(), Error> {
        if let Some(mut child) = self.child.take() {
            // Killing a process that already exited fails harmlessly; `wait` reaps it either way.
            let _ = child.kill();
            child
                .wait()
                .map_err(|e| Error::io(format!("waiting for {} to exit", addr(self.port)), e))?;
        } else if let Some(pid) = self.pid.or_else(|| read_pid_file(&self.dir)) {
            signal(pid, libc::SIGKILL, self.port)?;
            wait_for_process(pid, self.port, "to exit", |state| state.is_none_or_dead())?;
        }
        self.state = NodeState::Stopped;
        Ok(())
    }

    /// Forgets the process without signalling it (it shut itself down).
    pub(crate) fn mark_stopped(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.state = NodeState::Stopped;
    }

    /// Stops the process with SIGSTOP and waits until the kernel reports it stopped.
    pub(crate) fn pause(&mut self) -> Result<(), Error> {
        let pid = self.running_pid("pause")?;
        signal(pid, libc::SIGSTOP, self.port)?;
        wait_for_process(pid, self.port, "to stop", |state| {
            state == ProcState::Stopped
        })?;
        self.state = NodeState::Paused;
        Ok(())
    }

    /// Continues a paused process with SIGCONT and waits until it is scheduled again.
    pub(crate) fn resume(&mut self) -> Result<(), Error> {
        let Some(pid) = self.pid.filter(|_| self.state == NodeState::Paused) else {
            return Err(Error::new(
                ErrorKind::State,
                format!("cannot resume {}: it is not paused", addr(self.port)),
            ));
        };
        signal(pid, libc::SIGCONT, self.port)?;
        wait_for_process(pid, self.port, "to continue", |state| {
            state != ProcState::Stopped
        })?;
        self.state = NodeState::Running;
        Ok(())
    }

    fn running_pid(&self, action: &str) -> Result<libc::pid_t, Error> {
        match (self.state, self.pid) {
            (NodeState::Running, Some(pid)) => Ok(pid),
            _ => Err(Error::new(
                ErrorKind::State,
                format!(
                    "cannot {action} {}: it is {:?}",
                    addr(self.port),
                    self.state
                ),
            )),
        }
    }

    /// The last lines of the server's log and stderr, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        let mut out = String::new();
        for name in ["stderr.log", "node.log"] {
            let Ok(text) = fs::read_to_string(self.dir.join(name)) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(12)..];
            if !tail.is_empty() {
                out.push_str(&format!("\n--- last lines of {name} ---\n"));
                out.push_str(&tail.join("\n"));
            }
        }
        out
    }
}

enum Probe {
    Ready,
    Loading,
    Impostor(libc::pid_t),
}

/// A process's scheduling state from `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProcState {
    Gone,
    Zombie,
    Stopped,
    Other,
}

impl ProcState {
    fn is_none_or_dead(self) -> bool {
        matches!(self, ProcState::Gone | ProcState::Zombie)
    }
}

fn proc_state(pid: libc::pid_t) -> ProcState {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return ProcState::Gone;
    };
    // The command name in parentheses may contain spaces, so the state is found after the last
    // closing parenthesis.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    match state {
        Some('Z' | 'X' | 'x') => ProcState::Zombie,
        Some('T' | 't') => ProcState::Stopped,
        Some(_) => ProcState::Other,
        None => ProcState::Gone,
    }
}

/// True if the process exists and is not a zombie (a daemon's zombie may never be reaped in a
/// container whose init does not reap).
fn is_alive(pid: libc::pid_t) -> bool {
    !proc_state(pid).is_none_or_dead()
}

/// True if the process's working directory is `dir`.
fn runs_in(pid: libc::pid_t, dir: &Path) -> bool {
    fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir)
}

fn signal(pid: libc::pid_t, signal: libc::c_int, port: u16) -> Result<(), Error> {
    // SAFETY: kill(2) only sends a signal to `pid`, a server this kit started.
    if unsafe { libc::kill(pid, signal) } == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ESRCH) && signal == libc::SIGKILL {
        return Ok(());
    }
    Err(Error::io(
        format!("sending signal {signal} to {} (pid {pid})", addr(port)),
        e,
    ))
}

fn wait_for_process(
    pid: libc::pid_t,
    port: u16,
    what: &str,
    done: impl Fn(ProcState) -> bool,
) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if done(proc_state(pid)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("{} (pid {pid}) did not get {what} within 10 s", addr(port)),
            ));
        }
        std::thread::sleep(POLL);
    }
}

fn read_pid_file(dir: &Path) -> Option<libc::pid_t> {
    fs::read_to_string(dir.join("redis.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_running_and_a_bogus_pid_is_gone() {
        let me = libc::pid_t::try_from(std::process::id()).unwrap();
        assert_eq!(proc_state(me), ProcState::Other);
        assert!(is_alive(me));
        assert_eq!(proc_state(libc::pid_t::MAX), ProcState::Gone);
    }

    #[test]
    fn a_taken_port_is_reported_as_port_in_use() {
        let spec = ServerSpec {
            binary: crate::binary::find(None).unwrap(),
            node_timeout: Duration::from_secs(2),
            extra_config: Vec::new(),
            persistent: false,
            tls: None,
        };
        let port = crate::ports::free_port().unwrap();
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let bus_port = taken.local_addr().unwrap().port();
        let dir = crate::workdir::create_test_dir(port).unwrap();
        let mut server =
            Server::spawn(&spec, port, bus_port, None, dir.clone(), Vec::new()).unwrap();
        let result = server.wait_ready(Instant::now() + START_TIMEOUT);
        crate::workdir::remove(&dir);
        match result {
            Err(StartFailure::PortInUse(e)) => assert!(e.to_string().contains("in use"), "{e}"),
            other => panic!("expected PortInUse, got {other:?}"),
        }
        assert_eq!(server.state(), NodeState::Stopped);
    }
}
