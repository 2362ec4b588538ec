//! Which AWS accounts a refresh covers: the exporter's own, roles to assume,
//! and the active members of an AWS Organization, filtered by id and by shard.
//!
//! Discovery runs at the start of every refresh, so accounts that join an
//! organization appear and closed ones disappear. If discovery fails, the
//! accounts found last time are refreshed again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_organizations::types::{AccountState, AccountStatus};
use tokio::sync::OnceCell;
use tracing::{debug, error, info, warn};

use crate::assume_role::AssumeRole;
use crate::aws::{self, ApiMetrics};
use crate::collectors::root_credentials::{self, Auditor, OrganizationFeatures, RootSession};
use crate::collectors::{Collector, Collectors, Schedule, account_tags};
use crate::model::account_from_arn;
use crate::report::fetch::PollPolicy;
use crate::source::{Source, SourceKinds};

/// One account to refresh.
#[derive(Debug)]
pub struct Target {
    /// Identifies the target across refreshes (a path, a role ARN, an account id).
    pub key: String,
    /// Known before any data arrives (from configuration or discovery).
    pub account_id: Option<String>,
    /// Account name from AWS Organizations; empty when unknown.
    pub name: String,
    pub source: Source,
    /// The collectors that read more than the source (`--collector.*`).
    pub collectors: Collectors,
    /// The root-credentials audit's session: organization members only.
    pub root: Option<Arc<RootSession>>,
    /// The account as an organization member, for the account-tags
    /// collector; `None` for an account not found through Organizations.
    pub member: Option<Arc<account_tags::Member>>,
}

impl Target {
    /// A target known by `key`, read from `source`, with no collector.
    pub fn new(key: impl Into<String>, source: Source) -> Self {
        Self {
            key: key.into(),
            account_id: None,
            name: String::new(),
            source,
            collectors: Collectors::NONE,
            root: None,
            member: None,
        }
    }

    pub fn with_member(mut self, member: Option<account_tags::Member>) -> Self {
        self.member = member.map(Arc::new);
        self
    }

    pub fn with_account_id(mut self, id: impl Into<String>) -> Self {
        self.account_id = Some(id.into());
        self
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn with_collectors(mut self, collectors: Collectors) -> Self {
        self.collectors = collectors;
        self
    }

    /// The root-credentials collector runs where there is a root session.
    pub fn with_root_session(mut self, root: Option<Arc<RootSession>>) -> Self {
        self.collectors = self
            .collectors
            .with(Collector::RootCredentials, root.is_some());
        self.root = root;
        self
    }
}

/// Settings for multi-account discovery, from the command line.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    pub include_own: bool,
    pub assume_roles: Vec<String>,
    pub external_id: Option<String>,
    pub session_name: String,
    /// Role to assume in every member account found through Organizations.
    pub organization_role: Option<String>,
    /// When not empty, only these account ids.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub shard: Option<Shard>,
    pub kinds: SourceKinds,
    pub concurrency: usize,
    pub max_response_bytes: u64,
    /// Collectors run for every account (`--collector.*`).
    pub collectors: Collectors,
    /// How often each collector reads an account (`--collector.NAME.interval`).
    pub schedule: Schedule,
    /// Shortest time between two root-credentials audits of one account.
    pub root_audit_interval: std::time::Duration,
}

/// One replica's share of the accounts: `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub count: u32,
    pub index: u32,
}

impl Shard {
    /// Whether this replica refreshes `account_id`. The hash (64-bit FNV-1a)
    /// is fixed by this code, so assignments are stable across runs, versions
    /// and machines.
    pub fn owns(&self, account_id: &str) -> bool {
        shard_of(account_id, self.count) == self.index
    }
}

pub fn shard_of(account_id: &str, count: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in account_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(count.max(1))) as u32
}

/// The exporter's own identity.
#[derive(Debug, Clone)]
struct Caller {
    account_id: String,
    partition: String,
}

/// Finds the accounts of each refresh.
#[derive(Debug)]
pub enum Accounts {
    /// A fixed list (the credential report file).
    Static(Vec<Arc<Target>>),
    Aws(Box<AwsAccounts>),
}

/// What one refresh covers.
#[derive(Debug, Default)]
pub struct Discovery {
    pub targets: Vec<Arc<Target>>,
    /// The organization's centralized root access features, where the
    /// root-credentials collector read them.
    pub organization: Option<OrganizationFeatures>,
}

impl Accounts {
    /// What the next refresh covers; `published` says which account id a
    /// target key had in the data published now.
    pub async fn discover(&self, published: impl Fn(&str) -> Option<String> + Sync) -> Discovery {
        match self {
            Accounts::Static(targets) => Discovery {
                targets: targets.clone(),
                organization: None,
            },
            Accounts::Aws(aws) => aws.targets(&published).await,
        }
    }
}

/// The partition of a region, for role ARNs built before STS has answered.
fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[derive(Debug)]
pub struct AwsAccounts {
    base: SdkConfig,
    api: ApiMetrics,
    config: AccountsConfig,
    poll: PollPolicy,
    /// One STS client for every AssumeRole: it carries the exporter's own
    /// credentials, the same for every account.
    sts: aws_sdk_sts::Client,
    caller: OnceCell<Caller>,
    /// IAM clients by role ARN, so assumed credentials are cached across refreshes.
    clients: Mutex<HashMap<String, aws_sdk_iam::Client>>,
    /// Organization members found by the last successful discovery: id -> name.
    members: Mutex<Option<BTreeMap<String, String>>>,
    /// The root-credentials audits (organization members only).
    auditor: Auditor,
    /// The organization's centralized root access features as last read;
    /// `None` until `iam:ListOrganizationsFeatures` has answered once.
    features: Mutex<Option<OrganizationFeatures>>,
    /// Whether a failure to read them was logged already.
    features_failed: std::sync::atomic::AtomicBool,
}

/// Target key of the exporter's own account.
const OWN: &str = "self";

impl AwsAccounts {
    pub fn new(base: SdkConfig, api: ApiMetrics, config: AccountsConfig) -> Self {
        let sts = aws::sts_client(&base, &api);
        let auditor = Auditor::new(sts.clone(), config.root_audit_interval);
        Self {
            sts: sts.clone(),
            base,
            api,
            config,
            poll: PollPolicy::default(),
            caller: OnceCell::new(),
            clients: Mutex::default(),
            members: Mutex::default(),
            auditor,
            features: Mutex::default(),
            features_failed: Default::default(),
        }
    }

    async fn caller(&self) -> Option<&Caller> {
        let result = self
            .caller
            .get_or_try_init(|| async {
                let out = self.sts.get_caller_identity().send().await.map_err(|e| {
                    self.api.record_error("GetCallerIdentity", &e);
                    aws_sdk_iam::error::DisplayErrorContext(e).to_string()
                })?;
                let arn = out.arn.unwrap_or_default();
                let caller = Caller {
                    account_id: out.account.unwrap_or_default(),
                    partition: arn.split(':').nth(1).unwrap_or("aws").to_owned(),
                };
                info!(account = %caller.account_id, partition = %caller.partition, "running as");
                Ok::<_, String>(caller)
            })
            .await;
        match result {
            Ok(caller) => Some(caller),
            Err(cause) => {
                error!(%cause, "cannot tell which account the exporter runs in (sts:GetCallerIdentity)");
                None
            }
        }
    }

    /// The targets of one refresh. Every target has a known account id and
    /// passes the filters and the shard, with one exception: the exporter's
    /// own account while its identity is unknown (`sts:GetCallerIdentity`
    /// failing since start), which is refreshed only when nothing depends on
    /// its id; otherwise it is reported as failed until STS answers, so that
    /// no filter is bypassed and no account is refreshed twice.
    async fn targets(&self, published: &(dyn Fn(&str) -> Option<String> + Sync)) -> Discovery {
        let caller = self.caller().await.cloned();
        // Failing that, the id its own data reported last time.
        let own_id = caller
            .as_ref()
            .map(|c| c.account_id.clone())
            .or_else(|| published(OWN))
            .filter(|id| !id.is_empty());
        let partition = caller.as_ref().map_or_else(
            || partition_of_region(self.base.region().map_or("", |r| r.as_ref())),
            |c| c.partition.as_str(),
        );

        // account id -> (target key, role ARN, name)
        let mut wanted: BTreeMap<String, (String, Option<String>, String)> = BTreeMap::new();
        if self.config.include_own
            && let Some(id) = &own_id
        {
            wanted.insert(id.clone(), (OWN.to_owned(), None, String::new()));
        }
        for arn in &self.config.assume_roles {
            // Validated at start-up: every ARN names its account.
            let id = account_from_arn(arn).unwrap_or_default().to_owned();
            wanted.insert(id, (arn.clone(), Some(arn.clone()), String::new()));
        }
        // The China partitions have no root user: nothing to audit there.
        let audit_root =
            self.config.collectors.is_on(Collector::RootCredentials) && partition != "aws-cn";
        let members = match self.config.organization_role.is_some() || audit_root {
            true => self.members().await,
            false => BTreeMap::new(),
        };
        // Read on their own wherever the organization is: CIS v7.0.0 2.1.1
        // asks for centralized root access whether or not root is audited.
        let features = match self.config.organization_role.is_some() || audit_root {
            true => self.organization_features().await,
            false => None,
        };
        let root = match audit_root {
            true => Some(
                self.auditor
                    .scope(
                        features.clone(),
                        &aws::organizations_client(&self.base, &self.api),
                        &self.api,
                        partition,
                        members.keys().cloned(),
                    )
                    .await,
            ),
            false => None,
        };
        // Members whose Organizations tags the account-tags collector reads.
        let tagged: BTreeSet<String> = match self.config.collectors.is_on(Collector::AccountTags) {
            true => members.keys().cloned().collect(),
            false => BTreeSet::new(),
        };
        let organizations =
            (!tagged.is_empty()).then(|| aws::organizations_client(&self.base, &self.api));
        if let Some(role) = &self.config.organization_role {
            for (id, name) in members {
                if Some(&id) == own_id.as_ref() {
                    // The management account: no role to assume into itself.
                    if let Some(own) = wanted.get_mut(&id) {
                        own.2 = name;
                    }
                    continue;
                }
                let arn = format!("arn:{partition}:iam::{id}:role/{role}");
                wanted
                    .entry(id)
                    .and_modify(|w| w.2 = name.clone())
                    .or_insert_with(|| (arn.clone(), Some(arn), name));
            }
        }

        // Audits of accounts that are no longer audited.
        if let Some(scope) = &root {
            self.auditor
                .forget(scope, |id| wanted.contains_key(id) && self.selected(id));
        }
        // Clients (and the credentials they cache) of accounts that left.
        self.clients
            .lock()
            .unwrap()
            .retain(|key, _| key == OWN || wanted.values().any(|(k, _, _)| k == key));
        let mut targets = Vec::with_capacity(wanted.len() + 1);
        if self.config.include_own && own_id.is_none() {
            targets.push(self.unknown_own());
        }
        for (id, (key, role, name)) in wanted {
            if !self.selected(&id) {
                debug!(account = %id, "account filtered out");
                continue;
            }
            let client = match &role {
                None => self.client(OWN, None),
                Some(arn) => self.client(arn, Some(arn)),
            };
            let session = root.as_ref().and_then(|r| self.auditor.session(r, &id));
            let member = organizations
                .as_ref()
                .filter(|_| tagged.contains(&id))
                .map(|client| account_tags::Member {
                    organizations: client.clone(),
                    account_id: id.clone(),
                });
            targets.push(Arc::new(
                Target::new(key, self.source(client))
                    .with_account_id(id)
                    .with_name(name)
                    .with_collectors(self.config.collectors)
                    .with_root_session(session)
                    .with_member(member),
            ));
        }
        Discovery {
            targets,
            organization: features,
        }
    }

    /// The organization's centralized root access features, read now with
    /// the exporter's own credentials (the management account or the
    /// delegated administrator for IAM); the last answer if that fails. A
    /// failure is logged once as a warning (an exporter that runs in a member
    /// account cannot read them), then at debug level.
    async fn organization_features(&self) -> Option<OrganizationFeatures> {
        use std::sync::atomic::Ordering;
        match root_credentials::organization_features(&self.client(OWN, None), &self.api).await {
            Ok(features) => {
                debug!(organization = %features.organization_id, enabled = ?features.enabled, "organization features");
                self.features_failed.store(false, Ordering::Relaxed);
                *self.features.lock().unwrap() = Some(features);
            }
            Err(cause) if !self.features_failed.swap(true, Ordering::Relaxed) => {
                warn!(%cause, "cannot read the organization's centralized root access features (iam:ListOrganizationsFeatures, management account or delegated administrator only); using the last answer, if any");
            }
            Err(cause) => debug!(%cause, "organization features still unreadable"),
        }
        self.features.lock().unwrap().clone()
    }

    /// The own account before its id is known: refreshed (its report names
    /// it) when it is the only account and nothing filters, else held back.
    fn unknown_own(&self) -> Arc<Target> {
        let c = &self.config;
        let depends_on_id = !c.include.is_empty()
            || !c.exclude.is_empty()
            || c.shard.is_some()
            || c.organization_role.is_some()
            || !c.assume_roles.is_empty();
        let source = if depends_on_id {
            Source::Unresolved(
                "cannot tell which account the exporter runs in (sts:GetCallerIdentity failed), \
                 so the account filters cannot be applied to it; retrying at the next refresh"
                    .to_owned(),
            )
        } else {
            self.source(self.client(OWN, None))
        };
        Arc::new(
            Target::new(OWN, source)
                .with_collectors(self.config.collectors)
                .with_root_session(None),
        )
    }

    fn source(&self, client: aws_sdk_iam::Client) -> Source {
        Source::Aws {
            client,
            kinds: self.config.kinds,
            poll: self.poll.clone(),
            concurrency: self.config.concurrency,
        }
    }

    fn selected(&self, id: &str) -> bool {
        let c = &self.config;
        (c.include.is_empty() || c.include.iter().any(|i| i == id))
            && !c.exclude.iter().any(|e| e == id)
            && c.shard.is_none_or(|s| s.owns(id))
    }

    fn client(&self, key: &str, role: Option<&str>) -> aws_sdk_iam::Client {
        if let Some(client) = self.clients.lock().unwrap().get(key) {
            return client.clone();
        }
        let config = match role {
            None => self.base.clone(),
            Some(arn) => {
                let provider = AssumeRole {
                    sts: self.sts.clone(),
                    api: self.api.clone(),
                    role_arn: arn.to_owned(),
                    session_name: self.config.session_name.clone(),
                    external_id: self.config.external_id.clone(),
                };
                self.base
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build()
            }
        };
        // A retry partition per account: a throttled account slows itself only.
        let client =
            aws::account_iam_client(&config, &self.api, self.config.max_response_bytes, key);
        self.clients
            .lock()
            .unwrap()
            .insert(key.to_owned(), client.clone());
        client
    }

    /// Active organization members, or the last good list if discovery fails.
    async fn members(&self) -> BTreeMap<String, String> {
        match self.list_members().await {
            Ok(members) => {
                debug!(accounts = members.len(), "organization accounts discovered");
                *self.members.lock().unwrap() = Some(members.clone());
                members
            }
            Err(cause) => {
                let last = self.members.lock().unwrap().clone();
                error!(%cause, reused = last.as_ref().map_or(0, BTreeMap::len), "organization account discovery failed; reusing the accounts found last time");
                last.unwrap_or_default()
            }
        }
    }

    async fn list_members(&self) -> Result<BTreeMap<String, String>, String> {
        let org = aws::organizations_client(&self.base, &self.api);
        let mut pages = org.list_accounts().into_paginator().send();
        let mut members = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                self.api.record_error("ListAccounts", &e);
                format!(
                    "organizations:ListAccounts failed: {}",
                    aws_sdk_iam::error::DisplayErrorContext(&e)
                )
            })?;
            for account in page.accounts.unwrap_or_default() {
                let active = match (&account.state, &account.status) {
                    (Some(state), _) => *state == AccountState::Active,
                    (None, Some(status)) => *status == AccountStatus::Active,
                    (None, None) => false,
                };
                if let (true, Some(id)) = (active, account.id) {
                    members.insert(id, account.name.unwrap_or_default());
                }
            }
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_lands_in_exactly_one_shard() {
        let ids: Vec<String> = (0..1000u64)
            .map(|i| format!("{:012}", 100_000_000_000 + i * 7_919))
            .collect();
        for count in [1, 2, 3, 7] {
            let mut sizes = vec![0usize; count as usize];
            for id in &ids {
                let owners: Vec<u32> = (0..count)
                    .filter(|&index| Shard { count, index }.owns(id))
                    .collect();
                assert_eq!(owners.len(), 1, "{id} in shards {owners:?}");
                sizes[owners[0] as usize] += 1;
            }
            // Roughly even: no shard gets less than half its fair share.
            let fair = ids.len() / count as usize;
            assert!(sizes.iter().all(|&s| s * 2 >= fair), "{count}: {sizes:?}");
        }
    }

    #[test]
    fn shard_assignment_is_stable() {
        // Pinned values: changing the hash moves accounts between replicas.
        assert_eq!(shard_of("123456789012", 3), shard_of("123456789012", 3));
        let pinned: Vec<u32> = [
            "123456789012",
            "210987654321",
            "111122223333",
            "444455556666",
        ]
        .iter()
        .map(|id| shard_of(id, 4))
        .collect();
        assert_eq!(pinned, PINNED_SHARDS);
    }

    /// Computed independently (Python) from the FNV-1a definition.
    const PINNED_SHARDS: [u32; 4] = [3, 3, 1, 1];

    fn config() -> AccountsConfig {
        AccountsConfig {
            include_own: false,
            assume_roles: Vec::new(),
            external_id: None,
            session_name: "test".into(),
            organization_role: None,
            include: Vec::new(),
            exclude: Vec::new(),
            shard: None,
            kinds: SourceKinds {
                report: true,
                api: false,
            },
            concurrency: 4,
            max_response_bytes: 1 << 20,
            collectors: Collectors::NONE,
            schedule: Schedule::every_refresh(),
            root_audit_interval: std::time::Duration::from_secs(3600),
        }
    }

    /// IAM throttles per account; so must the adaptive retry mode's
    /// client-side rate limiter. After one throttling answer to one account,
    /// a shared limiter starts near its floor (half a token a second) and
    /// delays the next calls of every account (3 calls of another account
    /// took 3.3 s with one partition for all); with a partition per account
    /// the other account is not slowed.
    #[tokio::test]
    async fn a_throttled_account_does_not_slow_the_others() {
        use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
        use aws_credential_types::Credentials;
        use aws_sdk_iam::error::ErrorMetadata;
        use aws_sdk_iam::operation::get_account_summary::{
            GetAccountSummaryError, GetAccountSummaryOutput,
        };
        use aws_smithy_mocks::{MockResponseInterceptor, mock};
        use std::time::{Duration, Instant};

        // The exporter's retry mode, one attempt per call so that the
        // throttled call ends at once; a region of this test's own, so that
        // the SDK's default partition (`iam-<region>`) is this test's too.
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("eu-partition-test-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            )))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .retry_config(RetryConfig::adaptive().with_max_attempts(1))
            .build();
        let accounts = AwsAccounts::new(base, ApiMetrics::default(), config());
        let throttled = mock!(aws_sdk_iam::Client::get_account_summary).then_error(|| {
            GetAccountSummaryError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        });
        let answered = mock!(aws_sdk_iam::Client::get_account_summary)
            .then_output(|| GetAccountSummaryOutput::builder().build());
        let answering = |key: &str, rule: &aws_smithy_mocks::Rule| {
            let client = accounts.client(key, None);
            let conf = client
                .config()
                .to_builder()
                .interceptor(MockResponseInterceptor::new().with_rule(rule))
                .build();
            aws_sdk_iam::Client::from_conf(conf)
        };
        let a = answering("arn:aws:iam::111111111111:role/Read", &throttled);
        let b = answering("arn:aws:iam::222222222222:role/Read", &answered);
        let err = a.get_account_summary().send().await.unwrap_err();
        assert_eq!(aws::error_code(&err), "Throttling");
        let started = Instant::now();
        for _ in 0..3 {
            b.get_account_summary().send().await.unwrap();
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "3 calls of an account that was never throttled took {took:?}"
        );
        assert_eq!(throttled.num_calls(), 1);
        assert_eq!(answered.num_calls(), 3);
    }
}
