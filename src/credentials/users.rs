//! `aws_iam_user_*`: one series per IAM user, root account included.

use crate::exposition::{
    Family, Rows, Table, TableRender, Times, pairs,
    text::{labels, sample},
};
use crate::model::{AccountData, User};

const INFO_NAME: &str = "aws_iam_user_info";
const CREATED: &str = "aws_iam_user_created_timestamp_seconds";
const PASSWORD_ENABLED: &str = "aws_iam_user_password_enabled";
const PASSWORD_LAST_USED: &str = "aws_iam_user_password_last_used_timestamp_seconds";
const PASSWORD_LAST_CHANGED: &str = "aws_iam_user_password_last_changed_timestamp_seconds";
const MFA_ACTIVE: &str = "aws_iam_user_mfa_active";
const ACTIVE_KEYS: &str = "aws_iam_user_active_access_keys";
const LAST_ACTIVITY: &str = "aws_iam_user_last_activity_timestamp_seconds";
const IDLE: &str = "aws_iam_user_idle_seconds";

/// `INFO_NAME` (labels `account_id`, `user`, `arn`): name and help. It comes
/// first, before [`FAMILIES`].
const INFO: (&str, &str) = (
    INFO_NAME,
    "IAM user (or <root_account>) and its ARN; value is always 1",
);

/// Families rendered once per account refresh, in exposition order, with the
/// labels `account_id` and `user`.
const FAMILIES: [Family<User>; 7] = [
    Family {
        name: CREATED,
        help: "Time the user was created, in Unix seconds",
        value: |u| u.created,
    },
    Family {
        name: PASSWORD_ENABLED,
        help: "1 if the user has a console password, 0 if not; absent where AWS does not report it (root, unless the root-credentials collector audited it)",
        value: |u| u.password_enabled.map(i64::from),
    },
    Family {
        name: PASSWORD_LAST_USED,
        help: "Time the console password was last used, in Unix seconds; absent if never or unknown",
        value: |u| u.password_last_used,
    },
    Family {
        name: PASSWORD_LAST_CHANGED,
        help: "Time the console password was last changed, in Unix seconds; absent if unknown",
        value: |u| u.password_last_changed,
    },
    Family {
        name: MFA_ACTIVE,
        help: "1 if the user has an MFA device enabled, 0 if not; absent where the source cannot see MFA",
        value: |u| u.mfa_active.map(i64::from),
    },
    Family {
        name: ACTIVE_KEYS,
        help: "Number of active access keys of the user (0 to 2)",
        value: |u| Some(u.active_keys() as i64),
    },
    Family {
        name: LAST_ACTIVITY,
        help: "Latest use of the user's password or access keys, in Unix seconds; absent if none",
        value: |u| u.last_activity(),
    },
];

/// Computed from "now" at every scrape: since the user's last sign of life
/// ([`User::last_sign_of_life`]: the last activity, or the upload of a
/// signing certificate that is still active, whose use AWS does not record),
/// or since its creation. Without an active signing certificate, `time() -
/// aws_iam_user_last_activity_timestamp_seconds` (or the creation time)
/// gives the same value.
const AGES: [Family<Times>; 1] = [Family {
    name: IDLE,
    help: "Seconds since the user's last password or access key use, or upload of a still active signing certificate; since its creation if none",
    value: Times::idle_since,
}];

pub const TABLE: Table<AccountData> = Table {
    families: || {
        let mut families = vec![INFO];
        families.extend(pairs(&FAMILIES));
        families
    },
    ages: &AGES,
    render,
};

/// Renders the user families of one account: one chunk for [`INFO`], one
/// per family of [`FAMILIES`], and per user the [`Times`] of its idle time.
fn render(rows: &Rows<'_, AccountData>, out: &mut TableRender) {
    let (account, data) = (rows.account_id, rows.report);
    let users: &[User] = &data.users;
    let mut info = String::new();
    for user in users {
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("user", &user.name),
                ("arn", &user.arn),
            ],
        );
        sample(&mut info, INFO_NAME, &set, 1);
    }
    out.push(info);
    let sets: Vec<String> = users
        .iter()
        .map(|user| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("user", &user.name)]);
            set
        })
        .collect();
    let mut writer = out.writer(users.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&users[index])),
            family.name,
        );
    }
    let label_at = out.extend(writer);
    out.times = users
        .iter()
        .zip(label_at)
        .map(|(user, at)| Times {
            labels: at,
            created: user.created,
            last_used: user.last_sign_of_life(),
            usage_known: !user.activity_unknown(),
        })
        .collect();
}
