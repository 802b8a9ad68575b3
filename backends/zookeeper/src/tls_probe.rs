//! Why a TLS handshake with a server fails, said in terms of the files given: the client
//! library only reports that no server gave a session.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::TlsFiles;

/// How long the probe waits for the server at each step.
const PATIENCE: Duration = Duration::from_secs(1);

/// Why a TLS handshake with `host` at `address` fails with `files`, or `None` when it does not
/// fail (or the server does not answer in time, or the files can't be read: that is said
/// elsewhere). Blocking.
pub(crate) fn handshake_failure(address: SocketAddr, host: &str, files: &TlsFiles) -> Option<String> {
    let config = Arc::new(config(files)?);
    let name = ServerName::try_from(host.to_string()).ok()?;
    let mut connection = ClientConnection::new(config, name).ok()?;
    let mut socket = TcpStream::connect_timeout(&address, PATIENCE).ok()?;
    socket.set_read_timeout(Some(PATIENCE)).ok()?;
    socket.set_write_timeout(Some(PATIENCE)).ok()?;
    while connection.is_handshaking() {
        if let Err(e) = connection.complete_io(&mut socket) {
            return explain(e, files);
        }
    }
    None
}

fn explain(e: std::io::Error, files: &TlsFiles) -> Option<String> {
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        return None;
    }
    let ca = files.ca.display();
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return Some(format!("TLS handshake failed: {e} (is it the secure client port?)"));
    };
    Some(match tls {
        rustls::Error::InvalidCertificate(why) => {
            format!("its certificate is refused with the CA certificates of {ca}: {why:?}")
        }
        rustls::Error::AlertReceived(alert) if files.identity.is_none() => {
            format!(
                "it refused the TLS handshake ({alert:?}): does it want a client certificate (--tls-cert)?"
            )
        }
        rustls::Error::AlertReceived(alert) => match &files.identity {
            Some((cert, _)) => format!(
                "it refused the TLS handshake ({alert:?}): is {} signed by a CA it trusts?",
                cert.display()
            ),
            None => format!("it refused the TLS handshake ({alert:?})"),
        },
        other => format!("TLS handshake failed: {other} (is it the secure client port?)"),
    })
}

/// The client configuration of `files`, or `None` when they can't be read (said elsewhere).
fn config(files: &TlsFiles) -> Option<ClientConfig> {
    let pem = |path: &std::path::Path| std::fs::read(path).ok();
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem(&files.ca)?.as_slice()) {
        roots.add(cert.ok()?).ok()?;
    }
    let builder = ClientConfig::builder().with_root_certificates(roots);
    match &files.identity {
        None => Some(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let certs =
                rustls_pemfile::certs(&mut pem(cert)?.as_slice()).collect::<Result<Vec<_>, _>>().ok()?;
            let key = rustls_pemfile::private_key(&mut pem(key)?.as_slice()).ok()??;
            builder.with_client_auth_cert(certs, key).ok()
        }
    }
}
