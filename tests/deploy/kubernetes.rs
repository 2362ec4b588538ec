//! The Kubernetes manifests as a cluster would receive them: every
//! kustomization under deploy/kubernetes (the base, the default entry point
//! and the overlays) rendered with `kubectl kustomize`, then checked by
//! tests/harness/check_manifests.py: built-in kinds against the Kubernetes
//! schemas of kubernetes-validate (strict, oldest supported and newest
//! version), the Prometheus Operator kinds against the fields they use, and
//! the links between them (one scraped Service, the alerts' job, shard count
//! = replicas, shard index = pod ordinal).
//!
//! kubectl is required (its kustomize is what `kubectl apply -k` runs): a
//! missing kubectl fails the test with that message rather than skipping it.
//! Override its path with KUBECTL.

use crate::common::exporter::repo;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const DEPLOY: &str = "deploy/kubernetes";
const CHECK: &str = "tests/harness/check_manifests.py";
const TIMEOUT: Duration = Duration::from_secs(120);

fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join("kubectl"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "kubectl not found (or set KUBECTL): the manifests are rendered with \
                 `kubectl kustomize`, as `kubectl apply -k` does"
            )
        })
}

fn python() -> PathBuf {
    std::env::var_os("IAM_EXPORTER_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

/// Runs `cmd` to completion within [`TIMEOUT`]. Its output is read while it
/// runs: the rendered manifests (the PrometheusRule alone is over 64 KiB)
/// exceed a pipe's buffer, and a child blocked on a full pipe never exits.
fn run(cmd: &mut Command, what: &str) -> Output {
    let child = cmd
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = child.id();
    let (done, output) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match output.recv_timeout(TIMEOUT) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("{what} did not finish within {TIMEOUT:?}");
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Directories under deploy/kubernetes holding a kustomization.yaml,
/// relative to deploy/kubernetes ("." for itself).
fn kustomizations() -> Vec<String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        if dir.join("kustomization.yaml").is_file() {
            found.push(dir.to_owned());
        }
        for entry in std::fs::read_dir(dir).expect("read deploy/kubernetes") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, found);
            }
        }
    }
    let root = repo().join(DEPLOY);
    let mut found = Vec::new();
    walk(&root, &mut found);
    let mut names: Vec<String> = found
        .iter()
        .map(|d| {
            let rel = d.strip_prefix(&root).expect("under deploy/kubernetes");
            if rel.as_os_str().is_empty() {
                ".".to_owned()
            } else {
                rel.to_string_lossy().into_owned()
            }
        })
        .collect();
    names.sort();
    names
}

/// Renders every kustomization into `dir`; returns NAME=FILE arguments.
fn render_all(dir: &Path) -> Vec<String> {
    let kubectl = kubectl();
    kustomizations()
        .into_iter()
        .map(|name| {
            let out = run(
                Command::new(&kubectl)
                    .arg("kustomize")
                    .arg(repo().join(DEPLOY).join(&name)),
                &format!("kubectl kustomize {DEPLOY}/{name}"),
            );
            assert!(
                out.status.success(),
                "kubectl kustomize {DEPLOY}/{name}: {}",
                text(&out)
            );
            let file = dir.join(format!("{}.yaml", name.replace(['/', '.'], "_")));
            std::fs::write(&file, &out.stdout).expect("write rendered manifests");
            format!("{name}={}", file.display())
        })
        .collect()
}

fn check(args: &[String]) -> Output {
    run(
        Command::new(python()).arg(repo().join(CHECK)).args(args),
        CHECK,
    )
}

#[test]
fn every_kustomization_renders_and_validates() {
    let names = kustomizations();
    for expected in [".", "base", "overlays/sharded"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{DEPLOY}/{expected} has no kustomization.yaml: {names:?}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = check(&render_all(dir.path()));
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(&format!("checked {} kustomizations", names.len())),
        "{report}"
    );
}

/// The checks catch what they are for: a broken manifest must fail them.
#[test]
fn broken_manifests_fail_the_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = render_all(dir.path());
    let sharded = args
        .iter()
        .find_map(|a| a.strip_prefix("overlays/sharded="))
        .expect("overlays/sharded rendered");
    let rendered = std::fs::read_to_string(sharded).expect("read");
    let cases: [(&str, &str, &str, &str); 4] = [
        // An unknown field: strict schema validation.
        (
            "  serviceName: iam-credentials-exporter\n",
            "  serviceNme: iam-credentials-exporter\n",
            "'serviceNme' was unexpected",
            "schema",
        ),
        (
            "  replicas: 3\n",
            "  replicas: 4\n",
            "replicas 4 but IAM_EXPORTER_SHARD_COUNT '3'",
            "replicas",
        ),
        (
            "  clusterIP: None\n",
            "",
            "is not a headless Service",
            "headless",
        ),
        (
            "    scrapeTimeout: 10s\n",
            "    scrapeTimeout: 10 seconds\n",
            "is not a Prometheus duration",
            "servicemonitor",
        ),
    ];
    for (from, to, expected, name) in cases {
        assert_eq!(rendered.matches(from).count(), 1, "{name}: {from:?}");
        let file = dir.path().join(format!("broken-{name}.yaml"));
        std::fs::write(&file, rendered.replace(from, to)).expect("write");
        let out = check(&[format!("broken={}", file.display())]);
        let report = text(&out);
        assert!(!out.status.success(), "{name}: accepted:\n{report}");
        assert!(report.contains(expected), "{name}: {report}");
    }
}
