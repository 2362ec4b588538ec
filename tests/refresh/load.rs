//! Load: 64 concurrent scrapers for 30 s (wrk) against a snapshot of 5,000
//! users and 10,000 keys (the IAM per-account user quota), with a refresh
//! every second underneath. No request may fail, and the exporter's memory
//! must not grow over the run. Latency figures are printed, not asserted
//! tightly: this runs on small shared machines with a debug build.

use crate::common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::exporter::{Exporter, status_kib};
use common::synthetic::{Spec, credential_report};
use iam_credentials_exporter::report::parse_report;

const USERS: usize = 5_000;
const KEYS_PER_USER: u8 = 2;

#[test]
fn sixty_four_scrapers_for_thirty_seconds_with_refreshes_running() {
    let _guard = common::exclusive();
    let spec = Spec::new(USERS, KEYS_PER_USER);
    let report = credential_report(&spec);
    let parsed = parse_report(report.as_bytes()).expect("synthetic report parses");
    assert_eq!(parsed.data.users.len(), USERS);
    let keys: usize = parsed.data.users.iter().map(|u| u.keys.len()).sum();
    assert_eq!(keys, spec.keys());
    assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped.first());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credential-report.csv");
    std::fs::write(&path, &report).unwrap();
    let exporter = Exporter::start(
        &[
            "--credential-report.file",
            path.to_str().unwrap(),
            "--refresh.interval",
            "1s",
        ],
        &[],
    );
    exporter.wait_ready(Duration::from_secs(30));
    let pid = exporter.pid();
    let body = exporter.metrics();
    assert_eq!(body.matches("aws_iam_access_key_active{").count(), 10_000);
    assert_eq!(body.matches("aws_iam_user_info{").count(), USERS);
    eprintln!("one text response: {} bytes", body.len());
    for _ in 0..3 {
        exporter.metrics();
    }
    let refreshes_before = refreshes(&exporter);

    // RSS every 500 ms while wrk runs.
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let running = Arc::clone(&running);
        thread::spawn(move || {
            let mut samples = Vec::new();
            while running.load(Ordering::Relaxed) {
                samples.push((Instant::now(), status_kib(pid, "VmRSS")));
                thread::sleep(Duration::from_millis(500));
            }
            samples
        })
    };
    let started = Instant::now();
    let url = format!("http://{}/metrics", exporter.addr);
    let out = Command::new("wrk")
        .args([
            "-t2",
            "-c64",
            "-d30s",
            "--timeout",
            "20s",
            "--latency",
            &url,
        ])
        .output()
        .expect("run wrk (Debian package wrk; see scripts/install-test-deps.sh)");
    running.store(false, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "wrk failed: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let requests = wrk_requests(&report);
    let p50 = wrk_percentile(&report, "50%");
    let p99 = wrk_percentile(&report, "99%");
    let refreshes = refreshes(&exporter) - refreshes_before;
    // Warm-up: until the first wave of 64 responses is out, every
    // connection holds a response under construction and RSS climbs to its
    // plateau. A debug build needs about 10 s for that wave.
    let warm_up = Duration::from_secs(15);
    let series: Vec<String> = samples
        .iter()
        .step_by(4)
        .map(|(t, kib)| {
            format!(
                "{:.0}s:{}",
                t.duration_since(started).as_secs_f64(),
                kib >> 10
            )
        })
        .collect();
    eprintln!("RSS (MiB) over the run: {}", series.join(" "));
    let first = samples
        .iter()
        .filter(|(t, _)| t.duration_since(started) <= warm_up)
        .map(|(_, kib)| *kib)
        .max()
        .unwrap();
    let last = samples.last().unwrap().1;
    let max = samples.iter().map(|(_, kib)| *kib).max().unwrap();
    eprintln!(
        "load: {requests} requests, p50 {p50:?}, p99 {p99:?}, {refreshes} refreshes; \
         RSS after warm-up {} MiB, last {} MiB, max {} MiB",
        first >> 10,
        last >> 10,
        max >> 10
    );

    assert!(
        !report.contains("Non-2xx"),
        "responses other than 2xx: {report}"
    );
    assert!(!report.contains("Socket errors"), "socket errors: {report}");
    // A debug build encodes a 12 MB response in about a second of CPU; on two
    // cores, 64 connections share that. Release figures: BENCHMARKS.md.
    assert!(requests >= 16, "too few requests completed: {requests}");
    assert!(refreshes >= 5, "refreshes ran under load: {refreshes}");
    assert!(p50 <= p99);
    assert!(
        last * 2 <= first * 3,
        "RSS grew from {first} KiB to {last} KiB over the run"
    );
    // Still serving the whole snapshot after the run.
    let after = exporter.metrics();
    assert_eq!(after.matches("aws_iam_access_key_active{").count(), 10_000);
}

/// Completed refreshes so far, from the logs.
fn refreshes(exporter: &Exporter) -> usize {
    exporter
        .logs()
        .iter()
        .filter(|l| l.contains("refresh finished"))
        .count()
}

/// `N requests in 30.00s, 1.23GB read`
fn wrk_requests(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim().split_once(" requests in ")?.0.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {report}"))
}

/// A line of wrk's latency distribution (`99%  12.34ms`).
fn wrk_percentile(report: &str, which: &str) -> Duration {
    let text = report
        .lines()
        .find_map(|l| l.trim().strip_prefix(which))
        .unwrap_or_else(|| panic!("no {which} latency in {report}"))
        .trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap();
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        other => panic!("unknown unit {other:?} in {text:?}"),
    };
    Duration::from_secs_f64(seconds)
}
