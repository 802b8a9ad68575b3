//! The four-letter words ZooKeeper 3.8 answers about itself, in its formats: `envi`, `conf`,
//! `mntr`, `isro`, `srvr`, `stat`, `cons`, `dump`, `wchs`, `wchc` and `wchp`. Tools and client
//! libraries read them (kazoo's `server_version` parses `envi`), so the emulator gives the
//! lines a 3.8 server gives, with its own figures. Lines about the JVM, latencies and disk
//! have no meaning here and are left out; readers look lines up by key.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::shared::Shared;
use crate::emulator::Report;

/// The version the emulator reports: the ZooKeeper release it behaves as, then its own name.
pub(crate) fn version() -> String {
    format!("3.8.0-zczk-emulator-{}", env!("CARGO_PKG_VERSION"))
}

/// One connection holding a session, as the words list it.
struct Connection {
    peer: SocketAddr,
    session: i64,
    timeout: Duration,
    established_ms: i64,
    received: u64,
    sent: u64,
}

fn connections(shared: &Shared) -> Vec<Connection> {
    let member = shared.member.as_ref().map_or(0, crate::ensemble::Seat::number);
    let mut out: Vec<Connection> = shared
        .sessions
        .lock()
        .iter()
        .filter(|(_, slot)| slot.conn != 0 && slot.member == member)
        .map(|(id, slot)| Connection {
            peer: slot.stats.peer,
            session: *id,
            timeout: slot.session.timeout(),
            established_ms: slot.stats.established_ms,
            received: slot.stats.received.load(Ordering::Relaxed),
            sent: slot.stats.sent.load(Ordering::Relaxed),
        })
        .collect();
    out.sort_by_key(|c| c.session);
    out
}

/// The answer to `word`, asked by `peer` on the listener at `local`; `None` for the words
/// this module does not answer.
pub(crate) fn answer(
    shared: &Shared,
    word: &str,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) -> Option<String> {
    let emulator = &shared.emulator;
    let report = || emulator.report();
    let mode = shared.member.as_ref().map(crate::ensemble::Seat::mode);
    let mode_name = match mode {
        None => "standalone",
        Some(mode) => match mode.name() {
            Some(name) => name,
            // An ensemble member out of service answers only these words.
            None => {
                return match word {
                    "envi" => Some(envi()),
                    "isro" => Some("null".to_string()),
                    "conf" | "mntr" | "srvr" | "stat" | "cons" | "dump" | "wchs" | "wchc" | "wchp" => {
                        Some("This ZooKeeper instance is not currently serving requests\n".to_string())
                    }
                    _ => None,
                };
            }
        },
    };
    Some(match word {
        "envi" => envi(),
        "conf" => conf(shared, local),
        "isro" => if mode == Some(crate::ensemble::Mode::ReadOnly) { "ro" } else { "rw" }.to_string(),
        "mntr" => mntr(&report(), &connections(shared), emulator.watch_count(), mode_name),
        "srvr" => server_lines(&report(), &connections(shared), mode_name),
        "stat" => {
            let conns = connections(shared);
            let mut out = format!("Zookeeper version: {}\nClients:\n", version());
            for c in &conns {
                let _ = writeln!(out, " /{}[1](queued=0,recved={},sent={})", c.peer, c.received, c.sent);
            }
            let _ = writeln!(out, " /{peer}[0](queued=0,recved=1,sent=0)\n");
            // The version line is already there.
            let rest = server_lines(&report(), &conns, mode_name);
            out.push_str(rest.split_once('\n').map_or("", |(_, rest)| rest));
            out
        }
        "cons" => {
            let mut out = String::new();
            for c in connections(shared) {
                let _ = writeln!(
                    out,
                    " /{}[1](queued=0,recved={},sent={},sid={:#x},est={},to={})",
                    c.peer,
                    c.received,
                    c.sent,
                    c.session,
                    c.established_ms,
                    c.timeout.as_millis()
                );
            }
            let _ = writeln!(out, " /{peer}[0](queued=0,recved=1,sent=0)\n");
            out
        }
        "dump" => dump(&report(), &connections(shared)),
        "wchs" => {
            let table = report().data_watches;
            let paths: std::collections::BTreeSet<&String> = table.values().flatten().collect();
            let total: usize = table.values().map(|p| p.len()).sum();
            format!("{} connections watching {} paths\nTotal watches:{total}\n", table.len(), paths.len())
        }
        "wchc" => {
            let mut out = String::new();
            for (session, paths) in report().data_watches {
                let _ = writeln!(out, "{session:#x}");
                for path in paths {
                    let _ = writeln!(out, "\t{path}");
                }
            }
            out.push('\n');
            out
        }
        "wchp" => {
            let mut by_path: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
            for (session, paths) in report().data_watches {
                for path in paths {
                    by_path.entry(path).or_default().push(session);
                }
            }
            let mut out = String::new();
            for (path, sessions) in by_path {
                let _ = writeln!(out, "{path}");
                for session in sessions {
                    let _ = writeln!(out, "\t{session:#x}");
                }
            }
            out.push('\n');
            out
        }
        _ => return None,
    })
}

fn envi() -> String {
    let dir = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
    format!(
        "Environment:\nzookeeper.version={}\nos.name={}\nos.arch={}\nuser.dir={dir}\n",
        version(),
        std::env::consts::OS,
        std::env::consts::ARCH,
    )
}

fn conf(shared: &Shared, local: Option<SocketAddr>) -> String {
    let config = shared.emulator.config();
    let mut out = String::new();
    if let Some(local) = local {
        let _ = writeln!(out, "clientPort={}", local.port());
    }
    out.push_str("secureClientPort=-1\n");
    if let Some(file) = shared.emulator.file_path() {
        let _ = writeln!(out, "dataDir={}", file.display());
    }
    let min = config.min_session_timeout.as_millis();
    // The server's minimum timeout is two ticks.
    let _ = write!(
        out,
        "tickTime={}\nmaxClientCnxns=0\nminSessionTimeout={min}\nmaxSessionTimeout={}\nclientPortListenBacklog=-1\n",
        min / 2,
        config.max_session_timeout.as_millis(),
    );
    match &shared.member {
        Some(seat) => out.push_str(&seat.conf()),
        None => out.push_str("serverId=0\n"),
    }
    out
}

/// The server's node count counts the root twice (under `""` and `"/"`).
fn server_node_count(report: &Report) -> usize {
    report.node_count + 1
}

/// `srvr`: the version line, then the figures `stat` ends with too.
fn server_lines(report: &Report, conns: &[Connection], mode: &str) -> String {
    let received: u64 = conns.iter().map(|c| c.received).sum();
    let sent: u64 = conns.iter().map(|c| c.sent).sum();
    format!(
        "Zookeeper version: {}\nLatency min/avg/max: 0/0.0/0\nReceived: {received}\nSent: {sent}\nConnections: {}\nOutstanding: 0\nZxid: {:#x}\nMode: {mode}\nNode count: {}\n",
        version(),
        conns.len(),
        report.zxid,
        server_node_count(report),
    )
}

fn mntr(report: &Report, conns: &[Connection], watches: usize, mode: &str) -> String {
    let ephemerals: usize = report.sessions.iter().map(|s| s.ephemerals.len()).sum();
    let lines: [(&str, String); 12] = [
        ("zk_version", version()),
        ("zk_server_state", mode.to_string()),
        ("zk_ephemerals_count", ephemerals.to_string()),
        ("zk_num_alive_connections", conns.len().to_string()),
        ("zk_outstanding_requests", "0".to_string()),
        ("zk_znode_count", server_node_count(report).to_string()),
        ("zk_global_sessions", report.sessions.len().to_string()),
        ("zk_local_sessions", "0".to_string()),
        ("zk_watch_count", watches.to_string()),
        ("zk_approximate_data_size", report.data_bytes.to_string()),
        ("zk_packets_received", conns.iter().map(|c| c.received).sum::<u64>().to_string()),
        ("zk_packets_sent", conns.iter().map(|c| c.sent).sum::<u64>().to_string()),
    ];
    lines.iter().map(|(key, value)| format!("{key}\t{value}\n")).collect()
}

/// `dump`: sessions with their expiry (an estimate: now plus the timeout, as for a client
/// that was just heard from), ephemerals by session, and connections.
fn dump(report: &Report, conns: &[Connection]) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let n = report.sessions.len();
    let mut out = format!("SessionTracker dump:\nSession Sets ({n})/({n}):\n");
    for s in &report.sessions {
        let _ = write!(out, "1 expire at {}:\n\t{:#x}\n", java_date(now + s.timeout), s.id);
    }
    let owners: Vec<_> = report.sessions.iter().filter(|s| !s.ephemerals.is_empty()).collect();
    let _ = writeln!(out, "ephemeral nodes dump:\nSessions with Ephemerals ({}):", owners.len());
    for s in owners {
        let _ = writeln!(out, "{:#x}:", s.id);
        for path in &s.ephemerals {
            let _ = writeln!(out, "\t{path}");
        }
    }
    let c = conns.len();
    let _ = writeln!(out, "Connections dump:\nConnections Sets ({c})/({c}):");
    for conn in conns {
        let _ = write!(
            out,
            "1 expire at {}:\n\tip: /{} sessionId: {:#x}\n",
            java_date(now + conn.timeout),
            conn.peer,
            conn.session
        );
    }
    out
}

/// A time as Java's `Date.toString` writes it in UTC: `Mon Nov 30 11:14:50 UTC 2026`.
fn java_date(since_epoch: Duration) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = since_epoch.as_secs();
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let (year, month, day) = civil_date(days as i64);
    format!(
        "{} {} {day:02} {h:02}:{m:02}:{s:02} UTC {year}",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of a day count from 1970-01-01,
/// counting in 400-year eras that start on March 1st (so the leap day ends a year).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_java_writes_them() {
        assert_eq!(java_date(Duration::ZERO), "Thu Jan 01 00:00:00 UTC 1970");
        // 2026-11-30 11:14:50 UTC, as a real server printed it.
        assert_eq!(java_date(Duration::from_secs(1_796_037_290)), "Mon Nov 30 11:14:50 UTC 2026");
        // A leap day.
        assert_eq!(java_date(Duration::from_secs(951_782_400)), "Tue Feb 29 00:00:00 UTC 2000");
    }
}
