//! TLS: a real ZooKeeper with a Netty secure client port, started here with certificates from a
//! CA made here (skipped without the Debian package's jar, failing when `CI` is set).

use std::path::Path;

use predicates::prelude::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use crate::private_server::{free_port, zczk, PrivateServer};

/// A CA, and a certificate with its key signed by it.
struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        Pki { ca, ca_key }
    }

    /// A certificate for `names` (host names or IP addresses) and its key, both PEM.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A standalone ZooKeeper whose secure client port wants a client certificate signed by the
/// CA of `pki`: the server, and its secure port's address.
fn tls_server(test: &str, pki: &Pki) -> (PrivateServer, String) {
    let dir = PrivateServer::prepare(test);
    let (cert, key) = pki.issue(&["127.0.0.1", "localhost"]);
    let keystore = dir.path().join("server.pem");
    std::fs::write(&keystore, format!("{key}{cert}")).unwrap();
    let truststore = dir.path().join("server-ca.pem");
    std::fs::write(&truststore, pki.ca.pem()).unwrap();
    let secure = format!("127.0.0.1:{}", free_port());
    let config = format!(
        "secureClientPort={port}\nsecureClientPortAddress=127.0.0.1\n\
         serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
         ssl.keyStore.location={keystore}\nssl.keyStore.type=PEM\n\
         ssl.trustStore.location={truststore}\nssl.trustStore.type=PEM\nssl.clientAuth=need\n",
        port = secure.rsplit_once(':').unwrap().1,
        keystore = keystore.display(),
        truststore = truststore.display(),
    );
    (PrivateServer::start(test, dir, &config, &[], &[&secure]), secure)
}

zczk_zookeeper::needs_zookeeper_jar! {
/// With the CA and a client certificate, commands work over TLS; a certificate problem is one
/// line naming the file.
#[test]
fn commands_over_tls_and_certificate_problems_named_by_file() {
    let pki = Pki::new("zczk test CA");
    let (server, secure) = tls_server("commands_over_tls", &pki);
    let ca = server.file("ca.pem", &pki.ca.pem());
    let (cert, key) = pki.issue(&["zczk client"]);
    let (cert, key) = (server.file("client.pem", &cert), server.file("client-key.pem", &key));
    let tls = |ca: &Path, args: &[&str]| {
        let mut command = zczk(&secure);
        command.args(args).arg("--tls-ca").arg(ca).arg("--tls-cert").arg(&cert).arg("--tls-key").arg(&key);
        command
    };
    tls(&ca, &["import", "-"]).write_stdin("/tls\n  on = True\n").assert().success();
    tls(&ca, &["get", "/tls"]).assert().success().stdout("{\n  \"on\": true\n}\n");
    // The server wants a client certificate: after the connect timeout, that is what is said.
    let output =
        zczk(&secure).args(["get", "--connect-timeout", "1", "/tls", "--tls-ca"]).arg(&ca).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{secure}: it refused the TLS handshake")), "{stderr}");
    assert!(stderr.contains("does it want a client certificate (--tls-cert)?"), "{stderr}");

    // A server certificate not signed by the given CA: after the connect timeout, the CA file
    // is named, and why.
    let other = server.file("other-ca.pem", &Pki::new("another CA").ca.pem());
    let output = tls(&other, &["get", "--connect-timeout", "1", "/tls"]).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let refused =
        format!("{secure}: its certificate is refused with the CA certificates of {}: ", other.display());
    assert!(stderr.contains(&refused) && stderr.contains("UnknownIssuer"), "{stderr}");
    // Unreadable or wrong files: at once, naming the file.
    let missing = server.dir.path().join("missing.pem");
    tls(&missing, &["get", "/tls"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{}: No such file", missing.display())));
    tls(&key, &["get", "/tls"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{}: no PEM certificate in it", key.display())));
    zczk(&secure)
        .args(["get", "--tls-ca"])
        .arg(&ca)
        .args(["--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert)
        .arg("/tls")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{}: no PEM private key in it", cert.display())));
    // TLS is for a real server only.
    zczk("mem:")
        .args(["get", "/", "--tls-ca"])
        .arg(&ca)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("TLS"));
}
}
