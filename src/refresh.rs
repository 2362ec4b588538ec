//! The refresh loop and the published snapshot.
//!
//! Refreshes run on a timer, never on the scrape path. Each refresh builds a
//! complete new [`Snapshot`] and publishes it with one swap; a scrape reads
//! whichever snapshot is current. An account whose refresh fails keeps its last
//! good data in the new snapshot, marked as failed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::accounts::Accounts;
use crate::aws::ApiMetrics;
use crate::model::AccountData;
use crate::source::{Source, SourceError};

/// Seconds since the Unix epoch; injected so tests can fix "now".
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    })
}

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
}

/// The state of one account as published.
#[derive(Debug, Clone, Default)]
pub struct AccountState {
    pub key: String,
    /// Empty only while a target's account is not yet known.
    pub account_id: String,
    pub name: String,
    /// Last good data; kept when a later refresh fails.
    pub data: Option<Arc<AccountData>>,
    /// Outcome of the last attempt.
    pub success: bool,
    pub last_success: Option<i64>,
    pub duration: Duration,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub accounts: Vec<AccountState>,
    /// The exposition's rendering of this snapshot, made at its first scrape.
    pub prerendered: std::sync::OnceLock<crate::metrics::Prerendered>,
}

impl Snapshot {
    pub fn new(accounts: Vec<AccountState>) -> Self {
        Self {
            accounts,
            prerendered: Default::default(),
        }
    }
}

/// Holds the current snapshot. Readers clone an `Arc` under a lock held for
/// nanoseconds, so a scrape never waits for a refresh.
#[derive(Debug, Default)]
pub struct Store {
    current: RwLock<Arc<Snapshot>>,
    ready: AtomicBool,
}

impl Store {
    pub fn load(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn publish(&self, snapshot: Snapshot) {
        // A replica whose shard holds no account has nothing to wait for.
        if snapshot.accounts.is_empty() || snapshot.accounts.iter().any(|a| a.data.is_some()) {
            self.ready.store(true, Ordering::Release);
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
    }

    /// True once any account has been refreshed successfully, or a refresh
    /// found no account to refresh.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// How access key ids appear in label values (`--metrics.access-key-id`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyIdMode {
    #[default]
    Full,
    /// Only the last 4 characters; the rest become `*`.
    Masked,
    /// An empty label value.
    Omit,
}

impl KeyIdMode {
    /// Rewrites ids once per refresh, so scrapes never do it.
    pub fn apply(self, data: &mut AccountData) {
        if self == KeyIdMode::Full {
            return;
        }
        for key in data.users.iter_mut().flat_map(|u| u.keys.iter_mut()) {
            key.id = match self {
                KeyIdMode::Full => unreachable!(),
                KeyIdMode::Omit => String::new(),
                KeyIdMode::Masked => {
                    let chars: Vec<char> = key.id.chars().collect();
                    let keep = chars.len().saturating_sub(4);
                    chars
                        .iter()
                        .enumerate()
                        .map(|(i, c)| if i < keep { '*' } else { *c })
                        .collect()
                }
            };
        }
    }
}

/// Refreshes every target and publishes the result.
pub struct Refresher {
    pub accounts: Accounts,
    pub store: Arc<Store>,
    pub api: ApiMetrics,
    pub clock: Clock,
    /// Deadline of one account's refresh.
    pub timeout: Duration,
    /// Accounts refreshed at the same time.
    pub parallelism: usize,
    /// Minimum gap between the starts of two account refreshes, so that a
    /// large organization never sends a burst of AssumeRole and IAM calls
    /// (1,000 accounts at 50 ms start over at least 50 s).
    pub stagger: Duration,
    /// How key ids are exported.
    pub key_ids: KeyIdMode,
}

impl Refresher {
    /// Runs one refresh of every target and publishes one new snapshot.
    pub async fn refresh_once(&self) {
        let started = Instant::now();
        let previous = self.store.load();
        let targets = self.accounts.targets().await;
        if targets.is_empty() {
            warn!("no account to refresh (check the account filters and the shard settings)");
        }
        let limit = Arc::new(tokio::sync::Semaphore::new(self.parallelism.max(1)));
        let mut tasks = JoinSet::new();
        let next_start = Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now()));
        for (index, target) in targets.iter().enumerate() {
            let (target, api, limit, timeout) = (
                Arc::clone(target),
                self.api.clone(),
                Arc::clone(&limit),
                self.timeout,
            );
            let (next_start, stagger) = (Arc::clone(&next_start), self.stagger);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                // Starts are spaced by `stagger`; the lock is held while
                // waiting, so starts queue up in order.
                {
                    let mut next = next_start.lock().await;
                    tokio::time::sleep_until(*next).await;
                    *next = tokio::time::Instant::now() + stagger;
                }
                let began = Instant::now();
                let result = match tokio::time::timeout(timeout, target.source.collect(&api)).await
                {
                    Ok(result) => result,
                    Err(_) => Err(SourceError::Timeout(timeout)),
                };
                (index, result, began.elapsed())
            });
        }
        let mut results = Vec::with_capacity(targets.len());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(done) => results.push(done),
                Err(e) => error!(cause = %e, "account refresh task failed"),
            }
        }
        results.sort_by_key(|(index, _, _)| *index);

        let now = (self.clock)();
        let mut accounts = Vec::with_capacity(results.len());
        let (mut ok, mut failed) = (0usize, 0usize);
        for (index, result, duration) in results {
            let target = &targets[index];
            let before = previous.accounts.iter().find(|a| a.key == target.key);
            let mut state = AccountState {
                key: target.key.clone(),
                account_id: target
                    .account_id
                    .clone()
                    .or_else(|| before.map(|b| b.account_id.clone()))
                    .unwrap_or_default(),
                name: target.name.clone(),
                data: before.and_then(|b| b.data.clone()),
                success: false,
                last_success: before.and_then(|b| b.last_success),
                duration,
            };
            match result {
                Ok(mut data) => {
                    ok += 1;
                    self.key_ids.apply(&mut data);
                    if data.account_id.is_empty() {
                        data.account_id = state.account_id.clone();
                    }
                    debug!(account = %data.account_id, users = data.users.len(), ?duration, "account refreshed");
                    state.account_id = data.account_id.clone();
                    state.data = Some(Arc::new(data));
                    state.success = true;
                    state.last_success = Some(now);
                }
                Err(cause) => {
                    failed += 1;
                    error!(account = %state.account_id, target = %target.key, %cause, "account refresh failed; keeping last good data");
                }
            }
            accounts.push(state);
        }
        self.store.publish(Snapshot::new(accounts));
        info!(accounts_ok = ok, accounts_failed = failed, duration = ?started.elapsed(), "refresh finished");
    }

    /// Refreshes now and then every `interval` until `shutdown` resolves. A
    /// tick that comes while the previous refresh still runs is skipped.
    pub async fn run(self: Arc<Self>, interval: Duration, shutdown: impl Future<Output = ()>) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut running: Option<tokio::task::JoinHandle<()>> = None;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticker.tick() => {
                    if running.as_ref().is_some_and(|h| !h.is_finished()) {
                        warn!(interval = ?interval, "previous refresh still running; skipping this one");
                        continue;
                    }
                    let this = Arc::clone(&self);
                    running = Some(tokio::spawn(async move { this.refresh_once().await }));
                }
            }
        }
        if let Some(handle) = running {
            handle.abort();
        }
    }
}
