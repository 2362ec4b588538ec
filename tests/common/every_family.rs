//! The fixture of the golden exposition that serves every family: an
//! organization of two accounts read through the SDK's mock client with
//! every collector on and data for each, plus an account that cannot be
//! read, at a fixed time.
//!
//! - `111122223333` (management): the credential report of
//!   `tests/fixtures/every_family/management.csv` (one row unusable) and
//!   every collector but root-credentials, which never audits the
//!   management account; the organization's features are read with its
//!   client, as account discovery does.
//! - `210987654321` (member): its report, every collector, no password
//!   policy, server certificates refused, and a root-credentials audit that
//!   finds a password, keys, an MFA device and a certificate.
//! - `210987654322`: cannot be resolved, so it fails and has no data.
//!
//! Users, roles and accounts have tags, chosen with keys that collide
//! (`cost-center`, `CostCenter`); the member's Organizations tags are read
//! as account discovery sets it up, the management account has none.
//!
//! The exposition is built as `iam_credentials_exporter::run` builds it
//! (API counters, settings, organization features). This module is where
//! the tests of the golden exposition name the crate's internals.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyOutput;
use aws_sdk_iam::operation::get_login_profile::GetLoginProfileOutput;
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_mfa_devices::ListMfaDevicesOutput;
use aws_sdk_iam::operation::list_organizations_features::ListOrganizationsFeaturesOutput;
use aws_sdk_iam::operation::list_server_certificates::ListServerCertificatesOutput;
use aws_sdk_iam::operation::list_service_specific_credentials::ListServiceSpecificCredentialsOutput;
use aws_sdk_iam::operation::list_signing_certificates::ListSigningCertificatesOutput;
use aws_sdk_iam::operation::list_ssh_public_keys::ListSshPublicKeysOutput;
use aws_sdk_iam::operation::list_users::ListUsersOutput;
use aws_sdk_iam::operation::list_virtual_mfa_devices::ListVirtualMfaDevicesOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::{
    AccessKeyMetadata, AttachedPolicy, FeatureType, GroupDetail, LoginProfile, MfaDevice,
    PasswordPolicy, PolicyDetail, RoleDetail, RoleLastUsed, ServerCertificateMetadata,
    ServiceSpecificCredentialMetadata, SigningCertificate, SshPublicKeyMetadata, StatusType, Tag,
    User, UserDetail, VirtualMfaDevice,
};
use aws_sdk_sts::operation::assume_root::AssumeRootOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use iam_credentials_exporter::accounts::Accounts;
use iam_credentials_exporter::accounts::Target;
use iam_credentials_exporter::aws::{ApiMetrics, call_counter};
use iam_credentials_exporter::collectors::account_tags::Member;
use iam_credentials_exporter::collectors::root_credentials::{
    Audits, RootSession, organization_features,
};
use iam_credentials_exporter::collectors::{Collector, Collectors, SPECS, Tags};
use iam_credentials_exporter::exposition::Format;
use iam_credentials_exporter::exposition::tags::TagSelection;
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::metrics::settings::SettingsFamilies;
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::report::fetch::PollPolicy;
use iam_credentials_exporter::snapshot::{Snapshot, Store};
use iam_credentials_exporter::source::{Source, SourceKinds};
use iam_credentials_exporter::time::Clock;

use super::exporter::repo;
use super::mock::{aws_error, report_rules};

/// 2026-11-29T00:00:00Z: the time of the scrape.
pub const NOW: i64 = 1_795_910_400;
/// The refresh, one minute before the scrape.
pub const REFRESHED: i64 = NOW - 60;
pub const MANAGEMENT: &str = "111122223333";
pub const MEMBER: &str = "210987654321";
pub const UNREADABLE: &str = "210987654322";

const DAY: i64 = 86_400;

/// The exposition of the fixture, in both formats.
pub struct Rendered {
    pub text: String,
    pub openmetrics: String,
}

/// Refreshes the fixture's accounts once and renders what a scrape at
/// [`NOW`] gets.
pub async fn render() -> Rendered {
    let api = ApiMetrics::default();
    let management = iam(management_rules(), &api);
    let member = iam(member_rules(), &api);
    let organization = organization_features(&management, &api)
        .await
        .expect("ListOrganizationsFeatures");
    let clock: Clock = Arc::new(|| REFRESHED);
    let root = RootSession {
        sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&assume_root()], |c| c
            .interceptor(call_counter(&api))),
        partition: "aws".to_owned(),
        account_id: MEMBER.to_owned(),
        audits: Arc::new(Audits::default()),
        interval: Duration::from_secs(6 * 3600),
        clock: Arc::clone(&clock),
    };
    let every = SPECS
        .iter()
        .fold(Collectors::NONE, |set, s| set.with(s.collector, true));
    let store = Arc::new(Store::default());
    let refresher = Refresher::new(
        Accounts::Static(vec![
            target(
                MANAGEMENT,
                "Management",
                aws(management),
                every.with(Collector::RootCredentials, false),
                None,
            ),
            Arc::new(
                Arc::into_inner(target(MEMBER, "Prod", aws(member), every, Some(root)))
                    .unwrap()
                    .with_member(Some(Member {
                        organizations: organizations(&api),
                        account_id: MEMBER.to_owned(),
                    })),
            ),
            target(
                UNREADABLE,
                "Sandbox",
                Source::Unresolved("cannot assume the role".to_owned()),
                Collectors::NONE,
                None,
            ),
        ]),
        Arc::clone(&store),
        api.clone(),
        clock,
    )
    .with_timeout(Duration::from_secs(60))
    .with_tags(tags());
    refresher.refresh_once().await;
    // As discovery publishes what the management account said of the
    // organization's features.
    store.publish(Snapshot {
        accounts: store.load().accounts.clone(),
        organization: Some(organization),
    });

    let interval = Duration::from_secs(300);
    let mut exposition = Exposition::new(Arc::clone(&store), Arc::new(|| NOW), interval, &api);
    exposition.registry_mut().register_collector(Box::new(
        SettingsFamilies::new(interval, false, SourceKinds::REPORT)
            .with_collectors(every)
            .with_shard(3, 1),
    ));
    let snapshot = exposition.snapshot();
    let render = |format| exposition.render(&snapshot, format).unwrap();
    Rendered {
        text: render(Format::Text),
        openmetrics: render(Format::OpenMetrics),
    }
}

/// The tags the fixture chooses: two user tag keys that sanitize alike.
pub fn tags() -> Tags {
    let parse = |list| TagSelection::parse(list).unwrap();
    Tags {
        users: parse("team,cost-center,CostCenter"),
        roles: parse("team"),
        accounts: parse("team,owner"),
    }
}

/// The management account's Organizations client: the member's tags.
fn organizations(api: &ApiMetrics) -> aws_sdk_organizations::Client {
    use aws_sdk_organizations::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_organizations::types::Tag;
    let tags = mock!(aws_sdk_organizations::Client::list_tags_for_resource)
        .match_requests(|r| r.resource_id() == Some(MEMBER))
        .then_output(|| {
            let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
            ListTagsForResourceOutput::builder()
                .tags(tag("team", "payments"))
                .tags(tag("environment", "prod"))
                .build()
        });
    mock_client!(aws_sdk_organizations, RuleMode::MatchAny, [&tags], |c| c
        .interceptor(call_counter(api)))
}

fn iam(rules: Vec<Rule>, api: &ApiMetrics) -> Client {
    mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules.iter(), |c| c
        .interceptor(call_counter(api)))
}

fn aws(client: Client) -> Source {
    Source::Aws {
        client,
        kinds: SourceKinds::REPORT,
        poll: PollPolicy::default(),
        concurrency: 2,
    }
}

fn target(
    id: &str,
    name: &str,
    source: Source,
    collectors: Collectors,
    root: Option<RootSession>,
) -> Arc<Target> {
    Arc::new(
        Target::new(id, source)
            .with_account_id(id)
            .with_name(name)
            .with_collectors(collectors)
            .with_root_session(root.map(Arc::new)),
    )
}

fn report(name: &str) -> Vec<Rule> {
    let path = repo().join("tests/fixtures/every_family").join(name);
    let csv = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    report_rules(csv, Some(NOW - 3_600)).into()
}

fn at(t: i64) -> DateTime {
    DateTime::from_secs(t)
}

fn user(account: &str, path: &str, name: &str) -> User {
    User::builder()
        .user_name(name)
        .user_id(format!("AIDA{}", name.to_uppercase().replace('-', "")))
        .arn(format!("arn:aws:iam::{account}:user{path}{name}"))
        .path(path)
        .create_date(at(1_704_067_200))
        .build()
        .unwrap()
}

fn users(users: Vec<User>) -> Rule {
    mock!(Client::list_users).then_output(move || {
        ListUsersOutput::builder()
            .set_users(Some(users.clone()))
            .build()
            .unwrap()
    })
}

fn ssh_key(user: &str, id: &str, status: StatusType, uploaded: i64) -> SshPublicKeyMetadata {
    SshPublicKeyMetadata::builder()
        .user_name(user)
        .ssh_public_key_id(id)
        .status(status)
        .upload_date(at(uploaded))
        .build()
        .unwrap()
}

fn no_ssh_keys() -> Rule {
    mock!(Client::list_ssh_public_keys).then_output(|| ListSshPublicKeysOutput::builder().build())
}

fn credential(
    account: &str,
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
        .service_user_name(format!("{user}-at-{account}"))
        .create_date(at(created))
        .set_expiration_date(expires.map(at))
        .service_specific_credential_id(id)
        .service_name(service)
        .build()
        .unwrap()
}

fn no_service_credentials() -> Rule {
    mock!(Client::list_service_specific_credentials)
        .then_output(|| ListServiceSpecificCredentialsOutput::builder().build())
}

fn virtual_device(account: &str, serial: &str, arn: &str, name: &str) -> VirtualMfaDevice {
    VirtualMfaDevice::builder()
        .serial_number(format!("arn:aws:iam::{account}:mfa/{serial}"))
        .user(
            User::builder()
                .path("/")
                .user_name(name)
                .user_id("AIDAEXAMPLE")
                .arn(arn)
                .create_date(at(1_704_067_200))
                .build()
                .unwrap(),
        )
        .enable_date(at(1_704_067_200))
        .build()
        .unwrap()
}

fn role(name: &str, path: &str, created: i64, used: Option<(i64, Option<&str>)>) -> RoleDetail {
    let mut last = RoleLastUsed::builder();
    if let Some((t, region)) = used {
        last = last.last_used_date(at(t));
        if let Some(region) = region {
            last = last.region(region);
        }
    }
    RoleDetail::builder()
        .role_name(name)
        .path(path)
        .arn(format!("arn:aws:iam::{MANAGEMENT}:role{path}{name}"))
        .create_date(at(created))
        .role_last_used(last.build())
        .build()
}

const CLOUDSHELL: &str = "arn:aws:iam::aws:policy/AWSCloudShellFullAccess";
const SUPPORT: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

fn attached(arn: &str) -> AttachedPolicy {
    AttachedPolicy::builder()
        .policy_arn(arn)
        .policy_name(arn.rsplit('/').next().unwrap())
        .build()
}

/// A user of the management account in `groups`, with `inline` inline
/// policies and the managed policies `attached`.
fn user_detail(
    name: &str,
    groups: &[&str],
    inline: usize,
    attached_arns: &[&str],
) -> aws_sdk_iam::types::builders::UserDetailBuilder {
    let mut user = UserDetail::builder()
        .user_name(name)
        .arn(format!("arn:aws:iam::{MANAGEMENT}:user/{name}"))
        .set_group_list(Some(groups.iter().map(|g| (*g).to_owned()).collect()));
    for i in 0..inline {
        user = user.user_policy_list(
            PolicyDetail::builder()
                .policy_name(format!("inline-{i}"))
                .build(),
        );
    }
    for arn in attached_arns {
        user = user.attached_managed_policies(attached(arn));
    }
    user
}

fn server_certificate(
    name: &str,
    id: &str,
    uploaded: i64,
    expires: i64,
) -> ServerCertificateMetadata {
    ServerCertificateMetadata::builder()
        .path("/")
        .server_certificate_name(name)
        .server_certificate_id(id)
        .arn(format!(
            "arn:aws:iam::{MANAGEMENT}:server-certificate/{name}"
        ))
        .upload_date(at(uploaded))
        .expiration(at(expires))
        .build()
        .unwrap()
}

/// The management account: report, organization features, and data for
/// every collector but root-credentials.
fn management_rules() -> Vec<Rule> {
    const ACCOUNT: &str = MANAGEMENT;
    let mut rules = report("management.csv");
    rules.push(account_summary(Some(0), 996));
    rules.push(mock!(Client::list_organizations_features).then_output(|| {
        ListOrganizationsFeaturesOutput::builder()
            .organization_id("o-abcdefghij")
            .enabled_features(FeatureType::RootCredentialsManagement)
            .build()
    }));
    rules.push(mock!(Client::get_account_password_policy).then_output(|| {
        GetAccountPasswordPolicyOutput::builder()
            .password_policy(
                PasswordPolicy::builder()
                    .minimum_password_length(14)
                    .require_symbols(true)
                    .require_numbers(true)
                    .require_uppercase_characters(true)
                    .require_lowercase_characters(false)
                    .allow_users_to_change_password(true)
                    .expire_passwords(true)
                    .max_password_age(90)
                    .password_reuse_prevention(24)
                    .hard_expiry(false)
                    .build(),
            )
            .build()
    }));
    rules.push(
        mock!(Client::get_account_authorization_details).then_output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                .user_detail_list(
                    user_detail("alice", &["admins"], 1, &[CLOUDSHELL])
                        .tags(tag("team", "payments"))
                        .build(),
                )
                .user_detail_list(user_detail("bob", &["ops"], 0, &[]).build())
                .user_detail_list(
                    user_detail(
                        "ci-deployer",
                        &[],
                        0,
                        &[&format!("arn:aws:iam::{ACCOUNT}:policy/deploy")],
                    )
                    .tags(tag("CostCenter", "4711"))
                    .tags(tag("cost-center", "42"))
                    .build(),
                )
                .group_detail_list(
                    GroupDetail::builder()
                        .group_name("admins")
                        .attached_managed_policies(attached(CLOUDSHELL))
                        .build(),
                )
                .group_detail_list(GroupDetail::builder().group_name("ops").build())
                .role_detail_list({
                    let mut support = role("support", "/", 1_735_689_600, None);
                    support.attached_managed_policies = Some(vec![attached(SUPPORT)]);
                    support.tags = Some(vec![tag("team", "security")]);
                    support
                })
                .role_detail_list(role(
                    "deployer",
                    "/ci/",
                    1_709_251_200,
                    Some((NOW - 2 * DAY, Some("eu-west-1"))),
                ))
                .role_detail_list(role(
                    "AWSServiceRoleForSupport",
                    "/aws-service-role/support.amazonaws.com/",
                    1_672_531_200,
                    None,
                ))
                .role_detail_list(role(
                    "auditor",
                    "/",
                    1_735_689_600,
                    Some((NOW - 30 * DAY, None)),
                ))
                .build()
        }),
    );
    rules.push(mock!(Client::list_virtual_mfa_devices).then_output(|| {
        ListVirtualMfaDevicesOutput::builder()
            .virtual_mfa_devices(virtual_device(
                ACCOUNT,
                "root-account-mfa-device",
                &format!("arn:aws:iam::{ACCOUNT}:root"),
                "",
            ))
            .virtual_mfa_devices(virtual_device(
                ACCOUNT,
                "alice-phone",
                &format!("arn:aws:iam::{ACCOUNT}:user/alice"),
                "alice",
            ))
            .build()
            .unwrap()
    }));
    rules.push(mock!(Client::list_server_certificates).then_output(|| {
        ListServerCertificatesOutput::builder()
            .server_certificate_metadata_list(server_certificate(
                "web",
                "ASCAWEB",
                NOW - 200 * DAY,
                NOW + 165 * DAY,
            ))
            .server_certificate_metadata_list(server_certificate(
                "legacy",
                "ASCALEGACY",
                1_600_000_000,
                1_650_000_000,
            ))
            .build()
            .unwrap()
    }));
    rules.push(users(vec![
        user(ACCOUNT, "/", "alice"),
        user(ACCOUNT, "/ops/", "bob"),
        user(ACCOUNT, "/ci/", "ci-deployer"),
    ]));
    rules.push(
        mock!(Client::list_ssh_public_keys)
            .match_requests(|r| r.user_name() == Some("alice"))
            .then_output(|| {
                ListSshPublicKeysOutput::builder()
                    .ssh_public_keys(ssh_key(
                        "alice",
                        "APKAALICE1",
                        StatusType::Active,
                        NOW - 90 * DAY,
                    ))
                    .ssh_public_keys(ssh_key(
                        "alice",
                        "APKAALICE2",
                        StatusType::Inactive,
                        NOW - 400 * DAY,
                    ))
                    .build()
            }),
    );
    rules.push(no_ssh_keys());
    // One listing of every service, as IAM answers it.
    rules.push(
        mock!(Client::list_service_specific_credentials)
            .match_requests(|r| r.service_name().is_none() && r.all_users() == Some(true))
            .then_output(|| {
                ListServiceSpecificCredentialsOutput::builder()
                    .service_specific_credentials(credential(
                        ACCOUNT,
                        "bob",
                        "bedrock.amazonaws.com",
                        "ACCABOBBEDROCK",
                        StatusType::Active,
                        NOW - 20 * DAY,
                        Some(NOW + 10 * DAY),
                    ))
                    .service_specific_credentials(credential(
                        ACCOUNT,
                        "ci-deployer",
                        "bedrock.amazonaws.com",
                        "ACCACIBEDROCK",
                        StatusType::Expired,
                        NOW - 60 * DAY,
                        Some(NOW - 30 * DAY),
                    ))
                    .service_specific_credentials(credential(
                        ACCOUNT,
                        "alice",
                        "codecommit.amazonaws.com",
                        "ACCAALICECODECOMMIT",
                        StatusType::Inactive,
                        NOW - 500 * DAY,
                        None,
                    ))
                    .build()
            }),
    );
    rules.push(no_service_credentials());
    rules
}

/// `iam:GetAccountSummary`: `password` is `AccountPasswordPresent`, left out
/// as moto leaves it out when `None`.
fn account_summary(password: Option<i32>, roles: i32) -> Rule {
    use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput;
    use aws_sdk_iam::types::SummaryKeyType as Key;
    mock!(Client::get_account_summary).then_output(move || {
        let summary = GetAccountSummaryOutput::builder()
            .summary_map(Key::AccountMfaEnabled, 1)
            .summary_map(Key::AccountAccessKeysPresent, 0)
            .summary_map(Key::AccountSigningCertificatesPresent, 0)
            .summary_map(Key::Users, 3)
            .summary_map(Key::UsersQuota, 5000)
            .summary_map(Key::Roles, roles)
            .summary_map(Key::RolesQuota, 1000)
            .summary_map(Key::Groups, 1)
            .summary_map(Key::GroupsQuota, 300)
            .summary_map(Key::Policies, 12)
            .summary_map(Key::PoliciesQuota, 1500)
            .summary_map(Key::InstanceProfiles, 2)
            .summary_map(Key::InstanceProfilesQuota, 1000)
            .summary_map(Key::ServerCertificates, 1)
            .summary_map(Key::ServerCertificatesQuota, 20)
            .summary_map(Key::PolicyVersionsInUse, 30)
            .summary_map(Key::PolicyVersionsInUseQuota, 10000)
            .summary_map(Key::MfaDevices, 2);
        match password {
            Some(p) => summary.summary_map(Key::AccountPasswordPresent, p).build(),
            None => summary.build(),
        }
    })
}

/// The member account: report, no password policy, no role, device, SSH
/// key or service credential, server certificates refused (the collector
/// fails and has no data to keep), and what its root holds.
fn member_rules() -> Vec<Rule> {
    let mut rules = report("member.csv");
    rules.push(account_summary(None, 4));
    rules.push(
        mock!(Client::get_account_password_policy)
            .then_http_response(|| aws_error(404, "NoSuchEntity")),
    );
    rules.push(
        mock!(Client::get_account_authorization_details)
            .then_output(|| GetAccountAuthorizationDetailsOutput::builder().build()),
    );
    rules.push(mock!(Client::list_virtual_mfa_devices).then_output(|| {
        ListVirtualMfaDevicesOutput::builder()
            .set_virtual_mfa_devices(Some(Vec::new()))
            .build()
            .unwrap()
    }));
    rules.push(
        mock!(Client::list_server_certificates)
            .then_http_response(|| aws_error(403, "AccessDenied")),
    );
    rules.push(users(vec![user(MEMBER, "/", "carol")]));
    rules.push(no_ssh_keys());
    rules.push(no_service_credentials());
    rules.extend(root_rules());
    rules
}

/// The reads of the root session (no user name): a password, an active and
/// an inactive access key, one MFA device and an active signing certificate.
fn root_rules() -> Vec<Rule> {
    vec![
        mock!(Client::get_login_profile)
            .match_requests(|r| r.user_name().is_none())
            .then_output(|| {
                GetLoginProfileOutput::builder()
                    .login_profile(
                        LoginProfile::builder()
                            .user_name("")
                            .create_date(at(1_717_200_000))
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
        mock!(Client::list_access_keys)
            .match_requests(|r| r.user_name().is_none())
            .then_output(|| {
                let key = |id: &str, status: StatusType, created: i64| {
                    AccessKeyMetadata::builder()
                        .access_key_id(id)
                        .status(status)
                        .create_date(at(created))
                        .build()
                };
                ListAccessKeysOutput::builder()
                    .access_key_metadata(key("AKIAROOTACTIVE", StatusType::Active, 1_717_300_000))
                    .access_key_metadata(key("AKIAROOTOLD", StatusType::Inactive, 1_717_200_000))
                    .build()
                    .unwrap()
            }),
        mock!(Client::list_mfa_devices)
            .match_requests(|r| r.user_name().is_none())
            .then_output(|| {
                ListMfaDevicesOutput::builder()
                    .mfa_devices(
                        MfaDevice::builder()
                            .user_name("")
                            .serial_number(format!("arn:aws:iam::{MEMBER}:mfa/root-key"))
                            .enable_date(at(1_717_200_000))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            }),
        mock!(Client::list_signing_certificates)
            .match_requests(|r| r.user_name().is_none())
            .then_output(|| {
                ListSigningCertificatesOutput::builder()
                    .certificates(
                        SigningCertificate::builder()
                            .user_name("")
                            .certificate_id("ROOTCERT1")
                            .certificate_body("-----BEGIN CERTIFICATE-----")
                            .status(StatusType::Active)
                            .upload_date(at(1_717_200_000))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            }),
    ]
}

/// STS opening the member's root session with the audit task policy.
fn assume_root() -> Rule {
    mock!(aws_sdk_sts::Client::assume_root)
        .match_requests(|r| r.target_principal() == Some(MEMBER))
        .then_output(|| {
            AssumeRootOutput::builder()
                .credentials(
                    aws_sdk_sts::types::Credentials::builder()
                        .access_key_id("ASIAROOTSESSIONKEY01")
                        .secret_access_key("secret")
                        .session_token("token")
                        .expiration(aws_sdk_sts::primitives::DateTime::from_secs(4_102_444_800))
                        .build()
                        .unwrap(),
                )
                .build()
        })
}
