//! The exporter's own settings that alerts are relative to: how often it
//! refreshes and where its data comes from. A staleness threshold taken from
//! these follows `--refresh.interval` instead of assuming the default, and a
//! report read from a file (whose age is the file's) is not alerted on as if
//! AWS had stopped generating reports.

use std::time::Duration;

use prometheus_client::encoding::DescriptorEncoder;

use super::gauge;
use crate::collectors::{Collectors, SPECS};
use crate::source::SourceKinds;

const REFRESH_INTERVAL: &str = "aws_iam_exporter_refresh_interval_seconds";
const SOURCE_INFO: &str = "aws_iam_exporter_source_info";
const COLLECTOR_ENABLED: &str = "aws_iam_exporter_collector_enabled";
const SHARDS: &str = "aws_iam_exporter_shards";
const SHARD: &str = "aws_iam_exporter_shard";

/// Serves `aws_iam_exporter_refresh_interval_seconds` and
/// `aws_iam_exporter_source_info{source}` from the flags the exporter runs
/// with. Present from the first scrape, before any refresh.
#[derive(Debug)]
pub struct SettingsFamilies {
    interval_seconds: i64,
    source: &'static str,
    collectors: Collectors,
    /// `--shard.count` and `--shard.index`; `(1, 0)` without sharding.
    shard: (u32, u32),
}

impl SettingsFamilies {
    /// `report_file` is `--credential-report.file`, which takes precedence
    /// over `--source`.
    pub fn new(interval: Duration, report_file: bool, kinds: SourceKinds) -> Self {
        let source = match (report_file, kinds.report, kinds.api) {
            (true, _, _) => "file",
            (false, true, true) => "report,api",
            (false, false, true) => "api",
            (false, _, false) => "report",
        };
        Self {
            interval_seconds: i64::try_from(interval.as_secs()).unwrap_or(i64::MAX),
            source,
            collectors: Collectors::NONE,
            shard: (1, 0),
        }
    }

    /// This replica's shard: `index` of `count` (`--shard.*`).
    pub fn with_shard(mut self, count: u32, index: u32) -> Self {
        self.shard = (count, index);
        self
    }

    /// The collectors that run (`--collector.*`); none for a report file.
    pub fn with_collectors(mut self, collectors: Collectors) -> Self {
        self.collectors = collectors;
        self
    }
}

impl prometheus_client::collector::Collector for SettingsFamilies {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let no_labels: [(&str, &str); 0] = [];
        gauge(
            &mut encoder,
            REFRESH_INTERVAL,
            "Interval between two refreshes of the IAM data (--refresh.interval), in seconds",
            [(no_labels, self.interval_seconds)],
        )?;
        gauge(
            &mut encoder,
            SOURCE_INFO,
            "Where IAM data comes from: file (--credential-report.file), report, api or report,api (--source); value is always 1",
            [([("source", self.source)], 1)],
        )?;
        gauge(
            &mut encoder,
            COLLECTOR_ENABLED,
            "1 if the collector runs (--collector.NAME), 0 if it is off; value per collector",
            SPECS.iter().map(|s| {
                (
                    [("collector", s.name)],
                    i64::from(self.collectors.is_on(s.collector)),
                )
            }),
        )?;
        gauge(
            &mut encoder,
            SHARDS,
            "Replicas the accounts are shared among (--shard.count); 1 without sharding",
            [(no_labels, i64::from(self.shard.0))],
        )?;
        gauge(
            &mut encoder,
            SHARD,
            "This replica's shard, from 0 to aws_iam_exporter_shards minus 1 (--shard.index); a shard may own no account",
            [(no_labels, i64::from(self.shard.1))],
        )
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;
    use crate::collectors::Collector;

    fn render(collector: SettingsFamilies) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn serves_the_refresh_interval_and_the_source_kind() {
        let both = SourceKinds {
            report: true,
            api: true,
        };
        // One line per collector, in SPECS order: only password-policy is on.
        let collectors: String = crate::collectors::SPECS
            .iter()
            .map(|spec| {
                let on = u8::from(spec.collector == Collector::PasswordPolicy);
                format!(
                    "aws_iam_exporter_collector_enabled{{collector=\"{}\"}} {on}\n",
                    spec.name
                )
            })
            .collect();
        assert_eq!(
            render(
                SettingsFamilies::new(Duration::from_secs(3600), false, both)
                    .with_collectors(Collectors::NONE.with(Collector::PasswordPolicy, true))
            ),
            "# HELP aws_iam_exporter_refresh_interval_seconds Interval between two refreshes of the IAM data (--refresh.interval), in seconds\n\
             # TYPE aws_iam_exporter_refresh_interval_seconds gauge\n\
             aws_iam_exporter_refresh_interval_seconds 3600\n\
             # HELP aws_iam_exporter_source_info Where IAM data comes from: file (--credential-report.file), report, api or report,api (--source); value is always 1\n\
             # TYPE aws_iam_exporter_source_info gauge\n\
             aws_iam_exporter_source_info{source=\"report,api\"} 1\n\
             # HELP aws_iam_exporter_collector_enabled 1 if the collector runs (--collector.NAME), 0 if it is off; value per collector\n\
             # TYPE aws_iam_exporter_collector_enabled gauge\n"
                .to_owned()
                + &collectors
                + "# HELP aws_iam_exporter_shards Replicas the accounts are shared among (--shard.count); 1 without sharding\n\
                   # TYPE aws_iam_exporter_shards gauge\n\
                   aws_iam_exporter_shards 1\n\
                   # HELP aws_iam_exporter_shard This replica's shard, from 0 to aws_iam_exporter_shards minus 1 (--shard.index); a shard may own no account\n\
                   # TYPE aws_iam_exporter_shard gauge\n\
                   aws_iam_exporter_shard 0\n\
                   # EOF\n"
        );
    }

    #[test]
    fn a_report_file_is_the_file_source_whatever_source_says() {
        let text = render(SettingsFamilies::new(
            Duration::from_secs(300),
            true,
            SourceKinds::REPORT,
        ));
        assert!(text.contains("aws_iam_exporter_source_info{source=\"file\"} 1\n"));
        let api = SourceKinds {
            report: false,
            api: true,
        };
        let text = render(SettingsFamilies::new(Duration::from_secs(300), false, api));
        assert!(text.contains("aws_iam_exporter_source_info{source=\"api\"} 1\n"));
    }
}
