//! Golden-file tests of the exposition for fixed snapshots and a fixed "now".
//!
//! `UPDATE_GOLDEN=1 cargo test --test exposition` rewrites the golden files;
//! review the diff before committing it. The golden text is also fed to
//! `promtool check metrics` and the OpenMetrics one to the Python reference
//! parser, so a golden file that Prometheus would reject cannot be committed.
//!
//! `every_family.*` is the exposition of `common::every_family`, a fixture
//! with every collector on: it holds every family the exporter serves, and
//! `the_golden_exposition_holds_every_family_named_in_the_source` fails when
//! a family is added without being in it.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::exporter::{python, repo, run_tool};
use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::exposition::Format;
use iam_credentials_exporter::report::parse_report;
use iam_credentials_exporter::snapshot::{AccountState, Progress, Snapshot, Store};
use pretty_assertions::assert_eq;

/// 2026-11-29T00:00:00Z.
const NOW: i64 = 1_795_910_400;

fn snapshot_of(report: &str) -> Snapshot {
    let bytes = std::fs::read(repo().join(report)).unwrap();
    let mut data = parse_report(&bytes).unwrap().data;
    data.report_generated = Some(NOW - 3_600);
    Snapshot::new(vec![AccountState {
        key: report.to_owned(),
        account_id: data.account_id.clone(),
        name: "Example \"Prod\" \\ Zürich".to_owned(),
        data: Some(Arc::new(data)),
        collected: Default::default(),
        success: true,
        last_success: Some(NOW - 60),
        duration: Duration::from_millis(1_250),
        attempts: 3,
        failures: 1,
        progress: Progress::Done,
    }])
}

fn render(snapshot: Snapshot, format: Format) -> String {
    let store = Arc::new(Store::default());
    store.publish(snapshot);
    let api = ApiMetrics::default();
    api.requests
        .get_or_create(&[("operation", "GetCredentialReport".to_owned())])
        .inc();
    api.errors
        .get_or_create(&[
            ("operation", "GenerateCredentialReport".to_owned()),
            ("code", "Throttling".to_owned()),
        ])
        .inc();
    let exposition = iam_credentials_exporter::metrics::Exposition::new(
        store,
        Arc::new(|| NOW),
        Duration::from_secs(300),
        &api,
    );
    let text = exposition.render(&exposition.snapshot(), format).unwrap();
    // The revision depends on the checkout; pin it for comparison.
    text.lines()
        .map(|l| {
            if l.starts_with("aws_iam_exporter_build_info{") {
                "aws_iam_exporter_build_info{version=\"VERSION\",revision=\"REVISION\"} 1"
                    .to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn check_golden(name: &str, actual: &str) -> PathBuf {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(expected, actual, "{name} differs from the golden file");
    path
}

fn promtool_accepts(text: &str) {
    let out = run_tool(Path::new("promtool"), &["check", "metrics"], text);
    assert!(!out.contains("error"), "{out}");
}

fn openmetrics_parser_accepts(text: &str) -> usize {
    let script = "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\nfams = list(p(sys.stdin.read()))\nprint(sum(len(f.samples) for f in fams))";
    let out = run_tool(&python(), &["-c", script], text);
    out.trim().parse().expect("sample count")
}

#[test]
fn example_report_text_exposition_matches_golden_file() {
    let text = render(snapshot_of("examples/credential-report.csv"), Format::Text);
    check_golden("example.prom", &text);
    promtool_accepts(&text);
}

#[test]
fn example_report_openmetrics_exposition_matches_golden_file() {
    let text = render(
        snapshot_of("examples/credential-report.csv"),
        Format::OpenMetrics,
    );
    check_golden("example.openmetrics", &text);
    assert!(text.ends_with("# EOF\n"));
    let samples = openmetrics_parser_accepts(&text);
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(samples, series);
}

#[test]
fn odd_user_names_are_escaped_in_both_formats() {
    let text = render(
        snapshot_of("tests/fixtures/reports/odd_names.csv"),
        Format::Text,
    );
    check_golden("odd_names.prom", &text);
    promtool_accepts(&text);
    assert!(text.contains(r#"user="odd\"quote\\back""#), "{text}");
    assert!(text.contains(r#"user="jörg.müller-ß""#));
    let om = render(
        snapshot_of("tests/fixtures/reports/odd_names.csv"),
        Format::OpenMetrics,
    );
    openmetrics_parser_accepts(&om);
}

#[test]
fn ages_are_computed_from_now_at_scrape_time() {
    let text = render(snapshot_of("examples/credential-report.csv"), Format::Text);
    // ivan.petrov's key 1: rotated 2024-02-12T10:05:33Z, last used 2024-08-29.
    let key = r#"{account_id="123456789012",user="ivan.petrov",slot="1",access_key_id=""}"#;
    let created = common::exporter::value(
        &text,
        &format!("aws_iam_access_key_created_timestamp_seconds{key}"),
    )
    .unwrap();
    let age =
        common::exporter::value(&text, &format!("aws_iam_access_key_age_seconds{key}")).unwrap();
    assert_eq!(created, 1_707_732_333.0);
    assert_eq!(age, (NOW - 1_707_732_333) as f64);
    let last_used = common::exporter::value(
        &text,
        &format!("aws_iam_access_key_last_used_timestamp_seconds{key}"),
    )
    .unwrap();
    let since = common::exporter::value(
        &text,
        &format!("aws_iam_access_key_since_last_used_seconds{key}"),
    )
    .unwrap();
    let idle =
        common::exporter::value(&text, &format!("aws_iam_access_key_idle_seconds{key}")).unwrap();
    assert_eq!(since, NOW as f64 - last_used);
    assert_eq!(idle, since);
}

#[test]
fn never_used_keys_have_no_last_used_series_and_idle_from_creation() {
    let text = render(snapshot_of("examples/credential-report.csv"), Format::Text);
    let key = r#"{account_id="123456789012",user="svc-backup",slot="1",access_key_id=""}"#;
    assert_eq!(
        common::exporter::value(&text, &format!("aws_iam_access_key_never_used{key}")),
        Some(1.0)
    );
    assert_eq!(
        common::exporter::value(
            &text,
            &format!("aws_iam_access_key_last_used_timestamp_seconds{key}")
        ),
        None
    );
    assert_eq!(
        common::exporter::value(
            &text,
            &format!("aws_iam_access_key_since_last_used_seconds{key}")
        ),
        None
    );
    let age =
        common::exporter::value(&text, &format!("aws_iam_access_key_age_seconds{key}")).unwrap();
    let idle =
        common::exporter::value(&text, &format!("aws_iam_access_key_idle_seconds{key}")).unwrap();
    assert_eq!(idle, age);
}

#[test]
fn an_active_signing_certificate_counts_in_the_user_idle_time() {
    // legacy-ftp-user: created 2024-05-14T12:12:12Z, no password, no key, an
    // active signing certificate uploaded 2024-05-14T12:20:47Z. AWS records
    // no use of a certificate: the user is idle since the upload, not since
    // its creation, and has no last activity.
    let text = render(snapshot_of("examples/credential-report.csv"), Format::Text);
    let user = r#"{account_id="123456789012",user="legacy-ftp-user"}"#;
    assert_eq!(
        common::exporter::value(&text, &format!("aws_iam_user_idle_seconds{user}")),
        Some((NOW - 1_715_689_247) as f64)
    );
    assert_eq!(
        common::exporter::value(
            &text,
            &format!("aws_iam_user_last_activity_timestamp_seconds{user}")
        ),
        None
    );
    // The certificate itself: slot 1, active; slot 2 (false, N/A) is empty.
    let cert = r#"{account_id="123456789012",user="legacy-ftp-user",slot="1"}"#;
    for (family, value) in [
        ("aws_iam_signing_certificate_active", 1.0),
        (
            "aws_iam_signing_certificate_created_timestamp_seconds",
            1_715_689_247.0,
        ),
        (
            "aws_iam_signing_certificate_age_seconds",
            (NOW - 1_715_689_247) as f64,
        ),
    ] {
        assert_eq!(
            common::exporter::value(&text, &format!("{family}{cert}")),
            Some(value),
            "{family}"
        );
    }
    let slots = text
        .lines()
        .filter(|l| l.starts_with("aws_iam_signing_certificate_active{"))
        .count();
    assert_eq!(slots, 1, "one certificate in the example report");
}

/// What changes from one run to the next, pinned: the revision, the measured
/// durations (each sample stays, its value is written as 0.125) and the order
/// of the API counters' label sets, which prometheus-client keeps in a hash
/// map (sorted here).
fn pinned(text: &str) -> String {
    const MEASURED: [&str; 2] = [
        "aws_iam_exporter_account_refresh_duration_seconds{",
        "aws_iam_exporter_collector_duration_seconds{",
    ];
    const UNORDERED: [&str; 2] = [
        "aws_iam_exporter_api_requests_total{",
        "aws_iam_exporter_api_errors_total{",
    ];
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = if line.starts_with("aws_iam_exporter_build_info{") {
            "aws_iam_exporter_build_info{version=\"VERSION\",revision=\"REVISION\"} 1".to_owned()
        } else if MEASURED.iter().any(|p| line.starts_with(p)) {
            let (series, _) = line.rsplit_once(' ').expect("a sample has a value");
            format!("{series} 0.125")
        } else {
            line.to_owned()
        };
        if UNORDERED.iter().any(|p| line.starts_with(p)) {
            run.push(line);
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(line);
    }
    run.sort();
    out.append(&mut run);
    out.join("\n") + "\n"
}

#[tokio::test(start_paused = true)]
async fn every_collector_exposition_matches_golden_files_in_both_formats() {
    let rendered = common::every_family::render().await;
    let text = pinned(&rendered.text);
    check_golden("every_family.prom", &text);
    promtool_accepts(&text);
    let om = pinned(&rendered.openmetrics);
    check_golden("every_family.openmetrics", &om);
    assert!(om.ends_with("# EOF\n"));
    let samples = openmetrics_parser_accepts(&om);
    let series = om.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(samples, series);
}

/// Every `"aws_iam_..."` string literal of `src/` (family names are written
/// whole, once each, as table entries, constants or registry names).
fn family_names_in_source() -> std::collections::BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("src"), &mut files);
    let mut names = std::collections::BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for (at, _) in source.match_indices("\"aws_iam_") {
            let name: String = source[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if source[at + 1 + name.len()..].starts_with('"') {
                names.insert(name);
            }
        }
    }
    names
}

/// Families of an OpenMetrics exposition, from its TYPE lines (counters
/// without `_total`, as the source names them).
fn families_of(openmetrics: &str) -> std::collections::BTreeSet<String> {
    openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_golden_exposition_holds_every_family_named_in_the_source() {
    let source = family_names_in_source();
    let golden =
        |name: &str| std::fs::read_to_string(repo().join("tests/golden").join(name)).unwrap();
    let (text, om) = (
        golden("every_family.prom"),
        golden("every_family.openmetrics"),
    );
    let served = families_of(&om);
    let missing: Vec<_> = source.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "families named in src/ but not in tests/golden/every_family.openmetrics \
         (give the fixture data for them, then UPDATE_GOLDEN=1): {missing:?}"
    );
    // The other way round: a family the golden serves that the scan did not
    // find means the scan no longer sees how names are written.
    let unseen: Vec<_> = served.difference(&source).collect();
    assert!(
        unseen.is_empty(),
        "families served but not found in src/: {unseen:?}"
    );
    // Each family has samples in both formats, not just its HELP and TYPE.
    for name in &source {
        for (format, exposition) in [("text", &text), ("OpenMetrics", &om)] {
            let sampled = exposition.lines().any(|l| {
                [name.clone(), format!("{name}_total")].iter().any(|n| {
                    l.strip_prefix(n.as_str())
                        .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                })
            });
            assert!(sampled, "{name} has no sample in the {format} golden file");
        }
    }
}

/// The 2015 report format has no last-use columns: a key's last use is
/// unknown, so it is neither "never used" nor idle since its creation, and
/// its user's idle time is unknown; its age is still known, and a user
/// without keys keeps its idle time from its password.
#[test]
fn a_report_without_last_use_columns_claims_no_use_and_no_idle_time() {
    let text = render(
        snapshot_of("tests/fixtures/format-2015/credential-report.csv"),
        Format::Text,
    );
    let deploy = r#"{account_id="123456789012",user="deploy",slot="1",access_key_id=""}"#;
    assert!(
        text.contains(&format!("aws_iam_access_key_age_seconds{deploy} ")),
        "{text}"
    );
    for family in [
        "aws_iam_access_key_never_used",
        "aws_iam_access_key_idle_seconds",
        "aws_iam_access_key_since_last_used_seconds",
        "aws_iam_access_key_last_used_timestamp_seconds",
    ] {
        assert!(
            !text.contains(&format!("{family}{deploy}")),
            "{family}\n{text}"
        );
    }
    assert!(
        !text.contains(r#"aws_iam_user_idle_seconds{account_id="123456789012",user="deploy"}"#),
        "{text}"
    );
    // 2015-03-02T08:30:00Z, alice's last sign-in; she has no key.
    assert!(
        text.contains(&format!(
            "aws_iam_user_idle_seconds{{account_id=\"123456789012\",user=\"alice\"}} {}\n",
            NOW - 1_425_285_000
        )),
        "{text}"
    );
    promtool_accepts(&text);
}
