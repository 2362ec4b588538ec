//! An account's share of the refresh's parallelism.
//!
//! `--aws.max-accounts-parallel` bounds the accounts that talk to AWS at
//! once. Most of an account's refresh, on a first refresh, is waiting for AWS
//! to build its credential report; an account gives its permit to the next
//! one while it waits, so report generation overlaps across the whole
//! organization instead of queueing behind a few accounts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Default)]
pub struct Permit {
    held: Option<(Arc<Semaphore>, Mutex<Option<OwnedSemaphorePermit>>)>,
}

impl Permit {
    /// Waits for a permit of `limit`.
    pub async fn acquire(limit: Arc<Semaphore>) -> Permit {
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("the refresh never closes its semaphore");
        Permit {
            held: Some((limit, Mutex::new(Some(permit)))),
        }
    }

    /// A permit of nothing: waiting is plain sleeping (tests, single calls).
    pub fn unlimited() -> Permit {
        Permit::default()
    }

    /// Sleeps for `duration` without holding the permit, then takes one again.
    pub async fn idle(&self, duration: Duration) {
        let Some((limit, permit)) = &self.held else {
            tokio::time::sleep(duration).await;
            return;
        };
        drop(permit.lock().unwrap_or_else(|e| e.into_inner()).take());
        tokio::time::sleep(duration).await;
        let again = Arc::clone(limit)
            .acquire_owned()
            .await
            .expect("the refresh never closes its semaphore");
        *permit.lock().unwrap_or_else(|e| e.into_inner()) = Some(again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_idle_permit_lets_another_account_run() {
        let limit = Arc::new(Semaphore::new(1));
        let first = Permit::acquire(Arc::clone(&limit)).await;
        assert_eq!(limit.available_permits(), 0);
        let idle = tokio::spawn(async move {
            first.idle(Duration::from_secs(5)).await;
            first
        });
        tokio::task::yield_now().await;
        // While the first waits, a second account gets the permit.
        let second = Permit::acquire(Arc::clone(&limit)).await;
        drop(second);
        let first = idle.await.unwrap();
        assert_eq!(limit.available_permits(), 0, "the first holds it again");
        drop(first);
        assert_eq!(limit.available_permits(), 1);
    }
}
