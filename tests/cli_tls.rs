//! TLS: a real ZooKeeper with a Netty secure client port, started here with certificates from a
//! CA made here (skipped without the Debian package's jar, failing when `CI` is set).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tempfile::TempDir;

const JARS: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/netty-codec.jar";

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

/// A standalone ZooKeeper whose secure client port wants a client certificate.
struct TlsServer {
    dir: TempDir,
    secure: String,
    process: Child,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl TlsServer {
    fn start(test: &str, pki: &Pki) -> Option<TlsServer> {
        if !Path::new("/usr/share/java/zookeeper.jar").exists() {
            assert!(std::env::var_os("CI").is_none(), "{test}: no ZooKeeper jar, and CI needs it");
            eprintln!(
                "{test}: skipped: /usr/share/java/zookeeper.jar is missing (apt-get install zookeeper)"
            );
            return None;
        }
        let dir = TempDir::new().unwrap();
        let (cert, key) = pki.issue(&["127.0.0.1", "localhost"]);
        let keystore = dir.path().join("server.pem");
        std::fs::write(&keystore, format!("{key}{cert}")).unwrap();
        let truststore = dir.path().join("server-ca.pem");
        std::fs::write(&truststore, pki.ca.pem()).unwrap();
        let (port, secure) = (free_port(), free_port());
        let config = format!(
            "tickTime=200\ndataDir={data}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             secureClientPort={secure}\nsecureClientPortAddress=127.0.0.1\nadmin.enableServer=false\n\
             4lw.commands.whitelist=*\npreAllocSize=1024\n\
             serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
             ssl.keyStore.location={keystore}\nssl.keyStore.type=PEM\n\
             ssl.trustStore.location={truststore}\nssl.trustStore.type=PEM\nssl.clientAuth=need\n",
            data = dir.path().display(),
            keystore = keystore.display(),
            truststore = truststore.display(),
        );
        let config_file = dir.path().join("zoo.cfg");
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let process = Command::new("java")
            .args(["-Xmx256m", "-cp", JARS, "org.apache.zookeeper.server.ZooKeeperServerMain"])
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = TlsServer { dir, secure: format!("127.0.0.1:{secure}"), process };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ruok(port).as_deref() != Some("imok") || TcpStream::connect(&server.secure).is_err() {
            let log = std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "{test}: ZooKeeper did not start: {log}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }

    /// Writes `text` to a file named `name` in the server's directory.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn ruok(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(b"ruok").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

fn zczk(zk: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("zczk").unwrap();
    command.env_remove("ZC_ZK_AUTH").env("ZC_ZK_CONNECTION_STRING", zk).timeout(Duration::from_secs(60));
    command
}

/// With the CA and a client certificate, commands work over TLS; a certificate problem is one
/// line naming the file.
#[test]
fn commands_over_tls_and_certificate_problems_named_by_file() {
    let pki = Pki::new("zczk test CA");
    let Some(server) = TlsServer::start("commands_over_tls", &pki) else { return };
    let ca = server.file("ca.pem", &pki.ca.pem());
    let (cert, key) = pki.issue(&["zczk client"]);
    let (cert, key) = (server.file("client.pem", &cert), server.file("client-key.pem", &key));
    let tls = |ca: &Path, args: &[&str]| {
        let mut command = zczk(&server.secure);
        command.args(args).arg("--tls-ca").arg(ca).arg("--tls-cert").arg(&cert).arg("--tls-key").arg(&key);
        command
    };
    tls(&ca, &["import", "-"]).write_stdin("/tls\n  on = True\n").assert().success();
    tls(&ca, &["get", "/tls"]).assert().success().stdout("{\n  \"on\": true\n}\n");
    // The server wants a client certificate.
    zczk(&server.secure)
        .args(["get", "--connect-timeout", "1", "/tls", "--tls-ca"])
        .arg(&ca)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(server.secure.as_str()));

    // A server certificate not signed by the given CA: after the connect timeout, the CA file
    // is named.
    let other = server.file("other-ca.pem", &Pki::new("another CA").ca.pem());
    tls(&other, &["get", "--connect-timeout", "1", "/tls"]).assert().code(1).stderr(
        predicate::str::contains(other.display().to_string())
            .and(predicate::function(|s: &str| s.lines().count() == 1)),
    );
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
    zczk(&server.secure)
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
