//! The credential report state machine against the SDK's own mock client:
//! states and errors that moto cannot produce on demand.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput;
use aws_sdk_iam::operation::get_credential_report::{
    GetCredentialReportError, GetCredentialReportOutput,
};
use aws_sdk_iam::primitives::{Blob, DateTime};
use aws_sdk_iam::types::error::{
    CredentialReportExpiredException, CredentialReportNotPresentException,
    CredentialReportNotReadyException,
};
use aws_sdk_iam::types::{ReportFormatType, ReportStateType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use iam_credentials_exporter::accounts::Accounts;
use iam_credentials_exporter::accounts::Target;
use iam_credentials_exporter::aws::{ApiMetrics, CallError};
use iam_credentials_exporter::permit::Permit;
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::report::fetch::PollPolicy;
use iam_credentials_exporter::report::{ReportError, fetch_report};
use iam_credentials_exporter::snapshot::{Progress, Store};
use iam_credentials_exporter::source::{Source, SourceKinds};

const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
alice,arn:aws:iam::111122223333:user/alice,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";
const GENERATED: i64 = 1_764_000_000;

fn state(s: ReportStateType) -> GenerateCredentialReportOutput {
    GenerateCredentialReportOutput::builder().state(s).build()
}

fn report() -> GetCredentialReportOutput {
    GetCredentialReportOutput::builder()
        .content(Blob::new(REPORT))
        .report_format(ReportFormatType::TextCsv)
        .generated_time(DateTime::from_secs(GENERATED))
        .build()
}

fn aws_error_body(code: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} for test</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
}

fn policy() -> PollPolicy {
    PollPolicy {
        max_attempts: 6,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(4),
    }
}

#[tokio::test(start_paused = true)]
async fn polls_generate_until_complete_then_downloads() {
    let generate = mock!(Client::generate_credential_report)
        .sequence()
        .output(|| state(ReportStateType::Started))
        .output(|| state(ReportStateType::Inprogress))
        .output(|| state(ReportStateType::Complete))
        .build();
    let get = mock!(Client::get_credential_report).then_output(report);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);

    let started = tokio::time::Instant::now();
    let fetched = fetch_report(
        &client,
        &policy(),
        &ApiMetrics::default(),
        &Permit::unlimited(),
    )
    .await
    .expect("report");
    assert_eq!(fetched.content, REPORT.as_bytes());
    assert_eq!(fetched.generated, Some(GENERATED));
    assert_eq!(generate.num_calls(), 3);
    assert_eq!(get.num_calls(), 1);
    // Backoff of 1 s, then 2 s, between the three generate calls.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn steady_state_costs_two_calls() {
    let generate =
        mock!(Client::generate_credential_report).then_output(|| state(ReportStateType::Complete));
    let get = mock!(Client::get_credential_report).then_output(report);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    fetch_report(
        &client,
        &policy(),
        &ApiMetrics::default(),
        &Permit::unlimited(),
    )
    .await
    .expect("report");
    assert_eq!(generate.num_calls() + get.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn report_not_present_or_expired_is_generated_again() {
    let generate =
        mock!(Client::generate_credential_report).then_output(|| state(ReportStateType::Complete));
    let get = mock!(Client::get_credential_report)
        .sequence()
        .error(|| {
            GetCredentialReportError::CredentialReportNotPresentException(
                CredentialReportNotPresentException::builder()
                    .message("no report")
                    .build(),
            )
        })
        .error(|| {
            GetCredentialReportError::CredentialReportExpiredException(
                CredentialReportExpiredException::builder()
                    .message("expired")
                    .build(),
            )
        })
        .output(report)
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    let api = ApiMetrics::default();
    let fetched = fetch_report(&client, &policy(), &api, &Permit::unlimited())
        .await
        .expect("report");
    assert_eq!(fetched.generated, Some(GENERATED));
    assert_eq!(generate.num_calls(), 3);
    assert_eq!(get.num_calls(), 3);
    assert_eq!(
        counted_errors(&api),
        "",
        "normal polling states are not errors"
    );
}

/// The `aws_iam_exporter_api_errors_total` samples of `api`.
fn counted_errors(api: &ApiMetrics) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    api.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    text.lines()
        .filter(|l| l.starts_with("aws_iam_exporter_api_errors_total{"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn report_in_progress_on_download_waits_and_retries() {
    let generate =
        mock!(Client::generate_credential_report).then_output(|| state(ReportStateType::Complete));
    let get = mock!(Client::get_credential_report)
        .sequence()
        .error(|| {
            GetCredentialReportError::CredentialReportNotReadyException(
                CredentialReportNotReadyException::builder()
                    .message("not ready")
                    .build(),
            )
        })
        .output(report)
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    let api = ApiMetrics::default();
    fetch_report(&client, &policy(), &api, &Permit::unlimited())
        .await
        .expect("report");
    assert_eq!(get.num_calls(), 2);
    assert_eq!(
        counted_errors(&api),
        "",
        "a report in progress is not an error"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_backs_off_then_succeeds() {
    let generate = mock!(Client::generate_credential_report)
        .sequence()
        .http_response(throttled)
        .times(3)
        .output(|| state(ReportStateType::Complete))
        .build();
    let get = mock!(Client::get_credential_report).then_output(report);
    // SDK retries off: this pins the exporter's own backoff between attempts.
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get], |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(1)));
    let api = ApiMetrics::default();
    let started = tokio::time::Instant::now();
    fetch_report(&client, &policy(), &api, &Permit::unlimited())
        .await
        .expect("report");
    assert_eq!(generate.num_calls(), 4);
    // 1 + 2 + 4 seconds of backoff: no busy loop.
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    let errors = api
        .errors
        .get_or_create(&[
            ("operation", "GenerateCredentialReport".to_owned()),
            ("code", "Throttling".to_owned()),
        ])
        .get();
    assert_eq!(errors, 3);
}

#[tokio::test(start_paused = true)]
async fn endless_throttling_gives_up_after_bounded_attempts() {
    let generate = mock!(Client::generate_credential_report)
        .sequence()
        .http_response(throttled)
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate], |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(2)));
    let started = tokio::time::Instant::now();
    let err = fetch_report(
        &client,
        &policy(),
        &ApiMetrics::default(),
        &Permit::unlimited(),
    )
    .await
    .expect_err("must give up");
    assert!(
        matches!(err, ReportError::NotReady { attempts: 6 }),
        "{err}"
    );
    // Calls are bounded by SDK attempts times exporter attempts.
    assert_eq!(generate.num_calls(), 2 * 6);
    assert!(started.elapsed() >= Duration::from_secs(1 + 2 + 4 + 4 + 4));
}

#[tokio::test(start_paused = true)]
async fn access_denied_names_the_missing_permission() {
    let generate = mock!(Client::generate_credential_report)
        .sequence()
        .http_response(denied)
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate]);
    let err = fetch_report(
        &client,
        &policy(),
        &ApiMetrics::default(),
        &Permit::unlimited(),
    )
    .await
    .expect_err("denied");
    assert!(
        matches!(err, ReportError::Call(CallError::AccessDenied { .. })),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("iam:GenerateCredentialReport"),
        "{message}"
    );
    assert_eq!(generate.num_calls(), 1, "access denied is not retried");
}

#[tokio::test(start_paused = true)]
async fn access_denied_keeps_the_previous_snapshot() {
    let generate = mock!(Client::generate_credential_report)
        .sequence()
        .output(|| state(ReportStateType::Complete))
        .http_response(denied)
        .build();
    let get = mock!(Client::get_credential_report).then_output(report);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
    let store = Arc::new(Store::default());
    let refresher = Refresher::new(
        Accounts::Static(vec![Arc::new(
            Target::new(
                "self",
                Source::Aws {
                    client,
                    kinds: SourceKinds::REPORT,
                    poll: policy(),
                    concurrency: 1,
                },
            )
            .with_collectors(iam_credentials_exporter::collectors::Collectors::NONE),
        )]),
        Arc::clone(&store),
        ApiMetrics::default(),
        Arc::new(|| 1_800_000_000),
    )
    .with_timeout(Duration::from_secs(60));

    refresher.refresh_once().await;
    let first = store.load();
    let account = &first.accounts[0];
    assert!(account.success);
    assert_eq!(account.account_id, "111122223333");
    assert!(store.is_ready());

    refresher.refresh_once().await;
    let second = store.load();
    let account = &second.accounts[0];
    assert!(!account.success, "the failed attempt is reported");
    assert_eq!(account.account_id, "111122223333");
    assert_eq!(account.last_success, Some(1_800_000_000));
    let data = account.data.as_ref().expect("last good data kept");
    assert_eq!(data.users.len(), 1);
    assert_eq!(data.users[0].name, "alice");
    assert!(store.is_ready(), "stays ready on failure");
}

fn account(key: &str, client: Client, poll: PollPolicy) -> Arc<Target> {
    Arc::new(
        Target::new(
            key,
            Source::Aws {
                client,
                kinds: SourceKinds::REPORT,
                poll,
                concurrency: 1,
            },
        )
        .with_account_id(key)
        .with_collectors(iam_credentials_exporter::collectors::Collectors::NONE),
    )
}

/// With room for one account at a time, an account whose report takes long
/// to build gives its slot away while it waits: the other account is
/// refreshed and published meanwhile, and the progress gauge's states say
/// which is which.
#[tokio::test(start_paused = true)]
async fn accounts_waiting_for_their_report_let_others_finish_and_publish() {
    let slow_generate = mock!(Client::generate_credential_report)
        .sequence()
        .output(|| state(ReportStateType::Started))
        .output(|| state(ReportStateType::Inprogress))
        .times(4)
        .output(|| state(ReportStateType::Complete))
        .build();
    let slow_get = mock!(Client::get_credential_report).then_output(report);
    let slow = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&slow_generate, &slow_get]);
    let quick_generate =
        mock!(Client::generate_credential_report).then_output(|| state(ReportStateType::Complete));
    let quick_get = mock!(Client::get_credential_report).then_output(report);
    let quick = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&quick_generate, &quick_get]
    );

    let store = Arc::new(Store::default());
    let refresher = Arc::new(
        Refresher::new(
            Accounts::Static(vec![
                account("slow", slow, PollPolicy::default()),
                account("quick", quick, PollPolicy::default()),
            ]),
            Arc::clone(&store),
            ApiMetrics::default(),
            Arc::new(|| 1_800_000_000),
        )
        .with_timeout(Duration::from_secs(120)),
    );
    let started = tokio::time::Instant::now();
    let running = tokio::spawn({
        let refresher = Arc::clone(&refresher);
        async move { refresher.refresh_once().await }
    });

    // The slow account's report is still being built after a second...
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = store.load();
    let progress: Vec<(&str, Progress, bool)> = during
        .accounts
        .iter()
        .map(|a| (a.key.as_str(), a.progress, a.data.is_some()))
        .collect();
    assert_eq!(
        progress,
        [
            ("slow", Progress::Pending, false),
            ("quick", Progress::Done, true)
        ],
        "the quick account is served while the slow one waits"
    );
    assert!(store.is_ready());

    running.await.unwrap();
    let after = store.load();
    assert!(after.accounts.iter().all(|a| a.progress == Progress::Done));
    assert_eq!(slow_generate.num_calls(), 6);
    // Waits of 0.25, 0.5, 1, 2 and 4 s between the six generate calls.
    assert_eq!(started.elapsed(), Duration::from_millis(7_750));
}

fn throttled() -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        400.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(aws_error_body("Throttling")),
    )
}

fn denied() -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        403.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(aws_error_body("AccessDenied")),
    )
}
