//! `aws_iam_service_specific_credential_*`: one series per service-specific
//! credential (CodeCommit and Keyspaces passwords, long-term API keys of
//! Bedrock, CloudWatch, CloudWatch Logs, ...) of an IAM user
//! (`service-specific-credentials` collector).

use super::table::{Table, TableRender};
use super::text::{labels, sample};
use super::{Family, Times, Writer, pairs};
use crate::collectors::service_specific_credentials::ServiceSpecificCredential;
use crate::model::AccountData;

const ACTIVE: &str = "aws_iam_service_specific_credential_active";
const STATUS_INFO: &str = "aws_iam_service_specific_credential_status_info";

/// Families rendered once per account refresh, in exposition order, with the
/// labels `account_id`, `user`, `service_name`, `credential_id`. Then comes
/// [`STATUS`] (one more label, `status`), rendered by [`render`] itself.
const FAMILIES: [Family<ServiceSpecificCredential>; 3] = [
    Family {
        name: ACTIVE,
        help: "1 if the service-specific credential is active, 0 if inactive or expired",
        value: |c| Some(i64::from(c.active())),
    },
    Family {
        name: "aws_iam_service_specific_credential_created_timestamp_seconds",
        help: "Time the service-specific credential was created, in Unix seconds",
        value: |c| Some(c.created),
    },
    Family {
        name: "aws_iam_service_specific_credential_expiration_timestamp_seconds",
        help: "Time the service-specific credential expires, in Unix seconds; absent if it never expires",
        value: |c| c.expires,
    },
];

/// `STATUS_INFO`: name and help.
const STATUS: (&str, &str) = (
    STATUS_INFO,
    "Status of the service-specific credential as IAM reports it (Active, Inactive, Expired); value is always 1",
);

/// Computed from "now" at every scrape.
const AGES: [Family<Times>; 1] = [Family {
    name: "aws_iam_service_specific_credential_age_seconds",
    help: "Seconds since the service-specific credential was created",
    value: |c| c.created,
}];

pub(super) const TABLE: Table = Table {
    families: || {
        let mut families = pairs(&FAMILIES);
        families.push(STATUS);
        families
    },
    ages: &AGES,
    render,
};

fn render(account: &str, data: &AccountData, out: &mut TableRender) {
    let Some(collected) = data
        .collected
        .service_specific_credentials
        .as_ref()
        .and_then(|c| c.data.as_ref())
    else {
        return;
    };
    let credentials = &collected.credentials;
    let sets: Vec<String> = credentials
        .iter()
        .map(|c| {
            let mut set = String::new();
            labels(
                &mut set,
                &[
                    ("account_id", account),
                    ("user", &c.user),
                    ("service_name", &c.service_name),
                    ("credential_id", &c.id),
                ],
            );
            set
        })
        .collect();
    let mut writer = Writer::new(credentials.len(), out.chunks.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&credentials[index])),
            family.name,
        );
    }
    let (chunks, label_at) = writer.finish();
    out.chunks.extend(chunks);
    out.times = credentials
        .iter()
        .zip(label_at)
        .map(|(c, at)| Times {
            labels: at,
            created: Some(c.created),
            last_used: None,
        })
        .collect();
    let mut info = String::new();
    for c in credentials {
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("user", &c.user),
                ("service_name", &c.service_name),
                ("credential_id", &c.id),
                ("status", &c.status),
            ],
        );
        sample(&mut info, STATUS_INFO, &set, 1);
    }
    out.push(info);
}
