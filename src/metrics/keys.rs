//! `aws_iam_access_key_*`: one series per access key slot in use.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use super::{Shared, gauge};
use crate::model::{AccessKey, User};

const ACTIVE: &str = "aws_iam_access_key_active";
const CREATED: &str = "aws_iam_access_key_created_timestamp_seconds";
const AGE: &str = "aws_iam_access_key_age_seconds";
const LAST_USED: &str = "aws_iam_access_key_last_used_timestamp_seconds";
const SINCE_LAST_USED: &str = "aws_iam_access_key_since_last_used_seconds";
const IDLE: &str = "aws_iam_access_key_idle_seconds";
const NEVER_USED: &str = "aws_iam_access_key_never_used";
const LAST_USED_INFO: &str = "aws_iam_access_key_last_used_info";

#[derive(Debug)]
pub(super) struct KeyCollector(pub(super) Shared);

type KeyLabels<'a> = [(&'static str, &'a str); 4];

fn labels<'a>(account: &'a str, user: &'a User, key: &'a AccessKey) -> KeyLabels<'a> {
    [
        ("account_id", account),
        ("user", &user.name),
        ("slot", if key.slot == 1 { "1" } else { "2" }),
        ("access_key_id", &key.id),
    ]
}

impl Collector for KeyCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let snapshot = self.0.store.load();
        let now = (self.0.clock)();
        let keys = || {
            snapshot.accounts.iter().flat_map(|a| {
                a.data.iter().flat_map(move |d| {
                    d.users.iter().flat_map(move |u| {
                        u.keys.iter().map(move |k| (a.account_id.as_str(), u, k))
                    })
                })
            })
        };
        let help = |text| self.0.help(text);

        gauge(
            &mut encoder,
            ACTIVE,
            &help("1 if the access key is active, 0 if inactive"),
            keys().map(|(a, u, k)| (labels(a, u, k), i64::from(k.active))),
        )?;
        gauge(
            &mut encoder,
            CREATED,
            &help("Time the access key was created (last rotated), in Unix seconds"),
            keys().filter_map(|(a, u, k)| Some((labels(a, u, k), k.created?))),
        )?;
        gauge(
            &mut encoder,
            AGE,
            &help("Seconds since the access key was created"),
            keys().filter_map(|(a, u, k)| Some((labels(a, u, k), now - k.created?))),
        )?;
        gauge(
            &mut encoder,
            LAST_USED,
            &help("Time the access key was last used, in Unix seconds; absent if never used"),
            keys().filter_map(|(a, u, k)| Some((labels(a, u, k), k.last_used.as_ref()?.at))),
        )?;
        gauge(
            &mut encoder,
            SINCE_LAST_USED,
            &help("Seconds since the access key was last used; absent if never used"),
            keys().filter_map(|(a, u, k)| Some((labels(a, u, k), now - k.last_used.as_ref()?.at))),
        )?;
        gauge(
            &mut encoder,
            IDLE,
            &help(
                "Seconds since the access key was last used, or since it was created if never used",
            ),
            keys().filter_map(|(a, u, k)| Some((labels(a, u, k), k.idle_seconds(now)?))),
        )?;
        gauge(
            &mut encoder,
            NEVER_USED,
            &help("1 if the access key has never been used, 0 otherwise"),
            keys().map(|(a, u, k)| (labels(a, u, k), i64::from(k.last_used.is_none()))),
        )?;
        gauge(
            &mut encoder,
            LAST_USED_INFO,
            &help("Region and service of the access key's last use; value is always 1"),
            keys().filter_map(|(a, u, k)| {
                let used = k.last_used.as_ref()?;
                let [account, user, slot, id] = labels(a, u, k);
                Some((
                    [
                        account,
                        user,
                        slot,
                        id,
                        ("last_used_region", used.region.as_str()),
                        ("last_used_service", used.service.as_str()),
                    ],
                    1,
                ))
            }),
        )
    }
}
