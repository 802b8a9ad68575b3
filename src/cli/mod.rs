//! The `zczk` command line: one module per subcommand, each with its clap `Args` and `run`.

mod completions;
mod delete;
mod denied;
mod error;
mod export;
mod fmt;
mod get;
mod graph;
mod import;
mod pick;
mod progress;
mod register;
mod resolve;
mod serve;
mod set_property;
mod signals;
mod snippet;
mod text_io;
mod ui;
pub mod upstream;
mod validate;
mod walk;
mod watch;
mod zk;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;

/// The allocator of the command-line programs (each sets it with `#[global_allocator]`; the
/// library leaves the choice to its users): bulk commands make and drop millions of small
/// strings and nodes, and with glibc's allocator that took a third of a million-node import's
/// CPU; with mimalloc the import takes about half the time.
pub type Allocator = mimalloc::MiMalloc;

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

/// The subcommands. Each one's help (`zczk COMMAND --help`) is the doc comment of its `Args`.
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::Args),
    Fmt(fmt::Args),
    Export(export::Args),
    Import(import::Args),
    SetProperty(set_property::Args),
    Get(get::Args),
    Resolve(resolve::ResolveArgs),
    Ln(resolve::LnArgs),
    Walk(walk::Args),
    Delete(delete::Args),
    Register(register::Args),
    Watch(watch::Args),
    Completions(completions::Args),
    Graph(graph::Args),
    Pick(pick::Args),
    Serve(serve::Args),
    Ui(ui::Args),
}

/// Runs a parsed command line and turns its outcome into the exit status: errors are printed
/// to stderr as one line (a parse error's line and a caret follow it), with status 1.
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
        Command::Pick(args) => pick::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Ui(args) => ui::run(args),
    })
}

/// Turns a command's outcome into the exit status, printing an error as one line (a parse
/// error's line and a caret under its column follow it).
fn finish(outcome: Result<ExitCode, CliError>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("zczk: {error}");
            if let CliError::Parse { error, .. } = &error {
                eprint!("{}", snippet::snippet(error, colour_on_stderr()));
            }
            ExitCode::from(1)
        }
    }
}

/// Sets up logging on stderr, and a panic hook that prints one line instead of a trace.
fn init(verbose: u8) {
    std::panic::set_hook(Box::new(|info| eprintln!("zczk: internal error (please report it): {info}")));
    let level = match verbose {
        // The ZooKeeper client's own reconnection warnings would repeat, in its words, the one
        // line the command prints on failure.
        0 => "warn,zookeeper_client=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZCZK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_env_filter(filter)
        .try_init();
}

/// True when stderr is a terminal and `NO_COLOR` is unset or empty (<https://no-color.org>):
/// colour codes in a file or a pipe are noise. (clap decides the same way for its own
/// messages; progress bars are drawn only on a terminal and have no colours.)
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty())
}
