//! `slotwise`: the command-line companion of the slotwise Redis Cluster client.
//!
//! This file owns the command line itself: the clap definition of every subcommand, dispatch,
//! and turning the outcome into an exit code (0 success, 1 runtime failure, 2 usage error, which
//! is what clap itself uses when it rejects the arguments). It does not do any work of its own:
//! [`cluster`] runs the `cluster` subcommands and [`output`] prints what they found.
//!
//! Only `cluster start|status|stop` exist so far. `demo` (the eventual default), `cli` and
//! `nodes` are planned; until `demo` lands, running `slotwise` without arguments prints the
//! help.

mod cluster;
mod output;

use std::fmt;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

/// The port of the first node when `--port` is not given: the Redis Cluster tutorial's choice,
/// so commands copied from elsewhere (`redis-cli -c -p 7000`) work against it.
const DEFAULT_BASE_PORT: u16 = 7000;

/// The highest base port: each node's cluster bus port is its port + 10000, which must fit in a
/// `u16` too.
const MAX_BASE_PORT: i64 = 55_535;

/// Command-line companion of slotwise, a Redis Cluster client for Rust.
///
/// For now it runs a local Redis Cluster that keeps running between commands, to try the
/// client against.
#[derive(Debug, Parser)]
#[command(name = "slotwise", version)]
#[command(after_help = "Example:\n  \
    slotwise cluster start          # 3 primaries + 3 replicas on ports 7000-7005\n  \
    slotwise cluster status         # roles, slots and a PING of every node\n  \
    slotwise cluster stop")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Start, inspect and stop a local Redis Cluster that keeps running between commands.
    #[command(subcommand)]
    Cluster(ClusterCommand),
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

/// Why a command failed at run time; printed to stderr, exit code 1.
#[derive(Debug)]
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    // `parse` prints help and version itself (exit 0) and rejects bad arguments with exit 2.
    let cli = Cli::parse();
    let outcome = match cli.command {
        None => print_help(),
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
            eprintln!("slotwise: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// With no subcommand there is nothing to run yet, so the help is the most useful answer.
fn print_help() -> Result<(), Failure> {
    output::emit(&Cli::command().render_help().to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
