//! Which users sign in with a virtual MFA device (CIS AWS Foundations 1.6
//! asks for a hardware device on the root user): `iam:ListVirtualMFADevices`
//! with `AssignmentStatus=Assigned`, one call per page of 1,000 devices.
//!
//! The credential report's `mfa_active` says whether a user has MFA, not of
//! which kind. IAM lists virtual devices, with the user each one is
//! assigned to; a user with MFA and no virtual device has a hardware TOTP
//! token or a FIDO security key. A user may have several devices (up to
//! eight, of any kinds): one virtual device among them is enough to sign in
//! with, so such a user counts as virtual, which is what CIS 1.6 checks.

use std::collections::BTreeSet;

use aws_sdk_iam::types::AssignmentStatusType;

use crate::aws::{ApiMetrics, CallError};
use crate::model::ROOT_USER;

use super::Context;

/// The largest page IAM serves.
const PAGE_SIZE: i32 = 1000;

/// The users (the root user as `<root_account>`) with at least one assigned
/// virtual MFA device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirtualMfaUsers {
    pub users: BTreeSet<String>,
}

pub async fn collect(ctx: Context<'_>) -> Result<VirtualMfaUsers, CallError> {
    list(ctx.iam, ctx.api).await
}

/// Reads every page of assigned virtual devices.
pub async fn list(
    iam: &aws_sdk_iam::Client,
    api: &ApiMetrics,
) -> Result<VirtualMfaUsers, CallError> {
    let mut pages = iam
        .list_virtual_mfa_devices()
        .assignment_status(AssignmentStatusType::Assigned)
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    let mut users = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            api.record_error("ListVirtualMFADevices", &e);
            CallError::from_sdk("iam:ListVirtualMFADevices", &e)
        })?;
        users.extend(
            page.virtual_mfa_devices
                .iter()
                .filter_map(|device| device.user.as_ref())
                .filter_map(|user| user_name(&user.arn, &user.user_name)),
        );
    }
    Ok(VirtualMfaUsers { users })
}

/// The credential report's name of the user a device is assigned to: the
/// root user's ARN is `arn:PARTITION:iam::ACCOUNT:root` (IAM gives it no user
/// name); an IAM user's name is the last part of its ARN's path.
fn user_name(arn: &str, name: &str) -> Option<String> {
    if arn.ends_with(":root") {
        return Some(ROOT_USER.to_owned());
    }
    if !name.is_empty() {
        return Some(name.to_owned());
    }
    arn.split_once(":user/")
        .and_then(|(_, path)| path.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_user_is_named_as_in_the_credential_report_in_every_partition() {
        for arn in [
            "arn:aws:iam::123456789012:root",
            "arn:aws-us-gov:iam::123456789012:root",
        ] {
            assert_eq!(user_name(arn, "").as_deref(), Some(ROOT_USER), "{arn}");
            assert_eq!(user_name(arn, "root").as_deref(), Some(ROOT_USER), "{arn}");
        }
    }

    #[test]
    fn an_iam_user_is_named_by_its_name_or_else_by_its_arn() {
        let arn = "arn:aws:iam::123456789012:user/ci/deploy-bot";
        assert_eq!(user_name(arn, "deploy-bot").as_deref(), Some("deploy-bot"));
        assert_eq!(user_name(arn, "").as_deref(), Some("deploy-bot"));
        assert_eq!(user_name("", "").as_deref(), None);
        assert_eq!(
            user_name("arn:aws:iam::123456789012:user/", "").as_deref(),
            None
        );
    }
}
