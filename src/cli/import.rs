//! `zczk import`: tree text into ZooKeeper.

use std::process::ExitCode;
use zczk_core::store::size::DEFAULT_MAX_REQUEST;

use zczk_core::connection::Access;
use zczk_core::import::{self, Extras, ImportOptions};
use zczk_core::store::{Acl, Perms};

use super::progress::Bar;
use super::text_io::{read_text, write_lines};
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Create and update the nodes of a tree file under PATH.
///
/// Only what differs is written, each update conditional on the version read. Nodes in ZooKeeper below a node of the file but missing from it are reported as
/// `extra path not trimmed: /a/b` (unless -q), or deleted with --trim (ephemeral nodes are
/// kept). The file is checked completely before anything is written.
///
/// A node with `acl SCHEME:ID:PERMS` lines in the file (as `zczk export --acl` prints them)
/// gets exactly that ACL: a new node is created with it, an existing node whose ACL differs
/// gets it (conditional on the ACL version read). ACL changes are made after the data writes,
/// also with --atomic (ZooKeeper's transactions cannot change ACLs). Creating children
/// under a node whose ACL the file narrows needs an identity it grants CREATE to (--auth).
///
/// With --check, a drift check for CI: changes nothing, prints the dry-run report, and exits
/// 0 when the tree under PATH already matches the file, 1 when it differs (with --trim, extra
/// nodes count as differences).
///
/// Examples: `zczk import --zk 127.0.0.1:2181 --dry-run services.zk /`,
/// `zczk import --check --trim services.zk /services`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Change nothing: print what would change.
    #[arg(short, long)]
    pub dry_run: bool,
    /// Change nothing, print what would change, and exit 1 if anything would (a drift check).
    #[arg(long)]
    pub check: bool,
    /// Delete the nodes that are not in the file (keeping ephemeral ones).
    #[arg(short, long)]
    pub trim: bool,
    /// Do not report the extra nodes.
    #[arg(short, long)]
    pub quiet: bool,
    /// Give new nodes, and existing nodes of the file whose ACL differs, this ACL: ACL entries
    /// SCHEME:ID:PERMS (`digest:admin:HASH:cdrwa`, `auth::cdrwa`, `world:anyone:r`),
    /// comma-separated or with -p repeated, or just permissions for `world:anyone` (letters of
    /// `rwcda` or an integer, 31 = all). Without it, new nodes get the open ACL and existing
    /// ACLs are left alone. Nodes with `acl` lines in the file get those instead.
    #[arg(short, long, value_name = "ACL", value_parser = acl_list)]
    pub permission: Vec<AclList>,
    /// Write everything in one transaction (all or nothing); refused when too large.
    #[arg(long)]
    pub atomic: bool,
    /// The tree file, or `-` for stdin.
    #[arg(default_value = "-")]
    pub file: String,
    /// Where to import the top-level nodes of the file.
    #[arg(default_value = "/")]
    pub path: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Parses `rwcda` letters or a permission integer (upstream's `-p` takes an integer).
pub fn perms(text: &str) -> Result<Perms, String> {
    let bad = || {
        format!(
            "{:?} is not a permission: use letters of rwcda or an integer from 0 to 31",
            zczk_core::message::short(text)
        )
    };
    match text.parse::<u32>() {
        Ok(bits) if bits <= Perms::ALL.0 as u32 => Ok(Perms(bits as i32)),
        Ok(_) => Err(bad()),
        Err(_) => Perms::parse(text).ok_or_else(bad),
    }
}

/// ACL entries given to one `-p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclList(pub Vec<Acl>);

/// Parses `-p`: comma-separated `SCHEME:ID:PERMS` entries, or permissions alone for
/// `world:anyone`.
pub fn acl_list(text: &str) -> Result<AclList, String> {
    if !text.contains(':') {
        return perms(text).map(|perms| AclList(vec![Acl::new(perms, "world", "anyone")]));
    }
    text.split(',')
        .map(|entry| entry.trim().parse::<Acl>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()
        .map(AclList)
}

/// Runs `zczk import`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let text = read_text(&args.file)?;
    // Check before connecting: a bad file never costs a session. The check refuses what
    // ZooKeeper would refuse of the text (as `zczk validate` does), with line and column; the
    // parsed tree is not kept (each top-level node is parsed again as it is planned). Node
    // data may be as long as the servers' `--jute-maxbuffer` allows.
    let max_request = args.zk.jute_maxbuffer.map_or(DEFAULT_MAX_REQUEST, |bytes| bytes as usize);
    let checked = zczk_core::tree::check_for_server(&text, &args.path, max_request)
        .map_err(|mut errors| CliError::Parse { file: args.file.clone(), error: errors.swap_remove(0) })?;
    let mut options = ImportOptions {
        extras: match (args.trim, args.quiet) {
            (true, _) => Extras::Trim,
            (false, true) => Extras::Ignore,
            (false, false) => Extras::Report,
        },
        dry_run: args.dry_run || args.check,
        ..ImportOptions::default()
    };
    if !args.permission.is_empty() {
        options.acl = Some(args.permission.into_iter().flat_map(|list| list.0).collect());
    }
    options.apply.atomic = args.atomic;
    let (path, file) = (args.path.clone(), args.file.clone());
    // A dry run only reads.
    let access = if options.dry_run { Access::Read } else { Access::ReadWrite };
    let imported = with_client(&args.zk, access, |client| async move {
        let bar = Bar::new();
        let mut show = |p| bar.import(p);
        let result = import::import_checked(&*client.store(), &checked, &options, Some(&mut show)).await;
        bar.finish();
        Ok(result?)
    })?;
    write_lines(&imported.lines)?;
    if let Some(applied) = &imported.applied {
        tracing::info!(read = imported.nodes_read, ?applied, "imported");
    }
    // Extras count only with --trim: without it, they would be neither written nor deleted.
    let changes = imported.writes;
    if args.check && changes > 0 {
        eprintln!("zczk: {path} differs from {file}: {changes} change(s) to make");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
