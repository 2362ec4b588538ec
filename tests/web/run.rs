//! The whole exporter in-process: `run(config, listener, shutdown)` with the
//! configuration `main` would build from flags, on a listener bound to
//! `127.0.0.1:0`, stopped by the test.

use crate::common;

use std::time::{Duration, Instant};

use clap::Parser as _;
use iam_credentials_exporter::cli::{Args, Config};

fn config(flags: &[&str]) -> Config {
    let args = Args::try_parse_from(
        std::iter::once("iam-credentials-exporter").chain(flags.iter().copied()),
    )
    .expect("flags parse");
    Config::try_from(args).expect("valid configuration")
}

/// Starts the exporter with `flags`, waits until it is ready, returns the
/// `/metrics` response and stops it; the exporter must stop on its own.
async fn metrics_of(flags: &[&str]) -> common::http::Response {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let exporter = tokio::spawn(iam_credentials_exporter::run(
        config(flags),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = tokio::task::spawn_blocking(move || common::http::get(addr, "/-/ready"))
            .await
            .unwrap();
        if ready.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready: {}", ready.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = tokio::task::spawn_blocking(move || common::http::get(addr, "/metrics"))
        .await
        .unwrap();
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), exporter)
        .await
        .expect("the exporter stops when asked")
        .unwrap()
        .expect("the exporter ends without error");
    resp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_process_and_stops_when_asked() {
    let report = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/credential-report.csv"
    );
    let resp = metrics_of(&[
        "--credential-report.file",
        report,
        "--refresh.interval",
        "1h",
    ])
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-length"),
        Some(resp.body.len().to_string().as_str())
    );
    assert!(resp.body.contains("\naws_iam_user_info{"), "{}", resp.body);
    assert!(resp.body.contains("\naws_iam_access_key_age_seconds{"));
    assert!(resp.body.contains("\naws_iam_user_idle_seconds{"));

    let without = metrics_of(&[
        "--credential-report.file",
        report,
        "--refresh.interval",
        "1h",
        "--metrics.ages=false",
    ])
    .await;
    assert_eq!(without.status, 200);
    assert!(
        without
            .body
            .contains("\naws_iam_access_key_created_timestamp_seconds{")
    );
    for family in [
        "aws_iam_access_key_age_seconds",
        "aws_iam_access_key_since_last_used_seconds",
        "aws_iam_access_key_idle_seconds",
        "aws_iam_user_idle_seconds",
    ] {
        assert!(!without.body.contains(family), "{family} left out");
    }
}
