//! `aws_iam_user_mfa_virtual`: which kind of MFA a user has, from the
//! `virtual-mfa` collector and the credential report's `mfa_active`.

use super::table::{Table, TableRender};
use super::text::labels;
use super::{Family, Writer, pairs};
use crate::collectors::virtual_mfa::VirtualMfaUsers;
use crate::model::{AccountData, ROOT_USER};

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

pub(super) const TABLE: Table = Table {
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
fn render(account: &str, data: &AccountData, out: &mut TableRender) {
    let Some(listed) = data
        .collected
        .virtual_mfa
        .as_ref()
        .and_then(|c| c.data.as_ref())
    else {
        return;
    };
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
    let mut writer = Writer::new(rows.len(), out.chunks.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&rows[index])),
            family.name,
        );
    }
    let (chunks, _) = writer.finish();
    out.chunks.extend(chunks);
}
