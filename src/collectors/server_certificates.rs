//! Server certificates stored in IAM (CIS AWS Foundations 1.19: remove
//! expired ones): `iam:ListServerCertificates`, one call per page of 1,000
//! certificates. IAM keeps the certificates that a load balancer or
//! CloudFront serves when ACM is not used; an expired one still stored is a
//! certificate someone may deploy by mistake.
//!
//! `aws_iam_server_certificate_*`: one series per server certificate stored
//! in IAM (`server-certificates` collector), with the labels `account_id`,
//! `name` (unique in the account) and `id`.

use crate::aws::{ApiMetrics, CallError};

use super::{About, Context};
use crate::exposition::{Family, Rows, Table, TableRender, pairs, text::labels};


/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "server-certificates",
    env: "IAM_EXPORTER_COLLECTOR_SERVER_CERTIFICATES",
    default: true,
    cost: "1 call per account and 1,000 server certificates (iam:ListServerCertificates)",
    interval: "1h",
};

/// What the collector reads in one account.
pub type Data = Vec<ServerCertificate>;

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

pub const TABLE: Table<Data> = Table {
    families: || pairs(&FAMILIES),
    ages: &[],
    render,
};

/// The account's certificates, once the collector has read them.
fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let account = rows.account_id;
    let certificates = rows.data;
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
    let mut writer = out.writer(certificates.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&certificates[index])),
            family.name,
        );
    }
    out.extend(writer);
}

/// The largest page IAM serves.
const PAGE_SIZE: i32 = 1000;

/// One server certificate's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerCertificate {
    /// Unique in the account.
    pub name: String,
    /// `ASCA...`, unique in AWS.
    pub id: String,
    pub path: String,
    pub uploaded: Option<i64>,
    /// The certificate's notAfter.
    pub expiration: Option<i64>,
}

pub async fn collect(ctx: Context<'_>) -> Result<Vec<ServerCertificate>, CallError> {
    list(ctx.iam, ctx.api).await
}

/// Reads every page, in IAM's order.
pub async fn list(
    iam: &aws_sdk_iam::Client,
    api: &ApiMetrics,
) -> Result<Vec<ServerCertificate>, CallError> {
    let mut pages = iam
        .list_server_certificates()
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    let mut certificates = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            api.record_error("ListServerCertificates", &e);
            CallError::from_sdk("iam:ListServerCertificates", &e)
        })?;
        certificates.extend(page.server_certificate_metadata_list.into_iter().map(|c| {
            ServerCertificate {
                uploaded: c.upload_date.map(|t| t.secs()),
                expiration: c.expiration.map(|t| t.secs()),
                name: c.server_certificate_name,
                id: c.server_certificate_id,
                path: c.path,
            }
        }));
    }
    Ok(certificates)
}
