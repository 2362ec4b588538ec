//! Alerting tests' Alertmanager (Debian's `prometheus-alertmanager`, run as
//! a [`Daemon`]), the rule files rendered from the mixin, and a webhook
//! receiver that records every notification. Prometheus is
//! [`super::prometheus::Prometheus`].

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::daemon::Daemon;
use super::exporter::repo;
use super::http::{HttpSink, free_port, post_json, try_get};

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
            if try_get(self.addr, "/-/ready").is_some_and(|r| r.status == 200) {
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
        let resp = try_get(self.addr, "/api/v2/alerts").expect("Alertmanager answers");
        serde_json::from_str(&resp.body).unwrap_or_else(|e| panic!("alerts: {e}: {}", resp.body))
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
    /// The labels of the notification's group (`groupLabels`).
    pub group_labels: BTreeMap<String, String>,
    pub at: Instant,
}

/// A loopback HTTP server that records Alertmanager's webhook notifications.
pub struct Webhook {
    pub addr: SocketAddr,
    sink: HttpSink,
}

impl Webhook {
    pub fn start() -> Webhook {
        let sink = HttpSink::start(|_| (200, String::new()));
        Webhook {
            addr: sink.addr,
            sink,
        }
    }

    /// Every alert of every notification so far, in order of arrival.
    pub fn received(&self) -> Vec<Notified> {
        let mut out = Vec::new();
        for request in self.sink.received() {
            let payload: Value =
                serde_json::from_str(&request.body).expect("webhook payload is JSON");
            let strings = |value: &Value| -> BTreeMap<String, String> {
                value
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let group_labels = strings(&payload["groupLabels"]);
            for alert in payload["alerts"].as_array().cloned().unwrap_or_default() {
                out.push(Notified {
                    receiver: request.path.clone(),
                    status: alert["status"].as_str().unwrap_or("").to_owned(),
                    labels: strings(&alert["labels"]),
                    group_labels: group_labels.clone(),
                    at: request.at,
                });
            }
        }
        out
    }
}
