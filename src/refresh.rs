//! The refresh loop.
//!
//! Refreshes run on a timer, never on the scrape path. A refresh first
//! publishes the set of accounts it covers, then each account's new state as
//! soon as that account is done, each in one swap of the [`Snapshot`]; a scrape
//! reads whichever snapshot is current. An account whose refresh fails, for any
//! reason including a bug, keeps its last good data, marked as failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::accounts::{Accounts, Target};
use crate::aws::ApiMetrics;
use crate::collectors::{self, Collected, Schedule, Tags};
use crate::model::AccountData;
use crate::permit::Permit;
use crate::snapshot::{AccountState, Progress, Snapshot, Store};
use crate::source::SourceError;
use crate::time::Clock;

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
    /// Rewrites every credential id once per refresh, so scrapes never do
    /// it: access keys, and the SSH public keys and service-specific
    /// credentials the collectors read. Omitted, an access key is told
    /// apart by its slot; the others, which have none, by their ordinal
    /// among the user's (`1`, `2`, ...).
    pub fn apply(self, data: &mut AccountData, collected: &mut Collected) {
        if self == KeyIdMode::Full {
            return;
        }
        for key in data.users.iter_mut().flat_map(|u| u.keys.iter_mut()) {
            key.id = self.rewrite(&key.id, None);
        }
        collected.rewrite_credential_ids(&|id, ordinal| self.rewrite(id, Some(ordinal)));
    }

    fn rewrite(self, id: &str, ordinal: Option<usize>) -> String {
        match self {
            KeyIdMode::Full => id.to_owned(),
            KeyIdMode::Omit => ordinal.map(|n| n.to_string()).unwrap_or_default(),
            KeyIdMode::Masked => {
                let chars: Vec<char> = id.chars().collect();
                let keep = chars.len().saturating_sub(4);
                chars
                    .iter()
                    .enumerate()
                    .map(|(i, c)| if i < keep { '*' } else { *c })
                    .collect()
            }
        }
    }
}

/// Refreshes every target and publishes the result.
pub struct Refresher {
    accounts: Accounts,
    store: Arc<Store>,
    api: ApiMetrics,
    clock: Clock,
    /// Deadline of one account's refresh.
    timeout: Duration,
    /// Accounts refreshed at the same time.
    parallelism: usize,
    /// Minimum gap between the starts of two account refreshes, so that a
    /// large organization never sends a burst of AssumeRole and IAM calls
    /// (1,000 accounts at 50 ms start over at least 50 s).
    stagger: Duration,
    /// How key ids are exported.
    key_ids: KeyIdMode,
    /// How often each collector reads an account.
    schedule: Arc<Schedule>,
    /// Which tags become labels.
    tags: Arc<Tags>,
}

impl Refresher {
    /// Refreshes `accounts` into `store`, timed by `clock`: one account at a
    /// time, each within 5 minutes, starts not spaced, key ids in full,
    /// every collector at every refresh; the `with_*` methods change those.
    pub fn new(accounts: Accounts, store: Arc<Store>, api: ApiMetrics, clock: Clock) -> Self {
        Self {
            accounts,
            store,
            api,
            clock,
            timeout: Duration::from_secs(300),
            parallelism: 1,
            stagger: Duration::ZERO,
            key_ids: KeyIdMode::Full,
            schedule: Arc::new(Schedule::every_refresh()),
            tags: Arc::default(),
        }
    }

    /// Which tags of users, roles and accounts become labels (`--metrics.*-tags`).
    pub fn with_tags(mut self, tags: Tags) -> Self {
        self.tags = Arc::new(tags);
        self
    }

    /// How often each collector reads an account (`--collector.NAME.interval`).
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Arc::new(schedule);
        self
    }

    /// Deadline of one account's refresh.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Accounts refreshed at the same time.
    pub fn with_parallelism(mut self, parallelism: usize) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// Minimum gap between the starts of two account refreshes.
    pub fn with_stagger(mut self, stagger: Duration) -> Self {
        self.stagger = stagger;
        self
    }

    pub fn with_key_ids(mut self, key_ids: KeyIdMode) -> Self {
        self.key_ids = key_ids;
        self
    }
}

/// Accounts started per parallelism permit. Accounts waiting for their report
/// give their permit away; without a bound on started accounts, a thousand
/// new starts would queue ahead of the accounts whose report is ready, and
/// no account would finish before every account had started.
const IN_PROGRESS_PER_PERMIT: usize = 8;

/// How often a refresh that runs long says how far it has got.
const PROGRESS_LOG_EVERY: Duration = Duration::from_secs(10);

/// The outcome of one account's refresh attempt.
struct Attempt {
    index: usize,
    result: Result<(AccountData, Collected), SourceError>,
    duration: Duration,
}

impl Refresher {
    /// Runs one refresh of every target.
    ///
    /// The set of accounts is published first (accounts that left are
    /// dropped, new ones appear as pending); then each account's new state is
    /// published as soon as its own refresh ends, so a large organization's
    /// first refresh serves accounts as they finish. An account is always
    /// published whole: its data, outcome and times change in one swap.
    pub async fn refresh_once(&self) {
        let started = Instant::now();
        let previous = self.store.load();
        let discovery = self
            .accounts
            .discover(|key| previous.account(key).map(|a| a.account_id.clone()))
            .await;
        let targets = discovery.targets;
        if targets.is_empty() {
            warn!("no account to refresh (check the account filters and the shard settings)");
        }
        self.store.publish(
            Snapshot::new(targets.iter().map(|t| pending(t, previous.account(&t.key))))
                .with_organization(
                    discovery
                        .organization
                        .or_else(|| previous.organization.clone()),
                ),
        );

        let mut attempts = self.spawn_all(&targets);
        let mut tally = Tally::new(targets.len());
        let mut report = tokio::time::interval(PROGRESS_LOG_EVERY);
        report.tick().await;
        loop {
            let attempt = tokio::select! {
                joined = attempts.join_next() => match joined {
                    None => break,
                    Some(Ok(attempt)) => attempt,
                    // Only a cancelled refresh (shutdown) gets here: each
                    // attempt catches its own panics and deadline.
                    Some(Err(e)) => {
                        error!(cause = %e, "account refresh task ended without a result");
                        continue;
                    }
                },
                _ = report.tick() => {
                    info!(pending = tally.pending(), done = tally.done, failed = tally.failed, elapsed = ?started.elapsed(), "refresh in progress");
                    continue;
                }
            };
            let index = attempt.index;
            let before = self.store.load().accounts.get(index).cloned();
            let state = self.finish(&targets[index], before.as_deref(), attempt, &mut tally);
            self.store.update(index, state);
        }
        info!(
            accounts_ok = tally.done,
            accounts_failed = tally.failed,
            accounts_pending = tally.pending(),
            duration = ?started.elapsed(),
            "refresh finished"
        );
    }

    /// Starts every target's refresh, at most `parallelism` calling AWS at
    /// once and [`IN_PROGRESS_PER_PERMIT`] times as many started, starts spaced
    /// by `stagger`.
    fn spawn_all(&self, targets: &[Arc<Target>]) -> JoinSet<Attempt> {
        let limit = Arc::new(tokio::sync::Semaphore::new(self.parallelism.max(1)));
        let admission = Arc::new(tokio::sync::Semaphore::new(
            self.parallelism.max(1) * IN_PROGRESS_PER_PERMIT,
        ));
        let next_start = Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now()));
        let published = self.store.load();
        let mut tasks = JoinSet::new();
        for (index, target) in targets.iter().enumerate() {
            // What the collectors read last time, for those that need not
            // read again yet.
            let before = published
                .accounts
                .get(index)
                .filter(|a| a.data.is_some())
                .map(|a| Arc::clone(&a.collected));
            let job = Job {
                target: Arc::clone(target),
                api: self.api.clone(),
                schedule: Arc::clone(&self.schedule),
                tags: Arc::clone(&self.tags),
                before,
                clock: Arc::clone(&self.clock),
            };
            let (limit, admission, next_start) = (
                Arc::clone(&limit),
                Arc::clone(&admission),
                Arc::clone(&next_start),
            );
            let (timeout, stagger) = (self.timeout, self.stagger);
            tasks.spawn(async move {
                let _admitted = admission.acquire_owned().await;
                let permit = Permit::acquire(limit).await;
                // The lock is held while waiting, so starts queue up in order.
                {
                    let mut next = next_start.lock().await;
                    tokio::time::sleep_until(*next).await;
                    *next = tokio::time::Instant::now() + stagger;
                }
                let began = Instant::now();
                let result = attempt(job, permit, timeout).await;
                Attempt {
                    index,
                    result,
                    duration: began.elapsed(),
                }
            });
        }
        tasks
    }

    /// The account's state after `attempt`: new data on success, the last
    /// good data marked as failed otherwise.
    fn finish(
        &self,
        target: &Target,
        before: Option<&AccountState>,
        attempt: Attempt,
        tally: &mut Tally,
    ) -> AccountState {
        let mut state = before.cloned().unwrap_or_else(|| pending(target, None));
        state.duration = attempt.duration;
        state.attempts += 1;
        match attempt.result {
            Ok((mut data, mut collected)) => {
                tally.done += 1;
                self.key_ids.apply(&mut data, &mut collected);
                if data.account_id.is_empty() {
                    data.account_id = state.account_id.clone();
                }
                let now = (self.clock)();
                let before = state.data.is_some().then_some(&*state.collected);
                collected.carry(before, now);
                collected.amend(&mut data);
                debug!(account = %data.account_id, users = data.users.len(), duration = ?attempt.duration, "account refreshed");
                state.account_id = data.account_id.clone();
                state.data = Some(Arc::new(data));
                state.collected = Arc::new(collected);
                state.success = true;
                state.last_success = Some(now);
                state.progress = Progress::Done;
            }
            Err(cause) => {
                tally.failed += 1;
                state.success = false;
                state.failures += 1;
                state.progress = Progress::Failed;
                error!(account = %state.account_id, target = %target.key, %cause, "account refresh failed; keeping last good data");
            }
        }
        state
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
                    if let Some(done) = running.take_if(|h| h.is_finished())
                        && let Err(e) = done.await
                        && e.is_panic()
                    {
                        error!(cause = %panic_message(e.into_panic()), "refresh aborted by a bug (please report it); the next one runs on schedule");
                    }
                    if running.is_some() {
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

/// An account as it stands before its refresh in this round: its last state,
/// or a new pending one.
fn pending(target: &Target, before: Option<&Arc<AccountState>>) -> AccountState {
    let mut state = match before {
        Some(before) => AccountState::clone(before),
        None => AccountState {
            key: target.key.clone(),
            ..AccountState::default()
        },
    };
    // Configuration and discovery know better than the last round.
    if let Some(id) = &target.account_id {
        state.account_id = id.clone();
    }
    state.name = target.name.clone();
    state.progress = Progress::Pending;
    state
}

/// What one account's refresh attempt is given.
struct Job {
    target: Arc<Target>,
    api: ApiMetrics,
    schedule: Arc<Schedule>,
    tags: Arc<Tags>,
    /// The collectors' last reads, where the account has published data.
    before: Option<Arc<Collected>>,
    clock: Clock,
}

/// One account's refresh under its deadline, in a task of its own so that a
/// panic anywhere in a source (a parser, the SDK) is that account's failure.
async fn attempt(
    job: Job,
    permit: Permit,
    timeout: Duration,
) -> Result<(AccountData, Collected), SourceError> {
    let task = tokio::spawn(async move { read(&job, &permit).await });
    let abort = task.abort_handle();
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) if e.is_panic() => Err(SourceError::Panicked(panic_message(e.into_panic()))),
        Ok(Err(e)) => Err(SourceError::Panicked(e.to_string())),
        Err(_) => {
            abort.abort();
            Err(SourceError::Timeout(timeout))
        }
    }
}

/// Reads the account's source and runs its collectors, all at once. A
/// collector's failure is in its outcome; only the source's fails the account.
async fn read(job: &Job, permit: &Permit) -> Result<(AccountData, Collected), SourceError> {
    let (target, api) = (&job.target, &job.api);
    let collected = async {
        match target.source.iam() {
            Some((iam, concurrency)) => {
                let ctx = collectors::Context::new(iam, api)
                    .with_concurrency(concurrency)
                    .with_root(target.root.as_deref())
                    .with_tags(&job.tags)
                    .with_member(target.member.as_deref());
                let now = (job.clock)();
                let before = job.before.as_deref();
                collectors::collect(target.collectors, &job.schedule, before, now, ctx).await
            }
            None => Collected::default(),
        }
    };
    let (data, collected) = tokio::join!(target.source.read(api, permit), collected);
    Ok((data?, collected))
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "unknown cause".to_owned(), |m| (*m).to_owned()),
    }
}

/// Accounts finished so far in this refresh.
struct Tally {
    total: usize,
    done: usize,
    failed: usize,
}

impl Tally {
    fn new(total: usize) -> Self {
        Self {
            total,
            done: 0,
            failed: 0,
        }
    }

    fn pending(&self) -> usize {
        self.total - self.done - self.failed
    }
}
