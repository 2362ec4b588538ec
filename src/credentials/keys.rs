//! `aws_iam_access_key_*`: one series per access key slot in use.

use crate::exposition::{
    Family, Rows, Table, TableRender, Times, pairs,
    text::{labels, sample},
};
use crate::model::{AccessKey, AccountData, User};

const ACTIVE: &str = "aws_iam_access_key_active";
const CREATED: &str = "aws_iam_access_key_created_timestamp_seconds";
const LAST_USED: &str = "aws_iam_access_key_last_used_timestamp_seconds";
const NEVER_USED: &str = "aws_iam_access_key_never_used";
const LAST_USED_INFO: &str = "aws_iam_access_key_last_used_info";
const AGE: &str = "aws_iam_access_key_age_seconds";
const SINCE_LAST_USED: &str = "aws_iam_access_key_since_last_used_seconds";
const IDLE: &str = "aws_iam_access_key_idle_seconds";

/// Families rendered once per account refresh, in exposition order, with the
/// labels `account_id`, `user`, `slot`, `access_key_id`. Then comes
/// [`LAST_USED_INFO`] (two more labels), rendered by [`render`] itself.
const FAMILIES: [Family<AccessKey>; 4] = [
    Family {
        name: ACTIVE,
        help: "1 if the access key is active, 0 if inactive",
        value: |k| Some(i64::from(k.active)),
    },
    Family {
        name: CREATED,
        help: "Time the access key was created (last rotated), in Unix seconds",
        value: |k| k.created,
    },
    Family {
        name: LAST_USED,
        help: "Time the access key was last used, in Unix seconds; absent if never used",
        value: |k| k.last_used.as_ref().map(|u| u.at),
    },
    Family {
        name: NEVER_USED,
        help: "1 if the access key has never been used, 0 otherwise; absent where the report does not say (the 2015 format without last-use columns)",
        value: |k| k.never_used().map(i64::from),
    },
];

/// `LAST_USED_INFO`: name and help.
const INFO: (&str, &str) = (
    LAST_USED_INFO,
    "Region and service of the access key's last use; value is always 1",
);

/// Families computed from "now" at every scrape: "now minus" a time of the
/// key (the value is that time), leaving out keys without it. Each is also
/// exported as a timestamp, so `time() - <timestamp>` gives the same value.
const AGES: [Family<Times>; 3] = [
    Family {
        name: AGE,
        help: "Seconds since the access key was created",
        value: |k| k.created,
    },
    Family {
        name: SINCE_LAST_USED,
        help: "Seconds since the access key was last used; absent if never used",
        value: |k| k.last_used,
    },
    Family {
        name: IDLE,
        help: "Seconds since the access key was last used, or since it was created if never used",
        value: Times::idle_since,
    },
];

fn slot(key: &AccessKey) -> &'static str {
    if key.slot == 1 { "1" } else { "2" }
}

pub const TABLE: Table<AccountData> = Table {
    families: || {
        let mut families = pairs(&FAMILIES);
        families.push(INFO);
        families
    },
    ages: &AGES,
    render,
};

/// Renders the key families of one account: one chunk per family of
/// [`FAMILIES`] and one for [`INFO`], and per key the [`Times`] of its ages.
fn render(rows: &Rows<'_, AccountData>, out: &mut TableRender) {
    let (account, data) = (rows.account_id, rows.report);
    let users = &data.users;
    let keys: Vec<(&User, &AccessKey)> = users
        .iter()
        .flat_map(|u| u.keys.iter().map(move |k| (u, k)))
        .collect();
    let sets: Vec<String> = keys
        .iter()
        .map(|(user, key)| {
            let mut set = String::new();
            labels(
                &mut set,
                &[
                    ("account_id", account),
                    ("user", &user.name),
                    ("slot", slot(key)),
                    ("access_key_id", &key.id),
                ],
            );
            set
        })
        .collect();
    let mut writer = out.writer(keys.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(keys[index].1)),
            family.name,
        );
    }
    let label_at = out.extend(writer);
    out.times = keys
        .iter()
        .zip(label_at)
        .map(|((_, key), at)| Times {
            labels: at,
            created: key.created,
            last_used: key.last_used.as_ref().map(|u| u.at),
            usage_known: !key.usage_unknown,
        })
        .collect();
    let mut info = String::new();
    for (user, key) in &keys {
        let Some(used) = &key.last_used else { continue };
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("user", &user.name),
                ("slot", slot(key)),
                ("access_key_id", &key.id),
                ("last_used_region", &used.region),
                ("last_used_service", &used.service),
            ],
        );
        sample(&mut info, LAST_USED_INFO, &set, 1);
    }
    out.push(info);
}
