//! The root-credentials audit against the SDK's own mock clients: moto serves
//! neither `iam:ListOrganizationsFeatures` nor `sts:AssumeRoot`. From the
//! calls to the exposition: what a member account's root holds, the root
//! row's password, the last good audit kept when one fails, and nothing
//! claimed about a root user that has no row (China partitions).

use crate::common;

use common::mock::render;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_iam::operation::get_login_profile::{GetLoginProfileError, GetLoginProfileOutput};
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_mfa_devices::ListMfaDevicesOutput;
use aws_sdk_iam::operation::list_organizations_features::ListOrganizationsFeaturesOutput;
use aws_sdk_iam::operation::list_signing_certificates::ListSigningCertificatesOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::error::NoSuchEntityException;
use aws_sdk_iam::types::{
    AccessKeyMetadata, FeatureType, LoginProfile, MfaDevice, SigningCertificate, StatusType,
};
use aws_sdk_sts::operation::assume_root::AssumeRootOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use common::exporter::value;
use iam_credentials_exporter::accounts::Accounts;
use iam_credentials_exporter::accounts::Target;
use iam_credentials_exporter::aws::{ApiMetrics, CallError};
use iam_credentials_exporter::collectors::root_credentials::{
    Audits, OrganizationFeatures, RootCredential, RootCredentials, RootSession, audit,
    organization_features, task_policy_arn,
};
use iam_credentials_exporter::collectors::{Collected, Collection, Collector, Collectors};
use iam_credentials_exporter::exposition::Format;
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::report::fetch::PollPolicy;
use iam_credentials_exporter::snapshot::Store;
use iam_credentials_exporter::source::{Source, SourceKinds};
use iam_credentials_exporter::time::Clock;

const MEMBER: &str = "210987654321";
const SESSION_KEY: &str = "ASIAROOTSESSIONKEY01";

fn error_body(namespace: &str, code: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} for test</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
}

fn denied(namespace: &str) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        403.try_into().unwrap(),
        aws_smithy_types::body::SdkBody::from(error_body(namespace, "AccessDenied")),
    )
}

const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Records the access key id each IAM request was signed with.
#[derive(Debug, Clone, Default)]
struct SignedWith(Arc<Mutex<Vec<String>>>);

impl Intercept for SignedWith {
    fn name(&self) -> &'static str {
        "SignedWith"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let auth = context
            .request()
            .headers()
            .get("authorization")
            .unwrap_or_default();
        let key = auth
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_owned();
        self.0.lock().unwrap().push(key);
        Ok(())
    }
}

/// STS answering AssumeRoot for `MEMBER` with the audit task policy only.
fn sts_rule() -> Rule {
    mock!(aws_sdk_sts::Client::assume_root)
        .match_requests(|r| {
            r.target_principal() == Some(MEMBER)
                && r.task_policy_arn().and_then(|p| p.arn())
                    == Some("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials")
                && r.duration_seconds() == Some(900)
        })
        .then_output(sts_rule_output)
}

fn session(rules: &[&Rule]) -> RootSession {
    session_at(rules, Arc::new(|| 1_800_000_000))
}

/// A root session whose audits are due every 6 hours, on `clock`.
fn session_at(rules: &[&Rule], clock: Clock) -> RootSession {
    RootSession {
        sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, rules),
        partition: "aws".to_owned(),
        account_id: MEMBER.to_owned(),
        audits: Arc::new(Audits::default()),
        interval: Duration::from_secs(6 * 3600),
        clock,
    }
}

/// The four reads, each without a user name (the root user of the session).
struct Root {
    password: Option<i64>,
    keys: Vec<(&'static str, StatusType, i64)>,
    mfa: usize,
    certificates: Vec<(&'static str, StatusType, i64)>,
}

impl Root {
    fn deleted() -> Self {
        Root {
            password: None,
            keys: vec![],
            mfa: 0,
            certificates: vec![],
        }
    }

    fn rules(self) -> Vec<Rule> {
        let Root {
            password,
            keys,
            mfa,
            certificates,
        } = self;
        let login = mock!(aws_sdk_iam::Client::get_login_profile)
            .match_requests(|r| r.user_name().is_none());
        let login = match password {
            Some(created) => login.then_output(move || {
                GetLoginProfileOutput::builder()
                    .login_profile(
                        LoginProfile::builder()
                            .user_name("")
                            .create_date(DateTime::from_secs(created))
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
            None => login.then_error(|| {
                GetLoginProfileError::NoSuchEntityException(
                    NoSuchEntityException::builder()
                        .message("Login Profile for User root cannot be found.")
                        .build(),
                )
            }),
        };
        let list_keys = mock!(aws_sdk_iam::Client::list_access_keys)
            .match_requests(|r| r.user_name().is_none())
            .then_output(move || {
                ListAccessKeysOutput::builder()
                    .set_access_key_metadata(Some(
                        keys.iter()
                            .map(|(id, status, created)| {
                                AccessKeyMetadata::builder()
                                    .access_key_id(*id)
                                    .status(status.clone())
                                    .create_date(DateTime::from_secs(*created))
                                    .build()
                            })
                            .collect(),
                    ))
                    .build()
                    .unwrap()
            });
        let list_mfa = mock!(aws_sdk_iam::Client::list_mfa_devices)
            .match_requests(|r| r.user_name().is_none())
            .then_output(move || {
                ListMfaDevicesOutput::builder()
                    .set_mfa_devices(Some(
                        (0..mfa)
                            .map(|i| {
                                MfaDevice::builder()
                                    .user_name("")
                                    .serial_number(format!("arn:aws:iam::{MEMBER}:mfa/root-{i}"))
                                    .enable_date(DateTime::from_secs(1_700_000_000))
                                    .build()
                                    .unwrap()
                            })
                            .collect(),
                    ))
                    .build()
                    .unwrap()
            });
        let list_certificates = mock!(aws_sdk_iam::Client::list_signing_certificates)
            .match_requests(|r| r.user_name().is_none())
            .then_output(move || {
                ListSigningCertificatesOutput::builder()
                    .set_certificates(Some(
                        certificates
                            .iter()
                            .map(|(id, status, uploaded)| {
                                SigningCertificate::builder()
                                    .user_name("")
                                    .certificate_id(*id)
                                    .certificate_body("-----BEGIN CERTIFICATE-----")
                                    .status(status.clone())
                                    .upload_date(DateTime::from_secs(*uploaded))
                                    .build()
                                    .unwrap()
                            })
                            .collect(),
                    ))
                    .build()
                    .unwrap()
            });
        vec![login, list_keys, list_mfa, list_certificates]
    }
}

/// The member account's IAM client (its role's credentials) with `rules`,
/// and what each request was signed with.
fn account(rules: &[Rule]) -> (aws_sdk_iam::Client, SignedWith) {
    let signed = SignedWith::default();
    let recorder = signed.clone();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules.iter(), move |c| c
        .interceptor(recorder.clone()));
    (client, signed)
}

#[tokio::test]
async fn member_with_deleted_root_credentials_holds_nothing() {
    let (account, signed) = account(&Root::deleted().rules());
    let sts = sts_rule();
    let found = audit(&session(&[&sts]), &account, &ApiMetrics::default())
        .await
        .unwrap();
    assert_eq!(found, RootCredentials::default());
    assert!(!found.any());
    assert_eq!(sts.num_calls(), 1);
    // Every read ran in the root session, none with the member role.
    let keys = signed.0.lock().unwrap().clone();
    assert_eq!(keys, vec![SESSION_KEY; 4]);
}

#[tokio::test]
async fn root_with_password_keys_mfa_and_certificates_is_read_in_full() {
    let root = Root {
        password: Some(1_600_000_000),
        // Listed newest first: the audit orders by creation, like the report.
        keys: vec![
            ("AKIAROOTNEW000000002", StatusType::Inactive, 1_650_000_000),
            ("AKIAROOTOLD000000001", StatusType::Active, 1_500_000_000),
        ],
        mfa: 2,
        certificates: vec![("CERTROOT1", StatusType::Active, 1_550_000_000)],
    };
    let (account, _) = account(&root.rules());
    let sts = sts_rule();
    let found = audit(&session(&[&sts]), &account, &ApiMetrics::default())
        .await
        .unwrap();
    assert_eq!(
        found,
        RootCredentials {
            password: true,
            access_keys: vec![
                RootCredential {
                    id: "AKIAROOTOLD000000001".into(),
                    active: true,
                    created: Some(1_500_000_000),
                },
                RootCredential {
                    id: "AKIAROOTNEW000000002".into(),
                    active: false,
                    created: Some(1_650_000_000),
                },
            ],
            mfa_devices: 2,
            signing_certificates: vec![RootCredential {
                id: "CERTROOT1".into(),
                active: true,
                created: Some(1_550_000_000),
            }],
            audited: 0,
        }
    );
    assert!(found.any());
}

#[tokio::test]
async fn a_certificate_alone_is_a_credential() {
    let root = Root {
        certificates: vec![("CERTROOT1", StatusType::Inactive, 1_550_000_000)],
        ..Root::deleted()
    };
    let (account, _) = account(&root.rules());
    let sts = sts_rule();
    let found = audit(&session(&[&sts]), &account, &ApiMetrics::default())
        .await
        .unwrap();
    assert!(!found.password);
    assert!(found.any(), "an inactive signing certificate still counts");
}

#[tokio::test]
async fn assume_root_denied_fails_the_audit_and_reads_nothing() {
    let (account, signed) = account(&Root::deleted().rules());
    let sts = mock!(aws_sdk_sts::Client::assume_root).then_http_response(|| denied(STS_NS));
    let api = ApiMetrics::default();
    let err = audit(&session(&[&sts]), &account, &api).await.unwrap_err();
    assert!(
        matches!(
            err,
            CallError::AccessDenied {
                action: "sts:AssumeRoot",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(signed.0.lock().unwrap().is_empty());
    let errors = api
        .errors
        .get_or_create(&[
            ("operation", "AssumeRoot".to_owned()),
            ("code", "AccessDenied".to_owned()),
        ])
        .get();
    assert_eq!(errors, 1);
}

#[tokio::test]
async fn a_failed_read_fails_the_audit_rather_than_reading_as_none() {
    // ListSigningCertificates denied (an SCP, say): the audit must not
    // conclude "no certificate".
    let mut rules = Root::deleted().rules();
    rules.pop();
    rules.push(
        mock!(aws_sdk_iam::Client::list_signing_certificates).then_http_response(|| denied(IAM_NS)),
    );
    let (account, _) = account(&rules);
    let sts = sts_rule();
    let err = audit(&session(&[&sts]), &account, &ApiMetrics::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CallError::AccessDenied {
                action: "iam:ListSigningCertificates",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn login_profile_errors_other_than_no_such_entity_fail_the_audit() {
    let mut rules = Root::deleted().rules();
    rules.remove(0);
    rules.push(mock!(aws_sdk_iam::Client::get_login_profile).then_http_response(|| denied(IAM_NS)));
    let (account, _) = account(&rules);
    let sts = sts_rule();
    let err = audit(&session(&[&sts]), &account, &ApiMetrics::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CallError::AccessDenied {
                action: "iam:GetLoginProfile",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn task_policy_follows_the_partition() {
    assert_eq!(
        task_policy_arn("aws-us-gov"),
        "arn:aws-us-gov:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
    );
}

#[tokio::test]
async fn organization_features_list_every_documented_feature() {
    let rule = mock!(aws_sdk_iam::Client::list_organizations_features).then_output(|| {
        ListOrganizationsFeaturesOutput::builder()
            .organization_id("o-abcdefghij")
            .enabled_features(FeatureType::RootCredentialsManagement)
            .build()
    });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&rule]);
    let features = organization_features(&client, &ApiMetrics::default())
        .await
        .unwrap();
    assert_eq!(
        features,
        OrganizationFeatures {
            organization_id: "o-abcdefghij".into(),
            enabled: vec!["RootCredentialsManagement".into()],
        }
    );
    assert!(features.root_credentials_management());
    assert_eq!(
        features.states(),
        vec![
            ("RootCredentialsManagement".to_owned(), true),
            ("RootSessions".to_owned(), false),
        ]
    );
}

#[tokio::test]
async fn organization_features_denied_is_an_error_not_a_disabled_feature() {
    let rule = mock!(aws_sdk_iam::Client::list_organizations_features)
        .then_http_response(|| denied(IAM_NS));
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&rule]);
    let err = organization_features(&client, &ApiMetrics::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CallError::AccessDenied {
                action: "iam:ListOrganizationsFeatures",
                ..
            }
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// From the calls to the exposition

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A member account's report: root credentials deleted, so the root row
/// says no MFA and `not_supported` for the password, as AWS writes it.
fn member_report() -> String {
    format!(
        "{HEADER}
<root_account>,arn:aws:iam::{MEMBER}:root,2024-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::{MEMBER}:user/alice,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
"
    )
}

/// An aws-cn account's report: no root user, so no root row.
const CHINA: &str = "210987654322";
fn china_report() -> String {
    format!(
        "{HEADER}
admin,arn:aws-cn:iam::{CHINA}:user/admin,2024-01-01T00:00:00+00:00,true,2026-11-01T00:00:00+00:00,2024-01-01T00:00:00+00:00,N/A,false,true,2024-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
"
    )
}

/// The report calls of a member account, generated at 1,799,990,000.
fn report_rules(report: String) -> Vec<Rule> {
    common::mock::report_rules(report, Some(1_799_990_000)).into()
}

fn target(id: &str, client: aws_sdk_iam::Client, root: Option<RootSession>) -> Arc<Target> {
    Arc::new(
        Target::new(
            id,
            Source::Aws {
                client,
                kinds: SourceKinds::REPORT,
                poll: PollPolicy::default(),
                concurrency: 1,
            },
        )
        .with_account_id(id)
        .with_collectors(Collectors::NONE.with(Collector::RootCredentials, root.is_some()))
        .with_root_session(root.map(Arc::new)),
    )
}

/// The member account with deleted root credentials: every kind 0, the root
/// row's password known (0), and a healthy collector. Five minutes later the
/// audit is not due: served again, no root session. Six hours later it is
/// due and fails: the account still refreshes, the last good audit stays
/// with its time, and the health series say it failed. The management
/// account (no root session) gets neither series nor health.
#[tokio::test(start_paused = true)]
async fn an_audited_member_exports_what_root_holds_and_keeps_it_when_an_audit_fails() {
    let mut rules = report_rules(member_report());
    rules.extend(Root::deleted().rules());
    let (member, _) = account(&rules);
    let (management, _) = account(&report_rules(
        member_report().replace(MEMBER, "111122223333"),
    ));
    let sts = mock!(aws_sdk_sts::Client::assume_root)
        .sequence()
        .output(sts_rule_output)
        .http_response(|| denied(STS_NS))
        .build();
    let now = Arc::new(AtomicI64::new(1_800_000_000));
    let clock: Clock = {
        let now = Arc::clone(&now);
        Arc::new(move || now.load(Ordering::SeqCst))
    };
    let store = Arc::new(Store::default());
    let api = ApiMetrics::default();
    let refresher = Refresher::new(
        Accounts::Static(vec![
            target(
                MEMBER,
                member,
                Some(session_at(&[&sts], Arc::clone(&clock))),
            ),
            target("111122223333", management, None),
        ]),
        Arc::clone(&store),
        api.clone(),
        {
            let now = Arc::clone(&now);
            Arc::new(move || now.load(Ordering::SeqCst))
        },
    )
    .with_timeout(Duration::from_secs(60));
    let kind = |kind: &str| {
        format!(r#"aws_iam_root_credentials{{account_id="{MEMBER}",credential="{kind}"}}"#)
    };
    let root_password =
        format!(r#"aws_iam_user_password_enabled{{account_id="{MEMBER}",user="<root_account>"}}"#);
    let health =
        |name: &str| format!(r#"{name}{{account_id="{MEMBER}",collector="root-credentials"}}"#);

    refresher.refresh_once().await;
    let m = render(&store, 1_800_000_000, &api, true);
    for credential in [
        "password",
        "access_key",
        "signing_certificate",
        "mfa_device",
    ] {
        assert_eq!(value(&m, &kind(credential)), Some(0.0), "{credential}\n{m}");
    }
    assert_eq!(value(&m, &root_password), Some(0.0), "{m}");
    assert_eq!(
        value(
            &m,
            &format!(r#"aws_iam_user_mfa_active{{account_id="{MEMBER}",user="<root_account>"}}"#)
        ),
        Some(0.0),
        "the report's MFA state is exported as it is"
    );
    assert_eq!(
        value(&m, &health("aws_iam_exporter_collector_success")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &health("aws_iam_exporter_collector_last_success_timestamp_seconds")
        ),
        Some(1_800_000_000.0)
    );
    // The management account: no audit, nothing claimed.
    assert!(
        !m.contains(r#"aws_iam_root_credentials{account_id="111122223333""#),
        "{m}"
    );
    assert!(
        !m.contains(r#"account_id="111122223333",collector="root-credentials""#),
        "{m}"
    );
    assert!(
        !m.contains(
            r#"aws_iam_user_password_enabled{account_id="111122223333",user="<root_account>"}"#
        ),
        "{m}"
    );
    // The partition, from the report's ARNs.
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_account_info{{account_id="{MEMBER}",account_name="",partition="aws"}}"#
            )
        ),
        Some(1.0),
        "{m}"
    );

    let audited =
        format!(r#"aws_iam_root_credentials_audited_timestamp_seconds{{account_id="{MEMBER}"}}"#);
    assert_eq!(value(&m, &audited), Some(1_800_000_000.0), "{m}");

    // Not due: the last audit is served again, without a root session.
    now.store(1_800_000_300, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = render(&store, 1_800_000_300, &api, true);
    assert_eq!(sts.num_calls(), 1);
    // GetLoginProfile, ListAccessKeys, ListMFADevices, ListSigningCertificates:
    // once each for two refreshes.
    let reads: Vec<usize> = rules[2..].iter().map(Rule::num_calls).collect();
    assert_eq!(reads, [1, 1, 1, 1]);
    assert_eq!(value(&m, &kind("password")), Some(0.0));
    assert_eq!(value(&m, &audited), Some(1_800_000_000.0));
    assert_eq!(
        value(&m, &health("aws_iam_exporter_collector_success")),
        Some(1.0)
    );

    // Due six hours after the audit, and refused.
    let later = 1_800_000_000 + 6 * 3600;
    now.store(later, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = render(&store, later, &api, true);
    assert_eq!(
        value(
            &m,
            &format!(r#"aws_iam_exporter_account_refresh_success{{account_id="{MEMBER}"}}"#)
        ),
        Some(1.0),
        "a failed audit does not fail the account"
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
        Some(1_800_000_300.0)
    );
    assert_eq!(
        value(&m, &kind("password")),
        Some(0.0),
        "last good audit kept"
    );
    assert_eq!(
        value(&m, &audited),
        Some(1_800_000_000.0),
        "with the time it ran"
    );
    assert_eq!(value(&m, &root_password), Some(0.0));
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_errors_total{operation="AssumeRoot",code="AccessDenied"}"#
        ),
        Some(1.0)
    );
    assert_eq!(sts.num_calls(), 2);
}

fn sts_rule_output() -> AssumeRootOutput {
    AssumeRootOutput::builder()
        .credentials(
            aws_sdk_sts::types::Credentials::builder()
                .access_key_id(SESSION_KEY)
                .secret_access_key("secret")
                .session_token("token")
                .expiration(aws_sdk_sts::primitives::DateTime::from_secs(4_102_444_800))
                .build()
                .unwrap(),
        )
        .build()
}

/// An aws-cn report has no root row. Even with audit data present (which the
/// exporter never collects there: see `audited`), no root user row is made
/// up: no password, MFA or key series for `<root_account>`.
#[test]
fn no_root_row_no_root_claim() {
    use iam_credentials_exporter::report::parse_report;
    use iam_credentials_exporter::snapshot::AccountState;

    let parsed = parse_report(china_report().as_bytes()).unwrap();
    assert_eq!(parsed.data.account_id, CHINA);
    assert_eq!(parsed.data.partition, "aws-cn");
    assert!(parsed.data.users.iter().all(|u| u.name != "<root_account>"));
    let mut data = parsed.data;
    let collected = Collected {
        root_credentials: Some(Collection {
            data: Some(RootCredentials::default()),
            success: true,
            last_success: Some(1_800_000_000),
            duration: Duration::ZERO,
            reused: false,
        }),
        ..Collected::default()
    };
    // As a refresh does with what it collected.
    collected.amend(&mut data);
    let store = Arc::new(Store::default());
    store.publish(iam_credentials_exporter::snapshot::Snapshot::new([
        AccountState {
            key: CHINA.into(),
            account_id: CHINA.into(),
            data: Some(Arc::new(data)),
            collected: Arc::new(collected),
            success: true,
            attempts: 1,
            ..AccountState::default()
        },
    ]));
    let m = render(&store, 1_800_000_000, &ApiMetrics::default(), true);
    assert!(!m.contains(r#"user="<root_account>""#), "{m}");
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_account_info{{account_id="{CHINA}",account_name="",partition="aws-cn"}}"#
            )
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            &format!(r#"aws_iam_user_mfa_active{{account_id="{CHINA}",user="admin"}}"#)
        ),
        Some(0.0)
    );
}

/// The organization's features: one series per documented feature, 0 or 1;
/// none before they were read.
#[test]
fn organization_features_are_exported_once_known() {
    let store = Arc::new(Store::default());
    let api = ApiMetrics::default();
    let exposition = Exposition::new(
        Arc::clone(&store),
        Arc::new(|| 1_800_000_000),
        Duration::from_secs(300),
        &api,
    );
    let m = exposition
        .render(&exposition.snapshot(), Format::Text)
        .unwrap();
    assert!(!m.contains("aws_iam_organization_feature_enabled"), "{m}");
    store.publish(
        iam_credentials_exporter::snapshot::Snapshot::new([]).with_organization(Some(
            OrganizationFeatures {
                organization_id: "o-abcdefghij".into(),
                enabled: vec!["RootCredentialsManagement".into()],
            },
        )),
    );
    let m = exposition
        .render(&exposition.snapshot(), Format::Text)
        .unwrap();
    assert_eq!(
        value(
            &m,
            r#"aws_iam_organization_feature_enabled{organization_id="o-abcdefghij",feature="RootCredentialsManagement"}"#
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_organization_feature_enabled{organization_id="o-abcdefghij",feature="RootSessions"}"#
        ),
        Some(0.0)
    );
}

/// Against moto, which serves Organizations and the credential report but
/// neither `iam:ListOrganizationsFeatures` nor `sts:AssumeRoot`: with the
/// collector on, the management account (organizations:DescribeOrganization)
/// is not audited, every member's audit is attempted and fails visibly, the
/// accounts themselves refresh, and nothing says root is safe.
#[test]
fn against_moto_members_are_audited_and_fail_visibly_the_management_account_is_not() {
    use common::exporter::Exporter;
    use common::moto::MotoServer;

    const MGMT: &str = "123456789012";
    const PROD: &str = "210987654321";
    let moto = MotoServer::start(&serde_json::json!({
        "organization": {"feature_set": "ALL"},
        "accounts": [
            {"label": "mgmt", "name": "Management", "users": [
                {"name": "admin", "password": true, "mfa": true, "created": "2024-01-01T00:00:00Z"}
            ]},
            {"label": "prod", "id": PROD, "name": "Prod", "users": [
                {"name": "deployer", "created": "2024-05-01T00:00:00Z"}
            ]}
        ]
    }));
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let exporter = Exporter::start(
        &[
            "--aws.organization.role-name",
            "OrganizationAccountAccessRole",
            "--collector.root-credentials",
        ],
        &env,
    );
    exporter.wait_ready(Duration::from_secs(60));
    let health = |a: &str| {
        format!(
            r#"aws_iam_exporter_collector_success{{account_id="{a}",collector="root-credentials"}}"#
        )
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let m = loop {
        let m = exporter.metrics();
        let refreshed = [MGMT, PROD].iter().all(|a| {
            value(
                &m,
                &format!(r#"aws_iam_exporter_account_refresh_success{{account_id="{a}"}}"#),
            ) == Some(1.0)
        });
        if refreshed {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not refreshed: {m}\n{:#?}",
            exporter.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(value(&m, &health(PROD)), Some(0.0), "{m}");
    assert!(
        !m.contains(&format!(
            r#"account_id="{MGMT}",collector="root-credentials""#
        )),
        "{m}"
    );
    assert!(!m.contains("aws_iam_root_credentials{"), "{m}");
    assert!(!m.contains("aws_iam_organization_feature_enabled{"), "{m}");
    // No audit ever succeeded: the root row's password stays unknown.
    assert!(
        !m.contains(&format!(
            r#"aws_iam_user_password_enabled{{account_id="{PROD}",user="<root_account>"}}"#
        )),
        "{m}"
    );
    assert!(
        value(
            &m,
            r#"aws_iam_exporter_collector_enabled{collector="root-credentials"}"#
        ) == Some(1.0),
        "{m}"
    );
    let logs = exporter.logs().join("\n");
    assert!(logs.contains("sts:AssumeRoot"), "{logs}");
    assert!(
        logs.contains("the root-credentials collector is deprecated"),
        "{logs}"
    );
}

/// CIS v7.0.0 2.1.1 asks whether centralized root access is enabled, whether
/// or not root is audited: with organization discovery alone (root-credentials
/// off), the management account's `iam:ListOrganizationsFeatures` is read
/// and served, every documented feature 0 or 1.
#[test]
fn organization_features_are_read_without_the_root_credentials_collector() {
    use common::exporter::Exporter;
    use common::moto::MotoServer;

    let moto = MotoServer::start(&serde_json::json!({
        "organization": {"feature_set": "ALL", "root_access_features": ["RootSessions"]},
        "accounts": [
            {"label": "mgmt", "name": "Management", "users": [
                {"name": "admin", "password": true, "mfa": true, "created": "2024-01-01T00:00:00Z"}
            ]},
            {"label": "prod", "id": "210987654321", "name": "Prod", "users": []}
        ]
    }));
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let exporter = Exporter::start(
        &[
            "--aws.organization.role-name",
            "OrganizationAccountAccessRole",
        ],
        &env,
    );
    exporter.wait_ready(Duration::from_secs(60));
    let organization = moto.accounts()["mgmt"]["organization_id"]
        .as_str()
        .expect("the management account is in the organization")
        .to_owned();
    let feature = |f: &str| {
        format!(
            r#"aws_iam_organization_feature_enabled{{organization_id="{organization}",feature="{f}"}}"#
        )
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let m = loop {
        let m = exporter.metrics();
        if value(&m, &feature("RootSessions")).is_some() {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no organization features: {m}\n{:#?}",
            exporter.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(value(&m, &feature("RootSessions")), Some(1.0), "{m}");
    assert_eq!(
        value(&m, &feature("RootCredentialsManagement")),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_collector_enabled{collector="root-credentials"}"#
        ),
        Some(0.0)
    );
}
