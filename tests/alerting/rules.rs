//! Checks of the monitoring and deployment files: the Prometheus rules and
//! their unit tests, the Prometheus and Alertmanager configs, the Dockerfile,
//! the generated Kubernetes PrometheusRule, and the links between the alerts,
//! their thresholds and docs/runbook.md.
//!
//! promtool, amtool and hadolint are required: a missing tool fails the test
//! with a pointer to scripts/install-test-deps.sh rather than skipping it.
//! Tool paths can be overridden with PROMTOOL, AMTOOL and HADOLINT.

use crate::common::exporter::repo;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "run scripts/install-test-deps.sh (Debian packages prometheus and \
     prometheus-alertmanager, and hadolint in .venv)";
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);
const RULES_FILE: &str = "alerts/iam-credentials.rules.yml";
const RECORDING_FILE: &str = "alerts/iam-credentials.recording.yml";
const RUNBOOK: &str = "docs/runbook.md";
/// `runbookURLPattern` of mixin/config.libsonnet, up to the anchor.
const RUNBOOK_URL: &str = "docs/runbook.md";
const ALERTMANAGER_CONFIG: &str = "deploy/alertmanager/alertmanager.yml";
const PROMETHEUSRULE: &str = "deploy/kubernetes/base/prometheusrule.yaml";
const RENDER: &str = "mixin/render.py";

/// Receiver that deploy/alertmanager/alertmanager.yml routes an alert to.
fn expected_receiver(alert: &str, severity: &str) -> &'static str {
    if alert == "AwsIamRootRecentlyUsed" {
        "security"
    } else if severity == "critical" {
        "pager"
    } else if alert.starts_with("AwsIamExporter") || alert.starts_with("AwsIamCredentialReport") {
        "exporter"
    } else if severity == "warning" {
        "ticket"
    } else {
        assert_eq!(severity, "info", "{alert}: unknown severity");
        "low-priority"
    }
}

// ---------------------------------------------------------------------------
// External tools
// ---------------------------------------------------------------------------

#[test]
fn promtool_check_rules_accepts_every_rule_file() {
    let files = yaml_files_in("alerts");
    let out = run(
        promtool().arg("check").arg("rules").args(&files),
        "promtool check rules",
    );
    assert_success(&out, "promtool check rules alerts/*.yml");
}

#[test]
fn promtool_unit_tests_pass_for_every_rule() {
    let files = yaml_files_in("alerts/tests");
    let out = run(
        promtool().arg("test").arg("rules").args(&files),
        "promtool test rules",
    );
    assert_success(&out, "promtool test rules alerts/tests/*.yml");
}

#[test]
fn promtool_check_config_accepts_prometheus_config() {
    let out = run(
        promtool()
            .arg("check")
            .arg("config")
            .arg("deploy/prometheus/prometheus.yml"),
        "promtool check config",
    );
    assert_success(
        &out,
        "promtool check config deploy/prometheus/prometheus.yml",
    );
    // The config's relative rule_files path must reach the shipped rules, or
    // Prometheus would start without any alert.
    let stdout = String::from_utf8_lossy(&out.stdout);
    for file in [RULES_FILE, RECORDING_FILE] {
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        assert!(
            stdout.contains(name),
            "prometheus.yml does not load {file}; promtool said:\n{stdout}"
        );
    }
}

#[test]
fn amtool_check_config_accepts_alertmanager_config() {
    let out = run(
        amtool().arg("check-config").arg(ALERTMANAGER_CONFIG),
        "amtool check-config",
    );
    assert_success(
        &out,
        "amtool check-config deploy/alertmanager/alertmanager.yml",
    );
}

#[test]
fn alertmanager_routes_every_alert_to_its_receiver() {
    let summaries = rendered_variant(
        "summaries",
        "{ perKeyAlerts: false, perAccountSummaries: true }",
    );
    let fsbp = rendered_variant("fsbp-routes", FSBP_CONFIG);
    let mut rules = alerts();
    for dir in [summaries, fsbp] {
        rules.extend(parse_rules(
            &std::fs::read_to_string(dir.join("iam-credentials.rules.yml")).unwrap(),
        ));
    }
    let mut seen = BTreeSet::new();
    rules.retain(|r| seen.insert(r.name.clone()));
    for alert in rules {
        let severity = alert.field("labels.severity");
        let receiver = expected_receiver(&alert.name, severity);
        // With the control labels the alert carries: grouping by control
        // must not move an alert to another receiver.
        let controls: Vec<String> = ["cis", "fsbp"]
            .iter()
            .filter_map(|l| {
                let value = alert.fields.get(&format!("labels.{l}"))?;
                Some(format!("{l}={value}"))
            })
            .collect();
        let out = run(
            amtool()
                .args(["config", "routes", "test"])
                .arg(format!("--config.file={ALERTMANAGER_CONFIG}"))
                .arg(format!("--verify.receivers={receiver}"))
                .arg(format!("severity={severity}"))
                .arg(format!("alertname={}", alert.name))
                .args(&controls),
            "amtool config routes test",
        );
        assert_success(
            &out,
            &format!(
                "route of {} (severity={severity}) to receiver {receiver}",
                alert.name
            ),
        );
    }
}

/// Receiver of an alert owned by team `payments` (label `tag_team`): the
/// team's route takes its warning and info findings; root use, pages and
/// the exporter's health keep their receivers.
fn expected_receiver_of_payments(alert: &str, severity: &str) -> &'static str {
    match expected_receiver(alert, severity) {
        "ticket" | "low-priority" => "payments",
        other => other,
    }
}

#[test]
fn alertmanager_routes_owned_findings_to_their_team() {
    let rules = alerts();
    let owned: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.field("expr").contains("group_left (tag_team)"))
        .collect();
    // Every finding alert carries the owner label, the health alerts none.
    assert!(
        owned.len() >= 30,
        "only {} alerts join tag_team",
        owned.len()
    );
    for alert in &rules {
        let joins = alert.field("expr").contains("group_left (tag_team)");
        let health = alert.name.starts_with("AwsIamExporter")
            || alert.name.starts_with("AwsIamCredentialReport");
        assert_eq!(joins, !health, "{}: owner join", alert.name);
    }
    for alert in owned {
        let severity = alert.field("labels.severity");
        for (team, receiver) in [
            (
                "payments",
                expected_receiver_of_payments(&alert.name, severity),
            ),
            // A team without a route, and no owner at all: as before.
            ("identity", expected_receiver(&alert.name, severity)),
            ("", expected_receiver(&alert.name, severity)),
        ] {
            let out = run(
                amtool()
                    .args(["config", "routes", "test"])
                    .arg(format!("--config.file={ALERTMANAGER_CONFIG}"))
                    .arg(format!("--verify.receivers={receiver}"))
                    .arg(format!("severity={severity}"))
                    .arg(format!("alertname={}", alert.name))
                    .arg(format!("tag_team={team}")),
                "amtool config routes test",
            );
            assert_success(
                &out,
                &format!(
                    "route of {} (severity={severity}, tag_team={team:?}) to receiver {receiver}",
                    alert.name
                ),
            );
        }
    }
}

#[test]
fn root_use_goes_to_security_without_resolved_notification() {
    let config = read(ALERTMANAGER_CONFIG);
    let security = config
        .split("  - name: security\n")
        .nth(1)
        .and_then(|rest| rest.split("  - name:").next())
        .expect("a security receiver");
    assert!(
        security.contains("send_resolved: false"),
        "the security receiver must not send resolved notifications: {security}"
    );
}

#[test]
fn hadolint_accepts_dockerfile() {
    let out = run(hadolint().arg("Dockerfile"), "hadolint");
    assert_success(&out, "hadolint Dockerfile");
}

#[test]
fn rendered_rules_and_prometheusrule_match_the_mixin() {
    let out = run(
        Command::new("python3").arg(RENDER).arg("--check"),
        "mixin/render.py --check",
    );
    assert_success(
        &out,
        "the committed rules or PrometheusRule differ from the mixin; run mixin/render.py",
    );
}

#[test]
fn per_account_summaries_fire_once_per_account_and_kind() {
    // The switch of mixin/config.libsonnet for large organizations: rendered
    // with it, then unit-tested like the shipped rules.
    let dir = rendered_variant(
        "summaries",
        "{ perKeyAlerts: false, perAccountSummaries: true }",
    );
    std::fs::copy(
        repo().join("mixin/tests/summaries.test.yml"),
        dir.join("summaries.test.yml"),
    )
    .unwrap();
    let out = run(
        promtool()
            .arg("test")
            .arg("rules")
            .arg(dir.join("summaries.test.yml")),
        "promtool test rules",
    );
    assert_success(&out, "promtool test rules mixin/tests/summaries.test.yml");
    let names: BTreeSet<String> =
        parse_rules(&std::fs::read_to_string(dir.join("iam-credentials.rules.yml")).unwrap())
            .into_iter()
            .map(|r| r.name)
            .collect();
    assert!(
        !names.contains("AwsIamAccessKeyNotRotated"),
        "per-key alerts are off: {names:?}"
    );
    assert!(names.contains("AwsIamAccountKeysNotRotated"), "{names:?}");
}

/// The config of mixin/tests/fsbp.test.yml: Security Hub FSBP's thresholds
/// where they differ from CIS v7.0.0.
const FSBP_CONFIG: &str = "{ keyUnusedThresholdSeconds: 90 * 86400, \
     passwordUnusedThresholdSeconds: 90 * 86400, passwordMinimumLength: 8, \
     userWithoutMFAAlerts: true }";

#[test]
fn fsbp_thresholds_fire_later_and_label_the_fsbp_controls() {
    // Where FSBP and CIS disagree (90 or 45 days unused, length 8 or 14) the
    // config chooses; the shipped CIS values are tested in alerts/tests, the
    // FSBP ones here.
    let dir = rendered_variant("fsbp", FSBP_CONFIG);
    std::fs::copy(
        repo().join("mixin/tests/fsbp.test.yml"),
        dir.join("fsbp.test.yml"),
    )
    .unwrap();
    let out = run(
        promtool()
            .arg("test")
            .arg("rules")
            .arg(dir.join("fsbp.test.yml")),
        "promtool test rules",
    );
    assert_success(&out, "promtool test rules mixin/tests/fsbp.test.yml");
    let rules =
        parse_rules(&std::fs::read_to_string(dir.join("iam-credentials.rules.yml")).unwrap());
    let labels = |name: &str| {
        let rule = rules.iter().find(|r| r.name == name).unwrap();
        (
            rule.fields.get("labels.cis").cloned(),
            rule.fields.get("labels.fsbp").cloned(),
        )
    };
    assert_eq!(
        labels("AwsIamAccessKeyUnused"),
        (None, Some("IAM.8".into()))
    );
    assert_eq!(labels("AwsIamPasswordUnused"), (None, Some("IAM.8".into())));
    assert_eq!(
        labels("AwsIamPasswordPolicyTooShort"),
        (None, Some("IAM.7".into()))
    );
    assert_eq!(
        labels("AwsIamUserWithoutMFA"),
        (None, Some("IAM.19".into()))
    );
    // A threshold no benchmark sets claims no control.
    let dir = rendered_variant("no-benchmark", "{ keyUnusedThresholdSeconds: 60 * 86400 }");
    let rules =
        parse_rules(&std::fs::read_to_string(dir.join("iam-credentials.rules.yml")).unwrap());
    let unused = rules
        .iter()
        .find(|r| r.name == "AwsIamAccessKeyUnused")
        .unwrap();
    assert!(
        !unused.fields.contains_key("labels.cis") && !unused.fields.contains_key("labels.fsbp"),
        "a 60-day threshold is neither CIS 2.11 nor FSBP IAM.8: {:?}",
        unused.fields
    );
}

#[test]
fn control_labels_name_controls_of_the_readme_coverage_tables() {
    // Every cis and fsbp value of an alert or a posture rule, in the shipped
    // rules and the variants, is a row of the README's coverage tables, which
    // name its metric, alert and test.
    let readme = read("README.md");
    let rows: BTreeSet<String> = readme
        .lines()
        .filter(|l| l.starts_with("| "))
        .filter_map(|l| l.trim_matches('|').split('|').next())
        .map(|c| c.trim().split(' ').next().unwrap_or("").to_owned())
        .collect();
    let summaries = rendered_variant(
        "summaries-controls",
        "{ perKeyAlerts: false, perAccountSummaries: true }",
    );
    let fsbp = rendered_variant("fsbp-controls", FSBP_CONFIG);
    let mut rules = alerts();
    rules.extend(parse_rules(&read(RECORDING_FILE)));
    for dir in [summaries, fsbp] {
        rules.extend(parse_rules(
            &std::fs::read_to_string(dir.join("iam-credentials.rules.yml")).unwrap(),
        ));
    }
    let mut seen = BTreeSet::new();
    for rule in &rules {
        for (key, prefix) in [("labels.cis", ""), ("labels.fsbp", "IAM.")] {
            let Some(value) = rule.fields.get(key) else {
                continue;
            };
            for control in value.split(',') {
                assert!(
                    control.starts_with(prefix)
                        && control[prefix.len()..]
                            .split('.')
                            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())),
                    "{}: {key} {control:?} is not a control number",
                    rule.name
                );
                assert!(
                    rows.contains(control),
                    "{}: {key} {control} has no row in the README coverage tables",
                    rule.name
                );
                seen.insert(control.to_owned());
            }
        }
    }
    // The root controls that need no root session are all labelled.
    for control in [
        "2.1.1", "2.4", "2.5", "2.6", "2.8", "2.9", "2.10", "2.11", "2.12", "2.17",
    ] {
        assert!(seen.contains(control), "no rule checks CIS {control}");
    }
    for n in [3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 19, 22, 26] {
        assert!(
            seen.contains(&format!("IAM.{n}")),
            "no rule checks FSBP IAM.{n}"
        );
    }
}

#[test]
fn one_selector_in_the_config_selects_every_series_of_every_rule() {
    // A PodMonitor's job is "<namespace>/<name>": changing the selector once
    // must leave no rule on the default job.
    let dir = rendered_variant(
        "podmonitor",
        r#"{ selector: 'job="monitoring/iam-credentials-exporter"' }"#,
    );
    for file in ["iam-credentials.rules.yml", "iam-credentials.recording.yml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            !text.contains(r#"job="iam-credentials-exporter""#),
            "{file} still selects the default job"
        );
        for rule in parse_rules(&text) {
            let expr = rule.field("expr");
            let selectors = expr.matches('{').count();
            let ours = expr
                .matches(r#"{job="monitoring/iam-credentials-exporter""#)
                .count();
            assert_eq!(
                selectors, ours,
                "{}: a series selector without the configured selector:\n{expr}",
                rule.name
            );
        }
    }
    let out = run(
        promtool()
            .arg("check")
            .arg("rules")
            .arg(dir.join("iam-credentials.rules.yml")),
        "promtool check rules",
    );
    assert_success(&out, "promtool check rules on the PodMonitor variant");
}

#[test]
fn kubernetes_manifests_use_the_measured_sizing_and_a_kustomize_image() {
    let readme = read("README.md");
    let row = readme
        .lines()
        .find(|l| l.starts_with('|') && l.contains("(manifest default)"))
        .expect("a README sizing row marked (manifest default)");
    let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
    let request = cells[4];
    let limit = cells[5].trim_end_matches("(manifest default)").trim();
    // The Deployment, and each shard of the sharded overlay.
    for manifest in [
        "deploy/kubernetes/base/deployment.yaml",
        "deploy/kubernetes/overlays/sharded/statefulset.yaml",
    ] {
        let text = read(manifest);
        let resources = text
            .split("resources:")
            .nth(1)
            .unwrap_or_else(|| panic!("resources in {manifest}"));
        let after = |section: &str| {
            resources
                .split(section)
                .nth(1)
                .and_then(|s| s.lines().find_map(|l| l.trim().strip_prefix("memory:")))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no memory under {section} in {manifest}"))
        };
        assert_eq!(after("requests:"), request, "memory request of {manifest}");
        assert_eq!(after("limits:"), limit, "memory limit of {manifest}");
    }
    let deployment = read("deploy/kubernetes/base/deployment.yaml");

    // The image is a name kustomize sets, not a registry path nothing builds.
    let image = deployment
        .lines()
        .find_map(|l| l.trim().strip_prefix("image:"))
        .map(str::trim)
        .expect("an image in deployment.yaml");
    let kustomization = read("deploy/kubernetes/base/kustomization.yaml");
    let images = kustomization
        .split("\nimages:\n")
        .nth(1)
        .expect("an images: list in kustomization.yaml");
    assert!(
        images.contains(&format!("- name: {image}\n")),
        "kustomization.yaml images: does not set {image}"
    );
    assert!(
        !image.contains('/') && !image.contains(':'),
        "deployment.yaml names a registry image: {image}"
    );
}

/// The rule files rendered with a config override, in their own directory.
fn rendered_variant(name: &str, config: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mixin-{name}"));
    let out = run(
        Command::new("python3")
            .arg(RENDER)
            .arg("--config")
            .arg(config)
            .arg("--out")
            .arg(&dir),
        "mixin/render.py --out",
    );
    assert_success(&out, "mixin/render.py --config ... --out");
    dir
}

#[test]
fn prometheusrule_manifest_holds_valid_rules_for_every_alert() {
    // Unwrap spec.groups back into a plain rule file and let promtool judge it.
    let manifest = read(PROMETHEUSRULE);
    let mut lines = manifest.lines();
    lines
        .by_ref()
        .find(|l| *l == "spec:")
        .expect("PrometheusRule has a top-level spec:");
    let mut rules = String::new();
    for line in lines {
        let unindented = line.strip_prefix("  ").unwrap_or_else(|| {
            assert!(line.is_empty(), "line outside spec: {line:?}");
            ""
        });
        rules.push_str(unindented);
        rules.push('\n');
    }
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prometheusrule-spec.yml");
    std::fs::write(&file, &rules).expect("write unwrapped rules");
    let out = run(
        promtool().arg("check").arg("rules").arg(&file),
        "promtool check rules",
    );
    assert_success(&out, "promtool check rules on the PrometheusRule spec");
    let names: BTreeSet<String> = parse_rules(&rules).into_iter().map(|r| r.name).collect();
    for alert in alerts() {
        assert!(
            names.contains(&alert.name),
            "{} is missing from {PROMETHEUSRULE}",
            alert.name
        );
    }
}

// ---------------------------------------------------------------------------
// Structure of the rules, their tests and the runbook
// ---------------------------------------------------------------------------

#[test]
fn every_alert_has_severity_summary_description_and_runbook_url() {
    let anchors = runbook_anchors();
    let alerts = alerts();
    assert!(!alerts.is_empty(), "no alert found in {RULES_FILE}");
    for alert in &alerts {
        let name = &alert.name;
        assert!(
            name.starts_with("AwsIam") && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "{name}: alert names are CamelCase with the AwsIam prefix"
        );
        let severity = alert.field("labels.severity");
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity:?} is not critical, warning or info"
        );
        let summary = alert.field("annotations.summary");
        assert!(
            summary.ends_with('.') && !summary.contains("{{"),
            "{name}: summary should be one plain sentence, got {summary:?}"
        );
        let description = alert.field("annotations.description");
        assert!(
            description.contains("{{ $labels."),
            "{name}: description is not templated with labels: {description:?}"
        );
        let url = alert.field("annotations.runbook_url");
        let anchor = url
            .strip_prefix(RUNBOOK_URL)
            .and_then(|rest| rest.strip_prefix('#'))
            .unwrap_or_else(|| panic!("{name}: runbook_url {url:?} is not {RUNBOOK_URL}#<anchor>"));
        assert_eq!(
            anchor,
            name.to_lowercase(),
            "{name}: runbook anchor must be the lowercase alert name"
        );
        assert!(
            anchors.contains(anchor),
            "{name}: {RUNBOOK} has no heading for #{anchor}"
        );
    }
    let mut seen = BTreeSet::new();
    for alert in &alerts {
        assert!(seen.insert(&alert.name), "duplicate alert {}", alert.name);
    }
}

#[test]
fn key_and_user_alerts_name_account_user_and_key_in_their_description() {
    for alert in alerts() {
        let expr = alert.field("expr");
        let description = alert.field("annotations.description");
        if expr.contains("aws_iam_access_key_") || expr.contains("aws_iam_user_") {
            assert!(
                description.contains("{{ $labels.account_id }}"),
                "{}: description does not name the account",
                alert.name
            );
            if !expr.contains("user=\"<root_account>\"") {
                assert!(
                    description.contains("{{ $labels.user }}"),
                    "{}: description does not name the user",
                    alert.name
                );
            }
        }
        // The labels of a rule's result come from the left of its first
        // `unless`: a key that only silences (`unless on (account_id) ...`)
        // names no slot.
        let selected = expr.split("unless").next().unwrap_or(expr);
        if selected.contains("aws_iam_access_key_active") && !expr.contains("without (slot") {
            assert!(
                description.contains("{{ $labels.slot }}"),
                "{}: description of a key alert does not name the key slot",
                alert.name
            );
        }
        assert!(
            expr.contains("job=\"iam-credentials-exporter\""),
            "{}: expression does not select job=\"iam-credentials-exporter\"",
            alert.name
        );
    }
}

#[test]
fn key_alerts_ignore_inactive_keys() {
    for alert in alerts() {
        let expr = alert.field("expr");
        let per_key = [
            "aws_iam_access_key_created_timestamp_seconds",
            "aws_iam_access_key_last_used_timestamp_seconds",
        ];
        if per_key.iter().any(|m| expr.contains(m)) {
            assert!(
                expr.contains("aws_iam_access_key_active{") && expr.contains("} == 1"),
                "{}: a key alert must be joined with aws_iam_access_key_active == 1",
                alert.name
            );
        }
    }
}

/// The families the exporter computes from "now" at scrape time, which
/// `--metrics.ages=false` leaves out: those whose HELP in the golden file of
/// every family starts with "Seconds since".
fn age_families() -> BTreeSet<String> {
    let golden = read("tests/golden/every_family.prom");
    let families: BTreeSet<String> = golden
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, help)| help.starts_with("Seconds since"))
        .map(|(name, _)| name.to_owned())
        .collect();
    assert!(
        families.contains("aws_iam_access_key_age_seconds")
            && families.contains("aws_iam_user_idle_seconds"),
        "age families of the golden file: {families:?}"
    );
    families
}

#[test]
fn no_rule_reads_an_age_family_and_no_unit_test_feeds_one() {
    // With --metrics.ages=false these families are absent: a rule reading
    // one would silently never fire, and a unit test fed with one would
    // test a series the exporter may not serve.
    let families = age_families();
    let summaries = rendered_variant(
        "summaries-ages",
        "{ perKeyAlerts: false, perAccountSummaries: true }",
    );
    let fsbp = rendered_variant("fsbp-ages", FSBP_CONFIG);
    let mut texts = vec![
        (RULES_FILE.to_owned(), read(RULES_FILE)),
        (RECORDING_FILE.to_owned(), read(RECORDING_FILE)),
        (PROMETHEUSRULE.to_owned(), read(PROMETHEUSRULE)),
    ];
    for dir in [summaries, fsbp] {
        let file = dir.join("iam-credentials.rules.yml");
        texts.push((
            file.display().to_string(),
            std::fs::read_to_string(&file).unwrap(),
        ));
    }
    for (file, text) in &texts {
        for rule in parse_rules(text) {
            let expr = rule.field("expr");
            for family in &families {
                assert!(
                    !expr.contains(&format!("{family}{{")),
                    "{file}: {} reads {family}, absent with --metrics.ages=false:\n{expr}",
                    rule.name
                );
            }
        }
    }
    let mut files = yaml_files_in("alerts/tests");
    files.extend(yaml_files_in("mixin/tests"));
    for file in files {
        for (i, line) in read(&file).lines().enumerate() {
            if let Some(series) = line.trim().strip_prefix("- series:") {
                let name = series
                    .trim()
                    .trim_matches('\'')
                    .split('{')
                    .next()
                    .unwrap_or("");
                assert!(
                    !families.contains(name),
                    "{file}:{}: an input series of the age family {name}; give its timestamp",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn every_alert_has_firing_and_silent_unit_tests() {
    let mut firing = BTreeSet::new();
    let mut silent = BTreeSet::new();
    let mut files = yaml_files_in("alerts/tests");
    files.extend(yaml_files_in("mixin/tests"));
    for file in files {
        let text = read(&file);
        let lines: Vec<&str> = text.lines().collect();
        let mut current: Option<String> = None;
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim();
            if let Some(name) = trimmed.strip_prefix("alertname:") {
                current = Some(unquote(name.trim()));
            } else if let Some(rest) = trimmed.strip_prefix("exp_alerts:") {
                let name = current
                    .clone()
                    .unwrap_or_else(|| panic!("{file}:{}: exp_alerts without alertname", i + 1));
                match rest.trim() {
                    "[]" => {
                        silent.insert(name);
                    }
                    "" => {
                        let next = lines[i + 1..]
                            .iter()
                            .map(|l| l.trim())
                            .find(|l| !l.is_empty() && !l.starts_with('#'));
                        assert!(
                            next.is_some_and(|l| l.starts_with("- ")),
                            "{file}:{}: exp_alerts is neither [] nor a list",
                            i + 1
                        );
                        firing.insert(name);
                    }
                    other => panic!("{file}:{}: unexpected exp_alerts: {other}", i + 1),
                }
            }
        }
    }
    // The shipped alerts and those behind the mixin's perAccountSummaries
    // and userWithoutMFAAlerts.
    let summaries = rendered_variant(
        "summaries-names",
        "{ perKeyAlerts: false, perAccountSummaries: true }",
    );
    let fsbp = rendered_variant("fsbp-names", FSBP_CONFIG);
    let names: BTreeSet<String> = alerts()
        .into_iter()
        .chain(parse_rules(
            &std::fs::read_to_string(summaries.join("iam-credentials.rules.yml")).unwrap(),
        ))
        .chain(parse_rules(
            &std::fs::read_to_string(fsbp.join("iam-credentials.rules.yml")).unwrap(),
        ))
        .map(|a| a.name)
        .collect();
    // promtool does not know which alert names exist: a typo in a test would
    // expect nothing and pass.
    for tested in firing.union(&silent) {
        assert!(
            names.contains(tested),
            "alerts/tests refer to {tested}, which is not an alert"
        );
    }
    for name in &names {
        assert!(
            firing.contains(name),
            "{name} has no test case where it fires"
        );
        assert!(
            silent.contains(name),
            "{name} has no test case where it must stay silent"
        );
    }
}

#[test]
fn runbook_threshold_table_matches_rules_and_their_header() {
    let alerts: BTreeMap<String, Rule> =
        alerts().into_iter().map(|a| (a.name.clone(), a)).collect();

    let runbook = read(RUNBOOK);
    let mut table = BTreeMap::new();
    for line in runbook.lines().filter(|l| l.starts_with("| [")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 6, "threshold table row has 6 cells: {line}");
        let (name, anchor) = cells[0]
            .strip_prefix('[')
            .and_then(|c| c.split_once("](#"))
            .and_then(|(n, a)| Some((n, a.strip_suffix(')')?)))
            .unwrap_or_else(|| panic!("first cell is [Alert](#anchor): {line}"));
        assert_eq!(anchor, name.to_lowercase(), "anchor of {name} in the table");
        let row = Threshold {
            severity: cells[1].to_owned(),
            seconds: cells[4].to_owned(),
            for_: cells[5].trim_matches('`').to_owned(),
        };
        assert!(
            table.insert(name.to_owned(), row).is_none(),
            "{name} twice in the table"
        );
    }

    // The comment block at the top of the rules file:
    // "#   Alert  Severity  Threshold words...  Seconds  for".
    let rules_text = read(RULES_FILE);
    let mut header = BTreeMap::new();
    for line in rules_text.lines().take_while(|l| l.starts_with('#')) {
        let words: Vec<&str> = line.trim_start_matches('#').split_whitespace().collect();
        if words.first().is_some_and(|w| w.starts_with("AwsIam")) {
            let row = Threshold {
                severity: words[1].to_owned(),
                seconds: words[words.len() - 2].to_owned(),
                for_: words[words.len() - 1].to_owned(),
            };
            header.insert(words[0].to_owned(), row);
        }
    }

    let expected: BTreeSet<&String> = alerts.keys().collect();
    assert_eq!(
        table.keys().collect::<BTreeSet<_>>(),
        expected,
        "alerts in the runbook table"
    );
    assert_eq!(
        header.keys().collect::<BTreeSet<_>>(),
        expected,
        "alerts in the rules header"
    );
    assert_eq!(
        table, header,
        "runbook table and rules file header disagree"
    );

    for (name, row) in &table {
        let alert = &alerts[name];
        assert_eq!(
            &row.severity,
            alert.field("labels.severity"),
            "{name}: severity"
        );
        let for_ = alert.fields.get("for").map_or("0m", String::as_str);
        assert_eq!(row.for_, for_, "{name}: for");
        if row.seconds != "-" {
            let numbers: BTreeSet<&str> = alert
                .field("expr")
                .split(|c: char| !c.is_ascii_digit())
                .filter(|t| !t.is_empty())
                .collect();
            assert!(
                numbers.contains(row.seconds.as_str()),
                "{name}: threshold {}s of the table is not in its expression",
                row.seconds
            );
        }
    }
}

#[test]
fn recording_rules_follow_level_metric_operations_naming() {
    let rules = parse_rules(&read(RECORDING_FILE));
    assert!(!rules.is_empty(), "no recording rule in {RECORDING_FILE}");
    for rule in rules {
        assert_eq!(
            rule.kind, "record",
            "{RECORDING_FILE} holds only recording rules"
        );
        let parts: Vec<&str> = rule.name.split(':').collect();
        assert!(
            parts.len() == 3
                && parts[0] == "account_id"
                && parts[1].starts_with("aws_iam_")
                && !parts[2].is_empty(),
            "{}: recording rules are named account_id:aws_iam_<metric>:<operation>",
            rule.name
        );
        assert!(
            rule.field("expr")
                .contains("job=\"iam-credentials-exporter\""),
            "{}: expression does not select job=\"iam-credentials-exporter\"",
            rule.name
        );
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
struct Threshold {
    severity: String,
    seconds: String,
    for_: String,
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `*.yml` files directly in `dir` (relative to the repository), sorted.
fn yaml_files_in(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension() == Some(OsStr::new("yml")))
        .map(|p| format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.yml file in {dir}");
    files
}

fn promtool() -> Command {
    tool_command("promtool", "PROMTOOL", find_in_path("promtool"))
}

fn amtool() -> Command {
    tool_command("amtool", "AMTOOL", find_in_path("amtool"))
}

fn hadolint() -> Command {
    tool_command(
        "hadolint",
        "HADOLINT",
        Some(repo().join(".venv/bin/hadolint")),
    )
}

/// A command for `name`, taken from the environment variable `env` when set,
/// else from `default`. Panics with the install hint when it does not exist.
fn tool_command(name: &str, env: &str, default: Option<PathBuf>) -> Command {
    let path = std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or(default)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found (or set {env}); {INSTALL_HINT}"));
    let mut cmd = Command::new(path);
    cmd.current_dir(repo());
    cmd
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs `cmd` to completion, killing it after [`TOOL_TIMEOUT`].
fn run(cmd: &mut Command, what: &str) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(repo());
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {TOOL_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Anchors of the runbook's headings, as GitHub generates them.
fn runbook_anchors() -> BTreeSet<String> {
    read(RUNBOOK)
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .map(|heading| {
            heading
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// One alerting or recording rule, its fields flattened to dotted paths
/// (`expr`, `for`, `labels.severity`, `annotations.summary`, ...).
#[derive(Debug)]
struct Rule {
    kind: &'static str,
    name: String,
    fields: BTreeMap<String, String>,
}

impl Rule {
    fn field(&self, path: &str) -> &str {
        self.fields
            .get(path)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| panic!("{}: missing or empty {path}", self.name))
    }
}

fn alerts() -> Vec<Rule> {
    let rules = parse_rules(&read(RULES_FILE));
    assert!(
        rules.iter().all(|r| r.kind == "alert"),
        "{RULES_FILE} holds only alerting rules"
    );
    rules
}

/// Reads the rules of a Prometheus rule file written in block style, as
/// alerts/*.yml are (promtool has already checked that it is valid YAML):
/// mappings by indentation, plain or quoted scalars, and `|` / `>` block
/// scalars.
fn parse_rules(text: &str) -> Vec<Rule> {
    let lines: Vec<&str> = text.lines().collect();
    let mut rules = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let kind = if trimmed.starts_with("- alert:") {
            "alert"
        } else if trimmed.starts_with("- record:") {
            "record"
        } else {
            i += 1;
            continue;
        };
        let dash_indent = lines[i].len() - trimmed.len();
        // The item's first key sits on the dash line; read it as if the dash
        // were a space.
        let first = format!("{}{}", " ".repeat(dash_indent + 2), &trimmed[2..]);
        let mut item = vec![first];
        i += 1;
        while i < lines.len() {
            let line = lines[i];
            let content = line.trim_start();
            let indent = line.len() - content.len();
            if !content.is_empty() && !content.starts_with('#') && indent <= dash_indent {
                break;
            }
            item.push(line.to_owned());
            i += 1;
        }
        let fields = parse_mapping(&item);
        let name = fields
            .get(kind)
            .cloned()
            .unwrap_or_else(|| panic!("rule without {kind}: {}", item[0]));
        rules.push(Rule { kind, name, fields });
    }
    rules
}

fn parse_mapping(lines: &[String]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    // Open parent mappings: (indent of their key, key).
    let mut parents: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let content = line.trim_start();
        i += 1;
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        let (key, value) = match content.split_once(':') {
            Some((k, v)) if v.is_empty() || v.starts_with(' ') => (k.trim(), v.trim()),
            _ => panic!("unsupported YAML line: {line}"),
        };
        while parents.last().is_some_and(|(p, _)| *p >= indent) {
            parents.pop();
        }
        let path = parents
            .iter()
            .map(|(_, k)| k.as_str())
            .chain([key])
            .collect::<Vec<_>>()
            .join(".");
        match value {
            "" => parents.push((indent, key.to_owned())),
            "|" | "|-" | "|+" | ">" | ">-" | ">+" => {
                let mut block = Vec::new();
                while i < lines.len() {
                    let l = &lines[i];
                    let c = l.trim_start();
                    if !c.is_empty() && l.len() - c.len() <= indent {
                        break;
                    }
                    block.push(c);
                    i += 1;
                }
                while block.last().is_some_and(|l| l.is_empty()) {
                    block.pop();
                }
                let joined = if value.starts_with('>') {
                    block.join(" ")
                } else {
                    block.join("\n")
                };
                fields.insert(path, joined);
            }
            _ => {
                fields.insert(path, unquote(value));
            }
        }
    }
    fields
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else {
        v.to_owned()
    }
}
