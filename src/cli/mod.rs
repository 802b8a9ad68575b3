//! The `zczk` command line: one module per subcommand, each with its clap `Args` and `run`.

mod error;
mod fmt;
mod validate;

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
}

/// Runs a parsed command line and turns its outcome into the exit status: errors are printed
/// to stderr as one line, with status 1.
pub fn main(cli: Cli) -> ExitCode {
    init_logging(cli.verbose);
    let outcome = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Fmt(args) => fmt::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("zczk: {error}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(verbose: u8) {
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
