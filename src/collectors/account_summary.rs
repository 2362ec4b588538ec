//! The account summary: `iam:GetAccountSummary`, one call per account, with
//! the account's own read role (no root session).
//!
//! It says, for every account (standalone, management or member), whether
//! the root user has a console password (`AccountPasswordPresent`), MFA
//! (`AccountMFAEnabled`), access keys (`AccountAccessKeysPresent`) and
//! signing certificates (`AccountSigningCertificatesPresent`): what the
//! credential report's root row cannot say about the password, and what a
//! China-partition report, which has no root row, cannot say at all. CIS AWS
//! Foundations v7.0.0 2.5 passes where root has MFA or no password.
//!
//! It also counts the IAM entities of the account against their quotas
//! (users, groups, roles, customer managed policies, instance profiles,
//! server certificates, policy versions): an account at its role quota
//! breaks every deployment that creates a role.
//!
//! `aws_iam_account_root_*` (label `account_id`), absent where IAM does not
//! report the key; `aws_iam_account_resources` and
//! `aws_iam_account_resources_quota` (labels `account_id`, `resource`).

use aws_sdk_iam::types::SummaryKeyType;

use super::{About, Context};
use crate::aws::CallError;
use crate::exposition::{Family, Rows, Table, TableRender, pairs, text::labels};

/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "account-summary",
    env: "IAM_EXPORTER_COLLECTOR_ACCOUNT_SUMMARY",
    default: true,
    cost: "1 call per account (iam:GetAccountSummary)",
    interval: "1h",
};

/// What the collector reads in one account.
pub type Data = AccountSummary;

/// Families of the root user, with the label `account_id`.
const ROOT: [Family<AccountSummary>; 4] = [
    Family {
        name: "aws_iam_account_root_password_present",
        help: "1 if the root user has a console password, 0 if not (iam:GetAccountSummary AccountPasswordPresent); absent where IAM does not report it",
        value: |s| s.root_password.map(i64::from),
    },
    Family {
        name: "aws_iam_account_root_mfa_enabled",
        help: "1 if the root user has an MFA device, 0 if not (iam:GetAccountSummary AccountMFAEnabled)",
        value: |s| s.root_mfa.map(i64::from),
    },
    Family {
        name: "aws_iam_account_root_access_keys_present",
        help: "1 if the root user has an access key, active or not, 0 if not (iam:GetAccountSummary AccountAccessKeysPresent)",
        value: |s| s.root_access_keys.map(i64::from),
    },
    Family {
        name: "aws_iam_account_root_signing_certificates_present",
        help: "1 if the root user has a signing certificate, 0 if not (iam:GetAccountSummary AccountSigningCertificatesPresent)",
        value: |s| s.root_signing_certificates.map(i64::from),
    },
];

/// Families of the account's IAM entities, with the labels `account_id` and
/// `resource`.
const RESOURCES: [Family<Resource>; 2] = [
    Family {
        name: "aws_iam_account_resources",
        help: "IAM entities of the kind in the account (users, groups, roles, policies, instance_profiles, server_certificates, policy_versions)",
        value: |r| Some(r.used),
    },
    Family {
        name: "aws_iam_account_resources_quota",
        help: "Quota of IAM entities of the kind in the account; the kind's count divided by it is how much of the quota is used",
        value: |r| r.quota,
    },
];

/// The kinds of entity, by the `resource` label: the summary's count key and
/// its quota key.
const KINDS: [(&str, SummaryKeyType, SummaryKeyType); 7] = [
    ("users", SummaryKeyType::Users, SummaryKeyType::UsersQuota),
    ("groups", SummaryKeyType::Groups, SummaryKeyType::GroupsQuota),
    ("roles", SummaryKeyType::Roles, SummaryKeyType::RolesQuota),
    (
        "policies",
        SummaryKeyType::Policies,
        SummaryKeyType::PoliciesQuota,
    ),
    (
        "instance_profiles",
        SummaryKeyType::InstanceProfiles,
        SummaryKeyType::InstanceProfilesQuota,
    ),
    (
        "server_certificates",
        SummaryKeyType::ServerCertificates,
        SummaryKeyType::ServerCertificatesQuota,
    ),
    (
        "policy_versions",
        SummaryKeyType::PolicyVersionsInUse,
        SummaryKeyType::PolicyVersionsInUseQuota,
    ),
];

pub const TABLE: Table<Data> = Table {
    families: || {
        let mut families = pairs(&ROOT);
        families.extend(pairs(&RESOURCES));
        families
    },
    ages: &[],
    render,
};

/// What `iam:GetAccountSummary` said of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSummary {
    pub root_password: Option<bool>,
    pub root_mfa: Option<bool>,
    pub root_access_keys: Option<bool>,
    pub root_signing_certificates: Option<bool>,
    /// One per kind of [`KINDS`] that the summary counts.
    pub resources: Vec<Resource>,
}

/// The count of one kind of IAM entity and its quota.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    /// The `resource` label.
    pub kind: &'static str,
    pub used: i64,
    /// `None` where the summary has no quota for it.
    pub quota: Option<i64>,
}

fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let (account, summary) = (rows.account_id, rows.data);
    let mut set = String::new();
    labels(&mut set, &[("account_id", account)]);
    let mut writer = out.writer(1);
    for family in &ROOT {
        writer.family(|_| (set.as_str(), (family.value)(summary)), family.name);
    }
    out.extend(writer);
    let sets: Vec<String> = summary
        .resources
        .iter()
        .map(|r| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("resource", r.kind)]);
            set
        })
        .collect();
    let mut writer = out.writer(sets.len());
    for family in &RESOURCES {
        writer.family(
            |i| (sets[i].as_str(), (family.value)(&summary.resources[i])),
            family.name,
        );
    }
    out.extend(writer);
}

/// Reads the account's summary.
pub async fn collect(ctx: Context<'_>) -> Result<Data, CallError> {
    let out = ctx.iam.get_account_summary().send().await.map_err(|e| {
        ctx.api.record_error("GetAccountSummary", &e);
        CallError::from_sdk("iam:GetAccountSummary", &e)
    })?;
    let map = out.summary_map.unwrap_or_default();
    let get = |key: &SummaryKeyType| map.get(key).map(|v| i64::from(*v));
    let flag = |key: SummaryKeyType| get(&key).map(|v| v > 0);
    Ok(AccountSummary {
        root_password: flag(SummaryKeyType::AccountPasswordPresent),
        root_mfa: flag(SummaryKeyType::AccountMfaEnabled),
        root_access_keys: flag(SummaryKeyType::AccountAccessKeysPresent),
        root_signing_certificates: flag(SummaryKeyType::AccountSigningCertificatesPresent),
        resources: KINDS
            .iter()
            .filter_map(|(kind, used, quota)| {
                Some(Resource {
                    kind,
                    used: get(used)?,
                    quota: get(quota),
                })
            })
            .collect(),
    })
}
