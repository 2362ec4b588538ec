//! A real Prometheus (Debian's `prometheus`) on loopback that scrapes test
//! exporters and evaluates the shipped recording rules.
//!
//! It runs under `timeout`, so it cannot outlive a killed test by more than
//! [`CHILD_SECONDS`], and is stopped on drop. Its log goes to a file in the
//! given directory and is shown when it fails.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::exporter::repo;
use super::http;

/// Bound of the Prometheus process, even if the test dies.
pub const CHILD_SECONDS: &str = "300";

pub struct Prometheus {
    child: Child,
    log: PathBuf,
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Scrapes `targets` (scenario label, address) every second as `job`,
    /// evaluating `rule_files` (paths relative to the repository) every
    /// second.
    pub fn start(
        dir: &Path,
        job: &str,
        targets: &[(&str, SocketAddr)],
        rule_files: &[&str],
    ) -> Prometheus {
        let rules = dir.join("rules");
        fs::create_dir_all(&rules).unwrap();
        for file in rule_files {
            let name = Path::new(file).file_name().unwrap();
            fs::copy(repo().join(file), rules.join(name)).unwrap();
        }
        let mut scrape = String::new();
        for (scenario, addr) in targets {
            scrape.push_str(&format!(
                "      - targets: ['{addr}']\n        labels: {{scenario: {scenario}}}\n"
            ));
        }
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}/*.yml\n\
             scrape_configs:\n  - job_name: {job}\n    static_configs:\n{scrape}",
            rules = rules.display()
        );
        let config_path = dir.join("prometheus.yml");
        fs::write(&config_path, config).unwrap();
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let log = dir.join("prometheus.log");
        let file = fs::File::create(&log).unwrap();
        let child = Command::new("timeout")
            .arg(CHILD_SECONDS)
            .arg("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run prometheus: {e}; run scripts/install-test-deps.sh")
            });
        Prometheus { child, log, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Ready, and every target scraped successfully at least once.
    pub fn wait_ready(&mut self, deadline: Instant) {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status}):\n{}", self.log());
            }
            if try_get(self.addr, "/-/ready").is_some_and(|r| r.status == 200) {
                let targets = self.api("/api/v1/targets");
                let active = targets["data"]["activeTargets"].as_array().cloned();
                if active.is_some_and(|t| !t.is_empty() && t.iter().all(|t| t["health"] == "up")) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus not ready with every target up:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn api(&self, path: &str) -> Value {
        let resp = try_get(self.addr, path).expect("Prometheus answers");
        serde_json::from_str(&resp.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", resp.body))
    }

    /// The result vector of an instant query.
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let answer = self.api(&format!("/api/v1/query?query={}", percent_encode(expr)));
        assert_eq!(answer["status"], "success", "{expr}: {answer:#}");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `expr` returns at least `series` series.
    pub fn wait_for(&self, expr: &str, series: usize, deadline: Instant) {
        loop {
            let result = self.query(expr);
            if result.len() >= series {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{expr} returned {} series, want {series}: {result:#?}",
                result.len()
            );
            thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
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

/// GET that tolerates a server that is not up yet, and decodes a chunked body.
fn try_get(addr: SocketAddr, path: &str) -> Option<http::Response> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    let mut resp = http::get(addr, path);
    if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        resp.body = dechunk(&resp.body);
    }
    Some(resp)
}

fn dechunk(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(eol) = bytes[pos..].windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&bytes[pos..pos + eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        pos += eol + 2;
        if size == 0 {
            break;
        }
        out.extend_from_slice(&bytes[pos..pos + size]);
        pos += size + 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
