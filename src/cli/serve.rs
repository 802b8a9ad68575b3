//! `zczk serve [--port N] [--bind ADDR] [--tree FILE | --file PATH] [--control]
//! [--max-client-cnxns N] [--jute-maxbuffer BYTES] [--super-digest USER:HASH]
//! [--servers N [--election-time MS] [--read-only] [--reconfig]]`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use zczk_core::client::ClientError;
use zczk_core::connection::Access;
use zczk_emulator::ensemble::{Ensemble, EnsembleOptions};
use zczk_emulator::wire::{Control, Server, ServerOptions};
use zczk_emulator::{Config, Emulator};

use super::signals::shutdown_signal;
use super::text_io::read_text;
use super::CliError;
use crate::connect::ConnectError;

/// Serve the in-memory emulator over ZooKeeper's TCP protocol.
///
/// Any ZooKeeper client (Java, kazoo, zkCli.sh, zookeeper-client, ...) can use it: a ZooKeeper
/// for tests and local development that starts in milliseconds and needs no JVM.
///
/// Prints the address it listens on (`HOST:PORT`, one line) once it accepts connections, then
/// serves until SIGINT or SIGTERM. `--tree` pre-loads nodes from tree text; `--file` keeps the
/// persistent nodes in a file (the CLI's `file:PATH` store), each write on disk before it is
/// acknowledged.
///
/// Faults can be injected with four-letter words on the same port, as ZooKeeper's own
/// `ruok`: `echo 'sess' | nc HOST PORT` lists the sessions, `expi 0xID` expires one, `drop
/// 0xID` drops its connection (the client reconnects and keeps its session). These control
/// words reach anyone's session, so they are answered only when the server listens on a
/// loopback address (the default `--bind`), or with `--control`; the listen address decides,
/// not the client's, since a local proxy or tunnel can relay anyone. `ruok` and `srvr` are
/// always answered.
///
/// As ZooKeeper's `maxClientCnxns`, one client address may hold at most 60 connections at once
/// (`--max-client-cnxns`); one more is closed unanswered, with a warning in the log.
///
/// `--servers N` serves the tree as an N-member ensemble, on N ports (from `--port` up, or N
/// free ones with `--port 0`), and prints the connection string of all members
/// (`HOST:P1,HOST:P2,...`). Sessions are the ensemble's: a client whose member stops moves to
/// another and keeps its session. `srvr` tells each member's `Mode:` (leader, follower,
/// read-only). Control words, on any member's port (members are numbered from 1; they are
/// control words as `expi`): `lead` prints the leader's number; `stop N` / `boot N` stop and
/// start member N; `isol N` / `join N` cut member N off from the others (it serves no one,
/// as a minority partition) and let it back; `elec [MS]` forces a leader change (every member
/// refuses clients for the election time, `--election-time`); `lagg N` / `lagg N off` make
/// member N serve stale plain reads until a client's `sync` / bring it up to date. Without a
/// quorum (stop or isolate a majority) the members serve no one, or with `--read-only` serve
/// reads to clients that connect in read-only mode (`isro` answers `ro`).
///
/// `/zookeeper/config` lists the members (`server.N=...` lines, then `version=`). A `reconfig`
/// request is refused (`ReconfigDisabled`), as by a ZooKeeper ensemble's default, unless
/// `--reconfig` enables dynamic reconfiguration (ZooKeeper's `reconfigEnabled=true`): then
/// the superuser of `--super-digest` may add and remove servers, as on ZooKeeper 3.5+ (a
/// member that leaves keeps serving as a follower without a vote; the quorum is a majority of
/// the remaining participants; the config's `version=` is the reconfig's zxid in hex).
///
/// Example: `zczk serve --port 2181 --tree services.zk --tick-time 200`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TCP port; 0 picks a free one (see the printed address).
    #[arg(long, default_value_t = 2181)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Tree text to load at start (`-` for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pub tree: Option<String>,
    /// Keep the nodes in this store file (created with mode 0600 if missing, locked while
    /// serving).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// ZooKeeper's tickTime in ms: sessions get timeouts between 2 and 20 ticks (2000: 4 s to
    /// 40 s, as a default server; 200 lets tests use short timeouts).
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub tick_time: u64,
    /// Answer the control words (`sess`, `expi`, `drop`) on a non-loopback `--bind` address
    /// too. Anyone who can connect can then expire or drop any session.
    #[arg(long)]
    pub control: bool,
    /// The most connections one client address may hold at once; 0: no limit.
    #[arg(long, value_name = "N", default_value_t = zczk_emulator::wire::DEFAULT_MAX_CLIENT_CNXNS)]
    pub max_client_cnxns: usize,
    /// Serve as an ensemble of N members, on N ports (see above); 1 is one standalone server.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=9))]
    pub servers: u16,
    /// How long an ensemble's leader election keeps its members from serving, in ms.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub election_time: u64,
    /// Members of an ensemble that lose their quorum serve reads to read-only clients
    /// (ZooKeeper's `readonlymode.enabled`).
    #[arg(long)]
    pub read_only: bool,
    /// The longest request accepted, in bytes (ZooKeeper's `jute.maxbuffer`); a longer one
    /// loses its connection, as on a real server.
    #[arg(long, value_name = "BYTES", default_value_t = zczk_core::store::size::DEFAULT_MAX_REQUEST as u32,
          value_parser = clap::value_parser!(u32).range(1024..=i32::MAX as i64))]
    pub jute_maxbuffer: u32,
    /// Let an ensemble's members change its membership on a superuser's `reconfig` request
    /// (ZooKeeper's `reconfigEnabled=true`; see `--super-digest`). Needs `--servers N`, N > 1.
    #[arg(long)]
    pub reconfig: bool,
    /// A client that authenticates as this digest identity is the superuser, who passes every
    /// ACL and may send `reconfig` (ZooKeeper's `zookeeper.DigestAuthenticationProvider.
    /// superDigest`): USER:BASE64(SHA1(USER:PASSWORD)), e.g. `super:D/InIHSb7yEEbrWz8b9l71RjZJU=`
    /// for `addauth digest super:test`.
    #[arg(long, value_name = "USER:HASH", value_parser = parse_super_digest)]
    pub super_digest: Option<String>,
}

/// A `--super-digest` value: `USER:HASH`, neither part empty.
fn parse_super_digest(value: &str) -> Result<String, String> {
    match value.split_once(':') {
        Some((user, hash)) if !user.is_empty() && !hash.is_empty() => Ok(value.to_string()),
        _ => Err(format!("{value:?} is not USER:HASH (USER:BASE64(SHA1(USER:PASSWORD)))")),
    }
}

/// Runs `zczk serve`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    if args.reconfig && args.servers < 2 {
        return Err(CliError::Usage("--reconfig needs an ensemble: --servers N with N > 1".to_string()));
    }
    let tick = Duration::from_millis(args.tick_time);
    let config = Config {
        min_session_timeout: 2 * tick,
        max_session_timeout: 20 * tick,
        super_digest: args.super_digest.clone(),
        max_request_bytes: args.jute_maxbuffer as usize,
        ..Config::default()
    };
    let emulator = match (&args.tree, &args.file) {
        (Some(tree), _) => load_tree(tree, config)?,
        (None, Some(path)) => {
            Emulator::open_file_with(path, config, Access::ReadWrite, false).map_err(ConnectError::from)?
        }
        (None, None) => Emulator::with_config(config),
    };
    // One thread: the emulator applies requests under one lock anyway, and without hand-offs
    // between threads pipelined requests are answered several times faster (see the
    // `wire_gets` bench).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("tokio runtime"))?;
    runtime.block_on(async {
        // Before the address is printed: whoever reads it may send SIGTERM at once.
        let signal = shutdown_signal()?;
        let addr = SocketAddr::new(args.bind, args.port);
        let control = if args.control { Control::Enabled } else { Control::OnLoopback };
        let options = ServerOptions { control, max_client_cnxns: args.max_client_cnxns };
        if args.servers > 1 {
            let ensemble = bind_ensemble(&args, emulator.clone(), options).await?;
            print_address(&ensemble.connection_string())?;
            signal.await;
            ensemble.shutdown().await;
            return Ok(());
        }
        let server = Server::bind_with(addr, emulator.clone(), options)
            .await
            .map_err(CliError::io(addr.to_string()))?;
        print_address(&server.local_addr().to_string())?;
        server.run_until(signal).await;
        Ok::<(), CliError>(())
    })?;
    emulator.flush().map_err(ConnectError::from)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints where clients connect: the address, or an ensemble's connection string.
fn print_address(address: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{address}").and_then(|()| out.flush()).map_err(CliError::io("<stdout>"))
}

/// Starts the members of `--servers N` on `--port` and the N-1 ports after it (all free
/// ports with `--port 0`).
async fn bind_ensemble(args: &Args, emulator: Emulator, server: ServerOptions) -> Result<Ensemble, CliError> {
    let ports: Vec<SocketAddr> = (0..args.servers)
        .map(|n| SocketAddr::new(args.bind, if args.port == 0 { 0 } else { args.port.saturating_add(n) }))
        .collect();
    let options = EnsembleOptions {
        server,
        election_time: Duration::from_millis(args.election_time),
        read_only: args.read_only,
        reconfig: args.reconfig,
    };
    let described = ports.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(",");
    Ensemble::bind_ports(&ports, emulator, options).await.map_err(CliError::io(described))
}

/// An emulator holding the nodes of the tree text in `file`.
fn load_tree(file: &str, config: Config) -> Result<Emulator, CliError> {
    let text = read_text(file)?;
    let root = zczk_core::tree::parse_for_import(&text, "/")
        .map_err(|mut errors| CliError::Parse { file: file.to_string(), error: errors.swap_remove(0) })?;
    let emulator = Emulator::with_config(config);
    emulator.load("/", &root).map_err(|e| CliError::Client(ClientError::from(e)))?;
    Ok(emulator)
}
