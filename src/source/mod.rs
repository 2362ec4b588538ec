//! Where account data comes from. A source turns one account into an
//! [`AccountData`]; it never touches the published snapshot.

pub mod api;

use std::path::PathBuf;

use tracing::warn;

use crate::aws::ApiMetrics;
use crate::model::{AccountData, account_from_arn, partition_from_arn};
use crate::permit::Permit;
use crate::report::fetch::PollPolicy;
use crate::report::{ReportError, ReportParseError, fetch_report, parse_report};

#[derive(Debug, Clone)]
pub enum Source {
    /// A credential report CSV on disk, re-read at every refresh.
    File { path: PathBuf, max_bytes: u64 },
    /// The IAM API: the credential report, the key-level API, or both merged.
    Aws {
        client: aws_sdk_iam::Client,
        kinds: SourceKinds,
        poll: PollPolicy,
        /// IAM calls in flight at once for this account (key-level API
        /// and collectors).
        concurrency: usize,
    },
    /// An account that cannot be refreshed this round, and why; it keeps
    /// its last good data and is reported as failed.
    Unresolved(String),
}

/// Which IAM data an AWS account is read from (`--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceKinds {
    pub report: bool,
    pub api: bool,
}

impl SourceKinds {
    pub const REPORT: SourceKinds = SourceKinds {
        report: true,
        api: false,
    };
}

impl std::str::FromStr for SourceKinds {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut kinds = SourceKinds {
            report: false,
            api: false,
        };
        for part in s.split(',').map(str::trim) {
            match part {
                "report" => kinds.report = true,
                "api" => kinds.api = true,
                other => {
                    return Err(format!(
                        "unknown source {other:?} (use report, api or report,api)"
                    ));
                }
            }
        }
        Ok(kinds)
    }
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
    #[error(transparent)]
    Api(#[from] crate::aws::CallError),
    #[error(
        "{path} has {size} bytes, more than the limit of {max} (--credential-report.max-bytes)"
    )]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("refresh timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("refresh aborted by a bug (please report it): {0}")]
    Panicked(String),
    #[error("{0}")]
    Unresolved(String),
}

impl Source {
    /// The account's IAM client and how many calls it may have in flight,
    /// for the collectors; `None` where there is no account to call.
    pub fn iam(&self) -> Option<(&aws_sdk_iam::Client, usize)> {
        match self {
            Source::Aws {
                client,
                concurrency,
                ..
            } => Some((client, *concurrency)),
            _ => None,
        }
    }

    /// Reads the account; `permit` is its share of the refresh's parallelism.
    pub async fn read(
        &self,
        metrics: &ApiMetrics,
        permit: &Permit,
    ) -> Result<AccountData, SourceError> {
        match self {
            Source::Unresolved(reason) => Err(SourceError::Unresolved(reason.clone())),
            Source::File { path, max_bytes } => {
                let read_error = |source| SourceError::Read {
                    path: path.clone(),
                    source,
                };
                let size = tokio::fs::metadata(path).await.map_err(read_error)?.len();
                if size > *max_bytes {
                    return Err(SourceError::TooLarge {
                        path: path.clone(),
                        size,
                        max: *max_bytes,
                    });
                }
                let content = tokio::fs::read(path).await.map_err(read_error)?;
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
            Source::Aws {
                client,
                kinds,
                poll,
                concurrency,
            } => {
                // Both halves run at once; a failure of either fails the refresh.
                let report = async {
                    match kinds.report {
                        true => {
                            let report = fetch_report(client, poll, metrics, permit).await?;
                            parse(&report.content, report.generated).map(Some)
                        }
                        false => Ok(None),
                    }
                };
                let listed = async {
                    match kinds.api {
                        true => api::list_users(client, *concurrency, metrics)
                            .await
                            .map(Some)
                            .map_err(SourceError::from),
                        false => Ok(None),
                    }
                };
                let (report, listed) = tokio::try_join!(report, listed)?;
                let data = match (report, listed) {
                    (Some(mut data), Some(users)) => {
                        data.users = api::merge(std::mem::take(&mut data.users), users);
                        data
                    }
                    (Some(data), None) => data,
                    (None, users) => {
                        let users = users.unwrap_or_default();
                        AccountData {
                            account_id: users
                                .iter()
                                .find_map(|u| account_from_arn(&u.arn))
                                .unwrap_or_default()
                                .to_owned(),
                            partition: users
                                .iter()
                                .find_map(|u| partition_from_arn(&u.arn))
                                .unwrap_or_default()
                                .to_owned(),
                            report_generated: None,
                            users,
                            rows_skipped: 0,
                        }
                    }
                };
                Ok(data)
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
