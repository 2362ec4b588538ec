//! `aws_iam_password_policy_*`: the account password policy, one series
//! per account and family (`password-policy` collector).

use super::table::{Table, TableRender};
use super::text::labels;
use super::{Family, Writer, pairs};
use crate::collectors::password_policy::PasswordPolicy;
use crate::model::AccountData;

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

pub(super) const TABLE: Table = Table {
    families: || pairs(&FAMILIES),
    ages: &[],
    render,
};

/// Renders the account's policy, if the collector has read one.
fn render(account: &str, data: &AccountData, out: &mut TableRender) {
    let Some(policy) = data
        .collected
        .password_policy
        .as_ref()
        .and_then(|c| c.data.as_ref())
    else {
        return;
    };
    let mut set = String::new();
    labels(&mut set, &[("account_id", account)]);
    let mut writer = Writer::new(1, out.chunks.len());
    for family in &FAMILIES {
        writer.family(|_| (set.as_str(), (family.value)(policy)), family.name);
    }
    let (chunks, _) = writer.finish();
    out.chunks.extend(chunks);
}
