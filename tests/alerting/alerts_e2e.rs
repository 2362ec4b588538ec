//! End to end, the alerts as an operator runs them: the real exporter binary
//! on seeded moto servers, a real Prometheus with the rules rendered from the
//! mixin, a real Alertmanager with the shipped deploy/alertmanager config,
//! and a webhook that records every notification.
//!
//! - `replicas_restarts_and_a_slow_first_refresh_resolve_nothing`: two
//!   replicas export the same account; every finding is one alert. Then
//!   every replica is stopped and replaced twice, as a rollout does: first by
//!   two new pods whose first refresh is slowed (moto with added latency) past
//!   several scrape intervals, then, more than `keepFiringFor` later, by two
//!   more. No resolved notification may reach the webhook, and every alert
//!   must keep its original `activeAt`. The slowed pods run with
//!   `--metrics.ages=false` (no `*_age_seconds`, `*_idle_seconds`), the
//!   others with the age families: the rules compute ages from timestamps,
//!   so the same findings fire both ways and a switch between them changes
//!   no alert.
//! - `shipped_inhibitions_and_routes_hold_in_alertmanager`: pairs of alerts
//!   posted to Alertmanager as Prometheus would: each inhibition of the
//!   shipped config holds for the same finding and only for it, and root use
//!   reaches the security receiver without a resolved notification. Sources
//!   are posted before targets, with a barrier in between, because
//!   Alertmanager flushes old alerts at once and would otherwise race its
//!   own inhibitor (see the comment in the test).
//! - `owned_findings_reach_their_teams_receiver`: the exporter runs with
//!   `--metrics.user-tags=team`; the stale key of a user tagged
//!   `team=payments` reaches the shipped config's `payments` receiver with
//!   `tag_team`, those of an untagged user and of a team without a route
//!   reach the default (ticket) receiver, once each.
//!
//! The rules are the mixin's with its durations scaled from minutes to
//! seconds (`for`, `keep_firing_for`); expressions and thresholds are the
//! shipped ones. Every receiver of the test's Alertmanager sends resolved
//! notifications, so that any resolution would be seen. The figures (counts,
//! first-refresh time, gaps) are printed; run with `--nocapture` to see them.
//! `IAM_EXPORTER_ALERTS_E2E_CONFIG='{ keepFiringFor: "0s" }'` renders the
//! rules with that override on top, for a control run (which then fails).
//! Everything listens on 127.0.0.1 and each test stops within its deadline.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::alerting::{
    Alertmanager, Notified, Webhook, render_rules, shipped_alertmanager_config,
};
use common::exporter::Exporter;
use common::fixture::{iso8601, unix_now};
use common::moto::{MotoOptions, MotoServer};
use common::prometheus::{Prometheus, Scrape};

const JOB: &str = "iam-credentials-exporter";
const ACCOUNT: &str = "123456789012";
const DAY: u64 = 86_400;
const HOUR: u64 = 3_600;

/// The mixin's durations in seconds instead of minutes and hours.
/// keepFiringFor must cover a restart plus the slowed first refresh.
const TEST_CONFIG: &str = "{ findingFor: '3s', keepFiringFor: '40s', exporterDownFor: '60s', \
     exporterHealthFor: '10s', exporterNoAccountsFor: '5m' }";
/// Added to every moto request of the slowed replicas.
const LATENCY: Duration = Duration::from_millis(2500);
/// A first refresh this long spans several scrapes (the scrape interval is 1s).
const SLOW_FIRST_REFRESH: Duration = Duration::from_secs(5);

fn seed(now: u64) -> Value {
    let ago = |s: u64| iso8601(now - s);
    let used = |s: u64| json!({"date": ago(s), "region": "eu-west-1", "service": "s3"});
    // A password policy at the CIS and FSBP values: the account-wide alerts
    // are tested in tests/e2e.rs; this test is about per-user findings.
    json!({"accounts": [{
     "password_policy": {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24,
                         "RequireSymbols": true, "RequireNumbers": true,
                         "RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true,
                         "MaxPasswordAge": 90},
     "users": [
        // Created 120 days ago, used yesterday: not rotated.
        {"name": "old-key", "created": ago(200 * DAY),
         "keys": [{"created": ago(120 * DAY), "last_used": used(DAY)}]},
        // Created 60 days ago, never used: unused.
        {"name": "never-used-key", "created": ago(60 * DAY),
         "keys": [{"created": ago(60 * DAY)}]},
        // 120 days old and unused for 60: both, and "unused" inhibits
        // "not rotated" in Alertmanager.
        {"name": "stale-key", "created": ago(300 * DAY),
         "keys": [{"created": ago(120 * DAY), "last_used": used(60 * DAY)}]},
        {"name": "console-no-mfa", "created": ago(100 * DAY), "password": true,
         "password_last_used": ago(2 * DAY), "mfa": false},
        {"name": "dormant", "created": ago(200 * DAY),
         "keys": [{"status": "Inactive", "created": ago(200 * DAY)}]},
        {"name": "healthy", "created": ago(400 * DAY), "password": true,
         "password_last_used": ago(HOUR), "mfa": true,
         "keys": [{"created": ago(20 * DAY), "last_used": used(HOUR)}]}
    ]}]})
}

/// A finding as the assertions see it: alert name and user.
type Finding = (String, String);

/// Every alert Prometheus must hold (firing), once each.
fn expected_in_prometheus() -> BTreeSet<Finding> {
    let f = |a: &str, u: &str| (a.to_owned(), u.to_owned());
    BTreeSet::from([
        f("AwsIamAccessKeyNotRotated", "old-key"),
        f("AwsIamAccessKeyNotRotated", "stale-key"),
        f("AwsIamAccessKeyUnused", "never-used-key"),
        f("AwsIamAccessKeyUnused", "stale-key"),
        f("AwsIamConsoleUserWithoutMFA", "console-no-mfa"),
        f("AwsIamUserInactive", "dormant"),
        // moto's credential report is always generated on 2015-02-02.
        f("AwsIamCredentialReportStale", ""),
        // No role of the seeded account has AWSSupportAccess (CIS 2.15).
        f("AwsIamSupportRoleMissing", ""),
    ])
}

/// What reaches the webhook: everything but the inhibited finding.
fn expected_notified() -> BTreeSet<Finding> {
    let mut set = expected_in_prometheus();
    set.remove(&(
        "AwsIamAccessKeyNotRotated".to_owned(),
        "stale-key".to_owned(),
    ));
    set
}

fn finding(labels: &BTreeMap<String, String>) -> Finding {
    let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
    (get("alertname"), get("user"))
}

fn labels_of(alert: &Value) -> BTreeMap<String, String> {
    alert["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Two exporters of one generation ("pods"), refreshing every 5s from `moto`,
/// with the age families (`--metrics.ages`) or without.
fn replicas(moto: &MotoServer, pods: [&str; 2], ages: bool) -> Vec<(Exporter, String)> {
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ages = if ages { "true" } else { "false" };
    pods.iter()
        .map(|pod| {
            (
                Exporter::start(
                    &[
                        "--refresh.interval",
                        "5s",
                        "--log.level",
                        "info",
                        "--metrics.ages",
                        ages,
                    ],
                    &env,
                ),
                (*pod).to_owned(),
            )
        })
        .collect()
}

fn targets(exporters: &[(Exporter, String)]) -> Vec<(SocketAddr, BTreeMap<&'static str, String>)> {
    exporters
        .iter()
        .map(|(e, pod)| {
            (
                e.addr,
                BTreeMap::from([("pod", pod.clone()), ("namespace", "monitoring".to_owned())]),
            )
        })
        .collect()
}

/// Credential alerts by finding, with their activeAt; panics on a duplicate.
fn firing_by_finding(prometheus: &Prometheus) -> BTreeMap<Finding, (String, String)> {
    let mut out = BTreeMap::new();
    for alert in prometheus.alerts() {
        let labels = labels_of(&alert);
        if labels["alertname"].starts_with("AwsIamExporter") {
            continue;
        }
        for replica_label in ["instance", "pod", "namespace"] {
            assert!(
                !labels.contains_key(replica_label),
                "a credential alert carries the replica label {replica_label}: {alert:#}"
            );
        }
        let previous = out.insert(
            finding(&labels),
            (
                alert["state"].as_str().unwrap_or("").to_owned(),
                alert["activeAt"].as_str().unwrap_or("").to_owned(),
            ),
        );
        assert!(
            previous.is_none(),
            "two alerts for one finding {:?}: {:#}",
            finding(&labels),
            Value::Array(prometheus.alerts())
        );
    }
    out
}

fn wait_until(what: &str, deadline: Instant, mut done: impl FnMut() -> bool) {
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(250));
    }
}

fn resolved(notified: &[Notified]) -> Vec<&Notified> {
    notified.iter().filter(|n| n.status == "resolved").collect()
}

/// Stops a generation of replicas and starts the next, returning the new
/// exporters once each is ready, with the time their first refresh took and
/// whether Prometheus was seen scraping them (up) without any IAM series.
fn replace_replicas(
    old: Vec<(Exporter, String)>,
    moto: &MotoServer,
    pods: [&str; 2],
    ages: bool,
    prometheus: &Prometheus,
    deadline: Instant,
) -> (Vec<(Exporter, String)>, Duration, bool) {
    let old_instances: Vec<String> = old.iter().map(|(e, _)| e.addr.to_string()).collect();
    for (exporter, _) in old {
        assert!(exporter.terminate(Duration::from_secs(20)).success());
    }
    // Every old replica's scrape fails: Prometheus marks its series stale.
    wait_until("the stopped replicas to be down", deadline, || {
        let health = prometheus.target_health();
        old_instances
            .iter()
            .all(|i| health.get(i).is_none_or(|h| h == "down"))
    });
    let started = Instant::now();
    let new = replicas(moto, pods, ages);
    prometheus.set_targets(&targets(&new));
    let mut empty_while_up = false;
    wait_until("the new replicas to be ready", deadline, || {
        let up = prometheus.query(&format!("up{{job=\"{JOB}\"}} == 1")).len();
        let series = prometheus
            .query(&format!("aws_iam_access_key_active{{job=\"{JOB}\"}}"))
            .len();
        if up > 0 && series == 0 {
            empty_while_up = true;
        }
        new.iter()
            .all(|(e, _)| common::http::get(e.addr, "/-/ready").status == 200)
    });
    let first_refresh = started.elapsed();
    // The new replicas' series are back in Prometheus.
    wait_until("the new replicas' series", deadline, || {
        prometheus
            .query(&format!(
                "count by (instance) (aws_iam_access_key_active{{job=\"{JOB}\"}})"
            ))
            .len()
            == 2
    });
    (new, first_refresh, empty_while_up)
}

#[test]
fn replicas_restarts_and_a_slow_first_refresh_resolve_nothing() {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(300);
    let now = unix_now();
    let dir = tempfile::tempdir().unwrap();

    // The same account twice: a fast endpoint and one whose every request
    // takes LATENCY longer.
    let fast = MotoServer::start(&seed(now));
    let slow = MotoServer::start_with(
        &seed(now),
        &MotoOptions {
            latency: LATENCY,
            ..MotoOptions::default()
        },
    );

    let webhook = Webhook::start();
    // Every receiver sends resolved notifications in this test.
    let config = shipped_alertmanager_config(webhook.addr)
        .replace("send_resolved: false", "send_resolved: true");
    let alertmanager = Alertmanager::start(dir.path(), &config);
    // A control run can override the config (e.g. `{ keepFiringFor: '0s' }`
    // appended) to see what the mechanism prevents.
    let config_override = std::env::var("IAM_EXPORTER_ALERTS_E2E_CONFIG").unwrap_or_default();
    let rules = render_rules(
        dir.path(),
        &format!(
            "{TEST_CONFIG} + {}",
            if config_override.is_empty() {
                "{}"
            } else {
                &config_override
            }
        ),
    );
    let prometheus = Prometheus::launch(
        dir.path(),
        JOB,
        Scrape::Discovered,
        &rules,
        Some(alertmanager.addr),
    );
    alertmanager.wait_ready(deadline);
    prometheus.wait_started(deadline);

    // Generation 1: two replicas of a Deployment.
    let generation = replicas(&fast, ["exporter-a", "exporter-b"], true);
    for (e, _) in &generation {
        e.wait_ready(Duration::from_secs(60));
    }
    prometheus.set_targets(&targets(&generation));

    let expected = expected_in_prometheus();
    let notified_set = |webhook: &Webhook| -> BTreeSet<Finding> {
        webhook
            .received()
            .iter()
            .filter(|n| n.status == "firing")
            .map(|n| finding(&n.labels))
            .collect()
    };
    let fire_deadline = deadline - Duration::from_secs(150);
    loop {
        let firing = firing_by_finding(&prometheus);
        if firing.len() == expected.len()
            && firing.values().all(|(state, _)| state == "firing")
            && notified_set(&webhook) == expected_notified()
        {
            break;
        }
        assert!(
            Instant::now() < fire_deadline,
            "findings did not all fire and reach the webhook\nPrometheus: {firing:#?}\n\
             notified: {:#?}",
            notified_set(&webhook)
        );
        thread::sleep(Duration::from_millis(250));
    }
    // A few more evaluations and notifications: nothing else shows up.
    thread::sleep(Duration::from_secs(5));
    let before = firing_by_finding(&prometheus);
    assert_eq!(
        before.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "alerts in Prometheus"
    );
    assert_eq!(
        notified_set(&webhook),
        expected_notified(),
        "notified alerts"
    );
    // One notified alert per finding: the label sets, not only the names.
    let distinct: BTreeSet<BTreeMap<String, String>> = webhook
        .received()
        .iter()
        .map(|n| n.labels.clone())
        .collect();
    assert_eq!(
        distinct.len(),
        expected_notified().len(),
        "distinct alerts at the webhook with two replicas: {distinct:#?}"
    );
    let fired_at = Instant::now();
    println!(
        "replicas: 2 exporters, {} alerts in Prometheus, {} notified, {} firing notifications, {} resolved",
        before.len(),
        distinct.len(),
        webhook
            .received()
            .iter()
            .filter(|n| n.status == "firing")
            .count(),
        resolved(&webhook.received()).len()
    );

    // Rollout 1: both replicas replaced by pods whose first refresh is slow,
    // and which serve no age family.
    let gap1 = Instant::now();
    let (generation, first_refresh, empty_while_up) = replace_replicas(
        generation,
        &slow,
        ["exporter-c", "exporter-d"],
        false,
        &prometheus,
        deadline,
    );
    let gap1_len = gap1.elapsed();
    assert!(
        first_refresh >= SLOW_FIRST_REFRESH,
        "the slowed first refresh took only {first_refresh:?}"
    );
    assert!(
        empty_while_up,
        "Prometheus never scraped a new replica before its first refresh ended"
    );
    for (exporter, pod) in &generation {
        let metrics = exporter.metrics();
        assert!(
            metrics.contains("aws_iam_access_key_created_timestamp_seconds{")
                && !metrics.contains("aws_iam_access_key_age_seconds{")
                && !metrics.contains("aws_iam_access_key_idle_seconds{")
                && !metrics.contains("aws_iam_user_idle_seconds{"),
            "{pod} runs with --metrics.ages=false but serves an age family"
        );
    }
    // Evaluations and notifications of the new data.
    thread::sleep(Duration::from_secs(6));
    let after1 = firing_by_finding(&prometheus);
    println!(
        "rollout 1 (slow first refresh): first refresh {first_refresh:.1?}, gap without data {gap1_len:.1?}, \
         {} resolved notifications",
        resolved(&webhook.received()).len()
    );

    // Rollout 2, more than keepFiringFor after the first gap began: a second
    // restart must not find the alerts' keep-firing clocks still running.
    let keep_firing = Duration::from_secs(40);
    thread::sleep(
        (gap1 + keep_firing + Duration::from_secs(2)).saturating_duration_since(Instant::now()),
    );
    let gap2 = Instant::now();
    let (generation, first_refresh2, _) = replace_replicas(
        generation,
        &fast,
        ["exporter-e", "exporter-f"],
        true,
        &prometheus,
        deadline,
    );
    let gap2_len = gap2.elapsed();
    thread::sleep(Duration::from_secs(6));
    let after2 = firing_by_finding(&prometheus);
    let notified = webhook.received();
    println!(
        "rollout 2: first refresh {first_refresh2:.1?}, gap without data {gap2_len:.1?}, \
         {} resolved notifications; {} notifications in all over {:.0?}",
        resolved(&notified).len(),
        notified.len(),
        fired_at.elapsed()
    );

    assert!(
        resolved(&notified).is_empty(),
        "resolved notifications after restarts: {:#?}",
        resolved(&notified)
    );
    for (name, after) in [("first", &after1), ("second", &after2)] {
        assert_eq!(
            after, &before,
            "alerts (state, activeAt) after the {name} rollout differ from before"
        );
    }
    drop(generation);
    assert!(Instant::now() < deadline, "took {:?}", started.elapsed());
}

#[test]
fn shipped_inhibitions_and_routes_hold_in_alertmanager() {
    let deadline = Instant::now() + Duration::from_secs(90);
    let dir = tempfile::tempdir().unwrap();
    let webhook = Webhook::start();
    let alertmanager = Alertmanager::start(dir.path(), &shipped_alertmanager_config(webhook.addr));
    alertmanager.wait_ready(deadline);

    let key = |alert: &str, user: &str, severity: &str| {
        json!({"alertname": alert, "severity": severity, "job": JOB, "account_id": ACCOUNT,
               "user": user, "slot": "1"})
    };
    let health = |alert: &str, instance: &str, account: &str| {
        json!({"alertname": alert, "severity": "warning", "job": JOB, "instance": instance,
               "account_id": account})
    };
    // A warning of a benchmark control (its labels as the rules set them).
    let control = |alert: &str, user: &str, cis: &str, fsbp: &str| {
        json!({"alertname": alert, "severity": "warning", "job": JOB, "account_id": ACCOUNT,
               "user": user, "slot": "1", "cis": cis, "fsbp": fsbp})
    };
    let root = |alert: &str, severity: &str| {
        json!({"alertname": alert, "severity": severity, "job": JOB, "account_id": ACCOUNT,
               "user": "<root_account>", "slot": "1"})
    };
    // (labels, whether the shipped inhibitions must mute it)
    let cases = [
        // Unused inhibits not-rotated of the same key only.
        (key("AwsIamAccessKeyUnused", "stale", "warning"), false),
        // Warnings of two controls and one without a control, in one
        // account: three notifications (grouped by account and control).
        (
            control("AwsIamAccessKeyUnused", "idle", "2.11", "IAM.22"),
            false,
        ),
        (
            control("AwsIamAccessKeyNotRotated", "old-key", "2.12", "IAM.3"),
            false,
        ),
        (
            key("AwsIamUserHasTwoActiveKeys", "two-keys", "warning"),
            false,
        ),
        (key("AwsIamAccessKeyNotRotated", "stale", "warning"), true),
        (key("AwsIamAccessKeyNotRotated", "old", "warning"), false),
        // A failing refresh inhibits the staleness of its account only.
        (
            health("AwsIamExporterRefreshFailing", "a:9824", "111111111111"),
            false,
        ),
        (
            health("AwsIamExporterDataStale", "a:9824", "111111111111"),
            true,
        ),
        (
            json!({"alertname": "AwsIamCredentialReportStale", "severity": "warning", "job": JOB,
                "account_id": "111111111111"}),
            true,
        ),
        (
            health("AwsIamExporterDataStale", "a:9824", "222222222222"),
            false,
        ),
        // An exporter down inhibits that instance's health alerts only.
        (
            json!({"alertname": "AwsIamExporterDown", "severity": "warning", "job": JOB,
                "instance": "b:9824"}),
            false,
        ),
        (
            health("AwsIamExporterRefreshFailing", "b:9824", "333333333333"),
            true,
        ),
        (
            json!({"alertname": "AwsIamExporterNoAccounts", "severity": "warning", "job": JOB,
                "instance": "b:9824"}),
            true,
        ),
        (
            health("AwsIamExporterRefreshFailing", "c:9824", "333333333333"),
            false,
        ),
        // An active root key inhibits the same account's inactive one.
        (root("AwsIamRootAccessKeyActive", "critical"), false),
        (root("AwsIamRootAccessKeyInactive", "warning"), true),
        (
            json!({"alertname": "AwsIamRootRecentlyUsed", "severity": "critical", "job": JOB,
                "account_id": ACCOUNT, "user": "<root_account>"}),
            false,
        ),
    ];
    // Posted as Prometheus posts alerts that have fired for a while
    // (startsAt in the past), which makes Alertmanager flush a new group at
    // once instead of after group_wait.
    let post = |cases: &mut dyn Iterator<Item = &Value>, ends_in: Option<i64>| {
        let now = unix_now() as i64;
        let alerts: Vec<Value> = cases
            .map(|labels| {
                let mut alert = json!({"labels": labels, "annotations": {"summary": "test"},
                                       "startsAt": iso8601((now - 60) as u64)});
                if let Some(offset) = ends_in {
                    alert["endsAt"] = json!(iso8601((now + offset) as u64));
                }
                alert
            })
            .collect();
        alertmanager.post_alerts(&Value::Array(alerts));
    };

    let muted = |labels: &Value| -> Option<bool> {
        alertmanager.alerts().iter().find_map(|a| {
            let same = a["labels"].as_object()? == labels.as_object()?;
            same.then(|| {
                a["status"]["inhibitedBy"]
                    .as_array()
                    .is_some_and(|by| !by.is_empty())
            })
        })
    };
    // Alertmanager 0.25 mutes a group's alert only if the inhibitor has
    // already taken the source alert from its own subscription when the
    // group is flushed; for an old alert that is at once, not after
    // group_wait, so a source and a target posted together race (and the
    // target is notified when the inhibitor lags, as on a loaded machine).
    // Operators see the same race after an Alertmanager restart or reload
    // (docs/runbook.md, "Routing and inhibitions"). The test takes the race
    // out: first every alert that must not be muted, the sources among
    // them, then a barrier, then the alerts that must be muted.
    post(&mut cases.iter().filter(|(_, m)| !m).map(|(l, _)| l), None);
    // The barrier: a source and a target of their own, posted after the
    // sources. The inhibitor reads its subscription in order, so once the
    // barrier's target shows as inhibited every source before it is known.
    let barrier_source = key("AwsIamAccessKeyUnused", "barrier", "warning");
    let barrier_target = key("AwsIamAccessKeyNotRotated", "barrier", "warning");
    post(&mut [&barrier_source, &barrier_target].into_iter(), None);
    wait_until("the inhibitor to know every source", deadline, || {
        muted(&barrier_target) == Some(true)
    });
    post(&mut cases.iter().filter(|(_, m)| *m).map(|(l, _)| l), None);

    wait_until("every alert in Alertmanager", deadline, || {
        cases.iter().all(|(labels, _)| muted(labels).is_some())
    });
    // Inhibitions are evaluated when alerts are read; give the notification
    // pipeline a moment too.
    thread::sleep(Duration::from_secs(3));
    for (labels, inhibited) in &cases {
        assert_eq!(
            muted(labels),
            Some(*inhibited),
            "inhibited state of {labels}"
        );
    }
    let sent = |labels: &Value| {
        webhook.received().iter().any(|n| {
            labels
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| n.labels.get(k).map(String::as_str) == v.as_str())
        })
    };
    // Every alert that is not inhibited is notified (on a loaded machine
    // this can take a few group intervals)...
    wait_until(
        "notifications of the alerts not inhibited",
        deadline,
        || {
            cases
                .iter()
                .filter(|(_, inhibited)| !inhibited)
                .all(|(l, _)| sent(l))
        },
    );
    // ...and a few group intervals later still none of the inhibited ones.
    thread::sleep(Duration::from_secs(3));
    for (labels, inhibited) in &cases {
        assert_eq!(sent(labels), !inhibited, "{labels} notified");
    }
    let notified = webhook.received();
    let receiver_of = |name: &str| -> BTreeSet<String> {
        notified
            .iter()
            .filter(|n| n.labels.get("alertname").map(String::as_str) == Some(name))
            .map(|n| n.receiver.clone())
            .collect()
    };
    assert_eq!(
        receiver_of("AwsIamRootRecentlyUsed"),
        BTreeSet::from(["/security".to_owned()])
    );
    assert_eq!(
        receiver_of("AwsIamRootAccessKeyActive"),
        BTreeSet::from(["/pager".to_owned()])
    );
    assert_eq!(
        receiver_of("AwsIamExporterDown"),
        BTreeSet::from(["/exporter".to_owned()])
    );
    assert_eq!(
        receiver_of("AwsIamAccessKeyUnused"),
        BTreeSet::from(["/ticket".to_owned()])
    );
    // Tickets are grouped by account and control; an alert without control
    // labels is grouped by account alone.
    let group_of = |user: &str| -> BTreeSet<BTreeMap<String, String>> {
        notified
            .iter()
            .filter(|n| n.labels.get("user").map(String::as_str) == Some(user))
            .map(|n| n.group_labels.clone())
            .collect()
    };
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        group_of("idle"),
        BTreeSet::from([labels(&[
            ("account_id", ACCOUNT),
            ("cis", "2.11"),
            ("fsbp", "IAM.22")
        ])])
    );
    assert_eq!(
        group_of("old-key"),
        BTreeSet::from([labels(&[
            ("account_id", ACCOUNT),
            ("cis", "2.12"),
            ("fsbp", "IAM.3")
        ])])
    );
    assert_eq!(
        group_of("two-keys"),
        BTreeSet::from([labels(&[("account_id", ACCOUNT)])])
    );

    // Everything ends: resolved notifications go where send_resolved says,
    // and never to the security receiver.
    post(&mut cases.iter().map(|(l, _)| l), Some(-1));
    wait_until("resolved notifications", deadline, || {
        webhook
            .received()
            .iter()
            .any(|n| n.status == "resolved" && n.receiver == "/pager")
    });
    thread::sleep(Duration::from_secs(3));
    let resolved_at: BTreeSet<String> = webhook
        .received()
        .iter()
        .filter(|n| n.status == "resolved")
        .map(|n| n.receiver.clone())
        .collect();
    assert!(
        !resolved_at.contains("/security"),
        "root use was resolved at the security receiver: {resolved_at:?}"
    );
    assert!(resolved_at.contains("/ticket"), "{resolved_at:?}");
}

/// Users of the owners test: a stale key each (created 120 days ago, used
/// yesterday: AwsIamAccessKeyNotRotated), with the `team` tag or not.
fn owners_seed(now: u64) -> Value {
    let ago = |s: u64| iso8601(now - s);
    let stale = || {
        json!([{"created": ago(120 * DAY), "last_used":
        {"date": ago(DAY), "region": "eu-west-1", "service": "s3"}}])
    };
    json!({"accounts": [{
     "password_policy": {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24,
                         "RequireSymbols": true, "RequireNumbers": true,
                         "RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true,
                         "MaxPasswordAge": 90},
     "users": [
        {"name": "payments-deployer", "created": ago(200 * DAY), "tags": {"team": "payments"},
         "keys": stale()},
        // A team without a route of its own.
        {"name": "identity-sync", "created": ago(200 * DAY), "tags": {"team": "identity"},
         "keys": stale()},
        {"name": "untagged", "created": ago(200 * DAY), "tags": {"cost-center": "42"},
         "keys": stale()}
    ]}]})
}

/// The "done when": with `--metrics.user-tags=team`, the stale key
/// of a user tagged `team=payments` reaches the `payments` receiver of the
/// shipped Alertmanager config, with the owner label; an untagged user's
/// reaches the default (ticket) receiver, without the label, and says the
/// owner is unknown; a team without a route goes to the default too.
#[test]
fn owned_findings_reach_their_teams_receiver() {
    let deadline = Instant::now() + Duration::from_secs(150);
    let now = unix_now();
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start(&owners_seed(now));
    let webhook = Webhook::start();
    let alertmanager = Alertmanager::start(dir.path(), &shipped_alertmanager_config(webhook.addr));
    let rules = render_rules(dir.path(), TEST_CONFIG);
    let prometheus = Prometheus::launch(
        dir.path(),
        JOB,
        Scrape::Discovered,
        &rules,
        Some(alertmanager.addr),
    );
    alertmanager.wait_ready(deadline);
    prometheus.wait_started(deadline);

    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let exporter = Exporter::start(
        &["--refresh.interval", "5s", "--metrics.user-tags", "team"],
        &env,
    );
    exporter.wait_ready(Duration::from_secs(60));
    let generation = vec![(exporter, "exporter-a".to_owned())];
    prometheus.set_targets(&targets(&generation));

    // user -> (receiver, tag_team) of its AwsIamAccessKeyNotRotated.
    let expected: BTreeMap<String, (String, String)> = [
        ("payments-deployer", "/payments", "payments"),
        ("identity-sync", "/ticket", "identity"),
        ("untagged", "/ticket", ""),
    ]
    .iter()
    .map(|(u, r, t)| ((*u).to_owned(), ((*r).to_owned(), (*t).to_owned())))
    .collect();
    let routed = |webhook: &Webhook| -> BTreeMap<String, BTreeSet<(String, String)>> {
        let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        for n in webhook.received() {
            if n.status != "firing" || n.labels["alertname"] != "AwsIamAccessKeyNotRotated" {
                continue;
            }
            let get = |k: &str| n.labels.get(k).cloned().unwrap_or_default();
            out.entry(get("user"))
                .or_default()
                .insert((n.receiver.clone(), get("tag_team")));
        }
        out
    };
    let want: BTreeMap<String, BTreeSet<(String, String)>> = expected
        .iter()
        .map(|(u, rt)| (u.clone(), BTreeSet::from([rt.clone()])))
        .collect();
    loop {
        if routed(&webhook) == want {
            break;
        }
        assert!(
            Instant::now() < deadline - Duration::from_secs(10),
            "stale keys did not reach their teams' receivers\nwebhook: {:#?}\nPrometheus: {:#}",
            routed(&webhook),
            Value::Array(prometheus.alerts())
        );
        thread::sleep(Duration::from_millis(250));
    }
    // A few more notifications: no alert reaches a second receiver.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(routed(&webhook), want, "receivers of the stale keys");

    // The annotations say who owns the finding, or that nobody is known.
    for alert in prometheus.alerts() {
        let labels = labels_of(&alert);
        if labels["alertname"] != "AwsIamAccessKeyNotRotated" {
            continue;
        }
        let description = alert["annotations"]["description"].as_str().unwrap_or("");
        let team = &expected[&labels["user"]].1;
        let note = if team.is_empty() {
            "The owner is unknown, this IAM user has no tag_team".to_owned()
        } else {
            format!("Owner tag_team={team}.")
        };
        assert!(
            description.contains(&note),
            "{}: {description:?} lacks {note:?}",
            labels["user"]
        );
    }
    let by_receiver: BTreeMap<String, usize> =
        webhook.received().iter().fold(BTreeMap::new(), |mut m, n| {
            *m.entry(n.receiver.clone()).or_default() += 1;
            m
        });
    println!("owners e2e: notified alerts by receiver {by_receiver:?}");
}
