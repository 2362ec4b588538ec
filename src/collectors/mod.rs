//! Collectors: IAM data beyond the credential report and the key API, each
//! turned on or off on its own (`--collector.NAME`, `--no-collector.NAME`).
//!
//! A collector reads one kind of data for one account, concurrently with the
//! account's credential report and with the other collectors. Its failure
//! does not fail the account: the account's other data is published, the
//! collector's last good data is kept, and its health series say so.
//!
//! A collector is one module: its name, default and API cost ([`About`],
//! shown in `--help`), the IAM calls that read its data, the data, its
//! families and how they are rendered. Adding one is its file and one line
//! in the [`collectors!`] invocation below.

use std::time::{Duration, Instant};

use crate::aws::{ApiMetrics, CallError};
use crate::exposition::tags::TagSelection;
use crate::exposition::{Rows, TableFamilies, TableRender};
use crate::model::AccountData;

/// What a collector is given for one account.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The account's IAM client (assumed role included).
    pub iam: &'a aws_sdk_iam::Client,
    pub api: &'a ApiMetrics,
    /// IAM calls the collector may have in flight at once (`--aws.max-concurrency`).
    pub concurrency: usize,
    /// The root session an organization member's root-credentials audit
    /// opens; `None` for every other account (the collector is off there).
    pub root: Option<&'a root_credentials::RootSession>,
    /// Which tags become labels (`--metrics.{user,role,account}-tags`).
    pub tags: &'a Tags,
    /// The account as a member of the organization, whose tags the
    /// management account reads; `None` for an account found otherwise.
    pub member: Option<&'a account_tags::Member>,
    /// This refresh's `GetAccountAuthorizationDetails` listing, shared by
    /// the collectors that read it; set by [`collect`].
    pub listing: Option<&'a authorization_details::Listing>,
}

/// No tag chosen.
static NO_TAGS: Tags = Tags {
    users: TagSelection::None,
    roles: TagSelection::None,
    accounts: TagSelection::None,
};

impl<'a> Context<'a> {
    /// The context of an account read through `iam`: one call in flight, no
    /// root session, no tag chosen, not an organization member.
    pub fn new(iam: &'a aws_sdk_iam::Client, api: &'a ApiMetrics) -> Self {
        Self {
            iam,
            api,
            concurrency: 1,
            root: None,
            tags: &NO_TAGS,
            member: None,
            listing: None,
        }
    }

    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    pub fn with_root(mut self, root: Option<&'a root_credentials::RootSession>) -> Self {
        self.root = root;
        self
    }

    pub fn with_tags(mut self, tags: &'a Tags) -> Self {
        self.tags = tags;
        self
    }

    pub fn with_member(mut self, member: Option<&'a account_tags::Member>) -> Self {
        self.member = member;
        self
    }
}

/// Which tags of users, roles and accounts become labels of their info
/// series (`aws_iam_user_tags`, `aws_iam_role_tags`, `aws_iam_account_tags`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub users: TagSelection,
    pub roles: TagSelection,
    pub accounts: TagSelection,
}

/// What one collector read in one account refresh, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection<T> {
    /// The last good data: this refresh's when it succeeded, else that of
    /// the last refresh that did; `None` until one has.
    pub data: Option<T>,
    /// Whether this refresh's attempt succeeded.
    pub success: bool,
    /// When the data was read, in Unix seconds (set when published).
    pub last_success: Option<i64>,
    /// Duration of this refresh's attempt.
    pub duration: Duration,
    /// Whether this refresh kept the last read instead of calling IAM: it
    /// is younger than the collector's interval (`--collector.NAME.interval`).
    pub reused: bool,
}

impl<T: Clone> Collection<T> {
    /// Completes this refresh's outcome against the published one: a read
    /// is stamped `now`; a failure keeps the data and time of the last
    /// success; a reused read keeps its own.
    fn carry(&mut self, before: Option<&Collection<T>>, now: i64) {
        if self.reused {
            return;
        }
        if self.success {
            self.last_success = Some(now);
        } else if let Some(before) = before {
            self.data.clone_from(&before.data);
            self.last_success = before.last_success;
        }
    }

    /// The last read again, if it succeeded less than `interval` before
    /// `now`: no call this refresh.
    fn reuse(before: Option<&Collection<T>>, interval: Duration, now: i64) -> Option<Self> {
        let before = before.filter(|_| Self::young(before, interval, now))?;
        Some(Collection {
            reused: true,
            ..before.clone()
        })
    }

    /// Whether the last read succeeded less than `interval` before `now`.
    fn young(before: Option<&Collection<T>>, interval: Duration, now: i64) -> bool {
        before
            .filter(|b| b.success)
            .and_then(|b| b.last_success)
            .and_then(|at| u64::try_from(now.saturating_sub(at)).ok())
            .is_some_and(|age| age < interval.as_secs())
    }
}

/// One collector's outcome as the health series show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Health {
    pub collector: Collector,
    pub success: bool,
    pub last_success: Option<i64>,
    pub duration: Duration,
}

/// Runs `read` if `on`, timing it; a failure is logged here, once.
async fn run<T, F>(on: bool, collector: Collector, read: F) -> Option<Collection<T>>
where
    F: Future<Output = Result<T, CallError>>,
{
    if !on {
        return None;
    }
    let began = Instant::now();
    let result = read.await;
    let duration = began.elapsed();
    Some(match result {
        Ok(data) => Collection {
            data: Some(data),
            success: true,
            last_success: None,
            duration,
            reused: false,
        },
        Err(cause) => {
            tracing::warn!(collector = collector.name(), %cause, "collector failed; keeping its last good data");
            Collection {
                data: None,
                success: false,
                last_success: None,
                duration,
                reused: false,
            }
        }
    })
}

/// What a collector module says of itself ([`about!`]).
#[derive(Debug)]
pub struct About {
    /// As in `--collector.NAME` and the `collector` label.
    pub name: &'static str,
    pub flag: &'static str,
    pub no_flag: &'static str,
    pub env: &'static str,
    pub default: bool,
    /// IAM calls it makes per account and refresh.
    pub cost: &'static str,
    /// `--collector.NAME.interval`: its flag, environment variable and
    /// default (a duration; `0s` reads at every refresh). `None` for a
    /// collector with an interval of its own (root-credentials).
    pub interval: Option<IntervalFlag>,
}

/// The flag of a collector's interval.
#[derive(Debug)]
pub struct IntervalFlag {
    pub flag: &'static str,
    pub env: &'static str,
    pub default: &'static str,
}

/// A collector module's [`About`], its flags made from its name.
macro_rules! about {
    (name: $name:literal, env: $env:literal, default: $default:literal, cost: $cost:literal, interval: $interval:literal $(,)?) => {
        $crate::collectors::About {
            interval: Some($crate::collectors::IntervalFlag {
                flag: concat!("collector.", $name, ".interval"),
                env: concat!($env, "_INTERVAL"),
                default: $interval,
            }),
            ..about!(name: $name, env: $env, default: $default, cost: $cost)
        }
    };
    (name: $name:literal, env: $env:literal, default: $default:literal, cost: $cost:literal $(,)?) => {
        $crate::collectors::About {
            name: $name,
            flag: concat!("collector.", $name),
            no_flag: concat!("no-collector.", $name),
            env: $env,
            default: $default,
            cost: $cost,
            interval: None,
        }
    };
}

/// Static description of a collector.
#[derive(Debug)]
pub struct Spec {
    pub collector: Collector,
    pub about: &'static About,
}

impl std::ops::Deref for Spec {
    type Target = About;

    fn deref(&self) -> &About {
        self.about
    }
}

/// Registers the collector modules: `Variant => module`. A module defines
/// `ABOUT` (name, flag, default, cost), `Data` (what it reads in one
/// account), `collect` (reads it) and `TABLE` (its families and how they
/// are rendered). The field of [`Collected`] that holds a collector's data
/// is named after its module.
macro_rules! collectors {
    ($($variant:ident => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// A collector of IAM data beyond the credential report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Collector {
            $($variant,)*
        }

        /// Every collector, in `--help` and exposition order.
        pub const SPECS: &[Spec] = &[$(
            Spec {
                collector: Collector::$variant,
                about: &$module::ABOUT,
            },
        )*];

        /// The data of the enabled collectors of one account; a field is
        /// `None` when its collector is off or cannot apply (a report file).
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Collected {
            $(pub $module: Option<Collection<$module::Data>>,)*
        }

        impl Collected {
            /// Completes this refresh's outcomes against the published data:
            /// a failed collector keeps its last good data.
            pub fn carry(&mut self, before: Option<&Collected>, now: i64) {
                $(
                    if let Some(c) = &mut self.$module {
                        c.carry(before.and_then(|b| b.$module.as_ref()), now);
                    }
                )*
            }

            /// The outcome of every collector that ran, in [`SPECS`] order.
            pub fn health(&self) -> Vec<Health> {
                let mut out = Vec::new();
                $(
                    if let Some(c) = &self.$module {
                        out.push(Health {
                            collector: Collector::$variant,
                            success: c.success,
                            last_success: c.last_success,
                            duration: c.duration,
                        });
                    }
                )*
                out
            }

            /// Renders the last good data of every collector that has
            /// some, one [`TableRender`] per entry of [`TABLES`].
            pub fn render(&self, account_id: &str, report: &AccountData) -> Vec<TableRender> {
                vec![$(
                    match self.$module.as_ref().and_then(|c| c.data.as_ref()) {
                        Some(data) => $module::TABLE.render(&Rows { account_id, report, data }),
                        None => $module::TABLE.render_nothing(),
                    },
                )*]
            }
        }

        /// The families of every collector, in [`SPECS`] order.
        pub const TABLES: &[TableFamilies] = &[$(
            $module::TABLE.names(),
        )*];

        /// Runs the enabled collectors of one account, all at once; a
        /// collector whose last read (in `before`) is younger than its
        /// interval in `schedule` keeps it without a call. Those that read
        /// share one `GetAccountAuthorizationDetails` listing.
        pub async fn collect(
            enabled: Collectors,
            schedule: &Schedule,
            before: Option<&Collected>,
            now: i64,
            ctx: Context<'_>,
        ) -> Collected {
            let reading = Collectors::NONE$(.with(
                Collector::$variant,
                enabled.is_on(Collector::$variant)
                    && !Collection::young(
                        before.and_then(|b| b.$module.as_ref()),
                        schedule.interval(Collector::$variant),
                        now,
                    ),
            ))*;
            let listing = authorization_details::Listing::new(reading);
            let ctx = Context {
                listing: Some(&listing),
                ..ctx
            };
            let ($($module,)*) = tokio::join!($(
                async {
                    let on = enabled.is_on(Collector::$variant);
                    let before = before.and_then(|b| b.$module.as_ref());
                    match Collection::reuse(before, schedule.interval(Collector::$variant), now) {
                        Some(kept) if on => Some(kept),
                        _ => run(on, Collector::$variant, $module::collect(ctx)).await,
                    }
                },
            )*);
            Collected { $($module,)* }
        }
    };
}

collectors! {
    VirtualMfa => virtual_mfa,
    PasswordPolicy => password_policy,
    ServerCertificates => server_certificates,
    RootCredentials => root_credentials,
    Roles => roles,
    SshPublicKeys => ssh_public_keys,
    ServiceSpecificCredentials => service_specific_credentials,
    AccountSummary => account_summary,
    AuthorizationDetails => authorization_details,
    AccountTags => account_tags,
}

impl Collected {
    /// Writes into the credential report what a collector knows better
    /// (root's password, from the root-credentials audit), so that every
    /// family of the report says it.
    pub fn amend(&self, report: &mut AccountData) {
        if let Some(audit) = self.root_credentials.as_ref().and_then(|c| c.data.as_ref()) {
            root_credentials::amend_report(audit, report);
        }
    }
}

impl Collected {
    /// Rewrites every credential id that the collectors read this refresh
    /// (`--metrics.access-key-id`); kept and reused reads were rewritten
    /// when they were read. `rewrite(id, ordinal)` is given each id and its
    /// place, from 1, among its user's credentials of the same kind.
    pub fn rewrite_credential_ids(&mut self, rewrite: &dyn Fn(&str, usize) -> String) {
        fn fresh<T>(c: &mut Option<Collection<T>>) -> Option<&mut T> {
            c.as_mut()
                .filter(|c| c.success && !c.reused)
                .and_then(|c| c.data.as_mut())
        }
        if let Some(data) = fresh(&mut self.ssh_public_keys) {
            ssh_public_keys::rewrite_ids(data, rewrite);
        }
        if let Some(data) = fresh(&mut self.service_specific_credentials) {
            service_specific_credentials::rewrite_ids(data, rewrite);
        }
    }
}

/// Rewrites the ids of one group of credentials (one user's of one kind),
/// in the order given. Ids that come out alike (masked to the same last
/// characters) get `-ORDINAL` appended: no two series share a label set.
pub fn rewrite_ids<'x>(
    ids: impl IntoIterator<Item = &'x mut String>,
    rewrite: &dyn Fn(&str, usize) -> String,
) {
    let mut ids: Vec<&mut String> = ids.into_iter().collect();
    let new: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| rewrite(id, i + 1))
        .collect();
    for (i, id) in ids.iter_mut().enumerate() {
        let alike = new.iter().filter(|n| **n == new[i]).count() > 1;
        **id = match alike {
            true => format!("{}-{}", new[i], i + 1),
            false => new[i].clone(),
        };
    }
}

impl Collector {
    pub fn spec(self) -> &'static Spec {
        SPECS
            .iter()
            .find(|s| s.collector == self)
            .expect("every collector has a spec")
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    fn index(self) -> usize {
        SPECS
            .iter()
            .position(|s| s.collector == self)
            .expect("every collector has a spec")
    }

    fn bit(self) -> u64 {
        1 << self.index()
    }
}

/// The set of enabled collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collectors(u64);

impl Default for Collectors {
    /// The collectors that are on by default.
    fn default() -> Self {
        SPECS
            .iter()
            .filter(|s| s.default)
            .fold(Self::NONE, |set, s| set.with(s.collector, true))
    }
}

impl Collectors {
    pub const NONE: Collectors = Collectors(0);

    pub fn with(self, collector: Collector, on: bool) -> Self {
        match on {
            true => Self(self.0 | collector.bit()),
            false => Self(self.0 & !collector.bit()),
        }
    }

    pub fn is_on(self, collector: Collector) -> bool {
        self.0 & collector.bit() != 0
    }

    /// Names of the enabled collectors, in [`SPECS`] order.
    pub fn names(self) -> Vec<&'static str> {
        SPECS
            .iter()
            .filter(|s| self.is_on(s.collector))
            .map(|s| s.name)
            .collect()
    }
}

/// How often each collector reads an account (`--collector.NAME.interval`):
/// data that rarely changes need not be read at every refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(Vec<Duration>);

impl Default for Schedule {
    /// Every collector's default interval.
    fn default() -> Self {
        Self(
            SPECS
                .iter()
                .map(|s| {
                    s.interval
                        .as_ref()
                        .map_or(Duration::ZERO, |i| parse_interval(i.default))
                })
                .collect(),
        )
    }
}

impl Schedule {
    /// Every collector at every refresh.
    pub fn every_refresh() -> Self {
        Self(vec![Duration::ZERO; SPECS.len()])
    }

    pub fn with(mut self, collector: Collector, interval: Duration) -> Self {
        self.0[collector.index()] = interval;
        self
    }

    pub fn interval(&self, collector: Collector) -> Duration {
        self.0[collector.index()]
    }
}

fn parse_interval(text: &str) -> Duration {
    crate::time::parse_duration(text).expect("a collector's default interval is a duration")
}

/// The `--collector.*` flags, as a flattened part of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorFlags {
    pub enabled: Collectors,
    pub schedule: Schedule,
}

const DISABLE_DEFAULTS: &str = "collector.disable-defaults";

impl clap::Args for CollectorFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        use clap::{Arg, ArgAction};
        cmd = cmd.arg(
            Arg::new(DISABLE_DEFAULTS)
                .long(DISABLE_DEFAULTS)
                .env("IAM_EXPORTER_COLLECTOR_DISABLE_DEFAULTS")
                .action(ArgAction::SetTrue)
                .help("Turn every collector off unless enabled by its own flag")
                .help_heading("Collectors"),
        );
        for spec in SPECS {
            let state = if spec.default { "on" } else { "off" };
            cmd = cmd
                .arg(
                    Arg::new(spec.flag)
                        .long(spec.flag)
                        .env(spec.env)
                        .value_name("BOOL")
                        .num_args(0..=1)
                        .require_equals(true)
                        .default_missing_value("true")
                        .overrides_with(spec.no_flag)
                        .value_parser(clap::value_parser!(bool))
                        .help(format!(
                            "Enable the {} collector ({state} by default): {}",
                            spec.name, spec.cost
                        ))
                        .help_heading("Collectors"),
                )
                .arg(
                    Arg::new(spec.no_flag)
                        .long(spec.no_flag)
                        .action(ArgAction::SetTrue)
                        .overrides_with(spec.flag)
                        .help(format!("Disable the {} collector", spec.name))
                        .help_heading("Collectors"),
                );
            if let Some(interval) = &spec.interval {
                cmd = cmd.arg(
                    Arg::new(interval.flag)
                        .long(interval.flag)
                        .env(interval.env)
                        .value_name("DURATION")
                        .default_value(interval.default)
                        .value_parser(crate::time::parse_duration)
                        .help(format!(
                            "Shortest time between two reads of an account by the {} collector; its last read is served in between (0s: every refresh)",
                            spec.name
                        ))
                        .help_heading("Collectors"),
                );
            }
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for CollectorFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut set = match matches.get_flag(DISABLE_DEFAULTS) {
            true => Collectors::NONE,
            false => Collectors::default(),
        };
        let mut schedule = Schedule::every_refresh();
        for spec in SPECS {
            // The later of --collector.X and --no-collector.X wins: each
            // overrides the other.
            if matches.get_flag(spec.no_flag) {
                set = set.with(spec.collector, false);
            } else if let Some(on) = matches.get_one::<bool>(spec.flag) {
                set = set.with(spec.collector, *on);
            }
            if let Some(interval) = &spec.interval
                && let Some(every) = matches.get_one::<Duration>(interval.flag)
            {
                schedule = schedule.with(spec.collector, *every);
            }
        }
        Ok(Self {
            enabled: set,
            schedule,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collector_has_a_distinct_name_and_environment_variable() {
        let mut names: Vec<_> = SPECS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SPECS.len());
        for spec in SPECS {
            let env = format!(
                "IAM_EXPORTER_COLLECTOR_{}",
                spec.name.to_uppercase().replace('-', "_")
            );
            assert_eq!(spec.env, env);
            assert!(!spec.cost.is_empty());
        }
    }

    #[test]
    fn ids_that_rewrite_alike_keep_their_ordinal() {
        let mask = |id: &str, _: usize| format!("**{}", &id[id.len() - 2..]);
        let mut ids = vec!["AA01".to_owned(), "BB01".to_owned(), "CC02".to_owned()];
        rewrite_ids(ids.iter_mut(), &mask);
        assert_eq!(ids, ["**01-1", "**01-2", "**02"]);
        let mut ids = vec!["AA01".to_owned(), "BB01".to_owned()];
        rewrite_ids(ids.iter_mut(), &|_, n| n.to_string());
        assert_eq!(ids, ["1", "2"]);
    }
}
