//! The published state: one [`AccountState`] per account, gathered in a
//! [`Snapshot`] that the [`Store`] swaps atomically.
//!
//! A scrape takes one snapshot and renders only it, so a response never mixes
//! two refreshes; a refresh publishes each account whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::collectors::Collected;
use crate::collectors::root_credentials::OrganizationFeatures;
use crate::model::AccountData;

/// Where an account stands in the refresh that is running, or in the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Progress {
    /// Not yet refreshed by the refresh that is running; its last data and
    /// outcome are still served.
    #[default]
    Pending,
    Done,
    Failed,
}

impl Progress {
    pub const ALL: [Progress; 3] = [Progress::Pending, Progress::Done, Progress::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Progress::Pending => "pending",
            Progress::Done => "done",
            Progress::Failed => "failed",
        }
    }
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
    /// What the collectors read with that data, each with its own last good
    /// data and outcome.
    pub collected: Arc<Collected>,
    /// Outcome of the last finished attempt (false before the first one).
    pub success: bool,
    pub last_success: Option<i64>,
    pub duration: Duration,
    /// Finished attempts, successful or not; 0 while the first one runs.
    pub attempts: u64,
    /// Failed attempts since the exporter started.
    pub failures: u64,
    pub progress: Progress,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    /// One entry per target of the current (or last) refresh, in target order.
    pub accounts: Vec<Arc<AccountState>>,
    /// The organization's centralized root access features, where the
    /// refresh read them.
    pub organization: Option<OrganizationFeatures>,
}

impl Snapshot {
    pub fn new(accounts: impl IntoIterator<Item = AccountState>) -> Self {
        Self {
            accounts: accounts.into_iter().map(Arc::new).collect(),
            organization: None,
        }
    }

    pub fn with_organization(mut self, organization: Option<OrganizationFeatures>) -> Self {
        self.organization = organization;
        self
    }

    /// The published state of the target `key`.
    pub fn account(&self, key: &str) -> Option<&Arc<AccountState>> {
        self.accounts.iter().find(|a| a.key == key)
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
        self.swap(Arc::new(snapshot));
    }

    /// Publishes a new snapshot in which the account at `index` is `state`
    /// and every other account is as it was.
    ///
    /// Only the refresher writes, one refresh at a time, so no update is lost.
    pub fn update(&self, index: usize, state: AccountState) {
        let current = self.load();
        let mut accounts = current.accounts.clone();
        match accounts.get_mut(index) {
            Some(slot) => *slot = Arc::new(state),
            None => accounts.push(Arc::new(state)),
        }
        self.swap(Arc::new(Snapshot {
            accounts,
            organization: current.organization.clone(),
        }));
    }

    fn swap(&self, snapshot: Arc<Snapshot>) {
        // Ready once data is served; a replica whose shard holds no account
        // has nothing to wait for.
        if snapshot.accounts.is_empty() || snapshot.accounts.iter().any(|a| a.data.is_some()) {
            self.ready.store(true, Ordering::Release);
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
    }

    /// True once any account's data is served, or a refresh found no account
    /// to refresh.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
