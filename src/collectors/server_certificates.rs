//! Server certificates stored in IAM (CIS AWS Foundations 1.19: remove
//! expired ones): `iam:ListServerCertificates`, one call per page of 1,000
//! certificates. IAM keeps the certificates that a load balancer or
//! CloudFront serves when ACM is not used; an expired one still stored is a
//! certificate someone may deploy by mistake.

use crate::aws::{ApiMetrics, CallError};

use super::Context;

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
