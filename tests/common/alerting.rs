//! A real Prometheus and Alertmanager for alerting tests, with a webhook
//! receiver that records every notification.
//!
//! Prometheus discovers its targets from a `file_sd` file that the test
//! rewrites ([`AlertPrometheus::set_targets`]), as service discovery does when
//! pods are replaced, and evaluates the rule files of a directory every
//! second. Both run under `timeout`, so they cannot outlive a killed test by
//! more than [`CHILD_SECONDS`], and are stopped on drop.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::exporter::repo;
use super::prometheus::percent_encode;

/// Bound of each Prometheus and Alertmanager process, even if the test dies.
pub const CHILD_SECONDS: &str = "420";

/// A child process under `timeout`, stopped on drop; its output goes to a file.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
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

/// The rule files of the mixin rendered with `config` (a jsonnet object
/// merged into `_config`), in `dir`.
pub fn render_rules(dir: &Path, config: &str) -> PathBuf {
    let out_dir = dir.join("rules");
    let out = Command::new("python3")
        .arg(repo().join("mixin/render.py"))
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("run mixin/render.py");
    assert!(
        out.status.success(),
        "mixin/render.py --config {config}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out_dir
}

pub struct AlertPrometheus {
    daemon: Mutex<Daemon>,
    pub addr: SocketAddr,
    targets_file: PathBuf,
}

impl AlertPrometheus {
    /// Scrapes the targets of [`set_targets`](Self::set_targets) every second
    /// as `job` and evaluates `rules/*.yml` every second, sending alerts to
    /// `alertmanager`.
    pub fn start(dir: &Path, job: &str, rules: &Path, alertmanager: SocketAddr) -> Self {
        let targets_file = dir.join("targets.json");
        fs::write(&targets_file, "[]").unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}/*.yml\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\n\
             scrape_configs:\n  - job_name: {job}\n    file_sd_configs:\n      - files: ['{targets}']\n        \
             refresh_interval: 1s\n",
            rules = rules.display(),
            targets = targets_file.display(),
        );
        let config_path = dir.join("prometheus.yml");
        fs::write(&config_path, config).unwrap();
        let addr = free_port();
        let daemon = Daemon::start(
            "prometheus",
            dir,
            "prometheus",
            &[
                format!("--config.file={}", config_path.display()),
                format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
                format!("--web.listen-address={addr}"),
                "--log.level=warn".to_owned(),
            ],
        );
        AlertPrometheus {
            daemon: Mutex::new(daemon),
            addr,
            targets_file,
        }
    }

    /// Replaces the scrape targets: (address, target labels).
    pub fn set_targets(&self, targets: &[(SocketAddr, BTreeMap<&str, String>)]) {
        let groups: Vec<Value> = targets
            .iter()
            .map(|(addr, labels)| json!({"targets": [addr.to_string()], "labels": labels}))
            .collect();
        // Written whole, then renamed: Prometheus never reads half a file.
        let tmp = self.targets_file.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec(&groups).unwrap()).unwrap();
        fs::rename(&tmp, &self.targets_file).unwrap();
    }

    pub fn wait_ready(&self, deadline: Instant) {
        loop {
            self.daemon.lock().unwrap().assert_running("prometheus");
            if try_get(self.addr, "/-/ready").is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus not ready:\n{}",
                self.daemon.lock().unwrap().log()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Active targets by address with their health (`up`, `down`, `unknown`).
    pub fn target_health(&self) -> BTreeMap<String, String> {
        self.api("/api/v1/targets")["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| {
                (
                    t["labels"]["instance"].as_str().unwrap_or("").to_owned(),
                    t["health"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    pub fn api(&self, path: &str) -> Value {
        let (_, body) = try_get(self.addr, path).expect("Prometheus answers");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    pub fn query(&self, expr: &str) -> Vec<Value> {
        let answer = self.api(&format!("/api/v1/query?query={}", percent_encode(expr)));
        assert_eq!(answer["status"], "success", "{expr}: {answer:#}");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Alerts Prometheus holds, pending or firing.
    pub fn alerts(&self) -> Vec<Value> {
        self.api("/api/v1/alerts")["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn log(&self) -> String {
        self.daemon.lock().unwrap().log()
    }
}

pub struct Alertmanager {
    daemon: Mutex<Daemon>,
    pub addr: SocketAddr,
}

impl Alertmanager {
    pub fn start(dir: &Path, config: &str) -> Alertmanager {
        let config_path = dir.join("alertmanager.yml");
        fs::write(&config_path, config).unwrap();
        let addr = free_port();
        let daemon = Daemon::start(
            "alertmanager",
            dir,
            "prometheus-alertmanager",
            &[
                format!("--config.file={}", config_path.display()),
                format!("--storage.path={}", dir.join("alertmanager").display()),
                format!("--web.listen-address={addr}"),
                "--cluster.listen-address=".to_owned(),
                "--log.level=warn".to_owned(),
            ],
        );
        Alertmanager {
            daemon: Mutex::new(daemon),
            addr,
        }
    }

    pub fn wait_ready(&self, deadline: Instant) {
        loop {
            self.daemon.lock().unwrap().assert_running("alertmanager");
            if try_get(self.addr, "/-/ready").is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Alertmanager not ready:\n{}",
                self.daemon.lock().unwrap().log()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Posts alerts to the v2 API, as Prometheus does.
    pub fn post_alerts(&self, alerts: &Value) {
        let status = post_json(self.addr, "/api/v2/alerts", alerts);
        assert_eq!(status, 200, "POST /api/v2/alerts");
    }

    /// The alerts Alertmanager holds, with their status (inhibitedBy, ...).
    pub fn alerts(&self) -> Vec<Value> {
        let (_, body) = try_get(self.addr, "/api/v2/alerts").expect("Alertmanager answers");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("alerts: {e}: {body}"))
    }
}

/// The shipped deploy/alertmanager/alertmanager.yml, sending to `webhook`
/// instead of the compose stack's receiver, with group_wait and
/// group_interval of 1s so that a test sees notifications at once.
/// Routes, receivers, repeat intervals, inhibitions and `send_resolved`
/// are left as shipped.
pub fn shipped_alertmanager_config(webhook: SocketAddr) -> String {
    let shipped = fs::read_to_string(repo().join("deploy/alertmanager/alertmanager.yml")).unwrap();
    let mut out = String::new();
    for line in shipped.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with("group_wait:") {
            out.push_str(&format!("{indent}group_wait: 1s\n"));
        } else if trimmed.starts_with("group_interval:") {
            out.push_str(&format!("{indent}group_interval: 1s\n"));
        } else {
            out.push_str(
                &line.replace("http://alert-receiver:8080/", &format!("http://{webhook}/")),
            );
            out.push('\n');
        }
    }
    assert!(
        out.contains(&format!("http://{webhook}/")),
        "no webhook URL to replace in the shipped Alertmanager config"
    );
    out
}

/// One alert of one webhook notification.
#[derive(Debug, Clone)]
pub struct Notified {
    /// The receiver: the path of the webhook URL (`/ticket`, `/security`...).
    pub receiver: String,
    /// `firing` or `resolved`.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub at: Instant,
}

/// A loopback HTTP server that records Alertmanager's webhook notifications.
pub struct Webhook {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Notified>>>,
}

impl Webhook {
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let sink = Arc::clone(&sink);
                thread::spawn(move || serve_webhook(stream, &sink));
            }
        });
        Webhook { addr, received }
    }

    pub fn received(&self) -> Vec<Notified> {
        self.received.lock().unwrap().clone()
    }
}

fn serve_webhook(stream: TcpStream, sink: &Mutex<Vec<Notified>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let payload: Value = serde_json::from_slice(&body).expect("webhook payload is JSON");
    let at = Instant::now();
    for alert in payload["alerts"].as_array().cloned().unwrap_or_default() {
        let labels = alert["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        sink.lock().unwrap().push(Notified {
            receiver: path.clone(),
            status: alert["status"].as_str().unwrap_or("").to_owned(),
            labels,
            at,
        });
    }
    let mut stream = stream;
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// GET on loopback: (status, body), or None when nothing answers.
pub fn try_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

fn post_json(addr: SocketAddr, path: &str, body: &Value) -> u16 {
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, &request).map_or(0, |(status, _)| status)
}

fn exchange(addr: SocketAddr, request: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    Some((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].strip_prefix("\r\n").unwrap_or(&after[size..]);
    }
    out
}
