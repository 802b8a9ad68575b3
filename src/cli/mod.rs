//! The `zczk` command line: one module per subcommand, each with its clap `Args` and `run`.

mod completions;
mod delete;
mod error;
mod export;
mod fmt;
mod get;
mod graph;
mod import;
mod progress;
mod register;
mod resolve;
mod serve;
mod set_property;
mod text_io;
pub mod upstream;
mod validate;
mod walk;
mod watch;
mod zk;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;

/// ZooKeeper service registration, discovery, and tree import/export.
#[derive(Debug, Parser)]
#[command(name = "zczk", version, about, long_about = None)]
pub struct Cli {
    /// More logging on stderr (-v: info, -vv: debug, -vvv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check tree text: prints every error as FILE:LINE:COLUMN: message; never connects.
    Validate(validate::Args),
    /// Print tree text in canonical form.
    Fmt(fmt::Args),
    /// Print a subtree as tree text (or JSON).
    Export(export::Args),
    /// Create and update nodes from tree text; report or trim the extras.
    Import(import::Args),
    /// Set properties of a node (one versioned update).
    SetProperty(set_property::Args),
    /// Print a node's properties as JSON, property links followed.
    Get(get::Args),
    /// Print the real path a path stands for, following links.
    Resolve(resolve::ResolveArgs),
    /// Add a node link.
    Ln(resolve::LnArgs),
    /// Print the paths of a subtree.
    Walk(walk::Args),
    /// Delete a subtree, keeping ephemeral nodes.
    Delete(delete::Args),
    /// Register a server until interrupted.
    Register(register::Args),
    /// Print a node's properties or children on every change.
    Watch(watch::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
    /// Print the service graph of tree text as Graphviz DOT.
    Graph(graph::Args),
    /// Serve the in-memory emulator over ZooKeeper's TCP protocol.
    Serve(serve::Args),
}

/// Runs a parsed command line and turns its outcome into the exit status: errors are printed
/// to stderr as one line, with status 1.
pub fn main(cli: Cli) -> ExitCode {
    init(cli.verbose);
    finish(match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
        Command::SetProperty(args) => set_property::run(args),
        Command::Get(args) => get::run(args),
        Command::Resolve(args) => resolve::resolve(args),
        Command::Ln(args) => resolve::ln(args),
        Command::Walk(args) => walk::run(args),
        Command::Delete(args) => delete::run(args),
        Command::Register(args) => register::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Serve(args) => serve::run(args),
    })
}

/// Turns a command's outcome into the exit status, printing an error as one line.
fn finish(outcome: Result<ExitCode, CliError>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("zczk: {error}");
            ExitCode::from(1)
        }
    }
}

/// Sets up logging on stderr, and a panic hook that prints one line instead of a trace.
fn init(verbose: u8) {
    std::panic::set_hook(Box::new(|info| eprintln!("zczk: internal error (please report it): {info}")));
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZCZK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).try_init();
}
