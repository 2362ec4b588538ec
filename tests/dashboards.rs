//! What Grafana would draw from the shipped dashboards, on real data.
//!
//! A moto organization (two accounts with names), a credential report with a
//! root row (served by two replicas), and an account whose role cannot be
//! reached (it never refreshes) feed four exporters; a real Prometheus
//! scrapes them with the shipped recording rules. `dashboards/grafana.py` then runs every panel's
//! queries and builds the frames the way Grafana's Prometheus data source
//! does (`__name__` and every label on selector results, one frame per
//! series, or one table per query in table format); Grafana's own
//! `@grafana/data`, in Node (`dashboards/draw.cjs`), applies the panel's
//! transformations (merge, organize, sort), its field config (mappings,
//! thresholds, links) and its reductions. This test asserts what comes out:
//! one row per account, user or key (replicas included), the expected
//! columns, values, colours and links, in every table, for several variable
//! values, and the options of every variable.
//!
//! Everything listens on 127.0.0.1, every child is stopped on drop (and
//! Prometheus and moto by time limits of their own), and the test stops by
//! itself within [`DEADLINE`].
//!
//! The Compliance dashboard's windows (30 and 90 days) need months of
//! posture history: a few accounts' `account_id:aws_iam_control_failing:bool`
//! series are written into Prometheus's storage before it starts
//! (`promtool tsdb create-blocks-from openmetrics`, one sample a minute, as
//! the recording rules would have evaluated them), and the live rules extend
//! them.
//!
//! Everything runs twice: with the exporters' default flags and with
//! `--metrics.ages=false`, with the same assertions, since no panel reads a
//! derived age family. Values read from a shipped recording rule that
//! itself still reads one are the only ones left unasserted without ages
//! (printed, and found by asking Prometheus for its rules, so that the
//! assertions come back as soon as the rules stop reading them).
//!
//! With `IAM_EXPORTER_DASHBOARD_RENDER=DIR`, the test also draws the README
//! pictures from the same frames (`dashboards/render.py`, matplotlib needed).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};

use common::exporter::{Exporter, python, repo};
use common::fixture::{DAY, HOUR, iso8601, relative_dates, unix_now};
use common::moto::MotoServer;
use common::prometheus::Prometheus;

/// The test stops within this (plus a minute when it draws the pictures).
const DEADLINE: Duration = Duration::from_secs(180);
const JOB: &str = "iam-credentials-exporter";
const MGMT: &str = "123456789012";
const SANDBOX: &str = "333333333333";
const FIXTURE: &str = "210987654321";
/// An account whose role the exporter cannot assume: it never refreshes.
const UNREACHABLE: &str = "444455556666";
const DASHBOARDS: [&str; 5] = [
    "iam-organization.json",
    "iam-account.json",
    "iam-user.json",
    "iam-exporter-health.json",
    "iam-compliance.json",
];
/// The families `--metrics.ages=false` leaves out: each is "now minus" a
/// timestamp the exporter also serves.
const DERIVED_AGES: [&str; 8] = [
    "aws_iam_access_key_age_seconds",
    "aws_iam_access_key_since_last_used_seconds",
    "aws_iam_access_key_idle_seconds",
    "aws_iam_user_idle_seconds",
    "aws_iam_signing_certificate_age_seconds",
    "aws_iam_role_idle_seconds",
    "aws_iam_service_specific_credential_age_seconds",
    "aws_iam_ssh_public_key_age_seconds",
];
const FAILING: &str = "account_id:aws_iam_control_failing:bool";

fn seed(now: u64) -> Value {
    let ago = |s: u64| iso8601(now - s);
    let used = |s: u64, region: &str, service: &str| json!({"date": ago(s), "region": region, "service": service});
    json!({
        "organization": {"feature_set": "ALL"},
        "accounts": [
            {"label": "mgmt", "name": "Management",
             "server_certificates": [
                {"name": "web", "id": "ASCAWEBEXAMPLE000001", "uploaded": ago(300 * DAY),
                 "expiration": iso8601(now + 10 * DAY)},
                {"name": "legacy", "id": "ASCALEGACYEXAMPLE001", "uploaded": ago(800 * DAY),
                 "expiration": ago(5 * DAY)},
                {"name": "api", "id": "ASCAAPIEXAMPLE000001", "uploaded": ago(DAY),
                 "expiration": iso8601(now + 300 * DAY)}
             ],
             "password_policy": {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24,
                                 "MaxPasswordAge": 90, "RequireSymbols": true},
             "users": [
                {"name": "old-key", "created": ago(200 * DAY), "tags": {"team": "payments"},
                 "keys": [{"created": ago(120 * DAY), "last_used": used(DAY, "eu-west-1", "s3")}],
                 "signing_certificates": [{"uploaded": ago(100 * DAY)}],
                 "ssh_keys": [{"id": "APKAOLDKEY0000000001", "uploaded": ago(100 * DAY)}],
                 "service_specific_credentials": [
                     {"service": "bedrock.amazonaws.com", "id": "ACCAOLDKEYBEDROCK001",
                      "created": ago(100 * DAY)}]},
                {"name": "never-used-key", "created": ago(60 * DAY), "tags": {"team": "identity"},
                 "keys": [{"created": ago(60 * DAY)}]},
                {"name": "due-soon", "created": ago(100 * DAY),
                 "keys": [{"created": ago(85 * DAY), "last_used": used(HOUR, "us-east-1", "sts")}]},
                {"name": "two-keys", "path": "/ci/", "created": ago(100 * DAY),
                 "keys": [{"created": ago(30 * DAY), "last_used": used(2 * HOUR, "us-east-1", "sts")},
                          {"created": ago(10 * DAY), "last_used": used(HOUR, "us-east-1", "sts")}],
                 "service_specific_credentials": [
                     {"service": "logs.amazonaws.com", "id": "ACCATWOKEYSLOGS00001",
                      "created": ago(10 * DAY), "expires": iso8601(now + 3 * DAY)},
                     {"service": "codecommit.amazonaws.com", "id": "ACCATWOKEYSGIT000001",
                      "status": "Inactive", "created": ago(200 * DAY)}],
                 "ssh_keys": [{"id": "APKATWOKEYS000000001", "uploaded": ago(5 * DAY)}]},
                {"name": "console-no-mfa", "created": ago(100 * DAY), "password": true,
                 "password_last_used": ago(2 * DAY), "mfa": false, "tags": {"team": "payments"}},
                {"name": "stale-password", "created": ago(300 * DAY), "password": true,
                 "password_last_used": ago(50 * DAY), "mfa": true},
                {"name": "dormant", "created": ago(200 * DAY),
                 "keys": [{"status": "Inactive", "created": ago(200 * DAY)}],
                 "signing_certificates": [{"status": "Inactive", "uploaded": ago(150 * DAY)}],
                 "ssh_keys": [{"id": "APKADORMANT000000001", "status": "Inactive",
                               "uploaded": ago(30 * DAY)}]},
                {"name": "healthy-console", "created": ago(400 * DAY), "password": true,
                 "password_last_used": ago(HOUR), "mfa": true,
                 "keys": [{"created": ago(20 * DAY), "last_used": used(HOUR, "eu-central-1", "ec2")}]},
                {"name": "fresh-key", "created": ago(5 * DAY),
                 "keys": [{"created": ago(2 * DAY)}]}
             ],
             "roles": [
                {"name": "forgotten", "created": ago(200 * DAY)},
                {"name": "deployer", "path": "/ci/", "created": ago(300 * DAY),
                 "last_used": {"date": ago(2 * DAY), "region": "eu-west-1"}},
                {"name": "young", "created": ago(10 * DAY)},
                {"name": "AWSServiceRoleForAutoScaling",
                 "service_linked": "autoscaling.amazonaws.com", "created": ago(300 * DAY)}
            ]},
            {"label": "sandbox", "id": SANDBOX, "name": "Sandbox", "tags": {"team": "identity"},
             "root": {"created": ago(400 * DAY), "mfa": "virtual"},
             "users": [
                {"name": "sandbox-admin", "created": ago(10 * DAY), "password": true,
                 "password_last_used": ago(DAY), "mfa": false},
                {"name": "ci-bot", "created": ago(10 * DAY),
                 "keys": [{"created": ago(5 * DAY), "last_used": used(HOUR, "eu-west-1", "ecr")}],
                 "service_specific_credentials": [
                     {"service": "bedrock.amazonaws.com", "id": "ACCACIBOTBEDROCK0001",
                      "status": "Expired", "created": ago(40 * DAY), "expires": ago(10 * DAY)}]}
            ]}
        ]
    })
}

/// IAM users per account (root excluded), as seeded.
fn users() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        (
            MGMT,
            vec![
                "old-key",
                "never-used-key",
                "due-soon",
                "two-keys",
                "console-no-mfa",
                "stale-password",
                "dormant",
                "healthy-console",
                "fresh-key",
            ],
        ),
        (SANDBOX, vec!["sandbox-admin", "ci-bot"]),
        (FIXTURE, vec!["deploy-bot", "carol"]),
    ])
}

/// Posture history written before Prometheus starts: (account, control
/// labels, intervals in days ago during which the account failed the
/// control); it passed at every other minute of the last 90 days.
type History = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [(u64, u64)],
);
const HISTORY: [History; 3] = [
    // old-key turned 90 days old 30 days ago, and still is.
    (MGMT, &[("cis", "2.12"), ("fsbp", "IAM.3")], &[(30, 0)]),
    // An old key, deleted 10 days ago.
    (SANDBOX, &[("cis", "2.12"), ("fsbp", "IAM.3")], &[(20, 10)]),
    // carol set up MFA 55 days ago, five days after her console password.
    (FIXTURE, &[("cis", "2.10"), ("fsbp", "IAM.5")], &[(60, 55)]),
];
/// The history starts this long ago, one sample a minute, and ends an hour
/// before the test starts.
const HISTORY_DAYS: u64 = 91;

/// OpenMetrics text of [`HISTORY`], for `promtool tsdb create-blocks-from`.
fn history(now: u64) -> String {
    let start = now - HISTORY_DAYS * DAY;
    let end = now - HOUR;
    let mut out = String::from("# TYPE account_id:aws_iam_control_failing:bool gauge\n");
    for (account, labels, failing) in HISTORY {
        let labels: String = labels
            .iter()
            .map(|(k, v)| format!(",{k}=\"{v}\""))
            .collect();
        let mut t = start;
        while t <= end {
            let failed = failing
                .iter()
                .any(|&(from, to)| t >= now - from * DAY && t < now - to * DAY);
            out.push_str(&format!(
                "{FAILING}{{account_id=\"{account}\"{labels}}} {} {t}\n",
                u8::from(failed)
            ));
            t += 60;
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Writes [`HISTORY`] as TSDB blocks into `tsdb`, where Prometheus will find
/// it when it starts.
fn write_history(dir: &Path, now: u64) {
    let input = dir.join("history.om");
    fs::write(&input, history(now)).unwrap();
    let tsdb = dir.join("tsdb");
    fs::create_dir_all(&tsdb).unwrap();
    let out = Command::new("promtool")
        // Blocks of up to 100 days: a few blocks, written in a second,
        // where the default of two hours makes a thousand in minutes.
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=2400h",
        ])
        .arg(&input)
        .arg(&tsdb)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool tsdb create-blocks-from openmetrics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dashboards_draw_one_row_per_account_user_and_key() {
    run(Ages::Served);
}

/// The same panels, the same assertions, with every exporter leaving the
/// derived age families out.
#[test]
fn dashboards_draw_the_same_without_derived_ages() {
    run(Ages::LeftOut);
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ages {
    Served,
    LeftOut,
}

fn run(ages: Ages) {
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let now = unix_now();
    let dir = tempfile::tempdir().unwrap();

    let flag: &[&str] = match ages {
        Ages::Served => &[],
        Ages::LeftOut => &["--metrics.ages=false"],
    };
    let with = |args: &[&'static str]| -> Vec<&'static str> { [args, flag].concat() };
    let moto = MotoServer::start(&seed(now));
    let moto_env = moto.aws_env();
    let env: Vec<(&str, &str)> = moto_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let org = Exporter::start(
        &with(&[
            "--aws.organization.role-name",
            "OrganizationAccountAccessRole",
            "--source",
            "report,api",
            "--collector.ssh-public-keys",
            "--metrics.user-tags",
            "team",
            "--metrics.account-tags",
            "team",
            "--refresh.interval",
            "5s",
        ]),
        &env,
    );
    let report = dir.path().join("root-account.csv");
    let template =
        fs::read_to_string(repo().join("tests/fixtures/e2e/root-account.csv.template")).unwrap();
    fs::write(&report, relative_dates(&template, now)).unwrap();
    let report = report.to_str().unwrap().to_owned();
    let report: &'static str = report.leak();
    let file = Exporter::start(
        &with(&[
            "--credential-report.file",
            report,
            "--refresh.interval",
            "5s",
        ]),
        &[],
    );
    // A second replica of the same account: every table must still show
    // its rows once.
    let replica = Exporter::start(
        &with(&[
            "--credential-report.file",
            report,
            "--refresh.interval",
            "5s",
        ]),
        &[],
    );
    // AWS is unreachable for this one: nothing listens on its endpoint.
    let closed = format!(
        "http://{}",
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    );
    let unreachable_env: Vec<(&str, &str)> = env
        .iter()
        .map(|&(k, v)| {
            if k == "AWS_ENDPOINT_URL" {
                (k, closed.as_str())
            } else {
                (k, v)
            }
        })
        .collect();
    let role: &'static str =
        format!("arn:aws:iam::{UNREACHABLE}:role/IamCredentialsExporter").leak();
    let unreachable = Exporter::start(
        &with(&[
            "--aws.assume-role",
            role,
            "--aws.skip-own-account",
            "--aws.max-attempts",
            "1",
            "--refresh.interval",
            "5s",
        ]),
        &unreachable_env,
    );
    org.wait_ready(remaining(deadline));
    file.wait_ready(remaining(deadline));
    replica.wait_ready(remaining(deadline));

    write_history(dir.path(), now);
    let mut prometheus = Prometheus::start(
        dir.path(),
        JOB,
        &[
            ("org", org.addr),
            ("file", file.addr),
            ("file-replica", replica.addr),
            ("unreachable", unreachable.addr),
        ],
        &["alerts/iam-credentials.recording.yml"],
    );
    prometheus.wait_ready(deadline);
    prometheus.wait_for("account_id:aws_iam_users:count", 3, deadline);
    prometheus.wait_for(
        &format!("aws_iam_exporter_account_refresh_success{{account_id=\"{UNREACHABLE}\"}}"),
        1,
        deadline,
    );
    prometheus.wait_for(FAILING, 1, deadline);
    // The range queries need a few evaluations of the recording rules.
    std::thread::sleep(Duration::from_secs(3));

    // The flag did what it says: the derived families are there, or none.
    let derived = prometheus.query(&format!(
        "count by (__name__) ({{__name__=~\"{}\"}})",
        DERIVED_AGES.join("|")
    ));
    match ages {
        Ages::Served => assert!(derived.len() >= 6, "{derived:#?}"),
        Ages::LeftOut => assert!(derived.is_empty(), "{derived:#?}"),
    }
    let rules = Rc::new(AgeRules::read(&prometheus, ages));

    let url = prometheus.url();
    let draw = |dashboard: &str, vars: &[(&str, &str)]| draw(&url, dashboard, vars, &rules);
    let organization = draw("iam-organization.json", &[]);
    let account = draw("iam-account.json", &[]);
    let user = draw("iam-user.json", &[("account", MGMT), ("user", "two-keys")]);
    let health = draw("iam-exporter-health.json", &[]);
    let compliance = draw("iam-compliance.json", &[]);
    // Panels that may rightly be empty here: nobody is down, no API error,
    // every account fails some control.
    for panels in [&organization, &account, &user, &health, &compliance] {
        panels.assert_data_except(&[
            "Exporters down",
            "API errors by operation and code",
            "Accounts passing every control",
        ]);
    }
    check_organization(&organization);
    // Organizations tags are read for member accounts: the sandbox's.
    assert_eq!(
        organization.options("team"),
        ["identity"].map(str::to_owned).into(),
        "the teams of the accounts' team tags"
    );
    check_organization_team(
        &organization,
        &draw("iam-organization.json", &[("team", "payments")]),
    );
    // The account lists: accounts with users for the detail dashboards, every
    // account the exporters know (the unreachable one too) for health.
    let with_users: BTreeSet<String> = users().keys().map(|a| a.to_string()).collect();
    assert_eq!(account.options("account"), with_users);
    assert_eq!(user.options("account"), with_users);
    assert_eq!(
        user.options("user"),
        users()[MGMT].iter().map(|u| u.to_string()).collect(),
        "the users of the chosen account"
    );
    assert_eq!(
        health.options("account"),
        [MGMT, SANDBOX, FIXTURE, UNREACHABLE]
            .map(str::to_owned)
            .into(),
        "an account that never refreshed can be chosen"
    );
    check_account_all(&account);
    assert_eq!(
        account.options("team"),
        ["identity", "payments"].map(str::to_owned).into(),
        "the teams of the users' team tags"
    );
    check_account_team(&account, &draw("iam-account.json", &[("team", "payments")]));
    check_account_one(&draw("iam-account.json", &[("account", FIXTURE)]));
    check_user(&user);
    check_user_inactive_key(&draw(
        "iam-user.json",
        &[("account", MGMT), ("user", "dormant")],
    ));
    check_health(&health);
    check_compliance(&compliance);
    check_compliance_one(&draw("iam-compliance.json", &[("account", SANDBOX)]));
    rules.report();

    let render = std::env::var_os("IAM_EXPORTER_DASHBOARD_RENDER").filter(|_| ages == Ages::Served);
    if let Some(out) = &render {
        // A minute of data, so that the time series have lines to draw.
        std::thread::sleep(Duration::from_secs(60));
        let status = Command::new(python())
            .arg(repo().join("dashboards/render.py"))
            .args(["--prometheus", &url, "--out"])
            .arg(out)
            .args(["--var", &format!("user-dashboard={MGMT}/two-keys")])
            .status()
            .expect("run dashboards/render.py");
        assert!(status.success(), "dashboards/render.py failed");
    }
    let drawn = render.map_or(0, |_| 60);
    assert!(
        Instant::now() < deadline + Duration::from_secs(drawn),
        "the dashboard test took {:?}",
        started.elapsed()
    );
    drop(moto);
}

// ---------------------------------------------------------------------------
// The panels
// ---------------------------------------------------------------------------

fn check_organization(panels: &Panels) {
    let accounts = panels.table(
        "Accounts",
        &[
            "Name",
            "Account",
            "Users",
            "Console users without MFA",
            "Keys to rotate",
            "Keys due in 7d",
            "Unused keys",
            "Root user",
            "Refresh",
            "Data age",
        ],
        &["Account"],
    );
    assert_eq!(
        accounts.keys().cloned().collect::<BTreeSet<_>>(),
        [MGMT, SANDBOX, FIXTURE, UNREACHABLE]
            .map(|a| vec![a.to_owned()])
            .into(),
        "one row per account"
    );
    let row = |a: &str| &accounts[&vec![a.to_owned()]];
    // (account, name, users, console w/o MFA, rotate, due, unused, root)
    let expected: [AccountRow; 3] = [
        (MGMT, "Management", 9.0, 1.0, 1.0, 1.0, 1.0, ""),
        // The launcher's root row: MFA, no keys.
        (SANDBOX, "Sandbox", 2.0, 1.0, 0.0, 0.0, 0.0, "OK"),
        (FIXTURE, "", 2.0, 0.0, 0.0, 0.0, 0.0, "active keys, no MFA"),
    ];
    for (account, name, users, no_mfa, rotate, due, unused, root) in expected {
        let r = row(account);
        assert_eq!(text(r, "Name"), name, "{account}: {r:#}");
        assert_eq!(value(r, "Users"), Some(users), "{account}: {r:#}");
        assert_eq!(
            value(r, "Console users without MFA"),
            Some(no_mfa),
            "{account}"
        );
        if panels.exact("Accounts", Some("Keys to rotate")) {
            assert_eq!(value(r, "Keys to rotate"), Some(rotate), "{account}");
            assert_eq!(
                color(r, "Keys to rotate"),
                if rotate > 0.0 { "red" } else { "green" }
            );
        }
        assert_eq!(value(r, "Keys due in 7d"), Some(due), "{account}");
        if panels.exact("Accounts", Some("Unused keys")) {
            assert_eq!(value(r, "Unused keys"), Some(unused), "{account}");
        }
        assert_eq!(text(r, "Root user"), root, "{account}");
        assert_eq!(text(r, "Refresh"), "OK", "{account}");
        assert!(
            value(r, "Data age").is_some_and(|s| s < 120.0),
            "{account}: {r:#}"
        );
        assert_eq!(
            links(r, "Account"),
            vec![format!(
                "/d/aws-iam-account/?var-account={account}&from=now-7d&to=now&var-datasource=prometheus"
            )]
        );
    }
    assert_eq!(color(row(FIXTURE), "Root user"), "red");
    // Never refreshed: known, failing, no data age.
    let r = row(UNREACHABLE);
    assert_eq!(text(r, "Refresh"), "FAILING");
    assert_eq!(color(r, "Refresh"), "red");
    assert_eq!(value(r, "Data age"), None, "{r:#}");
    assert_eq!(value(r, "Users"), None, "{r:#}");

    check_password_policies(panels);
    check_root_mfa_and_server_certificates(panels);

    assert_eq!(panels.stat("Accounts known"), vec![4.0]);
    assert_eq!(panels.stat("IAM users"), vec![13.0]);
    if panels.exact("Keys to rotate", None) {
        assert_eq!(panels.stat("Keys to rotate"), vec![1.0]);
    }
    assert_eq!(panels.stat("Console users without MFA"), vec![2.0]);
    assert_eq!(panels.stat("Accounts failing"), vec![1.0]);
    check_buckets(panels, [5.0, 3.0, 1.0, 0.0]);
}

/// Management has a CIS-grade policy, Sandbox none; the report file and the
/// unreachable account were not read (empty cells, one row each).
fn check_password_policies(panels: &Panels) {
    let policies = panels.table(
        "Password policies",
        &[
            "Name",
            "Account",
            "Policy",
            "Minimum length",
            "Passwords remembered",
            "Expire after (days)",
            "Hard expiry",
        ],
        &["Account"],
    );
    assert_eq!(
        policies.keys().cloned().collect::<BTreeSet<_>>(),
        [MGMT, SANDBOX, FIXTURE, UNREACHABLE]
            .map(|a| vec![a.to_owned()])
            .into(),
        "one row per account"
    );
    let row = |a: &str| &policies[&vec![a.to_owned()]];
    let r = row(MGMT);
    assert_eq!(text(r, "Policy"), "set", "{r:#}");
    assert_eq!(value(r, "Minimum length"), Some(14.0), "{r:#}");
    assert_eq!(color(r, "Minimum length"), "green", "{r:#}");
    assert_eq!(value(r, "Passwords remembered"), Some(24.0), "{r:#}");
    assert_eq!(color(r, "Passwords remembered"), "green", "{r:#}");
    assert_eq!(value(r, "Expire after (days)"), Some(90.0), "{r:#}");
    assert_eq!(text(r, "Hard expiry"), "no", "{r:#}");
    let r = row(SANDBOX);
    assert_eq!(text(r, "Policy"), "none", "{r:#}");
    assert_eq!(color(r, "Policy"), "red", "{r:#}");
    assert_eq!(value(r, "Minimum length"), None, "{r:#}");
    for account in [FIXTURE, UNREACHABLE] {
        let r = row(account);
        assert_eq!(text(r, "Policy"), "", "{account}: {r:#}");
        assert_eq!(value(r, "Minimum length"), None, "{account}: {r:#}");
    }
}

/// Sandbox's root user has a virtual device (the launcher's root row); the
/// other accounts have no root row the collector could match. Management's
/// three certificates, closest to expiry first: one expired, one within 30
/// days, one far off.
fn check_root_mfa_and_server_certificates(panels: &Panels) {
    let root = panels.table(
        "Root MFA type",
        &["Name", "Account", "Root MFA"],
        &["Account"],
    );
    assert_eq!(
        root.keys().cloned().collect::<BTreeSet<_>>(),
        [MGMT, SANDBOX, FIXTURE, UNREACHABLE]
            .map(|a| vec![a.to_owned()])
            .into(),
        "one row per account"
    );
    for account in [MGMT, SANDBOX, FIXTURE, UNREACHABLE] {
        let r = &root[&vec![account.to_owned()]];
        let (want, colour) = if account == SANDBOX {
            ("virtual", "red")
        } else {
            ("", "")
        };
        assert_eq!(text(r, "Root MFA"), want, "{account}: {r:#}");
        if !colour.is_empty() {
            assert_eq!(color(r, "Root MFA"), colour, "{account}: {r:#}");
        }
    }

    let certs = panels.table(
        "Server certificates",
        &["Account", "Certificate", "Id", "Expires in"],
        &["Certificate"],
    );
    let near =
        |got: Option<f64>, days: f64| got.is_some_and(|v| (v - days * DAY as f64).abs() < 600.0);
    for (name, id, days, colour) in [
        ("legacy", "ASCALEGACYEXAMPLE001", -5.0, "red"),
        ("web", "ASCAWEBEXAMPLE000001", 10.0, "orange"),
        ("api", "ASCAAPIEXAMPLE000001", 300.0, "green"),
    ] {
        let r = &certs[&vec![name.to_owned()]];
        assert_eq!(text(r, "Account"), MGMT, "{r:#}");
        assert_eq!(text(r, "Id"), id, "{r:#}");
        assert!(near(value(r, "Expires in"), days), "{name}: {r:#}");
        assert_eq!(color(r, "Expires in"), colour, "{name}: {r:#}");
    }
    assert_eq!(certs.len(), 3, "{certs:#?}");
}

type AccountRow = (
    &'static str,
    &'static str,
    f64,
    f64,
    f64,
    f64,
    f64,
    &'static str,
);

/// The age buckets in their order, whatever order Prometheus answers in.
fn check_buckets(panels: &Panels, expected: [f64; 4]) {
    let bars = panels.get("Active access keys by age");
    if !panels.exact("Active access keys by age", None) {
        return;
    }
    let names: Vec<&str> = bars["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["<30d", "30-90d", "90-180d", ">180d"]);
    assert_eq!(panels.stat("Active access keys by age"), expected.to_vec());
    let over_time = panels.get("Active access keys by age over time");
    let names: Vec<&str> = over_time["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["<30d", "30-90d", "90-180d", ">180d"]);
}

fn check_account_all(panels: &Panels) {
    for title in ["Keys to rotate", "Unused keys"] {
        if panels.exact(title, None) {
            assert_eq!(panels.stat(title), vec![1.0], "{title}");
        }
    }
    assert_eq!(panels.stat("Keys reaching 90d within 7d"), vec![1.0]);
    assert_eq!(panels.stat("Console users without MFA"), vec![2.0]);
    assert_eq!(panels.stat("Unused passwords"), vec![1.0]);
    assert_eq!(panels.texts("Root user"), vec!["active keys, no MFA"]);

    let keys = panels.table(
        "Access keys to act on",
        &[
            "Account",
            "User",
            "Slot",
            "Access key",
            "Action",
            "Age",
            "Idle",
            "Last used service",
            "Last used region",
        ],
        &["Account", "User", "Slot"],
    );
    let expected = [
        (
            "old-key",
            "rotate: older than 90d",
            "red",
            "s3",
            "eu-west-1",
        ),
        ("never-used-key", "deactivate: unused 45d", "orange", "", ""),
        ("due-soon", "rotate within 7d", "yellow", "sts", "us-east-1"),
    ];
    assert_eq!(
        keys.keys().cloned().collect::<BTreeSet<_>>(),
        expected
            .iter()
            .map(|e| vec![MGMT.to_owned(), e.0.to_owned(), "1".to_owned()])
            .collect(),
        "only the active keys that break a rule, once each"
    );
    for (user, action, action_color, service, region) in expected {
        let r = &keys[&vec![MGMT.to_owned(), user.to_owned(), "1".to_owned()]];
        assert_eq!(text(r, "Action"), action, "{r:#}");
        assert_eq!(color(r, "Action"), action_color, "{r:#}");
        assert_eq!(text(r, "Last used service"), service, "{r:#}");
        assert_eq!(text(r, "Last used region"), region, "{r:#}");
        assert!(
            text(r, "Access key").starts_with("AKIA"),
            "the API source gives key ids: {r:#}"
        );
        assert_eq!(
            links(r, "User"),
            vec![format!(
                "/d/aws-iam-user/?var-account={MGMT}&var-user={user}&from=now-7d&to=now&var-datasource=prometheus"
            )]
        );
    }
    let old = &keys[&vec![MGMT.to_owned(), "old-key".to_owned(), "1".to_owned()]];
    assert!(value(old, "Age").is_some_and(|a| (a - 120.0 * DAY as f64).abs() < 600.0));
    assert_eq!(color(old, "Age"), "red");
    assert_eq!(color(old, "Idle"), "green");
    let due = &keys[&vec![MGMT.to_owned(), "due-soon".to_owned(), "1".to_owned()]];
    assert_eq!(color(due, "Age"), "yellow");
    let never = &keys[&vec![MGMT.to_owned(), "never-used-key".to_owned(), "1".to_owned()]];
    assert_eq!(color(never, "Idle"), "red");
    assert_eq!(color(never, "Age"), "green");

    let users_cols = [
        "Account",
        "User",
        "Action",
        "MFA",
        "Console password",
        "Password last used",
        "Idle",
        "Active keys",
    ];
    let act = panels.table("Users to act on", &users_cols, &["Account", "User"]);
    let expected = [
        (
            MGMT,
            "console-no-mfa",
            "console password without MFA",
            "NO (console password)",
        ),
        (MGMT, "stale-password", "remove password: unused 45d", "yes"),
        (
            MGMT,
            "dormant",
            "remove user: inactive 90d",
            "no (no console password)",
        ),
        (
            SANDBOX,
            "sandbox-admin",
            "console password without MFA",
            "NO (console password)",
        ),
    ];
    assert_eq!(
        act.keys().cloned().collect::<BTreeSet<_>>(),
        expected
            .iter()
            .map(|e| vec![e.0.to_owned(), e.1.to_owned()])
            .collect(),
        "only the users that break a rule"
    );
    for (account, user, action, mfa) in expected {
        let r = &act[&vec![account.to_owned(), user.to_owned()]];
        assert_eq!(text(r, "Action"), action, "{r:#}");
        assert_eq!(text(r, "MFA"), mfa, "{r:#}");
    }
    let no_mfa = &act[&vec![MGMT.to_owned(), "console-no-mfa".to_owned()]];
    assert_eq!(color(no_mfa, "MFA"), "red");
    let dormant = &act[&vec![MGMT.to_owned(), "dormant".to_owned()]];
    assert_eq!(
        color(dormant, "MFA"),
        "transparent",
        "no MFA is no finding for a user without a console password"
    );
    assert_eq!(text(dormant, "Password last used"), "");
    let stale = &act[&vec![MGMT.to_owned(), "stale-password".to_owned()]];
    assert!(value(stale, "Password last used").is_some_and(|s| s >= 50.0 * DAY as f64));
    assert_eq!(color(stale, "Password last used"), "orange");

    let every = panels.table("Users", &users_cols, &["Account", "User"]);
    let all: BTreeSet<Vec<String>> = users()
        .iter()
        .flat_map(|(a, us)| us.iter().map(|u| vec![a.to_string(), u.to_string()]))
        .collect();
    assert_eq!(
        every.keys().cloned().collect::<BTreeSet<_>>(),
        all,
        "every IAM user once"
    );
    let two = &every[&vec![MGMT.to_owned(), "two-keys".to_owned()]];
    assert_eq!(value(two, "Active keys"), Some(2.0));
    assert_eq!(color(two, "Active keys"), "orange");
    assert_eq!(text(two, "Action"), "");
    assert_eq!(text(two, "Console password"), "no");
    check_buckets(panels, [5.0, 3.0, 1.0, 0.0]);

    let creds = panels.table(
        "Service-specific credentials",
        &[
            "Account",
            "User",
            "Service",
            "Credential",
            "Status",
            "Age",
            "Expires in",
        ],
        &["Account", "Credential"],
    );
    // (account, credential, user, service, status, age, age colour,
    // expires in, its colour)
    let expected = [
        (
            MGMT,
            "ACCAOLDKEYBEDROCK001",
            "old-key",
            "bedrock.amazonaws.com",
            "Active",
            100 * DAY,
            "red",
            None,
            "transparent",
        ),
        (
            MGMT,
            "ACCATWOKEYSLOGS00001",
            "two-keys",
            "logs.amazonaws.com",
            "Active",
            10 * DAY,
            "transparent",
            Some(3.0 * DAY as f64),
            "red",
        ),
        (
            MGMT,
            "ACCATWOKEYSGIT000001",
            "two-keys",
            "codecommit.amazonaws.com",
            "Inactive",
            200 * DAY,
            "red",
            None,
            "transparent",
        ),
        (
            SANDBOX,
            "ACCACIBOTBEDROCK0001",
            "ci-bot",
            "bedrock.amazonaws.com",
            "Expired",
            40 * DAY,
            "transparent",
            Some(-10.0 * DAY as f64),
            "red",
        ),
    ];
    assert_eq!(
        creds.keys().cloned().collect::<BTreeSet<_>>(),
        expected
            .iter()
            .map(|e| vec![e.0.to_owned(), e.1.to_owned()])
            .collect(),
        "every credential once"
    );
    for (account, id, user, service, status, age, age_color, expires, expires_color) in expected {
        let r = &creds[&vec![account.to_owned(), id.to_owned()]];
        assert_eq!(text(r, "User"), user, "{r:#}");
        assert_eq!(text(r, "Service"), service, "{r:#}");
        assert_eq!(text(r, "Status"), status, "{r:#}");
        assert!(
            value(r, "Age").is_some_and(|a| (a - age as f64).abs() < 600.0),
            "{r:#}"
        );
        assert_eq!(color(r, "Age"), age_color, "{r:#}");
        match expires {
            Some(e) => assert!(
                value(r, "Expires in").is_some_and(|v| (v - e).abs() < 600.0),
                "{r:#}"
            ),
            None => assert_eq!(text(r, "Expires in"), "", "never expires: {r:#}"),
        }
        assert_eq!(color(r, "Expires in"), expires_color, "{r:#}");
    }

    let ssh = panels.table(
        "SSH public keys",
        &["Account", "User", "SSH key", "Active", "Age"],
        &["Account", "SSH key"],
    );
    assert_eq!(ssh.len(), 3, "{ssh:#?}");
    for (id, user, active, age) in [
        ("APKAOLDKEY0000000001", "old-key", "yes", 100 * DAY),
        ("APKADORMANT000000001", "dormant", "no", 30 * DAY),
        ("APKATWOKEYS000000001", "two-keys", "yes", 5 * DAY),
    ] {
        let r = &ssh[&vec![MGMT.to_owned(), id.to_owned()]];
        assert_eq!(text(r, "User"), user, "{r:#}");
        assert_eq!(text(r, "Active"), active, "{r:#}");
        assert!(
            value(r, "Age").is_some_and(|a| (a - age as f64).abs() < 600.0),
            "{r:#}"
        );
    }

    check_idle_roles(panels);
    check_signing_certificates(panels);
}

/// Every role but the service-linked one, once each: idle from the last use,
/// or from creation when none is reported; yellow from 90 days.
/// old-key's active certificate (100 days: over the 90-day threshold, red)
/// and dormant's inactive one (150 days), oldest first.
/// The organization's team filter, by the accounts' team tags: an account
/// tagged for another team (the sandbox, team identity) or untagged where
/// account tags are exported (the management account) is hidden; accounts
/// without account tags (a report file, an unreachable account) stay.
fn check_organization_team(all: &Panels, payments: &Panels) {
    let accounts = |panels: &Panels| -> BTreeSet<String> {
        panels
            .table("Accounts", &[], &["Account"])
            .keys()
            .map(|k| k[0].clone())
            .collect()
    };
    let every = accounts(all);
    assert!(every.contains(MGMT) && every.contains(SANDBOX), "{every:?}");
    let mut shown = every.clone();
    shown.remove(SANDBOX);
    shown.remove(MGMT);
    assert_eq!(accounts(payments), shown, "accounts of team payments");
    assert_eq!(
        payments.stat("IAM users"),
        vec![users()[FIXTURE].len() as f64],
        "the totals follow the team"
    );
}

/// The team filter: the users of other teams, and the untagged users of an
/// exporter that exports tags, are hidden; users the exporter exports no
/// tags for (the report-file exporters) stay.
fn check_account_team(all: &Panels, payments: &Panels) {
    for (title, columns, key) in [
        (
            "Access keys to act on",
            &["Account", "User", "Slot"][..],
            &["Account", "User", "Slot"][..],
        ),
        (
            "Users to act on",
            &["Account", "User"][..],
            &["Account", "User"][..],
        ),
    ] {
        let users_of = |panels: &Panels, account: &str| -> BTreeSet<String> {
            panels
                .table(title, &[], key)
                .keys()
                .filter(|k| k[0] == account)
                .map(|k| k[1].clone())
                .collect()
        };
        let _ = columns;
        let payments_users: BTreeSet<String> = users_of(all, MGMT)
            .into_iter()
            .filter(|u| u == "old-key" || u == "console-no-mfa")
            .collect();
        assert!(
            !payments_users.is_empty(),
            "{title}: no payments user to show"
        );
        assert!(
            users_of(all, MGMT).len() > payments_users.len(),
            "{title}: nothing to hide"
        );
        assert_eq!(
            users_of(payments, MGMT),
            payments_users,
            "{title}: team payments"
        );
        assert_eq!(
            users_of(payments, FIXTURE),
            users_of(all, FIXTURE),
            "{title}: users without tags stay"
        );
    }
}

fn check_signing_certificates(panels: &Panels) {
    let certs = panels.table(
        "Signing certificates",
        &["Account", "User", "Slot", "Age", "State"],
        &["Account", "User", "Slot"],
    );
    let key = |user: &str| vec![MGMT.to_owned(), user.to_owned(), "1".to_owned()];
    assert_eq!(
        certs.keys().cloned().collect::<BTreeSet<_>>(),
        [key("old-key"), key("dormant")].into(),
        "{certs:#?}"
    );
    let near =
        |got: Option<f64>, days: u64| got.is_some_and(|v| (v - (days * DAY) as f64).abs() < 600.0);
    let r = &certs[&key("old-key")];
    assert!(near(value(r, "Age"), 100), "{r:#}");
    assert_eq!(color(r, "Age"), "red", "{r:#}");
    assert_eq!(text(r, "State"), "active", "{r:#}");
    let r = &certs[&key("dormant")];
    assert!(near(value(r, "Age"), 150), "{r:#}");
    assert_eq!(text(r, "State"), "inactive", "{r:#}");
    assert_eq!(
        links(r, "User"),
        vec![format!(
            "/d/aws-iam-user/?var-account={MGMT}&var-user=dormant&from=now-7d&to=now&var-datasource=prometheus"
        )]
    );
}

fn check_idle_roles(panels: &Panels) {
    let roles = panels.table(
        "Idle roles",
        &[
            "Account",
            "Role",
            "Path",
            "Idle",
            "Since last use",
            "Age",
            "Last used region",
        ],
        &["Account", "Role"],
    );
    assert_eq!(
        roles.keys().cloned().collect::<BTreeSet<_>>(),
        [
            [MGMT, "forgotten"],
            [MGMT, "deployer"],
            [MGMT, "young"],
            // Made by Organizations with the account.
            [SANDBOX, "OrganizationAccountAccessRole"],
        ]
        .iter()
        .map(|r| vec![r[0].to_owned(), r[1].to_owned()])
        .collect(),
        "service-linked roles are left out"
    );
    let near =
        |got: Option<f64>, days: u64| got.is_some_and(|v| (v - (days * DAY) as f64).abs() < 600.0);
    let row = |role: &str| &roles[&vec![MGMT.to_owned(), role.to_owned()]];
    let r = row("forgotten");
    assert!(near(value(r, "Idle"), 200), "{r:#}");
    assert_eq!(color(r, "Idle"), "yellow", "{r:#}");
    assert_eq!(value(r, "Since last use"), None, "{r:#}");
    assert!(near(value(r, "Age"), 200), "{r:#}");
    assert_eq!(text(r, "Path"), "/", "{r:#}");
    let r = row("deployer");
    assert!(near(value(r, "Idle"), 2), "{r:#}");
    assert_eq!(color(r, "Idle"), "transparent", "{r:#}");
    assert!(near(value(r, "Since last use"), 2), "{r:#}");
    assert!(near(value(r, "Age"), 300), "{r:#}");
    assert_eq!(text(r, "Path"), "/ci/", "{r:#}");
    assert_eq!(text(r, "Last used region"), "eu-west-1", "{r:#}");
    let r = row("young");
    assert!(
        near(value(r, "Idle"), 10),
        "never used, younger than 90 days: {r:#}"
    );
    assert_eq!(color(r, "Idle"), "transparent", "{r:#}");
    assert_eq!(text(r, "Last used region"), "", "{r:#}");
}

fn check_account_one(panels: &Panels) {
    let users_cols = [
        "Account",
        "User",
        "Action",
        "MFA",
        "Console password",
        "Password last used",
        "Idle",
        "Active keys",
    ];
    let every = panels.table("Users", &users_cols, &["Account", "User"]);
    assert_eq!(
        every.keys().cloned().collect::<BTreeSet<_>>(),
        [["deploy-bot"], ["carol"]]
            .iter()
            .map(|u| vec![FIXTURE.to_owned(), u[0].to_owned()])
            .collect()
    );
    let carol = &every[&vec![FIXTURE.to_owned(), "carol".to_owned()]];
    assert_eq!(text(carol, "MFA"), "yes");
    assert_eq!(text(carol, "Console password"), "yes");
    assert!(value(carol, "Password last used").is_some_and(|s| (s - DAY as f64).abs() < 600.0));
    assert_eq!(value(carol, "Active keys"), Some(0.0));
    let act = panels.table("Access keys to act on", &[], &["Account", "User", "Slot"]);
    assert!(
        act.is_empty(),
        "nothing to do on keys in {FIXTURE}: {act:#?}"
    );
    assert_eq!(panels.texts("Root user"), vec!["active keys, no MFA"]);
    check_buckets(panels, [1.0, 0.0, 0.0, 0.0]);
}

fn check_user(panels: &Panels) {
    let user = panels.table(
        "User",
        &[
            "User",
            "ARN",
            "MFA",
            "Console password",
            "Password last used",
            "Idle",
            "Created",
        ],
        &["User"],
    );
    assert_eq!(user.len(), 1);
    let r = &user[&vec!["two-keys".to_owned()]];
    assert_eq!(
        text(r, "ARN"),
        format!("arn:aws:iam::{MGMT}:user/ci/two-keys")
    );
    assert_eq!(text(r, "MFA"), "no (no console password)");
    let keys = panels.table(
        "Access keys",
        &[
            "Slot",
            "Access key",
            "State",
            "Age",
            "Idle",
            "Last used service",
            "Last used region",
        ],
        &["Slot"],
    );
    assert_eq!(keys.len(), 2, "{keys:#?}");
    for slot in ["1", "2"] {
        let r = &keys[&vec![slot.to_owned()]];
        assert_eq!(text(r, "State"), "OK", "{r:#}");
        assert_eq!(text(r, "Last used service"), "sts", "{r:#}");
    }
    for title in ["Access key age", "Access key idle time"] {
        let series = panels.get(title)["series"].as_array().unwrap().len();
        assert_eq!(series, 2, "{title}: one line per active key of the user");
    }
    // The user's own other credentials only.
    let creds = panels.table(
        "Service-specific credentials",
        &["Service", "Credential", "Status", "Age", "Expires in"],
        &["Credential"],
    );
    assert_eq!(
        creds.keys().cloned().collect::<BTreeSet<_>>(),
        [["ACCATWOKEYSLOGS00001"], ["ACCATWOKEYSGIT000001"]]
            .iter()
            .map(|c| vec![c[0].to_owned()])
            .collect()
    );
    let logs = &creds[&vec!["ACCATWOKEYSLOGS00001".to_owned()]];
    assert_eq!(text(logs, "Status"), "Active", "{logs:#}");
    assert_eq!(color(logs, "Expires in"), "red", "{logs:#}");
    let git = &creds[&vec!["ACCATWOKEYSGIT000001".to_owned()]];
    assert_eq!(text(git, "Status"), "Inactive", "{git:#}");
    assert_eq!(color(git, "Age"), "red", "{git:#}");
    let ssh = panels.table(
        "SSH public keys",
        &["SSH key", "Active", "Age"],
        &["SSH key"],
    );
    assert_eq!(ssh.len(), 1, "{ssh:#?}");
    let r = &ssh[&vec!["APKATWOKEYS000000001".to_owned()]];
    assert_eq!(text(r, "Active"), "yes", "{r:#}");
    assert!(
        value(r, "Age").is_some_and(|a| (a - (5 * DAY) as f64).abs() < 600.0),
        "{r:#}"
    );
}

fn check_user_inactive_key(panels: &Panels) {
    let keys = panels.table("Access keys", &[], &["Slot"]);
    let r = &keys[&vec!["1".to_owned()]];
    assert_eq!(text(r, "State"), "inactive");
    assert_eq!(color(r, "State"), "transparent");
    assert!(
        panels.get("Access key age")["series"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no line for an inactive key"
    );
}

fn check_health(panels: &Panels) {
    let accounts = panels.table(
        "Accounts",
        &[
            "Account",
            "Name",
            "Last refresh",
            "Data age",
            "Refresh duration",
            "Credential report age",
            "Rows skipped",
        ],
        &["Account"],
    );
    assert_eq!(
        accounts.keys().cloned().collect::<BTreeSet<_>>(),
        [MGMT, SANDBOX, FIXTURE, UNREACHABLE]
            .map(|a| vec![a.to_owned()])
            .into(),
        "every account the exporters know, the unreachable one included"
    );
    let r = &accounts[&vec![UNREACHABLE.to_owned()]];
    assert_eq!(text(r, "Last refresh"), "FAILING");
    assert_eq!(value(r, "Data age"), None);
    assert_eq!(value(r, "Credential report age"), None);
    let r = &accounts[&vec![MGMT.to_owned()]];
    assert_eq!(text(r, "Last refresh"), "OK");
    assert_eq!(text(r, "Name"), "Management");
    assert_eq!(value(r, "Rows skipped"), Some(0.0));
    // moto's reports are dated 2015: stale, and coloured so.
    assert_eq!(color(r, "Credential report age"), "orange");
    let r = &accounts[&vec![FIXTURE.to_owned()]];
    assert_eq!(color(r, "Credential report age"), "green");
    // The default collectors of both moto accounts and ssh-public-keys (turned
    // on for this exporter), all succeeding; none for the report file or the
    // unreachable account.
    let collectors = panels.table(
        "Collectors",
        &[
            "Account",
            "Collector",
            "Last attempt",
            "Data age",
            "Duration",
        ],
        &["Account", "Collector"],
    );
    // account-tags is on by default and reads with --metrics.account-tags,
    // which these exporters set.
    let defaults: Vec<&str> = iam_credentials_exporter::collectors::SPECS
        .iter()
        .filter(|s| s.default || s.name == "ssh-public-keys")
        .map(|s| s.name)
        .collect();
    assert!(defaults.contains(&"password-policy"), "{defaults:?}");
    let expected: BTreeSet<Vec<String>> = [MGMT, SANDBOX]
        .iter()
        .flat_map(|a| {
            defaults
                .iter()
                .map(move |c| vec![a.to_string(), c.to_string()])
        })
        .collect();
    assert_eq!(
        collectors.keys().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    for (key, r) in &collectors {
        assert_eq!(text(r, "Last attempt"), "OK", "{key:?}: {r:#}");
        assert!(
            value(r, "Data age").is_some_and(|s| s < 120.0),
            "{key:?}: {r:#}"
        );
        assert!(value(r, "Duration").is_some(), "{key:?}: {r:#}");
    }
    assert_eq!(panels.stat("Accounts failing"), vec![1.0]);
    assert_eq!(panels.stat("Accounts never refreshed"), vec![1.0]);
    assert_eq!(panels.stat("Exporters down"), Vec::<f64>::new());
    let exporters = panels.table(
        "Exporters",
        &["Instance", "Version", "Revision", "Up"],
        &["Instance"],
    );
    assert_eq!(exporters.len(), 4);
    assert!(exporters.values().all(|r| text(r, "Up") == "UP"));
}

// ---------------------------------------------------------------------------
// Reading dashboards/grafana.py's output
// ---------------------------------------------------------------------------

struct Panels {
    dashboard: String,
    panels: Vec<Value>,
    /// The dashboard's JSON, for the queries behind a panel or a column.
    board: Value,
    rules: Rc<AgeRules>,
}

/// The shipped recording rules that read a derived age family, directly or
/// through another rule: with `--metrics.ages=false` (and only then) what
/// they record is not asserted. Empty once the rules compute ages from
/// timestamps.
struct AgeRules {
    /// (record, its labels, the age family or rule it reads).
    tainted: Vec<(String, BTreeMap<String, String>, String)>,
    /// What was left unasserted, printed at the end.
    skipped: RefCell<BTreeSet<String>>,
}

impl AgeRules {
    fn read(prometheus: &Prometheus, ages: Ages) -> AgeRules {
        let mut tainted: Vec<(String, BTreeMap<String, String>, String)> = Vec::new();
        if ages == Ages::LeftOut {
            let groups = prometheus.api("/api/v1/rules?type=record")["data"]["groups"].clone();
            let rules: Vec<(String, BTreeMap<String, String>, String)> = groups
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|g| g["rules"].as_array().unwrap().clone())
                .map(|r| {
                    let labels = r["labels"]
                        .as_object()
                        .map(|l| {
                            l.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        r["name"].as_str().unwrap().to_owned(),
                        labels,
                        r["query"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert!(!rules.is_empty(), "Prometheus has the recording rules");
            let mut names: Vec<String> = DERIVED_AGES.iter().map(|s| s.to_string()).collect();
            loop {
                let before = tainted.len();
                for (name, labels, query) in &rules {
                    if tainted.iter().any(|(n, l, _)| n == name && l == labels) {
                        continue;
                    }
                    if let Some(read) = names.iter().find(|n| reads(query, n)) {
                        tainted.push((name.clone(), labels.clone(), read.clone()));
                    }
                }
                if tainted.len() == before {
                    break;
                }
                names.extend(tainted.iter().map(|(n, _, _)| n.clone()));
                names.dedup();
            }
        }
        AgeRules {
            tainted,
            skipped: RefCell::default(),
        }
    }

    /// The first tainted rule `expr` reads, if any.
    fn read_by(&self, expr: &str) -> Option<&(String, BTreeMap<String, String>, String)> {
        self.tainted.iter().find(|(name, _, _)| reads(expr, name))
    }

    fn report(&self) {
        for skipped in self.skipped.borrow().iter() {
            eprintln!("not asserted with --metrics.ages=false: {skipped}");
        }
    }
}

/// Whether `expr` reads the series `name` (not merely a longer name that
/// starts with it).
fn reads(expr: &str, name: &str) -> bool {
    expr.match_indices(name).any(|(at, _)| {
        let next = expr[at + name.len()..].chars().next();
        let prev = expr[..at].chars().next_back();
        let word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
        !next.is_some_and(word) && !prev.is_some_and(word)
    })
}

fn draw(prometheus: &str, dashboard: &str, vars: &[(&str, &str)], rules: &Rc<AgeRules>) -> Panels {
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("dashboards/grafana.py"))
        .args(["--prometheus", prometheus, "--dashboard"])
        .arg(repo().join("dashboards").join(dashboard));
    for (name, value) in vars {
        cmd.args(["--var", &format!("{name}={value}")]);
    }
    let out = cmd.output().expect("run dashboards/grafana.py");
    assert!(
        out.status.success(),
        "dashboards/grafana.py {dashboard} {vars:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let panels = all[dashboard].as_array().unwrap().clone();
    assert!(!panels.is_empty());
    let board = fs::read_to_string(repo().join("dashboards").join(dashboard)).unwrap();
    Panels {
        dashboard: format!("{dashboard} {vars:?}"),
        panels,
        board: serde_json::from_str(&board).unwrap(),
        rules: Rc::clone(rules),
    }
}

impl Panels {
    /// The panel's JSON in the dashboard.
    fn json(&self, title: &str) -> Value {
        let mut all = Vec::new();
        for p in self.board["panels"].as_array().unwrap() {
            all.push(p.clone());
            all.extend(p["panels"].as_array().cloned().unwrap_or_default());
        }
        all.into_iter()
            .find(|p| p["title"] == title && p["type"] != "row")
            .unwrap_or_else(|| panic!("{}: no panel {title}", self.dashboard))
    }

    /// Whether what `title` shows (in `column`, if given) can be asserted:
    /// always, unless its queries read a recording rule that reads a
    /// derived age family while the exporters leave those out.
    fn exact(&self, title: &str, column: Option<&str>) -> bool {
        let panel = self.json(title);
        let field = column.map(|c| {
            panel["transformations"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["options"]["renameByName"].as_object())
                .flat_map(|m| m.iter())
                .find(|(_, to)| *to == c)
                .map(|(from, _)| from.clone())
                .unwrap_or_else(|| c.to_owned())
        });
        let targets = panel["targets"].as_array().unwrap();
        for t in targets {
            let ref_id = t["refId"].as_str().unwrap();
            let feeds = match &field {
                None => true,
                Some(f) => *f == format!("Value #{ref_id}") || (targets.len() == 1 && f == "Value"),
            };
            if !feeds {
                continue;
            }
            if let Some((rule, labels, read)) = self.rules.read_by(t["expr"].as_str().unwrap()) {
                self.rules.skipped.borrow_mut().insert(format!(
                    "{}: {title}{}: {rule}{labels:?} reads {read}",
                    self.dashboard,
                    column.map_or(String::new(), |c| format!(" / {c}"))
                ));
                return false;
            }
        }
        true
    }

    /// Whether what the posture rules record for a control can be asserted
    /// (see [`Panels::exact`]).
    fn exact_control(&self, title: &str, bench: &str, control: &str) -> bool {
        let hit = self
            .rules
            .tainted
            .iter()
            .find(|(_, labels, _)| labels.get(bench).is_some_and(|c| c == control));
        if let Some((rule, labels, read)) = hit {
            self.rules.skipped.borrow_mut().insert(format!(
                "{}: {title} / {control}: {rule}{labels:?} reads {read}",
                self.dashboard
            ));
        }
        hit.is_none()
    }

    fn get(&self, title: &str) -> &Value {
        let found: Vec<&Value> = self.panels.iter().filter(|p| p["title"] == title).collect();
        assert_eq!(
            found.len(),
            1,
            "{}: one panel titled {title}",
            self.dashboard
        );
        found[0]
    }

    /// The rows of a table panel by `key` columns, asserting one frame, the
    /// columns in order (when given), and one row per key.
    fn table(&self, title: &str, columns: &[&str], key: &[&str]) -> BTreeMap<Vec<String>, Value> {
        let panel = self.get(title);
        let rows = panel["rows"].as_array().unwrap();
        if !rows.is_empty() {
            assert_eq!(panel["frames"], 1, "{}: {title}: {panel:#}", self.dashboard);
        }
        if !columns.is_empty() && !rows.is_empty() {
            let got: Vec<&str> = panel["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(got, columns, "{}: {title}: columns", self.dashboard);
        }
        let mut out = BTreeMap::new();
        for row in rows {
            let k: Vec<String> = key.iter().map(|c| text(row, c)).collect();
            assert!(
                out.insert(k.clone(), row.clone()).is_none(),
                "{}: {title}: {k:?} shown twice: {rows:#?}",
                self.dashboard
            );
        }
        out
    }

    /// [`Panels::table`], keyed by the raw values of the `key` columns
    /// (which may show mapped texts); `title` may name several panels (a
    /// table and a time series), the table is taken.
    fn table_by_value(
        &self,
        title: &str,
        columns: &[&str],
        key: &[&str],
    ) -> BTreeMap<Vec<String>, Value> {
        let tables: Vec<&Value> = self
            .panels
            .iter()
            .filter(|p| p["title"] == title && p["type"] == "table")
            .collect();
        assert_eq!(
            tables.len(),
            1,
            "{}: one table titled {title}",
            self.dashboard
        );
        let panel = tables[0];
        let rows = panel["rows"].as_array().unwrap();
        if !rows.is_empty() {
            assert_eq!(panel["frames"], 1, "{}: {title}: {panel:#}", self.dashboard);
            if !columns.is_empty() {
                let got: Vec<&str> = panel["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap())
                    .collect();
                assert_eq!(got, columns, "{}: {title}: columns", self.dashboard);
            }
        }
        let mut out = BTreeMap::new();
        for row in rows {
            let k: Vec<String> = key
                .iter()
                .map(|c| row[*c]["value"].as_str().unwrap_or_default().to_owned())
                .collect();
            assert!(
                out.insert(k.clone(), row.clone()).is_none(),
                "{}: {title}: {k:?} shown twice: {rows:#?}",
                self.dashboard
            );
        }
        out
    }

    /// Whether the stats titled `title` (one per benchmark) can be
    /// asserted (see [`Panels::exact`]).
    fn exact_stat(&self, title: &str) -> bool {
        let exprs: Vec<String> = self.board["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["title"] == title)
            .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
            .map(|t| t["expr"].as_str().unwrap().to_owned())
            .collect();
        assert!(!exprs.is_empty(), "{}: no stat {title}", self.dashboard);
        for expr in exprs {
            if let Some((rule, labels, read)) = self.rules.read_by(&expr) {
                self.rules.skipped.borrow_mut().insert(format!(
                    "{}: {title}: {rule}{labels:?} reads {read}",
                    self.dashboard
                ));
                return false;
            }
        }
        true
    }

    /// The reduced values of a stat or bar gauge panel.
    fn stat(&self, title: &str) -> Vec<f64> {
        self.get(title)["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["value"].as_f64().unwrap())
            .collect()
    }

    /// Every panel shows something, but those named.
    fn assert_data_except(&self, may_be_empty: &[&str]) {
        for panel in &self.panels {
            let title = panel["title"].as_str().unwrap();
            let empty = ["rows", "values", "series", "options"]
                .iter()
                .all(|k| panel[k].as_array().is_none_or(|a| a.is_empty()));
            assert!(
                !empty || may_be_empty.contains(&title),
                "{}: panel {title} shows no data: {panel:#}",
                self.dashboard
            );
        }
    }

    /// The options of a query variable.
    fn options(&self, variable: &str) -> BTreeSet<String> {
        self.get(&format!("${variable}"))["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    fn texts(&self, title: &str) -> Vec<String> {
        self.get(title)["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["text"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn text(row: &Value, column: &str) -> String {
    row[column]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no column {column} in {row:#}"))
        .to_owned()
}

fn value(row: &Value, column: &str) -> Option<f64> {
    row[column]["value"].as_f64()
}

fn color(row: &Value, column: &str) -> String {
    row[column]["color"].as_str().unwrap_or("").to_owned()
}

fn links(row: &Value, column: &str) -> Vec<String> {
    row[column]["links"]
        .as_array()
        .map(|l| l.iter().map(|u| u.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// The data source's frames, and what `@grafana/data` makes of them on small
/// cases (among them the plain-selector merge that shows every user once per
/// query).
#[test]
fn grafana_model_follows_grafana() {
    let out = Command::new(python())
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "dashboards",
            "-p",
            "test_*.py",
        ])
        .current_dir(repo())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_dashboards_are_the_generated_ones() {
    let status = Command::new(python())
        .arg(repo().join("dashboards/generate.py"))
        .arg("--check")
        .status()
        .expect("run dashboards/generate.py");
    assert!(
        status.success(),
        "dashboards/*.json differ from dashboards/generate.py's output"
    );
    for name in DASHBOARDS {
        assert!(Path::new(&repo().join("dashboards").join(name)).is_file());
    }
}

/// A row of a table of controls: (control, accounts checked, passing,
/// failing, failing within 30 days, within 90 days).
type ControlRow = (&'static str, f64, f64, f64, f64, f64);

/// The controls of the seeded accounts, one benchmark at a time. Now:
/// Management fails 2.10 (console-no-mfa), 2.11 (never-used-key, and
/// stale-password's 50 days), 2.12 (old-key), 2.17 (the expired legacy
/// certificate) and four FSBP password classes (its policy requires symbols
/// only); Sandbox fails 2.6 (virtual root MFA), 2.10 (sandbox-admin) and
/// every password-policy control (it has none); the report file's account
/// fails the root controls (an active root key, no root MFA, root used 3
/// hours ago). [`HISTORY`] adds 2.12 within 30 days for Sandbox and 2.10
/// within 90 for the report file's account.
const CIS: [ControlRow; 10] = [
    ("2.4", 3.0, 2.0, 1.0, 1.0, 1.0),
    ("2.5", 3.0, 2.0, 1.0, 1.0, 1.0),
    ("2.6", 3.0, 1.0, 2.0, 2.0, 2.0),
    ("2.7", 2.0, 1.0, 1.0, 1.0, 1.0),
    ("2.8", 2.0, 1.0, 1.0, 1.0, 1.0),
    ("2.9", 2.0, 1.0, 1.0, 1.0, 1.0),
    ("2.10", 3.0, 1.0, 2.0, 2.0, 3.0),
    ("2.11", 3.0, 2.0, 1.0, 1.0, 1.0),
    ("2.12", 3.0, 2.0, 1.0, 2.0, 2.0),
    ("2.17", 2.0, 1.0, 1.0, 1.0, 1.0),
];
const FSBP: [ControlRow; 17] = [
    ("IAM.3", 3.0, 2.0, 1.0, 2.0, 2.0),
    ("IAM.4", 3.0, 2.0, 1.0, 1.0, 1.0),
    ("IAM.5", 3.0, 1.0, 2.0, 2.0, 3.0),
    ("IAM.6", 3.0, 1.0, 2.0, 2.0, 2.0),
    ("IAM.7", 2.0, 0.0, 2.0, 2.0, 2.0),
    ("IAM.8", 3.0, 3.0, 0.0, 0.0, 0.0),
    ("IAM.9", 3.0, 2.0, 1.0, 1.0, 1.0),
    ("IAM.11", 2.0, 0.0, 2.0, 2.0, 2.0),
    ("IAM.12", 2.0, 0.0, 2.0, 2.0, 2.0),
    ("IAM.13", 2.0, 1.0, 1.0, 1.0, 1.0),
    ("IAM.14", 2.0, 0.0, 2.0, 2.0, 2.0),
    ("IAM.15", 2.0, 1.0, 1.0, 1.0, 1.0),
    ("IAM.16", 2.0, 1.0, 1.0, 1.0, 1.0),
    ("IAM.17", 2.0, 1.0, 1.0, 1.0, 1.0),
    ("IAM.19", 3.0, 0.0, 3.0, 3.0, 3.0),
    ("IAM.22", 3.0, 2.0, 1.0, 1.0, 1.0),
    ("IAM.26", 2.0, 1.0, 1.0, 1.0, 1.0),
];

/// Share of the last `window` days an account failed `control`: from
/// [`HISTORY`] where it has some (one sample a minute, against which the
/// test's own minute of samples weighs little), else its state now, the
/// only one the rules recorded.
fn share_failing(account: &str, bench: &str, control: &str, window: u64, now: f64) -> f64 {
    let history = HISTORY.iter().find(|(a, labels, _)| {
        *a == account && labels.iter().any(|(k, v)| *k == bench && *v == control)
    });
    match history {
        Some((_, _, failing)) => {
            let from = window.min(HISTORY_DAYS) as f64 * DAY as f64;
            let covered = from - HOUR as f64;
            let failed: f64 = failing
                .iter()
                .map(|&(a, b)| {
                    let a = (a * DAY) as f64;
                    let b = ((b * DAY) as f64).max(HOUR as f64);
                    (a.min(from) - b).max(0.0)
                })
                .sum();
            failed / covered
        }
        None => now,
    }
}

/// Accounts failing each control of `bench` (those of `rows`) now, within
/// 30 and 90 days, and the share of time failing; one row per control.
fn check_controls(panels: &Panels, bench: &str, rows: &[ControlRow], accounts: &[&str]) {
    let title = if bench == "cis" {
        "CIS AWS Foundations v7.0.0 controls"
    } else {
        "Security Hub FSBP controls"
    };
    let table = panels.table_by_value(
        title,
        &[
            "Control",
            "Accounts checked",
            "Passing",
            "Failing",
            "Failing in 30d",
            "Failing in 90d",
            "Time failing 30d",
            "Time failing 90d",
            "Resources failing",
        ],
        &["Control"],
    );
    assert_eq!(
        table.keys().cloned().collect::<BTreeSet<_>>(),
        rows.iter().map(|r| vec![r.0.to_owned()]).collect(),
        "{title}: one row per control the rules measure"
    );
    let failing_now = drill_down(panels, bench);
    for &(control, checked, passing, failing, in_30, in_90) in rows {
        let r = &table[&vec![control.to_owned()]];
        assert!(
            text(r, "Control").starts_with(&format!("{control} ")),
            "{control}: the control with what it checks: {r:#}"
        );
        if !panels.exact_control(title, bench, control) {
            continue;
        }
        assert_eq!(
            value(r, "Accounts checked"),
            Some(checked),
            "{control}: {r:#}"
        );
        assert_eq!(value(r, "Passing"), Some(passing), "{control}: {r:#}");
        assert_eq!(value(r, "Failing"), Some(failing), "{control}: {r:#}");
        assert_eq!(value(r, "Failing in 30d"), Some(in_30), "{control}: {r:#}");
        assert_eq!(value(r, "Failing in 90d"), Some(in_90), "{control}: {r:#}");
        let red = if failing > 0.0 { "red" } else { "green" };
        assert_eq!(color(r, "Failing"), red, "{control}: {r:#}");
        let orange = if in_30 > 0.0 { "orange" } else { "green" };
        assert_eq!(color(r, "Failing in 30d"), orange, "{control}: {r:#}");
        for (column, days) in [("Time failing 30d", 30), ("Time failing 90d", 90)] {
            let measured = accounts.iter().filter(|a| {
                failing_now.contains_key(&(control.to_owned(), a.to_string()))
                    || HISTORY
                        .iter()
                        .any(|(h, l, _)| h == *a && l.iter().any(|(_, c)| *c == control))
            });
            let expected: f64 = measured
                .map(|a| {
                    let now = f64::from(
                        failing_now.get(&(control.to_owned(), a.to_string())) == Some(&true),
                    );
                    share_failing(a, bench, control, days, now)
                })
                .sum::<f64>()
                / checked;
            let got = value(r, column).unwrap_or(f64::NAN);
            assert!(
                (got - expected).abs() < 0.01,
                "{control}: {column} {got}, want {expected:.3}: {r:#}"
            );
        }
    }
}

/// The drill-down of `bench`: (control, account) -> failing now (true) or
/// only within the last 30 days (false).
fn drill_down(panels: &Panels, bench: &str) -> BTreeMap<(String, String), bool> {
    let title = if bench == "cis" {
        "Failing accounts by CIS AWS Foundations v7.0.0 control"
    } else {
        "Failing accounts by Security Hub FSBP control"
    };
    panels
        .table_by_value(
            title,
            &[
                "Control",
                "Account",
                "Name",
                "Now",
                "Resources failing",
                "Checked",
                "Time failing 30d",
            ],
            &["Control", "Account"],
        )
        .iter()
        .map(|(k, r)| ((k[0].clone(), k[1].clone()), text(r, "Now") == "failing"))
        .collect()
}

/// The failing accounts of each control: (control, account, failing now,
/// resources failing, resources checked); None where the rules count each
/// replica's series (the report file is served twice), which the
/// `account_id:aws_iam_control_*:count` rules do not deduplicate yet.
type Failing = (&'static str, &'static str, bool, Option<(f64, f64)>);

fn check_failing_accounts(panels: &Panels, bench: &str, expected: &[Failing]) {
    let title = if bench == "cis" {
        "Failing accounts by CIS AWS Foundations v7.0.0 control"
    } else {
        "Failing accounts by Security Hub FSBP control"
    };
    let table = panels.table_by_value(title, &[], &["Control", "Account"]);
    let exact = |control: &str| panels.exact_control(title, bench, control);
    assert_eq!(
        table
            .keys()
            .filter(|k| exact(&k[0]))
            .cloned()
            .collect::<BTreeSet<_>>(),
        expected
            .iter()
            .filter(|e| exact(e.0))
            .map(|e| vec![e.0.to_owned(), e.1.to_owned()])
            .collect(),
        "{title}: accounts failing now or within 30 days, once per control"
    );
    for &(control, account, now, resources) in expected {
        if !exact(control) {
            continue;
        }
        let r = &table[&vec![control.to_owned(), account.to_owned()]];
        let (state, colour) = if now {
            ("failing", "red")
        } else {
            ("passing", "green")
        };
        assert_eq!(text(r, "Now"), state, "{control} {account}: {r:#}");
        assert_eq!(color(r, "Now"), colour, "{control} {account}: {r:#}");
        if let Some((failing, checked)) = resources {
            assert_eq!(
                value(r, "Resources failing"),
                Some(failing),
                "{control} {account}: {r:#}"
            );
            assert_eq!(
                value(r, "Checked"),
                Some(checked),
                "{control} {account}: {r:#}"
            );
        }
        let share = share_failing(account, bench, control, 30, f64::from(now));
        assert!(
            value(r, "Time failing 30d").is_some_and(|v| (v - share).abs() < 0.01),
            "{control} {account}: want {share:.3}: {r:#}"
        );
        let name = match account {
            MGMT => "Management",
            SANDBOX => "Sandbox",
            _ => "",
        };
        assert_eq!(text(r, "Name"), name, "{r:#}");
        for column in ["Account", "Name"] {
            assert_eq!(
                links(r, column),
                vec![format!(
                    "/d/aws-iam-account/?var-account={account}&from=now-7d&to=now&var-datasource=prometheus"
                )],
                "{control} {account}: {column}"
            );
        }
    }
}

const CIS_FAILING: [Failing; 13] = [
    ("2.10", MGMT, true, Some((1.0, 3.0))),
    ("2.11", MGMT, true, Some((2.0, 10.0))),
    ("2.12", MGMT, true, Some((1.0, 7.0))),
    ("2.17", MGMT, true, Some((1.0, 3.0))),
    ("2.4", FIXTURE, true, Some((1.0, 1.0))),
    ("2.5", FIXTURE, true, Some((1.0, 1.0))),
    ("2.6", FIXTURE, true, None),
    ("2.7", FIXTURE, true, Some((1.0, 1.0))),
    ("2.10", SANDBOX, true, Some((1.0, 1.0))),
    // Failed from 20 to 10 days ago.
    ("2.12", SANDBOX, false, Some((0.0, 1.0))),
    ("2.6", SANDBOX, true, Some((1.0, 1.0))),
    ("2.8", SANDBOX, true, Some((1.0, 1.0))),
    ("2.9", SANDBOX, true, Some((1.0, 1.0))),
];

const FSBP_FAILING: [Failing; 25] = [
    ("IAM.3", MGMT, true, Some((1.0, 7.0))),
    ("IAM.5", MGMT, true, Some((1.0, 3.0))),
    ("IAM.7", MGMT, true, Some((1.0, 1.0))),
    ("IAM.11", MGMT, true, Some((1.0, 1.0))),
    ("IAM.12", MGMT, true, Some((1.0, 1.0))),
    ("IAM.14", MGMT, true, Some((1.0, 1.0))),
    // Seven of nine users have no MFA.
    ("IAM.19", MGMT, true, Some((7.0, 9.0))),
    ("IAM.22", MGMT, true, Some((2.0, 10.0))),
    ("IAM.26", MGMT, true, Some((1.0, 3.0))),
    ("IAM.4", FIXTURE, true, Some((1.0, 1.0))),
    ("IAM.6", FIXTURE, true, None),
    ("IAM.9", FIXTURE, true, Some((1.0, 1.0))),
    ("IAM.19", FIXTURE, true, None),
    ("IAM.3", SANDBOX, false, Some((0.0, 1.0))),
    ("IAM.5", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.6", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.7", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.11", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.12", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.13", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.14", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.15", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.16", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.17", SANDBOX, true, Some((1.0, 1.0))),
    ("IAM.19", SANDBOX, true, Some((2.0, 2.0))),
];

fn check_compliance(panels: &Panels) {
    let accounts = [MGMT, SANDBOX, FIXTURE];
    check_controls(panels, "cis", &CIS, &accounts);
    check_controls(panels, "fsbp", &FSBP, &accounts);
    check_failing_accounts(panels, "cis", &CIS_FAILING);
    check_failing_accounts(panels, "fsbp", &FSBP_FAILING);
    assert_eq!(
        panels.options("account"),
        accounts.map(str::to_owned).into(),
        "the accounts the posture rules measure"
    );
    // Both benchmarks' stats, in order.
    let stats = |title: &str| -> Vec<Vec<f64>> {
        panels
            .panels
            .iter()
            .filter(|p| p["title"] == title)
            .map(|p| {
                p["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["value"].as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    // Every control but IAM.8 fails somewhere; every account fails one.
    if panels.exact_stat("Controls failing") {
        assert_eq!(stats("Controls failing"), vec![vec![10.0], vec![16.0]]);
        assert_eq!(
            stats("Accounts failing a control"),
            vec![vec![3.0], vec![3.0]]
        );
        assert_eq!(
            stats("Accounts passing every control"),
            vec![Vec::<f64>::new(), Vec::new()]
        );
        assert_eq!(stats("Accounts failing in 30d"), vec![vec![3.0], vec![3.0]]);
    }
    for (title, lines) in [
        (
            "Failing accounts by CIS AWS Foundations v7.0.0 control",
            CIS.map(|r| r.0).to_vec(),
        ),
        (
            "Failing accounts by Security Hub FSBP control",
            FSBP.map(|r| r.0).to_vec(),
        ),
    ] {
        let series: BTreeSet<String> = panels
            .panels
            .iter()
            .filter(|p| p["title"] == title && p["type"] == "timeseries")
            .flat_map(|p| p["series"].as_array().unwrap().clone())
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            series,
            lines.iter().map(|c| c.to_string()).collect(),
            "{title}: one line per control"
        );
    }
}

/// One account chosen: its rows only.
fn check_compliance_one(panels: &Panels) {
    let one: Vec<ControlRow> = CIS
        .iter()
        .map(|&(control, _, _, _, _, _)| {
            let now = CIS_FAILING
                .iter()
                .find(|f| f.0 == control && f.1 == SANDBOX)
                .map(|f| f.2);
            // Every CIS control is measured in Sandbox (2.17 too: it has no
            // server certificate, and passes).
            let failing = f64::from(now == Some(true));
            let within = f64::from(now.is_some());
            (control, 1.0, 1.0 - failing, failing, within, within)
        })
        .collect();
    check_controls(panels, "cis", &one, &[SANDBOX]);
    let failing: Vec<Failing> = CIS_FAILING
        .iter()
        .filter(|f| f.1 == SANDBOX)
        .copied()
        .collect();
    check_failing_accounts(panels, "cis", &failing);
}
