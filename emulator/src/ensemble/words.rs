//! The ensemble's control words, answered on every member's port as the four-letter words:
//! `echo 'stop 2' | nc 127.0.0.1 PORT`. Members are numbered from 1. Each answers one line.

use std::time::Duration;

use super::{Ensemble, Seat};

/// The control words of an ensemble member:
/// - `lead`: the number of the member that leads (`none` without a quorum or in an election);
/// - `stop N` / `boot N`: stop member N (its port closes, its clients move) / start it again;
/// - `isol N` / `join N`: cut member N off from the others (it serves no one) / let it back;
/// - `elec [MS]`: force a leader change; with MS, elections from now on last MS milliseconds;
/// - `lagg N` / `lagg N off`: member N falls behind (its plain reads are stale until a client's
///   `sync`) / catches up for good.
pub const CONTROL_WORDS: [&str; 7] = ["lead", "stop", "boot", "isol", "join", "elec", "lagg"];

/// Answers control word `word` with `argument` on the member `seat`.
pub(crate) async fn control(seat: &Seat, word: &str, argument: &str) -> String {
    let ensemble = seat.ensemble();
    match word {
        "lead" => leader_line(&ensemble),
        "elec" => {
            if !argument.is_empty() {
                match argument.parse::<u64>() {
                    Ok(ms) => ensemble.set_election_time(Duration::from_millis(ms)),
                    Err(_) => return format!("error: {argument:?} is not a time in milliseconds\n"),
                }
            }
            match ensemble.elect() {
                Some(leader) => format!("electing: member {leader} will lead\n"),
                None => "error: no quorum to elect a leader in\n".to_string(),
            }
        }
        "lagg" => {
            let (member, off) = match argument.split_once(' ') {
                Some((member, "off")) => (member, true),
                Some(_) => {
                    return format!("error: lagg takes a member number and maybe off, not {argument:?}\n")
                }
                None => (argument, false),
            };
            let Ok(member) = member.parse::<usize>() else {
                return format!("error: lagg needs a member number, not {argument:?}\n");
            };
            match ensemble.lag(member, !off) {
                Ok(()) if off => format!("member {member} is up to date\n"),
                Ok(()) => format!("member {member} lags\n"),
                Err(error) => format!("error: {error}\n"),
            }
        }
        _ => {
            let Ok(member) = argument.parse::<usize>() else {
                return format!("error: {word} needs a member number, not {argument:?}\n");
            };
            let done = match word {
                "stop" => ensemble.stop(member).await.map(|()| "stopped"),
                "boot" => ensemble.start(member).await.map(|()| "started"),
                "isol" => ensemble.isolate(member).map(|()| "isolated"),
                _ => ensemble.rejoin(member).map(|()| "rejoined"),
            };
            match done {
                Ok(done) => format!("{done} member {member}\n"),
                Err(error) => format!("error: {error}\n"),
            }
        }
    }
}

fn leader_line(ensemble: &Ensemble) -> String {
    match ensemble.leader() {
        Some(leader) => format!("{leader}\n"),
        None => "none\n".to_string(),
    }
}
