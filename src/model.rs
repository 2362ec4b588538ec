//! The data every source produces for an account (the credential report,
//! the key API, or both merged), independent of where it came from. Plain
//! data: nothing here knows how it is read, refreshed or served.
//!
//! Timestamps are Unix seconds (`i64`): every IAM date has second precision, and
//! integer arithmetic keeps ages exact and reproducible in tests.

/// Everything known about one AWS account after one successful refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountData {
    pub account_id: String,
    /// When AWS generated the credential report this data came from.
    pub report_generated: Option<i64>,
    pub users: Vec<User>,
    /// Report rows that could not be parsed and were left out of this snapshot.
    pub rows_skipped: u64,
    /// The account's partition (`aws`, `aws-cn`, `aws-us-gov`), from its
    /// users' ARNs; empty when no ARN was seen. The China partitions have no
    /// root user, so their reports have no `<root_account>` row.
    pub partition: String,
}

/// An IAM user, or the root account (`<root_account>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub arn: String,
    pub created: Option<i64>,
    /// `None` where AWS reports `not_supported` (the root account).
    pub password_enabled: Option<bool>,
    pub password_last_used: Option<i64>,
    pub password_last_changed: Option<i64>,
    /// `None` when the source cannot see MFA (the IAM API alone).
    pub mfa_active: Option<bool>,
    pub keys: Vec<AccessKey>,
    /// X.509 signing certificates (`cert_1_*`, `cert_2_*` of the report).
    pub signing_certificates: Vec<SigningCertificate>,
}

/// One access key slot of a user ("1" or "2" in the credential report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessKey {
    pub slot: u8,
    /// Empty until a source that knows key ids (the IAM API) fills it.
    pub id: String,
    pub active: bool,
    /// Creation time, which the credential report calls `last_rotated`.
    pub created: Option<i64>,
    pub last_used: Option<LastUsed>,
    /// The source does not say whether the key was ever used: the credential
    /// report of 2015 (16 columns, no `access_key_N_last_used_*`), which AWS's
    /// own examples still print. Then `last_used` is `None` without meaning
    /// "never used", and no idle time is claimed from creation.
    pub usage_unknown: bool,
}

/// One X.509 signing certificate slot of a user ("1" or "2" in the
/// credential report). AWS records no use of a signing certificate: only
/// whether it is active and when it was uploaded (`cert_N_last_rotated`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigningCertificate {
    pub slot: u8,
    pub active: bool,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastUsed {
    pub at: i64,
    /// Empty when AWS does not know (`N/A`).
    pub region: String,
    pub service: String,
}

pub const ROOT_USER: &str = "<root_account>";

/// Whether a value from AWS means "nothing to report": empty, `N/A`,
/// `no_information` or `not_supported`, in any case. Every source maps these
/// to "no value" the same way.
pub fn is_no_value(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || ["N/A", "no_information", "not_supported"]
            .iter()
            .any(|n| v.eq_ignore_ascii_case(n))
}

impl User {
    pub fn active_keys(&self) -> usize {
        self.keys.iter().filter(|k| k.active).count()
    }

    /// Latest of password use and any key use.
    pub fn last_activity(&self) -> Option<i64> {
        self.keys
            .iter()
            .filter_map(|k| k.last_used.as_ref().map(|u| u.at))
            .chain(self.password_last_used)
            .max()
    }

    pub fn active_signing_certificates(&self) -> usize {
        self.signing_certificates
            .iter()
            .filter(|c| c.active)
            .count()
    }

    /// Whether the use of an active access key is unknown (the 2015 report
    /// format): then the user's idle time is unknown too.
    pub fn activity_unknown(&self) -> bool {
        self.keys.iter().any(|k| k.active && k.usage_unknown)
    }

    /// What the user's idle time counts from: the latest of its last
    /// activity and the upload of each signing certificate that is still
    /// active. AWS records no use of a signing certificate, so its upload is
    /// the last time it is known to have been looked after; without it a
    /// user whose only credential is an active certificate would look idle
    /// since creation, as if it had no credential at all.
    pub fn last_sign_of_life(&self) -> Option<i64> {
        self.signing_certificates
            .iter()
            .filter(|c| c.active)
            .filter_map(|c| c.created)
            .chain(self.last_activity())
            .max()
    }
}

impl AccessKey {
    /// Seconds since last use, or since creation for a key never used;
    /// `None` where the source cannot tell.
    pub fn idle_seconds(&self, now: i64) -> Option<i64> {
        self.idle_since().map(|since| now - since)
    }

    /// When the key was last used, or created if never used; `None` where
    /// the source cannot tell.
    pub fn idle_since(&self) -> Option<i64> {
        match (&self.last_used, self.usage_unknown) {
            (Some(u), _) => Some(u.at),
            (None, true) => None,
            (None, false) => self.created,
        }
    }

    /// Whether the key was never used; `None` where the source cannot tell.
    pub fn never_used(&self) -> Option<bool> {
        (!self.usage_unknown).then_some(self.last_used.is_none())
    }
}

/// Account id from an IAM ARN (`arn:aws:iam::123456789012:user/x`).
pub fn account_from_arn(arn: &str) -> Option<&str> {
    iam_arn(arn).map(|(_, account)| account)
}

/// Partition from an IAM ARN (`aws` in `arn:aws:iam::123456789012:user/x`).
pub fn partition_from_arn(arn: &str) -> Option<&str> {
    iam_arn(arn).map(|(partition, _)| partition)
}

/// Partition and account id of an IAM ARN.
fn iam_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, partition, service, _region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    parts.next()?;
    let valid = prefix == "arn"
        && service == "iam"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !partition.is_empty();
    valid.then_some((partition, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(created: Option<i64>, used: Option<i64>, active: bool) -> AccessKey {
        AccessKey {
            slot: 1,
            active,
            created,
            last_used: used.map(|at| LastUsed {
                at,
                ..LastUsed::default()
            }),
            ..AccessKey::default()
        }
    }

    #[test]
    fn never_used_key_counts_as_idle_since_creation() {
        assert_eq!(
            key(Some(1_000), None, true).idle_seconds(5_000),
            Some(4_000)
        );
    }

    #[test]
    fn used_key_is_idle_since_last_use() {
        assert_eq!(
            key(Some(1_000), Some(3_000), true).idle_seconds(5_000),
            Some(2_000)
        );
    }

    #[test]
    fn key_without_creation_or_use_has_no_idle_time() {
        assert_eq!(key(None, None, false).idle_seconds(5_000), None);
    }

    #[test]
    fn last_activity_is_latest_of_password_and_keys() {
        let user = User {
            password_last_used: Some(2_500),
            keys: vec![
                key(Some(1), Some(2_000), true),
                key(Some(1), Some(3_000), false),
            ],
            ..User::default()
        };
        assert_eq!(user.last_activity(), Some(3_000));
        assert_eq!(user.active_keys(), 1);
        assert_eq!(User::default().last_activity(), None);
    }

    #[test]
    fn an_active_signing_certificate_counts_from_its_upload_and_an_inactive_one_not_at_all() {
        let cert = |slot, active, created| SigningCertificate {
            slot,
            active,
            created: Some(created),
        };
        let user = User {
            password_last_used: Some(2_500),
            signing_certificates: vec![cert(1, true, 2_000), cert(2, false, 9_000)],
            ..User::default()
        };
        assert_eq!(user.last_sign_of_life(), Some(2_500));
        assert_eq!(user.active_signing_certificates(), 1);
        let only_cert = User {
            signing_certificates: vec![cert(1, true, 4_000), cert(2, true, 3_000)],
            ..User::default()
        };
        assert_eq!(only_cert.last_activity(), None, "an upload is not a use");
        assert_eq!(only_cert.last_sign_of_life(), Some(4_000));
        let inactive_only = User {
            signing_certificates: vec![cert(1, false, 4_000)],
            ..User::default()
        };
        assert_eq!(inactive_only.last_sign_of_life(), None);
    }

    #[test]
    fn account_is_taken_from_iam_arns_of_any_partition() {
        assert_eq!(
            account_from_arn("arn:aws:iam::123456789012:user/ci/deploy"),
            Some("123456789012")
        );
        assert_eq!(
            account_from_arn("arn:aws-cn:iam::210987654321:root"),
            Some("210987654321")
        );
        assert_eq!(account_from_arn("arn:aws:iam::12345:root"), None);
        assert_eq!(account_from_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(account_from_arn("not an arn"), None);
    }

    #[test]
    fn partition_is_taken_from_iam_arns() {
        assert_eq!(
            partition_from_arn("arn:aws-cn:iam::210987654321:user/admin"),
            Some("aws-cn")
        );
        assert_eq!(
            partition_from_arn("arn:aws-us-gov:iam::123456789012:root"),
            Some("aws-us-gov")
        );
        assert_eq!(partition_from_arn("arn:aws:s3:::bucket"), None);
    }
}
