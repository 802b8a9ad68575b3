//! The upstream zc.zk script names, with upstream's argument shapes: thin entry points that
//! build the `zczk` subcommand's arguments and run it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde_json::Value;
use zczk_core::store::{Acl, Perms};

use super::zk::ZkArgs;
use super::{export, import, set_property, validate};

fn zk(connection: String) -> ZkArgs {
    ZkArgs::new(connection)
}

/// `zookeeper_export`: print a ZooKeeper subtree as tree text (same as `zczk export`).
#[derive(Debug, Parser)]
#[command(name = "zookeeper_export", version)]
pub struct Export {
    /// Include ephemeral nodes.
    #[arg(short, long)]
    ephemeral: bool,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The connection string (`host:port[/chroot]`, `mem:`, `file:PATH`).
    connection: String,
    /// The subtree to export.
    #[arg(default_value = "/")]
    path: String,
}

impl Export {
    /// Runs it.
    pub fn run(self) -> ExitCode {
        super::init(0);
        let args = export::Args {
            ephemeral: self.ephemeral,
            output: self.output,
            name: None,
            acl: false,
            format: super::text_io::Format::Text,
            path: self.path,
            zk: zk(self.connection),
        };
        super::finish(export::run(args))
    }
}

/// `zookeeper_import`: import tree text into ZooKeeper (same as `zczk import`).
#[derive(Debug, Parser)]
#[command(name = "zookeeper_import", version)]
pub struct Import {
    /// Change nothing: print what would change.
    #[arg(short, long)]
    dry_run: bool,
    /// Delete the nodes that are not in the file (keeping ephemeral ones).
    #[arg(short, long)]
    trim: bool,
    /// Permissions of new nodes (an integer; 31 = all), or letters of `rwcda`.
    #[arg(short, long, value_name = "PERM", value_parser = import::perms)]
    permission: Option<Perms>,
    /// The connection string (`host:port[/chroot]`, `mem:`, `file:PATH`).
    connection: String,
    /// The tree file, or `-` for stdin.
    #[arg(default_value = "-")]
    file: String,
    /// Where to import the top-level nodes.
    #[arg(default_value = "/")]
    path: String,
}

impl Import {
    /// Runs it.
    pub fn run(self) -> ExitCode {
        super::init(0);
        let args = import::Args {
            dry_run: self.dry_run,
            check: false,
            trim: self.trim,
            quiet: false,
            permission: self
                .permission
                .map(|p| import::AclList(vec![Acl::new(p, "world", "anyone")]))
                .into_iter()
                .collect(),
            atomic: false,
            file: self.file,
            path: self.path,
            zk: zk(self.connection),
        };
        super::finish(import::run(args))
    }
}

/// `zookeeper_set_property`: set node properties (same as `zczk set-property`).
#[derive(Debug, Parser)]
#[command(name = "zookeeper_set_property", version)]
pub struct SetProperty {
    /// The connection string (`host:port[/chroot]`, `mem:`, `file:PATH`).
    connection: String,
    /// The node.
    path: String,
    /// NAME=VALUE pairs, values in the tree value grammar.
    #[arg(required = true, value_name = "NAME=VALUE", value_parser = set_property::assignment)]
    assignments: Vec<(String, Value)>,
}

impl SetProperty {
    /// Runs it.
    pub fn run(self) -> ExitCode {
        super::init(0);
        let args =
            set_property::Args { path: self.path, assignments: self.assignments, zk: zk(self.connection) };
        super::finish(set_property::run(args))
    }
}

/// `zookeeper_validate`: check tree text (same as `zczk validate`).
#[derive(Debug, Parser)]
#[command(name = "zookeeper_validate", version)]
pub struct Validate {
    /// The tree file, or `-` for stdin.
    file: String,
}

impl Validate {
    /// Runs it.
    pub fn run(self) -> ExitCode {
        super::init(0);
        super::finish(validate::run(validate::Args {
            file: self.file,
            path: "/".to_string(),
            jute_maxbuffer: None,
        }))
    }
}
