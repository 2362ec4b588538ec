//! `aws_iam_server_certificate_*`: one series per server certificate stored
//! in IAM (`server-certificates` collector), with the labels `account_id`,
//! `name` (unique in the account) and `id`.

use super::table::{Table, TableRender};
use super::text::labels;
use super::{Family, Writer, pairs};
use crate::collectors::server_certificates::ServerCertificate;
use crate::model::AccountData;

const FAMILIES: [Family<ServerCertificate>; 2] = [
    Family {
        name: "aws_iam_server_certificate_expiration_timestamp_seconds",
        help: "Time the server certificate stored in IAM expires (its notAfter), in Unix seconds",
        value: |c| c.expiration,
    },
    Family {
        name: "aws_iam_server_certificate_uploaded_timestamp_seconds",
        help: "Time the server certificate was uploaded to IAM, in Unix seconds",
        value: |c| c.uploaded,
    },
];

pub(super) const TABLE: Table = Table {
    families: || pairs(&FAMILIES),
    ages: &[],
    render,
};

/// The account's certificates, once the collector has read them.
fn render(account: &str, data: &AccountData, out: &mut TableRender) {
    let Some(certificates) = data
        .collected
        .server_certificates
        .as_ref()
        .and_then(|c| c.data.as_ref())
    else {
        return;
    };
    let sets: Vec<String> = certificates
        .iter()
        .map(|c| {
            let mut set = String::new();
            labels(
                &mut set,
                &[("account_id", account), ("name", &c.name), ("id", &c.id)],
            );
            set
        })
        .collect();
    let mut writer = Writer::new(certificates.len(), out.chunks.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&certificates[index])),
            family.name,
        );
    }
    let (chunks, _) = writer.finish();
    out.chunks.extend(chunks);
}
