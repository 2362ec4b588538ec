//! `aws_iam_access_key_*`: one series per access key slot in use.

use super::text::{header, labels, sample};
use super::{Ages, Prerendered};
use crate::model::{AccessKey, User};
use crate::refresh::Snapshot;

const ACTIVE: &str = "aws_iam_access_key_active";
const CREATED: &str = "aws_iam_access_key_created_timestamp_seconds";
const AGE: &str = "aws_iam_access_key_age_seconds";
const LAST_USED: &str = "aws_iam_access_key_last_used_timestamp_seconds";
const SINCE_LAST_USED: &str = "aws_iam_access_key_since_last_used_seconds";
const IDLE: &str = "aws_iam_access_key_idle_seconds";
const NEVER_USED: &str = "aws_iam_access_key_never_used";
const LAST_USED_INFO: &str = "aws_iam_access_key_last_used_info";

fn slot(key: &AccessKey) -> &'static str {
    if key.slot == 1 { "1" } else { "2" }
}

/// The value of one family for a key; `None` leaves the key out of it.
type KeyValue = fn(&Ages) -> Option<i64>;

/// Writes the families that do not depend on "now" and records, per key, the
/// label set and times from which [`write_ages`] computes ages at scrape time.
pub(super) fn prerender(snapshot: &Snapshot, help: &dyn Fn(&str) -> String, out: &mut Prerendered) {
    let keys: Vec<(&str, &User, &AccessKey)> = snapshot
        .accounts
        .iter()
        .flat_map(|a| {
            a.data.iter().flat_map(move |d| {
                d.users
                    .iter()
                    .flat_map(move |u| u.keys.iter().map(move |k| (a.account_id.as_str(), u, k)))
            })
        })
        .collect();

    out.keys = keys
        .iter()
        .map(|(account, user, key)| {
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
            Ages {
                labels: set,
                created: key.created,
                last_used: key.last_used.as_ref().map(|u| u.at),
            }
        })
        .collect();

    let text = &mut out.keys_text;
    let series = out.keys.iter().zip(&keys);
    header(
        text,
        ACTIVE,
        &help("1 if the access key is active, 0 if inactive"),
    );
    for (ages, (_, _, key)) in series.clone() {
        sample(text, ACTIVE, &ages.labels, i64::from(key.active));
    }
    let families: [(&str, &str, KeyValue); 3] = [
        (
            CREATED,
            "Time the access key was created (last rotated), in Unix seconds",
            |k| k.created,
        ),
        (
            LAST_USED,
            "Time the access key was last used, in Unix seconds; absent if never used",
            |k| k.last_used,
        ),
        (
            NEVER_USED,
            "1 if the access key has never been used, 0 otherwise",
            |k| Some(i64::from(k.last_used.is_none())),
        ),
    ];
    for (name, text_help, value) in families {
        header(text, name, &help(text_help));
        for ages in &out.keys {
            if let Some(v) = value(ages) {
                sample(text, name, &ages.labels, v);
            }
        }
    }
    header(
        text,
        LAST_USED_INFO,
        &help("Region and service of the access key's last use; value is always 1"),
    );
    for (_, (account, user, key)) in series {
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
        sample(text, LAST_USED_INFO, &set, 1);
    }
}

/// The families computed from "now" at scrape time: each is "now minus" a
/// time of the key, and leaves out keys without that time.
pub(super) fn write_ages(out: &mut String, keys: &[Ages], now: i64, help: &dyn Fn(&str) -> String) {
    let families: [(&str, &str, KeyValue); 3] = [
        (AGE, "Seconds since the access key was created", |k| {
            k.created
        }),
        (
            SINCE_LAST_USED,
            "Seconds since the access key was last used; absent if never used",
            |k| k.last_used,
        ),
        (
            IDLE,
            "Seconds since the access key was last used, or since it was created if never used",
            |k| k.last_used.or(k.created),
        ),
    ];
    for (name, text_help, since) in families {
        header(out, name, &help(text_help));
        for k in keys {
            if let Some(since) = since(k) {
                sample(out, name, &k.labels, now - since);
            }
        }
    }
}
