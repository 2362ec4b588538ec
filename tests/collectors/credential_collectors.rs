//! The ssh-public-keys and service-specific-credentials collectors: listings
//! across pages (moto ignores Marker for SSH keys, so the SDK's mock client),
//! one collector failing while the other and the account succeed, and the
//! whole exporter against moto (the launcher serves service-specific
//! credentials, which moto lacks).

use crate::common;

use common::mock::{aws_error, render, report_rules};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::list_service_specific_credentials::ListServiceSpecificCredentialsOutput;
use aws_sdk_iam::operation::list_ssh_public_keys::ListSshPublicKeysOutput;
use aws_sdk_iam::operation::list_users::ListUsersOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::{
    ServiceSpecificCredentialMetadata, SshPublicKeyMetadata, StatusType, User,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use common::exporter::{Exporter, value};
use common::moto::MotoServer;
use iam_credentials_exporter::accounts::Accounts;
use iam_credentials_exporter::accounts::Target;
use iam_credentials_exporter::aws::{ApiMetrics, CallError, call_counter};
use iam_credentials_exporter::collectors::service_specific_credentials::{
    self as ssc, SERVICES, ServiceSpecificCredential,
};
use iam_credentials_exporter::collectors::ssh_public_keys::{self, SshPublicKey};
use iam_credentials_exporter::collectors::{Collector, Collectors, Context};
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::report::fetch::PollPolicy;
use iam_credentials_exporter::snapshot::Store;
use iam_credentials_exporter::source::{Source, SourceKinds};
use serde_json::json;

const ACCOUNT: &str = "111122223333";
const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
alice,arn:aws:iam::111122223333:user/alice,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

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

fn ssh_key(user: &str, id: &str, status: StatusType, uploaded: i64) -> SshPublicKeyMetadata {
    SshPublicKeyMetadata::builder()
        .user_name(user)
        .ssh_public_key_id(id)
        .status(status)
        .upload_date(DateTime::from_secs(uploaded))
        .build()
        .unwrap()
}

fn credential(
    user: &str,
    service: &str,
    id: &str,
    status: StatusType,
    created: i64,
    expires: Option<i64>,
) -> ServiceSpecificCredentialMetadata {
    ServiceSpecificCredentialMetadata::builder()
        .user_name(user)
        .status(status)
        .service_user_name(format!("{user}-at-{ACCOUNT}"))
        .create_date(DateTime::from_secs(created))
        .set_expiration_date(expires.map(DateTime::from_secs))
        .service_specific_credential_id(id)
        .service_name(service)
        .build()
        .unwrap()
}

/// A mock client whose calls are counted in `api`, like the exporter's own.
/// An IAM that refuses to list service-specific credentials without a
/// `ServiceName`: the collector then lists them service by service.
fn requires_service_name() -> Rule {
    mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name().is_none())
        .then_http_response(|| aws_error(400, "ValidationError"))
}

fn client(rules: &[&Rule], api: &ApiMetrics) -> Client {
    mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        rules.iter().copied(),
        |c| c.interceptor(call_counter(api))
    )
}

fn requests(api: &ApiMetrics, operation: &str) -> u64 {
    api.requests
        .get_or_create(&[("operation", operation.to_owned())])
        .get()
}

fn ssh(user: &str, id: &str, active: bool, uploaded: i64) -> SshPublicKey {
    SshPublicKey {
        user: user.into(),
        id: id.into(),
        active,
        uploaded,
    }
}

/// Users over two pages, one user's keys over two pages, a user without
/// keys, and a user deleted between ListUsers and its ListSSHPublicKeys.
#[tokio::test]
async fn ssh_keys_follow_every_page_and_skip_a_user_deleted_meanwhile() {
    let users_1 = mock!(Client::list_users)
        .match_requests(|r| r.marker().is_none() && r.max_items() == Some(1000))
        .then_output(|| {
            ListUsersOutput::builder()
                .users(user("carol"))
                .users(user("alice"))
                .is_truncated(true)
                .marker("users-2")
                .build()
                .unwrap()
        });
    let users_2 = mock!(Client::list_users)
        .match_requests(|r| r.marker() == Some("users-2"))
        .then_output(|| {
            ListUsersOutput::builder()
                .users(user("bob"))
                .users(user("gone"))
                .build()
                .unwrap()
        });
    let alice_1 = mock!(Client::list_ssh_public_keys)
        .match_requests(|r| r.user_name() == Some("alice") && r.marker().is_none())
        .then_output(|| {
            ListSshPublicKeysOutput::builder()
                .ssh_public_keys(ssh_key(
                    "alice",
                    "APKAALICE2",
                    StatusType::Inactive,
                    1_750_000_000,
                ))
                .is_truncated(true)
                .marker("alice-2")
                .build()
        });
    let alice_2 = mock!(Client::list_ssh_public_keys)
        .match_requests(|r| r.user_name() == Some("alice") && r.marker() == Some("alice-2"))
        .then_output(|| {
            ListSshPublicKeysOutput::builder()
                .ssh_public_keys(ssh_key(
                    "alice",
                    "APKAALICE1",
                    StatusType::Active,
                    1_700_000_000,
                ))
                .build()
        });
    let gone = mock!(Client::list_ssh_public_keys)
        .match_requests(|r| r.user_name() == Some("gone"))
        .then_http_response(|| aws_error(404, "NoSuchEntity"));
    let others = mock!(Client::list_ssh_public_keys)
        .match_requests(|r| matches!(r.user_name(), Some("bob" | "carol")))
        .then_compute_output(|r| {
            let keys = match r.user_name() {
                Some("carol") => vec![ssh_key(
                    "carol",
                    "APKACAROL1",
                    StatusType::Active,
                    1_600_000_000,
                )],
                _ => vec![],
            };
            ListSshPublicKeysOutput::builder()
                .set_ssh_public_keys(Some(keys))
                .build()
        });
    let api = ApiMetrics::default();
    let iam = client(
        &[&users_1, &users_2, &alice_1, &alice_2, &gone, &others],
        &api,
    );
    let ctx = Context::new(&iam, &api).with_concurrency(2);
    let listed = ssh_public_keys::collect(ctx).await.unwrap();
    assert_eq!(
        listed.keys,
        [
            ssh("alice", "APKAALICE1", true, 1_700_000_000),
            ssh("alice", "APKAALICE2", false, 1_750_000_000),
            ssh("carol", "APKACAROL1", true, 1_600_000_000),
        ]
    );
    // 2 pages of users; 4 users, one with a second page of keys.
    assert_eq!(requests(&api, "ListUsers"), 2);
    assert_eq!(requests(&api, "ListSSHPublicKeys"), 5);
    assert_eq!(
        api.errors
            .get_or_create(&[
                ("operation", "ListSSHPublicKeys".into()),
                ("code", "NoSuchEntity".into())
            ])
            .get(),
        0,
        "a user deleted meanwhile is not an error"
    );
}

#[tokio::test]
async fn a_refused_ssh_key_listing_fails_the_collector_with_the_action_to_grant() {
    let users = mock!(Client::list_users).then_output(|| {
        ListUsersOutput::builder()
            .users(user("alice"))
            .build()
            .unwrap()
    });
    let keys =
        mock!(Client::list_ssh_public_keys).then_http_response(|| aws_error(403, "AccessDenied"));
    let api = ApiMetrics::default();
    let iam = client(&[&users, &keys], &api);
    let ctx = Context::new(&iam, &api).with_concurrency(4);
    let err = ssh_public_keys::collect(ctx).await.unwrap_err();
    assert!(
        matches!(&err, CallError::AccessDenied { action, .. } if *action == "iam:ListSSHPublicKeys"),
        "{err}"
    );
    assert_eq!(
        api.errors
            .get_or_create(&[
                ("operation", "ListSSHPublicKeys".into()),
                ("code", "AccessDenied".into())
            ])
            .get(),
        1
    );
}

/// Where IAM refuses a listing without a service name, every service name
/// is listed once for all users (`AllUsers`, never a user name), Bedrock over
/// two pages; a service the partition does not offer is an empty listing,
/// not a failure.
#[tokio::test]
async fn service_specific_credentials_are_listed_per_service_where_iam_requires_a_service_name() {
    let refused = requires_service_name();
    let bedrock_1 = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| {
            r.service_name() == Some("bedrock.amazonaws.com")
                && r.all_users() == Some(true)
                && r.user_name().is_none()
                && r.max_items() == Some(1000)
                && r.marker().is_none()
        })
        .then_output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .service_specific_credentials(credential(
                    "bob",
                    "bedrock.amazonaws.com",
                    "ACCABOBBEDROCK",
                    StatusType::Active,
                    1_790_000_000,
                    None,
                ))
                .is_truncated(true)
                .marker("bedrock-2")
                .build()
        });
    let bedrock_2 = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| {
            r.service_name() == Some("bedrock.amazonaws.com")
                && r.all_users() == Some(true)
                && r.marker() == Some("bedrock-2")
        })
        .then_output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .service_specific_credentials(credential(
                    "alice",
                    "bedrock.amazonaws.com",
                    "ACCAALICEBEDROCK",
                    StatusType::Expired,
                    1_780_000_000,
                    Some(1_785_000_000),
                ))
                .build()
        });
    let codecommit = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| {
            r.service_name() == Some("codecommit.amazonaws.com") && r.all_users() == Some(true)
        })
        .then_output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .service_specific_credentials(credential(
                    "alice",
                    "codecommit.amazonaws.com",
                    "ACCAALICEGIT",
                    StatusType::Inactive,
                    1_700_000_000,
                    None,
                ))
                .build()
        });
    let unsupported = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name() == Some("xray.amazonaws.com"))
        .then_http_response(|| aws_error(400, "NotSupportedService"));
    let others = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| {
            r.all_users() == Some(true)
                && !matches!(
                    r.service_name(),
                    Some("bedrock.amazonaws.com" | "codecommit.amazonaws.com")
                )
        })
        .then_output(|| ListServiceSpecificCredentialsOutput::builder().build());
    let api = ApiMetrics::default();
    let iam = client(
        &[
            &refused,
            &bedrock_1,
            &bedrock_2,
            &codecommit,
            &unsupported,
            &others,
        ],
        &api,
    );
    let ctx = Context::new(&iam, &api).with_concurrency(3);
    let listed = ssc::collect(ctx).await.unwrap();
    let cred = |user: &str, service: &str, id: &str, status: &str, created, expires| {
        ServiceSpecificCredential {
            user: user.into(),
            service_name: service.into(),
            id: id.into(),
            status: status.into(),
            created,
            expires,
        }
    };
    assert_eq!(
        listed.credentials,
        [
            cred(
                "alice",
                "bedrock.amazonaws.com",
                "ACCAALICEBEDROCK",
                "Expired",
                1_780_000_000,
                Some(1_785_000_000)
            ),
            cred(
                "alice",
                "codecommit.amazonaws.com",
                "ACCAALICEGIT",
                "Inactive",
                1_700_000_000,
                None
            ),
            cred(
                "bob",
                "bedrock.amazonaws.com",
                "ACCABOBBEDROCK",
                "Active",
                1_790_000_000,
                None
            ),
        ]
    );
    assert!(!listed.credentials[0].active(), "Expired is not active");
    // The refused listing, then one per service, Bedrock's of two pages.
    assert_eq!(refused.num_calls(), 1);
    assert_eq!(
        requests(&api, "ListServiceSpecificCredentials"),
        1 + SERVICES.len() as u64 + 1
    );
    assert_eq!(bedrock_1.num_calls() + bedrock_2.num_calls(), 2);
    assert_eq!(unsupported.num_calls(), 1);
}

/// One listing without a service name returns every service's credentials
/// of every user, across pages: two calls for three credentials of two
/// services, none per service.
#[tokio::test]
async fn service_specific_credentials_of_every_service_come_from_one_listing() {
    let page_1 = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| {
            r.service_name().is_none()
                && r.all_users() == Some(true)
                && r.user_name().is_none()
                && r.marker().is_none()
        })
        .then_output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .service_specific_credentials(credential(
                    "bob",
                    "bedrock.amazonaws.com",
                    "ACCABOBBEDROCK",
                    StatusType::Active,
                    1_790_000_000,
                    None,
                ))
                .service_specific_credentials(credential(
                    "alice",
                    "logs.amazonaws.com",
                    "ACCAALICELOGS",
                    StatusType::Active,
                    1_791_000_000,
                    Some(1_800_000_000),
                ))
                .is_truncated(true)
                .marker("2")
                .build()
        });
    let page_2 = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name().is_none() && r.marker() == Some("2"))
        .then_output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .service_specific_credentials(credential(
                    "alice",
                    "bedrock.amazonaws.com",
                    "ACCAALICEBEDROCK",
                    StatusType::Inactive,
                    1_780_000_000,
                    None,
                ))
                .build()
        });
    let per_service = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name().is_some())
        .then_output(|| ListServiceSpecificCredentialsOutput::builder().build());
    let api = ApiMetrics::default();
    let iam = client(&[&page_1, &page_2, &per_service], &api);
    let ctx = Context::new(&iam, &api).with_concurrency(3);
    let listed = ssc::collect(ctx).await.unwrap();
    let ids: Vec<_> = listed.credentials.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["ACCAALICEBEDROCK", "ACCAALICELOGS", "ACCABOBBEDROCK"]);
    assert_eq!(requests(&api, "ListServiceSpecificCredentials"), 2);
    assert_eq!(per_service.num_calls(), 0);
}

/// A listing whose next marker is the one just sent would never end: the
/// collector fails after the second page instead of calling IAM until the
/// refresh times out.
#[tokio::test]
async fn a_repeated_marker_fails_the_listing_instead_of_looping() {
    let looping = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name() == Some("bedrock.amazonaws.com"))
        .then_output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .is_truncated(true)
                .marker("same")
                .build()
        });
    let others = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name() != Some("bedrock.amazonaws.com"))
        .then_output(|| ListServiceSpecificCredentialsOutput::builder().build());
    let api = ApiMetrics::default();
    let refused = requires_service_name();
    let iam = client(&[&refused, &looping, &others], &api);
    let ctx = Context::new(&iam, &api).with_concurrency(1);
    let err = ssc::collect(ctx).await.unwrap_err();
    assert!(
        matches!(&err, CallError::Aws { code, .. } if code == "RepeatedMarker"),
        "{err}"
    );
    assert_eq!(
        looping.num_calls(),
        2,
        "first page, then the repeated marker"
    );
}

const T0: i64 = 1_800_000_000;

/// Both collectors on; the second refresh's credential listing is refused.
/// The account and the SSH keys refresh, the credentials read first are still
/// served, and the health series say which collector failed. Every value is
/// worked out by hand from the mocks and the clock.
#[tokio::test(start_paused = true)]
async fn a_failing_collector_keeps_its_last_good_data_while_the_account_and_the_other_refresh() {
    let [generate, get] = report_rules(REPORT, Some(1_799_990_000));
    let users = mock!(Client::list_users).then_output(|| {
        ListUsersOutput::builder()
            .users(user("alice"))
            .users(user("bob"))
            .build()
            .unwrap()
    });
    // alice's second key is uploaded between the two refreshes.
    let ssh_keys = mock!(Client::list_ssh_public_keys)
        .match_requests(|r| r.user_name() == Some("alice"))
        .sequence()
        .output(|| {
            ListSshPublicKeysOutput::builder()
                .ssh_public_keys(ssh_key("alice", "APKAA1", StatusType::Active, T0 - 86_400))
                .build()
        })
        .output(|| {
            ListSshPublicKeysOutput::builder()
                .ssh_public_keys(ssh_key("alice", "APKAA1", StatusType::Active, T0 - 86_400))
                .ssh_public_keys(ssh_key("alice", "APKAA2", StatusType::Inactive, T0 + 100))
                .build()
        })
        .build();
    let bob_keys = mock!(Client::list_ssh_public_keys)
        .match_requests(|r| r.user_name() == Some("bob"))
        .then_output(|| ListSshPublicKeysOutput::builder().build());
    let bedrock = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name() == Some("bedrock.amazonaws.com"))
        .sequence()
        .output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .service_specific_credentials(credential(
                    "alice",
                    "bedrock.amazonaws.com",
                    "ACCAALICEBEDROCK",
                    StatusType::Active,
                    T0 - 100 * 86_400,
                    Some(T0 + 3 * 86_400),
                ))
                .service_specific_credentials(credential(
                    "bob",
                    "bedrock.amazonaws.com",
                    "ACCABOBBEDROCK",
                    StatusType::Expired,
                    T0 - 40 * 86_400,
                    Some(T0 - 10 * 86_400),
                ))
                .build()
        })
        .http_response(|| aws_error(403, "AccessDenied"))
        .build();
    let logs = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| r.service_name() == Some("logs.amazonaws.com"))
        .then_output(|| {
            ListServiceSpecificCredentialsOutput::builder()
                .service_specific_credentials(credential(
                    "bob",
                    "logs.amazonaws.com",
                    "ACCABOBLOGS",
                    StatusType::Active,
                    T0 - 86_400,
                    None,
                ))
                .build()
        });
    let other_services = mock!(Client::list_service_specific_credentials)
        .match_requests(|r| {
            !matches!(
                r.service_name(),
                Some("bedrock.amazonaws.com" | "logs.amazonaws.com")
            )
        })
        .then_output(|| ListServiceSpecificCredentialsOutput::builder().build());
    let api = ApiMetrics::default();
    let refused = requires_service_name();
    let iam = client(
        &[
            &refused,
            &generate,
            &get,
            &users,
            &ssh_keys,
            &bob_keys,
            &bedrock,
            &logs,
            &other_services,
        ],
        &api,
    );
    let now = Arc::new(AtomicI64::new(T0));
    let store = Arc::new(Store::default());
    let refresher = Refresher::new(
        Accounts::Static(vec![Arc::new(
            Target::new(
                ACCOUNT,
                Source::Aws {
                    client: iam,
                    kinds: SourceKinds::REPORT,
                    poll: PollPolicy::default(),
                    concurrency: 2,
                },
            )
            .with_account_id(ACCOUNT)
            .with_collectors(
                Collectors::NONE
                    .with(Collector::SshPublicKeys, true)
                    .with(Collector::ServiceSpecificCredentials, true),
            ),
        )]),
        Arc::clone(&store),
        api.clone(),
        {
            let now = Arc::clone(&now);
            Arc::new(move || now.load(Ordering::SeqCst))
        },
    )
    .with_timeout(Duration::from_secs(60));
    let health = |name: &str, collector: &str| {
        format!("{name}{{account_id=\"{ACCOUNT}\",collector=\"{collector}\"}}")
    };
    let key = |name: &str, user: &str, id: &str| {
        format!(
            "aws_iam_ssh_public_key_{name}{{account_id=\"{ACCOUNT}\",user=\"{user}\",ssh_public_key_id=\"{id}\"}}"
        )
    };
    let cred = |name: &str, user: &str, service: &str, id: &str| {
        format!(
            "aws_iam_service_specific_credential_{name}{{account_id=\"{ACCOUNT}\",user=\"{user}\",service_name=\"{service}\",credential_id=\"{id}\"}}"
        )
    };
    let status = |user: &str, service: &str, id: &str, status: &str| {
        format!(
            "aws_iam_service_specific_credential_status_info{{account_id=\"{ACCOUNT}\",user=\"{user}\",service_name=\"{service}\",credential_id=\"{id}\",status=\"{status}\"}}"
        )
    };
    const BEDROCK: &str = "bedrock.amazonaws.com";
    const LOGS: &str = "logs.amazonaws.com";

    refresher.refresh_once().await;
    // Scraped an hour after the refresh: ages grow, the rest is cached.
    let m = render(&store, T0 + 3_600, &api, true);
    let expected: Vec<(String, f64)> =
        vec![
        (key("active", "alice", "APKAA1"), 1.0),
        (
            key("uploaded_timestamp_seconds", "alice", "APKAA1"),
            (T0 - 86_400) as f64,
        ),
        (key("age_seconds", "alice", "APKAA1"), 90_000.0),
        (cred("active", "alice", BEDROCK, "ACCAALICEBEDROCK"), 1.0),
        (
            cred(
                "created_timestamp_seconds",
                "alice",
                BEDROCK,
                "ACCAALICEBEDROCK",
            ),
            (T0 - 8_640_000) as f64,
        ),
        (
            cred(
                "expiration_timestamp_seconds",
                "alice",
                BEDROCK,
                "ACCAALICEBEDROCK",
            ),
            (T0 + 259_200) as f64,
        ),
        (
            cred("age_seconds", "alice", BEDROCK, "ACCAALICEBEDROCK"),
            8_643_600.0,
        ),
        (status("alice", BEDROCK, "ACCAALICEBEDROCK", "Active"), 1.0),
        (cred("active", "bob", BEDROCK, "ACCABOBBEDROCK"), 0.0),
        (
            cred("created_timestamp_seconds", "bob", BEDROCK, "ACCABOBBEDROCK"),
            (T0 - 3_456_000) as f64,
        ),
        (
            cred(
                "expiration_timestamp_seconds",
                "bob",
                BEDROCK,
                "ACCABOBBEDROCK",
            ),
            (T0 - 864_000) as f64,
        ),
        (
            cred("age_seconds", "bob", BEDROCK, "ACCABOBBEDROCK"),
            3_459_600.0,
        ),
        (status("bob", BEDROCK, "ACCABOBBEDROCK", "Expired"), 1.0),
        (cred("active", "bob", LOGS, "ACCABOBLOGS"), 1.0),
        (
            cred("created_timestamp_seconds", "bob", LOGS, "ACCABOBLOGS"),
            (T0 - 86_400) as f64,
        ),
        (cred("age_seconds", "bob", LOGS, "ACCABOBLOGS"), 90_000.0),
        (status("bob", LOGS, "ACCABOBLOGS", "Active"), 1.0),
        (
            health("aws_iam_exporter_collector_success", "ssh-public-keys"),
            1.0,
        ),
        (
            health(
                "aws_iam_exporter_collector_success",
                "service-specific-credentials",
            ),
            1.0,
        ),
        (
            r#"aws_iam_exporter_api_requests_total{operation="ListServiceSpecificCredentials"}"#
                .into(),
            1.0 + SERVICES.len() as f64,
        ),
        (
            r#"aws_iam_exporter_api_requests_total{operation="ListSSHPublicKeys"}"#.into(),
            2.0,
        ),
        (
            r#"aws_iam_exporter_api_requests_total{operation="ListUsers"}"#.into(),
            1.0,
        ),
    ];
    for (series, want) in &expected {
        assert_eq!(value(&m, series), Some(*want), "{series}\n{m}");
    }
    assert!(
        !m.contains(&cred(
            "expiration_timestamp_seconds",
            "bob",
            LOGS,
            "ACCABOBLOGS"
        )),
        "a credential that never expires has no expiration series"
    );
    let samples = |prefix: &str| {
        m.lines()
            .filter(|l| l.starts_with(prefix) && !l.starts_with('#'))
            .count()
    };
    assert_eq!(samples("aws_iam_ssh_public_key_"), 3, "{m}");
    assert_eq!(samples("aws_iam_service_specific_credential_"), 14, "{m}");

    // --metrics.ages=false: no age family, not even its HELP.
    let m = render(&store, T0 + 3_600, &api, false);
    assert!(!m.contains("aws_iam_ssh_public_key_age_seconds"), "{m}");
    assert!(
        !m.contains("aws_iam_service_specific_credential_age_seconds"),
        "{m}"
    );
    assert!(m.contains(&key("active", "alice", "APKAA1")), "{m}");

    // Second refresh: the Bedrock listing is refused.
    now.store(T0 + 300, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = render(&store, T0 + 300, &api, true);
    for (series, want) in [
        (
            format!("aws_iam_exporter_account_refresh_success{{account_id=\"{ACCOUNT}\"}}"),
            1.0,
        ),
        (
            health("aws_iam_exporter_collector_success", "ssh-public-keys"),
            1.0,
        ),
        (
            health(
                "aws_iam_exporter_collector_last_success_timestamp_seconds",
                "ssh-public-keys",
            ),
            (T0 + 300) as f64,
        ),
        (
            health(
                "aws_iam_exporter_collector_success",
                "service-specific-credentials",
            ),
            0.0,
        ),
        (
            health(
                "aws_iam_exporter_collector_last_success_timestamp_seconds",
                "service-specific-credentials",
            ),
            T0 as f64,
        ),
        // The SSH keys are this refresh's...
        (key("active", "alice", "APKAA2"), 0.0),
        (key("age_seconds", "alice", "APKAA2"), 200.0),
        // ...the credentials those of the first.
        (cred("active", "alice", BEDROCK, "ACCAALICEBEDROCK"), 1.0),
        (cred("active", "bob", LOGS, "ACCABOBLOGS"), 1.0),
        (
            cred("age_seconds", "bob", LOGS, "ACCABOBLOGS"),
            86_700.0,
        ),
        (
            r#"aws_iam_exporter_api_errors_total{operation="ListServiceSpecificCredentials",code="AccessDenied"}"#.into(),
            1.0,
        ),
        (
            r#"aws_iam_exporter_api_requests_total{operation="ListSSHPublicKeys"}"#.into(),
            4.0,
        ),
    ] {
        assert_eq!(value(&m, &series), Some(want), "{series}\n{m}");
    }
    assert!(
        m.contains("aws_iam_user_info{"),
        "the report is served: {m}"
    );
}

/// The whole exporter against moto: SSH keys (off by default, turned on)
/// and service-specific credentials (on by default), every series worked
/// out from the seed, the calls as counted, and the flags that turn the
/// collectors off.
#[test]
fn both_collectors_from_iam_and_the_flags_that_turn_them_off() {
    let moto = MotoServer::start(&json!({"accounts": [{
        "users": [
            {"name": "alice",
             "ssh_keys": [
                 {"id": "APKAALICE00000000001", "uploaded": "2025-01-02T03:04:05Z"},
                 {"id": "APKAALICE00000000002", "status": "Inactive",
                  "uploaded": "2026-06-01T00:00:00Z"}
             ],
             "service_specific_credentials": [
                 {"service": "bedrock.amazonaws.com", "id": "ACCAALICEBEDROCK0001",
                  "created": "2026-01-01T00:00:00Z", "expires": "2027-01-01T00:00:00Z"},
                 {"service": "codecommit.amazonaws.com", "id": "ACCAALICECODECOMMIT1",
                  "status": "Inactive", "created": "2024-05-05T05:05:05Z"}
             ]},
            {"name": "bob",
             "service_specific_credentials": [
                 {"service": "logs.amazonaws.com", "id": "ACCABOBLOGS000000001",
                  "status": "Expired", "created": "2025-01-01T00:00:00Z",
                  "expires": "2025-02-01T00:00:00Z"}
             ]},
            {"name": "carol"}
        ]
    }]}));
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let account = moto.account_id("123456789012").to_owned();

    let exporter = Exporter::start(&["--collector.ssh-public-keys"], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let key = |name: &str, user: &str, id: &str| {
        format!(
            "aws_iam_ssh_public_key_{name}{{account_id=\"{account}\",user=\"{user}\",ssh_public_key_id=\"{id}\"}}"
        )
    };
    let cred = |name: &str, user: &str, service: &str, id: &str| {
        format!(
            "aws_iam_service_specific_credential_{name}{{account_id=\"{account}\",user=\"{user}\",service_name=\"{service}\",credential_id=\"{id}\"}}"
        )
    };
    const K1: &str = "APKAALICE00000000001";
    const K2: &str = "APKAALICE00000000002";
    const BEDROCK: (&str, &str) = ("bedrock.amazonaws.com", "ACCAALICEBEDROCK0001");
    const GIT: (&str, &str) = ("codecommit.amazonaws.com", "ACCAALICECODECOMMIT1");
    const LOGS: (&str, &str) = ("logs.amazonaws.com", "ACCABOBLOGS000000001");
    // 2025-01-02T03:04:05Z = 1735787045, 2026-06-01 = 1780272000,
    // 2026-01-01 = 1767225600, 2027-01-01 = 1798761600,
    // 2024-05-05T05:05:05Z = 1714885505, 2025-01-01 = 1735689600,
    // 2025-02-01 = 1738368000.
    for (series, want) in [
        (key("active", "alice", K1), 1.0),
        (
            key("uploaded_timestamp_seconds", "alice", K1),
            1_735_787_045.0,
        ),
        (key("active", "alice", K2), 0.0),
        (
            key("uploaded_timestamp_seconds", "alice", K2),
            1_780_272_000.0,
        ),
        (cred("active", "alice", BEDROCK.0, BEDROCK.1), 1.0),
        (
            cred("created_timestamp_seconds", "alice", BEDROCK.0, BEDROCK.1),
            1_767_225_600.0,
        ),
        (
            cred(
                "expiration_timestamp_seconds",
                "alice",
                BEDROCK.0,
                BEDROCK.1,
            ),
            1_798_761_600.0,
        ),
        (cred("active", "alice", GIT.0, GIT.1), 0.0),
        (
            cred("created_timestamp_seconds", "alice", GIT.0, GIT.1),
            1_714_885_505.0,
        ),
        (cred("active", "bob", LOGS.0, LOGS.1), 0.0),
        (
            cred("created_timestamp_seconds", "bob", LOGS.0, LOGS.1),
            1_735_689_600.0,
        ),
        (
            cred("expiration_timestamp_seconds", "bob", LOGS.0, LOGS.1),
            1_738_368_000.0,
        ),
        (
            format!(
                "aws_iam_service_specific_credential_status_info{{account_id=\"{account}\",user=\"bob\",service_name=\"{}\",credential_id=\"{}\",status=\"Expired\"}}",
                LOGS.0, LOGS.1
            ),
            1.0,
        ),
        // Core (report) calls no ListUsers: this one is the SSH collector's.
        (
            r#"aws_iam_exporter_api_requests_total{operation="ListUsers"}"#.into(),
            1.0,
        ),
        (
            r#"aws_iam_exporter_api_requests_total{operation="ListSSHPublicKeys"}"#.into(),
            3.0,
        ),
        (
            // One listing of every service: the launcher serves it as IAM does.
            r#"aws_iam_exporter_api_requests_total{operation="ListServiceSpecificCredentials"}"#
                .into(),
            1.0,
        ),
    ] {
        assert_eq!(value(&m, &series), Some(want), "{series}\n{m}");
    }
    assert!(!m.contains(&cred("expiration_timestamp_seconds", "alice", GIT.0, GIT.1)));
    // Ages are computed at the scrape, a moment before `now`.
    for (series, from) in [
        (key("age_seconds", "alice", K1), 1_735_787_045.0),
        (cred("age_seconds", "bob", LOGS.0, LOGS.1), 1_735_689_600.0),
    ] {
        let age = value(&m, &series).unwrap_or_else(|| panic!("{series}\n{m}"));
        assert!((now - from - age).abs() < 60.0, "{series} = {age}");
    }
    for collector in ["ssh-public-keys", "service-specific-credentials"] {
        assert_eq!(
            value(
                &m,
                &format!(
                    "aws_iam_exporter_collector_success{{account_id=\"{account}\",collector=\"{collector}\"}}"
                )
            ),
            Some(1.0),
            "{collector}"
        );
    }
    drop(exporter);

    // Defaults: service-specific credentials on, SSH keys off.
    let exporter = Exporter::start(&[], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    assert!(!m.contains("aws_iam_ssh_public_key"), "{m}");
    assert!(!m.contains("operation=\"ListSSHPublicKeys\""), "{m}");
    assert!(
        m.contains("aws_iam_service_specific_credential_active{"),
        "{m}"
    );
    drop(exporter);

    let exporter = Exporter::start(&["--no-collector.service-specific-credentials"], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    assert!(!m.contains("aws_iam_service_specific_credential"), "{m}");
    assert!(
        !m.contains("operation=\"ListServiceSpecificCredentials\""),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_collector_enabled{collector="service-specific-credentials"}"#
        ),
        Some(0.0)
    );
}
