//! Getting the credential report from AWS.
//!
//! AWS builds the report asynchronously: `GenerateCredentialReport` starts a
//! build (or says a report younger than four hours is ready) and is polled
//! until its state is `COMPLETE`; `GetCredentialReport` then returns the CSV.
//! At steady state that is two calls per refresh.

use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_credential_report::GetCredentialReportError;
use aws_sdk_iam::types::{ReportFormatType, ReportStateType};
use tracing::{debug, warn};

use crate::aws::{ApiMetrics, CallError, error_code};
use crate::permit::Permit;

/// A credential report as AWS returned it.
#[derive(Debug, Clone)]
pub struct FetchedReport {
    pub content: Vec<u8>,
    /// Unix seconds.
    pub generated: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("credential report still not ready after {attempts} attempts")]
    NotReady { attempts: u32 },
    #[error("GetCredentialReport returned no content")]
    NoContent,
    #[error("credential report has unsupported format {0:?}")]
    Format(String),
}

/// How long to wait for AWS to build the report.
#[derive(Debug, Clone)]
pub struct PollPolicy {
    /// Generate calls, including the first.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for PollPolicy {
    /// A report AWS already has is fetched at once (two calls). One being
    /// built is polled after a quarter of a second, then at doubling
    /// intervals up to 10 s: a small account's report is ready within a
    /// second or two, a large one's within minutes, and the account's
    /// deadline (`--refresh.timeout`) ends the wait before the attempts do.
    fn default() -> Self {
        Self {
            max_attempts: 40,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
        }
    }
}

const GENERATE: &str = "iam:GenerateCredentialReport";

/// Counts a failed GetCredentialReport and turns it into a [`CallError`].
fn record(
    api: &ApiMetrics,
    err: &aws_sdk_iam::error::SdkError<GetCredentialReportError>,
) -> CallError {
    api.record_error("GetCredentialReport", err);
    CallError::from_sdk(GET, err)
}
const GET: &str = "iam:GetCredentialReport";

/// Generates (when needed), waits for and downloads the credential report.
///
/// Between polls the account gives up its `permit`, so other accounts' calls
/// go on while AWS builds this one's report.
pub async fn fetch_report(
    client: &Client,
    policy: &PollPolicy,
    api: &ApiMetrics,
    permit: &Permit,
) -> Result<FetchedReport, ReportError> {
    let mut backoff = policy.initial_backoff;
    for attempt in 1..=policy.max_attempts {
        if attempt > 1 {
            permit.idle(backoff).await;
            backoff = (backoff * 2).min(policy.max_backoff);
        }
        match client.generate_credential_report().send().await {
            Ok(out) if out.state() == Some(&ReportStateType::Complete) => {}
            Ok(out) => {
                debug!(attempt, state = ?out.state(), "credential report is being generated");
                continue;
            }
            Err(err) => {
                api.record_error("GenerateCredentialReport", &err);
                match CallError::from_sdk(GENERATE, &err) {
                    e if e.is_throttled() => {
                        warn!(attempt, cause = %e, "credential report generation throttled, backing off");
                        continue;
                    }
                    e => return Err(e.into()),
                }
            }
        }
        match client.get_credential_report().send().await {
            Ok(out) => {
                if let Some(format) = out.report_format()
                    && *format != ReportFormatType::TextCsv
                {
                    return Err(ReportError::Format(format.as_str().to_owned()));
                }
                let content = out.content.ok_or(ReportError::NoContent)?.into_inner();
                return Ok(FetchedReport {
                    content,
                    generated: out.generated_time.map(|t| t.secs()),
                });
            }
            // Not ready, expired and not present are the states of a report
            // being built, answered as errors; they are not failures.
            Err(err) => {
                match err.as_service_error() {
                    Some(
                        GetCredentialReportError::CredentialReportExpiredException(_)
                        | GetCredentialReportError::CredentialReportNotPresentException(_),
                    ) => {
                        debug!(
                            attempt,
                            code = error_code(&err),
                            "credential report must be generated again"
                        );
                        // Generating again right away is what AWS asks for.
                        backoff = policy.initial_backoff;
                    }
                    Some(GetCredentialReportError::CredentialReportNotReadyException(_)) => {
                        debug!(attempt, "credential report still in progress");
                    }
                    _ => match record(api, &err) {
                        e if e.is_throttled() => {
                            warn!(attempt, cause = %e, "credential report download throttled, backing off");
                        }
                        e => return Err(e.into()),
                    },
                }
            }
        }
    }
    Err(ReportError::NotReady {
        attempts: policy.max_attempts,
    })
}
