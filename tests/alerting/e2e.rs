//! End to end: seeded moto and a credential report fixture feed the real
//! exporter binary; a real Prometheus scrapes it with the shipped rule files;
//! a real Alertmanager routes to a webhook receiver in this test.
//!
//! Five exporters are scraped as job `iam-credentials-exporter`, each with a
//! `scenario` target label so that the assertions can tell them apart (the
//! moto and fixture sources twice: as `moto` and `fixture` with the default
//! flags, as `moto-no-ages` and `fixture-no-ages` with `--metrics.ages=false`,
//! which must raise the same alerts):
//! - `moto`: the IAM API of a seeded moto server (account 123456789012);
//! - `fixture`: `tests/fixtures/e2e/root-account.csv.template`, for the
//!   `<root_account>` row that moto cannot produce (account 210987654321);
//! - `denied`: an IAM endpoint in this test that answers every call with
//!   AccessDenied, for the refresh-failure alert and the API error panels.
//!
//! The rule files are the shipped ones with every `for:` shortened from
//! minutes to the same number of seconds (expressions and thresholds are
//! untouched). The test asserts the exact set of alerts that reach the webhook
//! and that Prometheus has no other alert pending or firing. (What the
//! dashboards draw is tested by `tests/dashboards.rs`.)
//!
//! Everything listens on 127.0.0.1; every child is killed on drop, Prometheus
//! and Alertmanager also run under `timeout` (the harness's `Daemon`) so that
//! they cannot outlive a killed test by more than a few minutes. The test
//! stops by itself within [`DEADLINE`].

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::alerting::Alertmanager;
use common::exporter::{Exporter, repo};
use common::fixture::{iso8601, relative_dates, remaining, unix_now};
use common::http::HttpSink;
use common::moto::MotoServer;
use common::prometheus::{Prometheus, Scrape};

/// The whole test, setup included, must finish within this.
const DEADLINE: Duration = Duration::from_secs(150);
const JOB: &str = "iam-credentials-exporter";
const MOTO_ACCOUNT: &str = "123456789012";
const FIXTURE_ACCOUNT: &str = "210987654321";
const DAY: u64 = 86_400;
const HOUR: u64 = 3_600;

// ---------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------

/// An alert as the assertions see it: name, scenario, account and user.
type AlertKey = (String, String, String, String);

fn key(alert: &str, scenario: &str, account: &str, user: &str) -> AlertKey {
    (
        alert.to_owned(),
        scenario.to_owned(),
        account.to_owned(),
        user.to_owned(),
    )
}

/// Scenario label of a source: its name, with `-no-ages` for the exporter
/// run with `--metrics.ages=false`.
fn scenario(source: &str, ages: bool) -> String {
    if ages {
        source.to_owned()
    } else {
        format!("{source}-no-ages")
    }
}

/// Every alert that must fire, and nothing else: the same findings whether
/// the exporter serves the age families or not.
fn expected_alerts() -> BTreeSet<AlertKey> {
    let mut all = BTreeSet::new();
    for ages in [true, false] {
        all.extend(expected_alerts_of(
            &scenario("moto", ages),
            &scenario("fixture", ages),
        ));
    }
    all.insert(key("AwsIamExporterRefreshFailing", "denied", "", ""));
    all
}

fn expected_alerts_of(moto: &str, fixture: &str) -> BTreeSet<AlertKey> {
    let m = |alert, user| key(alert, moto, MOTO_ACCOUNT, user);
    let f = |alert| key(alert, fixture, FIXTURE_ACCOUNT, "<root_account>");
    BTreeSet::from([
        // Key created 120 days ago, used yesterday: rotation, not idleness.
        m("AwsIamAccessKeyNotRotated", "old-key"),
        // Key created 60 days ago and never used: idle counts from creation.
        m("AwsIamAccessKeyUnused", "never-used-key"),
        // Both keys active, the newer one 10 days old.
        m("AwsIamUserHasTwoActiveKeys", "two-keys"),
        // Console password, no MFA device.
        m("AwsIamConsoleUserWithoutMFA", "console-no-mfa"),
        // Password (with MFA) last used 50 days ago.
        m("AwsIamPasswordUnused", "stale-password"),
        // No activity for 200 days; its inactive key raises no key alert.
        m("AwsIamUserInactive", "dormant"),
        // moto always reports GeneratedTime 2015-02-02T20:02:02Z, so the
        // report of the moto account is years old: the alert is right.
        m("AwsIamCredentialReportStale", ""),
        // old-key's active signing certificate was uploaded 100 days ago.
        m("AwsIamSigningCertificateNotRotated", "old-key"),
        // The moto account has no password policy (CIS 1.8, 1.9).
        m("AwsIamPasswordPolicyMissing", ""),
        // A server certificate that expired 3 days ago (CIS 1.19); the
        // other one expires in 200 days.
        m("AwsIamServerCertificateExpired", ""),
        // The launcher's root row: MFA on, by a virtual device (CIS 1.6).
        m("AwsIamRootMFAVirtual", "<root_account>"),
        // Read by the authorization-details collector: a user with a
        // policy of its own (CIS 2.13), no role with AWSSupportAccess (2.15),
        // AWSCloudShellFullAccess attached to a group (2.20).
        m("AwsIamUserHasDirectPolicies", "direct-policy"),
        m("AwsIamSupportRoleMissing", ""),
        m("AwsIamCloudShellFullAccessAttached", ""),
        // Root row of the fixture: active key used 2 hours ago, no MFA.
        f("AwsIamRootAccessKeyActive"),
        f("AwsIamRootRecentlyUsed"),
        f("AwsIamRootWithoutMFA"),
    ])
}

fn moto_seed(now: u64) -> Value {
    let ago = |s: u64| iso8601(now - s);
    let used = |s: u64, region: &str, service: &str| json!({"date": ago(s), "region": region, "service": service});
    json!({"accounts": [{
     "root": {"created": ago(3000 * DAY), "mfa": "virtual"},
     "server_certificates": [
        {"name": "expired", "uploaded": ago(400 * DAY), "expiration": ago(3 * DAY)},
        {"name": "current", "uploaded": ago(10 * DAY), "expiration": iso8601(now + 200 * DAY)}
     ],
     "users": [
        {"name": "old-key", "created": ago(200 * DAY),
         "keys": [{"created": ago(120 * DAY), "last_used": used(DAY, "eu-west-1", "s3")}],
         "signing_certificates": [{"uploaded": ago(100 * DAY)}]},
        {"name": "never-used-key", "created": ago(60 * DAY),
         "keys": [{"created": ago(60 * DAY)}]},
        {"name": "two-keys", "path": "/ci/", "created": ago(100 * DAY),
         "keys": [{"created": ago(30 * DAY), "last_used": used(2 * HOUR, "us-east-1", "sts")},
                  {"created": ago(10 * DAY), "last_used": used(HOUR, "us-east-1", "sts")}]},
        {"name": "console-no-mfa", "created": ago(100 * DAY), "password": true,
         "password_last_used": ago(2 * DAY), "mfa": false},
        {"name": "stale-password", "created": ago(300 * DAY), "password": true,
         "password_last_used": ago(50 * DAY), "mfa": true},
        {"name": "dormant", "created": ago(200 * DAY),
         "keys": [{"status": "Inactive", "created": ago(200 * DAY)}]},
        {"name": "healthy-console", "created": ago(400 * DAY), "password": true,
         "password_last_used": ago(HOUR), "mfa": true,
         "keys": [{"created": ago(20 * DAY), "last_used": used(HOUR, "eu-central-1", "ec2")}]},
        {"name": "fresh-key", "created": ago(5 * DAY),
         "keys": [{"created": ago(2 * DAY)}]},
        // An inline policy of its own (CIS 2.13), and a member of a group
        // with AWSCloudShellFullAccess (CIS 2.20).
        {"name": "direct-policy", "created": ago(5 * DAY), "groups": ["shell-users"],
         "inline_policies": {"read-logs": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"}]}}}
     ],
     "groups": [{"name": "shell-users", "aws_managed_policies": ["AWSCloudShellFullAccess"]}]
    }]})
}

/// The fixture with `@-<N>d` / `@-<N>h` replaced by times before `now`.
fn render_fixture(now: u64) -> String {
    let template = fs::read_to_string(repo().join("tests/fixtures/e2e/root-account.csv.template"))
        .expect("read the e2e fixture");
    relative_dates(&template, now)
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

#[test]
fn shipped_alerts_reach_alertmanager() {
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let now = unix_now();
    let dir = tempfile::tempdir().expect("temporary directory");

    // Sources and exporters.
    let moto = MotoServer::start(&moto_seed(now));
    let moto_env = moto.aws_env();
    let env: Vec<(&str, &str)> = moto_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let report = dir.path().join("root-account.csv");
    fs::write(&report, render_fixture(now)).unwrap();
    // Each source twice: with the age families, and with --metrics.ages=false.
    let mut sources = Vec::new();
    for ages in [true, false] {
        let ages_flag = if ages { "true" } else { "false" };
        let moto_exporter = Exporter::start(
            &["--refresh.interval", "5s", "--metrics.ages", ages_flag],
            &env,
        );
        let fixture_exporter = Exporter::start(
            &[
                "--credential-report.file",
                report.to_str().unwrap(),
                "--refresh.interval",
                "5s",
                "--metrics.ages",
                ages_flag,
            ],
            &[],
        );
        sources.push((scenario("moto", ages), moto_exporter));
        sources.push((scenario("fixture", ages), fixture_exporter));
    }

    let denied = HttpSink::start(access_denied);
    let denied_url = format!("http://{}", denied.addr);
    let denied_env: Vec<(&str, &str)> = moto_env
        .iter()
        .map(|(k, v)| match *k {
            "AWS_ENDPOINT_URL" => (*k, denied_url.as_str()),
            _ => (*k, v.as_str()),
        })
        .collect();
    let denied_exporter = Exporter::start(
        &["--refresh.interval", "5s", "--aws.max-attempts", "1"],
        &denied_env,
    );

    for (name, exporter) in &sources {
        exporter.wait_ready(remaining(deadline));
        let metrics = exporter.metrics();
        assert_eq!(
            metrics.contains("aws_iam_access_key_age_seconds{"),
            !name.ends_with("-no-ages"),
            "{name}: age families served as --metrics.ages says"
        );
    }
    denied_exporter.wait_log("account refresh failed", remaining(deadline));

    // Alertmanager, webhook, Prometheus.
    let webhook = HttpSink::start(|_| (200, String::new()));
    let alertmanager = Alertmanager::start(dir.path(), &webhook_config(webhook.addr));
    let mut targets: Vec<(&str, SocketAddr)> = sources
        .iter()
        .map(|(name, exporter)| (name.as_str(), exporter.addr))
        .collect();
    targets.push(("denied", denied_exporter.addr));
    let mut prometheus = Prometheus::launch(
        dir.path(),
        JOB,
        Scrape::Static(&targets),
        &shortened_rules(dir.path()),
        Some(alertmanager.addr),
    );
    alertmanager.wait_ready(deadline);
    prometheus.wait_ready(deadline);

    // Alerts.
    let expected = expected_alerts();
    let received = wait_for_alerts(&webhook, &expected, deadline);
    let missing: Vec<_> = expected.difference(&received).collect();
    let unexpected: Vec<_> = received.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "alerts at the webhook differ from the expected set\nmissing: {missing:#?}\n\
         unexpected: {unexpected:#?}\nPrometheus alerts: {:#}",
        prometheus.api("/api/v1/alerts")
    );
    // Nothing else is pending either (it would fire later).
    let in_prometheus = prometheus_alerts(&prometheus);
    assert_eq!(
        in_prometheus.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "alerts in Prometheus (pending or firing): {in_prometheus:#?}"
    );
    assert!(
        in_prometheus.values().all(|s| s == "firing"),
        "every expected alert fires: {in_prometheus:#?}"
    );
    check_alert_payloads(&webhook);
    assert!(
        Instant::now() < deadline,
        "the end-to-end test took {:?}",
        started.elapsed()
    );
    drop(moto);
}

/// Polls the webhook until every expected alert arrived, then waits a few
/// evaluation rounds more so that an unexpected one has time to show up.
fn wait_for_alerts(
    webhook: &HttpSink,
    expected: &BTreeSet<AlertKey>,
    deadline: Instant,
) -> BTreeSet<AlertKey> {
    let mut complete_since: Option<Instant> = None;
    loop {
        let received = received_alerts(webhook);
        if received.is_superset(expected) {
            let since = *complete_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(5) {
                return received;
            }
        }
        if Instant::now() >= deadline {
            return received;
        }
        thread::sleep(Duration::from_millis(250));
    }
}

fn received_alerts(webhook: &HttpSink) -> BTreeSet<AlertKey> {
    webhook
        .bodies()
        .iter()
        .flat_map(|body| {
            let payload: Value = serde_json::from_str(body).expect("webhook payload is JSON");
            payload["alerts"].as_array().cloned().unwrap_or_default()
        })
        .filter(|a| a["status"] == "firing")
        .map(|a| alert_key(&a["labels"]))
        .collect()
}

fn alert_key(labels: &Value) -> AlertKey {
    let label = |name: &str| labels[name].as_str().unwrap_or("").to_owned();
    (
        label("alertname"),
        label("scenario"),
        label("account_id"),
        label("user"),
    )
}

/// Alerts Prometheus holds (pending or firing) by key, with their state.
fn prometheus_alerts(prometheus: &Prometheus) -> BTreeMap<AlertKey, String> {
    let answer = prometheus.api("/api/v1/alerts");
    answer["data"]["alerts"]
        .as_array()
        .expect("alerts list")
        .iter()
        .map(|a| {
            (
                alert_key(&a["labels"]),
                a["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The notifications carry what the rules promise: severity, a templated
/// description naming the account and user, and a runbook link.
fn check_alert_payloads(webhook: &HttpSink) {
    let mut seen = BTreeSet::new();
    for body in webhook.bodies() {
        let payload: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(payload["version"], "4", "webhook payload version");
        for alert in payload["alerts"].as_array().unwrap() {
            let labels = &alert["labels"];
            let annotations = &alert["annotations"];
            let name = labels["alertname"].as_str().unwrap();
            assert_eq!(labels["job"], JOB, "{alert:#}");
            let severity = labels["severity"].as_str().unwrap_or("");
            assert!(
                ["critical", "warning", "info"].contains(&severity),
                "severity of {alert:#}"
            );
            assert!(
                annotations["summary"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "summary of {alert:#}"
            );
            let description = annotations["description"].as_str().unwrap_or("");
            let account = labels["account_id"].as_str().unwrap_or("");
            assert!(
                description.contains(&format!("account {account}")),
                "description names the account: {alert:#}"
            );
            if let Some(user) = labels["user"].as_str().filter(|u| !u.starts_with('<')) {
                assert!(
                    description.contains(user),
                    "description names the user: {alert:#}"
                );
            }
            let runbook = annotations["runbook_url"].as_str().unwrap_or("");
            assert!(
                runbook.ends_with(&format!("docs/runbook.md#{}", name.to_lowercase())),
                "runbook_url of {alert:#}"
            );
            seen.insert((name.to_owned(), severity.to_owned()));
        }
    }
    for (name, severity) in [
        ("AwsIamRootAccessKeyActive", "critical"),
        ("AwsIamRootWithoutMFA", "critical"),
        ("AwsIamAccessKeyNotRotated", "warning"),
        ("AwsIamUserInactive", "info"),
    ] {
        assert!(
            seen.contains(&(name.to_owned(), severity.to_owned())),
            "{name} arrives with severity {severity}: {seen:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Prometheus and Alertmanager
// ---------------------------------------------------------------------------

/// The shipped rule files with their `for:` shortened (see [`shorten_for`]),
/// in `dir/rules`.
fn shortened_rules(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    fs::create_dir_all(&rules).unwrap();
    for file in [
        "alerts/iam-credentials.rules.yml",
        "alerts/iam-credentials.recording.yml",
    ] {
        let shipped = fs::read_to_string(repo().join(file)).unwrap();
        let name = Path::new(file).file_name().unwrap();
        fs::write(rules.join(name), shorten_for(&shipped)).unwrap();
    }
    rules
}

/// The shipped rules with `for: <N>m` turned into `for: <N>s`: the same
/// debounce proportions, in seconds. Panics if the file has a `for:` this
/// does not understand, so the rules cannot silently keep long durations.
fn shorten_for(rules: &str) -> String {
    let mut out = String::new();
    for line in rules.lines() {
        let trimmed = line.trim_start();
        if let Some(value) = trimmed.strip_prefix("for:") {
            let value = value.trim();
            let minutes = value
                .strip_suffix('m')
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or_else(|| panic!("unexpected `for: {value}` in the shipped rules"));
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(&format!("{indent}for: {minutes}s\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Routes every alert to `webhook`, at once.
fn webhook_config(webhook: SocketAddr) -> String {
    format!(
        "route:\n  receiver: webhook\n  group_by: ['...']\n  group_wait: 1s\n  \
         group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: webhook\n    webhook_configs:\n      - url: http://{webhook}/alerts\n        \
         send_resolved: true\n"
    )
}

/// An IAM endpoint that denies everything, as AWS does for a role without
/// the exporter's policy.
fn access_denied(_body: &str) -> (u16, String) {
    (
        403,
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>\
         <Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
         arn:aws:iam::111122223333:user/e2e is not authorized to perform: \
         iam:GenerateCredentialReport</Message></Error>\
         <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            .to_owned(),
    )
}

#[test]
fn iso8601_formats_known_instants() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(iso8601(1_422_907_322), "2015-02-02T20:02:02Z");
}

#[test]
fn shortened_rules_keep_expressions_and_scale_for() {
    let shipped = fs::read_to_string(repo().join("alerts/iam-credentials.rules.yml")).unwrap();
    let short = shorten_for(&shipped);
    assert!(short.contains("for: 15s") && !short.contains("for: 15m"));
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.trim_start().starts_with("for:"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(strip(&shipped), strip(&short));
}
