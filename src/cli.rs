//! Command-line flags, and their validation into a [`Config`].
//!
//! Parsing only validates; nothing here acts. Every flag has an
//! `IAM_EXPORTER_*` environment mirror.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::accounts::{AccountsConfig, Shard};
use crate::aws::AwsOptions;
use crate::collectors::{Collector, CollectorFlags, Tags};
use crate::exposition::tags::{TagSelection, TagSelectionError};
use crate::refresh::KeyIdMode;
use crate::source::SourceKinds;
use crate::time::parse_duration;

/// Default listen port of the exporter.
pub const DEFAULT_PORT: u16 = 9824;

/// Prometheus exporter for AWS IAM credential hygiene: access key age and last
/// use, MFA and password state, from the IAM credential report.
#[derive(Debug, Parser)]
#[command(name = "iam-credentials-exporter", version, max_term_width = 100)]
pub struct Args {
    /// Address on which to expose metrics and the web interface (`:PORT` listens on all interfaces).
    #[arg(
        long = "web.listen-address",
        env = "IAM_EXPORTER_WEB_LISTEN_ADDRESS",
        value_name = "ADDR",
        default_value = ":9824"
    )]
    pub listen_address: String,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "IAM_EXPORTER_WEB_TELEMETRY_PATH",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// Maximum number of concurrent HTTP connections; further ones wait to be accepted.
    #[arg(long = "web.max-connections", env = "IAM_EXPORTER_WEB_MAX_CONNECTIONS", value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Responses on the telemetry path sent at once; further scrapes wait
    /// their turn, in order. Each response keeps the snapshot it was made
    /// from until it is sent, so this bounds memory under a burst of
    /// scrapers while the data keeps changing. A response holds its turn for
    /// at most 10 seconds, so slow readers cannot stall the others.
    #[arg(long = "web.max-scrapes-in-flight", env = "IAM_EXPORTER_WEB_MAX_SCRAPES_IN_FLIGHT", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_scrapes_in_flight: u32,

    /// Path to a web configuration file (TLS and basic authentication), in the format of
    /// Prometheus's exporter-toolkit.
    #[arg(
        long = "web.config.file",
        env = "IAM_EXPORTER_WEB_CONFIG_FILE",
        value_name = "PATH"
    )]
    pub web_config_file: Option<PathBuf>,

    /// Read the credential report from this CSV file (as decoded from
    /// `aws iam get-credential-report`) instead of from AWS; re-read at every refresh.
    #[arg(
        long = "credential-report.file",
        env = "IAM_EXPORTER_CREDENTIAL_REPORT_FILE",
        value_name = "PATH"
    )]
    pub report_file: Option<PathBuf>,

    /// Largest credential report file or IAM API response accepted (e.g. 64MiB); a larger
    /// one fails the refresh before it is read into memory.
    #[arg(long = "credential-report.max-bytes", env = "IAM_EXPORTER_CREDENTIAL_REPORT_MAX_BYTES", value_name = "BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub max_bytes: u64,

    /// Time between refreshes of IAM data (e.g. 30s, 5m, 1h). AWS regenerates the
    /// credential report at most every 4 hours.
    #[arg(long = "refresh.interval", env = "IAM_EXPORTER_REFRESH_INTERVAL", value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub refresh_interval: Duration,

    /// Deadline of one account's refresh; on expiry the account keeps its last good data.
    #[arg(long = "refresh.timeout", env = "IAM_EXPORTER_REFRESH_TIMEOUT", value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub refresh_timeout: Duration,

    /// Where IAM data comes from: `report` (the credential report: 2 calls per account),
    /// `api` (ListUsers, ListAccessKeys and GetAccessKeyLastUsed per key: key ids and
    /// current last use, but no passwords, MFA or root), or `report,api` (both, merged).
    #[arg(long = "source", env = "IAM_EXPORTER_SOURCE", value_name = "SOURCES", default_value = "report", value_parser = parse_source)]
    pub source: SourceKinds,

    /// How access key ids appear in the `access_key_id` label: the full id, masked to its
    /// last 4 characters, or omitted (empty).
    #[arg(long = "metrics.access-key-id", env = "IAM_EXPORTER_METRICS_ACCESS_KEY_ID", value_enum, value_name = "MODE", default_value_t = KeyIdMode::Full)]
    pub key_ids: KeyIdMode,

    /// IAM user tags that become labels of `aws_iam_user_tags`, one series per user
    /// (comma-separated keys, each as `tag_KEY`; `*` for every tag); none by default.
    /// Read by the authorization-details collector.
    #[arg(
        long = "metrics.user-tags",
        env = "IAM_EXPORTER_METRICS_USER_TAGS",
        value_name = "KEYS",
        default_value = ""
    )]
    pub user_tags: String,

    /// IAM role tags that become labels of `aws_iam_role_tags`, one series per role
    /// (as --metrics.user-tags). Read by the roles collector.
    #[arg(
        long = "metrics.role-tags",
        env = "IAM_EXPORTER_METRICS_ROLE_TAGS",
        value_name = "KEYS",
        default_value = ""
    )]
    pub role_tags: String,

    /// AWS Organizations account tags that become labels of `aws_iam_account_tags`, one
    /// series per account (as --metrics.user-tags); read from the management account, for
    /// accounts found with --aws.organization.role-name.
    #[arg(
        long = "metrics.account-tags",
        env = "IAM_EXPORTER_METRICS_ACCOUNT_TAGS",
        value_name = "KEYS",
        default_value = ""
    )]
    pub account_tags: String,

    /// Serve the derived age families (`*_age_seconds`, `*_idle_seconds`,
    /// `*_since_last_used_seconds`), which change at every scrape; `false` leaves them out
    /// (a quarter of the series) and keeps the timestamps they are computed from.
    #[arg(long = "metrics.ages", env = "IAM_EXPORTER_METRICS_AGES", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub ages: bool,

    /// Role to assume in another account, whose IAM data is exported too (repeatable;
    /// comma-separated in the environment).
    #[arg(
        long = "aws.assume-role",
        env = "IAM_EXPORTER_AWS_ASSUME_ROLE",
        value_name = "ARN",
        value_delimiter = ','
    )]
    pub assume_roles: Vec<String>,

    /// External id to pass when assuming roles.
    #[arg(
        long = "aws.external-id",
        env = "IAM_EXPORTER_AWS_EXTERNAL_ID",
        value_name = "ID"
    )]
    pub external_id: Option<String>,

    /// Session name used when assuming roles (visible in CloudTrail).
    #[arg(
        long = "aws.role-session-name",
        env = "IAM_EXPORTER_AWS_ROLE_SESSION_NAME",
        value_name = "NAME",
        default_value = "iam-credentials-exporter"
    )]
    pub session_name: String,

    /// Do not export the account whose credentials the exporter runs with.
    #[arg(
        long = "aws.skip-own-account",
        env = "IAM_EXPORTER_AWS_SKIP_OWN_ACCOUNT"
    )]
    pub skip_own_account: bool,

    /// Discover the active accounts of the AWS Organization (from the management or a
    /// delegated administrator account) at every refresh and assume this role in each.
    #[arg(
        long = "aws.organization.role-name",
        env = "IAM_EXPORTER_AWS_ORGANIZATION_ROLE_NAME",
        value_name = "NAME"
    )]
    pub organization_role: Option<String>,

    /// Only export these account ids (repeatable; comma-separated in the environment).
    #[arg(
        long = "aws.include-account",
        env = "IAM_EXPORTER_AWS_INCLUDE_ACCOUNT",
        value_name = "ID",
        value_delimiter = ','
    )]
    pub include_accounts: Vec<String>,

    /// Never export these account ids (repeatable; comma-separated in the environment).
    #[arg(
        long = "aws.exclude-account",
        env = "IAM_EXPORTER_AWS_EXCLUDE_ACCOUNT",
        value_name = "ID",
        value_delimiter = ','
    )]
    pub exclude_accounts: Vec<String>,

    /// Accounts calling AWS at the same time. An account waiting for AWS to
    /// build its credential report does not count, so report generation
    /// overlaps across the whole organization.
    #[arg(long = "aws.max-accounts-parallel", env = "IAM_EXPORTER_AWS_MAX_ACCOUNTS_PARALLEL", value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_accounts_parallel: u32,

    /// Minimum gap between the starts of two accounts' refreshes, which
    /// bounds the rate of AssumeRole calls (100 per second at 10ms).
    #[arg(long = "aws.account-start-interval", env = "IAM_EXPORTER_AWS_ACCOUNT_START_INTERVAL", value_name = "DURATION", default_value = "10ms", value_parser = parse_duration)]
    pub account_start_interval: Duration,

    /// IAM API calls in flight at once per account (key-level `api` source).
    #[arg(long = "aws.max-concurrency", env = "IAM_EXPORTER_AWS_MAX_CONCURRENCY", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_concurrency: u32,

    /// Number of exporter replicas sharing the accounts; each account goes to exactly one.
    #[arg(long = "shard.count", env = "IAM_EXPORTER_SHARD_COUNT", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub shard_count: u32,

    /// This replica's shard, from 0 to --shard.count minus 1; required when
    /// --shard.count is above 1, so that no replica takes shard 0 by default.
    #[arg(
        long = "shard.index",
        env = "IAM_EXPORTER_SHARD_INDEX",
        value_name = "I"
    )]
    pub shard_index: Option<u32>,

    /// AWS region for API calls. IAM is global: the default is the region from the
    /// environment or profile, else us-east-1 (use cn-north-1 or us-gov-west-1 for those partitions).
    #[arg(
        long = "aws.region",
        env = "IAM_EXPORTER_AWS_REGION",
        value_name = "REGION"
    )]
    pub aws_region: Option<String>,

    /// Attempts per AWS call, including the first, with adaptive retry and backoff.
    #[arg(long = "aws.max-attempts", env = "IAM_EXPORTER_AWS_MAX_ATTEMPTS", value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub aws_max_attempts: u32,

    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", env = "IAM_EXPORTER_LOG_LEVEL", value_enum, value_name = "LEVEL", default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Output format of log messages.
    #[arg(long = "log.format", env = "IAM_EXPORTER_LOG_FORMAT", value_enum, value_name = "FORMAT", default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub collectors: CollectorFlags,

    /// Shortest time between two audits of a member account's root user
    /// (root-credentials collector). Each audit is a root session, logged in
    /// the member account's CloudTrail; refreshes in between serve the last
    /// audit.
    #[arg(long = "collector.root-credentials.interval", env = "IAM_EXPORTER_COLLECTOR_ROOT_CREDENTIALS_INTERVAL", value_name = "DURATION", default_value = "6h", value_parser = parse_duration, help_heading = "Collectors")]
    pub root_audit_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen_address: SocketAddr,
    pub telemetry_path: String,
    pub max_connections: usize,
    pub max_scrapes_in_flight: usize,
    pub web_config_file: Option<PathBuf>,
    pub report_file: Option<PathBuf>,
    pub refresh_interval: Duration,
    pub refresh_timeout: Duration,
    pub aws: AwsOptions,
    pub accounts: AccountsConfig,
    /// Whether the derived age families are served.
    pub ages: bool,
    pub key_ids: KeyIdMode,
    /// Which tags become labels (`--metrics.{user,role,account}-tags`).
    pub tags: Tags,
    pub max_accounts_parallel: usize,
    pub account_start_interval: Duration,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
}

/// A flag value that parsed but makes no sense.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("invalid --web.listen-address {0:?}: expected HOST:PORT, [IPv6]:PORT or :PORT")]
    ListenAddress(String),
    #[error(
        "invalid --web.telemetry-path {0:?}: must start with '/' and must not be '/' or under '/-/'"
    )]
    TelemetryPath(String),
    #[error("invalid --refresh.interval: must be at least 1s")]
    RefreshInterval,
    #[error("invalid --refresh.timeout: must be at least 1s")]
    RefreshTimeout,
    #[error("invalid --aws.assume-role {0:?}: expected arn:PARTITION:iam::ACCOUNT_ID:role/NAME")]
    RoleArn(String),
    #[error("invalid account id {0:?}: expected 12 digits")]
    AccountId(String),
    #[error("invalid --shard.index {index}: must be less than --shard.count {count}")]
    ShardIndex { index: u32, count: u32 },
    #[error("--shard.count {0} needs --shard.index (this replica's shard, from 0)")]
    ShardIndexMissing(u32),
    #[error("--credential-report.file reads one report; it cannot be combined with {0}")]
    FileWith(&'static str),
    #[error(
        "--aws.skip-own-account leaves no account: add --aws.assume-role or --aws.organization.role-name"
    )]
    NoAccounts,
    #[error("invalid {flag}: {cause}")]
    Tags {
        flag: &'static str,
        cause: TagSelectionError,
    },
    #[error("{flag} is read by the {collector} collector, which is off")]
    TagsWithoutCollector {
        flag: &'static str,
        collector: &'static str,
    },
    #[error(
        "--metrics.account-tags reads the tags of the accounts found through AWS Organizations: add --aws.organization.role-name"
    )]
    AccountTagsWithoutOrganization,
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        let listen_address = parse_listen_address(&args.listen_address)
            .ok_or_else(|| ConfigError::ListenAddress(args.listen_address.clone()))?;
        check_telemetry_path(&args.telemetry_path)?;
        check_refresh(&args)?;
        check_accounts(&args)?;
        let shard_index = shard_index(&args)?;
        let (tags, collectors) = tags(&args)?;
        check_sources(&args, &tags)?;
        Ok(Config {
            listen_address,
            telemetry_path: args.telemetry_path,
            max_connections: args.max_connections as usize,
            max_scrapes_in_flight: args.max_scrapes_in_flight as usize,
            web_config_file: args.web_config_file,
            report_file: args.report_file,
            refresh_interval: args.refresh_interval,
            refresh_timeout: args.refresh_timeout,
            aws: AwsOptions {
                region: args.aws_region,
                max_attempts: args.aws_max_attempts,
                max_response_bytes: args.max_bytes,
                ..AwsOptions::default()
            },
            accounts: AccountsConfig {
                include_own: !args.skip_own_account,
                assume_roles: args.assume_roles,
                external_id: args.external_id,
                session_name: args.session_name,
                organization_role: args.organization_role,
                include: args.include_accounts,
                exclude: args.exclude_accounts,
                shard: (args.shard_count > 1).then_some(Shard {
                    count: args.shard_count,
                    index: shard_index,
                }),
                kinds: args.source,
                concurrency: args.max_concurrency as usize,
                collectors,
                schedule: args.collectors.schedule.clone(),
                root_audit_interval: args.root_audit_interval,
                max_response_bytes: args.max_bytes,
            },
            key_ids: args.key_ids,
            tags,
            ages: args.ages,
            max_accounts_parallel: args.max_accounts_parallel as usize,
            account_start_interval: args.account_start_interval,
            log_level: args.log_level,
            log_format: args.log_format,
        })
    }
}

/// A path of its own, not the landing page or the `/-/` endpoints.
fn check_telemetry_path(path: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') || path == "/" || path.starts_with("/-/") || path.contains(['?', '#'])
    {
        return Err(ConfigError::TelemetryPath(path.to_owned()));
    }
    Ok(())
}

/// An interval and a timeout of at least a second.
fn check_refresh(args: &Args) -> Result<(), ConfigError> {
    if args.refresh_interval < Duration::from_secs(1) {
        return Err(ConfigError::RefreshInterval);
    }
    if args.refresh_timeout < Duration::from_secs(1) {
        return Err(ConfigError::RefreshTimeout);
    }
    Ok(())
}

/// Role ARNs that name their account, and account ids of 12 digits.
fn check_accounts(args: &Args) -> Result<(), ConfigError> {
    for arn in &args.assume_roles {
        let is_role = arn
            .split(':')
            .nth(5)
            .is_some_and(|r| r.starts_with("role/"));
        if crate::model::account_from_arn(arn).is_none() || !is_role {
            return Err(ConfigError::RoleArn(arn.clone()));
        }
    }
    for id in args.include_accounts.iter().chain(&args.exclude_accounts) {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::AccountId(id.clone()));
        }
    }
    Ok(())
}

/// This replica's shard: required, and below the count, when sharding.
fn shard_index(args: &Args) -> Result<u32, ConfigError> {
    match args.shard_index {
        Some(index) if index >= args.shard_count => Err(ConfigError::ShardIndex {
            index,
            count: args.shard_count,
        }),
        Some(index) => Ok(index),
        None if args.shard_count > 1 => Err(ConfigError::ShardIndexMissing(args.shard_count)),
        None => Ok(0),
    }
}

/// A report file is the only source: no flag that reads AWS goes with it;
/// without one, some account must be left to refresh.
fn check_sources(args: &Args, tags: &Tags) -> Result<(), ConfigError> {
    if args.report_file.is_some() {
        let conflict = if args.source != SourceKinds::REPORT {
            Some("--source api")
        } else if !args.assume_roles.is_empty() {
            Some("--aws.assume-role")
        } else if args.organization_role.is_some() {
            Some("--aws.organization.role-name")
        } else if args.shard_count > 1 {
            Some("--shard.count")
        } else if !tags.users.is_none() {
            Some("--metrics.user-tags")
        } else if !tags.roles.is_none() {
            Some("--metrics.role-tags")
        } else {
            None
        };
        if let Some(flag) = conflict {
            return Err(ConfigError::FileWith(flag));
        }
    } else if args.skip_own_account
        && args.assume_roles.is_empty()
        && args.organization_role.is_none()
    {
        return Err(ConfigError::NoAccounts);
    }
    Ok(())
}

/// The three tag selections, and the collectors with account-tags on only
/// where account tags are chosen (it has nothing else to read).
fn tags(args: &Args) -> Result<(Tags, crate::collectors::Collectors), ConfigError> {
    let parse = |flag: &'static str, list: &str| {
        TagSelection::parse(list).map_err(|cause| ConfigError::Tags { flag, cause })
    };
    let tags = Tags {
        users: parse("--metrics.user-tags", &args.user_tags)?,
        roles: parse("--metrics.role-tags", &args.role_tags)?,
        accounts: parse("--metrics.account-tags", &args.account_tags)?,
    };
    let enabled = args.collectors.enabled;
    for (selection, flag, collector) in [
        (
            &tags.users,
            "--metrics.user-tags",
            Collector::AuthorizationDetails,
        ),
        (&tags.roles, "--metrics.role-tags", Collector::Roles),
        (
            &tags.accounts,
            "--metrics.account-tags",
            Collector::AccountTags,
        ),
    ] {
        if !selection.is_none() && !enabled.is_on(collector) {
            return Err(ConfigError::TagsWithoutCollector {
                flag,
                collector: collector.name(),
            });
        }
    }
    if !tags.accounts.is_none() && args.organization_role.is_none() {
        return Err(ConfigError::AccountTagsWithoutOrganization);
    }
    let collectors = enabled.with(Collector::AccountTags, !tags.accounts.is_none());
    Ok((tags, collectors))
}

/// Parses `1048576`, `512KiB`, `64MiB` or `1GiB`.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let value: u64 = s[..digits]
        .parse()
        .map_err(|_| format!("expected a size such as 64MiB, got {s:?}"))?;
    let unit: u64 = match &s[digits..] {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {s:?} (use B, KiB, MiB or GiB)"
            ));
        }
    };
    match value.checked_mul(unit) {
        Some(0) | None => Err(format!("size {s:?} must be between 1 byte and 16 EiB")),
        Some(bytes) => Ok(bytes),
    }
}

fn parse_source(s: &str) -> Result<SourceKinds, String> {
    s.parse()
}

/// Accepts `HOST:PORT`, `[V6]:PORT` and Prometheus's `:PORT` (all interfaces).
fn parse_listen_address(s: &str) -> Option<SocketAddr> {
    match s.strip_prefix(':') {
        Some(port) => Some(SocketAddr::from(([0, 0, 0, 0], port.parse::<u16>().ok()?))),
        None if s.starts_with("localhost:") => {
            let port = s["localhost:".len()..].parse::<u16>().ok()?;
            Some(SocketAddr::from(([127, 0, 0, 1], port)))
        }
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_prometheus_flags() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("64MB").is_err());
        assert!(parse_bytes("MiB").is_err());
    }

    #[test]
    fn listen_addresses_accept_prometheus_forms() {
        assert_eq!(
            parse_listen_address(":9824"),
            Some("0.0.0.0:9824".parse().unwrap())
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:1"),
            Some("127.0.0.1:1".parse().unwrap())
        );
        assert_eq!(
            parse_listen_address("[::1]:80"),
            Some("[::1]:80".parse().unwrap())
        );
        assert_eq!(
            parse_listen_address("localhost:80"),
            Some("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(parse_listen_address("9824"), None);
        assert_eq!(parse_listen_address(":99999"), None);
    }
}

#[cfg(test)]
mod collector_flags {
    use clap::Parser;

    use super::Args;
    use crate::collectors::{Collector, Collectors};

    fn enabled(args: &[&str]) -> Collectors {
        let args = Args::try_parse_from(std::iter::once("exporter").chain(args.iter().copied()))
            .expect("flags parse");
        args.collectors.enabled
    }

    #[test]
    fn collector_intervals_have_defaults_flags_and_environment_variables() {
        use crate::collectors::Collector;
        use std::time::Duration;
        let schedule = |args: &[&str]| {
            let mut argv = vec!["iam-credentials-exporter"];
            argv.extend_from_slice(args);
            Args::try_parse_from(argv).unwrap().collectors.schedule
        };
        let defaults = schedule(&[]);
        assert_eq!(
            defaults.interval(Collector::PasswordPolicy),
            Duration::from_secs(3600)
        );
        assert_eq!(
            defaults.interval(Collector::ServiceSpecificCredentials),
            Duration::ZERO
        );
        // root-credentials keeps its own flag (the audit interval).
        assert_eq!(
            defaults.interval(Collector::RootCredentials),
            Duration::ZERO
        );
        let set = schedule(&[
            "--collector.password-policy.interval=0s",
            "--collector.roles.interval",
            "15m",
        ]);
        assert_eq!(set.interval(Collector::PasswordPolicy), Duration::ZERO);
        assert_eq!(set.interval(Collector::Roles), Duration::from_secs(900));
        let mut argv = vec![
            "iam-credentials-exporter",
            "--collector.roles.interval=soon",
        ];
        assert!(Args::try_parse_from(argv.drain(..)).is_err());
    }

    #[test]
    fn defaults_and_flags_turn_collectors_on_and_off() {
        let policy = Collector::PasswordPolicy;
        assert!(enabled(&[]).is_on(policy), "on by default");
        assert!(!enabled(&["--no-collector.password-policy"]).is_on(policy));
        assert!(!enabled(&["--collector.password-policy=false"]).is_on(policy));
        assert!(!enabled(&["--collector.disable-defaults"]).is_on(policy));
        assert!(
            enabled(&[
                "--collector.disable-defaults",
                "--collector.password-policy"
            ])
            .is_on(policy)
        );
    }

    #[test]
    fn root_credentials_is_off_by_default_and_audits_every_six_hours() {
        let root = Collector::RootCredentials;
        assert!(!enabled(&[]).is_on(root));
        assert!(enabled(&["--collector.root-credentials"]).is_on(root));
        let interval = |args: &[&str]| {
            Args::try_parse_from(std::iter::once("exporter").chain(args.iter().copied()))
                .expect("flags parse")
                .root_audit_interval
        };
        assert_eq!(interval(&[]), std::time::Duration::from_secs(6 * 3600));
        assert_eq!(
            interval(&["--collector.root-credentials.interval", "1d"]),
            std::time::Duration::from_secs(86_400)
        );
    }

    #[test]
    fn the_later_of_a_flag_and_its_negation_wins() {
        let policy = Collector::PasswordPolicy;
        assert!(
            enabled(&[
                "--no-collector.password-policy",
                "--collector.password-policy"
            ])
            .is_on(policy)
        );
        assert!(
            !enabled(&[
                "--collector.password-policy",
                "--no-collector.password-policy"
            ])
            .is_on(policy)
        );
    }

    fn config(args: &[&str]) -> Result<super::Config, super::ConfigError> {
        super::Config::try_from(
            Args::try_parse_from(std::iter::once("exporter").chain(args.iter().copied()))
                .expect("flags parse"),
        )
    }

    #[test]
    fn tag_flags_that_cannot_work_are_refused_with_the_reason() {
        for (args, error) in [
            (
                &["--metrics.user-tags=*,team"][..],
                "invalid --metrics.user-tags: `*` (every tag) cannot be combined with tag keys",
            ),
            (
                &["--metrics.role-tags=team, team"],
                "invalid --metrics.role-tags: tag key \"team\" is given twice",
            ),
            (
                &[
                    "--metrics.user-tags=team",
                    "--no-collector.authorization-details",
                ],
                "--metrics.user-tags is read by the authorization-details collector, which is off",
            ),
            (
                &["--metrics.role-tags=team", "--collector.roles=false"],
                "--metrics.role-tags is read by the roles collector, which is off",
            ),
            (
                &["--metrics.account-tags=team"],
                "--metrics.account-tags reads the tags of the accounts found through AWS Organizations: add --aws.organization.role-name",
            ),
            (
                &[
                    "--metrics.account-tags=team",
                    "--aws.organization.role-name=R",
                    "--no-collector.account-tags",
                ],
                "--metrics.account-tags is read by the account-tags collector, which is off",
            ),
            (
                &["--credential-report.file=r.csv", "--metrics.user-tags=team"],
                "--credential-report.file reads one report; it cannot be combined with --metrics.user-tags",
            ),
        ] {
            assert_eq!(config(args).unwrap_err().to_string(), error, "{args:?}");
        }
    }

    #[test]
    fn no_tag_is_exported_by_default_and_account_tags_runs_only_when_chosen() {
        use crate::exposition::tags::TagSelection;
        let defaults = config(&[]).unwrap();
        assert_eq!(defaults.tags, crate::collectors::Tags::default());
        assert!(!defaults.accounts.collectors.is_on(Collector::AccountTags));
        assert!(
            defaults
                .accounts
                .collectors
                .is_on(Collector::AuthorizationDetails)
        );
        let chosen = config(&[
            "--metrics.user-tags=team,owner",
            "--metrics.role-tags=*",
            "--metrics.account-tags",
            "cost-center",
            "--aws.organization.role-name=R",
        ])
        .unwrap();
        assert_eq!(
            chosen.tags.users,
            TagSelection::Keys(vec![
                ("owner".into(), "tag_owner".into()),
                ("team".into(), "tag_team".into())
            ])
        );
        assert_eq!(chosen.tags.roles, TagSelection::All);
        assert!(chosen.accounts.collectors.is_on(Collector::AccountTags));
    }

    #[test]
    fn an_unknown_collector_is_a_usage_error() {
        let err = Args::try_parse_from(["exporter", "--collector.nope"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
