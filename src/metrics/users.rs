//! `aws_iam_user_*`: one series per IAM user, root account included.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use super::{Shared, gauge};
use crate::model::User;

const INFO: &str = "aws_iam_user_info";
const CREATED: &str = "aws_iam_user_created_timestamp_seconds";
const PASSWORD_ENABLED: &str = "aws_iam_user_password_enabled";
const PASSWORD_LAST_USED: &str = "aws_iam_user_password_last_used_timestamp_seconds";
const PASSWORD_LAST_CHANGED: &str = "aws_iam_user_password_last_changed_timestamp_seconds";
const MFA_ACTIVE: &str = "aws_iam_user_mfa_active";
const ACTIVE_KEYS: &str = "aws_iam_user_active_access_keys";
const LAST_ACTIVITY: &str = "aws_iam_user_last_activity_timestamp_seconds";
const IDLE: &str = "aws_iam_user_idle_seconds";

#[derive(Debug)]
pub(super) struct UserCollector(pub(super) Shared);

fn labels<'a>(account: &'a str, user: &'a User) -> [(&'static str, &'a str); 2] {
    [("account_id", account), ("user", &user.name)]
}

impl Collector for UserCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let snapshot = self.0.store.load();
        let now = (self.0.clock)();
        let users = || {
            snapshot.accounts.iter().flat_map(|a| {
                a.data
                    .iter()
                    .flat_map(move |d| d.users.iter().map(move |u| (a.account_id.as_str(), u)))
            })
        };
        let help = |text| self.0.help(text);

        gauge(
            &mut encoder,
            INFO,
            &help("IAM user (or <root_account>) and its ARN; value is always 1"),
            users().map(|(a, u)| {
                let [account, user] = labels(a, u);
                ([account, user, ("arn", u.arn.as_str())], 1)
            }),
        )?;
        gauge(
            &mut encoder,
            CREATED,
            &help("Time the user was created, in Unix seconds"),
            users().filter_map(|(a, u)| Some((labels(a, u), u.created?))),
        )?;
        gauge(
            &mut encoder,
            PASSWORD_ENABLED,
            &help(
                "1 if the user has a console password, 0 if not; absent where AWS does not report it (root)",
            ),
            users().filter_map(|(a, u)| Some((labels(a, u), i64::from(u.password_enabled?)))),
        )?;
        gauge(
            &mut encoder,
            PASSWORD_LAST_USED,
            &help(
                "Time the console password was last used, in Unix seconds; absent if never or unknown",
            ),
            users().filter_map(|(a, u)| Some((labels(a, u), u.password_last_used?))),
        )?;
        gauge(
            &mut encoder,
            PASSWORD_LAST_CHANGED,
            &help("Time the console password was last changed, in Unix seconds; absent if unknown"),
            users().filter_map(|(a, u)| Some((labels(a, u), u.password_last_changed?))),
        )?;
        gauge(
            &mut encoder,
            MFA_ACTIVE,
            &help(
                "1 if the user has an MFA device enabled, 0 if not; absent where the source cannot see MFA",
            ),
            users().filter_map(|(a, u)| Some((labels(a, u), i64::from(u.mfa_active?)))),
        )?;
        gauge(
            &mut encoder,
            ACTIVE_KEYS,
            &help("Number of active access keys of the user (0 to 2)"),
            users().map(|(a, u)| (labels(a, u), u.active_keys() as i64)),
        )?;
        gauge(
            &mut encoder,
            LAST_ACTIVITY,
            &help(
                "Latest use of the user's password or access keys, in Unix seconds; absent if none",
            ),
            users().filter_map(|(a, u)| Some((labels(a, u), u.last_activity()?))),
        )?;
        gauge(
            &mut encoder,
            IDLE,
            &help("Seconds since the user's last activity, or since its creation if none"),
            users()
                .filter_map(|(a, u)| Some((labels(a, u), now - u.last_activity().or(u.created)?))),
        )
    }
}
