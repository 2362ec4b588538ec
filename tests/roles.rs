//! The `roles` collector: every role with its creation and last use, read
//! from moto and, for pagination and errors, from the SDK's mock client
//! (moto answers GetAccountAuthorizationDetails in one page whatever
//! MaxItems says).

mod common;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::{EntityType, RoleDetail, RoleLastUsed};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::moto::{DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, MotoServer};
use iam_credentials_exporter::aws::{ApiMetrics, CallError};
use iam_credentials_exporter::collectors::roles::{Role, RoleLastUse, list_roles};
use iam_credentials_exporter::time::parse_rfc3339;
use serde_json::json;

const ACCOUNT: &str = "123456789012";

fn ts(s: &str) -> i64 {
    parse_rfc3339(s).unwrap()
}

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
            },
            Role {
                name: "never-used".into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:role/never-used"),
                path: "/".into(),
                created: Some(1_793_491_200),
                last_used: None,
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
