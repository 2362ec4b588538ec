//! A long-running tool of a test (Prometheus, Alertmanager) as a child
//! process: under `timeout`, so that it cannot outlive a killed test by more
//! than [`CHILD_SECONDS`], stopped on drop, its output in a file of the
//! test's directory that is shown when it fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Bound of each child process, even if the test dies.
pub const CHILD_SECONDS: &str = "420";

pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Runs `program` with `args`, its output in `dir/<name>.log`.
    pub fn start(name: &str, dir: &Path, program: &str, args: &[String]) -> Daemon {
        let log = dir.join(format!("{name}.log"));
        let file = fs::File::create(&log).unwrap();
        let child = Command::new("timeout")
            .arg(CHILD_SECONDS)
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {program}: {e}; run scripts/install-test-deps.sh")
            });
        Daemon { child, log }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log if the process has exited.
    pub fn assert_running(&mut self, what: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{what} exited ({status}):\n{}", self.log());
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // `timeout` passes SIGTERM on to its command.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
