//! A standalone ZooKeeper started by a test with a configuration of its own (TLS, SASL), on
//! free loopback ports, stopped when dropped. The tests that use it are ignored unless asked for
//! (`needs_zookeeper_jar!`), as they need the Debian package's jar, which
//! CI must have.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The server's classpath: Debian's jar (its manifest names most dependencies) and the Netty
/// codec, which the Netty connection factory needs and the manifest leaves out.
const JARS: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/netty-codec.jar";

/// `zczk` connecting to `zk` with no identity from the environment (`ZC_ZK_AUTH`), so a test
/// says every identity it uses.
pub fn zczk(zk: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("zczk").unwrap();
    command.env_remove("ZC_ZK_AUTH").env("ZC_ZK_CONNECTION_STRING", zk).timeout(Duration::from_secs(60));
    command
}

/// A running server.
pub struct PrivateServer {
    /// Where its files are; tests may write theirs here too.
    pub dir: TempDir,
    /// `127.0.0.1:PORT` of the plain client port.
    pub plain: String,
    process: Child,
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PrivateServer {
    /// A new directory for a server's files, or `None` (after saying so) when there is no
    /// ZooKeeper to start.
    pub fn prepare(test: &str) -> TempDir {
        // Tests that start a server are ignored unless asked for (`needs_zookeeper_jar!`).
        assert!(
            Path::new("/usr/share/java/zookeeper.jar").exists(),
            "{test}: /usr/share/java/zookeeper.jar is missing (apt-get install zookeeper)"
        );
        TempDir::new().unwrap()
    }

    /// Starts a server in `dir` with `config` lines added to the basic ones and `jvm` options;
    /// returns once the plain port answers and every port of `also` accepts connections.
    pub fn start(test: &str, dir: TempDir, config: &str, jvm: &[String], also: &[&str]) -> PrivateServer {
        let port = free_port();
        let base = format!(
            "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\n4lw.commands.whitelist=*\npreAllocSize=1024\n",
            dir.path().display()
        );
        let config_file = dir.path().join("zoo.cfg");
        std::fs::write(&config_file, format!("{base}{config}")).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let process = Command::new("java")
            .arg("-Xmx256m")
            .args(jvm)
            .args(["-cp", JARS, "org.apache.zookeeper.server.ZooKeeperServerMain"])
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = PrivateServer { dir, plain: format!("127.0.0.1:{port}"), process };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ruok(&server.plain).as_deref() != Some("imok")
            || also.iter().any(|a| TcpStream::connect(a).is_err())
        {
            let log = std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "{test}: ZooKeeper did not start: {log}");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Writes `text` to a file named `name` in the server's directory.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn ruok(address: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.write_all(b"ruok").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}
