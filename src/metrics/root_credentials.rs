//! `aws_iam_root_credentials`: what the root user of an organization member
//! account holds, by kind, as the last successful audit of the
//! `root-credentials` collector found it. The organization's own
//! `aws_iam_organization_feature_enabled` is in [`OrganizationCollector`].

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use super::table::{Table, TableRender};
use super::text::labels;
use super::{Writer, gauge};
use crate::collectors::root_credentials::{Organization, RootCredentials};
use crate::model::AccountData;

const CREDENTIALS: &str = "aws_iam_root_credentials";
const CREDENTIALS_HELP: &str = "Credentials the root user of an organization member account holds, by kind: password (0 or 1), access_key and signing_certificate (active or not), mfa_device; as read in a root session (sts:AssumeRoot with IAMAuditRootUserCredentials) by the last successful audit; absent where none has succeeded";
const AUDITED: &str = "aws_iam_root_credentials_audited_timestamp_seconds";
const AUDITED_HELP: &str = "Time of the root-credentials audit that aws_iam_root_credentials comes from, in Unix seconds (audits run at most every --collector.root-credentials.interval)";
const FEATURE_ENABLED: &str = "aws_iam_organization_feature_enabled";

/// How many credentials of one kind the root user holds.
type Count = fn(&RootCredentials) -> usize;

/// The kinds of credential, in exposition order: the `credential` label.
const KINDS: [(&str, Count); 4] = [
    ("password", |r| usize::from(r.password)),
    ("access_key", |r| r.access_keys.len()),
    ("signing_certificate", |r| r.signing_certificates.len()),
    ("mfa_device", |r| r.mfa_devices),
];

/// [`CREDENTIALS`] (labels `account_id` and `credential`, one row per kind),
/// then [`AUDITED`] (label `account_id`).
pub(super) const TABLE: Table = Table {
    families: || vec![(CREDENTIALS, CREDENTIALS_HELP), (AUDITED, AUDITED_HELP)],
    ages: &[],
    render,
};

/// Renders the account's last good audit, if there is one.
fn render(account: &str, data: &AccountData, out: &mut TableRender) {
    let Some(audit) = data
        .collected
        .root_credentials
        .as_ref()
        .and_then(|c| c.data.as_ref())
    else {
        return;
    };
    let sets: Vec<String> = KINDS
        .iter()
        .map(|(kind, _)| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("credential", kind)]);
            set
        })
        .collect();
    let mut writer = Writer::new(KINDS.len(), out.chunks.len());
    writer.family(
        |kind| {
            let count = (KINDS[kind].1)(audit);
            (sets[kind].as_str(), i64::try_from(count).ok())
        },
        CREDENTIALS,
    );
    let (chunks, _) = writer.finish();
    out.chunks.extend(chunks);
    let mut set = String::new();
    labels(&mut set, &[("account_id", account)]);
    let mut writer = Writer::new(1, out.chunks.len());
    writer.family(|_| (set.as_str(), Some(audit.audited)), AUDITED);
    let (chunks, _) = writer.finish();
    out.chunks.extend(chunks);
}

/// Serves `aws_iam_organization_feature_enabled{organization_id, feature}`:
/// the organization's centralized root access features, as the management
/// account (or the delegated administrator) last reported them. Absent until
/// they have been read (the root-credentials collector reads them).
#[derive(Debug)]
pub struct OrganizationCollector(pub Arc<Organization>);

impl Collector for OrganizationCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let Some(features) = self.0.get() else {
            return Ok(());
        };
        gauge(
            &mut encoder,
            FEATURE_ENABLED,
            "1 if the centralized root access feature is enabled in the organization (RootCredentialsManagement, RootSessions), 0 if not; read once per refresh by the root-credentials collector",
            features.states().into_iter().map(|(feature, on)| {
                (
                    [
                        ("organization_id", features.organization_id.clone()),
                        ("feature", feature),
                    ],
                    i64::from(on),
                )
            }),
        )
    }
}
