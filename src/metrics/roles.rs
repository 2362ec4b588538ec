//! `aws_iam_role_*`: one series per IAM role and family (`roles` collector).

use super::table::{Table, TableRender};
use super::text::{labels, sample};
use super::{Family, Times, Writer, pairs};
use crate::collectors::roles::Role;
use crate::model::AccountData;

const INFO_NAME: &str = "aws_iam_role_info";
const CREATED: &str = "aws_iam_role_created_timestamp_seconds";
const LAST_USED: &str = "aws_iam_role_last_used_timestamp_seconds";
const LAST_USED_INFO: &str = "aws_iam_role_last_used_info";
const IDLE: &str = "aws_iam_role_idle_seconds";

/// `INFO_NAME` (labels `account_id`, `role`, `arn`, `path`): first.
const INFO: (&str, &str) = (
    INFO_NAME,
    "IAM role with its ARN and path (service-linked roles are under /aws-service-role/); value is always 1",
);

/// Families with the labels `account_id` and `role`, after [`INFO`].
const FAMILIES: [Family<Role>; 2] = [
    Family {
        name: CREATED,
        help: "Time the role was created, in Unix seconds",
        value: |r| r.created,
    },
    Family {
        name: LAST_USED,
        help: "Time the role was last used (assumed), in Unix seconds; absent if not used within the 400 days AWS tracks",
        value: |r| r.last_used.as_ref().map(|u| u.at),
    },
];

/// `LAST_USED_INFO` (labels `account_id`, `role`, `last_used_region`): last.
const LAST_USED_INFO_PAIR: (&str, &str) = (
    LAST_USED_INFO,
    "Region of the role's last use; value is always 1; absent if not used within the 400 days AWS tracks",
);

/// Computed from "now" at every scrape.
const AGES: [Family<Times>; 1] = [Family {
    name: IDLE,
    help: "Seconds since the role was last used, or since it was created if not used within the 400 days AWS tracks",
    value: |r| r.last_used.or(r.created),
}];

pub(super) const TABLE: Table = Table {
    families: || {
        let mut families = vec![INFO];
        families.extend(pairs(&FAMILIES));
        families.push(LAST_USED_INFO_PAIR);
        families
    },
    ages: &AGES,
    render,
};

/// Renders the roles of one account, if the collector has read them: one
/// chunk for [`INFO`], one per family of [`FAMILIES`], one for the Region
/// of last use, and per role the [`Times`] of its idle time.
fn render(account: &str, data: &AccountData, out: &mut TableRender) {
    let Some(roles) = data
        .collected
        .roles
        .as_ref()
        .and_then(|c| c.data.as_deref())
    else {
        return;
    };
    let mut info = String::new();
    for role in roles {
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("role", &role.name),
                ("arn", &role.arn),
                ("path", &role.path),
            ],
        );
        sample(&mut info, INFO_NAME, &set, 1);
    }
    out.push(info);
    let sets: Vec<String> = roles
        .iter()
        .map(|role| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("role", &role.name)]);
            set
        })
        .collect();
    let mut writer = Writer::new(roles.len(), out.chunks.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&roles[index])),
            family.name,
        );
    }
    let (chunks, label_at) = writer.finish();
    out.chunks.extend(chunks);
    out.times = roles
        .iter()
        .zip(label_at)
        .map(|(role, at)| Times {
            labels: at,
            created: role.created,
            last_used: role.last_used.as_ref().map(|u| u.at),
        })
        .collect();
    let mut used = String::new();
    for role in roles {
        let Some(last) = &role.last_used else {
            continue;
        };
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("role", &role.name),
                ("last_used_region", &last.region),
            ],
        );
        sample(&mut used, LAST_USED_INFO, &set, 1);
    }
    out.push(used);
}
