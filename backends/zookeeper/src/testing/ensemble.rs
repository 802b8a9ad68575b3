//! The private 3-server ensemble of `.ci/zookeeper-ensemble`, and control of its members.

use std::path::PathBuf;
use std::process::Command;

/// The ensemble `.ci/zookeeper-ensemble` started for this test run (`ZCZK_TEST_ENSEMBLE`),
/// whose members a test can kill and restart. Member `n` (1 to 3) is the `n`th address of the
/// connection string. Each control call returns once the script has done it (`start`: once the
/// member serves in the quorum again).
#[derive(Debug, Clone)]
pub struct Ensemble {
    connection_string: String,
    control: PathBuf,
}

impl Ensemble {
    /// The ensemble; panics, failing test `test`, when there is none (tests that need it are
    /// marked with [`needs_ensemble!`](crate::needs_ensemble), so they run only when asked for).
    pub fn from_env(test: &str) -> Ensemble {
        let connection_string = std::env::var("ZCZK_TEST_ENSEMBLE").ok().filter(|s| !s.trim().is_empty());
        let control = std::env::var_os("ZCZK_TEST_ENSEMBLE_CONTROL").map(PathBuf::from);
        match (connection_string, control) {
            (Some(connection_string), Some(control)) => Ensemble { connection_string, control },
            // Such tests are ignored unless asked for (`needs_ensemble!`): asked for, they fail.
            _ => panic!(
                "{test} needs a ZooKeeper ensemble, and ZCZK_TEST_ENSEMBLE is not set: run it under .ci/zookeeper-ensemble"
            ),
        }
    }

    /// `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub fn connection_string(&self) -> &str {
        &self.connection_string
    }

    /// The number of the member that leads now.
    pub fn leader(&self) -> std::io::Result<usize> {
        let answer = self.run(&["leader"])?;
        answer.trim().parse().map_err(|_| std::io::Error::other(format!("leader: {answer:?}")))
    }

    /// Kills member `n` with SIGKILL, as a crash would.
    pub fn kill(&self, n: usize) -> std::io::Result<()> {
        self.run(&["kill", &n.to_string()]).map(drop)
    }

    /// Stops member `n` with SIGTERM, as an orderly shutdown; returns once it has ended.
    pub fn stop(&self, n: usize) -> std::io::Result<()> {
        self.run(&["stop", &n.to_string()]).map(drop)
    }

    /// Starts member `n` again; returns once it serves in the quorum.
    pub fn start(&self, n: usize) -> std::io::Result<()> {
        self.run(&["start", &n.to_string()]).map(drop)
    }

    /// Returns once every member serves in the quorum.
    pub fn wait(&self) -> std::io::Result<()> {
        self.run(&["wait"]).map(drop)
    }

    fn run(&self, args: &[&str]) -> std::io::Result<String> {
        let output = Command::new(&self.control).args(args).output()?;
        if !output.status.success() {
            let why = String::from_utf8_lossy(&output.stderr);
            return Err(std::io::Error::other(format!(
                "zookeeper-ensemble {}: {}",
                args.join(" "),
                why.trim()
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
