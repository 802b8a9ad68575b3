//! Four-letter words on the client port, as ZooKeeper's `ruok`: a health check, a summary,
//! and fault injection for tests driving a separate `zczk serve` process.
//!
//! `ruok` → `imok`; `sess` → the
//! ids of the sessions wire clients hold, one per line; `expi ID` expires a session; `drop
//! ID` drops its connection (the client reconnects and keeps its session). IDs are hex
//! (`0x...`) or decimal. The words a real server answers about itself are in `words`.
//!
//! `sess`, `expi` and `drop` are the control words: they reach other clients' sessions, so
//! they are answered only where [`super::Control`] allows (by default, on a server listening
//! on a loopback address); elsewhere they get a one-line refusal. An ensemble member answers
//! the ensemble's control words too (`stop N`, ...: see `crate::ensemble`), under the same rule.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::shared::Shared;

/// How long the rest of a command line may take to arrive.
const LINE_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest command line read.
const MAX_LINE: usize = 256;
/// The words that reach other clients' sessions.
const CONTROL_WORDS: [&str; 3] = ["sess", "expi", "drop"];

/// Answers the command starting with `word`, then the connection closes.
pub(crate) async fn command(
    shared: &Arc<Shared>,
    word: [u8; 4],
    mut read: OwnedReadHalf,
    mut out: BufWriter<OwnedWriteHalf>,
    peer: SocketAddr,
) {
    let word = String::from_utf8_lossy(&word).into_owned();
    if let Some(answer) = super::words::answer(shared, &word, peer, read.local_addr().ok()) {
        tracing::info!(%peer, word, "four-letter word");
        let _ = out.write_all(answer.as_bytes()).await;
        let _ = out.flush().await;
        return;
    }
    // An ensemble member's control words (see `crate::ensemble`).
    let seat = shared.member.as_ref().filter(|_| crate::ensemble::CONTROL_WORDS.contains(&word.as_str()));
    // The argument is read even when refused: closing with unread bytes would reset the
    // connection, and the client might never see the answer.
    let argument = if matches!(word.as_str(), "expi" | "drop") || seat.is_some() {
        read_line(&mut read).await
    } else {
        String::new()
    };
    let answer = if (CONTROL_WORDS.contains(&word.as_str()) || seat.is_some()) && !shared.control {
        tracing::warn!(%peer, word, "refusing a control word: control words are off");
        Some(format!(
            "error: {word} is refused: control words are off (zczk serve --control turns them on)\n"
        ))
    } else if let Some(seat) = seat {
        Some(crate::ensemble::control(seat, &word, argument.trim()).await)
    } else {
        answer(shared, &word, argument.trim())
    };
    let Some(answer) = answer else {
        tracing::warn!(%peer, word, "closing a connection: unknown four-letter word");
        return;
    };
    tracing::info!(%peer, word, argument = argument.trim(), "four-letter word");
    let _ = out.write_all(answer.as_bytes()).await;
    let _ = out.flush().await;
}

async fn read_line(read: &mut OwnedReadHalf) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let _ = tokio::time::timeout(LINE_TIMEOUT, async {
        while line.len() < MAX_LINE {
            match read.read(&mut byte).await {
                Ok(1) if byte[0] != b'\n' => line.push(byte[0]),
                _ => break,
            }
        }
    })
    .await;
    String::from_utf8_lossy(&line).into_owned()
}

fn parse_id(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok().map(|id| id as i64),
        None => text.parse().ok(),
    }
}

fn answer(shared: &Shared, word: &str, argument: &str) -> Option<String> {
    let emulator = &shared.emulator;
    Some(match word {
        "ruok" => "imok".to_string(),
        "sess" => {
            let mut ids: Vec<i64> = shared.sessions.lock().keys().copied().collect();
            ids.sort_unstable();
            ids.iter().map(|id| format!("{id:#x}\n")).collect()
        }
        "expi" | "drop" => {
            let Some(id) = parse_id(argument) else {
                return Some(format!("error: {argument:?} is not a session id\n"));
            };
            if !shared.sessions.lock().contains_key(&id) {
                return Some(format!("error: no session {id:#x}\n"));
            }
            let faults = emulator.faults(id);
            if word == "expi" {
                faults.expire();
                format!("expired {id:#x}\n")
            } else {
                faults.disconnect();
                format!("dropped the connection of {id:#x}\n")
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn ids_parse_in_hex_and_decimal() {
        assert_eq!(parse_id("0x100000000000001"), Some(0x100000000000001));
        assert_eq!(parse_id("42"), Some(42));
        assert_eq!(parse_id("0xzz"), None);
        assert_eq!(parse_id(""), None);
    }
}
