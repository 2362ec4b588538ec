//! The account password policy (CIS AWS Foundations 1.8 and 1.9):
//! `iam:GetAccountPasswordPolicy`, one call per account.

use crate::aws::CallError;

use super::Context;

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
