//! Runs the real exporter binary on loopback for end-to-end tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_iam-credentials-exporter");

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn example_report() -> PathBuf {
    repo().join("examples/credential-report.csv")
}

/// A running exporter; killed on drop.
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Exporter {
    /// Starts the binary with `args` (plus a loopback listen address) and
    /// waits for it to listen.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Exporter {
        let mut cmd = Command::new(BIN);
        cmd.args(["--web.listen-address", "127.0.0.1:0"]);
        if !args.contains(&"--log.level") {
            cmd.args(["--log.level", "debug"]);
        }
        cmd.args(args)
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start exporter");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_address(&line) {
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("exporter did not start: {:?}", logs.lock().unwrap()));
        Exporter { child, addr, logs }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Whether `/-/ready` answers 200 now.
    pub fn is_ready_now(&self) -> bool {
        super::http::get(self.addr, "/-/ready").status == 200
    }

    /// Waits until `/-/ready` answers 200.
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if super::http::get(self.addr, "/-/ready").status == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("exporter not ready after {timeout:?}: {:#?}", self.logs());
    }

    /// Waits until `count` log lines contain `needle`.
    pub fn wait_log_count(&self, needle: &str, count: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.logs().iter().filter(|l| l.contains(needle)).count() >= count {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "fewer than {count} log lines with {needle:?} after {timeout:?}: {:#?}",
            self.logs()
        );
    }

    /// Waits for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.logs().iter().any(|l| l.contains(needle)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "no log line with {needle:?} after {timeout:?}: {:#?}",
            self.logs()
        );
    }

    pub fn metrics(&self) -> String {
        let resp = super::http::get(self.addr, "/metrics");
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self, timeout: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address of the "listening" log line, in logfmt or JSON.
fn listening_address(line: &str) -> Option<SocketAddr> {
    if line.contains("msg=listening") {
        return line
            .split(' ')
            .find_map(|f| f.strip_prefix("address="))?
            .parse()
            .ok();
    }
    if line.contains(r#""message":"listening""#) {
        let rest = &line[line.find(r#""address":""#)? + r#""address":""#.len()..];
        return rest[..rest.find('"')?].parse().ok();
    }
    None
}

/// Value of the one series whose name and labels are exactly `series`
/// (as written in the text format, e.g. `name{a="b"}`).
pub fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

/// A `kB` field of `/proc/<pid>/status` (VmRSS, VmHWM).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Python of the test venv (see `scripts/install-test-deps.sh`).
pub fn python() -> PathBuf {
    std::env::var_os("IAM_EXPORTER_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

/// Runs `tool` with `args`, feeding `input` on stdin; panics with its output on failure.
pub fn run_tool(tool: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run scripts/install-test-deps.sh",
                tool.display()
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{text}",
        tool.display()
    );
    text
}
