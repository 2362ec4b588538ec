//! Service-specific credentials of IAM users: CodeCommit Git passwords,
//! Amazon Keyspaces passwords, and the long-term API keys of Amazon Bedrock,
//! Claude Platform on AWS, CloudWatch, CloudWatch Logs and X-Ray (bearer
//! tokens; some never expire).
//!
//! `iam:ListServiceSpecificCredentials` with `AllUsers=true` and no
//! `ServiceName` lists the credentials of every user and every service of the
//! account: one call per 1,000 credentials, whatever the number of users.
//! Where IAM refuses a listing without `ServiceName` (detected at run time,
//! logged once), it costs one listing per service name in [`SERVICES`]: 7
//! calls per account, plus the refused one.
//!
//! `aws_iam_service_specific_credential_*`: one series per service-specific
//! credential (CodeCommit and Keyspaces passwords, long-term API keys of
//! Bedrock, CloudWatch, CloudWatch Logs, ...) of an IAM user
//! (`service-specific-credentials` collector).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::list_service_specific_credentials::ListServiceSpecificCredentialsError;
use aws_sdk_iam::types::{ServiceSpecificCredentialMetadata, StatusType};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::{ApiMetrics, CallError};

use super::{About, Context};
use crate::exposition::{Family, Rows, Table, TableRender, Times, pairs, text::{labels, sample}};


/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "service-specific-credentials",
    env: "IAM_EXPORTER_COLLECTOR_SERVICE_SPECIFIC_CREDENTIALS",
    default: true,
    cost: "1 call per account and 1,000 credentials, whatever the number of users (iam:ListServiceSpecificCredentials with AllUsers, every service at once; 1 more per service where IAM requires ServiceName)",
    interval: "0s",
};

/// What the collector reads in one account.
pub type Data = ServiceSpecificCredentials;

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

pub const TABLE: Table<Data> = Table {
    families: || {
        let mut families = pairs(&FAMILIES);
        families.push(STATUS);
        families
    },
    ages: &AGES,
    render,
};

fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let account = rows.account_id;
    let collected = rows.data;
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
    let mut writer = out.writer(credentials.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&credentials[index])),
            family.name,
        );
    }
    let label_at = out.extend(writer);
    out.times = credentials
        .iter()
        .zip(label_at)
        .map(|(c, at)| Times {
            labels: at,
            created: Some(c.created),
            last_used: None,
            usage_known: true,
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

/// The services IAM issues service-specific credentials for, as of the IAM
/// User Guide ("Service-specific credentials for IAM users", "API keys for
/// AWS services"); a service AWS adds later is one line here.
pub const SERVICES: [&str; 7] = [
    "codecommit.amazonaws.com",
    "cassandra.amazonaws.com",
    "bedrock.amazonaws.com",
    "aws-external-anthropic.amazonaws.com",
    "cloudwatch.amazonaws.com",
    "logs.amazonaws.com",
    "xray.amazonaws.com",
];

/// Credentials per page: the API's maximum.
const PAGE: i32 = 1000;

/// Every service-specific credential of the account, sorted by user,
/// service and id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSpecificCredentials {
    pub credentials: Vec<ServiceSpecificCredential>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpecificCredential {
    pub user: String,
    /// As IAM names it, e.g. `bedrock.amazonaws.com`.
    pub service_name: String,
    pub id: String,
    /// `Active`, `Inactive` or `Expired`, as IAM spells it.
    pub status: String,
    pub created: i64,
    /// `None` when it never expires (only API keys can expire).
    pub expires: Option<i64>,
}

impl ServiceSpecificCredential {
    /// Only `Active` credentials can be used; `Expired` ones cannot.
    pub fn active(&self) -> bool {
        self.status == StatusType::Active.as_str()
    }
}

/// One listing of every service's credentials; where IAM refuses a listing
/// without `ServiceName`, one listing per service name, at most the
/// account's call concurrency at once. A service the partition does not
/// offer (`NotSupportedService`) has no credentials there; any other error
/// fails the collector.
pub async fn collect(ctx: Context<'_>) -> Result<ServiceSpecificCredentials, CallError> {
    let limit = Semaphore::new(ctx.concurrency.max(1));
    let mut credentials = match list(ctx.iam, ctx.api, None, &limit).await {
        Ok(all) => all,
        Err(Listing::Refused(code)) => {
            if !PER_SERVICE_LOGGED.swap(true, Ordering::Relaxed) {
                tracing::info!(%code, "IAM refuses to list service-specific credentials without ServiceName; listing them service by service (1 call per service and account)");
            }
            per_service(ctx).await?
        }
        Err(Listing::Failed(e)) => return Err(e),
    };
    credentials
        .sort_by(|a, b| (&a.user, &a.service_name, &a.id).cmp(&(&b.user, &b.service_name, &b.id)));
    Ok(ServiceSpecificCredentials { credentials })
}

/// Rewrites the credential ids (`--metrics.access-key-id`), each user's
/// credentials of one service counted in creation order.
pub fn rewrite_ids(data: &mut Data, rewrite: &dyn Fn(&str, usize) -> String) {
    let all = &mut data.credentials;
    let order = |c: &ServiceSpecificCredential| (c.user.clone(), c.service_name.clone());
    all.sort_by(|a, b| (order(a), a.created, &a.id).cmp(&(order(b), b.created, &b.id)));
    for group in all.chunk_by_mut(|a, b| order(a) == order(b)) {
        super::rewrite_ids(group.iter_mut().map(|c| &mut c.id), rewrite);
    }
    all.sort_by(|a, b| (&a.user, &a.service_name, &a.id).cmp(&(&b.user, &b.service_name, &b.id)));
}

/// Whether the fallback to per-service listings was logged, once per process.
static PER_SERVICE_LOGGED: AtomicBool = AtomicBool::new(false);

/// The error codes with which IAM refuses a listing without `ServiceName`
/// (a partition or endpoint that requires it), rather than failing it.
const REFUSALS: [&str; 4] = [
    "ValidationError",
    "MissingParameter",
    "InvalidInput",
    "NotSupportedService",
];

/// Why a listing ended without its credentials.
enum Listing {
    /// IAM refuses a listing of every service at once (error code).
    Refused(String),
    Failed(CallError),
}

async fn per_service(ctx: Context<'_>) -> Result<Vec<ServiceSpecificCredential>, CallError> {
    let limit = Arc::new(Semaphore::new(ctx.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for service in SERVICES {
        let (iam, api, limit) = (ctx.iam.clone(), ctx.api.clone(), Arc::clone(&limit));
        tasks.spawn(async move {
            match list(&iam, &api, Some(service), &limit).await {
                Ok(listed) => Ok(listed),
                Err(Listing::Refused(_)) => {
                    tracing::debug!(
                        service,
                        "service-specific credentials not offered for this service here"
                    );
                    Ok(Vec::new())
                }
                Err(Listing::Failed(e)) => Err(e),
            }
        });
    }
    let mut credentials = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("credential listing task panicked") {
            Ok(listed) => credentials.extend(listed),
            Err(e) => {
                tasks.abort_all();
                return Err(e);
            }
        }
    }
    Ok(credentials)
}

/// Every page of one listing: of `service`, or of every service (`None`).
/// A listing of one service that IAM does not offer there is
/// [`Listing::Refused`] with `NotSupportedService`.
async fn list(
    iam: &Client,
    api: &ApiMetrics,
    service: Option<&str>,
    limit: &Semaphore,
) -> Result<Vec<ServiceSpecificCredential>, Listing> {
    let mut credentials = Vec::new();
    let mut marker: Option<String> = None;
    let name = service.unwrap_or("every service");
    loop {
        let answer = {
            let _permit = limit.acquire().await.expect("semaphore is never closed");
            iam.list_service_specific_credentials()
                .all_users(true)
                .set_service_name(service.map(str::to_owned))
                .max_items(PAGE)
                .set_marker(marker.clone())
                .send()
                .await
        };
        let page = match answer {
            Ok(page) => page,
            Err(e) if refused(&e, service) => {
                return Err(Listing::Refused(crate::aws::error_code(&e).to_owned()));
            }
            Err(e) => {
                api.record_error("ListServiceSpecificCredentials", &e);
                return Err(Listing::Failed(CallError::from_sdk(
                    "iam:ListServiceSpecificCredentials",
                    &e,
                )));
            }
        };
        credentials.extend(
            page.service_specific_credentials
                .unwrap_or_default()
                .into_iter()
                .map(credential),
        );
        match (page.is_truncated, page.marker) {
            // The SDK's paginators stop on a repeated token; so does this
            // loop, rather than call IAM until the refresh times out.
            (true, Some(next)) if marker.as_ref() == Some(&next) => {
                return Err(Listing::Failed(CallError::Aws {
                    action: "iam:ListServiceSpecificCredentials",
                    code: "RepeatedMarker".into(),
                    message: format!("{name}: the next page's marker is the one just sent"),
                }));
            }
            (true, Some(next)) if !next.is_empty() => marker = Some(next),
            _ => break,
        }
    }
    Ok(credentials)
}

/// Whether `e` refuses the listing rather than fails it: a service that IAM
/// does not offer here, or, for a listing of every service, one of
/// [`REFUSALS`].
fn refused(
    e: &aws_sdk_iam::error::SdkError<ListServiceSpecificCredentialsError>,
    service: Option<&str>,
) -> bool {
    let not_offered = e
        .as_service_error()
        .is_some_and(|e| e.is_service_not_supported_exception());
    match service {
        Some(_) => not_offered,
        None => not_offered || REFUSALS.contains(&crate::aws::error_code(e)),
    }
}

fn credential(c: ServiceSpecificCredentialMetadata) -> ServiceSpecificCredential {
    ServiceSpecificCredential {
        status: c.status.as_str().to_owned(),
        created: c.create_date.secs(),
        expires: c.expiration_date.map(|d| d.secs()),
        user: c.user_name,
        service_name: c.service_name,
        id: c.service_specific_credential_id,
    }
}
