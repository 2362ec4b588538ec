//! Per-account and process health: refresh outcome, duration, staleness
//! inputs, and build information.

use prometheus_client::encoding::DescriptorEncoder;

use std::sync::Arc;

use super::{Shared, gauge};
use crate::collectors::{Health, root_credentials};
use crate::snapshot::{Progress, Snapshot};

const ACCOUNT_INFO: &str = "aws_iam_account_info";
const REPORT_GENERATED: &str = "aws_iam_credential_report_generated_timestamp_seconds";
const REFRESH_SUCCESS: &str = "aws_iam_exporter_account_refresh_success";
const LAST_SUCCESS: &str = "aws_iam_exporter_account_last_refresh_success_timestamp_seconds";
const REFRESH_DURATION: &str = "aws_iam_exporter_account_refresh_duration_seconds";
const ROWS_SKIPPED: &str = "aws_iam_exporter_report_rows_skipped";
const REFRESH_FAILURES: &str = "aws_iam_exporter_account_refresh_failures";
const ACCOUNTS: &str = "aws_iam_exporter_accounts";
const COLLECTOR_SUCCESS: &str = "aws_iam_exporter_collector_success";
const COLLECTOR_LAST_SUCCESS: &str = "aws_iam_exporter_collector_last_success_timestamp_seconds";
const COLLECTOR_DURATION: &str = "aws_iam_exporter_collector_duration_seconds";
const BUILD_INFO: &str = "aws_iam_exporter_build_info";

/// The account families of one snapshot: refresh outcome, collector health.
#[derive(Debug)]
pub(super) struct AccountFamilies {
    pub(super) snapshot: Arc<Snapshot>,
    pub(super) shared: Shared,
}

impl prometheus_client::collector::Collector for AccountFamilies {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        self.encode_refreshes(&mut encoder)?;
        self.encode_collector_health(&mut encoder)?;
        self.encode_progress_and_build(&mut encoder)
    }
}

impl AccountFamilies {
    /// Per account: what it is, and how its refreshes went.
    fn encode_refreshes(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let accounts = || self.snapshot.accounts.iter();
        let attempted = || accounts().filter(|a| a.attempts > 0);
        let label = |id: &str| [("account_id", id.to_owned())];

        gauge(
            encoder,
            ACCOUNT_INFO,
            "AWS account, its name from AWS Organizations (empty when unknown) and its partition from its ARNs (aws, aws-cn, aws-us-gov; empty until known); value is always 1",
            accounts().filter(|a| !a.account_id.is_empty()).map(|a| {
                (
                    [
                        ("account_id", a.account_id.as_str()),
                        ("account_name", a.name.as_str()),
                        (
                            "partition",
                            a.data.as_ref().map_or("", |d| d.partition.as_str()),
                        ),
                    ],
                    1,
                )
            }),
        )?;
        gauge(
            encoder,
            REPORT_GENERATED,
            &self
                .shared
                .help("Time AWS generated the credential report in use, in Unix seconds"),
            accounts()
                .filter_map(|a| Some((label(&a.account_id), a.data.as_ref()?.report_generated?))),
        )?;
        gauge(
            encoder,
            REFRESH_SUCCESS,
            "1 if the last refresh of the account succeeded, 0 if it failed (its last good data is still served)",
            attempted().map(|a| (label(&a.account_id), i64::from(a.success))),
        )?;
        gauge(
            encoder,
            LAST_SUCCESS,
            "Time of the account's last successful refresh, in Unix seconds",
            accounts().filter_map(|a| Some((label(&a.account_id), a.last_success?))),
        )?;
        {
            let mut family = encoder.encode_descriptor(
                REFRESH_DURATION,
                "Duration of the account's last refresh attempt, in seconds",
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for a in attempted() {
                family
                    .encode_family(&label(&a.account_id))?
                    .encode_gauge(&a.duration.as_secs_f64())?;
            }
        }
        gauge(
            encoder,
            ROWS_SKIPPED,
            "Credential report rows that could not be parsed and are missing from the current data",
            accounts()
                .filter_map(|a| Some((label(&a.account_id), a.data.as_ref()?.rows_skipped as i64))),
        )?;
        {
            let mut family = encoder.encode_descriptor(
                REFRESH_FAILURES,
                "Failed refreshes of the account since the exporter started (AWS errors, timeouts, unusable reports, unknown identity)",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for a in accounts() {
                family
                    .encode_family(&label(&a.account_id))?
                    .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                    &a.failures,
                    None,
                )?;
            }
        }
        Ok(())
    }

    /// Per account and collector: its last attempt and the age of its data.
    fn encode_collector_health(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let accounts = || self.snapshot.accounts.iter();
        // Collector health: only for accounts whose last refresh published
        // data, and only for the collectors that ran in it.
        let health = || {
            accounts().filter(|a| a.data.is_some()).flat_map(|a| {
                a.collected
                    .health()
                    .into_iter()
                    .map(move |h| (a.account_id.as_str(), h))
            })
        };
        let collector_labels = |id: &str, h: &Health| {
            [
                ("account_id", id.to_owned()),
                ("collector", h.collector.name().to_owned()),
            ]
        };
        // Absent, HELP included, where no collector ran (a report file).
        if health().next().is_some() {
            gauge(
                encoder,
                COLLECTOR_SUCCESS,
                "1 if the collector's last attempt for the account succeeded, 0 if it failed (its last good data is still served)",
                health().map(|(id, h)| (collector_labels(id, &h), i64::from(h.success))),
            )?;
            gauge(
                encoder,
                COLLECTOR_LAST_SUCCESS,
                "Time the collector last read the account successfully, in Unix seconds",
                health().filter_map(|(id, h)| Some((collector_labels(id, &h), h.last_success?))),
            )?;
            {
                let mut family = encoder.encode_descriptor(
                    COLLECTOR_DURATION,
                    "Duration of the collector's last attempt for the account, in seconds",
                    None,
                    prometheus_client::metrics::MetricType::Gauge,
                )?;
                for (id, h) in health() {
                    family
                        .encode_family(&collector_labels(id, &h))?
                        .encode_gauge(&h.duration.as_secs_f64())?;
                }
            }
        }
        Ok(())
    }

    /// Where the current refresh stands, and the build.
    fn encode_progress_and_build(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let accounts = || self.snapshot.accounts.iter();
        gauge(
            encoder,
            ACCOUNTS,
            "Accounts of the current refresh by state: pending (not yet refreshed in this round), done, failed",
            Progress::ALL.map(|state| {
                let count = accounts().filter(|a| a.progress == state).count();
                ([("state", state.as_str())], count as i64)
            }),
        )?;
        gauge(
            encoder,
            BUILD_INFO,
            "Version and revision of the exporter; value is always 1",
            [(
                [
                    ("version", env!("CARGO_PKG_VERSION")),
                    ("revision", env!("IAM_EXPORTER_REVISION")),
                ],
                1,
            )],
        )
    }
}

/// The organization's families of one snapshot: its centralized root access
/// features, where the refresh read them.
#[derive(Debug)]
pub(super) struct OrganizationFamilies {
    pub(super) snapshot: Arc<Snapshot>,
}

impl prometheus_client::collector::Collector for OrganizationFamilies {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        match &self.snapshot.organization {
            Some(features) => root_credentials::encode_features(features, &mut encoder),
            None => Ok(()),
        }
    }
}
