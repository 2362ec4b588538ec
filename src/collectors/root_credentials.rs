//! `root-credentials`: what the root user of an organization member account
//! still holds, read in a root session.
//!
//! With AWS Organizations' centralized root access
//! (`RootCredentialsManagement`), a member account's root user can have its
//! password, access keys, MFA devices and signing certificates deleted. The
//! credential report cannot say so: its root row always reads
//! `password_enabled=not_supported`, and `mfa_active=false` once the MFA
//! devices are gone. Enabling the feature deletes nothing, so the exporter
//! audits: from its own credentials (the management account or the delegated
//! administrator for IAM) it calls `sts:AssumeRoot` into the member account
//! with the `IAMAuditRootUserCredentials` task policy, and in that session
//! reads the root user's login profile, access keys, MFA devices and signing
//! certificates (each call without a user name means the root user).
//!
//! Calls per member account and audit: 1 `AssumeRoot` + 4 IAM calls (more
//! only if a list has more than one page); an account is audited at most
//! once per `--collector.root-credentials.interval` ([`Audits`]), and
//! refreshes in between make no call for it. Per refresh, once:
//! `iam:ListOrganizationsFeatures` ([`organization_features`]).
//!
//! Not applicable (no audit, no series): the management account (its root is
//! not centrally managed), accounts outside the organization, organizations
//! without `RootCredentialsManagement`, and the China partition, which has no
//! root user at all.
//!
//! `aws_iam_root_credentials`: what the root user of an organization member
//! account holds, by kind, as the last successful audit of the
//! `root-credentials` collector found it. The organization's own
//! `aws_iam_organization_feature_enabled` is [`encode_features`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sdk_iam::types::StatusType;
use aws_sdk_sts::types::PolicyDescriptorType;

use super::{About, Context};
use crate::aws::{ApiMetrics, CallError};
use crate::time::Clock;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use tokio::sync::OnceCell;
use tracing::error;

use crate::exposition::{Rows, Table, TableRender, text::labels};
use crate::model::{AccountData, ROOT_USER};

/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "root-credentials",
    env: "IAM_EXPORTER_COLLECTOR_ROOT_CREDENTIALS",
    default: false,
    cost: "per organization member account and --collector.root-credentials.interval, 1 sts:AssumeRoot and 4 calls in the root session (GetLoginProfile, ListAccessKeys, ListMFADevices, ListSigningCertificates); per refresh, 1 iam:ListOrganizationsFeatures and 1 organizations:ListAccounts",
};

/// What the collector reads in one account.
pub type Data = RootCredentials;

const CREDENTIALS: &str = "aws_iam_root_credentials";
const CREDENTIALS_HELP: &str = "Credentials the root user of an organization member account holds, by kind: password (0 or 1), access_key and signing_certificate (active or not), mfa_device; as read in a root session (sts:AssumeRoot with IAMAuditRootUserCredentials) by the last successful audit; absent where none has succeeded";
const AUDITED: &str = "aws_iam_root_credentials_audited_timestamp_seconds";
const AUDITED_HELP: &str = "Time of the root-credentials audit that aws_iam_root_credentials comes from, in Unix seconds (audits run at most every --collector.root-credentials.interval)";
const FEATURE_ENABLED: &str = "aws_iam_organization_feature_enabled";

/// How many credentials of one kind the root user holds.
type Count = fn(&RootCredentials) -> usize;

/// The kinds of credential, in exposition order: the `credential` label.
const KINDS: [(&str, Count); 4] = [
    ("password", |r| usize::from(r.password)),
    ("access_key", |r| r.access_keys.len()),
    ("signing_certificate", |r| r.signing_certificates.len()),
    ("mfa_device", |r| r.mfa_devices),
];

/// [`CREDENTIALS`] (labels `account_id` and `credential`, one row per kind),
/// then [`AUDITED`] (label `account_id`).
pub const TABLE: Table<Data> = Table {
    families: || vec![(CREDENTIALS, CREDENTIALS_HELP), (AUDITED, AUDITED_HELP)],
    ages: &[],
    render,
};

/// Renders the account's last good audit, if there is one.
fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let account = rows.account_id;
    let audit = rows.data;
    let sets: Vec<String> = KINDS
        .iter()
        .map(|(kind, _)| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("credential", kind)]);
            set
        })
        .collect();
    let mut writer = out.writer(KINDS.len());
    writer.family(
        |kind| {
            let count = (KINDS[kind].1)(audit);
            (sets[kind].as_str(), i64::try_from(count).ok())
        },
        CREDENTIALS,
    );
    out.extend(writer);
    let mut set = String::new();
    labels(&mut set, &[("account_id", account)]);
    let mut writer = out.writer(1);
    writer.family(|_| (set.as_str(), Some(audit.audited)), AUDITED);
    out.extend(writer);
}

/// Encodes `aws_iam_organization_feature_enabled{organization_id, feature}`:
/// the organization's centralized root access features, as the management
/// account (or the delegated administrator) last reported them.
pub fn encode_features(
    features: &OrganizationFeatures,
    encoder: &mut DescriptorEncoder,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(
        FEATURE_ENABLED,
        "1 if the centralized root access feature is enabled in the organization (RootCredentialsManagement, RootSessions), 0 if not; read once per refresh by the root-credentials collector",
        None,
        MetricType::Gauge,
    )?;
    for (feature, on) in features.states() {
        family
            .encode_family(&[
                ("organization_id", features.organization_id.as_str()),
                ("feature", feature.as_str()),
            ])?
            .encode_gauge(&i64::from(on))?;
    }
    Ok(())
}

/// The AWS-managed task policy that scopes a root session to reading the root
/// user's credentials, in `partition`.
pub fn task_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/root-task/IAMAuditRootUserCredentials")
}

/// A root session lasts at most 15 minutes; the audit needs seconds.
const SESSION: Duration = Duration::from_secs(900);

/// The feature of centralized root access that lets the management account
/// and the delegated administrator delete and audit member accounts' root
/// credentials.
pub const ROOT_CREDENTIALS_MANAGEMENT: &str = "RootCredentialsManagement";

/// Centralized root access features of the organization, as
/// `iam:ListOrganizationsFeatures` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationFeatures {
    pub organization_id: String,
    /// Enabled features, by their AWS names (`RootCredentialsManagement`,
    /// `RootSessions`).
    pub enabled: Vec<String>,
}

impl OrganizationFeatures {
    /// Every feature AWS documents, enabled or not, and any other enabled one.
    pub fn states(&self) -> Vec<(String, bool)> {
        let mut states: Vec<(String, bool)> = aws_sdk_iam::types::FeatureType::values()
            .iter()
            .map(|f| ((*f).to_owned(), self.is_enabled(f)))
            .collect();
        for feature in &self.enabled {
            if !states.iter().any(|(f, _)| f == feature) {
                states.push((feature.clone(), true));
            }
        }
        states
    }

    pub fn is_enabled(&self, feature: &str) -> bool {
        self.enabled.iter().any(|f| f == feature)
    }

    /// Whether root credentials of member accounts can be audited.
    pub fn root_credentials_management(&self) -> bool {
        self.is_enabled(ROOT_CREDENTIALS_MANAGEMENT)
    }
}

/// Reads the organization's centralized root access features with the
/// exporter's own credentials (`management_iam`: an IAM client of the management
/// account or of the delegated administrator for IAM).
pub async fn organization_features(
    management_iam: &aws_sdk_iam::Client,
    api: &ApiMetrics,
) -> Result<OrganizationFeatures, CallError> {
    let out = management_iam
        .list_organizations_features()
        .send()
        .await
        .map_err(|e| {
            api.record_error("ListOrganizationsFeatures", &e);
            CallError::from_sdk("iam:ListOrganizationsFeatures", &e)
        })?;
    Ok(OrganizationFeatures {
        organization_id: out.organization_id.unwrap_or_default(),
        enabled: out
            .enabled_features
            .unwrap_or_default()
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect(),
    })
}

/// Whether an account's root user is audited in this refresh.
///
/// `features` is what `iam:ListOrganizationsFeatures` said (this refresh or
/// the last time it answered); `None` when it never answered, and then the
/// audit is attempted, so that its failure shows in the collector's health
/// rather than the collector silently doing nothing. The China partitions
/// have no root user; the management account's root is not centrally
/// managed; an account outside the organization cannot be targeted.
pub fn audited(
    partition: &str,
    features: Option<&OrganizationFeatures>,
    member: bool,
    management: bool,
) -> bool {
    partition != "aws-cn"
        && member
        && !management
        && features.is_none_or(OrganizationFeatures::root_credentials_management)
}

/// The root-credentials audits of one exporter: who is audited in each
/// refresh, and the last audit of every audited account.
#[derive(Debug)]
pub struct Auditor {
    /// The exporter's own STS client: AssumeRoot is called with the
    /// management account's or the delegated administrator's credentials.
    sts: aws_sdk_sts::Client,
    /// `--collector.root-credentials.interval`.
    interval: Duration,
    /// The organization's management account (organizations:DescribeOrganization).
    management: OnceCell<String>,
    audits: Arc<Audits>,
}

/// Who is audited in one refresh.
#[derive(Debug)]
pub struct Scope {
    partition: String,
    /// `None` until `iam:ListOrganizationsFeatures` has answered once.
    features: Option<OrganizationFeatures>,
    members: BTreeSet<String>,
    management: Option<String>,
}

impl Scope {
    fn audits(&self, id: &str) -> bool {
        audited(
            &self.partition,
            self.features.as_ref(),
            self.members.contains(id),
            self.management.as_deref() == Some(id),
        )
    }
}

impl Auditor {
    pub fn new(sts: aws_sdk_sts::Client, interval: Duration) -> Self {
        Self {
            sts,
            interval,
            management: OnceCell::new(),
            audits: Arc::default(),
        }
    }

    /// What this refresh's audit covers: the organization's `features` (as
    /// last read; `None` if they never were), its `members` and its
    /// management account.
    pub async fn scope(
        &self,
        features: Option<OrganizationFeatures>,
        org: &aws_sdk_organizations::Client,
        api: &ApiMetrics,
        partition: &str,
        members: impl IntoIterator<Item = String>,
    ) -> Scope {
        Scope {
            partition: partition.to_owned(),
            features,
            members: members.into_iter().collect(),
            management: self.management_account(org, api).await,
        }
    }

    /// The root session of account `id`, if `scope` audits it.
    pub fn session(&self, scope: &Scope, id: &str) -> Option<Arc<RootSession>> {
        scope.audits(id).then(|| {
            Arc::new(RootSession {
                sts: self.sts.clone(),
                partition: scope.partition.clone(),
                account_id: id.to_owned(),
                audits: Arc::clone(&self.audits),
                interval: self.interval,
                clock: crate::time::system_clock(),
            })
        })
    }

    /// Forgets the audits of the accounts that `scope` no longer audits or
    /// for which `keep` is false.
    pub fn forget(&self, scope: &Scope, keep: impl Fn(&str) -> bool) {
        self.audits.retain(|id| keep(id) && scope.audits(id));
    }

    /// The organization's management account, asked once; `None` while
    /// Organizations does not answer (its audit is then attempted and fails).
    async fn management_account(
        &self,
        org: &aws_sdk_organizations::Client,
        api: &ApiMetrics,
    ) -> Option<String> {
        let result = self
            .management
            .get_or_try_init(|| async {
                let out = org.describe_organization().send().await.map_err(|e| {
                    api.record_error("DescribeOrganization", &e);
                    CallError::from_sdk("organizations:DescribeOrganization", &e)
                })?;
                Ok::<_, CallError>(
                    out.organization
                        .and_then(|o| o.master_account_id)
                        .unwrap_or_default(),
                )
            })
            .await;
        match result {
            Ok(id) => Some(id.clone()).filter(|id| !id.is_empty()),
            Err(cause) => {
                error!(%cause, "cannot tell the organization's management account");
                None
            }
        }
    }
}

/// The root user's credentials in one member account, as the last successful
/// audit found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootCredentials {
    /// Whether the root user has a console password (a login profile).
    pub password: bool,
    pub access_keys: Vec<RootCredential>,
    /// MFA devices of the root user (virtual, hardware, passkeys).
    pub mfa_devices: usize,
    pub signing_certificates: Vec<RootCredential>,
    /// When the audit ran, in Unix seconds (set by [`collect`]).
    pub audited: i64,
}

/// One access key or signing certificate of the root user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootCredential {
    pub id: String,
    pub active: bool,
    /// Creation (key) or upload (certificate) time, in Unix seconds.
    pub created: Option<i64>,
}

impl RootCredentials {
    /// Whether the root user holds anything to authenticate with: a
    /// password, an access key or a signing certificate, active or not.
    pub fn any(&self) -> bool {
        self.password || !self.access_keys.is_empty() || !self.signing_certificates.is_empty()
    }
}

/// What the collector needs beyond the account's IAM client: the exporter's
/// own STS client (AssumeRoot is called with the management account's or the
/// delegated administrator's credentials, never with a member role's) and the
/// account's partition.
#[derive(Clone)]
pub struct RootSession {
    pub sts: aws_sdk_sts::Client,
    pub partition: String,
    /// The member account to audit.
    pub account_id: String,
    /// The last audit of every audited account, kept across refreshes.
    pub audits: Arc<Audits>,
    /// Shortest time between two audits of the account
    /// (`--collector.root-credentials.interval`).
    pub interval: Duration,
    pub clock: Clock,
}

impl std::fmt::Debug for RootSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootSession")
            .field("partition", &self.partition)
            .field("account_id", &self.account_id)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The last successful audit of each account. Every audit is a root session
/// that the member account's CloudTrail records (and that root-activity
/// alarms, such as the CIS metric filter on `userIdentity.type = Root`, may
/// count), so an account is audited at most once per interval, and refreshes
/// in between serve the last audit.
#[derive(Debug, Default)]
pub struct Audits(Mutex<HashMap<String, RootCredentials>>);

impl Audits {
    /// The account's last audit, if it is younger than `interval` at `now`.
    fn recent(&self, account_id: &str, now: i64, interval: Duration) -> Option<RootCredentials> {
        let audits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let last = audits.get(account_id)?;
        let age = u64::try_from(now.saturating_sub(last.audited)).unwrap_or(0);
        (age < interval.as_secs()).then(|| last.clone())
    }

    fn store(&self, account_id: &str, audit: RootCredentials) {
        let mut audits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        audits.insert(account_id.to_owned(), audit);
    }

    /// Forgets the accounts for which `keep` is false (no longer audited).
    fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut audits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        audits.retain(|id, _| keep(id));
    }
}

/// The collector: audits the account's root user if the refresh gave it a
/// root session (organization members only; the collector is off for every
/// other account).
///
/// An audit younger than the session's interval is served again without a
/// call; otherwise the account is audited now (and, if that fails, at every
/// refresh until it succeeds).
pub async fn collect(ctx: Context<'_>) -> Result<RootCredentials, CallError> {
    let Some(session) = ctx.root else {
        return Err(CallError::Aws {
            action: "sts:AssumeRoot",
            code: "NotAMember".to_owned(),
            message: "no root session for this account: not an organization member".to_owned(),
        });
    };
    let now = (session.clock)();
    if let Some(recent) = session
        .audits
        .recent(&session.account_id, now, session.interval)
    {
        return Ok(recent);
    }
    let found = RootCredentials {
        audited: now,
        ..audit(session, ctx.iam, ctx.api).await?
    };
    session.audits.store(&session.account_id, found.clone());
    Ok(found)
}

/// Writes into the credential report what the audit knows better: whether
/// root has a password (the report's root row says `not_supported`).
/// Nothing is claimed without a root row (China partitions) or where the
/// report already says.
pub fn amend_report(audit: &RootCredentials, report: &mut AccountData) {
    if let Some(root) = report
        .users
        .iter_mut()
        .find(|u| u.name == ROOT_USER && u.password_enabled.is_none())
    {
        root.password_enabled = Some(audit.password);
    }
}

/// Opens a root session in `account_id` and reads the root user's
/// credentials in it. `account` is the account's IAM client; the session's
/// client is made from its configuration (endpoint, retries, call counting,
/// response limit) with the session's credentials.
pub async fn audit(
    session: &RootSession,
    account: &aws_sdk_iam::Client,
    api: &ApiMetrics,
) -> Result<RootCredentials, CallError> {
    let credentials = assume_root(session, &session.account_id, api).await?;
    let root_iam = root_client(account, credentials);
    read(&root_iam, api).await
}

/// `sts:AssumeRoot` into `account_id` with the audit task policy.
async fn assume_root(
    session: &RootSession,
    account_id: &str,
    api: &ApiMetrics,
) -> Result<Credentials, CallError> {
    let out = session
        .sts
        .assume_root()
        .target_principal(account_id)
        .task_policy_arn(
            PolicyDescriptorType::builder()
                .arn(task_policy_arn(&session.partition))
                .build(),
        )
        .duration_seconds(SESSION.as_secs() as i32)
        .send()
        .await
        .map_err(|e| {
            api.record_error("AssumeRoot", &e);
            CallError::from_sdk("sts:AssumeRoot", &e)
        })?;
    let creds = out.credentials.ok_or_else(|| CallError::Aws {
        action: "sts:AssumeRoot",
        code: "NoCredentials".to_owned(),
        message: format!("AssumeRoot into {account_id} returned no credentials"),
    })?;
    let expiry = UNIX_EPOCH + Duration::from_secs(creds.expiration.secs().max(0) as u64);
    Ok(Credentials::new(
        creds.access_key_id,
        creds.secret_access_key,
        Some(creds.session_token),
        Some(expiry),
        "AssumeRoot",
    ))
}

/// An IAM client of the root session. Its credentials are static and used
/// once, so it gets no identity cache of its own: sharing the account
/// client's would keep a cache partition per session for good.
fn root_client(account: &aws_sdk_iam::Client, credentials: Credentials) -> aws_sdk_iam::Client {
    let conf = account
        .config()
        .to_builder()
        .credentials_provider(credentials)
        .identity_cache(aws_sdk_iam::config::IdentityCache::no_cache())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// The four reads of the audit, at once. Without a user name each one is
/// about the caller, the root user of the session.
async fn read(
    root_iam: &aws_sdk_iam::Client,
    api: &ApiMetrics,
) -> Result<RootCredentials, CallError> {
    let password = async {
        match root_iam.get_login_profile().send().await {
            Ok(_) => Ok(true),
            // Documented answer for a principal without a password.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(false)
            }
            Err(e) => {
                api.record_error("GetLoginProfile", &e);
                Err(CallError::from_sdk("iam:GetLoginProfile", &e))
            }
        }
    };
    let keys = async {
        let mut pages = root_iam.list_access_keys().into_paginator().send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                api.record_error("ListAccessKeys", &e);
                CallError::from_sdk("iam:ListAccessKeys", &e)
            })?;
            keys.extend(
                page.access_key_metadata
                    .into_iter()
                    .map(|k| RootCredential {
                        id: k.access_key_id.unwrap_or_default(),
                        active: k.status == Some(StatusType::Active),
                        created: k.create_date.map(|d| d.secs()),
                    }),
            );
        }
        keys.sort_by_key(|k| k.created);
        Ok::<_, CallError>(keys)
    };
    let mfa = async {
        let mut pages = root_iam.list_mfa_devices().into_paginator().send();
        let mut devices = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                api.record_error("ListMFADevices", &e);
                CallError::from_sdk("iam:ListMFADevices", &e)
            })?;
            devices += page.mfa_devices.len();
        }
        Ok::<_, CallError>(devices)
    };
    let certificates = async {
        let mut pages = root_iam.list_signing_certificates().into_paginator().send();
        let mut certificates = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                api.record_error("ListSigningCertificates", &e);
                CallError::from_sdk("iam:ListSigningCertificates", &e)
            })?;
            certificates.extend(page.certificates.into_iter().map(|c| RootCredential {
                id: c.certificate_id,
                active: c.status == StatusType::Active,
                created: c.upload_date.map(|d| d.secs()),
            }));
        }
        certificates.sort_by_key(|c| c.created);
        Ok::<_, CallError>(certificates)
    };
    let (password, access_keys, mfa_devices, signing_certificates) =
        tokio::try_join!(password, keys, mfa, certificates)?;
    Ok(RootCredentials {
        password,
        access_keys,
        mfa_devices,
        signing_certificates,
        audited: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(enabled: &[&str]) -> OrganizationFeatures {
        OrganizationFeatures {
            organization_id: "o-abcdefghij".into(),
            enabled: enabled.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn only_members_of_an_organization_managing_root_credentials_are_audited() {
        let on = features(&[ROOT_CREDENTIALS_MANAGEMENT]);
        let sessions_only = features(&["RootSessions"]);
        // (partition, features, member, management) -> audited
        let cases = [
            ("aws", Some(&on), true, false, true),
            ("aws-us-gov", Some(&on), true, false, true),
            // Never answered: attempted, so that a failure shows.
            ("aws", None, true, false, true),
            ("aws", Some(&sessions_only), true, false, false),
            ("aws", Some(&on), true, true, false),
            ("aws", Some(&on), false, false, false),
            ("aws-cn", Some(&on), true, false, false),
            ("aws-cn", None, true, false, false),
        ];
        for (partition, features, member, management, expected) in cases {
            assert_eq!(
                audited(partition, features, member, management),
                expected,
                "{partition} {features:?} member={member} management={management}"
            );
        }
    }

    #[test]
    fn an_audit_is_served_again_until_the_interval_has_passed() {
        let audits = Audits::default();
        let interval = Duration::from_secs(3600);
        assert_eq!(audits.recent("1", 1_000, interval), None, "never audited");
        let audit = RootCredentials {
            audited: 1_000,
            ..RootCredentials::default()
        };
        audits.store("1", audit.clone());
        assert_eq!(audits.recent("1", 4_599, interval), Some(audit));
        assert_eq!(audits.recent("1", 4_600, interval), None, "due");
        assert_eq!(audits.recent("2", 1_000, interval), None, "per account");
        audits.retain(|id| id != "1");
        assert_eq!(audits.recent("1", 1_001, interval), None, "forgotten");
    }

    #[test]
    fn a_root_without_password_keys_or_certificates_holds_nothing_even_with_mfa() {
        let mut root = RootCredentials {
            mfa_devices: 1,
            ..RootCredentials::default()
        };
        assert!(!root.any(), "an MFA device alone signs nobody in");
        root.password = true;
        assert!(root.any());
    }
}
