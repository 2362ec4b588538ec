//! `aws_iam_user_*`: one series per IAM user, root account included.

use super::text::{header, labels, sample};
use super::{Ages, Prerendered};
use crate::model::User;
use crate::refresh::Snapshot;

const INFO: &str = "aws_iam_user_info";
const CREATED: &str = "aws_iam_user_created_timestamp_seconds";
const PASSWORD_ENABLED: &str = "aws_iam_user_password_enabled";
const PASSWORD_LAST_USED: &str = "aws_iam_user_password_last_used_timestamp_seconds";
const PASSWORD_LAST_CHANGED: &str = "aws_iam_user_password_last_changed_timestamp_seconds";
const MFA_ACTIVE: &str = "aws_iam_user_mfa_active";
const ACTIVE_KEYS: &str = "aws_iam_user_active_access_keys";
const LAST_ACTIVITY: &str = "aws_iam_user_last_activity_timestamp_seconds";
const IDLE: &str = "aws_iam_user_idle_seconds";

/// The value of one family for a user; `None` leaves the user out of it.
type UserValue = fn(&User) -> Option<i64>;

/// Writes the families that do not depend on "now" and records, per user, the
/// label set and times from which [`write_ages`] computes idle time.
pub(super) fn prerender(snapshot: &Snapshot, help: &dyn Fn(&str) -> String, out: &mut Prerendered) {
    let users: Vec<(&str, &User)> = snapshot
        .accounts
        .iter()
        .flat_map(|a| {
            a.data
                .iter()
                .flat_map(move |d| d.users.iter().map(move |u| (a.account_id.as_str(), u)))
        })
        .collect();
    out.users = users
        .iter()
        .map(|(account, user)| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("user", &user.name)]);
            Ages {
                labels: set,
                created: user.created,
                last_used: user.last_activity(),
            }
        })
        .collect();

    let text = &mut out.users_text;
    let series = || {
        out.users
            .iter()
            .zip(&users)
            .map(|(ages, (_, user))| (ages, *user))
    };
    header(
        text,
        INFO,
        &help("IAM user (or <root_account>) and its ARN; value is always 1"),
    );
    for (account, user) in &users {
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("user", &user.name),
                ("arn", &user.arn),
            ],
        );
        sample(text, INFO, &set, 1);
    }
    let families: [(&str, &str, UserValue); 7] = [
        (CREATED, "Time the user was created, in Unix seconds", |u| {
            u.created
        }),
        (
            PASSWORD_ENABLED,
            "1 if the user has a console password, 0 if not; absent where AWS does not report it (root)",
            |u| u.password_enabled.map(i64::from),
        ),
        (
            PASSWORD_LAST_USED,
            "Time the console password was last used, in Unix seconds; absent if never or unknown",
            |u| u.password_last_used,
        ),
        (
            PASSWORD_LAST_CHANGED,
            "Time the console password was last changed, in Unix seconds; absent if unknown",
            |u| u.password_last_changed,
        ),
        (
            MFA_ACTIVE,
            "1 if the user has an MFA device enabled, 0 if not; absent where the source cannot see MFA",
            |u| u.mfa_active.map(i64::from),
        ),
        (
            ACTIVE_KEYS,
            "Number of active access keys of the user (0 to 2)",
            |u| Some(u.active_keys() as i64),
        ),
        (
            LAST_ACTIVITY,
            "Latest use of the user's password or access keys, in Unix seconds; absent if none",
            |u| u.last_activity(),
        ),
    ];
    for (name, text_help, value) in families {
        header(text, name, &help(text_help));
        for (ages, user) in series() {
            if let Some(v) = value(user) {
                sample(text, name, &ages.labels, v);
            }
        }
    }
}

/// `aws_iam_user_idle_seconds`, computed from "now" at scrape time.
pub(super) fn write_ages(
    out: &mut String,
    users: &[Ages],
    now: i64,
    help: &dyn Fn(&str) -> String,
) {
    header(
        out,
        IDLE,
        &help("Seconds since the user's last activity, or since its creation if none"),
    );
    for u in users {
        if let Some(since) = u.last_used.or(u.created) {
            sample(out, IDLE, &u.labels, now - since);
        }
    }
}
