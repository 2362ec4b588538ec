//! The account password policy (CIS AWS Foundations 1.8 and 1.9):
//! `iam:GetAccountPasswordPolicy`, one call per account.
//!
//! `aws_iam_password_policy_*`: the account password policy, one series
//! per account and family (`password-policy` collector).

use crate::aws::CallError;

use super::{About, Context};
use crate::exposition::{Family, Rows, Table, TableRender, pairs, text::labels};


/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "password-policy",
    env: "IAM_EXPORTER_COLLECTOR_PASSWORD_POLICY",
    default: true,
    cost: "1 call per account (iam:GetAccountPasswordPolicy)",
    interval: "1h",
};

/// What the collector reads in one account.
pub type Data = Option<PasswordPolicy>;

type Policy = Option<PasswordPolicy>;

/// Families with the label `account_id`, in exposition order. All but the
/// first are absent when the account has no password policy.
const FAMILIES: [Family<Policy>; 11] = [
    Family {
        name: "aws_iam_password_policy_present",
        help: "1 if the account has a password policy, 0 if IAM's default rules apply",
        value: |p| Some(i64::from(p.is_some())),
    },
    Family {
        name: "aws_iam_password_policy_minimum_length",
        help: "Minimum length of an IAM user password",
        value: |p| p.as_ref()?.minimum_length,
    },
    Family {
        name: "aws_iam_password_policy_reuse_prevention",
        help: "Number of previous passwords a user cannot reuse; 0 if reuse is allowed",
        value: |p| Some(p.as_ref()?.reuse_prevention.unwrap_or(0)),
    },
    Family {
        name: "aws_iam_password_policy_max_age_seconds",
        help: "Validity of a password, in seconds; absent when passwords do not expire",
        value: |p| p.as_ref()?.max_age_days.map(|d| d * 86_400),
    },
    Family {
        name: "aws_iam_password_policy_require_symbols",
        help: "1 if passwords need a symbol, 0 if not",
        value: |p| Some(i64::from(p.as_ref()?.require_symbols)),
    },
    Family {
        name: "aws_iam_password_policy_require_numbers",
        help: "1 if passwords need a number, 0 if not",
        value: |p| Some(i64::from(p.as_ref()?.require_numbers)),
    },
    Family {
        name: "aws_iam_password_policy_require_uppercase_characters",
        help: "1 if passwords need an uppercase letter, 0 if not",
        value: |p| Some(i64::from(p.as_ref()?.require_uppercase)),
    },
    Family {
        name: "aws_iam_password_policy_require_lowercase_characters",
        help: "1 if passwords need a lowercase letter, 0 if not",
        value: |p| Some(i64::from(p.as_ref()?.require_lowercase)),
    },
    Family {
        name: "aws_iam_password_policy_allow_users_to_change_password",
        help: "1 if users may change their own password, 0 if not",
        value: |p| Some(i64::from(p.as_ref()?.allow_users_to_change)),
    },
    Family {
        name: "aws_iam_password_policy_expire_passwords",
        help: "1 if passwords expire, 0 if not",
        value: |p| Some(i64::from(p.as_ref()?.expire_passwords)),
    },
    Family {
        name: "aws_iam_password_policy_hard_expiry",
        help: "1 if an expired password can only be reset by an administrator, 0 if not",
        value: |p| Some(i64::from(p.as_ref()?.hard_expiry)),
    },
];

pub const TABLE: Table<Data> = Table {
    families: || pairs(&FAMILIES),
    ages: &[],
    render,
};

/// Renders the account's policy, if the collector has read one.
fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let account = rows.account_id;
    let policy = rows.data;
    let mut set = String::new();
    labels(&mut set, &[("account_id", account)]);
    let mut writer = out.writer(1);
    for family in &FAMILIES {
        writer.family(|_| (set.as_str(), (family.value)(policy)), family.name);
    }
    out.extend(writer);
}

/// The account's password policy as IAM returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: Option<i64>,
    /// Previous passwords a user cannot reuse; `None` when reuse is allowed.
    pub reuse_prevention: Option<i64>,
    /// Days a password is valid; `None` when passwords do not expire.
    pub max_age_days: Option<i64>,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    pub expire_passwords: bool,
    /// Whether an expired password needs an administrator to reset it.
    pub hard_expiry: bool,
}

/// The account's password policy; `None` when the account has none
/// (`NoSuchEntity`, which is an answer, not an error).
pub async fn collect(ctx: Context<'_>) -> Result<Option<PasswordPolicy>, CallError> {
    let out = match ctx.iam.get_account_password_policy().send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => {
            ctx.api.record_error("GetAccountPasswordPolicy", &e);
            return Err(CallError::from_sdk("iam:GetAccountPasswordPolicy", &e));
        }
    };
    Ok(out.password_policy.map(|p| PasswordPolicy {
        minimum_length: p.minimum_password_length.map(i64::from),
        reuse_prevention: p.password_reuse_prevention.map(i64::from),
        max_age_days: p
            .max_password_age
            .filter(|_| p.expire_passwords)
            .map(i64::from),
        require_symbols: p.require_symbols,
        require_numbers: p.require_numbers,
        require_uppercase: p.require_uppercase_characters,
        require_lowercase: p.require_lowercase_characters,
        allow_users_to_change: p.allow_users_to_change_password,
        expire_passwords: p.expire_passwords,
        hard_expiry: p.hard_expiry.unwrap_or(false),
    }))
}
