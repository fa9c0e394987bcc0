//! `slotwise`: the command-line companion of the slotwise Redis Cluster client.
//!
//! This file owns the command line itself: the clap definition of every subcommand, dispatch,
//! and turning the outcome into an exit code (0 success, 1 runtime failure or error reply, 2
//! usage error, which is what clap itself uses when it rejects the arguments, 130 after Ctrl-C).
//! It does not do any work of its own: [`demo`] runs the walk-through (the default), [`query`]
//! runs `cli` (its prompt and piped input in [`repl`]) and `nodes` (with the TLS settings of
//! [`tls`]), [`cluster`] the `cluster` subcommands; [`output`], [`reply`] and [`style`] decide
//! how results look.

mod cluster;
mod demo;
mod output;
mod query;
mod repl;
mod reply;
mod style;
mod tls;

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// The seed when `-u` is not given: the first node of `slotwise cluster start`.
const DEFAULT_URL: &str = "redis://127.0.0.1:7000";

/// The port of the first node when `--port` is not given: the Redis Cluster tutorial's choice,
/// so commands copied from elsewhere (`redis-cli -c -p 7000`) work against it.
const DEFAULT_BASE_PORT: u16 = 7000;

/// The highest base port: each node's cluster bus port is its port + 10000, which must fit in a
/// `u16` too.
const MAX_BASE_PORT: i64 = 55_535;

/// Command-line companion of slotwise, a Redis Cluster client for Rust.
///
/// Without a subcommand it runs the demo: a throwaway local cluster, and the client routing,
/// fanning out and surviving a failover on it.
#[derive(Debug, Parser)]
#[command(name = "slotwise", version)]
#[command(after_help = "Examples:\n  \
    slotwise                                     # the demo (same as `slotwise demo`)\n  \
    slotwise cli SET foo bar                     # one command, routed by its key\n  \
    slotwise cli                                 # a prompt; or commands piped in, one per line\n  \
    slotwise cli --target primaries DBSIZE       # one reply per primary\n  \
    slotwise nodes -u redis://10.0.0.5:6379      # the topology of any cluster\n  \
    slotwise nodes --tls --cacert ca.crt -u redis://10.0.0.5:6380   # ... over TLS\n  \
    slotwise cluster start                       # 3 primaries + 3 replicas on ports 7000-7005")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Walk through the client on a throwaway local cluster (the default).
    ///
    /// Starts 3 primaries with 1 replica each on free ports, shows creating a client, key slots
    /// and hash tags, target nodes, KEYS across nodes, multi-key commands, reading from
    /// replicas, direct node access and a live failover, naming the node that served each
    /// command, then stops the cluster (also on Ctrl-C). Needs `redis-server` or
    /// `valkey-server` 7.0 or newer on PATH, or its path in SLOTWISE_REDIS_SERVER.
    Demo,
    /// Run one command against a cluster, routed as the library routes it.
    ///
    /// The reply is printed as redis-cli prints it; a reply of several nodes as `node =>
    /// reply`. An error reply exits with 1 and its message on stderr.
    Cli(CliArgs),
    /// Show a cluster's topology: each node's role, primary, slot ranges and key count.
    Nodes(ConnectArgs),
    /// Start, inspect and stop a local Redis Cluster that keeps running between commands.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

/// How `cli` and `nodes` reach the cluster: `-u` and the TLS options, named as in redis-cli.
#[derive(Debug, Args)]
struct ConnectArgs {
    /// Seed node URL, redis://[USER[:PASSWORD]@]HOST[:PORT] (rediss:// for TLS); repeat it to
    /// give several nodes to try in turn.
    #[arg(short, long = "url", value_name = "URL", default_value = DEFAULT_URL)]
    urls: Vec<String>,
    /// Connect with TLS, also to redis:// seeds. Without --cacert, the server's certificate
    /// must be signed by one of the public web's certificate authorities.
    #[arg(long)]
    tls: bool,
    /// Trust the CA certificates in this PEM file instead of the public web's.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Present this client certificate (PEM) for mutual TLS; needs --key and --cacert.
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Check the server's certificate against this name instead of the host connected to.
    #[arg(long, value_name = "NAME")]
    sni: Option<String>,
}

impl ConnectArgs {
    fn tls_options(&self) -> tls::TlsOptions {
        tls::TlsOptions {
            enabled: self.tls,
            cacert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            sni: self.sni.clone(),
        }
    }
}

/// Options of `cli`.
#[derive(Debug, Args)]
struct CliArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Send the command to these nodes instead of routing it by its keys: primaries, replicas,
    /// all, random, default, or one node as HOST:PORT.
    #[arg(long, value_name = "TARGET", value_parser = query::parse_target)]
    target: Option<query::TargetArg>,
    /// Send read-only commands to replicas (READONLY mode).
    #[arg(long)]
    readonly: bool,
    /// The command and its arguments, e.g. `SET foo bar`. Without one, a prompt (or, when
    /// stdin is not a terminal, one command per line of stdin).
    #[arg(
        value_name = "CMD [ARG]...",
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    words: Vec<String>,
}

/// `slotwise cluster …`.
#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Start a local cluster on 127.0.0.1 that keeps running after this command exits.
    ///
    /// Nodes listen on consecutive ports from --port on (primaries first, then replicas) and
    /// use port + 10000 for the cluster bus. Needs `redis-server` or `valkey-server` 7.0 or
    /// newer on PATH, or its path in SLOTWISE_REDIS_SERVER.
    Start(StartArgs),
    /// Show every node of a running local cluster: role, primary, slots, and a live PING.
    ///
    /// Exits non-zero when no cluster runs at --port or a node does not answer.
    Status(PortArg),
    /// Stop the local cluster started at --port and delete its files.
    Stop(PortArg),
}

/// Options of `cluster start`.
#[derive(Debug, Args)]
struct StartArgs {
    /// How many primaries share the 16384 slots.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=100))]
    primaries: u16,
    /// How many replicas each primary gets.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=10))]
    replicas: u16,
    #[command(flatten)]
    port: PortArg,
}

/// The `--port` option shared by the `cluster` subcommands.
#[derive(Debug, Args)]
struct PortArg {
    /// Port of the first node; it also names the cluster for `status` and `stop`.
    #[arg(
        short,
        long,
        default_value_t = DEFAULT_BASE_PORT,
        value_parser = clap::value_parser!(u16).range(1..=MAX_BASE_PORT),
    )]
    port: u16,
}

/// Why a command failed; printed to stderr, and the exit code to end with.
#[derive(Debug)]
struct Failure {
    message: String,
    code: u8,
    /// Printed without the `slotwise: ` prefix: a server's error reply, shown as redis-cli
    /// shows it.
    bare: bool,
}

impl Failure {
    /// A failure at run time: exit code 1.
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 1,
            bare: false,
        }
    }

    /// Arguments that cannot be used (a bad URL): exit code 2, as for clap's own usage errors.
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            ..Failure::new(message)
        }
    }

    /// An error reply, printed as it is: exit code 1.
    fn bare(message: impl Into<String>) -> Failure {
        Failure {
            bare: true,
            ..Failure::new(message)
        }
    }

    /// Stopped by Ctrl-C: exit code 130, the shell's code for death by SIGINT.
    fn interrupted(message: impl Into<String>) -> Failure {
        Failure {
            code: 130,
            ..Failure::new(message)
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// With `RUST_LOG` set (e.g. `RUST_LOG=slotwise=debug`), the library's traces go to stderr:
/// each command's span as it closes, with the node that served it and how many attempts it
/// took, and every retry and refresh.
fn trace_if_asked() {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn main() -> ExitCode {
    trace_if_asked();
    // `parse` prints help and version itself (exit 0) and rejects bad arguments with exit 2.
    let cli = Cli::parse();
    let outcome = match cli.command {
        None | Some(Command::Demo) => demo::run(),
        Some(Command::Cli(args)) => query::cli(query::CliRequest {
            tls: args.connect.tls_options(),
            urls: args.connect.urls,
            target: args.target,
            readonly: args.readonly,
            words: args.words,
        }),
        Some(Command::Nodes(args)) => query::nodes(&args.urls, &args.tls_options()),
        Some(Command::Cluster(ClusterCommand::Start(args))) => cluster::start(
            usize::from(args.primaries),
            usize::from(args.replicas),
            args.port.port,
        ),
        Some(Command::Cluster(ClusterCommand::Status(args))) => cluster::status(args.port),
        Some(Command::Cluster(ClusterCommand::Stop(args))) => cluster::stop(args.port),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if failure.bare {
                eprintln!("{failure}");
            } else {
                eprintln!("slotwise: {failure}");
            }
            ExitCode::from(failure.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_tutorial_cluster() {
        let cli = Cli::try_parse_from(["slotwise", "cluster", "start"]).unwrap();
        let Some(Command::Cluster(ClusterCommand::Start(args))) = cli.command else {
            panic!("expected `cluster start`, got {:?}", cli.command);
        };
        assert_eq!(
            (args.primaries, args.replicas, args.port.port),
            (3, 1, 7000)
        );
    }

    #[test]
    fn a_base_port_without_room_for_bus_ports_is_a_usage_error() {
        let e =
            Cli::try_parse_from(["slotwise", "cluster", "status", "--port", "60000"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn cli_takes_the_command_words_as_given() {
        let cli = Cli::try_parse_from([
            "slotwise",
            "cli",
            "--target",
            "primaries",
            "SET",
            "k",
            "-1",
            "--readonly",
        ])
        .unwrap();
        let Some(Command::Cli(args)) = cli.command else {
            panic!("expected `cli`, got {:?}", cli.command);
        };
        assert_eq!(args.connect.urls, [DEFAULT_URL]);
        assert_eq!(args.target, Some(query::TargetArg::Primaries));
        assert!(
            !args.readonly,
            "options after the command are its arguments"
        );
        assert_eq!(args.words, ["SET", "k", "-1", "--readonly"]);
    }

    #[test]
    fn tls_options_are_named_as_in_redis_cli() {
        let cli = Cli::try_parse_from([
            "slotwise",
            "nodes",
            "--tls",
            "--cacert",
            "ca.crt",
            "--cert",
            "c.crt",
            "--key",
            "c.key",
            "--sni",
            "cache.example",
        ])
        .unwrap();
        let Some(Command::Nodes(args)) = cli.command else {
            panic!("expected `nodes`, got {:?}", cli.command);
        };
        assert_eq!(
            args.tls_options(),
            tls::TlsOptions {
                enabled: true,
                cacert: Some("ca.crt".into()),
                cert: Some("c.crt".into()),
                key: Some("c.key".into()),
                sni: Some("cache.example".to_owned()),
            }
        );
    }

    #[test]
    fn cli_takes_a_command_or_none_and_needs_a_known_target() {
        // No command: the prompt.
        let parsed = Cli::try_parse_from(["slotwise", "cli"]).unwrap();
        assert!(matches!(parsed.command, Some(Command::Cli(args)) if args.words.is_empty()));
        let e =
            Cli::try_parse_from(["slotwise", "cli", "--target", "nowhere", "PING"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
