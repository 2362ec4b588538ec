//! The `roles` collector: every role with its creation and last use, read
//! from moto and, for pagination and errors, from the SDK's mock client
//! (moto answers GetAccountAuthorizationDetails in one page whatever
//! MaxItems says); its series, its failure isolation and its flag.

use crate::common;

use common::mock::{render, report_rules};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::{EntityType, RoleDetail, RoleLastUsed};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::exporter::{Exporter, run_tool, value};
use common::fixture::ts;
use common::moto::{DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, MotoServer};
use iam_credentials_exporter::accounts::Accounts;
use iam_credentials_exporter::accounts::Target;
use iam_credentials_exporter::aws::{ApiMetrics, CallError};
use iam_credentials_exporter::collectors::roles::{Role, RoleLastUse, list_roles};
use iam_credentials_exporter::collectors::{Collector, Collectors};
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::report::fetch::PollPolicy;
use iam_credentials_exporter::snapshot::Store;
use iam_credentials_exporter::source::{Source, SourceKinds};
use serde_json::json;

const ACCOUNT: &str = "123456789012";

/// An IAM client for moto made the exporter's way (calls counted in `api`).
fn moto_client(moto: &MotoServer, api: &ApiMetrics) -> Client {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            DUMMY_ACCESS_KEY_ID,
            DUMMY_SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        )))
        .build();
    iam_credentials_exporter::aws::iam_client(&sdk, api, 64 << 20)
}

fn requests(api: &ApiMetrics, operation: &str) -> u64 {
    api.requests
        .get_or_create(&[("operation", operation.to_owned())])
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_read_with_creation_and_last_use_in_one_call() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let moto = MotoServer::start(&json!({"accounts": [{"roles": [
        {"name": "deployer", "path": "/ci/", "created": "2024-03-01T00:00:00Z",
         "last_used": {"date": "2026-10-01T10:00:00Z", "region": "eu-west-1"},
         "inline_policies": {"read": policy}, "managed_policies": {"audit": policy},
         "instance_profile": true},
        {"name": "never-used", "created": "2026-11-01T00:00:00Z"},
        {"name": "AWSServiceRoleForAutoScaling", "service_linked": "autoscaling.amazonaws.com",
         "created": "2023-01-01T00:00:00Z",
         "last_used": {"date": "2026-11-29T23:59:59Z", "region": "us-east-2"}}
    ]}]}));
    let api = ApiMetrics::default();
    let roles = list_roles(&moto_client(&moto, &api), &api).await.unwrap();
    assert_eq!(
        roles,
        [
            Role {
                name: "AWSServiceRoleForAutoScaling".into(),
                arn: format!(
                    "arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
                ),
                path: "/aws-service-role/autoscaling.amazonaws.com/".into(),
                created: Some(1_672_531_200),
                last_used: Some(RoleLastUse {
                    at: 1_795_996_799,
                    region: "us-east-2".into()
                }),
                tags: None,
            },
            Role {
                name: "deployer".into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:role/ci/deployer"),
                path: "/ci/".into(),
                created: Some(1_709_251_200),
                last_used: Some(RoleLastUse {
                    at: 1_790_848_800,
                    region: "eu-west-1".into()
                }),
                tags: None,
            },
            Role {
                name: "never-used".into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:role/never-used"),
                path: "/".into(),
                created: Some(1_793_491_200),
                last_used: None,
                tags: None,
            },
        ]
    );
    // The hand-worked seconds above are the seed's dates.
    assert_eq!(roles[0].created, Some(ts("2023-01-01T00:00:00Z")));
    assert_eq!(
        roles[0].last_used.as_ref().unwrap().at,
        ts("2026-11-29T23:59:59Z")
    );
    assert_eq!(roles[1].created, Some(ts("2024-03-01T00:00:00Z")));
    assert_eq!(
        roles[1].last_used.as_ref().unwrap().at,
        ts("2026-10-01T10:00:00Z")
    );
    assert_eq!(roles[2].created, Some(ts("2026-11-01T00:00:00Z")));
    assert!(roles[0].is_service_linked() && !roles[1].is_service_linked());
    assert_eq!(requests(&api, "GetAccountAuthorizationDetails"), 1);
    assert_eq!(requests(&api, "GetRole"), 0);
    assert_eq!(requests(&api, "ListRoles"), 0);
}

fn detail(name: &str, created: i64, used: Option<(i64, Option<&str>)>) -> RoleDetail {
    let mut last = RoleLastUsed::builder();
    if let Some((at, region)) = used {
        last = last.last_used_date(DateTime::from_secs(at));
        if let Some(region) = region {
            last = last.region(region);
        }
    }
    RoleDetail::builder()
        .role_name(name)
        .path("/")
        .arn(format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
        .create_date(DateTime::from_secs(created))
        // AWS sends an empty RoleLastUsed element for a role not used
        // within its tracking window.
        .role_last_used(last.build())
        .build()
}

fn asks_for_roles(
    r: &aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsInput,
) -> bool {
    r.filter() == [EntityType::Role] && r.max_items() == Some(1000)
}

#[tokio::test]
async fn roles_are_read_across_pages() {
    let first = mock!(Client::get_account_authorization_details)
        .match_requests(|r| asks_for_roles(r) && r.marker().is_none())
        .then_output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                .role_detail_list(detail(
                    "b",
                    1_700_000_000,
                    Some((1_790_000_000, Some("eu-west-1"))),
                ))
                .role_detail_list(detail("a", 1_700_000_100, None))
                .is_truncated(true)
                .marker("page-2")
                .build()
        });
    let second = mock!(Client::get_account_authorization_details)
        .match_requests(|r| asks_for_roles(r) && r.marker() == Some("page-2"))
        .then_output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                // Used, but AWS gave no Region.
                .role_detail_list(detail("c", 1_700_000_200, Some((1_780_000_000, None))))
                .is_truncated(false)
                .build()
        });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
    let api = ApiMetrics::default();
    let roles = list_roles(&client, &api).await.unwrap();
    let got: Vec<_> = roles
        .iter()
        .map(|r| (r.name.as_str(), r.created, r.last_used.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("a", Some(1_700_000_100), None),
            (
                "b",
                Some(1_700_000_000),
                Some(RoleLastUse {
                    at: 1_790_000_000,
                    region: "eu-west-1".into()
                })
            ),
            (
                "c",
                Some(1_700_000_200),
                Some(RoleLastUse {
                    at: 1_780_000_000,
                    region: String::new()
                })
            ),
        ]
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_denied_call_names_the_permission_to_grant() {
    let denied = mock!(Client::get_account_authorization_details)
        .sequence()
        .http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                403.try_into().unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform iam:GetAccountAuthorizationDetails</Message></Error></ErrorResponse>",
                ),
            )
        })
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&denied]);
    let api = ApiMetrics::default();
    let err = list_roles(&client, &api).await.unwrap_err();
    assert!(
        matches!(&err, CallError::AccessDenied { action, .. } if *action == "iam:GetAccountAuthorizationDetails"),
        "{err}"
    );
    let errors = api
        .errors
        .get_or_create(&[
            ("operation", "GetAccountAuthorizationDetails".to_owned()),
            ("code", "AccessDenied".to_owned()),
        ])
        .get();
    assert_eq!(errors, 1);
}

/// A refresher of one account through `client`, with only the roles
/// collector, at the time `now` holds.
fn refresher(
    client: Client,
    kinds: SourceKinds,
    store: &Arc<Store>,
    api: &ApiMetrics,
    now: &Arc<AtomicI64>,
) -> Refresher {
    let now = Arc::clone(now);
    Refresher::new(
        Accounts::Static(vec![Arc::new(
            Target::new(
                ACCOUNT,
                Source::Aws {
                    client,
                    kinds,
                    poll: PollPolicy::default(),
                    concurrency: 4,
                },
            )
            .with_account_id(ACCOUNT)
            .with_collectors(Collectors::NONE.with(Collector::Roles, true)),
        )]),
        Arc::clone(store),
        api.clone(),
        Arc::new(move || now.load(Ordering::SeqCst)),
    )
    .with_timeout(Duration::from_secs(60))
}

/// The sample lines of the role families.
fn role_samples(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("aws_iam_role_"))
        .collect()
}

/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;

/// Every role series, values worked out by hand from the seed: idle time is
/// from last use, or from creation for a role AWS reports no use of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_series_worked_out_by_hand() {
    let moto = MotoServer::start(&json!({"accounts": [{"roles": [
        {"name": "deployer", "path": "/ci/", "created": "2024-03-01T00:00:00Z",
         "last_used": {"date": "2026-10-01T10:00:00Z", "region": "eu-west-1"}},
        {"name": "young", "created": "2026-11-01T00:00:00Z"},
        {"name": "forgotten", "created": "2025-01-01T00:00:00Z"},
        {"name": "AWSServiceRoleForAutoScaling", "service_linked": "autoscaling.amazonaws.com",
         "created": "2023-01-01T00:00:00Z",
         "last_used": {"date": "2026-11-29T23:59:59Z", "region": "us-east-2"}}
    ]}]}));
    let api = ApiMetrics::default();
    let store = Arc::new(Store::default());
    let now = Arc::new(AtomicI64::new(NOW));
    // The account's core is the key-level API (no users here): one
    // ListUsers call, so that the only other call is the collector's.
    let api_only = SourceKinds {
        report: false,
        api: true,
    };
    refresher(moto_client(&moto, &api), api_only, &store, &api, &now)
        .refresh_once()
        .await;
    let m = render(&store, NOW, &api, true);
    let a = "account_id=\"123456789012\"";
    let linked_arn = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
    let expected = [
        format!(
            "aws_iam_role_info{{{a},role=\"AWSServiceRoleForAutoScaling\",arn=\"{linked_arn}\",path=\"/aws-service-role/autoscaling.amazonaws.com/\"}} 1"
        ),
        format!(
            "aws_iam_role_info{{{a},role=\"deployer\",arn=\"arn:aws:iam::123456789012:role/ci/deployer\",path=\"/ci/\"}} 1"
        ),
        format!(
            "aws_iam_role_info{{{a},role=\"forgotten\",arn=\"arn:aws:iam::123456789012:role/forgotten\",path=\"/\"}} 1"
        ),
        format!(
            "aws_iam_role_info{{{a},role=\"young\",arn=\"arn:aws:iam::123456789012:role/young\",path=\"/\"}} 1"
        ),
        // 2023-01-01, 2024-03-01, 2025-01-01, 2026-11-01 at 00:00:00Z.
        format!(
            "aws_iam_role_created_timestamp_seconds{{{a},role=\"AWSServiceRoleForAutoScaling\"}} 1672531200"
        ),
        format!("aws_iam_role_created_timestamp_seconds{{{a},role=\"deployer\"}} 1709251200"),
        format!("aws_iam_role_created_timestamp_seconds{{{a},role=\"forgotten\"}} 1735689600"),
        format!("aws_iam_role_created_timestamp_seconds{{{a},role=\"young\"}} 1793491200"),
        // 2026-11-29T23:59:59Z and 2026-10-01T10:00:00Z; none for the others.
        format!(
            "aws_iam_role_last_used_timestamp_seconds{{{a},role=\"AWSServiceRoleForAutoScaling\"}} 1795996799"
        ),
        format!("aws_iam_role_last_used_timestamp_seconds{{{a},role=\"deployer\"}} 1790848800"),
        format!(
            "aws_iam_role_last_used_info{{{a},role=\"AWSServiceRoleForAutoScaling\",last_used_region=\"us-east-2\"}} 1"
        ),
        format!(
            "aws_iam_role_last_used_info{{{a},role=\"deployer\",last_used_region=\"eu-west-1\"}} 1"
        ),
        // 1 day and 1 s; 60 days and 14 h; 699 days; 30 days.
        format!("aws_iam_role_idle_seconds{{{a},role=\"AWSServiceRoleForAutoScaling\"}} 86401"),
        format!("aws_iam_role_idle_seconds{{{a},role=\"deployer\"}} 5234400"),
        format!("aws_iam_role_idle_seconds{{{a},role=\"forgotten\"}} 60393600"),
        format!("aws_iam_role_idle_seconds{{{a},role=\"young\"}} 2592000"),
    ];
    assert_eq!(role_samples(&m), expected, "{m}");
    // Well-formed for Prometheus's own linter (names, units, HELP and TYPE).
    let lint = run_tool(Path::new("promtool"), &["check", "metrics"], &m);
    assert!(
        !lint.contains("aws_iam_role") && !lint.contains("error"),
        "{lint}"
    );
    assert_eq!(requests(&api, "GetAccountAuthorizationDetails"), 1);
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_exporter_collector_success{{{a},collector=\"roles\"}}")
        ),
        Some(1.0)
    );

    // Ages are computed at scrape time, and left out with --metrics.ages=false.
    let later = render(&store, NOW + 60, &api, true);
    assert_eq!(
        value(
            &later,
            &format!("aws_iam_role_idle_seconds{{{a},role=\"young\"}}")
        ),
        Some(2_592_060.0)
    );
    let without = render(&store, NOW, &api, false);
    assert_eq!(role_samples(&without), expected[..12], "{without}");
    assert!(
        !without.contains("aws_iam_role_idle_seconds"),
        "no HELP either"
    );
}

const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
alice,arn:aws:iam::123456789012:user/alice,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

/// The roles call failing does not fail the account: its credential report
/// is published, the roles read last time are still served (and their idle
/// time keeps growing), and the collector's health says what happened.
#[tokio::test(start_paused = true)]
async fn a_failing_roles_call_keeps_the_last_roles_and_not_the_account() {
    let [generate, get] = report_rules(REPORT, Some(NOW - 600));
    let roles = mock!(Client::get_account_authorization_details)
        .sequence()
        .output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                .role_detail_list(detail("app", NOW - 1_000, Some((NOW - 100, Some("eu-west-1")))))
                .build()
        })
        .http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                500.try_into().unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>internal error</Message></Error></ErrorResponse>",
                ),
            )
        })
        .repeatedly()
        .build();
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&generate, &get, &roles],
        |c| c
            .retry_config(aws_sdk_iam::config::retry::RetryConfig::standard().with_max_attempts(2))
    );
    let api = ApiMetrics::default();
    let store = Arc::new(Store::default());
    let now = Arc::new(AtomicI64::new(NOW));
    let refresher = refresher(client, SourceKinds::REPORT, &store, &api, &now);
    let a = format!("account_id=\"{ACCOUNT}\"");
    let health = |name: &str| format!("{name}{{{a},collector=\"roles\"}}");
    let idle = format!("aws_iam_role_idle_seconds{{{a},role=\"app\"}}");

    refresher.refresh_once().await;
    let m = render(&store, NOW, &api, true);
    assert_eq!(value(&m, &idle), Some(100.0), "{m}");
    assert_eq!(
        value(&m, &health("aws_iam_exporter_collector_success")),
        Some(1.0)
    );

    now.store(NOW + 300, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = render(&store, NOW + 300, &api, true);
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_exporter_account_refresh_success{{{a}}}")
        ),
        Some(1.0),
        "{m}"
    );
    assert!(
        m.contains(&format!("aws_iam_user_info{{{a},user=\"alice\"")),
        "{m}"
    );
    assert_eq!(
        value(&m, &health("aws_iam_exporter_collector_success")),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            &health("aws_iam_exporter_collector_last_success_timestamp_seconds")
        ),
        Some(NOW as f64)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_role_last_used_timestamp_seconds{{{a},role=\"app\"}}")
        ),
        Some((NOW - 100) as f64),
        "last good data kept"
    );
    assert_eq!(value(&m, &idle), Some(400.0));
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_errors_total{operation="GetAccountAuthorizationDetails",code="ServiceFailure"}"#
        ),
        Some(1.0)
    );
    // One good call, then one failed call tried twice.
    assert_eq!(roles.num_calls(), 3);
}

/// The exporter binary reads roles by default, in one call per refresh that
/// authorization-details shares, and `--no-collector.roles` turns them off:
/// no role series, and no call once authorization-details is off too.
#[test]
fn roles_are_on_by_default_and_the_flag_turns_them_off() {
    let moto = MotoServer::start(&json!({"accounts": [{
        "users": [{"name": "alice"}],
        "roles": [{"name": "app", "created": "2025-06-01T00:00:00Z",
                   "last_used": {"date": "2026-11-01T00:00:00Z", "region": "eu-central-1"}}]
    }]}));
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = "account_id=\"123456789012\"";

    let exporter = Exporter::start(&[], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_role_created_timestamp_seconds{{{a},role=\"app\"}}")
        ),
        Some(1_748_736_000.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_role_last_used_info{{{a},role=\"app\",last_used_region=\"eu-central-1\"}}"
            )
        ),
        Some(1.0)
    );
    // One listing for roles and authorization-details, both on by default.
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_requests_total{operation="GetAccountAuthorizationDetails"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_collector_enabled{collector="roles"}"#
        ),
        Some(1.0)
    );
    drop(exporter);

    // authorization-details still reads the listing, for itself alone.
    let exporter = Exporter::start(&["--no-collector.roles"], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    assert!(!m.contains("aws_iam_role_"), "{m}");
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_requests_total{operation="GetAccountAuthorizationDetails"}"#
        ),
        Some(1.0)
    );
    drop(exporter);

    let exporter = Exporter::start(
        &[
            "--no-collector.roles",
            "--no-collector.authorization-details",
        ],
        &env,
    );
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    assert!(!m.contains("aws_iam_role_"), "{m}");
    assert!(
        !m.contains("operation=\"GetAccountAuthorizationDetails\""),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_collector_enabled{collector="roles"}"#
        ),
        Some(0.0)
    );
}

/// A role path may hold any printable ASCII character, `"` and `\` included
/// (IAM's pattern is `/[\u0021-\u007E]+/`): label values are escaped, and
/// Prometheus's linter accepts the result.
#[tokio::test]
async fn odd_role_paths_are_escaped() {
    let users = mock!(Client::list_users).then_output(|| {
        aws_sdk_iam::operation::list_users::ListUsersOutput::builder()
            .set_users(Some(Vec::new()))
            .build()
            .unwrap()
    });
    let roles = mock!(Client::get_account_authorization_details).then_output(|| {
        GetAccountAuthorizationDetailsOutput::builder()
            .role_detail_list(
                RoleDetail::builder()
                    .role_name("odd")
                    .path(r#"/q"b\s/"#)
                    .arn(format!(r#"arn:aws:iam::{ACCOUNT}:role/q"b\s/odd"#))
                    .create_date(DateTime::from_secs(NOW - 10))
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&users, &roles]);
    let api = ApiMetrics::default();
    let store = Arc::new(Store::default());
    let now = Arc::new(AtomicI64::new(NOW));
    let api_only = SourceKinds {
        report: false,
        api: true,
    };
    refresher(client, api_only, &store, &api, &now)
        .refresh_once()
        .await;
    let m = render(&store, NOW, &api, true);
    assert!(
        m.contains(&format!(
            r#"aws_iam_role_info{{account_id="{ACCOUNT}",role="odd",arn="arn:aws:iam::{ACCOUNT}:role/q\"b\\s/odd",path="/q\"b\\s/"}} 1"#
        )),
        "{m}"
    );
    let lint = run_tool(Path::new("promtool"), &["check", "metrics"], &m);
    assert!(!lint.contains("error"), "{lint}");
}
