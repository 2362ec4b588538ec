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
//!
//! `aws_iam_user_mfa_virtual`: which kind of MFA a user has, from the
//! `virtual-mfa` collector and the credential report's `mfa_active`.

use std::collections::BTreeSet;

use aws_sdk_iam::types::AssignmentStatusType;

use crate::aws::{ApiMetrics, CallError};

use super::{About, Context};
use crate::exposition::{Family, Rows, Table, TableRender, pairs, text::labels};
use crate::model::ROOT_USER;

/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "virtual-mfa",
    env: "IAM_EXPORTER_COLLECTOR_VIRTUAL_MFA",
    default: true,
    cost: "1 call per account and 1,000 assigned virtual MFA devices (iam:ListVirtualMFADevices)",
    interval: "1h",
};

/// What the collector reads in one account.
pub type Data = VirtualMfaUsers;

/// With the label set `account_id`, `user`: one series per user of the
/// report that has MFA.
const FAMILIES: [Family<Row>; 1] = [Family {
    name: "aws_iam_user_mfa_virtual",
    help: "1 if the user has a virtual MFA device (alone or next to other devices), 0 if its MFA is only of another kind (hardware token, security key); absent without MFA",
    value: mfa_virtual,
}];

/// What the value of one user is made of.
struct Row {
    /// The report's `mfa_active`.
    mfa_active: Option<bool>,
    /// Whether IAM lists an assigned virtual device of the user.
    listed: bool,
}

pub const TABLE: Table<Data> = Table {
    families: || pairs(&FAMILIES),
    ages: &[],
    render,
};

/// IAM lists a virtual device as soon as it is assigned, while the report
/// can be up to 4 hours old: a listed device counts even where the report
/// does not show MFA yet. Without a listed device, only a user the report
/// shows with MFA has one of another kind; a source without `mfa_active`
/// (the IAM API alone) leaves such users out rather than guess.
fn mfa_virtual(row: &Row) -> Option<i64> {
    if row.listed {
        Some(1)
    } else if row.mfa_active == Some(true) {
        Some(0)
    } else {
        None
    }
}

/// One series per user of the report with MFA, once the collector has read
/// the account. Devices of users the report does not have yet (created since
/// it was generated) wait for the next report.
fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let (account, data) = (rows.account_id, rows.report);
    let listed = rows.data;
    let VirtualMfaUsers {
        root,
        users: virtual_users,
    } = listed;
    let rows: Vec<Row> = data
        .users
        .iter()
        .map(|u| Row {
            mfa_active: u.mfa_active,
            listed: if u.name == ROOT_USER {
                *root
            } else {
                virtual_users.contains(&u.name)
            },
        })
        .collect();
    let sets: Vec<String> = data
        .users
        .iter()
        .map(|user| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("user", &user.name)]);
            set
        })
        .collect();
    let mut writer = out.writer(rows.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&rows[index])),
            family.name,
        );
    }
    out.extend(writer);
}

/// The largest page IAM serves.
const PAGE_SIZE: i32 = 1000;

/// Who has at least one assigned virtual MFA device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirtualMfaUsers {
    /// The root user (its device's user ARN ends in `:root`).
    pub root: bool,
    /// IAM user names.
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
    let mut out = VirtualMfaUsers::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            api.record_error("ListVirtualMFADevices", &e);
            CallError::from_sdk("iam:ListVirtualMFADevices", &e)
        })?;
        let assignees = page
            .virtual_mfa_devices
            .iter()
            .filter_map(|device| device.user.as_ref())
            .filter_map(|user| assignee(&user.arn, &user.user_name));
        for assignee in assignees {
            match assignee {
                Assignee::Root => out.root = true,
                Assignee::User(name) => {
                    out.users.insert(name);
                }
            }
        }
    }
    Ok(out)
}

#[derive(Debug, PartialEq, Eq)]
enum Assignee {
    Root,
    User(String),
}

/// Whom a device is assigned to: the root user's ARN is
/// `arn:PARTITION:iam::ACCOUNT:root` (IAM gives it no user name); an IAM
/// user's name is the last part of its ARN's path.
fn assignee(arn: &str, name: &str) -> Option<Assignee> {
    if arn.ends_with(":root") {
        return Some(Assignee::Root);
    }
    if !name.is_empty() {
        return Some(Assignee::User(name.to_owned()));
    }
    arn.split_once(":user/")
        .and_then(|(_, path)| path.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .map(|n| Assignee::User(n.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_user_is_told_by_its_arn_in_every_partition() {
        for arn in [
            "arn:aws:iam::123456789012:root",
            "arn:aws-us-gov:iam::123456789012:root",
        ] {
            assert_eq!(assignee(arn, ""), Some(Assignee::Root), "{arn}");
            assert_eq!(assignee(arn, "root"), Some(Assignee::Root), "{arn}");
        }
    }

    #[test]
    fn an_iam_user_is_named_by_its_name_or_else_by_its_arn() {
        let arn = "arn:aws:iam::123456789012:user/ci/deploy-bot";
        let bot = Some(Assignee::User("deploy-bot".into()));
        assert_eq!(assignee(arn, "deploy-bot"), bot);
        assert_eq!(assignee(arn, ""), bot);
        assert_eq!(assignee("", ""), None);
        assert_eq!(assignee("arn:aws:iam::123456789012:user/", ""), None);
    }
}
