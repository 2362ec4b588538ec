//! A real Prometheus (Debian's `prometheus`) on loopback that scrapes test
//! exporters, evaluates rule files every second and, if given one, sends
//! alerts to an Alertmanager.
//!
//! Its targets are either fixed at start ([`Scrape::Static`], with a
//! `scenario` label each) or discovered from a `file_sd` file that the test
//! rewrites ([`Prometheus::set_targets`]), as service discovery does when
//! pods are replaced. It runs as a [`Daemon`].

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::daemon::Daemon;
use super::exporter::repo;
use super::http::{free_port, try_get};

/// Where Prometheus finds its targets.
pub enum Scrape<'a> {
    /// (scenario label, address) of each target.
    Static(&'a [(&'a str, SocketAddr)]),
    /// Those of the last [`Prometheus::set_targets`]; none until then.
    Discovered,
}

pub struct Prometheus {
    daemon: Mutex<Daemon>,
    pub addr: SocketAddr,
    /// The `file_sd` file of [`Scrape::Discovered`].
    targets_file: Option<PathBuf>,
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
        Self::launch(dir, job, Scrape::Static(targets), &rules, None)
    }

    /// Scrapes `scrape` every second as `job` and evaluates `rules/*.yml`
    /// every second, sending alerts to `alertmanager` if given.
    pub fn launch(
        dir: &Path,
        job: &str,
        scrape: Scrape,
        rules: &Path,
        alertmanager: Option<SocketAddr>,
    ) -> Prometheus {
        let mut targets_file = None;
        let discovery = match scrape {
            Scrape::Static(targets) => {
                let mut out = String::from("    static_configs:\n");
                for (scenario, addr) in targets {
                    out.push_str(&format!(
                        "      - targets: ['{addr}']\n        labels: {{scenario: {scenario}}}\n"
                    ));
                }
                out
            }
            Scrape::Discovered => {
                let file = dir.join("targets.json");
                fs::write(&file, "[]").unwrap();
                let out = format!(
                    "    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 1s\n",
                    file.display()
                );
                targets_file = Some(file);
                out
            }
        };
        let alerting = alertmanager.map_or(String::new(), |addr| {
            format!("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{addr}']\n")
        });
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}/*.yml\n\
             {alerting}\
             scrape_configs:\n  - job_name: {job}\n{discovery}",
            rules = rules.display()
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
                // Keeps history a test writes into `tsdb` before the start
                // (`promtool tsdb create-blocks-from`), months old: the
                // default 15 days would delete it at once.
                "--storage.tsdb.retention.time=1y".to_owned(),
                "--log.level=warn".to_owned(),
            ],
        );
        Prometheus {
            daemon: Mutex::new(daemon),
            addr,
            targets_file,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> String {
        self.daemon.lock().unwrap().log()
    }

    /// Ready, and every target scraped successfully at least once.
    pub fn wait_ready(&mut self, deadline: Instant) {
        loop {
            self.daemon.get_mut().unwrap().assert_running("prometheus");
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

    /// Ready, whatever its targets (there may be none yet).
    pub fn wait_started(&self, deadline: Instant) {
        loop {
            self.daemon.lock().unwrap().assert_running("prometheus");
            if try_get(self.addr, "/-/ready").is_some_and(|r| r.status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus not ready:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Replaces the scrape targets of [`Scrape::Discovered`]: (address,
    /// target labels).
    pub fn set_targets(&self, targets: &[(SocketAddr, BTreeMap<&str, String>)]) {
        let file = self
            .targets_file
            .as_ref()
            .expect("targets are set only on a Prometheus started with Scrape::Discovered");
        let groups: Vec<Value> = targets
            .iter()
            .map(|(addr, labels)| json!({"targets": [addr.to_string()], "labels": labels}))
            .collect();
        // Written whole, then renamed: Prometheus never reads half a file.
        let tmp = file.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec(&groups).unwrap()).unwrap();
        fs::rename(&tmp, file).unwrap();
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

    /// Alerts Prometheus holds, pending or firing.
    pub fn alerts(&self) -> Vec<Value> {
        self.api("/api/v1/alerts")["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
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
