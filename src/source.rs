//! Where account data comes from. A source turns one account into an
//! [`AccountData`]; it never touches the published snapshot.

use std::path::PathBuf;

use tracing::warn;

use crate::aws::ApiMetrics;
use crate::model::AccountData;
use crate::report::fetch::PollPolicy;
use crate::report::{ReportError, ReportParseError, fetch_report, parse_report};

#[derive(Debug, Clone)]
pub enum Source {
    /// A credential report CSV on disk, re-read at every refresh.
    File(PathBuf),
    /// The credential report from the IAM API.
    Report {
        client: aws_sdk_iam::Client,
        poll: PollPolicy,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Parse(#[from] ReportParseError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("refresh timed out after {0:?}")]
    Timeout(std::time::Duration),
}

impl Source {
    pub async fn collect(&self, api: &ApiMetrics) -> Result<AccountData, SourceError> {
        match self {
            Source::File(path) => {
                let content = tokio::fs::read(path)
                    .await
                    .map_err(|source| SourceError::Read {
                        path: path.clone(),
                        source,
                    })?;
                // A file carries no generation time; its modification time is the
                // closest thing to it.
                let generated = tokio::fs::metadata(path)
                    .await
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .and_then(|d| i64::try_from(d.as_secs()).ok());
                parse(&content, generated)
            }
            Source::Report { client, poll } => {
                let report = fetch_report(client, poll, api).await?;
                parse(&report.content, report.generated)
            }
        }
    }
}

fn parse(content: &[u8], generated: Option<i64>) -> Result<AccountData, SourceError> {
    let parsed = parse_report(content)?;
    for (line, cause) in &parsed.skipped {
        warn!(account = %parsed.data.account_id, line, %cause, "skipped credential report row");
    }
    Ok(AccountData {
        report_generated: generated,
        ..parsed.data
    })
}
