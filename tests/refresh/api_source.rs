//! The key-level API source and multi-account refreshes against the SDK's
//! mock client: pagination (moto ignores Marker), throttling storms, and one
//! denied account among good ones.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput;
use aws_sdk_iam::operation::get_access_key_last_used::GetAccessKeyLastUsedOutput;
use aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput;
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_users::ListUsersOutput;
use aws_sdk_iam::primitives::{Blob, DateTime};
use aws_sdk_iam::types::{
    AccessKeyLastUsed, AccessKeyMetadata, ReportFormatType, ReportStateType, StatusType, User,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use iam_credentials_exporter::accounts::Accounts;
use iam_credentials_exporter::accounts::Target;
use iam_credentials_exporter::aws::{ApiMetrics, CallError};
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::snapshot::Store;
use iam_credentials_exporter::source::api::list_users;
use iam_credentials_exporter::source::{Source, SourceKinds};

const ACCOUNT: &str = "111122223333";

fn user(name: &str) -> User {
    User::builder()
        .user_name(name)
        .user_id(format!("AIDA{name}"))
        .arn(format!("arn:aws:iam::{ACCOUNT}:user/{name}"))
        .path("/")
        .create_date(DateTime::from_secs(1_700_000_000))
        .build()
        .unwrap()
}

fn key(user: &str, id: &str, created: i64) -> AccessKeyMetadata {
    AccessKeyMetadata::builder()
        .user_name(user)
        .access_key_id(id)
        .status(StatusType::Active)
        .create_date(DateTime::from_secs(created))
        .build()
}

fn last_used(id: &str) -> GetAccessKeyLastUsedOutput {
    GetAccessKeyLastUsedOutput::builder()
        .user_name("x")
        .access_key_last_used(
            AccessKeyLastUsed::builder()
                .last_used_date(DateTime::from_secs(1_790_000_000 + id.len() as i64))
                .region("eu-west-1")
                .service_name("s3")
                .build()
                .unwrap(),
        )
        .build()
}

fn throttled() -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        400.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
        ),
    )
}

fn denied() -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        403.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform iam:GenerateCredentialReport</Message></Error></ErrorResponse>",
        ),
    )
}

#[tokio::test]
async fn users_and_keys_are_read_across_pages() {
    let first = mock!(Client::list_users)
        .match_requests(|r| r.marker().is_none() && r.max_items() == Some(1000))
        .then_output(|| {
            ListUsersOutput::builder()
                .users(user("a"))
                .users(user("b"))
                .is_truncated(true)
                .marker("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(Client::list_users)
        .match_requests(|r| r.marker() == Some("page-2"))
        .then_output(|| {
            ListUsersOutput::builder()
                .users(user("c"))
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let a_keys_1 = mock!(Client::list_access_keys)
        .match_requests(|r| r.user_name() == Some("a") && r.marker().is_none())
        .then_output(|| {
            ListAccessKeysOutput::builder()
                .access_key_metadata(key("a", "AKIAA2", 1_750_000_000))
                .is_truncated(true)
                .marker("k2")
                .build()
                .unwrap()
        });
    let a_keys_2 = mock!(Client::list_access_keys)
        .match_requests(|r| r.user_name() == Some("a") && r.marker() == Some("k2"))
        .then_output(|| {
            ListAccessKeysOutput::builder()
                .access_key_metadata(key("a", "AKIAA1", 1_710_000_000))
                .build()
                .unwrap()
        });
    let other_keys = mock!(Client::list_access_keys)
        .match_requests(|r| r.user_name() != Some("a"))
        .then_compute_output(|r| {
            let name = r.user_name().unwrap().to_owned();
            let keys = match name.as_str() {
                "c" => vec![key(&name, "AKIAC1", 1_720_000_000)],
                _ => vec![],
            };
            ListAccessKeysOutput::builder()
                .set_access_key_metadata(Some(keys))
                .build()
                .unwrap()
        });
    let used = mock!(Client::get_access_key_last_used)
        .then_compute_output(|r| last_used(r.access_key_id().unwrap()));
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&first, &second, &a_keys_1, &a_keys_2, &other_keys, &used]
    );

    let users = list_users(&client, 2, &ApiMetrics::default())
        .await
        .unwrap();
    let names: Vec<_> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let a: Vec<_> = users[0]
        .keys
        .iter()
        .map(|k| (k.slot, k.id.as_str()))
        .collect();
    assert_eq!(a, [(1, "AKIAA1"), (2, "AKIAA2")], "slots in creation order");
    assert!(users[1].keys.is_empty());
    assert_eq!(users[2].keys[0].id, "AKIAC1");
    assert_eq!(users[2].keys[0].last_used.as_ref().unwrap().service, "s3");
    // Calls: 2 pages of users + 3 users (+1 second page of a's keys) + 3 keys.
    assert_eq!(first.num_calls() + second.num_calls(), 2);
    assert_eq!(
        a_keys_1.num_calls() + a_keys_2.num_calls() + other_keys.num_calls(),
        4
    );
    assert_eq!(used.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_throttling_storm_fails_cleanly_with_bounded_calls() {
    const USERS: usize = 20;
    let users = mock!(Client::list_users).then_output(|| {
        let mut out = ListUsersOutput::builder();
        for i in 0..USERS {
            out = out.users(user(&format!("u{i}")));
        }
        out.build().unwrap()
    });
    let keys = mock!(Client::list_access_keys).then_compute_output(|r| {
        let name = r.user_name().unwrap().to_owned();
        ListAccessKeysOutput::builder()
            .access_key_metadata(key(&name, &format!("AKIA{name}"), 1_700_000_000))
            .build()
            .unwrap()
    });
    let used = mock!(Client::get_access_key_last_used)
        .sequence()
        .http_response(throttled)
        .repeatedly()
        .build();
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&users, &keys, &used],
        |c| c.retry_config(RetryConfig::standard().with_max_attempts(3))
    );

    let api = ApiMetrics::default();
    let started = tokio::time::Instant::now();
    let err = list_users(&client, 4, &api).await.unwrap_err();
    assert!(
        matches!(&err, CallError::Aws { code, .. } if code == "Throttling"),
        "{err}"
    );
    // Never more than pages + users + keys calls, each tried at most 3 times.
    let total = users.num_calls() + keys.num_calls() + used.num_calls();
    assert!(total <= (1 + USERS + USERS) * 3, "{total} calls");
    // The SDK backs off between attempts: no busy loop.
    assert!(started.elapsed() > Duration::ZERO);
    assert!(
        used.num_calls() <= 4 * 3,
        "the first failure stops the account: {} calls",
        used.num_calls()
    );
}

const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
alice,arn:aws:iam::ACCOUNT:user/alice,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

fn report_client(account: &'static str, deny: bool) -> Client {
    let generate = if deny {
        mock!(Client::generate_credential_report)
            .sequence()
            .http_response(denied)
            .repeatedly()
            .build()
    } else {
        mock!(Client::generate_credential_report).then_output(|| {
            GenerateCredentialReportOutput::builder()
                .state(ReportStateType::Complete)
                .build()
        })
    };
    let get = mock!(Client::get_credential_report).then_output(move || {
        GetCredentialReportOutput::builder()
            .content(Blob::new(REPORT.replace("ACCOUNT", account)))
            .report_format(ReportFormatType::TextCsv)
            .generated_time(DateTime::from_secs(1_790_000_000))
            .build()
    });
    mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get])
}

fn target(account: &'static str, deny: bool) -> Arc<Target> {
    Arc::new(
        Target::new(
            account.to_owned(),
            Source::Aws {
                client: report_client(account, deny),
                kinds: SourceKinds::REPORT,
                poll: Default::default(),
                concurrency: 1,
            },
        )
        .with_account_id(account.to_owned())
        .with_name(format!("name-{account}")),
    )
}

#[tokio::test(start_paused = true)]
async fn one_denied_account_does_not_blank_the_others() {
    let store = Arc::new(Store::default());
    let refresher = Refresher::new(
        Accounts::Static(vec![
            target("111111111111", false),
            target("222222222222", true),
            target("333333333333", false),
        ]),
        Arc::clone(&store),
        ApiMetrics::default(),
        Arc::new(|| 1_800_000_000),
    )
    .with_timeout(Duration::from_secs(30))
    .with_parallelism(2)
    .with_stagger(Duration::from_millis(100));
    refresher.refresh_once().await;
    let snapshot = store.load();
    let outcome: Vec<_> = snapshot
        .accounts
        .iter()
        .map(|a| {
            (
                a.account_id.as_str(),
                a.success,
                a.data.as_ref().map(|d| d.users.len()),
            )
        })
        .collect();
    assert_eq!(
        outcome,
        [
            ("111111111111", true, Some(1)),
            ("222222222222", false, None),
            ("333333333333", true, Some(1)),
        ]
    );
    assert!(store.is_ready());
    assert_eq!(snapshot.accounts[0].name, "name-111111111111");
}

#[tokio::test(start_paused = true)]
async fn account_refreshes_start_at_least_the_stagger_apart() {
    let store = Arc::new(Store::default());
    let refresher = Refresher::new(
        Accounts::Static(
            [
                "111111111111",
                "222222222222",
                "333333333333",
                "444444444444",
            ]
            .map(|a| target(a, false))
            .to_vec(),
        ),
        Arc::clone(&store),
        ApiMetrics::default(),
        Arc::new(|| 1_800_000_000),
    )
    .with_timeout(Duration::from_secs(30))
    .with_parallelism(4)
    .with_stagger(Duration::from_millis(100));
    let started = tokio::time::Instant::now();
    refresher.refresh_once().await;
    let elapsed = started.elapsed();
    // Four starts, 100 ms apart: the last one at 300 ms, not all at once.
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(400),
        "{elapsed:?}"
    );
    assert!(store.load().accounts.iter().all(|a| a.success));
}

fn sts_denied() -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        403.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/IamCredentialsExporter</Message></Error></ErrorResponse>",
        ),
    )
}

/// The credentials of a member account come from AssumeRole; a denied role
/// must be a clear error naming the role, and be counted. (That a failing
/// account does not blank the others is pinned by
/// `one_denied_account_does_not_blank_the_others`.)
#[tokio::test(start_paused = true)]
async fn a_denied_assume_role_is_a_clear_counted_error() {
    use aws_credential_types::provider::ProvideCredentials;
    use iam_credentials_exporter::assume_role::AssumeRole;

    let assume = mock!(aws_sdk_sts::Client::assume_role)
        .sequence()
        .http_response(sts_denied)
        .repeatedly()
        .build();
    let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&assume], |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(1)));
    let api = ApiMetrics::default();
    let role = "arn:aws:iam::222222222222:role/IamCredentialsExporter";
    let provider = AssumeRole {
        sts,
        api: api.clone(),
        role_arn: role.to_owned(),
        session_name: "test".to_owned(),
        external_id: Some("x".to_owned()),
    };
    let err = provider.provide_credentials().await.unwrap_err();
    let message = aws_smithy_types::error::display::DisplayErrorContext(&err).to_string();
    assert!(
        message.contains(&format!("cannot assume role {role}: AccessDenied")),
        "{message}"
    );
    assert_eq!(assume.num_calls(), 1, "a denial is not retried");
    let denied = api
        .errors
        .get_or_create(&[
            ("operation", "AssumeRole".to_owned()),
            ("code", "AccessDenied".to_owned()),
        ])
        .get();
    assert_eq!(denied, 1);
}
