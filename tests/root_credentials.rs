//! The root-credentials audit against the SDK's own mock clients: moto serves
//! neither `iam:ListOrganizationsFeatures` nor `sts:AssumeRoot`.

use std::sync::{Arc, Mutex};

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
use iam_credentials_exporter::aws::{ApiMetrics, CallError};
use iam_credentials_exporter::collectors::root_credentials::{
    OrganizationFeatures, RootCredential, RootCredentials, RootSession, audit,
    organization_features, task_policy_arn,
};

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
        .then_output(|| {
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
        })
}

fn session(rules: &[&Rule]) -> RootSession {
    RootSession {
        sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, rules),
        partition: "aws".to_owned(),
        account_id: MEMBER.to_owned(),
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
