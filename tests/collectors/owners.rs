//! Owners: the `authorization-details` and `account-tags` collectors and the
//! listing `roles` shares, against the SDK's mock client (moto answers
//! GetAccountAuthorizationDetails in one page whatever MaxItems says):
//! pagination, the tags chosen as labels, one call where both collectors
//! read, and a failure shared by both.

use crate::common;

use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_account_authorization_details::{
    GetAccountAuthorizationDetailsInput, GetAccountAuthorizationDetailsOutput,
};
use aws_sdk_iam::types::{
    AttachedPolicy, EntityType, GroupDetail, PolicyDetail, RoleDetail, Tag, UserDetail,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use common::mock::aws_error;
use iam_credentials_exporter::aws::{ApiMetrics, CallError};
use iam_credentials_exporter::collectors::account_tags::{self, Member};
use iam_credentials_exporter::collectors::authorization_details::{
    self, Attachments, UserPolicies,
};
use iam_credentials_exporter::collectors::{
    self, Collected, Collection, Collector, Collectors, Context, Schedule, Tags,
};
use iam_credentials_exporter::exposition::tags::TagSelection;

const ACCOUNT: &str = "123456789012";
const NOW: i64 = 1_796_083_200;
const CLOUDSHELL: &str = "arn:aws:iam::aws:policy/AWSCloudShellFullAccess";
const SUPPORT: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

fn attached(arn: &str) -> AttachedPolicy {
    AttachedPolicy::builder().policy_arn(arn).build()
}

fn user(name: &str, groups: &[&str], inline: usize, policies: &[&str], tags: &[Tag]) -> UserDetail {
    let mut user = UserDetail::builder()
        .user_name(name)
        .set_group_list(Some(groups.iter().map(|g| (*g).to_owned()).collect()))
        .set_tags(Some(tags.to_vec()));
    for i in 0..inline {
        user = user.user_policy_list(PolicyDetail::builder().policy_name(format!("p{i}")).build());
    }
    for arn in policies {
        user = user.attached_managed_policies(attached(arn));
    }
    user.build()
}

fn role(name: &str, policies: &[&str], tags: &[Tag]) -> RoleDetail {
    RoleDetail::builder()
        .role_name(name)
        .arn(format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
        .path("/")
        .set_attached_managed_policies(Some(policies.iter().map(|a| attached(a)).collect()))
        .set_tags(Some(tags.to_vec()))
        .build()
}

fn asks_for(r: &GetAccountAuthorizationDetailsInput, filters: &[EntityType]) -> bool {
    r.filter() == filters && r.max_items() == Some(1000)
}

static ALL: [EntityType; 3] = [EntityType::User, EntityType::Group, EntityType::Role];
static ROLE: [EntityType; 1] = [EntityType::Role];

/// Two pages of users, groups and roles; `alice` moved between the pages
/// while they were read and appears on both.
fn two_pages(filters: &'static [EntityType]) -> (Rule, Rule) {
    let first = mock!(Client::get_account_authorization_details)
        .match_requests(move |r| asks_for(r, filters) && r.marker().is_none())
        .then_output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                .user_detail_list(user(
                    "bob",
                    &["devs"],
                    0,
                    &[],
                    &[tag("Team", "ops"), tag("team", "payments")],
                ))
                .user_detail_list(user("alice", &["admins", "devs"], 2, &[CLOUDSHELL], &[]))
                .group_detail_list(
                    GroupDetail::builder()
                        .group_name("admins")
                        .attached_managed_policies(attached(CLOUDSHELL))
                        .build(),
                )
                .role_detail_list(role("support", &[SUPPORT], &[tag("team", "ops")]))
                .is_truncated(true)
                .marker("page-2")
                .build()
        });
    let second = mock!(Client::get_account_authorization_details)
        .match_requests(move |r| asks_for(r, filters) && r.marker() == Some("page-2"))
        .then_output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                .user_detail_list(user("alice", &["admins", "devs"], 2, &[CLOUDSHELL], &[]))
                .user_detail_list(user(
                    "carol",
                    &[],
                    0,
                    // A customer managed policy of the same name is not AWS's.
                    &[
                        SUPPORT,
                        &format!("arn:aws:iam::{ACCOUNT}:policy/AWSCloudShellFullAccess"),
                    ],
                    &[tag("cost-center", "42")],
                ))
                .role_detail_list(role("deployer", &[CLOUDSHELL], &[]))
                .role_detail_list(role("support", &[SUPPORT], &[tag("team", "ops")]))
                .is_truncated(false)
                .build()
        });
    (first, second)
}

fn tags(users: &str, roles: &str) -> Tags {
    Tags {
        users: TagSelection::parse(users).unwrap(),
        roles: TagSelection::parse(roles).unwrap(),
        accounts: TagSelection::None,
    }
}

fn pairs(v: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
    )
}

fn requests(api: &ApiMetrics, operation: &str) -> u64 {
    api.requests
        .get_or_create(&[("operation", operation.to_owned())])
        .get()
}

#[tokio::test]
async fn users_groups_and_policies_are_read_across_pages_with_the_chosen_tags() {
    let (first, second) = two_pages(&ALL);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
    let api = ApiMetrics::default();
    let chosen = tags("team,cost-center", "");
    let data = authorization_details::collect(Context::new(&client, &api).with_tags(&chosen))
        .await
        .unwrap();
    let user = |name: &str, groups, inline, attached, tags| UserPolicies {
        name: name.into(),
        groups,
        inline,
        attached,
        tags,
    };
    assert_eq!(
        data.users,
        [
            user(
                "alice",
                2,
                2,
                1,
                pairs(&[("tag_cost_center", ""), ("tag_team", "")])
            ),
            // `Team` is not chosen: keys match as IAM spells them.
            user(
                "bob",
                1,
                0,
                0,
                pairs(&[("tag_cost_center", ""), ("tag_team", "payments")])
            ),
            user(
                "carol",
                0,
                0,
                2,
                pairs(&[("tag_cost_center", "42"), ("tag_team", "")])
            ),
        ]
    );
    assert_eq!(
        data.attachments,
        [
            Attachments {
                policy: "AWSCloudShellFullAccess",
                users: 1,
                groups: 1,
                roles: 1,
            },
            Attachments {
                policy: "AWSSupportAccess",
                users: 1,
                groups: 0,
                roles: 1,
            },
        ]
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn without_chosen_tags_no_user_has_a_tag_series() {
    let (first, second) = two_pages(&ALL);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
    let api = ApiMetrics::default();
    let data = authorization_details::collect(Context::new(&client, &api))
        .await
        .unwrap();
    assert!(data.users.iter().all(|u| u.tags.is_none()));
}

fn both() -> Collectors {
    Collectors::NONE
        .with(Collector::Roles, true)
        .with(Collector::AuthorizationDetails, true)
}

/// A successful read of `data` at `at`, as a published snapshot holds it.
fn read_at<T>(data: T, at: i64) -> Option<Collection<T>> {
    Some(Collection {
        data: Some(data),
        success: true,
        last_success: Some(at),
        duration: Duration::ZERO,
        reused: false,
    })
}

#[tokio::test]
async fn roles_and_authorization_details_share_one_listing_where_both_read() {
    let (first, second) = two_pages(&ALL);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
    let api = ApiMetrics::default();
    let chosen = tags("team", "team");
    let ctx = Context::new(&client, &api).with_tags(&chosen);
    let collected = collectors::collect(both(), &Schedule::every_refresh(), None, NOW, ctx).await;
    // One listing of two pages, not one per collector.
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    let roles = collected.roles.unwrap().data.unwrap();
    let got: Vec<_> = roles
        .iter()
        .map(|r| (r.name.as_str(), r.tags.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("deployer", pairs(&[("tag_team", "")])),
            ("support", pairs(&[("tag_team", "ops")])),
        ]
    );
    let details = collected.authorization_details.unwrap().data.unwrap();
    assert_eq!(details.users.len(), 3);
    assert_eq!(details.attachments[1].roles, 1);
}

#[tokio::test]
async fn a_collector_that_reads_alone_lists_only_what_it_needs() {
    // roles' last read is young, authorization-details' is due: the listing
    // still holds roles (authorization-details counts their policies).
    let (first, second) = two_pages(&ALL);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
    let api = ApiMetrics::default();
    let schedule = Schedule::every_refresh().with(Collector::Roles, Duration::from_secs(3600));
    let before = Collected {
        roles: read_at(Vec::new(), NOW - 60),
        authorization_details: read_at(Default::default(), NOW - 60),
        ..Collected::default()
    };
    let ctx = Context::new(&client, &api);
    let collected = collectors::collect(both(), &schedule, Some(&before), NOW, ctx).await;
    assert!(collected.roles.unwrap().reused);
    assert_eq!(
        collected
            .authorization_details
            .unwrap()
            .data
            .unwrap()
            .users
            .len(),
        3
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));

    // The other way round: roles alone ask for roles alone.
    let (first, second) = two_pages(&ROLE);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
    let schedule =
        Schedule::every_refresh().with(Collector::AuthorizationDetails, Duration::from_secs(3600));
    let ctx = Context::new(&client, &api);
    let collected = collectors::collect(both(), &schedule, Some(&before), NOW, ctx).await;
    assert!(collected.authorization_details.unwrap().reused);
    assert_eq!(collected.roles.unwrap().data.unwrap().len(), 2);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_refused_shared_listing_fails_both_collectors_and_is_counted_once() {
    let denied = mock!(Client::get_account_authorization_details)
        .then_http_response(|| aws_error(403, "AccessDenied"));
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&denied]);
    let api = ApiMetrics::default();
    let ctx = Context::new(&client, &api);
    let collected = collectors::collect(both(), &Schedule::every_refresh(), None, NOW, ctx).await;
    assert!(!collected.roles.unwrap().success);
    assert!(!collected.authorization_details.unwrap().success);
    assert_eq!(denied.num_calls(), 1);
    let errors = api
        .errors
        .get_or_create(&[
            ("operation", "GetAccountAuthorizationDetails".to_owned()),
            ("code", "AccessDenied".to_owned()),
        ])
        .get();
    assert_eq!(errors, 1);
    // Either collector says which permission to grant.
    let err = authorization_details::read(ctx, &[EntityType::User])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::AccessDenied { action, .. } if *action == "iam:GetAccountAuthorizationDetails"),
        "{err}"
    );
}

fn organizations(rules: &[&Rule], api: &ApiMetrics) -> aws_sdk_organizations::Client {
    mock_client!(aws_sdk_organizations, RuleMode::MatchAny, rules, |c| c
        .interceptor(iam_credentials_exporter::aws::call_counter(api)))
}

#[tokio::test]
async fn account_tags_are_read_from_the_management_account_across_pages() {
    use aws_sdk_organizations::operation::list_tags_for_resource::ListTagsForResourceOutput;
    let org_tag = |k: &str, v: &str| {
        aws_sdk_organizations::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    let first = mock!(aws_sdk_organizations::Client::list_tags_for_resource)
        .match_requests(|r| r.resource_id() == Some(ACCOUNT) && r.next_token().is_none())
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .tags(org_tag("team", "payments"))
                .next_token("t2")
                .build()
        });
    let second = mock!(aws_sdk_organizations::Client::list_tags_for_resource)
        .match_requests(|r| r.resource_id() == Some(ACCOUNT) && r.next_token() == Some("t2"))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .tags(org_tag("owner:email", "pay@example.com"))
                .build()
        });
    let api = ApiMetrics::default();
    let member = Member {
        organizations: organizations(&[&first, &second], &api),
        account_id: ACCOUNT.to_owned(),
    };
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, []);
    let chosen = Tags {
        accounts: TagSelection::parse("team,owner:email,cost-center").unwrap(),
        ..Tags::default()
    };
    let ctx = Context::new(&iam, &api).with_tags(&chosen);
    let read = account_tags::collect(ctx.with_member(Some(&member)))
        .await
        .unwrap();
    assert_eq!(
        read,
        pairs(&[
            ("tag_cost_center", ""),
            ("tag_owner_email", "pay@example.com"),
            ("tag_team", "payments"),
        ])
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(requests(&api, "ListTagsForResource"), 2);

    // An account not found through Organizations has none: every chosen
    // label empty, without a call.
    let read = account_tags::collect(ctx).await.unwrap();
    assert_eq!(
        read,
        pairs(&[
            ("tag_cost_center", ""),
            ("tag_owner_email", ""),
            ("tag_team", "")
        ])
    );
    assert_eq!(requests(&api, "ListTagsForResource"), 2);
}

#[tokio::test]
async fn a_refused_tag_listing_names_the_permission_to_grant() {
    let denied =
        mock!(aws_sdk_organizations::Client::list_tags_for_resource).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                400.try_into().unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    r#"{"__type":"AccessDeniedException","message":"not authorized"}"#,
                ),
            )
        });
    let api = ApiMetrics::default();
    let member = Member {
        organizations: organizations(&[&denied], &api),
        account_id: ACCOUNT.to_owned(),
    };
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, []);
    let chosen = Tags {
        accounts: TagSelection::parse("team").unwrap(),
        ..Tags::default()
    };
    let ctx = Context::new(&iam, &api)
        .with_tags(&chosen)
        .with_member(Some(&member));
    let err = account_tags::collect(ctx).await.unwrap_err();
    assert!(
        matches!(&err, CallError::AccessDenied { action, .. } if *action == "organizations:ListTagsForResource"),
        "{err}"
    );
}

/// `--metrics.access-key-id` rewrites the ids the collectors read, in the
/// one place access key ids are rewritten, once: a read kept from an
/// earlier refresh is not rewritten again.
#[tokio::test]
async fn every_credential_id_the_collectors_read_is_masked_once() {
    use aws_sdk_iam::operation::list_service_specific_credentials::ListServiceSpecificCredentialsOutput;
    use aws_sdk_iam::operation::list_ssh_public_keys::ListSshPublicKeysOutput;
    use aws_sdk_iam::operation::list_users::ListUsersOutput;
    use aws_sdk_iam::primitives::DateTime;
    use aws_sdk_iam::types::{
        ServiceSpecificCredentialMetadata, SshPublicKeyMetadata, StatusType, User,
    };
    use iam_credentials_exporter::model::AccountData;
    use iam_credentials_exporter::refresh::KeyIdMode;

    let users = mock!(Client::list_users).then_output(|| {
        ListUsersOutput::builder()
            .users(
                User::builder()
                    .user_name("alice")
                    .user_id("AIDAALICE")
                    .arn(format!("arn:aws:iam::{ACCOUNT}:user/alice"))
                    .path("/")
                    .create_date(DateTime::from_secs(1_700_000_000))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    });
    let ssh = mock!(Client::list_ssh_public_keys).then_output(|| {
        let key = |id: &str, uploaded: i64| {
            SshPublicKeyMetadata::builder()
                .user_name("alice")
                .ssh_public_key_id(id)
                .status(StatusType::Active)
                .upload_date(DateTime::from_secs(uploaded))
                .build()
                .unwrap()
        };
        ListSshPublicKeysOutput::builder()
            // Listed out of upload order; two end alike.
            .ssh_public_keys(key("APKAALICE2ABCD", 1_700_000_300))
            .ssh_public_keys(key("APKAALICE10001", 1_700_000_200))
            .ssh_public_keys(key("APKAALICE00001", 1_700_000_100))
            .build()
    });
    let credentials = mock!(Client::list_service_specific_credentials).then_output(|| {
        ListServiceSpecificCredentialsOutput::builder()
            .service_specific_credentials(
                ServiceSpecificCredentialMetadata::builder()
                    .user_name("alice")
                    .status(StatusType::Active)
                    .service_user_name("alice-at-1")
                    .create_date(DateTime::from_secs(1_700_000_000))
                    .service_specific_credential_id("ACCAALICE9876")
                    .service_name("bedrock.amazonaws.com")
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&users, &ssh, &credentials]
    );
    let api = ApiMetrics::default();
    let enabled = Collectors::NONE
        .with(Collector::SshPublicKeys, true)
        .with(Collector::ServiceSpecificCredentials, true);
    let read = |mode: KeyIdMode| {
        let (client, api) = (&client, &api);
        async move {
            let ctx = Context::new(client, api);
            let mut collected =
                collectors::collect(enabled, &Schedule::every_refresh(), None, NOW, ctx).await;
            mode.apply(&mut AccountData::default(), &mut collected);
            collected
        }
    };
    let ids = |collected: &Collected| {
        let ssh = collected
            .ssh_public_keys
            .as_ref()
            .unwrap()
            .data
            .as_ref()
            .unwrap();
        let ssc = collected
            .service_specific_credentials
            .as_ref()
            .unwrap()
            .data
            .as_ref()
            .unwrap();
        (
            ssh.keys.iter().map(|k| k.id.clone()).collect::<Vec<_>>(),
            ssc.credentials
                .iter()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>(),
        )
    };

    let masked = read(KeyIdMode::Masked).await;
    // Sorted by id; the two ending in 0001 carry their upload order.
    assert_eq!(
        ids(&masked),
        (
            vec![
                "**********0001-1".to_owned(),
                "**********0001-2".to_owned(),
                "**********ABCD".to_owned()
            ],
            vec!["*********9876".to_owned()]
        )
    );
    let omitted = read(KeyIdMode::Omit).await;
    assert_eq!(
        ids(&omitted),
        (
            vec!["1".to_owned(), "2".to_owned(), "3".to_owned()],
            vec!["1".to_owned()]
        )
    );
    let full = read(KeyIdMode::Full).await;
    assert_eq!(ids(&full).1, ["ACCAALICE9876"]);

    // A reused read was rewritten when it was read.
    let mut kept = masked.clone();
    kept.ssh_public_keys.as_mut().unwrap().reused = true;
    kept.service_specific_credentials.as_mut().unwrap().reused = true;
    KeyIdMode::Masked.apply(&mut AccountData::default(), &mut kept);
    assert_eq!(ids(&kept), ids(&masked));
}
