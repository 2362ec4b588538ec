//! No input makes an account vanish: odd reports, a panicking source, and
//! scrapes racing refreshes. Each case checks what an operator relies on:
//! the account's health series stay, its last good data is served, and every
//! response is one coherent snapshot.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput;
use aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput;
use aws_sdk_iam::types::ReportStateType;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use iam_credentials_exporter::accounts::{Accounts, Target};
use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::exposition::Format;
use iam_credentials_exporter::http::{self, App, HEADER_READ_TIMEOUT};
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::model::{AccountData, User};
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::report::fetch::PollPolicy;
use iam_credentials_exporter::snapshot::{AccountState, Progress, Snapshot, Store};
use iam_credentials_exporter::source::{Source, SourceKinds};

const ACCOUNT: &str = "111122223333";
const NOW: i64 = 1_800_000_000;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A well-formed row of user `name`; `field` (a column name) is replaced by `value`.
fn row(name: &str, field: Option<(&str, &str)>) -> String {
    let mut values: BTreeMap<&str, String> = BTreeMap::from([
        ("user", name.to_owned()),
        ("arn", format!("arn:aws:iam::{ACCOUNT}:user/{name}")),
        ("user_creation_time", "2024-01-02T03:04:05+00:00".into()),
        ("password_enabled", "true".into()),
        ("password_last_used", "2025-03-14T09:21:07+00:00".into()),
        ("password_last_changed", "2024-06-01T00:00:00+00:00".into()),
        ("password_next_rotation", "N/A".into()),
        ("mfa_active", "false".into()),
        ("access_key_1_active", "true".into()),
        (
            "access_key_1_last_rotated",
            "2024-01-03T00:00:00+00:00".into(),
        ),
        (
            "access_key_1_last_used_date",
            "2025-03-14T09:21:07+00:00".into(),
        ),
        ("access_key_1_last_used_region", "eu-west-1".into()),
        ("access_key_1_last_used_service", "s3".into()),
        ("access_key_2_active", "false".into()),
        ("access_key_2_last_rotated", "N/A".into()),
        ("access_key_2_last_used_date", "N/A".into()),
        ("access_key_2_last_used_region", "N/A".into()),
        ("access_key_2_last_used_service", "N/A".into()),
        ("cert_1_active", "false".into()),
        ("cert_1_last_rotated", "N/A".into()),
        ("cert_2_active", "false".into()),
        ("cert_2_last_rotated", "N/A".into()),
    ]);
    if let Some((column, value)) = field {
        *values.get_mut(column).expect("known column") = value.to_owned();
    }
    HEADER
        .split(',')
        .map(|c| csv_field(&values[c]))
        .collect::<Vec<_>>()
        .join(",")
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

fn report(rows: &[String]) -> String {
    format!("{HEADER}\n{}", rows.join("\n"))
}

/// One odd value in one field, as a broken upstream or an attacker would
/// send it. Every case leaves the good rows in place.
fn odd_fields() -> Vec<(&'static str, String)> {
    let dates = [
        "user_creation_time",
        "password_last_used",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
        "cert_1_last_rotated",
    ];
    let odd_dates = [
        "2025-03-14T09:21:0é+00:00",
        "2025-03-14T09:21:07é",
        "é",
        "２０２５-03-14T09:21:07+00:00",
        "2025-02-30T00:00:00+00:00",
        "2025-03-14T25:00:00+00:00",
        "9999999999-01-01T00:00:00Z",
        "2025-03-14T09:21:07+99:99",
        "2025-03-14\u{0}09:21:07Z",
        "\u{feff}2025-03-14T09:21:07Z",
        "2025-03-14T09:21:07.\u{663}Z",
    ];
    let mut cases = Vec::new();
    for column in dates {
        for value in odd_dates {
            cases.push((column, value.to_owned()));
        }
    }
    for column in [
        "password_enabled",
        "mfa_active",
        "access_key_1_active",
        "cert_2_active",
    ] {
        for value in ["yes", "TRUE\u{0}", "ｔｒｕｅ", "tru\u{e9}", "\"", "1"] {
            cases.push((column, value.to_owned()));
        }
    }
    for column in ["user", "arn", "access_key_1_last_used_region"] {
        for value in [
            "\u{0}".to_owned(),
            "line\nbreak".to_owned(),
            "quote\"inside".to_owned(),
            "x".repeat(70_000),
            "\u{202e}evil\u{202d}".to_owned(),
        ] {
            cases.push((column, value));
        }
    }
    cases
}

fn write_report(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn file_target(path: &Path) -> Arc<Target> {
    Arc::new(Target::new(
        path.display().to_string(),
        Source::File {
            path: path.to_owned(),
            max_bytes: 64 << 20,
        },
    ))
}

fn refresher(targets: Vec<Arc<Target>>, store: &Arc<Store>) -> Refresher {
    Refresher::new(
        Accounts::Static(targets),
        Arc::clone(store),
        ApiMetrics::default(),
        Arc::new(|| NOW),
    )
    .with_timeout(Duration::from_secs(30))
    .with_parallelism(4)
}

fn exposition(store: &Arc<Store>) -> Exposition {
    Exposition::new(
        Arc::clone(store),
        Arc::new(|| NOW),
        Duration::from_secs(300),
        &ApiMetrics::default(),
    )
}

fn series<'a>(text: &'a str, family: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with('{'))
        .collect()
}

/// A report with one odd field anywhere is one skipped row: the other users,
/// the account and its health series stay, nothing panics.
#[tokio::test]
async fn an_odd_field_skips_its_row_and_keeps_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let cases = odd_fields();
    assert!(cases.len() > 60, "{} cases", cases.len());
    for (i, (column, value)) in cases.iter().enumerate() {
        let content = report(&[
            row("good-before", None),
            row("odd", Some((column, value))),
            row("good-after", None),
        ]);
        let path = write_report(dir.path(), &format!("case-{i}.csv"), content.as_bytes());
        let store = Arc::new(Store::default());
        refresher(vec![file_target(&path)], &store)
            .refresh_once()
            .await;
        let snapshot = store.load();
        let case = format!("{column} = {value:?}");
        let account = &snapshot.accounts[0];
        assert!(account.success, "{case}: refresh failed");
        let data = account.data.as_ref().expect("data");
        let names: Vec<&str> = data.users.iter().map(|u| u.name.as_str()).collect();
        assert!(
            names.contains(&"good-before") && names.contains(&"good-after"),
            "{case}: {names:?}"
        );
        // Either the odd value is harmless text (a name, a region) and the
        // row is kept, or the row is skipped and counted.
        assert_eq!(
            data.rows_skipped as usize + names.len(),
            3,
            "{case}: {names:?}"
        );
        let text = exposition(&store).render(&snapshot, Format::Text).unwrap();
        assert_eq!(
            series(&text, "aws_iam_exporter_account_refresh_success"),
            [format!(
                "aws_iam_exporter_account_refresh_success{{account_id=\"{ACCOUNT}\"}} 1"
            )],
            "{case}"
        );
    }
}

/// Bytes that are not a report at all fail the refresh of that account only;
/// the account keeps its last good data and its health series say so.
#[tokio::test]
async fn garbage_fails_the_refresh_and_keeps_the_last_good_data() {
    let dir = tempfile::tempdir().unwrap();
    let good = report(&[row("alice", None)]);
    let path = write_report(dir.path(), "report.csv", good.as_bytes());
    let other = write_report(dir.path(), "other.csv", good.as_bytes());
    let store = Arc::new(Store::default());
    let refresher = refresher(vec![file_target(&path), file_target(&other)], &store);
    refresher.refresh_once().await;
    assert!(store.load().accounts.iter().all(|a| a.success));

    let garbage: [&[u8]; 6] = [
        b"",
        b"\xff\xfe\x00\x00",
        b"user,arn\n\"unterminated",
        b"\xef\xbb\xbf",
        &[0u8; 4096],
        "user,arn,user_creation_time\né,é,é\n".as_bytes(),
    ];
    for (i, bytes) in garbage.iter().enumerate() {
        std::fs::write(&path, bytes).unwrap();
        refresher.refresh_once().await;
        let snapshot = store.load();
        let account = snapshot.account(&path.display().to_string()).unwrap();
        assert!(!account.success, "garbage {i} accepted");
        assert_eq!(account.failures, i as u64 + 1);
        assert_eq!(account.account_id, ACCOUNT, "garbage {i}");
        assert_eq!(account.last_success, Some(NOW));
        let users = &account.data.as_ref().expect("last good data").users;
        assert_eq!(users[0].name, "alice");
        assert!(
            snapshot
                .account(&other.display().to_string())
                .unwrap()
                .success
        );
        let text = exposition(&store).render(&snapshot, Format::Text).unwrap();
        assert!(
            text.contains(&format!(
                "aws_iam_exporter_account_refresh_success{{account_id=\"{ACCOUNT}\"}} 0"
            )),
            "garbage {i}"
        );
        assert!(text.contains(&format!(
            "aws_iam_exporter_account_refresh_failures_total{{account_id=\"{ACCOUNT}\"}} {}",
            i + 1
        )));
    }
}

fn complete() -> GenerateCredentialReportOutput {
    GenerateCredentialReportOutput::builder()
        .state(ReportStateType::Complete)
        .build()
}

fn aws_target(account: &str, client: aws_sdk_iam::Client) -> Arc<Target> {
    Arc::new(
        Target::new(
            account.to_owned(),
            Source::Aws {
                client,
                kinds: SourceKinds::REPORT,
                poll: PollPolicy::default(),
                concurrency: 1,
            },
        )
        .with_account_id(account.to_owned())
        .with_collectors(iam_credentials_exporter::collectors::Collectors::NONE),
    )
}

/// A bug that panics inside one account's refresh (here inside the SDK call)
/// is that account's failed refresh: its health series stay, the other
/// accounts are refreshed, readiness follows the data, and the next refresh
/// runs.
#[tokio::test]
async fn a_panic_in_one_account_is_that_accounts_failed_refresh() {
    let generate = mock!(aws_sdk_iam::Client::generate_credential_report)
        .sequence()
        .output(complete)
        .repeatedly()
        .build();
    let panicking = mock!(aws_sdk_iam::Client::get_credential_report)
        .sequence()
        .output(|| panic!("injected bug"))
        .repeatedly()
        .build();
    let broken = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &panicking]);

    let good_report = report(&[row("alice", None)]).replace(ACCOUNT, "444455556666");
    let ok_generate = mock!(aws_sdk_iam::Client::generate_credential_report)
        .sequence()
        .output(complete)
        .repeatedly()
        .build();
    let ok_get = mock!(aws_sdk_iam::Client::get_credential_report)
        .sequence()
        .output(move || {
            GetCredentialReportOutput::builder()
                .content(aws_sdk_iam::primitives::Blob::new(good_report.clone()))
                .generated_time(aws_sdk_iam::primitives::DateTime::from_secs(NOW - 60))
                .build()
        })
        .repeatedly()
        .build();
    let good = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&ok_generate, &ok_get]);

    let store = Arc::new(Store::default());
    let refresher = refresher(
        vec![
            aws_target(ACCOUNT, broken),
            aws_target("444455556666", good),
        ],
        &store,
    );
    for round in 1..=2u64 {
        refresher.refresh_once().await;
        let snapshot = store.load();
        let states: Vec<(&str, bool, u64, Progress)> = snapshot
            .accounts
            .iter()
            .map(|a| (a.account_id.as_str(), a.success, a.failures, a.progress))
            .collect();
        assert_eq!(
            states,
            [
                (ACCOUNT, false, round, Progress::Failed),
                ("444455556666", true, 0, Progress::Done)
            ]
        );
        let text = exposition(&store).render(&snapshot, Format::Text).unwrap();
        assert!(text.contains(&format!(
            "aws_iam_exporter_account_refresh_success{{account_id=\"{ACCOUNT}\"}} 0"
        )));
        assert!(text.contains("aws_iam_exporter_accounts{state=\"failed\"} 1"));
    }
    assert!(store.is_ready(), "the good account's data is served");
}

/// With only the panicking account, nothing is served, so the exporter is
/// not ready, whatever the refresh loop did.
#[tokio::test]
async fn readiness_never_claims_data_that_is_not_served() {
    let generate = mock!(aws_sdk_iam::Client::generate_credential_report)
        .sequence()
        .output(|| panic!("injected bug"))
        .repeatedly()
        .build();
    let broken = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate]);
    let store = Arc::new(Store::default());
    refresher(vec![aws_target(ACCOUNT, broken)], &store)
        .refresh_once()
        .await;
    assert!(!store.is_ready());
    assert_eq!(store.load().accounts.len(), 1);
}

/// Snapshot number `n`: every per-account, per-user and per-key value that
/// can carry `n` carries it, so a response that mixes two snapshots shows two
/// numbers.
fn numbered_snapshot(n: i64) -> Snapshot {
    let accounts = (0..3).map(|a| {
        let id = format!("10000000000{a}");
        AccountState {
            key: id.clone(),
            account_id: id.clone(),
            data: Some(Arc::new(AccountData {
                account_id: id,
                report_generated: Some(n),
                users: (0..50)
                    .map(|u| User {
                        name: format!("user-{u}"),
                        created: Some(n),
                        ..User::default()
                    })
                    .collect(),
                ..AccountData::default()
            })),
            success: true,
            last_success: Some(n),
            attempts: 1,
            progress: Progress::Done,
            ..AccountState::default()
        }
    });
    Snapshot::new(accounts)
}

/// Scrapes over HTTP while snapshots are published as fast as possible:
/// every response shows exactly one snapshot number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scrape_renders_one_coherent_snapshot() {
    let store = Arc::new(Store::default());
    store.publish(numbered_snapshot(1_000_000));
    let app = Arc::new(App {
        max_connections: 8,
        header_read_timeout: HEADER_READ_TIMEOUT,
        ..App::new(exposition(&store), Arc::clone(&store))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, app, async {
        let _ = stopped.await;
    }));

    let done = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut n = 1_000_000;
            while !done.load(Ordering::Relaxed) {
                n += 1;
                store.publish(numbered_snapshot(n));
            }
            n - 1_000_000
        })
    };
    let scrapes = tokio::task::spawn_blocking(move || {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let body = common::http::get(addr, "/metrics").body;
            let numbers: std::collections::BTreeSet<&str> = [
                "aws_iam_exporter_account_last_refresh_success_timestamp_seconds",
                "aws_iam_credential_report_generated_timestamp_seconds",
                "aws_iam_user_created_timestamp_seconds",
            ]
            .iter()
            .flat_map(|family| series(&body, family))
            .map(|line| line.rsplit(' ').next().unwrap())
            .collect();
            assert_eq!(numbers.len(), 1, "a response mixes snapshots: {numbers:?}");
            seen.extend(numbers.into_iter().map(str::to_owned));
        }
        seen.len()
    })
    .await
    .unwrap();
    done.store(true, Ordering::Relaxed);
    let published = publisher.join().unwrap();
    assert!(published > 200, "only {published} snapshots published");
    assert!(scrapes > 10, "scrapes saw only {scrapes} snapshots");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// `--web.max-scrapes-in-flight`: with one turn, a scrape waits for the one
/// being sent; a client that stops reading keeps its turn only for the
/// response's time limit, after which the next scrape is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_holds_the_scrape_turn_only_for_its_time_limit() {
    use std::io::{Read, Write};

    let store = Arc::new(Store::default());
    // About 30 MB of text: more than the kernel buffers a stalled reader
    // leaves the server.
    let accounts = (0..3).map(|a| {
        let id = format!("20000000000{a}");
        AccountState {
            key: id.clone(),
            account_id: id.clone(),
            data: Some(Arc::new(AccountData {
                account_id: id,
                users: (0..15_000)
                    .map(|u| User {
                        name: format!("a-user-with-a-long-name-{u:08}"),
                        arn: format!("arn:aws:iam::20000000000{a}:user/path/a-user-{u:08}"),
                        created: Some(NOW - 86_400),
                        password_enabled: Some(true),
                        mfa_active: Some(false),
                        ..User::default()
                    })
                    .collect(),
                ..AccountData::default()
            })),
            success: true,
            attempts: 1,
            progress: Progress::Done,
            ..AccountState::default()
        }
    });
    store.publish(Snapshot::new(accounts));
    let turn = Duration::from_secs(2);
    let app = Arc::new(App {
        scrapes: http::scrape_turns(1),
        scrape_turn: turn,
        ..App::new(exposition(&store), Arc::clone(&store))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, app, async {
        let _ = stopped.await;
    }));

    let timings = tokio::task::spawn_blocking(move || {
        // A scrape whose client reads its first bytes, then nothing more.
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 1024];
        let began = std::time::Instant::now();
        let _ = slow.read(&mut first).unwrap();
        let body = common::http::get(addr, "/metrics").body;
        let waited = began.elapsed();
        drop(slow);
        (waited, body.len())
    })
    .await
    .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    let (waited, len) = timings;
    assert!(len > 20_000_000, "the response is {len} bytes");
    assert!(
        waited >= turn - Duration::from_millis(200),
        "served after {waited:?}, before the slow reader's turn ended"
    );
    assert!(waited < Duration::from_secs(60), "served after {waited:?}");
}
