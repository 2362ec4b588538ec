//! The real binary on loopback: HTTP endpoints, readiness, content
//! negotiation, graceful shutdown and flag errors.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::exporter::{BIN, Exporter, example_report, python, run_tool, value};
use common::http::{get, get_with, request};

fn example() -> Exporter {
    let report = example_report();
    let exporter = Exporter::start(&["--credential-report.file", report.to_str().unwrap()], &[]);
    exporter.wait_ready(Duration::from_secs(10));
    exporter
}

#[test]
fn serves_example_metrics_that_promtool_accepts() {
    let exporter = example();
    let resp = get(exporter.addr, "/metrics");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let account = r#"{account_id="123456789012"}"#;
    assert_eq!(
        value(
            &resp.body,
            &format!("aws_iam_exporter_account_refresh_success{account}")
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &resp.body,
            &format!("aws_iam_exporter_report_rows_skipped{account}")
        ),
        Some(0.0)
    );
    assert_eq!(resp.body.matches("aws_iam_user_info{").count(), 22);
    assert_eq!(resp.body.matches("aws_iam_access_key_active{").count(), 18);
    run_tool(Path::new("promtool"), &["check", "metrics"], &resp.body);
}

#[test]
fn openmetrics_is_served_when_asked_for_and_parses() {
    let exporter = example();
    let resp = get_with(
        exporter.addr,
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(resp.body.ends_with("# EOF\n"));
    let script = "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\nprint(sum(len(f.samples) for f in p(sys.stdin.read())))";
    let samples: usize = run_tool(&python(), &["-c", script], &resp.body)
        .trim()
        .parse()
        .unwrap();
    let lines = resp.body.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(samples, lines, "every sample line is understood");
}

#[test]
fn landing_health_and_unknown_paths() {
    let exporter = example();
    let landing = get(exporter.addr, "/");
    assert_eq!(landing.status, 200);
    assert!(landing.body.contains("IAM Credentials Exporter"));
    assert!(landing.body.contains("href=\"/metrics\""));
    assert_eq!(get(exporter.addr, "/-/healthy").status, 200);
    assert_eq!(get(exporter.addr, "/-/ready").status, 200);
    assert_eq!(get(exporter.addr, "/nope").status, 404);
    assert_eq!(get(exporter.addr, "/metrics/extra").status, 404);
    let post = request(
        exporter.addr,
        "POST",
        "/metrics",
        &[("Content-Length", "0")],
    );
    assert_eq!(post.status, 405);
}

#[test]
fn custom_telemetry_path_moves_metrics() {
    let report = example_report();
    let exporter = Exporter::start(
        &["--credential-report.file", report.to_str().unwrap()],
        &[("IAM_EXPORTER_WEB_TELEMETRY_PATH", "/iam")],
    );
    exporter.wait_ready(Duration::from_secs(10));
    assert_eq!(get(exporter.addr, "/metrics").status, 404);
    assert!(
        get(exporter.addr, "/iam")
            .body
            .contains("aws_iam_user_info")
    );
    assert!(get(exporter.addr, "/").body.contains("href=\"/iam\""));
}

#[test]
fn not_ready_until_first_successful_refresh_and_recovers_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.csv");
    let exporter = Exporter::start(
        &[
            "--credential-report.file",
            path.to_str().unwrap(),
            "--refresh.interval",
            "1s",
        ],
        &[],
    );
    exporter.wait_log("account refresh failed", Duration::from_secs(10));
    let ready = get(exporter.addr, "/-/ready");
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        value(
            &exporter.metrics(),
            r#"aws_iam_exporter_account_refresh_success{account_id=""}"#
        ) == Some(0.0)
    );

    std::fs::copy(example_report(), &path).unwrap();
    exporter.wait_ready(Duration::from_secs(10));
    let metrics = exporter.metrics();
    assert_eq!(
        value(
            &metrics,
            r#"aws_iam_exporter_account_refresh_success{account_id="123456789012"}"#
        ),
        Some(1.0)
    );

    // A report that cannot be parsed keeps the last good data.
    std::fs::write(&path, "<ErrorResponse>not a report</ErrorResponse>\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = exporter.metrics();
        if value(
            &metrics,
            r#"aws_iam_exporter_account_refresh_success{account_id="123456789012"}"#,
        ) == Some(0.0)
        {
            assert_eq!(
                metrics.matches("aws_iam_user_info{").count(),
                22,
                "data kept"
            );
            break;
        }
        assert!(Instant::now() < deadline, "failure never reported");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(exporter.addr, "/-/ready").status, 200);
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let exporter = example();
    let logs_before = exporter.logs().len();
    let started = Instant::now();
    let status = exporter.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let _ = logs_before;
}

/// Each bad flag value exits with code 2 and one line naming the problem.
#[test]
fn bad_flags_exit_2_with_a_one_line_reason() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--refresh.interval", "5x"],
            "iam-credentials-exporter: error: invalid value '5x' for '--refresh.interval <DURATION>': unknown unit \"x\" in \"5x\" (use ms, s, m, h or d)",
        ),
        (
            &["--refresh.interval", "0s"],
            "iam-credentials-exporter: error: invalid --refresh.interval: must be at least 1s",
        ),
        (
            &["--web.listen-address", "nowhere"],
            "iam-credentials-exporter: error: invalid --web.listen-address \"nowhere\": expected HOST:PORT, [IPv6]:PORT or :PORT",
        ),
        (
            &["--web.telemetry-path", "metrics"],
            "iam-credentials-exporter: error: invalid --web.telemetry-path \"metrics\": must start with '/' and must not be '/' or under '/-/'",
        ),
        (
            &["--log.level", "loud"],
            "iam-credentials-exporter: error: invalid value 'loud' for '--log.level <LEVEL>'",
        ),
        (
            &["--log.format", "xml"],
            "iam-credentials-exporter: error: invalid value 'xml' for '--log.format <FORMAT>'",
        ),
        (
            &["--aws.max-attempts", "0"],
            "iam-credentials-exporter: error: invalid value '0' for '--aws.max-attempts <N>': 0 is not in 1..=20",
        ),
        (
            &["--shard.count", "3"],
            "iam-credentials-exporter: error: --shard.count 3 needs --shard.index (this replica's shard, from 0)",
        ),
        (
            &["--shard.count", "3", "--shard.index", "3"],
            "iam-credentials-exporter: error: invalid --shard.index 3: must be less than --shard.count 3",
        ),
        (
            &["--no-such-flag"],
            "iam-credentials-exporter: error: unexpected argument '--no-such-flag' found",
        ),
    ];
    for (args, message) in cases {
        let out = Command::new(BIN).args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end(), *message, "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--web.listen-address",
        "--web.telemetry-path",
        "--credential-report.file",
        "--refresh.interval",
        "--log.level",
        "--log.format",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let flags = help.matches("\n  -").count() + help.matches("\n      --").count();
    let envs = help.matches("IAM_EXPORTER_").count();
    // A --no-collector.NAME flag is the same setting as --collector.NAME,
    // whose environment variable takes true or false.
    let negations = help.matches("\n      --no-collector.").count();
    assert!(negations > 0, "{help}");
    // Every other flag but --help and --version has an environment mirror.
    assert_eq!(envs + 2 + negations, flags, "{help}");
}

#[test]
fn a_report_file_over_the_size_limit_fails_the_refresh_before_it_is_read() {
    let exporter = Exporter::start(
        &[
            "--credential-report.file",
            example_report().to_str().unwrap(),
            "--credential-report.max-bytes",
            "1KiB",
        ],
        &[],
    );
    exporter.wait_log("account refresh failed", Duration::from_secs(10));
    let failure = exporter
        .logs()
        .into_iter()
        .find(|l| l.contains("account refresh failed"))
        .unwrap();
    assert!(
        failure.contains("more than the limit of 1024 (--credential-report.max-bytes)"),
        "{failure}"
    );
    assert_eq!(get(exporter.addr, "/-/ready").status, 503);
}
